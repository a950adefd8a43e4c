// The register-blocked FMA update shared by the fp64 reference products
// (core/dense_simd-inl.h, T = double) and the cube's sequential fp32
// accumulation (sim/cube_simd-inl.h, T = float): R rows x J vectors of c,
// c[r][j] = fma(a[r][k], b[k][j], c[r][j]) for k = 0 .. k-1 in order, one
// IEEE fused multiply-add each, so every lane sums its products in k order
// exactly as the scalar std::fma loop does. Only where Highway's MulAdd is
// a native FMA (HWY_NATIVE_FMA). Included per Highway target by those
// files, inside their HWY_NAMESPACE, hence the toggle guard.
#if defined(TRISIM_CORE_FMA_BLOCK_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef TRISIM_CORE_FMA_BLOCK_INL_H_
#undef TRISIM_CORE_FMA_BLOCK_INL_H_
#else
#define TRISIM_CORE_FMA_BLOCK_INL_H_
#endif

#include <cstddef>

#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace trisim {
namespace HWY_NAMESPACE {

#if HWY_NATIVE_FMA
template <typename T, int R, int J>
HWY_INLINE void FmaBlock(const T* a, int lda, const T* b, int ldb, T* c,
                         int ldc, int k) {
  namespace hn = hwy::HWY_NAMESPACE;
  const hn::ScalableTag<T> d;
  const size_t lanes = hn::Lanes(d);
  hn::Vec<decltype(d)> s[R][J];
  for (int r = 0; r < R; ++r)
    for (int v = 0; v < J; ++v)
      s[r][v] = hn::LoadU(d, c + static_cast<size_t>(r) * ldc + v * lanes);
  for (int kk = 0; kk < k; ++kk) {
    hn::Vec<decltype(d)> bv[J];
    for (int v = 0; v < J; ++v)
      bv[v] = hn::LoadU(d, b + static_cast<size_t>(kk) * ldb + v * lanes);
    for (int r = 0; r < R; ++r) {
      const auto av = hn::Set(d, a[static_cast<size_t>(r) * lda + kk]);
      for (int v = 0; v < J; ++v) s[r][v] = hn::MulAdd(av, bv[v], s[r][v]);
    }
  }
  for (int r = 0; r < R; ++r)
    for (int v = 0; v < J; ++v)
      hn::StoreU(s[r][v], d, c + static_cast<size_t>(r) * ldc + v * lanes);
}
#endif  // HWY_NATIVE_FMA

}  // namespace HWY_NAMESPACE
}  // namespace trisim
HWY_AFTER_NAMESPACE();

#endif  // TRISIM_CORE_FMA_BLOCK_INL_H_
