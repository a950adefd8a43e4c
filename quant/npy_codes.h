// How values of each number format are stored in .npy files (one place for
// the mapping, used by `trisim quantize`, `dequantize` and `oracle`):
// integers in the narrowest numpy integer that holds them (int4 as int8
// values), fp16 as '<f2', bf16 as '<u2' raw bits (core/npy.h), fp8 as uint8
// codes, fp32/hf32/tf32 as '<f4'.
#pragma once

#include <cstdint>
#include <vector>

#include "core/npy.h"
#include "quant/format.h"

namespace trisim::quant {

NpyDType NpyDTypeFor(Format format);

// From integer values (integer formats) or stored codes (float formats).
NpyArray EncodeNpy(Format format, const std::vector<int64_t>& shape,
                   const std::vector<int64_t>& ints,
                   const std::vector<uint32_t>& codes);

// From values exactly representable in `format` (asserted): the oracle's
// outputs, already rounded by the machine.
NpyArray EncodeExactValues(Format format, const std::vector<int64_t>& shape,
                           const std::vector<double>& values);

}  // namespace trisim::quant
