// SIMD kernels of the cube (Highway, dynamic dispatch). Each has a plain
// scalar reference here that is its specification; tests/simd_cube_test.cc
// compares them bit for bit on every compiled target.
#pragma once

#include <cstdint>

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
void Int8MatMul(const int8_t* a, int lda, const int8_t* b, int ldb,
                int32_t* c, int ldc, int m, int n, int k);
void Int8MatMulReference(const int8_t* a, int lda, const int8_t* b, int ldb,
                         int32_t* c, int ldc, int m, int n, int k);

// Float fractal accumulation (sim/cube.h "fractal" order) for rows whose
// fractal sums are all exact in double (the caller checks a bound, see
// cube.cc), so the double sums may run in any order:
//   for f: acc[i][j] = fp32(acc[i][j] + fp32(sum_{k in fractal f} a[i][k] b[k][j]))
// a: m x k (lda), b: k x n (ldb), acc: m x n fp32 (ldacc), updated in place;
// `fractal` is k0 (the last fractal may be shorter).
void FractalMatUpdate(const double* a, int lda, const double* b, int ldb,
                      float* acc, int ldacc, int m, int n, int k, int fractal);
void FractalMatUpdateReference(const double* a, int lda, const double* b,
                               int ldb, float* acc, int ldacc, int m, int n,
                               int k, int fractal);

// How many GOP/s a tight loop of the best int8 dot-product instruction
// reaches on one core (vpdpbusd zmm if the CPU has AVX-512 VNNI, else the
// widening multiply-add of the best Highway target): the int8 peak that
// `trisim bench` reports against. 2 ops per multiply-add.
double MeasureInt8PeakGops(double seconds);
// Name of the instruction MeasureInt8PeakGops timed.
const char* Int8PeakInstruction();

}  // namespace trisim
