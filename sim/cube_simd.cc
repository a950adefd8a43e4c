// Dynamic dispatch of sim/cube_simd-inl.h, and the scalar references.
#include "sim/cube_simd.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>

#include "quant/round.h"
#include "quant/simd_targets.h"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "sim/cube_simd.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "sim/cube_simd-inl.h"

#if HWY_ONCE
namespace trisim {

HWY_EXPORT(Int8MatMulT);
HWY_EXPORT(Int8PeakGopsT);
HWY_EXPORT(Fp64FmaPeakGopsT);
HWY_EXPORT(FractalMatUpdateT);
HWY_EXPORT(AbsMaxFiniteT);
HWY_EXPORT(QuantizeCodesT);
HWY_EXPORT(SpanExponentsT);
HWY_EXPORT(SequentialMatUpdateT);
HWY_EXPORT(SplitCodesT);
HWY_EXPORT(ScaleCodes32T);
HWY_EXPORT(ScaleEmulatedCodesT);

bool SpanExponentsReference(const double* x, size_t n, int16_t* top,
                            int16_t* low) {
  bool ok = true;
  for (size_t i = 0; i < n; ++i) {
    const double v = x[i];
    if (!std::isfinite(v) || (v != 0.0 && std::abs(v) < 0x1p-1022)) ok = false;
    if (v == 0.0) {
      top[i] = kSpanNoTop;
      low[i] = kSpanNoLow;
      continue;
    }
    uint64_t bits;
    std::memcpy(&bits, &v, sizeof bits);
    const int64_t ebits = static_cast<int64_t>((bits >> 52) & 0x7ff);
    const uint64_t mant =
        (bits & ((uint64_t{1} << 52) - 1)) | (uint64_t{1} << 52);
    top[i] = static_cast<int16_t>(ebits - 1023);
    low[i] = static_cast<int16_t>(ebits - 1075 + __builtin_ctzll(mant));
  }
  return ok;
}

bool SpanExponents(const double* x, size_t n, int16_t* top, int16_t* low) {
  return HWY_DYNAMIC_DISPATCH(SpanExponentsT)(x, n, top, low);
}

double AbsMaxFiniteReference(const double* x, size_t n) {
  double amax = 0.0;
  for (size_t i = 0; i < n; ++i) {
    if (std::isfinite(x[i])) amax = std::max(amax, std::abs(x[i]));
  }
  return amax;
}

double AbsMaxFinite(const double* x, size_t n) {
  return HWY_DYNAMIC_DISPATCH(AbsMaxFiniteT)(x, n);
}

namespace {

// quant::RoundToInt(double(y), format, {mode, saturate}) for a finite |y| <
// 2^62 and a non-stochastic mode, by truncation and the exact remainder.
inline int64_t RoundIntFast(float y, quant::RoundingMode mode, int64_t lo,
                            int64_t hi, quant::EventCounts* events) {
  const double yd = y;
  int64_t q = static_cast<int64_t>(yd);             // toward zero
  const double frac = yd - static_cast<double>(q);  // exact
  const int64_t away = yd < 0 ? -1 : 1;
  const double afrac = std::abs(frac);
  switch (mode) {
    case quant::RoundingMode::kNearestEven:
      if (afrac > 0.5 || (afrac == 0.5 && (q & 1))) q += away;
      break;
    case quant::RoundingMode::kNearestAway:
      if (afrac >= 0.5) q += away;
      break;
    case quant::RoundingMode::kTowardZero:
      break;
    case quant::RoundingMode::kTowardPosInf:
      if (frac > 0) ++q;
      break;
    case quant::RoundingMode::kTowardNegInf:
      if (frac < 0) --q;
      break;
    case quant::RoundingMode::kToOdd:
      if (frac != 0 && !(q & 1)) q += away;
      break;
    case quant::RoundingMode::kStochastic:
      break;  // not taken (callers use the reference)
  }
  events->inexact += frac != 0;
  if (q < lo) {
    ++events->saturated;
    return lo;
  }
  if (q > hi) {
    ++events->saturated;
    return hi;
  }
  return q;
}

}  // namespace

void QuantizeCodesReference(const double* x, size_t n, float scale,
                            quant::Format format, quant::RoundingMode mode,
                            int32_t qmax, int32_t* codes,
                            quant::EventCounts* events) {
  const quant::FormatInfo& info = quant::GetFormatInfo(format);
  const quant::IntRounding int_rounding{mode, quant::IntOverflow::kSaturate};
  for (size_t i = 0; i < n; ++i) {
    const float y = static_cast<float>(x[i]) / scale;
    int64_t q;
    if (std::abs(y) < 0x1p62f) {
      q = RoundIntFast(y, mode, info.min_int, info.max_int, events);
    } else {  // non-finite or huge: the reference
      q = quant::RoundToInt(static_cast<double>(y), format, int_rounding, 0,
                            events);
    }
    if (q > qmax || q < -qmax) {
      q = q > 0 ? qmax : -qmax;
      ++events->saturated;
    }
    codes[i] = static_cast<int32_t>(q);
  }
}

void QuantizeCodes(const double* x, size_t n, float scale, quant::Format format,
                   quant::RoundingMode mode, int32_t qmax, int32_t* codes,
                   quant::EventCounts* events) {
  HWY_DYNAMIC_DISPATCH(QuantizeCodesT)
  (x, n, scale, format, mode, qmax, codes, events);
}

void Int8MatMulReference(const int8_t* a, int lda, const int8_t* b, int ldb,
                         int32_t* c, int ldc, int m, int n, int k) {
  for (int i = 0; i < m; ++i) {
    for (int j = 0; j < n; ++j) {
      int64_t sum = 0;
      for (int kk = 0; kk < k; ++kk) {
        sum += int32_t{a[static_cast<size_t>(i) * lda + kk]} *
               b[static_cast<size_t>(kk) * ldb + j];
      }
      c[static_cast<size_t>(i) * ldc + j] = static_cast<int32_t>(sum);
    }
  }
}

void Int8MatMul(const int8_t* a, int lda, const int8_t* b, int ldb, int32_t* c,
                int ldc, int m, int n, int k) {
  HWY_DYNAMIC_DISPATCH(Int8MatMulT)(a, lda, b, ldb, c, ldc, m, n, k);
}

void FractalMatUpdateReference(const double* a, int lda, const double* b,
                               int ldb, float* acc, int ldacc, int m, int n,
                               int k, int fractal) {
  for (int i = 0; i < m; ++i) {
    for (int j = 0; j < n; ++j) {
      float& out = acc[static_cast<size_t>(i) * ldacc + j];
      for (int k0 = 0; k0 < k; k0 += fractal) {
        double s = 0.0;
        for (int kk = k0; kk < k0 + fractal && kk < k; ++kk) {
          s += a[static_cast<size_t>(i) * lda + kk] *
               b[static_cast<size_t>(kk) * ldb + j];
        }
        out = out + static_cast<float>(s);
      }
    }
  }
}

void FractalMatUpdate(const double* a, int lda, const double* b, int ldb,
                      float* acc, int ldacc, int m, int n, int k, int fractal) {
  HWY_DYNAMIC_DISPATCH(FractalMatUpdateT)
  (a, lda, b, ldb, acc, ldacc, m, n, k, fractal);
}

void SequentialMatUpdateReference(const double* a, int lda, const double* b,
                                  int ldb, float* acc, int ldacc, int m, int n,
                                  int k) {
  for (int i = 0; i < m; ++i) {
    for (int j = 0; j < n; ++j) {
      float& out = acc[static_cast<size_t>(i) * ldacc + j];
      for (int kk = 0; kk < k; ++kk) {
        out = static_cast<float>(static_cast<double>(out) +
                                 a[static_cast<size_t>(i) * lda + kk] *
                                     b[static_cast<size_t>(kk) * ldb + j]);
      }
    }
  }
}

void SequentialMatUpdate(const double* a, int lda, const double* b, int ldb,
                         float* acc, int ldacc, int m, int n, int k) {
  HWY_DYNAMIC_DISPATCH(SequentialMatUpdateT)
  (a, lda, b, ldb, acc, ldacc, m, n, k);
}

bool SplitCodesReference(const int32_t* q, size_t n, int8_t* lo, int8_t* hi) {
  bool ok = true;
  for (size_t i = 0; i < n; ++i) {
    ok = ok && q[i] >= -32768 && q[i] <= 32767;
    // Balanced split: l in [-128, 127], h = (q - l) / 256 exactly.
    const int32_t l = ((q[i] + 128) & 255) - 128;
    lo[i] = static_cast<int8_t>(l);
    if (hi != nullptr) {
      const int32_t h = (q[i] - l) >> 8;
      ok = ok && h >= -128 && h <= 127;
      hi[i] = static_cast<int8_t>(std::clamp(h, -128, 127));
    }
  }
  return ok;
}

bool SplitCodes(const int32_t* q, size_t n, int8_t* lo, int8_t* hi) {
  return HWY_DYNAMIC_DISPATCH(SplitCodesT)(q, n, lo, hi);
}

bool ScaleCodesReference(const int32_t* c, size_t n, double d, double* out) {
  bool all_small = true;
  for (size_t i = 0; i < n; ++i) {
    all_small = all_small && c[i] < (1 << 29) && c[i] > -(1 << 29);
    out[i] = static_cast<double>(c[i]) * d;
  }
  return all_small;
}

double ScaledRoundToOdd(int64_t x, float scale, bool* exact) {
  const quant::Exact s = quant::ExactFromDouble(scale);  // <= 24-bit mantissa
  const bool negative = (x < 0) != s.negative;
  const uint64_t ax =
      x < 0 ? static_cast<uint64_t>(-x) : static_cast<uint64_t>(x);
  uint64_t m = ax * s.mantissa;
  int e = s.exponent;
  *exact = true;
  if (m >> 53) {
    const int shift = 64 - __builtin_clzll(m) - 53;
    const bool sticky = (m & ((uint64_t{1} << shift) - 1)) != 0;
    m = (m >> shift) | (sticky ? 1 : 0);
    e += shift;
    *exact = !sticky;
  }
  const double v = std::ldexp(static_cast<double>(m), e);
  return negative ? -v : v;
}

bool ScaleEmulatedCodesReference(const int32_t* ll, const int32_t* hh,
                                 const int32_t* hl, const int32_t* lh, size_t n,
                                 double d, double* out) {
  for (size_t i = 0; i < n; ++i) {
    const int64_t total = EmulatedTotal(ll[i], hh[i], hl[i], lh[i]);
    bool exact;
    out[i] = total < (1 << 29) && total > -(1 << 29)
                 ? static_cast<double>(total) * d
                 : ScaledRoundToOdd(total, static_cast<float>(d), &exact);
  }
  return true;
}

bool ScaleEmulatedCodes(const int32_t* ll, const int32_t* hh, const int32_t* hl,
                        const int32_t* lh, size_t n, double d, double* out) {
  return HWY_DYNAMIC_DISPATCH(ScaleEmulatedCodesT)(ll, hh, hl, lh, n, d, out);
}
bool ScaleCodes(const int32_t* c, size_t n, double d, double* out) {
  return HWY_DYNAMIC_DISPATCH(ScaleCodes32T)(c, n, d, out);
}

namespace {
// The best GOP/s of a peak loop over `seconds`, round robin over the chain
// counts 8, 12 and 16 (each adapts its own iteration count to ~10 ms runs),
// so a noisy neighbour hits all of them alike; the best run of any is the
// peak. run(iters, chains) returns the ops of one iteration.
template <typename Run>
double BestPeakGops(double seconds, const Run& run) {
  constexpr int kChains[] = {8, 12, 16};
  int64_t iters[3] = {1 << 16, 1 << 16, 1 << 16};
  double best = 0.0;
  const auto start = std::chrono::steady_clock::now();
  for (;;) {
    for (int c = 0; c < 3; ++c) {
      const auto t0 = std::chrono::steady_clock::now();
      const double ops = run(iters[c], kChains[c]);
      const double dt =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
              .count();
      if (dt > 0)
        best = std::max(best, ops * static_cast<double>(iters[c]) / dt / 1e9);
      if (dt < 0.01) iters[c] *= 2;
    }
    if (std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count() > seconds) {
      break;
    }
  }
  return best;
}
}  // namespace

double MeasureInt8PeakGops(double seconds) {
  int64_t sink = 0;
  const double best = BestPeakGops(seconds, [&](int64_t iters, int chains) {
    return HWY_DYNAMIC_DISPATCH(Int8PeakGopsT)(iters, chains, &sink);
  });
  return sink == 42 ? best + 0.0 : best;  // keeps the loops' result alive
}

double MeasureFp64FmaPeakGops(double seconds) {
  double sink = 0.0;
  const double best = BestPeakGops(seconds, [&](int64_t iters, int chains) {
    return HWY_DYNAMIC_DISPATCH(Fp64FmaPeakGopsT)(iters, chains, &sink);
  });
  return sink == 42.0 ? best + 0.0 : best;
}

const char* Int8PeakInstruction() {
  // The dispatched target decides (VNNI is the AVX3_DL target's kernel), so
  // a TRISIM_HWY_TARGETS cap shows here too.
  return quant::DispatchTargetName() == "AVX3_DL"
             ? "vpdpbusd zmm (AVX-512 VNNI), best of 8/12/16 independent "
               "chains"
             : "pmaddwd + paddd (Highway ReorderWidenMulAccumulate), 8 "
               "chains of distinct operands";
}

}  // namespace trisim
#endif  // HWY_ONCE
