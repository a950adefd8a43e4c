// trisim: quantisation-aware simulator for matmul-only triangular inversion.
// The registry below is the whole command tree.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>
#include <vector>

#include "apps/commands.h"
#include "core/status.h"

int main(int argc, char** argv) {
  CLI::App root{
      "trisim: quantisation-aware, bit-accurate simulator of low-precision\n"
      "matmul-only triangular inversion (T = (I+A)^-1) in chunk-wise Gated\n"
      "DeltaNet, with error estimates, NPU cost model and device oracle."};
  root.set_version_flag("--version", "trisim " TRISIM_VERSION);
  root.require_subcommand(1);

  const std::vector<trisim::app::Command> commands = {
      trisim::app::SetupErrorCommand(root),
      trisim::app::SetupOracleCommand(root),
      trisim::app::SetupRecipesCommand(root),
      trisim::app::SetupQuantizeCommand(root),
      trisim::app::SetupDequantizeCommand(root),
      trisim::app::SetupCostCommand(root),
      trisim::app::SetupRecommendCommand(root),
      trisim::app::SetupBenchCommand(root),
      trisim::app::SetupKernelsCommand(root),
  };

  try {
    root.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return root.exit(e);
  }
  try {
    for (const auto& command : commands) {
      if (command.app->parsed()) return command.run();
    }
  } catch (const trisim::InputError& e) {
    std::fprintf(stderr, "trisim: error: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "trisim: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
