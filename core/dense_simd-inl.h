// Per-target kernels of core/dense_simd.h, included once per Highway target
// by core/dense_simd.cc (foreach_target.h), hence the toggle guard.
#if defined(TRISIM_CORE_DENSE_SIMD_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef TRISIM_CORE_DENSE_SIMD_INL_H_
#undef TRISIM_CORE_DENSE_SIMD_INL_H_
#else
#define TRISIM_CORE_DENSE_SIMD_INL_H_
#endif

#include <cstddef>

#include "core/dense_simd.h"
#include "core/fma_block-inl.h"
#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace trisim {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

#if HWY_NATIVE_FMA
template <int R>
HWY_INLINE void FmaRows(const double* a, int lda, const double* b, int ldb,
                        double* c, int ldc, int n, int k) {
  const hn::ScalableTag<double> dd;
  const int lanes = static_cast<int>(hn::Lanes(dd));
  int j = 0;
  for (; j + 4 * lanes <= n; j += 4 * lanes)
    FmaBlock<double, R, 4>(a, lda, b + j, ldb, c + j, ldc, k);
  for (; j + lanes <= n; j += lanes)
    FmaBlock<double, R, 1>(a, lda, b + j, ldb, c + j, ldc, k);
  if (j < n) MatMulAddFmaReference(a, lda, b + j, ldb, c + j, ldc, R, n - j, k);
}
#endif

HWY_NOINLINE void MatMulAddFmaT(const double* a, int lda, const double* b,
                                int ldb, double* c, int ldc, int m, int n,
                                int k) {
#if HWY_NATIVE_FMA
  int i = 0;
#if HWY_TARGET <= HWY_AVX3
  // 32 vector registers: 4 rows x 4 vectors of sums, 4 of B, 1 of A.
  for (; i + 4 <= m; i += 4)
    FmaRows<4>(a + static_cast<size_t>(i) * lda, lda, b, ldb,
               c + static_cast<size_t>(i) * ldc, ldc, n, k);
#endif
  for (; i + 2 <= m; i += 2)
    FmaRows<2>(a + static_cast<size_t>(i) * lda, lda, b, ldb,
               c + static_cast<size_t>(i) * ldc, ldc, n, k);
  for (; i < m; ++i)
    FmaRows<1>(a + static_cast<size_t>(i) * lda, lda, b, ldb,
               c + static_cast<size_t>(i) * ldc, ldc, n, k);
#else
  // Highway's MulAdd would round the product first: the reference.
  MatMulAddFmaReference(a, lda, b, ldb, c, ldc, m, n, k);
#endif
}

}  // namespace HWY_NAMESPACE
}  // namespace trisim
HWY_AFTER_NAMESPACE();

#endif  // TRISIM_CORE_DENSE_SIMD_INL_H_
