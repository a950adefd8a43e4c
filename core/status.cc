#include "core/status.h"

#include <cstdio>
#include <cstdlib>

namespace trisim {

void AssertFail(const char* condition, const char* file, int line) {
  std::fprintf(stderr, "trisim: internal error: %s failed at %s:%d\n",
               condition, file, line);
  std::abort();
}

}  // namespace trisim
