// Per-target kernels of quant/round_simd.h. Included once per Highway target
// by quant/round_simd.cc (foreach_target.h), hence the toggle guard.
#if defined(TRISIM_QUANT_ROUND_SIMD_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef TRISIM_QUANT_ROUND_SIMD_INL_H_
#undef TRISIM_QUANT_ROUND_SIMD_INL_H_
#else
#define TRISIM_QUANT_ROUND_SIMD_INL_H_
#endif

#include <cmath>
#include <cstddef>
#include <cstdint>

#include "hwy/highway.h"
#include "quant/round_simd.h"

HWY_BEFORE_NAMESPACE();
namespace trisim {
namespace quant {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// What the kernel needs to know of a float format.
struct RoundShape {
  int p;     // mantissa bits
  int emin;  // exponent of the min normal
  int emax;  // exponent of the max finite
};

// Rounds x[0, n) (see round_simd.h); the caller has checked
// FastRoundingCovers. kMode is the rounding mode.
template <RoundingMode kMode>
HWY_NOINLINE void RoundValuesT(const double* HWY_RESTRICT x, size_t n,
                               Format format, const FloatRounding& rounding,
                               const RoundShape& shape,
                               const uint64_t* HWY_RESTRICT random, double* out,
                               EventCounts* events) {
  const hn::ScalableTag<double> dd;
  const hn::RebindToUnsigned<decltype(dd)> du;
  const hn::RebindToSigned<decltype(dd)> di;
  const size_t lanes = hn::Lanes(dd);
  const auto k_abs = hn::Set(du, ~(uint64_t{1} << 63));
  const auto k_frac = hn::Set(du, (uint64_t{1} << 52) - 1);
  const auto k_implicit = hn::Set(du, uint64_t{1} << 52);
  const auto k_one_u = hn::Set(du, 1);
  const auto k_zero_i = hn::Zero(di);
  const auto k_one_i = hn::Set(di, 1);
  const auto k_emin = hn::Set(di, shape.emin);
  const auto k_big = hn::Set(di, shape.emax - 1);
  const auto k_min_normal_bits = hn::Set(di, int64_t{1} << 52);
  const auto k_1023 = hn::Set(di, 1023);
  const auto k_63 = hn::Set(di, 63);
  const auto k_s_base = hn::Set(di, 52 - shape.p);
  const auto k_q_bias = hn::Set(di, 1023 - shape.p);
  const auto k_magic = hn::Set(du, 0x4330000000000000ull);  // 2^52
  const auto k_two52 = hn::Set(dd, 4503599627370496.0);
  const auto k_msb = hn::Set(du, uint64_t{1} << 63);
  const auto k_64 = hn::Set(di, 64);
  // Stochastic lanes need the true shift s = emin - p - fl + 52 <= 63.
  const auto k_sr_tiny = hn::Set(di, shape.emin - shape.p - 11);
  int64_t inexact = 0;
  size_t i = 0;
  for (; i + lanes <= n; i += lanes) {
    const auto v = hn::LoadU(dd, x + i);
    const auto bits = hn::BitCast(du, v);
    const auto a = hn::And(bits, k_abs);
    const auto sign = hn::Xor(bits, a);
    const auto ai = hn::BitCast(di, a);
    const auto fl = hn::Sub(hn::BitCast(di, hn::ShiftRight<52>(a)), k_1023);
    const auto zero = hn::Eq(ai, k_zero_i);
    auto special = hn::Or(hn::Gt(fl, k_big),
                          hn::AndNot(zero, hn::Lt(ai, k_min_normal_bits)));
    if (kMode == RoundingMode::kStochastic) {
      special = hn::Or(special, hn::AndNot(zero, hn::Lt(fl, k_sr_tiny)));
    }
    if (HWY_UNLIKELY(!hn::AllFalse(di, special))) {
      for (size_t j = i; j < i + lanes; ++j) {
        out[j] = RoundToFloatValue(x[j], format, rounding,
                                   random ? random[j] : 0, events);
      }
      continue;
    }
    const auto exp = hn::IfThenElse(hn::Lt(fl, k_emin), k_emin, fl);
    auto s = hn::Add(hn::Sub(exp, fl), k_s_base);
    s = hn::IfThenElse(hn::Gt(s, k_63), k_63, s);
    const auto su = hn::BitCast(du, s);
    const auto mant = hn::IfThenZeroElse(
        hn::RebindMask(du, zero), hn::Or(hn::And(a, k_frac), k_implicit));
    auto nq = mant >> su;
    const auto rem = hn::Sub(mant, nq << su);
    const auto remi = hn::BitCast(di, rem);
    const auto inexact_m = hn::Ne(remi, k_zero_i);
    auto up = hn::Eq(k_one_i, k_zero_i);  // all false
    if (kMode == RoundingMode::kNearestEven ||
        kMode == RoundingMode::kNearestAway) {
      const auto half = hn::BitCast(di, k_one_u << hn::Sub(su, k_one_u));
      if (kMode == RoundingMode::kNearestEven) {
        const auto odd =
            hn::Ne(hn::BitCast(di, hn::And(nq, k_one_u)), k_zero_i);
        up = hn::Or(hn::Gt(remi, half), hn::And(hn::Eq(remi, half), odd));
      } else {
        up = hn::Not(hn::Lt(remi, half));
      }
    } else if (kMode == RoundingMode::kTowardPosInf ||
               kMode == RoundingMode::kTowardNegInf) {
      const auto negative = hn::Ne(hn::BitCast(di, sign), k_zero_i);
      up = kMode == RoundingMode::kTowardPosInf
               ? hn::AndNot(negative, inexact_m)
               : hn::And(negative, inexact_m);
    } else if (kMode == RoundingMode::kToOdd) {
      nq = hn::Or(nq, hn::BitCast(du, hn::IfThenElseZero(inexact_m, k_one_i)));
    } else if (kMode == RoundingMode::kStochastic) {
      // The discarded part as a 64-bit fraction; unsigned R < F as a signed
      // compare of both with the top bit flipped.
      const auto frac = rem << hn::BitCast(du, hn::Sub(k_64, s));
      const auto r = hn::LoadU(du, random + i);
      up = hn::Lt(hn::BitCast(di, hn::Xor(r, k_msb)),
                  hn::BitCast(di, hn::Xor(frac, k_msb)));
    }
    const auto n2 =
        hn::Add(nq, hn::BitCast(du, hn::IfThenElseZero(up, k_one_i)));
    // n2 < 2^52 as a double (exact), times 2^q (exact: the result is a
    // normal double).
    const auto nd = hn::Sub(hn::BitCast(dd, hn::Or(n2, k_magic)), k_two52);
    const auto scale = hn::BitCast(
        dd, hn::ShiftLeft<52>(hn::BitCast(du, hn::Add(exp, k_q_bias))));
    const auto value = hn::BitCast(du, hn::Mul(nd, scale));
    hn::StoreU(hn::BitCast(dd, hn::Or(value, sign)), dd, out + i);
    inexact += static_cast<int64_t>(hn::CountTrue(di, inexact_m));
  }
  events->inexact += inexact;
  for (; i < n; ++i) {
    out[i] = RoundToFloatValue(x[i], format, rounding, random ? random[i] : 0,
                               events);
  }
}

// fp32 with nearest-even: for lanes the general kernel would not send to
// the reference (finite, |x| < 2^127, not a double subnormal), the
// conversion double -> fp32 -> double (cvtpd2ps, IEEE RNE with gradual
// underflow) is RoundToFloat's value, sign of zero included, and it is
// inexact exactly when it differs from x. Other lanes: the reference.
HWY_NOINLINE void RoundFp32NearestEven(const double* HWY_RESTRICT x, size_t n,
                                       const FloatRounding& rounding,
                                       double* out, EventCounts* events) {
  const hn::ScalableTag<double> dd;
  const hn::Rebind<float, decltype(dd)> df;
  const hn::RebindToSigned<decltype(dd)> di;
  const hn::RebindToUnsigned<decltype(dd)> du;
  const size_t lanes = hn::Lanes(dd);
  const auto k_abs = hn::Set(du, ~(uint64_t{1} << 63));
  const auto k_zero_i = hn::Zero(di);
  const auto k_min_normal_bits = hn::Set(di, int64_t{1} << 52);
  // |x| >= 2^127 (and inf/NaN) go to the reference, as in RoundValuesT.
  const auto k_big_bits = hn::Set(di, int64_t{1023 + 127} << 52);
  int64_t inexact = 0;
  size_t i = 0;
  for (; i + lanes <= n; i += lanes) {
    const auto v = hn::LoadU(dd, x + i);
    const auto ai = hn::BitCast(di, hn::And(hn::BitCast(du, v), k_abs));
    const auto zero = hn::Eq(ai, k_zero_i);
    const auto special =
        hn::Or(hn::Not(hn::Lt(ai, k_big_bits)),
               hn::AndNot(zero, hn::Lt(ai, k_min_normal_bits)));
    if (HWY_UNLIKELY(!hn::AllFalse(di, special))) {
      for (size_t j = i; j < i + lanes; ++j) {
        out[j] = RoundToFloatValue(x[j], Format::kFp32, rounding, 0, events);
      }
      continue;
    }
    const auto r = hn::PromoteTo(dd, hn::DemoteTo(df, v));
    inexact += static_cast<int64_t>(hn::CountTrue(dd, hn::Ne(r, v)));
    hn::StoreU(r, dd, out + i);
  }
  events->inexact += inexact;
  for (; i < n; ++i) {
    out[i] = RoundToFloatValue(x[i], Format::kFp32, rounding, 0, events);
  }
}

// Nearest-even by the FPU (the common case, 16-bit storage): with c =
// +-2^(max(E, emin) + 52 - p) (E the binade of x, p the target's mantissa
// bits, the sign of x), x + c lies in c's binade, whose double ulp is the
// target's quantum 2^(max(E, emin) - p) at x; the IEEE addition rounds it to
// nearest-even there, and (x + c) - c is exact. The result keeps x's sign
// (a zero result too). About half the operations of RoundValuesT. Lanes
// RoundValuesT sends to the reference (|x| >= 2^emax, NaN/inf, double
// subnormals) go there too; the other lanes cannot overflow or flush, and
// are inexact exactly when the result differs from x.
HWY_NOINLINE void RoundNearestEvenByAddition(const double* HWY_RESTRICT x,
                                             size_t n, Format format,
                                             const FloatRounding& rounding,
                                             const RoundShape& shape,
                                             double* out, EventCounts* events) {
  const hn::ScalableTag<double> dd;
  const hn::RebindToUnsigned<decltype(dd)> du;
  const hn::RebindToSigned<decltype(dd)> di;
  const size_t lanes = hn::Lanes(dd);
  const auto k_abs = hn::Set(du, ~(uint64_t{1} << 63));
  const auto k_exp = hn::Set(di, int64_t{0x7ff} << 52);
  const auto k_zero_i = hn::Zero(di);
  const auto k_min_normal_bits = hn::Set(di, int64_t{1} << 52);
  const auto k_big_bits = hn::Set(di, int64_t{1023 + shape.emax} << 52);
  const auto k_emin_bits = hn::Set(di, int64_t{1023 + shape.emin} << 52);
  const auto k_shift = hn::Set(di, int64_t{52 - shape.p} << 52);
  int64_t inexact = 0;
  size_t i = 0;
  for (; i + lanes <= n; i += lanes) {
    const auto v = hn::LoadU(dd, x + i);
    const auto bits = hn::BitCast(du, v);
    const auto a = hn::And(bits, k_abs);
    const auto sign = hn::Xor(bits, a);
    const auto ai = hn::BitCast(di, a);
    const auto zero = hn::Eq(ai, k_zero_i);
    const auto special =
        hn::Or(hn::Not(hn::Lt(ai, k_big_bits)),
               hn::AndNot(zero, hn::Lt(ai, k_min_normal_bits)));
    if (HWY_UNLIKELY(!hn::AllFalse(di, special))) {
      for (size_t j = i; j < i + lanes; ++j) {
        out[j] = RoundToFloatValue(x[j], format, rounding, 0, events);
      }
      continue;
    }
    auto e = hn::And(ai, k_exp);
    e = hn::IfThenElse(hn::Lt(e, k_emin_bits), k_emin_bits, e);
    const auto c =
        hn::BitCast(dd, hn::Or(hn::BitCast(du, hn::Add(e, k_shift)), sign));
    const auto r = hn::BitCast(
        dd, hn::Or(hn::BitCast(du, hn::Sub(hn::Add(v, c), c)), sign));
    inexact += static_cast<int64_t>(hn::CountTrue(dd, hn::Ne(r, v)));
    hn::StoreU(r, dd, out + i);
  }
  events->inexact += inexact;
  for (; i < n; ++i) {
    out[i] = RoundToFloatValue(x[i], format, rounding, 0, events);
  }
}

// True if no lane of x[0, n) has the all-ones exponent (NaN or inf).
HWY_NOINLINE bool AllFinite(const double* HWY_RESTRICT x, size_t n) {
  const hn::ScalableTag<double> dd;
  const hn::RebindToUnsigned<decltype(dd)> du;
  const size_t lanes = hn::Lanes(dd);
  const auto k_exp = hn::Set(du, uint64_t{0x7ff} << 52);
  auto any = hn::Zero(du);  // lanes whose exponent field is all ones
  size_t i = 0;
  for (; i + lanes <= n; i += lanes) {
    const auto e = hn::And(hn::BitCast(du, hn::LoadU(dd, x + i)), k_exp);
    any = hn::Or(any, hn::VecFromMask(du, hn::Eq(e, k_exp)));
  }
  bool finite = hn::AllTrue(du, hn::Eq(any, hn::Zero(du)));
  for (; i < n; ++i) finite = finite && std::isfinite(x[i]);
  return finite;
}

// out = x (disjoint), and true if every x[0, n) is finite: AllFinite fused
// into the copy.
HWY_NOINLINE bool CopyFinite(const double* HWY_RESTRICT x, size_t n,
                             double* HWY_RESTRICT out) {
  const hn::ScalableTag<double> dd;
  const hn::RebindToUnsigned<decltype(dd)> du;
  const size_t lanes = hn::Lanes(dd);
  const auto k_exp = hn::Set(du, uint64_t{0x7ff} << 52);
  auto any = hn::Zero(du);
  size_t i = 0;
  for (; i + lanes <= n; i += lanes) {
    const auto v = hn::LoadU(dd, x + i);
    const auto e = hn::And(hn::BitCast(du, v), k_exp);
    any = hn::Or(any, hn::VecFromMask(du, hn::Eq(e, k_exp)));
    hn::StoreU(v, dd, out + i);
  }
  bool finite = hn::AllTrue(du, hn::Eq(any, hn::Zero(du)));
  for (; i < n; ++i) {
    finite = finite && std::isfinite(x[i]);
    out[i] = x[i];
  }
  return finite;
}

// Entry point of one target: dispatch on the rounding mode.
HWY_NOINLINE void RoundValues(const double* x, size_t n, Format format,
                              const FloatRounding& rounding,
                              const uint64_t* random, double* out,
                              EventCounts* events) {
  const FormatInfo& f = GetFormatInfo(format);
  const RoundShape shape{f.mantissa_bits, f.emin, f.emax};
  if (format == Format::kFp32 && rounding.mode == RoundingMode::kNearestEven) {
    return RoundFp32NearestEven(x, n, rounding, out, events);
  }
  if (rounding.mode == RoundingMode::kNearestEven) {
    return RoundNearestEvenByAddition(x, n, format, rounding, shape, out,
                                      events);
  }
  switch (rounding.mode) {
#define TRISIM_ROUND_CASE(M) \
  case M:                    \
    return RoundValuesT<M>(x, n, format, rounding, shape, random, out, events);
    TRISIM_ROUND_CASE(RoundingMode::kNearestEven)
    TRISIM_ROUND_CASE(RoundingMode::kNearestAway)
    TRISIM_ROUND_CASE(RoundingMode::kTowardZero)
    TRISIM_ROUND_CASE(RoundingMode::kTowardPosInf)
    TRISIM_ROUND_CASE(RoundingMode::kTowardNegInf)
    TRISIM_ROUND_CASE(RoundingMode::kToOdd)
    TRISIM_ROUND_CASE(RoundingMode::kStochastic)
#undef TRISIM_ROUND_CASE
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace quant
}  // namespace trisim
HWY_AFTER_NAMESPACE();

#endif  // TRISIM_QUANT_ROUND_SIMD_INL_H_
