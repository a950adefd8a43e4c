// How trisim fails, and the exit code each kind of failure gets. The table
// below is the whole contract of `trisim`'s exit status (README "Exit codes
// and bad input"); apps/main.cc maps exception kinds onto it in one place.
//
//   0  success
//   1  bad data: the content of an input file (a malformed or truncated .npy,
//      a wrong shape or dtype, NaN/Inf, a matrix that is not strictly lower)
//      -> DataError
//   2  usage: flags, option values, paths (an unknown subcommand or flag, a
//      value out of range, a missing input file, an output that cannot be
//      written or would overwrite what trisim did not write) -> InputError
//   3  the run worked but a check it was asked to make did not pass (nothing
//      meets `recommend`'s budget) -> CheckFailed
//   4  internal error: a bug in trisim (an unexpected exception); an internal
//      assertion (TRISIM_ASSERT) aborts instead (SIGABRT, 134 from a shell)
//
// Two tiers of failure (house style, after spectra):
//  - InputError / DataError: bad user input or configuration. Thrown with a
//    one-line message naming the input, the value and what is allowed.
//  - TRISIM_ASSERT: an internal invariant. Always on, also in Release builds;
//    a failure is a bug in trisim, never the user's fault.
// Numerical outcomes (overflow, saturation, non-finite values) are neither:
// they are data, counted and reported.
#pragma once

#include <stdexcept>
#include <string>

namespace trisim {

// The exit codes above, by name.
enum class ExitCode : int {
  kSuccess = 0,
  kBadData = 1,
  kUsage = 2,
  kCheckFailed = 3,
  kInternal = 4,
};

// Usage: a flag, an option value or a path (exit 2).
class InputError : public std::runtime_error {
 public:
  explicit InputError(const std::string& message)
      : std::runtime_error(message) {}
};

// Bad data: the content of an input file (exit 1). Derives from InputError so
// code that handles any bad input catches both.
class DataError : public InputError {
 public:
  explicit DataError(const std::string& message) : InputError(message) {}
};

// A check the user asked for did not pass; the run itself worked and its
// report has been printed (exit 3).
class CheckFailed : public std::runtime_error {
 public:
  explicit CheckFailed(const std::string& message)
      : std::runtime_error(message) {}
};

// The exit code of an exception thrown out of a command: DataError 1,
// InputError 2, CheckFailed 3, anything else 4.
ExitCode ExitCodeOf(const std::exception& e);

[[noreturn]] void AssertFail(const char* condition, const char* file, int line);

}  // namespace trisim

#define TRISIM_ASSERT(condition)                            \
  do {                                                      \
    if (!(condition)) {                                     \
      ::trisim::AssertFail(#condition, __FILE__, __LINE__); \
    }                                                       \
  } while (0)
