// trisim: quantisation-aware simulator for matmul-only triangular inversion.
// The registry below is the whole command tree, and this is the one place
// where failures become exit codes (the table in core/status.h and the
// README): CLI11's parse errors are usage (2), DataError 1, InputError 2,
// CheckFailed 3, anything else an internal error (4).
#include <malloc.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "apps/commands.h"
#include "core/status.h"
#include "quant/simd_targets.h"

namespace {

using trisim::ExitCode;

int Code(ExitCode code) { return static_cast<int>(code); }

// One line on stderr: "trisim: error: ..." (or "check failed", "internal
// error"), then the exit code.
int Report(ExitCode code, const std::string& message) {
  const char* kind = code == ExitCode::kCheckFailed ? "check failed"
                     : code == ExitCode::kInternal  ? "internal error"
                                                    : "error";
  std::string line = message;
  for (char& c : line) {
    if (c == '\n') c = ' ';  // CLI11 messages may span lines
  }
  std::fprintf(stderr, "trisim: %s: %s\n", kind, line.c_str());
  return Code(code);
}

std::string SubcommandNames(const CLI::App& root) {
  std::string names;
  for (const CLI::App* sub : root.get_subcommands({})) {
    names += (names.empty() ? "" : ", ") + sub->get_name();
  }
  return names;
}

// The first word that is not a flag must name a subcommand (the root has
// only --help and --version); CLI11 would say "A subcommand is required".
bool UnknownSubcommand(const CLI::App& root, int argc, char** argv,
                       std::string* word) {
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (!arg.empty() && arg[0] == '-') continue;
    *word = arg;
    for (const CLI::App* sub : root.get_subcommands({})) {
      if (sub->check_name(arg)) return false;
    }
    return true;
  }
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  // The per-chunk work (the GDN layer and its fp64 reference: Eigen
  // temporaries of 32-128 KB, cube operands) allocates and frees the same
  // sizes chunk after chunk. glibc's defaults map blocks from 128 KB with
  // mmap and give the heap top back to the kernel from 128 KB free, so every
  // chunk paid page faults and kernel zeroing (about half of `trisim error`'s
  // time on gdn inputs, perf record). Keep freed memory in the process: the
  // heap grows to the peak once and is reused.
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 512 << 20);
  mallopt(M_TOP_PAD, 16 << 20);
  CLI::App root{
      "trisim: quantisation-aware, bit-accurate simulator of low-precision\n"
      "matmul-only triangular inversion (T = (I+A)^-1) in chunk-wise Gated\n"
      "DeltaNet, with error estimates, NPU cost model and device oracle."};
  root.set_version_flag("--version", "trisim " TRISIM_VERSION);
  root.require_subcommand(1);
  root.footer(
      "\nExit codes: 0 success, 1 bad data (an input file's content), 2 usage "
      "(flags,\noption values, paths), 3 a requested check did not pass, 4 "
      "internal error.");

  std::vector<trisim::app::Command> commands;
  try {
    commands = {
        trisim::app::SetupErrorCommand(root),
        trisim::app::SetupOracleCommand(root),
        trisim::app::SetupRecipesCommand(root),
        trisim::app::SetupQuantizeCommand(root),
        trisim::app::SetupDequantizeCommand(root),
        trisim::app::SetupCostCommand(root),
        trisim::app::SetupRecommendCommand(root),
        trisim::app::SetupBenchCommand(root),
        trisim::app::SetupCompareCommand(root),
        trisim::app::SetupKernelsCommand(root),
    };
  } catch (const std::exception& e) {
    return Report(ExitCode::kInternal, e.what());
  }

  std::string word;
  if (UnknownSubcommand(root, argc, argv, &word)) {
    return Report(ExitCode::kUsage, "unknown subcommand '" + word +
                                        "' (known: " + SubcommandNames(root) +
                                        ")");
  }
  try {
    root.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return root.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return root.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return root.exit(e);
  } catch (const CLI::ParseError& e) {
    std::string where = "trisim";
    for (const auto& command : commands) {
      if (command.app->parsed()) where += " " + command.app->get_name();
    }
    std::string message = e.what();
    if (message == "A subcommand is required") {
      message += " (one of: " + SubcommandNames(root) + ")";
    }
    return Report(ExitCode::kUsage, message + " (see " + where + " --help)");
  } catch (const std::exception& e) {
    return Report(trisim::ExitCodeOf(e), e.what());
  }
  try {
    // A run-time cap on the SIMD target (quant/simd_targets.h), e.g. for
    // valgrind, which cannot run AVX-512: before any fast path runs.
    trisim::quant::CapTargetsFromEnvironment();
    for (const auto& command : commands) {
      if (command.app->parsed()) return command.run();
    }
  } catch (const std::bad_alloc&) {
    return Report(ExitCode::kInternal,
                  "out of memory (every size from a file or flag is checked "
                  "first, so this is a bug)");
  } catch (const std::exception& e) {
    return Report(trisim::ExitCodeOf(e), e.what());
  }
  return Code(ExitCode::kSuccess);
}
