// Dynamic dispatch of quant/round_simd-inl.h, and the one-value fast path.
#include "quant/round_simd.h"

#include <cmath>
#include <cstring>

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "quant/round_simd.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "quant/round_simd-inl.h"

#if HWY_ONCE
namespace trisim::quant {

HWY_EXPORT(RoundValues);
HWY_EXPORT(AllFinite);
HWY_EXPORT(CopyFinite);
HWY_EXPORT(LinCombNearestEven);

bool AllFinite(const double* x, size_t n) {
  return HWY_DYNAMIC_DISPATCH(AllFinite)(x, n);
}

bool CopyFinite(const double* x, size_t n, double* out) {
  return HWY_DYNAMIC_DISPATCH(CopyFinite)(x, n, out);
}

bool LinCombRounded(const double* const* x, const double* coef, size_t terms,
                    size_t n, Format format, const FloatRounding& requested,
                    double* out, EventCounts* events) {
  const FloatRounding rounding = ConversionRounding(format, requested);
  if (terms == 0 || terms > kLinCombMaxTerms ||
      rounding.mode != RoundingMode::kNearestEven ||
      !FastRoundingCovers(format, rounding)) {
    return false;
  }
  // The kernel's one-compare test of special lanes needs no double
  // subnormal product: |c| >= 2^(p - emin - 1022) times the least subnormal
  // 2^(emin - p) is >= 2^-1022 (round_simd-inl.h, LinCombNearestEvenT).
  const FormatInfo& f = GetFormatInfo(format);
  // |c| >= 2^least_exp as the biased exponent field of c (c normal: the
  // bound is far above the double subnormals); 0x7ff is inf/NaN.
  const int64_t least_field = 1023 + f.mantissa_bits - f.emin - 1022;
  for (size_t t = 0; t < terms; ++t) {
    uint64_t bits;
    std::memcpy(&bits, &coef[t], sizeof bits);
    const int64_t field = static_cast<int64_t>((bits >> 52) & 0x7ff);
    const bool zero = (bits << 1) == 0;
    if (field == 0x7ff || (!zero && field < least_field)) return false;
  }
  return HWY_DYNAMIC_DISPATCH(LinCombNearestEven)(x, coef, terms, n, format,
                                                  out, &events->inexact);
}

bool FastRoundingCovers(Format format, const FloatRounding& rounding) {
  const FormatInfo& f = GetFormatInfo(format);
  return f.is_float && f.specials == Specials::kIeee && f.mantissa_bits <= 23 &&
         rounding.subnormals_out == Subnormals::kKeep;
}

double RoundToFloatValueReference(double x, Format format,
                                  const FloatRounding& rounding,
                                  uint64_t random, EventCounts* events) {
  return DecodeFloat(RoundToFloat(x, format, rounding, random, events), format);
}

double RoundToFloatValue(double x, Format format,
                         const FloatRounding& requested, uint64_t random,
                         EventCounts* events) {
  const FloatRounding rounding = ConversionRounding(format, requested);
  if (!FastRoundingCovers(format, rounding)) {
    return RoundToFloatValueReference(x, format, rounding, random, events);
  }
  const FormatInfo& f = GetFormatInfo(format);
  uint64_t bits;
  std::memcpy(&bits, &x, sizeof bits);
  const uint64_t a = bits & ~(uint64_t{1} << 63);
  const uint64_t sign = bits ^ a;
  if (a == 0) return x;  // +-0, exact
  const int fl = static_cast<int>(a >> 52) - 1023;
  const bool tiny_sr = rounding.mode == RoundingMode::kStochastic &&
                       fl < f.emin - f.mantissa_bits - 11;
  if (fl > f.emax - 1 || a < (uint64_t{1} << 52) || tiny_sr) {
    return RoundToFloatValueReference(x, format, rounding, random, events);
  }
  const int exp = fl < f.emin ? f.emin : fl;
  int s = exp - fl + 52 - f.mantissa_bits;
  if (s > 63) s = 63;
  const uint64_t mant = (a & ((uint64_t{1} << 52) - 1)) | (uint64_t{1} << 52);
  uint64_t n = mant >> s;
  const uint64_t rem = mant - (n << s);
  const uint64_t half = uint64_t{1} << (s - 1);
  bool up = false;
  switch (rounding.mode) {
    case RoundingMode::kNearestEven:
      up = rem > half || (rem == half && (n & 1));
      break;
    case RoundingMode::kNearestAway:
      up = rem >= half;
      break;
    case RoundingMode::kTowardZero:
      break;
    case RoundingMode::kTowardPosInf:
      up = rem != 0 && sign == 0;
      break;
    case RoundingMode::kTowardNegInf:
      up = rem != 0 && sign != 0;
      break;
    case RoundingMode::kToOdd:
      if (rem != 0) n |= 1;
      break;
    case RoundingMode::kStochastic:
      up = random < (rem << (64 - s));
      break;
  }
  events->inexact += rem != 0;
  n += up;
  const uint64_t scale_bits =
      static_cast<uint64_t>(exp - f.mantissa_bits + 1023) << 52;
  double scale;
  std::memcpy(&scale, &scale_bits, sizeof scale);
  const double value = static_cast<double>(n) * scale;  // exact
  uint64_t out;
  std::memcpy(&out, &value, sizeof out);
  out |= sign;
  double result;
  std::memcpy(&result, &out, sizeof result);
  return result;
}

void RoundToFloatValues(const double* x, size_t n, Format format,
                        const FloatRounding& requested, const uint64_t* random,
                        double* out, EventCounts* events) {
  const FloatRounding rounding = ConversionRounding(format, requested);
  if (!FastRoundingCovers(format, rounding)) {
    for (size_t i = 0; i < n; ++i) {
      out[i] = RoundToFloatValueReference(x[i], format, rounding,
                                          random ? random[i] : 0, events);
    }
    return;
  }
  HWY_DYNAMIC_DISPATCH(RoundValues)
  (x, n, format, rounding, random, out, events);
}

}  // namespace trisim::quant
#endif  // HWY_ONCE
