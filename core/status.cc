#include "core/status.h"

#include <cstdio>
#include <cstdlib>

namespace trisim {

ExitCode ExitCodeOf(const std::exception& e) {
  // Most derived first: DataError is an InputError.
  if (dynamic_cast<const DataError*>(&e)) return ExitCode::kBadData;
  if (dynamic_cast<const InputError*>(&e)) return ExitCode::kUsage;
  if (dynamic_cast<const CheckFailed*>(&e)) return ExitCode::kCheckFailed;
  return ExitCode::kInternal;
}

void AssertFail(const char* condition, const char* file, int line) {
  std::fprintf(stderr, "trisim: internal error: %s failed at %s:%d\n",
               condition, file, line);
  std::abort();
}

}  // namespace trisim
