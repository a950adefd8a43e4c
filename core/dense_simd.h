// Dense fp64 matrix product for the fp64 references (core/gdn.h), on
// Highway (dynamic dispatch). Eigen, compiled for the portable x86-64
// baseline (no -march), multiplies with SSE2 and no FMA; this kernel picks
// AVX-512 or AVX2 with FMA at run time. It has a plain scalar reference
// that is its specification; tests/dense_simd_test.cc compares the two bit
// for bit on every compiled target.
#pragma once

namespace trisim {

// c[i ldc + j] = fma(a[i lda + k], b[k ldb + j], c[i ldc + j]) for k = 0..
// k-1 in order, for every i < m, j < n (row-major; c accumulates: clear it
// first for a plain product). One rounding per product-and-add (IEEE fused
// multiply-add), so the result does not depend on the target: targets
// without a native FMA run the reference (std::fma).
void MatMulAddFma(const double* a, int lda, const double* b, int ldb, double* c,
                  int ldc, int m, int n, int k);
void MatMulAddFmaReference(const double* a, int lda, const double* b, int ldb,
                           double* c, int ldc, int m, int n, int k);

}  // namespace trisim
