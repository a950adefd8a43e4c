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

// Nearest-even rounding of whole vectors into a float format: Rounded() is
// exact for the lanes the general kernel would not send to the reference;
// Special() finds the others (inf, NaN, |x| >= 2^emax, double subnormals),
// where Rounded() is meaningless. A rounding is inexact where the result
// differs from the input.
//  - kFp32: the conversion double -> fp32 -> double (cvtpd2ps, IEEE RNE with
//    gradual underflow) is RoundToFloat's value, sign of zero included.
//  - otherwise by the FPU's addition: with c = +-2^(max(E, emin) + 52 - p)
//    (E the binade of x, p the target's mantissa bits, the sign of x),
//    x + c lies in c's binade, whose double ulp is the target's quantum
//    2^(max(E, emin) - p) at x; the IEEE addition rounds it to nearest-even
//    there, and (x + c) - c is exact. The result keeps x's sign (a zero
//    result too). Covered lanes cannot overflow or flush.
template <bool kFp32>
struct NearestEvenLanes {
  using DD = hn::ScalableTag<double>;
  using DU = hn::RebindToUnsigned<DD>;
  using DI = hn::RebindToSigned<DD>;
  using V = hn::Vec<DD>;
  using M = hn::Mask<DI>;
  DD dd;
  DU du;
  DI di;
  hn::Vec<DU> k_abs = hn::Set(du, ~(uint64_t{1} << 63));
  hn::Vec<DI> k_exp = hn::Set(di, int64_t{0x7ff} << 52);
  hn::Vec<DI> k_zero_i = hn::Zero(di);
  hn::Vec<DI> k_min_normal_bits = hn::Set(di, int64_t{1} << 52);
  hn::Vec<DI> k_big_bits;
  hn::Vec<DI> k_emin_bits;
  hn::Vec<DI> k_shift;

  explicit NearestEvenLanes(const RoundShape& shape)
      : k_big_bits(hn::Set(di, int64_t{1023 + shape.emax} << 52)),
        k_emin_bits(hn::Set(di, int64_t{1023 + shape.emin} << 52)),
        k_shift(hn::Set(di, int64_t{52 - shape.p} << 52)) {}

  // Lanes of v the reference must take.
  HWY_INLINE M Special(V v) const {
    const auto ai = hn::BitCast(di, hn::And(hn::BitCast(du, v), k_abs));
    const auto zero = hn::Eq(ai, k_zero_i);
    return hn::Or(hn::Not(hn::Lt(ai, k_big_bits)),
                  hn::AndNot(zero, hn::Lt(ai, k_min_normal_bits)));
  }

  // The rounded lanes (valid where Special is false).
  HWY_INLINE V Rounded(V v) const {
    if constexpr (kFp32) {
      const hn::Rebind<float, DD> df;
      return hn::PromoteTo(dd, hn::DemoteTo(df, v));
    } else {
      const auto bits = hn::BitCast(du, v);
      const auto a = hn::And(bits, k_abs);
      const auto sign = hn::Xor(bits, a);
      auto e = hn::And(hn::BitCast(di, a), k_exp);
      e = hn::IfThenElse(hn::Lt(e, k_emin_bits), k_emin_bits, e);
      const auto c =
          hn::BitCast(dd, hn::Or(hn::BitCast(du, hn::Add(e, k_shift)), sign));
      return hn::BitCast(
          dd, hn::Or(hn::BitCast(du, hn::Sub(hn::Add(v, c), c)), sign));
    }
  }
};

// Nearest-even rounding of x[0, n) into a float format (fp32 by the
// conversion, narrower formats by the addition of NearestEvenLanes); a
// vector with any special lane takes the reference lane by lane, so every
// value and event is the reference's.
template <bool kFp32>
HWY_NOINLINE void RoundNearestEvenT(const double* HWY_RESTRICT x, size_t n,
                                    Format format,
                                    const FloatRounding& rounding,
                                    const RoundShape& shape, double* out,
                                    EventCounts* events) {
  const NearestEvenLanes<kFp32> r(shape);
  const size_t lanes = hn::Lanes(r.dd);
  auto minus_inexact = hn::Zero(r.di);
  size_t i = 0;
  for (; i + lanes <= n; i += lanes) {
    const auto v = hn::LoadU(r.dd, x + i);
    if (HWY_UNLIKELY(!hn::AllFalse(r.di, r.Special(v)))) {
      for (size_t j = i; j < i + lanes; ++j) {
        out[j] = RoundToFloatValue(x[j], format, rounding, 0, events);
      }
      continue;
    }
    const auto rounded = r.Rounded(v);
    // Minus the count per lane (VecFromMask is -1 where true).
    minus_inexact =
        hn::Add(minus_inexact,
                hn::BitCast(r.di, hn::VecFromMask(r.dd, hn::Ne(rounded, v))));
    hn::StoreU(rounded, r.dd, out + i);
  }
  events->inexact -= hn::GetLane(hn::SumOfLanes(r.di, minus_inexact));
  for (; i < n; ++i) {
    out[i] = RoundToFloatValue(x[i], format, rounding, 0, events);
  }
}

