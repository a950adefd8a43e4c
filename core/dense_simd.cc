// Dynamic dispatch of core/dense_simd-inl.h, and the scalar reference.
#include "core/dense_simd.h"

#include <cmath>
#include <cstddef>

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "core/dense_simd.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
// After foreach_target.h: included once per target.
#include "core/dense_simd-inl.h"

#if HWY_ONCE
namespace trisim {

HWY_EXPORT(MatMulAddFmaT);

void MatMulAddFmaReference(const double* a, int lda, const double* b, int ldb,
                           double* c, int ldc, int m, int n, int k) {
  for (int i = 0; i < m; ++i) {
    for (int j = 0; j < n; ++j) {
      double& out = c[static_cast<size_t>(i) * ldc + j];
      for (int kk = 0; kk < k; ++kk) {
        out = std::fma(a[static_cast<size_t>(i) * lda + kk],
                       b[static_cast<size_t>(kk) * ldb + j], out);
      }
    }
  }
}

void MatMulAddFma(const double* a, int lda, const double* b, int ldb, double* c,
                  int ldc, int m, int n, int k) {
  HWY_DYNAMIC_DISPATCH(MatMulAddFmaT)(a, lda, b, ldb, c, ldc, m, n, k);
}

}  // namespace trisim
#endif  // HWY_ONCE
