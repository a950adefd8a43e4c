// Fuzz target: the .npy reader (core/npy.h ReadNpy) on a file holding the
// input bytes, then every decoder a caller may apply (ToDoubles, AsBFloat16)
// and a write/read round trip of what was read.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "core/npy.h"
#include "fuzz/fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace trisim;
  fuzz::ScratchDir& dir = fuzz::ScratchDir::Get();
  dir.Reset();
  const std::string path = dir.Write(
      "in.npy", std::string(reinterpret_cast<const char*>(data), size));
  fuzz::ExpectOnlyInputErrors([&] {
    NpyArray array = ReadNpy(path);
    const std::vector<double> values = ToDoubles(array);
    if (static_cast<int64_t>(values.size()) != array.NumElements()) {
      std::fprintf(stderr, "fuzz: ToDoubles gave %zu values for %lld\n",
                   values.size(), static_cast<long long>(array.NumElements()));
      std::abort();
    }
    // What was read writes back and reads back to the same bytes.
    const std::string copy = dir.path() + "/copy.npy";
    WriteNpy(copy, array);
    const NpyArray again = ReadNpy(copy);
    if (again.shape != array.shape || again.bytes != array.bytes ||
        NpyDescr(again.dtype) != NpyDescr(array.dtype)) {
      std::fprintf(stderr, "fuzz: .npy round trip changed the array\n");
      std::abort();
    }
    if (array.dtype == NpyDType::kUInt16) {
      ToDoubles(AsBFloat16(std::move(array)));
    }
  });
  return 0;
}
