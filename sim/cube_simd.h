// SIMD kernels of the cube (Highway, dynamic dispatch). Each has a plain
// scalar reference here that is its specification; tests/cube_simd_test.cc
// compares them bit for bit on every compiled target.
#pragma once

#include <cstddef>
#include <cstdint>

#include "quant/format.h"
#include "quant/round.h"

namespace trisim {

// c[i ldc + j] = sum_k a[i lda + k] b[k ldb + j] (row-major int8 -> int32),
// for an m x k by k x n product with k <= 65536. The result is exact when
// every c fits int32 (the callers' accumulator bound guarantees it; the
// kernels wrap modulo 2^32 inside, which gives the exact sum whenever the
// sum itself fits). Codes may span the full int8 range [-128, 127].
//
// Fast path: AVX-512 VNNI vpdpbusd (u8 x s8, 4 products per int32 lane)
// on (a + 128) with the 128 sum_k b[k][j] correction, when the CPU has it;
// otherwise Highway's widening multiply-add (ReorderWidenMulAccumulate,
// pmaddwd on x86) on int16 pairs.
void Int8MatMul(const int8_t* a, int lda, const int8_t* b, int ldb, int32_t* c,
                int ldc, int m, int n, int k);
void Int8MatMulReference(const int8_t* a, int lda, const int8_t* b, int ldb,
                         int32_t* c, int ldc, int m, int n, int k);

// Float fractal accumulation (sim/cube.h "fractal" order) for rows whose
// fractal sums are all exact in double (the caller checks a bound, see
// cube.cc), so the double sums may run in any order:
//   for f: acc[i][j] = fp32(acc[i][j] + fp32(sum_{k in fractal f} a[i][k]
//   b[k][j]))
// a: m x k (lda), b: k x n (ldb), acc: m x n fp32 (ldacc), updated in place;
// `fractal` is k0 (the last fractal may be shorter).
void FractalMatUpdate(const double* a, int lda, const double* b, int ldb,
                      float* acc, int ldacc, int m, int n, int k, int fractal);
void FractalMatUpdateReference(const double* a, int lda, const double* b,
                               int ldb, float* acc, int ldacc, int m, int n,
                               int k, int fractal);

// Float sequential accumulation (sim/cube.h "sequential" order): for every
// i, j and k = 0..k-1 in order,
//   acc[i][j] = fp32(double(acc[i][j]) + a[i][k] b[k][j])
// (the product exact in double, one rounding to double, then RNE to fp32).
// a: m x k (lda), b: k x n (ldb), acc: m x n fp32 (ldacc), updated in place.
// Precondition (the caller checks it): every a and b value is a finite fp32
// value and every product a b has at most 24 significant bits (operands of
// 16-bit formats or hf32/tf32), so it is exact in fp32's precision.
// The kernel vectorises over j. On targets with a native FMA it computes
// acc = fma(a, b, acc) in fp32 lanes, one rounding of acc + a b: equal to
// the double-then-fp32 form because rounding a sum of two values of <= 24
// significant bits first to double (53 >= 2 * 24 + 2 bits) and then to fp32
// gives the correctly rounded sum (Figueroa, "When is double rounding
// innocuous?", SIGNUM 1995; the argument covers fp32 underflow: the addend
// far below the other one is below half its last bit). Other targets run the
// double-then-fp32 form itself in double lanes.
void SequentialMatUpdate(const double* a, int lda, const double* b, int ldb,
                         float* acc, int ldacc, int m, int n, int k);
void SequentialMatUpdateReference(const double* a, int lda, const double* b,
                                  int ldb, float* acc, int ldacc, int m, int n,
                                  int k);

// Exponents of the significant bits of each x[i] (for the fractal kernel's
// exactness bound, sim/cube.cc): top[i] = the exponent of the leading bit,
// low[i] = the exponent of the lowest set bit (x = +-2^low odd), and
// kSpanNoTop / kSpanNoLow for zeros. False (outputs unspecified) if some
// x[i] is NaN, inf or a nonzero double subnormal.
// int16 holds every double exponent (-1074..1023), so the caller's
// reductions run 8 or more to a vector even on SSE2.
constexpr int16_t kSpanNoTop = -32768;
constexpr int16_t kSpanNoLow = 32767;
bool SpanExponents(const double* x, size_t n, int16_t* top, int16_t* low);
bool SpanExponentsReference(const double* x, size_t n, int16_t* top,
                            int16_t* low);

// Largest |x[i]| over the finite x[0, n), +0 if there is none: the amax of
// a quantisation group (sim/cube.h). max is exact, so any order gives it.
double AbsMaxFinite(const double* x, size_t n);
double AbsMaxFiniteReference(const double* x, size_t n);

// Integer operand quantisation (sim/cube.h) of x[0, n) with one fp32 scale
// in a non-stochastic `mode`: y = fp32(fp32(x) / scale), q = RoundToInt(y,
// format, {mode, saturate}) (clamped to the format's [min_int, max_int],
// counted), then clamped to [-qmax, qmax] (counted in `saturated` again);
// inexact roundings are counted. The reference rounds by truncation and the
// exact remainder (quant::RoundToInt for non-finite or huge y). The kernel
// computes in fp32 lanes: for |y| < 2^22, trunc(y) and y - trunc(y) are
// exact in fp32, so every mode's decision equals the reference's; other
// lanes take the reference.
void QuantizeCodes(const double* x, size_t n, float scale, quant::Format format,
                   quant::RoundingMode mode, int32_t qmax, int32_t* codes,
                   quant::EventCounts* events);
void QuantizeCodesReference(const double* x, size_t n, float scale,
                            quant::Format format, quant::RoundingMode mode,
                            int32_t qmax, int32_t* codes,
                            quant::EventCounts* events);

// Integer codes (|q| <= 32767) for the int8 cube (sim/cube.cc
// FastIntMatMul): lo[i] = l = ((q + 128) mod 256) - 128 in [-128, 127] and,
// if hi is not null, hi[i] = (q - l) / 256 (exact), both as int8 (wrapping);
// without hi, l is q itself for int8 codes. False if some q is outside
// int16 or some h outside int8 (q > 32639: h = 128; the emulated int16
// range stops at 32639, sim/cube.h): the caller then takes the reference.
// (The pieces of such q are then unspecified.)
bool SplitCodes(const int32_t* q, size_t n, int8_t* lo, int8_t* hi);
bool SplitCodesReference(const int32_t* q, size_t n, int8_t* lo, int8_t* hi);

// Dequantisation of accumulator values: out[e] = double(c[e]) * d for e < n
// (one IEEE double multiply each), and true when every |c[e]| < 2^29 (then
// the product of c and an fp32 d is exact in double: <= 53 bits).
bool ScaleCodes(const int32_t* c, size_t n, double d, double* out);
bool ScaleCodesReference(const int32_t* c, size_t n, double d, double* out);
// x * scale rounded to odd at 53 bits, as a double: the exact product when
// it has at most 53 significant bits (then every mode, stochastic too,
// rounds it like the reference), else a value whose rounding to any format
// of <= 51 bits in a non-stochastic mode equals the exact product's
// (Boldo & Melquiond, "Emulation of FMA and correctly rounded sums: proved
// algorithms using rounding to odd", IEEE TC 57(4), 2008). Requires
// |x| < 2^39; *exact says whether the product was exact.
double ScaledRoundToOdd(int64_t x, float scale, bool* exact);

// The emulated int16 product's dequantisation (sim/cube.cc FastIntMatMul),
// from the int32 accumulators of its four int8 Mmads (pieces of SplitCodes):
// total[e] = ll[e] + 2^16 hh[e] + 2^8 (hl[e] + lh[e]) (exact for any int32
// pieces) and out[e] = ScaledRoundToOdd(total[e], d) for e < n: the exact
// double product total * d when |total| < 2^29, as ScaleCodes. d is an fp32
// value (a negative d gives the negated result: rounding to odd is
// symmetric). Requires every |total| < 2^39. Returns false if some element
// with |total| >= 2^29 was left unwritten (targets without a native FMA);
// the caller then finishes those with ScaledRoundToOdd.
bool ScaleEmulatedCodes(const int32_t* ll, const int32_t* hh, const int32_t* hl,
                        const int32_t* lh, size_t n, double d, double* out);
bool ScaleEmulatedCodesReference(const int32_t* ll, const int32_t* hh,
                                 const int32_t* hl, const int32_t* lh, size_t n,
                                 double d, double* out);
// The exact total of one element (int64), for the callers' rare path.
inline int64_t EmulatedTotal(int32_t ll, int32_t hh, int32_t hl, int32_t lh) {
  return int64_t{ll} + int64_t{hh} * 65536 + (int64_t{hl} + lh) * 256;
}

// How many GOP/s a tight loop of the best int8 dot-product instruction
// reaches on one core (vpdpbusd zmm if the CPU has AVX-512 VNNI, else the
// widening multiply-add of the best Highway target): the int8 peak that
// `trisim bench` reports against. 2 ops per multiply-add. The best of
// loops with 8, 12 and 16 independent accumulator chains: the chains needed
// to cover latency x issue ports differ between cores (8 fall ~9% short on
// the AMD family 26 core measured in issue 15).
double MeasureInt8PeakGops(double seconds);
// Name of the instruction MeasureInt8PeakGops timed.
const char* Int8PeakInstruction();
// The same for fp64 multiply-adds on full vectors of the dispatched target
// (Highway MulAdd: one FMA where the target has it, else a multiply and an
// add): the bound on the float fast path, whose exact fractal sums run in
// double lanes (FractalMatUpdate). 2 ops per lane per multiply-add.
double MeasureFp64FmaPeakGops(double seconds);

}  // namespace trisim
