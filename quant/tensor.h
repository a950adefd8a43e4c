// Whole-array quantise / dequantise on row-major data with a scale grid
// (quant/scale.h for the exact semantics). Scalar reference path: the
// specification that later SIMD kernels are compared with bit for bit.
//
// Element i (row-major flat index) draws its stochastic-rounding bits from
// StochasticBits(seed, tensor_id, i), and rows are split across threads in
// contiguous chunks whose event counts merge in chunk order, so results and
// counts are identical for every thread count.
#pragma once

#include <cstdint>
#include <vector>

#include "quant/format.h"
#include "quant/round.h"
#include "quant/scale.h"

namespace trisim::quant {

// NaN/inf into an integer format.
enum class NonFinitePolicy : uint8_t {
  kError,     // InputError naming the first offending element (default)
  kSaturate,  // +inf -> max, -inf -> min, NaN -> 0; counted
};

struct QuantizeOptions {
  Format format = Format::kInt8;
  RoundingMode rounding = RoundingMode::kNearestEven;
  ScaleSpec scale;
  IntOverflow int_overflow = IntOverflow::kSaturate;
  FloatOverflow float_overflow = FloatOverflow::kIeee;
  // Inputs with 0 < |x| < flush_inputs_below read as zero (set it to the
  // input format's min normal to flush its subnormals; 0 keeps them).
  double flush_inputs_below = 0;
  Subnormals subnormals_out = Subnormals::kKeep;
  NonFinitePolicy nonfinite = NonFinitePolicy::kError;
  uint64_t seed = 0;
  uint64_t tensor_id = 0;
  int threads = 1;
};

struct QuantizedTensor {
  Format format = Format::kInt8;
  GroupLayout layout;
  std::vector<int64_t> ints;       // integer formats: the values
  std::vector<uint32_t> codes;     // float formats: the stored codes
  std::vector<GroupScale> scales;  // one per group (empty for kNone)
  EventCounts events;
};

// Quantises rows x cols values (row-major). Throws InputError for options
// that do not fit together (named in the message), a block size that does
// not divide the shape, non-finite input into an integer format under
// kError, or non-int32 input with the fixed scale kind.
QuantizedTensor Quantize(const std::vector<double>& x, int64_t rows,
                         int64_t cols, const QuantizeOptions& options);

struct DequantizeOptions {
  Format out = Format::kFp32;    // a float format
  FloatRounding rounding;        // default IEEE: RNE, overflow to inf
  int scale_mantissa_bits = 23;  // 10 models the Ascend FIXPIPE deq scale
  uint64_t seed = 0;
  uint64_t tensor_id = 0;
  int threads = 1;
};

// y = Round((q - zp) * TruncateMantissa(s)) per element, exact product, one
// rounding into options.out. `q` holds exact values (integers or decoded
// narrow floats, at most 32 significant bits after subtracting zp); `scales`
// and `zero_points` have layout.NumGroups() entries (zero_points may be
// empty: all 0). Throws InputError for a zero, negative-zero or non-finite
// scale, naming its index.
std::vector<uint32_t> Dequantize(const std::vector<double>& q,
                                 const GroupLayout& layout,
                                 const std::vector<float>& scales,
                                 const std::vector<int32_t>& zero_points,
                                 const DequantizeOptions& options,
                                 EventCounts* events);

}  // namespace trisim::quant
