#include "apps/commands.h"
#include "core/status.h"

namespace trisim::app {

Command SetupErrorCommand(CLI::App& root) {
  Command command;
  command.app = root.add_subcommand("error", "Error of an inversion method (in progress)");
  command.run = [] () -> int { throw InputError("error: not built yet"); };
  return command;
}

}  // namespace trisim::app
