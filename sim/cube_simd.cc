// Dynamic dispatch of sim/cube_simd-inl.h, and the scalar references.
#include "sim/cube_simd.h"

#include <chrono>

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "sim/cube_simd.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep

#include "hwy/highway.h"
#include "sim/cube_simd-inl.h"

#if HWY_ONCE
namespace trisim {

HWY_EXPORT(Int8MatMulT);
HWY_EXPORT(Int8PeakGopsT);
HWY_EXPORT(FractalMatUpdateT);

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

void Int8MatMul(const int8_t* a, int lda, const int8_t* b, int ldb,
                int32_t* c, int ldc, int m, int n, int k) {
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
  HWY_DYNAMIC_DISPATCH(FractalMatUpdateT)(a, lda, b, ldb, acc, ldacc, m, n, k,
                                          fractal);
}

double MeasureInt8PeakGops(double seconds) {
  int64_t sink = 0;
  int64_t iters = 1 << 16;
  double best = 0.0;
  const auto start = std::chrono::steady_clock::now();
  for (;;) {
    const auto t0 = std::chrono::steady_clock::now();
    const double ops = HWY_DYNAMIC_DISPATCH(Int8PeakGopsT)(iters, &sink);
    const double dt =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (dt > 0) best = std::max(best, ops * static_cast<double>(iters) / dt / 1e9);
    if (dt < 0.01) iters *= 2;
    if (std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count() > seconds) {
      break;
    }
  }
  if (sink == 42) best += 0.0;  // keep the loop's result alive
  return best;
}

const char* Int8PeakInstruction() {
  return __builtin_cpu_supports("avx512vnni")
             ? "vpdpbusd zmm (AVX-512 VNNI), 8 independent chains"
             : "pmaddwd (Highway ReorderWidenMulAccumulate), 8 chains";
}

}  // namespace trisim
#endif  // HWY_ONCE
