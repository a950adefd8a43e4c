// Fuzz target: input specs (core/inputs.h MakeInputSource) with the files
// they name: `gdn:...` (beta=, g= and a cu_seqlens.npy next to beta),
// `npy:FILE`, `npy-gdn:DIR`, `uniform:s`, `block-ones:b`, ...; then the first
// samples drawn, as `trisim error` and `trisim oracle` do.
//
// Input (fuzz_common.h container): first line "C SPEC" with C the chunk size
// (0..256; 0 = from the file, for npy:), then the files, e.g.
//   16 npy-gdn:$D
//   --- k.npy
//   <bytes>
//   --- beta.npy
//   ...
// Chunks above 256 are skipped: they are valid but only slow the fuzzer.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/inputs.h"
#include "fuzz/fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace trisim;
  const fuzz::Container c = fuzz::ParseContainer(data, size);
  const auto space = c.head.find(' ');
  if (space == std::string::npos || space == 0 || space > 3) return 0;
  int chunk = 0;
  for (size_t i = 0; i < space; ++i) {
    if (c.head[i] < '0' || c.head[i] > '9') return 0;
    chunk = chunk * 10 + (c.head[i] - '0');
  }
  if (chunk > 256) return 0;
  fuzz::ScratchDir& dir = fuzz::ScratchDir::Get();
  dir.Reset();
  for (const auto& [name, bytes] : c.files) {
    if (dir.Write(name, bytes).empty()) return 0;
  }
  const std::string spec =
      fuzz::SubstituteDir(c.head.substr(space + 1), dir.path());
  fuzz::ExpectOnlyInputErrors([&] {
    const auto source = MakeInputSource(spec, chunk, /*seed=*/1);
    source->Name();
    const long long available = source->Available();
    const long long n = available < 0 ? 2 : std::min(available, 2LL);
    for (long long i = 0; i < n; ++i) source->Sample(i);
    if (available > 2) source->Sample(available - 1);
  });
  return 0;
}
