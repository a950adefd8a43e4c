// Fuzz target: the file-reading subcommands end to end, `trisim quantize`,
// `trisim dequantize` and `trisim oracle`, through the same command tree as
// apps/main.cc (apps/cmd_*.cc are compiled into this target), so every check
// between the command line and the readers is covered.
//
// Input (fuzz_common.h container): first line the arguments after `trisim`,
// separated by spaces, then the files, e.g.
//   quantize $D/in.npy $D/out.npy --format int8 --scale row
//   --- in.npy
//   <bytes>
// Property: input files no argument names are left intact (no data loss).
// Sandbox: the process works inside its scratch directory; arguments with
// "..", absolute paths outside the scratch directory and --threads are
// skipped (threads only slow the fuzzer; paths must not escape it).
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "apps/commands.h"
#include "fuzz/fuzz_common.h"

namespace {

bool Allowed(const std::string& arg, const std::string& dir) {
  if (arg.find("..") != std::string::npos) return false;
  if (arg.find("thread") != std::string::npos) return false;
  if (arg.find('/') != std::string::npos && arg.rfind(dir + "/", 0) != 0 &&
      arg.find(dir + "/") == std::string::npos) {
    return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace trisim;
  fuzz::ScratchDir& dir = fuzz::ScratchDir::Get();
  static const bool in_dir = chdir(dir.path().c_str()) == 0;
  if (!in_dir) std::abort();
  const fuzz::Container c = fuzz::ParseContainer(data, size);
  std::vector<std::string> args = {"trisim"};
  const std::string line = fuzz::SubstituteDir(c.head, dir.path());
  size_t begin = 0;
  while (begin <= line.size()) {
    size_t end = line.find(' ', begin);
    if (end == std::string::npos) end = line.size();
    if (end > begin) args.push_back(line.substr(begin, end - begin));
    begin = end + 1;
  }
  if (args.size() < 2 || (args[1] != "quantize" && args[1] != "dequantize" &&
                          args[1] != "oracle")) {
    return 0;
  }
  for (const std::string& arg : args) {
    if (!Allowed(arg, dir.path())) return 0;
  }
  dir.Reset();
  for (const auto& [name, bytes] : c.files) {
    if (dir.Write(name, bytes).empty()) return 0;
  }

  CLI::App root{"trisim (fuzz)"};
  root.require_subcommand(1);
  const std::vector<app::Command> commands = {
      app::SetupOracleCommand(root),
      app::SetupQuantizeCommand(root),
      app::SetupDequantizeCommand(root),
  };
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  try {
    root.parse(static_cast<int>(argv.size()), argv.data());
  } catch (const CLI::ParseError&) {
    return 0;  // a usage error, reported by CLI11 as in main.cc
  }
  fuzz::ExpectOnlyInputErrors([&] {
    for (const auto& command : commands) {
      if (command.app->parsed()) command.run();
    }
  });
  // trisim never deletes or changes a file it did not write in this run
  // (README "bad input"): without --force every file of the input must be
  // intact, whatever the outcome, even one an argument names as an output
  // (an existing output file is refused, core/output_files.h). --force may
  // replace a named output file and a stage dump's own files, which the
  // input can imitate: not checked.
  bool force = false;
  for (const std::string& arg : args) force = force || arg == "--force";
  for (const auto& [name, bytes] : c.files) {
    const std::string path = dir.path() + "/" + name;
    if (!force && fuzz::ReadFile(path) != bytes) {
      std::fprintf(stderr, "fuzz: %s was deleted or changed by `%s`\n",
                   path.c_str(), line.c_str());
      std::abort();
    }
  }
  return 0;
}
