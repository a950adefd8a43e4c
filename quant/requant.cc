#include "quant/requant.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "core/status.h"

namespace trisim::quant {

FixedMultiplier QuantizeMultiplier(double r) {
  TRISIM_ASSERT(std::isfinite(r) && r >= 0);
  FixedMultiplier out;
  if (r == 0) return out;
  int shift;
  const double q = std::frexp(r, &shift);  // r = q * 2^shift, q in [0.5, 1)
  // q * 2^31 is exact in double; std::round is TfLiteRound (half away).
  int64_t q_fixed = static_cast<int64_t>(std::round(std::ldexp(q, 31)));
  TRISIM_ASSERT(q_fixed <= (int64_t{1} << 31));
  if (q_fixed == (int64_t{1} << 31)) {
    q_fixed /= 2;
    ++shift;
  }
  if (shift < -31) {  // every product would shift out to zero
    shift = 0;
    q_fixed = 0;
  }
  if (shift > 30) {  // the single-rounding form supports shifts up to 30
    shift = 30;
    q_fixed = (int64_t{1} << 31) - 1;
  }
  out.multiplier = static_cast<int32_t>(q_fixed);
  out.shift = shift;
  return out;
}

int32_t SaturatingRoundingDoublingHighMul(int32_t a, int32_t b) {
  const bool overflow = a == b && a == std::numeric_limits<int32_t>::min();
  const int64_t ab = static_cast<int64_t>(a) * b;
  const int64_t nudge = ab >= 0 ? (1 << 30) : (1 - (1 << 30));
  // C++ division truncates toward zero, as gemmlowp relies on.
  const int32_t high = static_cast<int32_t>((ab + nudge) / (int64_t{1} << 31));
  return overflow ? std::numeric_limits<int32_t>::max() : high;
}

int32_t RoundingDivideByPOT(int32_t x, int exponent) {
  TRISIM_ASSERT(exponent >= 0 && exponent <= 31);
  const int32_t mask = static_cast<int32_t>((int64_t{1} << exponent) - 1);
  const int32_t remainder = x & mask;
  const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

int32_t MultiplyByQuantizedMultiplier(int32_t x, const FixedMultiplier& m,
                                      FixedRounding rounding) {
  TRISIM_ASSERT(m.shift >= -31 && m.shift <= 30 && m.multiplier >= 0);
  if (rounding == FixedRounding::kDouble) {
    const int left = m.shift > 0 ? m.shift : 0;
    const int right = m.shift > 0 ? 0 : -m.shift;
    // TFLite computes x * (1 << left) in int32 (undefined on overflow);
    // trisim saturates it, which agrees wherever TFLite is defined.
    const int64_t shifted =
        std::clamp<int64_t>(static_cast<int64_t>(x) * (int64_t{1} << left),
                            std::numeric_limits<int32_t>::min(),
                            std::numeric_limits<int32_t>::max());
    return RoundingDivideByPOT(SaturatingRoundingDoublingHighMul(
                                   static_cast<int32_t>(shifted), m.multiplier),
                               right);
  }
  const int total_shift = 31 - m.shift;  // in [1, 62]
  const int64_t round = int64_t{1} << (total_shift - 1);
  const int64_t result =
      (static_cast<int64_t>(x) * m.multiplier + round) >> total_shift;
  return static_cast<int32_t>(
      std::clamp<int64_t>(result, std::numeric_limits<int32_t>::min(),
                          std::numeric_limits<int32_t>::max()));
}

int64_t RequantizeFixed(int32_t x, const FixedMultiplier& m,
                        FixedRounding rounding, int32_t zero_point, Format out,
                        EventCounts* events) {
  const FormatInfo& f = GetFormatInfo(out);
  TRISIM_ASSERT(!f.is_float);
  const int64_t v =
      static_cast<int64_t>(MultiplyByQuantizedMultiplier(x, m, rounding)) +
      zero_point;
  if (v < f.min_int || v > f.max_int) {
    ++events->saturated;
    return std::clamp(v, f.min_int, f.max_int);
  }
  return v;
}

int64_t RequantizeFloatScale(int32_t x, float scale, int32_t zero_point,
                             Format out, const IntRounding& rounding,
                             uint64_t random, EventCounts* events) {
  TRISIM_ASSERT(std::isfinite(scale));
  TRISIM_ASSERT(GetFormatInfo(out).storage_bits <= 32);
  const Exact product = ExactProduct(ExactFromInt(x), ExactFromDouble(scale));
  // Round into int64 first so the zero point is added to an integer, then
  // range-limit the sum into the output format. Clamping the product to
  // +-2^40 first changes nothing for outputs of at most 32 bits and keeps the
  // sum from overflowing.
  EventCounts local;
  int64_t q = RoundToInt(product, Format::kInt64, IntRounding{rounding.mode},
                         random, &local);
  events->inexact += local.inexact;
  q = std::clamp<int64_t>(q, -(int64_t{1} << 40), int64_t{1} << 40);
  return RoundToInt(ExactFromInt(q + zero_point), out, rounding, 0, events);
}

float TruncateMantissa(float scale, int mantissa_bits) {
  if (mantissa_bits >= 23) return scale;
  TRISIM_ASSERT(mantissa_bits >= 0);
  uint32_t bits;
  std::memcpy(&bits, &scale, sizeof bits);
  bits &= ~((uint32_t{1} << (23 - mantissa_bits)) - 1);
  float out;
  std::memcpy(&out, &bits, sizeof out);
  return out;
}

uint32_t DequantizeToFloat(int32_t x, float scale, Format out,
                           const FloatRounding& rounding, uint64_t random,
                           EventCounts* events) {
  if (!std::isfinite(scale)) {
    return RoundToFloat(static_cast<double>(x) * scale, out, rounding, random,
                        events);
  }
  return RoundToFloat(ExactProduct(ExactFromInt(x), ExactFromDouble(scale)),
                      out, rounding, random, events);
}

}  // namespace trisim::quant
