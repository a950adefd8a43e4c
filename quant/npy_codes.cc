#include "quant/npy_codes.h"

#include <cstring>

#include "core/status.h"
#include "quant/round.h"

namespace trisim::quant {

NpyDType NpyDTypeFor(Format f) {
  switch (f) {
    case Format::kFp32:
    case Format::kHf32:
    case Format::kTf32:
      return NpyDType::kFloat32;
    case Format::kFp16:
      return NpyDType::kFloat16;
    case Format::kBf16:
      return NpyDType::kBFloat16;
    case Format::kFp8E4M3:
    case Format::kFp8E5M2:
      return NpyDType::kUInt8;
    case Format::kInt4:
    case Format::kInt8:
      return NpyDType::kInt8;
    case Format::kUInt8:
      return NpyDType::kUInt8;
    case Format::kInt16:
      return NpyDType::kInt16;
    case Format::kInt32:
      return NpyDType::kInt32;
    case Format::kInt48:
    case Format::kInt64:
      return NpyDType::kInt64;
  }
  TRISIM_ASSERT(false);
}

namespace {
template <typename T>
void Put(std::vector<uint8_t>* bytes, size_t i, T v) {
  std::memcpy(bytes->data() + i * sizeof(T), &v, sizeof(T));
}
}  // namespace

NpyArray EncodeNpy(Format f, const std::vector<int64_t>& shape,
                   const std::vector<int64_t>& ints,
                   const std::vector<uint32_t>& codes) {
  const NpyDType dtype = NpyDTypeFor(f);
  const size_t n = IsFloat(f) ? codes.size() : ints.size();
  std::vector<uint8_t> bytes(n * NpyItemSize(dtype));
  for (size_t i = 0; i < n; ++i) {
    const int64_t v = IsFloat(f) ? static_cast<int64_t>(codes[i]) : ints[i];
    switch (NpyItemSize(dtype)) {
      case 1:
        Put(&bytes, i, static_cast<uint8_t>(v));
        break;
      case 2:
        Put(&bytes, i, static_cast<uint16_t>(v));
        break;
      case 4:
        Put(&bytes, i, static_cast<uint32_t>(v));
        break;
      default:
        Put(&bytes, i, v);
        break;
    }
  }
  return MakeNpy(dtype, shape, std::move(bytes));
}

NpyArray EncodeExactValues(Format f, const std::vector<int64_t>& shape,
                           const std::vector<double>& values) {
  std::vector<int64_t> ints;
  std::vector<uint32_t> codes;
  if (IsFloat(f)) {
    const FloatRounding rne;
    EventCounts events;
    for (double v : values)
      codes.push_back(RoundToFloat(v, f, rne, 0, &events));
    TRISIM_ASSERT(events.inexact == 0);
  } else {
    for (double v : values) {
      ints.push_back(static_cast<int64_t>(v));
      TRISIM_ASSERT(static_cast<double>(ints.back()) == v);
    }
  }
  return EncodeNpy(f, shape, ints, codes);
}

}  // namespace trisim::quant
