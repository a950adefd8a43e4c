// Leaving an int32 accumulator: fixed-point requantisation (int32 -> int8 /
// int16 with multiplier, shift, offset and saturation) in the two TFLite
// conventions, and float-scale requantisation / dequantisation as the Ascend
// FIXPIPE does it (../shared/docs/DOMAIN.md section 3).
//
// Fixed point: a real multiplier r > 0 is held as (m, shift) with m in
// [2^30, 2^31) and r ~= m * 2^(shift - 31) (TFLite QuantizeMultiplier).
// Applying it to x differs between the two published references, by at most
// one LSB:
//  - double rounding (gemmlowp, TFLite reference ops by default):
//      RoundingDivideByPOT(SaturatingRoundingDoublingHighMul(x *
//      2^max(shift,0), m),
//                          max(-shift, 0))
//    i.e. round(x*m / 2^31) to nearest with ties toward +inf (gemmlowp's
//    nudge 1 - 2^30 for negative products sends negative ties toward zero),
//    then round(. / 2^-shift) to nearest with ties away from zero.
//  - single rounding (TFLite with TFLITE_SINGLE_ROUNDING):
//      (x * m + 2^(30 - shift)) >> (31 - shift), i.e. floor(x*r + 1/2): one
//    rounding, ties toward +inf.
// Example where they differ (tests/quant_requant_test.cc):
// x = 7984, m = 1583594044, shift = -9: double 12, single 11.
#pragma once

#include <cstdint>

#include "quant/format.h"
#include "quant/round.h"

namespace trisim::quant {

enum class FixedRounding : uint8_t { kSingle, kDouble };

struct FixedMultiplier {
  int32_t multiplier = 0;  // in [2^30, 2^31), or 0 for r = 0
  int shift = 0;           // r ~= multiplier * 2^(shift - 31)
};

// TFLite QuantizeMultiplier
// (tensorflow/lite/kernels/internal/quantization_util.cc): frexp, round the
// 31-bit fraction half away from zero, renormalise on carry; values too small
// give (0, 0). Requires a finite r >= 0 (asserted; callers validate user
// input). Shifts are clamped to [-31, 30] as TFLite does.
FixedMultiplier QuantizeMultiplier(double r);

// gemmlowp fixedpoint.h primitives, verbatim semantics.
int32_t SaturatingRoundingDoublingHighMul(int32_t a, int32_t b);
int32_t RoundingDivideByPOT(int32_t x, int exponent);  // exponent in [0, 31]

// x * r in the chosen convention (see above). Double rounding saturates only
// where gemmlowp does (INT32_MIN * INT32_MIN); single rounding clamps the
// int64 result into int32.
int32_t MultiplyByQuantizedMultiplier(int32_t x, const FixedMultiplier& m,
                                      FixedRounding rounding);

// int32 accumulator -> `out` (an integer format): x * r + zero_point, then
// saturated (counted) into the format's range.
int64_t RequantizeFixed(int32_t x, const FixedMultiplier& m,
                        FixedRounding rounding, int32_t zero_point, Format out,
                        EventCounts* events);

// int32 accumulator -> integer format of at most 32 bits with an fp32 scale:
// the exact product
// x * scale (no intermediate rounding) rounded once with `rounding`, plus
// zero_point, then saturated/wrapped. (The FIXPIPE int32 -> int8 path.)
int64_t RequantizeFloatScale(int32_t x, float scale, int32_t zero_point,
                             Format out, const IntRounding& rounding,
                             uint64_t random, EventCounts* events);

// Truncates an fp32 scale to its top `mantissa_bits` fraction bits (toward
// zero). The Ascend FIXPIPE keeps 1 sign, 8 exponent and 10 mantissa bits of
// a dequant scale (../shared/docs/NPU.md, ../shared/docs/DOMAIN.md section 3),
// i.e. bits = 10. bits >= 23 returns the scale unchanged.
float TruncateMantissa(float scale, int mantissa_bits);

// int32 accumulator -> float format (fp16 by default on the device): the
// exact product x * scale rounded once with `rounding`. Pass a scale already
// truncated with TruncateMantissa to model the device.
uint32_t DequantizeToFloat(int32_t x, float scale, Format out,
                           const FloatRounding& rounding, uint64_t random,
                           EventCounts* events);

}  // namespace trisim::quant