// The kLinComb chain of sim/executor.h in one pass, nearest-even into
// `shape`'s format: per element e, v = R(c0 x0[e]), then for t >= 1
// v = R(v + R(ct xt[e])), for inputs already in the format (the caller's
// check: their own rounding into it is the identity) and coefficients
// LinCombRounded admits. terms is 1 to kLinCombMaxTerms. Returns false if
// any lane of any rounding needs the reference: *inexact is then unchanged
// and out (partly written) is to be discarded; the caller runs the general
// path. Padding lanes of the tail are +0: every step on them is exact, so
// they count no event.
//
// Why one compare finds every such lane: the inputs are finite values of
// the format or inf/NaN, each coefficient is 0 or has |c| >= 2^(p - emin -
// 1022) (LinCombRounded's check), so a non-zero |c x| is >= 2^-1022 and a
// rounded value or sum is a multiple of the format's least subnormal: no
// double subnormal arises. What is left is |v| >= 2^emax or NaN, the lanes
// Abs(v) < 2^emax is false for (an ordered compare is false on NaN).
// Lanes of the widest double vector of any target: a constant expression
// for the tail buffers (clang rejects hn::MaxLanes of a non-constexpr tag as
// an array bound).
constexpr size_t kMaxDoubleLanes = HWY_MAX_BYTES / sizeof(double);

template <bool kFp32>
HWY_NOINLINE bool LinCombNearestEvenT(const double* const* x,
                                      const double* coef, size_t terms,
                                      size_t n, const RoundShape& shape,
                                      double* out, int64_t* inexact_out) {
  const NearestEvenLanes<kFp32> r(shape);
  const auto& dd = r.dd;
  const auto& di = r.di;
  const size_t lanes = hn::Lanes(dd);
  using V = hn::Vec<hn::ScalableTag<double>>;
  const V k_big = hn::BitCast(  // 2^emax, built from its bits
      dd, hn::Set(r.du, static_cast<uint64_t>(1023 + shape.emax) << 52));
  // Per lane: all-ones once any rounding needed the reference; minus the
  // number of inexact roundings (VecFromMask is -1 where true).
  auto special = hn::Zero(di);
  auto minus_inexact = hn::Zero(di);
  auto check = [&](V v) {
    special = hn::Or(
        special, hn::BitCast(di, hn::VecFromMask(
                                     dd, hn::Not(hn::Lt(hn::Abs(v), k_big)))));
  };
  auto round = [&](V v) {
    check(v);
    const V rounded = r.Rounded(v);
    minus_inexact =
        hn::Add(minus_inexact,
                hn::BitCast(di, hn::VecFromMask(dd, hn::Ne(rounded, v))));
    return rounded;
  };
  // c x with c = +-1 is exact and, when finite, a value of the format (-0
  // included): its rounding is the identity with no event. A non-finite
  // c x remains to be found: the rounded sum it enters is inf or NaN; a
  // lone term is tested.
  bool unit[kLinCombMaxTerms];
  for (size_t t = 0; t < terms; ++t) unit[t] = std::fabs(coef[t]) == 1.0;
  auto term = [&](size_t t, V x) {
    const V p = hn::Mul(hn::Set(dd, coef[t]), x);
    if (!unit[t]) return round(p);
    if (terms == 1) check(p);
    return p;
  };
  auto chain = [&](auto load) {
    V v = term(0, load(0));
    for (size_t t = 1; t < terms; ++t) v = round(hn::Add(v, term(t, load(t))));
    return v;
  };
  size_t i = 0;
  for (; i + lanes <= n; i += lanes) {
    hn::StoreU(chain([&](size_t t) { return hn::LoadU(dd, x[t] + i); }), dd,
               out + i);
  }
  if (i < n) {
    HWY_ALIGN double pad[kLinCombMaxTerms][kMaxDoubleLanes] = {};
    for (size_t t = 0; t < terms; ++t) {
      for (size_t j = i; j < n; ++j) pad[t][j - i] = x[t][j];
    }
    HWY_ALIGN double tail[kMaxDoubleLanes];
    hn::Store(chain([&](size_t t) { return hn::Load(dd, pad[t]); }), dd, tail);
    for (size_t j = i; j < n; ++j) out[j] = tail[j - i];
  }
  if (!hn::AllTrue(di, hn::Eq(special, hn::Zero(di)))) return false;
  *inexact_out -= hn::GetLane(hn::SumOfLanes(di, minus_inexact));
  return true;
}

HWY_NOINLINE bool LinCombNearestEven(const double* const* x, const double* coef,
                                     size_t terms, size_t n, Format format,
                                     double* out, int64_t* inexact) {
  const FormatInfo& f = GetFormatInfo(format);
  const RoundShape shape{f.mantissa_bits, f.emin, f.emax};
  return format == Format::kFp32
             ? LinCombNearestEvenT<true>(x, coef, terms, n, shape, out, inexact)
             : LinCombNearestEvenT<false>(x, coef, terms, n, shape, out,
                                          inexact);
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
  if (rounding.mode == RoundingMode::kNearestEven) {
    return format == Format::kFp32
               ? RoundNearestEvenT<true>(x, n, format, rounding, shape, out,
                                         events)
               : RoundNearestEvenT<false>(x, n, format, rounding, shape, out,
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
