// Options every subcommand parses the same way, with one strict reader each
// (README "Exit codes and bad input"): an out-of-range or malformed value is
// a one-line usage error (exit 2) naming the flag, the value and what is
// allowed, raised while the command line is parsed, before any work.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>
#include <vector>

namespace trisim::app {

// An unsigned 64-bit option (--seed, --tensor-id): a decimal integer in
// [0, 2^64 - 1].
CLI::Option* AddUint64Option(CLI::App& app, const std::string& name,
                             uint64_t* value, const std::string& help);

// --seed: a decimal integer in [0, 2^64 - 1]. "-1", "18446744073709551616",
// "1e3", "0x10" and "" are errors (CLI11 and strtoull wrap "-1" to 2^64-1
// and saturate larger values silently).
CLI::Option* AddSeedOption(CLI::App& app, uint64_t* seed,
                           const std::string& help);

// --threads: 0 (all cores) or 1..MaxThreads() (core/threads.h), the same
// bound in every subcommand. `resolve_zero` stores AvailableCores() for 0
// (for code that needs a count); otherwise 0 is stored as is.
CLI::Option* AddThreadsOption(CLI::App& app, int* threads,
                              const std::string& help, bool resolve_zero);

// --force: the command's output files may replace existing files. Without
// it an existing output path is refused (exit 2) before any work
// (core/output_files.h Outputs: never overwrite what trisim did not write in
// this run). `extra` adds what else --force allows in this command.
CLI::Option* AddForceFlag(CLI::App& app, bool* force,
                          const std::string& extra = "");

// Parses a whole decimal integer in [lo, hi]; throws InputError naming
// `what` ("--chunks: '16abc' ...").
int64_t ParseInteger(const std::string& text, const std::string& what,
                     int64_t lo, int64_t hi);

// Checks value in [lo, hi]; throws InputError "--batch 0: must be in [1,
// 1048576]".
void CheckRange(const std::string& flag, long long value, long long lo,
                long long hi);

// The cost model's workload flags, one range each (cost and recommend):
// --batch [1, 2^20], --heads [1, 2^16], --seq [1, 2^30].
void CheckWorkloadFlags(long long batch, long long heads, long long seq);

// A comma-separated list: at least one item, none empty ("16,,32", "16,"
// and "" are errors). Throws InputError naming `flag`.
std::vector<std::string> ParseList(const std::string& text,
                                   const std::string& flag);

}  // namespace trisim::app
