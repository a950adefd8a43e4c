// Test-only driver for tests/npy_numpy_test.py: reads IN.npy with trisim's
// reader, writes it back unchanged as SAME.npy (trisim's writer) and its exact
// float64 decode as F64.npy, so numpy can check both directions.
//   trisim_npy_roundtrip IN.npy SAME.npy F64.npy [--bf16]
// --bf16 reinterprets a '<u2' input as raw bfloat16 bits before decoding.
// Exit status 2 with a one-line message on bad input (as the trisim binary).
#include <cstdio>
#include <cstring>
#include <string>

#include "core/npy.h"
#include "core/status.h"

int main(int argc, char** argv) {
  if (argc < 4 || argc > 5 ||
      (argc == 5 && std::strcmp(argv[4], "--bf16") != 0)) {
    std::fprintf(stderr, "usage: %s IN.npy SAME.npy F64.npy [--bf16]\n",
                 argv[0]);
    return 64;
  }
  try {
    trisim::NpyArray array = trisim::ReadNpy(argv[1]);
    if (argc == 5) array = trisim::AsBFloat16(std::move(array));
    trisim::WriteNpy(argv[2], array);
    trisim::WriteNpy(
        argv[3], trisim::FromDoubles(trisim::ToDoubles(array), array.shape));
  } catch (const trisim::InputError& e) {
    std::fprintf(stderr, "trisim: error: %s\n", e.what());
    return 2;
  }
  return 0;
}
