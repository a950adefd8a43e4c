#include "apps/cli_options.h"

#include <limits>

#include "core/status.h"
#include "core/threads.h"

namespace trisim::app {
namespace {

// Digits only, no sign, no spaces; false on overflow of uint64_t.
bool ParseUnsigned(const std::string& text, uint64_t* value) {
  if (text.empty() || text.size() > 20) return false;
  uint64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    const uint64_t digit = static_cast<uint64_t>(c - '0');
    if (v > (std::numeric_limits<uint64_t>::max() - digit) / 10) return false;
    v = v * 10 + digit;
  }
  *value = v;
  return true;
}

}  // namespace

int64_t ParseInteger(const std::string& text, const std::string& what,
                     int64_t lo, int64_t hi) {
  const bool negative = !text.empty() && text[0] == '-';
  uint64_t magnitude = 0;
  const bool ok =
      ParseUnsigned(negative ? text.substr(1) : text, &magnitude) &&
      magnitude <= (negative ? uint64_t{1} << 63 : uint64_t{INT64_MAX});
  const int64_t value = !ok        ? 0
                        : negative ? static_cast<int64_t>(0 - magnitude)
                                   : static_cast<int64_t>(magnitude);
  if (!ok || value < lo || value > hi) {
    throw InputError(what + ": '" + text + "' is not an integer in [" +
                     std::to_string(lo) + ", " + std::to_string(hi) + "]");
  }
  return value;
}

void CheckRange(const std::string& flag, long long value, long long lo,
                long long hi) {
  if (value < lo || value > hi) {
    throw InputError(flag + " " + std::to_string(value) + ": must be in [" +
                     std::to_string(lo) + ", " + std::to_string(hi) + "]");
  }
}

void CheckWorkloadFlags(long long batch, long long heads, long long seq) {
  CheckRange("--batch", batch, 1, 1 << 20);
  CheckRange("--heads", heads, 1, 1 << 16);
  CheckRange("--seq", seq, 1, 1LL << 30);
}

std::vector<std::string> ParseList(const std::string& text,
                                   const std::string& flag) {
  std::vector<std::string> items;
  size_t begin = 0;
  while (true) {
    const size_t comma = text.find(',', begin);
    const std::string item = text.substr(
        begin, comma == std::string::npos ? std::string::npos : comma - begin);
    if (item.empty()) {
      throw InputError(flag + " '" + text +
                       "': empty item (give a comma-separated list, e.g. "
                       "a,b)");
    }
    items.push_back(item);
    if (comma == std::string::npos) break;
    begin = comma + 1;
  }
  return items;
}

CLI::Option* AddUint64Option(CLI::App& app, const std::string& name,
                             uint64_t* value, const std::string& help) {
  return app
      .add_option_function<std::string>(
          name,
          [name, value](const std::string& text) {
            if (!ParseUnsigned(text, value)) {
              throw CLI::ValidationError(
                  name + " '" + text +
                  "': not a decimal integer in [0, 18446744073709551615]");
            }
          },
          help)
      ->default_str(std::to_string(*value));
}

CLI::Option* AddSeedOption(CLI::App& app, uint64_t* seed,
                           const std::string& help) {
  return AddUint64Option(app, "--seed", seed, help);
}

CLI::Option* AddThreadsOption(CLI::App& app, int* threads,
                              const std::string& help, bool resolve_zero) {
  const std::string range =
      " (0: all cores; at most " + std::to_string(MaxThreads()) + ")";
  return app
      .add_option_function<std::string>(
          "--threads",
          [threads, resolve_zero](const std::string& text) {
            int64_t value = 0;
            try {
              value = ParseInteger(text, "--threads", INT64_MIN, INT64_MAX);
            } catch (const InputError&) {
              throw CLI::ValidationError("--threads '" + text +
                                         "': not an integer; must be 0 (all "
                                         "cores) or in [1, " +
                                         std::to_string(MaxThreads()) + "]");
            }
            try {
              const int checked = CheckThreads(value);
              *threads = value == 0 && !resolve_zero ? 0 : checked;
            } catch (const InputError& e) {
              throw CLI::ValidationError(e.what());
            }
          },
          help + range)
      ->default_str(std::to_string(*threads));
}

CLI::Option* AddForceFlag(CLI::App& app, bool* force,
                          const std::string& extra) {
  return app.add_flag("--force", *force,
                      "Replace output files that already exist (without it "
                      "an existing output file is an error)" +
                          extra);
}

}  // namespace trisim::app
