// The trisim command tree. Each subcommand lives in its own cmd_*.cc with an
// options struct, a Setup...Command that declares its flags, and a Run...
// that does the work (CLI11 examples/subcom_in_files, micromamba).
#pragma once

#include <CLI/CLI.hpp>
#include <functional>

namespace trisim::app {

struct Command {
  CLI::App* app = nullptr;   // the subcommand, owned by the root app
  std::function<int()> run;  // runs it after a successful parse
};

Command SetupErrorCommand(CLI::App& root);
Command SetupOracleCommand(CLI::App& root);
Command SetupRecipesCommand(CLI::App& root);
Command SetupQuantizeCommand(CLI::App& root);    // apps/cmd_quantize.cc
Command SetupDequantizeCommand(CLI::App& root);  // apps/cmd_quantize.cc
Command SetupCostCommand(CLI::App& root);
Command SetupRecommendCommand(CLI::App& root);
Command SetupBenchCommand(CLI::App& root);    // apps/cmd_bench.cc
Command SetupKernelsCommand(CLI::App& root);  // apps/cmd_kernels.cc

}  // namespace trisim::app
