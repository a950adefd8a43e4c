// Two tiers of failure (house style, after spectra):
//  - InputError: bad user input or configuration. Thrown with a one-line
//    message naming the input and what is allowed; apps/ turns it into a clean
//    error and a non-zero exit.
//  - TRISIM_ASSERT: an internal invariant. Always on, also in Release builds;
//    a failure is a bug in trisim, never the user's fault.
// Numerical outcomes (overflow, saturation, non-finite values) are neither:
// they are data, counted and reported.
#pragma once

#include <stdexcept>
#include <string>

namespace trisim {

class InputError : public std::runtime_error {
 public:
  explicit InputError(const std::string& message)
      : std::runtime_error(message) {}
};

[[noreturn]] void AssertFail(const char* condition, const char* file, int line);

}  // namespace trisim

#define TRISIM_ASSERT(condition)                            \
  do {                                                      \
    if (!(condition)) {                                     \
      ::trisim::AssertFail(#condition, __FILE__, __LINE__); \
    }                                                       \
  } while (0)
