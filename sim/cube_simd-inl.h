// Per-target kernels of sim/cube_simd.h, included once per Highway target by
// sim/cube_simd.cc (foreach_target.h), hence the toggle guard.
#if defined(TRISIM_SIM_CUBE_SIMD_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef TRISIM_SIM_CUBE_SIMD_INL_H_
#undef TRISIM_SIM_CUBE_SIMD_INL_H_
#else
#define TRISIM_SIM_CUBE_SIMD_INL_H_
#endif

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "core/fma_block-inl.h"
#include "hwy/aligned_allocator.h"
#include "hwy/highway.h"
#include "sim/cube_simd.h"

#if HWY_TARGET == HWY_AVX3_DL
#include <immintrin.h>
#endif

HWY_BEFORE_NAMESPACE();
namespace trisim {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// fp32(v) as IEEE 754 converts (cvtpd2ps, round to nearest-even): +-inf from
// |v| >= 2^128 - 2^103, the midpoint between FLT_MAX = 2^128 - 2^104 and
// 2^128, which ties to the even significand of 2^128. Highway 1.0.3's
// SCALAR and EMU128 DemoteTo saturate to +-FLT_MAX there, and for +-inf
// ("Prevent ubsan errors", hwy/ops/scalar-inl.h, emu128-inl.h); the other
// targets convert in hardware. Every double -> fp32 conversion of the kernels
// below goes through here, so the reference's IEEE overflow holds on every
// target.
template <class DF, class VD>
HWY_INLINE hn::Vec<DF> DemoteToFp32(DF df, VD v) {
  const auto r = hn::DemoteTo(df, v);
#if HWY_TARGET == HWY_SCALAR || HWY_TARGET == HWY_EMU128
  // Their RebindMask needs equal lane sizes: the mask crosses as 1.0 / 0.0.
  const hn::Rebind<double, DF> dd;
  const auto over_d = hn::IfThenElseZero(
      hn::Ge(hn::Abs(v), hn::Set(dd, 0x1.ffffffp127)), hn::Set(dd, 1.0));
  const auto over = hn::Ne(hn::DemoteTo(df, over_d), hn::Zero(df));
  return hn::IfThenElse(over, hn::CopySign(hn::Inf(df), r), r);
#else
  return r;
#endif
}

// Scratch buffers reused across calls (one set per thread).
struct Int8Scratch {
  hwy::AlignedFreeUniquePtr<uint8_t[]> b;
  size_t b_bytes = 0;
  std::vector<int32_t> a;
  std::vector<int32_t> colsum;
  uint8_t* B(size_t bytes) {
    if (bytes > b_bytes) {
      b = hwy::AllocateAligned<uint8_t>(bytes);
      b_bytes = bytes;
    }
    return b.get();
  }
};
inline Int8Scratch& Scratch() {
  static thread_local Int8Scratch s;
  return s;
}

#if HWY_TARGET == HWY_AVX3_DL
#define TRISIM_VNNI_ATTR __attribute__((target(HWY_TARGET_STR ",avx512vnni")))

// acc + vpdpbusd(u8 quads of a, s8 quads of b). Inline asm, not
// _mm512_dpbusd_epi32: GCC 12 (-O3) gives the intrinsic's result a register
// apart from its accumulator input and copies all 16 accumulators of the
// 4 x 4 block every k-quad (two vmovdqa per vpdpbusd), which measured 0.95 us
// for the 64^3 product against 0.65 us with this form (issue 15). The tied
// "+v" operand keeps each accumulator in one zmm register. By value, not by
// reference: an asm operand naming an array element keeps GCC from turning
// the accumulator array into registers (it then loads and stores each
// accumulator around every instruction).
TRISIM_VNNI_ATTR HWY_INLINE __m512i VnniDot(__m512i acc, __m512i a_u8,
                                            __m512i b_s8) {
  __asm__("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(a_u8), "v"(b_s8));
  return acc;
}

// R rows x J vectors of 16 int32 lanes: c = (a + 128) b - 128 sum_k b[k][j],
// a read in place.
// a: R rows of k int8 (stride lda); each quad a[4q..4q+3] is broadcast and
// XORed with 0x80 (= a + 128 as u8) in the register, so A needs no packing
// pass (which cost ~10% of the 64^3 call). The last, partial quad (k % 4
// bytes) is a masked load, so no byte past a row's k is read; its missing
// bytes become 0x80 but meet zero rows of bp.
// bp: [kq][npad][4] int8 (B packed in k-quads). neg_colsums:
// -128 sum_k b[k][j].
template <int R, int J>
TRISIM_VNNI_ATTR HWY_INLINE void VnniBlock(const int8_t* a, int lda, int k,
                                           const uint8_t* bp, int npad,
                                           const int32_t* neg_colsums,
                                           int32_t* c, int ldc, int n_left) {
  const __m512i k80 = _mm512_set1_epi8(static_cast<char>(0x80));
  // The accumulators start at -colsum (a register copy), so the epilogue is
  // stores only, no vpsubd per store.
  __m512i acc[R][J];
  for (int v = 0; v < J; ++v) {
    const __m512i neg_colsum = _mm512_loadu_si512(neg_colsums + 16 * v);
    for (int r = 0; r < R; ++r) acc[r][v] = neg_colsum;
  }
  const int kf = k / 4;
  const size_t bq_stride = static_cast<size_t>(npad) * 4;
  const uint8_t* bq = bp;
  for (int q = 0; q < kf; ++q, bq += bq_stride) {
    __m512i bv[J];
    for (int v = 0; v < J; ++v) bv[v] = _mm512_load_si512(bq + 64 * v);
    for (int r = 0; r < R; ++r) {
      int32_t quad;
      std::memcpy(&quad, a + static_cast<size_t>(r) * lda + 4 * q, 4);
      const __m512i av = _mm512_xor_si512(_mm512_set1_epi32(quad), k80);
      for (int v = 0; v < J; ++v) acc[r][v] = VnniDot(acc[r][v], av, bv[v]);
    }
  }
  if (k % 4 != 0) {
    const __mmask16 kmask = static_cast<__mmask16>((1u << (k % 4)) - 1);
    __m512i bv[J];
    for (int v = 0; v < J; ++v) bv[v] = _mm512_load_si512(bq + 64 * v);
    for (int r = 0; r < R; ++r) {
      const __m128i quad = _mm_maskz_loadu_epi8(
          kmask, a + static_cast<size_t>(r) * lda + 4 * kf);
      const __m512i av = _mm512_xor_si512(_mm512_broadcastd_epi32(quad), k80);
      for (int v = 0; v < J; ++v) acc[r][v] = VnniDot(acc[r][v], av, bv[v]);
    }
  }
  for (int v = 0; v < J; ++v) {
    const int left = std::min(16, n_left - 16 * v);
    const __mmask16 mask =
        left >= 16 ? 0xFFFF : static_cast<__mmask16>((1u << left) - 1);
    for (int r = 0; r < R; ++r) {
      _mm512_mask_storeu_epi32(c + static_cast<size_t>(r) * ldc + 16 * v, mask,
                               acc[r][v]);
    }
  }
}

template <int R>
TRISIM_VNNI_ATTR HWY_INLINE void VnniRows(const int8_t* a, int lda, int k,
                                          const uint8_t* bp, int npad,
                                          const int32_t* neg_colsums,
                                          int32_t* c, int ldc, int n) {
  int jb = 0;
  for (; jb + 64 <= npad; jb += 64) {
    VnniBlock<R, 4>(a, lda, k, bp + jb * 4, npad, neg_colsums + jb, c + jb, ldc,
                    n - jb);
  }
  switch ((npad - jb) / 16) {
    case 3:
      VnniBlock<R, 3>(a, lda, k, bp + jb * 4, npad, neg_colsums + jb, c + jb,
                      ldc, n - jb);
      break;
    case 2:
      VnniBlock<R, 2>(a, lda, k, bp + jb * 4, npad, neg_colsums + jb, c + jb,
                      ldc, n - jb);
      break;
    case 1:
      VnniBlock<R, 1>(a, lda, k, bp + jb * 4, npad, neg_colsums + jb, c + jb,
                      ldc, n - jb);
      break;
    default:
      break;
  }
}

TRISIM_VNNI_ATTR HWY_NOINLINE void Int8MatMulVnni(const int8_t* a, int lda,
                                                  const int8_t* b, int ldb,
                                                  int32_t* c, int ldc, int m,
                                                  int n, int k) {
  const int kq = (k + 3) / 4;
  const int npad = (n + 15) / 16 * 16;
  Int8Scratch& s = Scratch();
  uint8_t* bp = s.B(static_cast<size_t>(kq) * npad * 4 + 64);
  s.colsum.resize(npad);
  int32_t* corr = s.colsum.data();  // -128 sum_k b[k][j]
  const __m512i k80 = _mm512_set1_epi8(static_cast<char>(0x80));
  // Pack B into k-quads, 64 columns (four 16-lane vectors) at a time: rows
  // 4q..4q+3 interleave bytewise (unpack epi8, then epi16), which leaves
  // columns 16L + 4x.. in 128-bit lane L of vector x; a 4x4 transpose of
  // 128-bit lanes puts columns 16x..16x+15 in vector x. Rows past k and
  // columns past n are zero. The correction 128 sum_k b[k][j] comes from
  // vpdpbusd of 0x80 bytes against the packed quads (exact: |.| <= 2^30),
  // stored negated as the blocks' starting accumulators.
  for (int jb = 0; jb < npad; jb += 64) {
    const int left = n - jb;
    const __mmask64 mask =
        left >= 64 ? ~__mmask64{0} : ((__mmask64{1} << left) - 1);
    const int nv = std::min(4, (npad - jb) / 16);
    __m512i cs[4];
    for (int v = 0; v < 4; ++v) cs[v] = _mm512_setzero_si512();
    for (int q = 0; q < kq; ++q) {
      __m512i r[4];
      for (int t = 0; t < 4; ++t) {
        const int kk = 4 * q + t;
        r[t] = kk < k ? _mm512_maskz_loadu_epi8(
                            mask, b + static_cast<size_t>(kk) * ldb + jb)
                      : _mm512_setzero_si512();
      }
      const __m512i lo01 = _mm512_unpacklo_epi8(r[0], r[1]);
      const __m512i hi01 = _mm512_unpackhi_epi8(r[0], r[1]);
      const __m512i lo23 = _mm512_unpacklo_epi8(r[2], r[3]);
      const __m512i hi23 = _mm512_unpackhi_epi8(r[2], r[3]);
      const __m512i t0 = _mm512_unpacklo_epi16(lo01, lo23);
      const __m512i t1 = _mm512_unpackhi_epi16(lo01, lo23);
      const __m512i t2 = _mm512_unpacklo_epi16(hi01, hi23);
      const __m512i t3 = _mm512_unpackhi_epi16(hi01, hi23);
      const __m512i u0 = _mm512_shuffle_i32x4(t0, t1, 0x44);
      const __m512i u1 = _mm512_shuffle_i32x4(t0, t1, 0xEE);
      const __m512i u2 = _mm512_shuffle_i32x4(t2, t3, 0x44);
      const __m512i u3 = _mm512_shuffle_i32x4(t2, t3, 0xEE);
      __m512i v[4];
      v[0] = _mm512_shuffle_i32x4(u0, u2, 0x88);
      v[1] = _mm512_shuffle_i32x4(u0, u2, 0xDD);
      v[2] = _mm512_shuffle_i32x4(u1, u3, 0x88);
      v[3] = _mm512_shuffle_i32x4(u1, u3, 0xDD);
      uint8_t* dst = bp + (static_cast<size_t>(q) * npad + jb) * 4;
      for (int x = 0; x < nv; ++x) {
        _mm512_store_si512(dst + 64 * x, v[x]);
        cs[x] = VnniDot(cs[x], k80, v[x]);
      }
    }
    for (int x = 0; x < nv; ++x) {
      _mm512_storeu_si512(corr + jb + 16 * x,
                          _mm512_sub_epi32(_mm512_setzero_si512(), cs[x]));
    }
  }
  int i = 0;
  for (; i + 4 <= m; i += 4) {
    VnniRows<4>(a + static_cast<size_t>(i) * lda, lda, k, bp, npad, corr,
                c + static_cast<size_t>(i) * ldc, ldc, n);
  }
  for (; i < m; ++i) {
    VnniRows<1>(a + static_cast<size_t>(i) * lda, lda, k, bp, npad, corr,
                c + static_cast<size_t>(i) * ldc, ldc, n);
  }
}

// The peak loop: `Chains` independent accumulators of vpdpbusd zmm. How
// many chains reach the throughput depends on the core (latency x ports:
// measured here on an AMD family 26 core, 8 chains ~785 GOP/s, 10 ~835,
// 12 ~858, 16 ~851), so MeasureInt8PeakGops times several and keeps the
// best.
template <int Chains>
TRISIM_VNNI_ATTR HWY_NOINLINE int64_t VnniPeakLoop(int64_t iters) {
  __m512i acc[Chains];
  for (int r = 0; r < Chains; ++r) acc[r] = _mm512_set1_epi32(r);
  __m512i x = _mm512_set1_epi32(0x01010101), y = _mm512_set1_epi32(0x02020202);
  for (int64_t t = 0; t < iters; ++t) {
    for (int r = 0; r < Chains; ++r) acc[r] = VnniDot(acc[r], x, y);
    __asm__ volatile("" : "+v"(x), "+v"(y));
  }
  __m512i sum = acc[0];
  for (int r = 1; r < Chains; ++r) sum = _mm512_add_epi32(sum, acc[r]);
  return _mm512_reduce_add_epi32(sum);
}
#endif  // HWY_TARGET == HWY_AVX3_DL

#if HWY_TARGET != HWY_SCALAR
// acc + the widening multiply-add of int16 pairs a, b (odd: Highway's second
// accumulator, see ReorderWidenMulAccumulate).
template <class D32, class V16>
HWY_INLINE hn::Vec<D32> WidenMulAcc(D32 d32, V16 a, V16 b, hn::Vec<D32> acc,
                                    hn::Vec<D32>& odd) {
#if HWY_TARGET == HWY_AVX2 || HWY_TARGET == HWY_AVX3 || \
    HWY_TARGET == HWY_AVX3_DL
  // pmaddwd into a fresh register, then the add tied to the accumulator in
  // inline asm: with the plain sum, GCC 12 (-O3) puts each sum in a new
  // register and copies all 8 accumulators of the block back every k-pair
  // (standalone 4x2 block: 176 -> 197 GOP/s on AVX2, issue 15). By value:
  // an asm operand naming an array element would keep the accumulators in
  // memory. odd stays zero on x86 (pmaddwd sums the pair itself).
  const auto prod =
      hn::ReorderWidenMulAccumulate(d32, a, b, hn::Zero(d32), odd);
  __asm__("vpaddd %1, %0, %0" : "+v"(acc.raw) : "v"(prod.raw));
  return acc;
#else
  return hn::ReorderWidenMulAccumulate(d32, a, b, acc, odd);
#endif
}

// R rows x J vectors of int32 lanes over kp k-pairs, with the widening
// multiply-add: lane j of a product = a[2q] b[2q][j] + a[2q+1] b[2q+1][j]
// (exact: |sum| <= 2^15 per pair, and k/2 of them fit int32 for k < 2^17).
// ap: R rows of kp int32 = int16 pairs (stride kp); bp: [kp][npad] int32 =
// int16 pairs. J vectors from column 0 of bp/c; n_left columns remain.
template <int R, int J>
HWY_INLINE void WidenBlock(const int32_t* ap, int kp, const int32_t* bp,
                           int npad, int32_t* c, int ldc, int n_left) {
  const hn::ScalableTag<int32_t> d32;
  const hn::Repartition<int16_t, decltype(d32)> d16;
  const size_t lanes = hn::Lanes(d32);
  hn::Vec<decltype(d32)> acc[R][J], odd[R][J];
  for (int r = 0; r < R; ++r)
    for (int v = 0; v < J; ++v) acc[r][v] = odd[r][v] = hn::Zero(d32);
  for (int q = 0; q < kp; ++q) {
    hn::Vec<decltype(d16)> bv[J];
    for (int v = 0; v < J; ++v) {
      bv[v] = hn::BitCast(
          d16, hn::Load(d32, bp + static_cast<size_t>(q) * npad + v * lanes));
    }
    for (int r = 0; r < R; ++r) {
      const auto av =
          hn::BitCast(d16, hn::Set(d32, ap[static_cast<size_t>(r) * kp + q]));
      for (int v = 0; v < J; ++v) {
        acc[r][v] = WidenMulAcc(d32, av, bv[v], acc[r][v], odd[r][v]);
      }
    }
  }
  for (int r = 0; r < R; ++r) {
    for (int v = 0; v < J; ++v) {
      const auto total = hn::RearrangeToOddPlusEven(acc[r][v], odd[r][v]);
      int32_t* dst = c + static_cast<size_t>(r) * ldc + v * lanes;
      const int left = n_left - static_cast<int>(v * lanes);
      if (left >= static_cast<int>(lanes)) {
        hn::StoreU(total, d32, dst);
      } else {
        HWY_ALIGN int32_t tmp[hn::MaxLanes(d32)];
        hn::Store(total, d32, tmp);
        for (int t = 0; t < left; ++t) dst[t] = tmp[t];
      }
    }
  }
}

template <int R>
HWY_INLINE void WidenRows(const int32_t* ap, int kp, const int32_t* bp,
                          int npad, int32_t* c, int ldc, int n) {
  const int lanes = static_cast<int>(hn::Lanes(hn::ScalableTag<int32_t>()));
  int j = 0;
  for (; j + 2 * lanes <= npad; j += 2 * lanes)
    WidenBlock<R, 2>(ap, kp, bp + j, npad, c + j, ldc, n - j);
  if (j < npad) WidenBlock<R, 1>(ap, kp, bp + j, npad, c + j, ldc, n - j);
}

// Portable: int16 pairs (k even, k odd) with the widening multiply-add, 4
// rows x 2 vectors per block (11 of the 16 registers of AVX2/SSE4: 8
// accumulators, 2 of B, 1 of A). Both operands are widened to int16 pairs
// once per call in plain loops the compiler vectorises for the target.
HWY_NOINLINE void Int8MatMulWiden(const int8_t* a, int lda, const int8_t* b,
                                  int ldb, int32_t* c, int ldc, int m, int n,
                                  int k) {
  const hn::ScalableTag<int32_t> d32;
  const int lanes = static_cast<int>(hn::Lanes(d32));
  const int kp = (k + 1) / 2;
  const int npad = (n + lanes - 1) / lanes * lanes;
  Int8Scratch& s = Scratch();
  int32_t* bp =
      reinterpret_cast<int32_t*>(s.B(static_cast<size_t>(kp) * npad * 4 + 64));
  // B pair q, column j: low int16 b[2q][j], high b[2q+1][j] (0 past k);
  // columns n..npad are 0.
  for (int q = 0; q < kp; ++q) {
    const int8_t* b0 = b + static_cast<size_t>(2 * q) * ldb;
    const int8_t* b1 = b0 + ldb;
    int32_t* dst = bp + static_cast<size_t>(q) * npad;
    if (2 * q + 1 < k) {
      for (int j = 0; j < n; ++j) {
        dst[j] = static_cast<int32_t>(static_cast<uint16_t>(b0[j]) |
                                      (static_cast<uint32_t>(b1[j]) << 16));
      }
    } else {
      for (int j = 0; j < n; ++j)
        dst[j] = static_cast<int32_t>(static_cast<uint16_t>(b0[j]));
    }
    for (int j = n; j < npad; ++j) dst[j] = 0;
  }
  // A row i: a[i][0..k) as int16 (little-endian pairs), 0 past k.
  s.a.resize(static_cast<size_t>(m) * kp);
  for (int i = 0; i < m; ++i) {
    int16_t* dst =
        reinterpret_cast<int16_t*>(s.a.data() + static_cast<size_t>(i) * kp);
    const int8_t* arow = a + static_cast<size_t>(i) * lda;
    for (int kk = 0; kk < k; ++kk) dst[kk] = arow[kk];
    if (k % 2 != 0) dst[k] = 0;
  }
  int i = 0;
  for (; i + 4 <= m; i += 4) {
    WidenRows<4>(s.a.data() + static_cast<size_t>(i) * kp, kp, bp, npad,
                 c + static_cast<size_t>(i) * ldc, ldc, n);
  }
  for (; i < m; ++i) {
    WidenRows<1>(s.a.data() + static_cast<size_t>(i) * kp, kp, bp, npad,
                 c + static_cast<size_t>(i) * ldc, ldc, n);
  }
}
#endif

HWY_NOINLINE void Int8MatMulT(const int8_t* a, int lda, const int8_t* b,
                              int ldb, int32_t* c, int ldc, int m, int n,
                              int k) {
  if (m <= 0 || n <= 0) return;
  if (k <= 0) {
    for (int i = 0; i < m; ++i)
      for (int j = 0; j < n; ++j) c[static_cast<size_t>(i) * ldc + j] = 0;
    return;
  }
#if HWY_TARGET == HWY_AVX3_DL
  static const bool vnni = __builtin_cpu_supports("avx512vnni");
  if (vnni) return Int8MatMulVnni(a, lda, b, ldb, c, ldc, m, n, k);
#endif
#if HWY_TARGET == HWY_SCALAR
  Int8MatMulReference(a, lda, b, ldb, c, ldc, m, n, k);
#else
  Int8MatMulWiden(a, lda, b, ldb, c, ldc, m, n, k);
#endif
}

#if HWY_TARGET != HWY_SCALAR
// The widening multiply-add's peak loop: 8 chains, each a pmaddwd (x86)
// into its own accumulator add per iteration, the kernel's instruction pair
// (WidenMulAcc). Each chain multiplies a distinct (x, y) pair and the y are
// opaque every iteration: with one shared pair the compiler computes the
// product once per iteration and times 8 adds (main's loop did, issue 15).
// The loop-carried dependency is the 1-cycle add, so 8 chains cover it; 14
// registers fit AVX2/SSE4's 16. Returns ops per iteration.
HWY_NOINLINE double WidenPeakLoop(int64_t iters, int64_t* sink) {
  const hn::ScalableTag<int32_t> d32;
  const hn::Repartition<int16_t, decltype(d32)> d16;
  const hn::Vec<decltype(d16)> x[4] = {hn::Set(d16, 3), hn::Set(d16, 5),
                                       hn::Set(d16, 7), hn::Set(d16, 9)};
  hn::Vec<decltype(d16)> y0 = hn::Set(d16, 11), y1 = hn::Set(d16, 13);
  hn::Vec<decltype(d32)> acc[8], odd[8];
  for (int r = 0; r < 8; ++r) acc[r] = odd[r] = hn::Zero(d32);
  for (int64_t t = 0; t < iters; ++t) {
    for (int r = 0; r < 4; ++r) {
      acc[r] = WidenMulAcc(d32, x[r], y0, acc[r], odd[r]);
      acc[r + 4] = WidenMulAcc(d32, x[r], y1, acc[r + 4], odd[r + 4]);
    }
    // On the raw SIMD register (__m128i/__m256i/__m512i of every x86 target
    // here) with "v" (any SSE/AVX/EVEX register): clang 14 rejects a Highway
    // Vec struct as an operand and a ymm/zmm as "x".
#if HWY_TARGET != HWY_EMU128  // whose raw is an array, not a register
    __asm__ volatile("" : "+v"(y0.raw), "+v"(y1.raw));
#endif
  }
  for (int r = 1; r < 8; ++r) acc[0] = hn::Add(acc[0], hn::Add(acc[r], odd[r]));
  *sink += hn::GetLane(acc[0]);
  return 8.0 * hn::Lanes(d16) * 2;
}
#endif

// One timed run of the int8 peak loop with `chains` (8, 12 or 16)
// independent vpdpbusd accumulators (the widening loop always runs 8);
// returns the ops per iteration (0 on SCALAR).
// The fp64 FMA peak loop: Chains independent MulAdd accumulators of full
// double vectors, the operation the float fast path's exact fractal sums
// run on (FractalBlock). acc = acc x + y converges to y / (1 - x) = 1e-3:
// no overflow, no subnormal. Returns the lanes' sum (kept alive).
template <int Chains>
HWY_NOINLINE double Fp64FmaPeakLoop(int64_t iters) {
  const hn::ScalableTag<double> dd;
  hn::Vec<decltype(dd)> acc[Chains];
  for (int r = 0; r < Chains; ++r) acc[r] = hn::Set(dd, r);
  const auto x = hn::Set(dd, 0.999999), y = hn::Set(dd, 1e-9);
  for (int64_t t = 0; t < iters; ++t) {
    for (int r = 0; r < Chains; ++r) acc[r] = hn::MulAdd(acc[r], x, y);
  }
  auto sum = acc[0];
  for (int r = 1; r < Chains; ++r) sum = hn::Add(sum, acc[r]);
  return hn::GetLane(hn::SumOfLanes(dd, sum));
}

// Ops per iteration of the chosen loop (2 per lane per MulAdd); *sink keeps
// the result alive.
HWY_NOINLINE double Fp64FmaPeakGopsT(int64_t iters, int chains, double* sink) {
  const double per_chain = 2.0 * hn::Lanes(hn::ScalableTag<double>());
  if (chains <= 8) {
    *sink += Fp64FmaPeakLoop<8>(iters);
    return 8 * per_chain;
  }
  if (chains <= 12) {
    *sink += Fp64FmaPeakLoop<12>(iters);
    return 12 * per_chain;
  }
  *sink += Fp64FmaPeakLoop<16>(iters);
  return 16 * per_chain;
}

HWY_NOINLINE double Int8PeakGopsT(int64_t iters, int chains, int64_t* sink) {
#if HWY_TARGET == HWY_AVX3_DL
  static const bool vnni = __builtin_cpu_supports("avx512vnni");
  if (vnni) {
    // ops per iteration: chains instr x 64 MACs x 2
    if (chains <= 8) {
      *sink += VnniPeakLoop<8>(iters);
      return 8.0 * 64 * 2;
    }
    if (chains <= 12) {
      *sink += VnniPeakLoop<12>(iters);
      return 12.0 * 64 * 2;
    }
    *sink += VnniPeakLoop<16>(iters);
    return 16.0 * 64 * 2;
  }
#endif
#if HWY_TARGET != HWY_SCALAR
  (void)chains;  // 8 cover the widening loop's 1-cycle add (WidenPeakLoop)
  return WidenPeakLoop(iters, sink);
#else
  (void)iters;
  (void)chains;
  (void)sink;
  return 0.0;
#endif
}

// ---------------------------------------------------------------- float

// R rows x J vectors of doubles; see FractalMatUpdate.
template <int R, int J>
HWY_INLINE void FractalBlock(const double* a, int lda, const double* b, int ldb,
                             float* acc, int ldacc, int k, int fractal) {
  const hn::ScalableTag<double> dd;
  const hn::Rebind<float, decltype(dd)> df;
  const size_t lanes = hn::Lanes(dd);
  for (int k0 = 0; k0 < k; k0 += fractal) {
    const int k1 = std::min(k, k0 + fractal);
    hn::Vec<decltype(dd)> s[R][J];
    for (int r = 0; r < R; ++r)
      for (int v = 0; v < J; ++v) s[r][v] = hn::Zero(dd);
    for (int kk = k0; kk < k1; ++kk) {
      hn::Vec<decltype(dd)> bv[J];
      for (int v = 0; v < J; ++v)
        bv[v] = hn::LoadU(dd, b + static_cast<size_t>(kk) * ldb + v * lanes);
      for (int r = 0; r < R; ++r) {
        const auto av = hn::Set(dd, a[static_cast<size_t>(r) * lda + kk]);
        for (int v = 0; v < J; ++v) s[r][v] = hn::MulAdd(av, bv[v], s[r][v]);
      }
    }
    for (int r = 0; r < R; ++r) {
      for (int v = 0; v < J; ++v) {
        float* p = acc + static_cast<size_t>(r) * ldacc + v * lanes;
        hn::StoreU(hn::Add(hn::LoadU(df, p), DemoteToFp32(df, s[r][v])), df, p);
      }
    }
  }
}

template <int R>
HWY_INLINE void FractalRows(const double* a, int lda, const double* b, int ldb,
                            float* acc, int ldacc, int n, int k, int fractal) {
  const hn::ScalableTag<double> dd;
  const int lanes = static_cast<int>(hn::Lanes(dd));
  int j = 0;
  for (; j + 4 * lanes <= n; j += 4 * lanes) {
    FractalBlock<R, 4>(a, lda, b + j, ldb, acc + j, ldacc, k, fractal);
  }
  for (; j + lanes <= n; j += lanes) {
    FractalBlock<R, 1>(a, lda, b + j, ldb, acc + j, ldacc, k, fractal);
  }
  if (j < n) {
    FractalMatUpdateReference(a, lda, b + j, ldb, acc + j, ldacc, R, n - j, k,
                              fractal);
  }
}

HWY_NOINLINE void FractalMatUpdateT(const double* a, int lda, const double* b,
                                    int ldb, float* acc, int ldacc, int m,
                                    int n, int k, int fractal) {
  int i = 0;
#if HWY_TARGET <= HWY_AVX3
  // 32 vector registers: 4 rows x 4 vectors of sums, 4 of B, 1 of A.
  for (; i + 4 <= m; i += 4) {
    FractalRows<4>(a + static_cast<size_t>(i) * lda, lda, b, ldb,
                   acc + static_cast<size_t>(i) * ldacc, ldacc, n, k, fractal);
  }
#endif
  for (; i + 2 <= m; i += 2) {
    FractalRows<2>(a + static_cast<size_t>(i) * lda, lda, b, ldb,
                   acc + static_cast<size_t>(i) * ldacc, ldacc, n, k, fractal);
  }
  for (; i < m; ++i) {
    FractalRows<1>(a + static_cast<size_t>(i) * lda, lda, b, ldb,
                   acc + static_cast<size_t>(i) * ldacc, ldacc, n, k, fractal);
  }
}

// R rows x J vectors of columns of the sequential fp32 accumulation; see
// SequentialMatUpdate. Each lane adds its products in k order.
#if HWY_NATIVE_FMA
// One fp32 FMA per product: fma(a, b, acc) = RNE32(acc + a b) exactly, which
// equals the specification's RNE32(RNE64(acc + a b)) (the double rounding is
// innocuous for a sum of two values of <= 24 significant bits,
// sim/cube_simd.h).
template <int R>
HWY_INLINE void SequentialRows(const float* a, int lda, const float* b, int ldb,
                               float* acc, int ldacc, int n, int k) {
  const hn::ScalableTag<float> df;
  const int lanes = static_cast<int>(hn::Lanes(df));
  int j = 0;
  for (; j + 4 * lanes <= n; j += 4 * lanes)
    FmaBlock<float, R, 4>(a, lda, b + j, ldb, acc + j, ldacc, k);
  for (; j + lanes <= n; j += lanes)
    FmaBlock<float, R, 1>(a, lda, b + j, ldb, acc + j, ldacc, k);
  for (; j < n; ++j) {  // remainder columns: the same fp32 FMA, scalar
    for (int r = 0; r < R; ++r) {
      float& out = acc[static_cast<size_t>(r) * ldacc + j];
      for (int kk = 0; kk < k; ++kk) {
        out = std::fma(a[static_cast<size_t>(r) * lda + kk],
                       b[static_cast<size_t>(kk) * ldb + j], out);
      }
    }
  }
}

// Operands as fp32 (exact: the caller's precondition), reused per thread.
struct SequentialScratch {
  std::vector<float> a, b;
};

HWY_NOINLINE void SequentialMatUpdateT(const double* a, int lda,
                                       const double* b, int ldb, float* acc,
                                       int ldacc, int m, int n, int k) {
  static thread_local SequentialScratch scratch;
  scratch.a.resize(static_cast<size_t>(m) * k);
  scratch.b.resize(static_cast<size_t>(k) * n);
  float* af = scratch.a.data();
  float* bf = scratch.b.data();
  for (int i = 0; i < m; ++i)
    for (int kk = 0; kk < k; ++kk)
      af[static_cast<size_t>(i) * k + kk] =
          static_cast<float>(a[static_cast<size_t>(i) * lda + kk]);
  for (int kk = 0; kk < k; ++kk)
    for (int j = 0; j < n; ++j)
      bf[static_cast<size_t>(kk) * n + j] =
          static_cast<float>(b[static_cast<size_t>(kk) * ldb + j]);
  int i = 0;
#if HWY_TARGET <= HWY_AVX3
  // 32 vector registers: 4 rows x 4 vectors of sums, 4 of B, 1 of A.
  for (; i + 4 <= m; i += 4)
    SequentialRows<4>(af + static_cast<size_t>(i) * k, k, bf, n,
                      acc + static_cast<size_t>(i) * ldacc, ldacc, n, k);
#endif
  for (; i + 2 <= m; i += 2)
    SequentialRows<2>(af + static_cast<size_t>(i) * k, k, bf, n,
                      acc + static_cast<size_t>(i) * ldacc, ldacc, n, k);
  for (; i < m; ++i)
    SequentialRows<1>(af + static_cast<size_t>(i) * k, k, bf, n,
                      acc + static_cast<size_t>(i) * ldacc, ldacc, n, k);
}
#else
// No native FMA (an emulated fp32 MulAdd would round the product): the
// specification's own operations in double lanes, a b exact, one rounding to
// double, then to fp32.
template <int J>
HWY_INLINE void SequentialBlockDouble(const double* a, const double* b, int ldb,
                                      float* acc, int k) {
  const hn::ScalableTag<double> dd;
  const hn::Rebind<float, decltype(dd)> df;
  const size_t lanes = hn::Lanes(dd);
  hn::Vec<decltype(dd)> s[J];
  for (int v = 0; v < J; ++v)
    s[v] = hn::PromoteTo(dd, hn::LoadU(df, acc + v * lanes));
  for (int kk = 0; kk < k; ++kk) {
    const auto av = hn::Set(dd, a[kk]);
    for (int v = 0; v < J; ++v) {
      const auto bv =
          hn::LoadU(dd, b + static_cast<size_t>(kk) * ldb + v * lanes);
      s[v] =
          hn::PromoteTo(dd, DemoteToFp32(df, hn::Add(s[v], hn::Mul(av, bv))));
    }
  }
  for (int v = 0; v < J; ++v)
    hn::StoreU(DemoteToFp32(df, s[v]), df, acc + v * lanes);
}

HWY_NOINLINE void SequentialMatUpdateT(const double* a, int lda,
                                       const double* b, int ldb, float* acc,
                                       int ldacc, int m, int n, int k) {
  const hn::ScalableTag<double> dd;
  const int lanes = static_cast<int>(hn::Lanes(dd));
  for (int i = 0; i < m; ++i) {
    const double* a_row = a + static_cast<size_t>(i) * lda;
    float* acc_row = acc + static_cast<size_t>(i) * ldacc;
    int j = 0;
    for (; j + 4 * lanes <= n; j += 4 * lanes)
      SequentialBlockDouble<4>(a_row, b + j, ldb, acc_row + j, k);
    for (; j + lanes <= n; j += lanes)
      SequentialBlockDouble<1>(a_row, b + j, ldb, acc_row + j, k);
    if (j < n)
      SequentialMatUpdateReference(a_row, lda, b + j, ldb, acc_row + j, ldacc,
                                   1, n - j, k);
  }
}
#endif

// Per-element exponents of SpanExponents (sim/cube_simd.h): the lowest
// set bit of the 53-bit significand M is M & -M, a power of two whose
// exponent the int64 -> double conversion exposes exactly.
HWY_NOINLINE bool SpanExponentsT(const double* x, size_t n, int16_t* top,
                                 int16_t* low) {
  const hn::ScalableTag<double> dd;
  const hn::RebindToUnsigned<decltype(dd)> du;
  const hn::RebindToSigned<decltype(dd)> di;
  const hn::Rebind<uint16_t, decltype(dd)> d16;  // two's complement int16
  const size_t lanes = hn::Lanes(dd);
  const auto k_abs = hn::Set(du, ~(uint64_t{1} << 63));
  const auto k_frac = hn::Set(du, (uint64_t{1} << 52) - 1);
  const auto k_implicit = hn::Set(du, uint64_t{1} << 52);
  const auto k_zero_u = hn::Zero(du);
  const auto k_zero_i = hn::Zero(di);
  const auto k_7ff = hn::Set(di, 0x7ff);
  const auto k_1023 = hn::Set(di, 1023);
  const auto k_1075 = hn::Set(di, 1075);
  const auto k_no_top = hn::Set(di, kSpanNoTop);
  const auto k_no_low = hn::Set(di, kSpanNoLow);
  auto bad = hn::Eq(k_zero_i, k_7ff);  // all false
  size_t i = 0;
  for (; i + lanes <= n; i += lanes) {
    const auto a = hn::And(hn::BitCast(du, hn::LoadU(dd, x + i)), k_abs);
    const auto zero = hn::Eq(hn::BitCast(di, a), k_zero_i);
    const auto ebits = hn::BitCast(di, hn::ShiftRight<52>(a));
    bad = hn::Or(bad, hn::Or(hn::Eq(ebits, k_7ff),
                             hn::AndNot(zero, hn::Eq(ebits, k_zero_i))));
    const auto mant = hn::Or(hn::And(a, k_frac), k_implicit);
    const auto lowbit = hn::And(mant, hn::Sub(k_zero_u, mant));
    const auto lowexp =
        hn::BitCast(di, hn::ShiftRight<52>(hn::BitCast(
                            du, hn::ConvertTo(dd, hn::BitCast(di, lowbit)))));
    const auto t = hn::IfThenElse(zero, k_no_top, hn::Sub(ebits, k_1023));
    const auto l = hn::IfThenElse(
        zero, k_no_low,
        hn::Add(hn::Sub(ebits, k_1075), hn::Sub(lowexp, k_1023)));
    hn::StoreU(hn::TruncateTo(d16, hn::BitCast(du, t)), d16,
               reinterpret_cast<uint16_t*>(top + i));
    hn::StoreU(hn::TruncateTo(d16, hn::BitCast(du, l)), d16,
               reinterpret_cast<uint16_t*>(low + i));
  }
  bool ok = hn::AllFalse(di, bad);
  if (i < n) ok = SpanExponentsReference(x + i, n - i, top + i, low + i) && ok;
  return ok;
}

// ------------------------------------------------ integer accumulators

HWY_NOINLINE bool SplitCodesT(const int32_t* HWY_RESTRICT q, size_t n,
                              int8_t* HWY_RESTRICT lo,
                              int8_t* HWY_RESTRICT hi) {
  const hn::ScalableTag<int32_t> d32;
  const hn::Rebind<int8_t, decltype(d32)> d8;
  const size_t lanes = hn::Lanes(d32);
  const auto k128 = hn::Set(d32, 128);
  const auto k255 = hn::Set(d32, 255);
  const auto kmin = hn::Set(d32, -32768);
  const auto kmax = hn::Set(d32, 32767);
  const auto hmin = hn::Set(d32, -128);
  const auto hmax = hn::Set(d32, 127);
  auto bad = hn::Zero(d32);
  size_t i = 0;
  for (; i + lanes <= n; i += lanes) {
    const auto v = hn::LoadU(d32, q + i);
    auto out = hn::Or(hn::Lt(v, kmin), hn::Gt(v, kmax));
    // l in [-128, 127]: the narrowing is exact.
    const auto l = hn::Sub(hn::And(hn::Add(v, k128), k255), k128);
    hn::StoreU(hn::DemoteTo(d8, l), d8, lo + i);
    if (hi != nullptr) {
      const auto h = hn::ShiftRight<8>(hn::Sub(v, l));
      out = hn::Or(out, hn::Or(hn::Lt(h, hmin), hn::Gt(h, hmax)));
      hn::StoreU(hn::DemoteTo(d8, h), d8, hi + i);
    }
    bad = hn::Or(bad, hn::VecFromMask(d32, out));
  }
  bool ok = hn::AllTrue(d32, hn::Eq(bad, hn::Zero(d32)));
  if (i < n) {
    ok = SplitCodesReference(q + i, n - i, lo + i,
                             hi != nullptr ? hi + i : nullptr) &&
         ok;
  }
  return ok;
}

HWY_NOINLINE bool ScaleCodes32T(const int32_t* HWY_RESTRICT c, size_t n,
                                double d, double* HWY_RESTRICT out) {
  const hn::ScalableTag<double> dd;
  const hn::Rebind<int32_t, decltype(dd)> di;
  const size_t lanes = hn::Lanes(dd);
  const auto vd = hn::Set(dd, d);
  const auto hi = hn::Set(di, 1 << 29);
  const auto lo = hn::Set(di, -(1 << 29));
  auto small = hn::Lt(hn::Zero(di), hn::Set(di, 1));  // all true
  size_t i = 0;
  for (; i + lanes <= n; i += lanes) {
    const auto v = hn::LoadU(di, c + i);
    small = hn::And(small, hn::And(hn::Lt(v, hi), hn::Gt(v, lo)));
    hn::StoreU(hn::Mul(hn::PromoteTo(dd, v), vd), dd, out + i);
  }
  bool all_small = hn::AllTrue(di, small);
  for (; i < n; ++i) {
    all_small = all_small && c[i] < (1 << 29) && c[i] > -(1 << 29);
    out[i] = static_cast<double>(c[i]) * d;
  }
  return all_small;
}

// The total in double: every term and partial sum is an integer below 2^49,
// so each operation is exact (sim/cube_simd.h). With a native FMA, the
// product rounded to odd from p = RN(T d) and its exact error
// err = fma(T, d, -p) (representable: T d is a multiple of 2^-149, as d is
// an fp32 value and T an integer, and |err| <= ulp(p) / 2): err = 0 means p
// is exact; otherwise the truncation of T d to 53 bits is p, or the double
// next to p toward zero when err points toward zero, and rounding to odd
// sets its last bit (Boldo & Melquiond 2008). Without a native FMA, lanes
// with |T| >= 2^29 are left to the caller.
HWY_NOINLINE bool ScaleEmulatedCodesT(const int32_t* HWY_RESTRICT ll,
                                      const int32_t* HWY_RESTRICT hh,
                                      const int32_t* HWY_RESTRICT hl,
                                      const int32_t* HWY_RESTRICT lh, size_t n,
                                      double d, double* HWY_RESTRICT out) {
  const hn::ScalableTag<double> dd;
  const hn::Rebind<int32_t, decltype(dd)> di;
  const size_t lanes = hn::Lanes(dd);
  const auto vd = hn::Set(dd, d);
  const auto k16 = hn::Set(dd, 65536.0);
  const auto k8 = hn::Set(dd, 256.0);
#if HWY_NATIVE_FMA
  const hn::RebindToUnsigned<decltype(dd)> du;
  const hn::RebindToSigned<decltype(dd)> ds;
  const auto zero = hn::Zero(dd);
#else
  const auto limit = hn::Set(dd, 536870912.0);          // 2^29
  auto small = hn::Lt(hn::Zero(dd), hn::Set(dd, 1.0));  // all true
#endif
  size_t i = 0;
  for (; i + lanes <= n; i += lanes) {
    const auto cross = hn::Add(hn::PromoteTo(dd, hn::LoadU(di, hl + i)),
                               hn::PromoteTo(dd, hn::LoadU(di, lh + i)));
    const auto total =
        hn::Add(hn::Add(hn::PromoteTo(dd, hn::LoadU(di, ll + i)),
                        hn::Mul(hn::PromoteTo(dd, hn::LoadU(di, hh + i)), k16)),
                hn::Mul(cross, k8));
    const auto p = hn::Mul(total, vd);
#if HWY_NATIVE_FMA
    const auto err = hn::MulAdd(total, vd, hn::Neg(p));
    const auto inexact = hn::RebindMask(du, hn::Ne(err, zero));
    // err and p of opposite signs: |T d| < |p|.
    const auto toward_zero = hn::And(
        inexact,
        hn::RebindMask(du, hn::Lt(hn::BitCast(ds, hn::Xor(hn::BitCast(du, err),
                                                          hn::BitCast(du, p))),
                                  hn::Zero(ds))));
    auto bits = hn::BitCast(du, p);
    bits = hn::Sub(bits, hn::IfThenElseZero(toward_zero, hn::Set(du, 1)));
    bits = hn::Or(bits, hn::IfThenElseZero(inexact, hn::Set(du, 1)));
    hn::StoreU(hn::BitCast(dd, bits), dd, out + i);
#else
    small = hn::And(small, hn::Lt(hn::Abs(total), limit));
    hn::StoreU(p, dd, out + i);
#endif
  }
#if HWY_NATIVE_FMA
  bool all_done = true;
#else
  bool all_done = hn::AllTrue(dd, small);
#endif
  for (; i < n; ++i) {
    const int64_t total = EmulatedTotal(ll[i], hh[i], hl[i], lh[i]);
    all_done = all_done && total < (1 << 29) && total > -(1 << 29);
    out[i] = static_cast<double>(total) * d;
  }
  return all_done;
}

// ---------------------------------------------------------- quantisation

HWY_NOINLINE double AbsMaxFiniteT(const double* x, size_t n) {
  const hn::ScalableTag<double> dd;
  const size_t lanes = hn::Lanes(dd);
  const auto inf = hn::Set(dd, HUGE_VAL);
  auto m0 = hn::Zero(dd), m1 = hn::Zero(dd);
  size_t i = 0;
  for (; i + 2 * lanes <= n; i += 2 * lanes) {
    const auto a0 = hn::Abs(hn::LoadU(dd, x + i));
    const auto a1 = hn::Abs(hn::LoadU(dd, x + i + lanes));
    // NaN and inf fail a0 < inf and are skipped.
    m0 = hn::Max(m0, hn::IfThenElseZero(hn::Lt(a0, inf), a0));
    m1 = hn::Max(m1, hn::IfThenElseZero(hn::Lt(a1, inf), a1));
  }
  for (; i + lanes <= n; i += lanes) {
    const auto a0 = hn::Abs(hn::LoadU(dd, x + i));
    m0 = hn::Max(m0, hn::IfThenElseZero(hn::Lt(a0, inf), a0));
  }
  double amax = hn::GetLane(hn::MaxOfLanes(dd, hn::Max(m0, m1)));
  for (; i < n; ++i) {
    const double a = std::abs(x[i]);
    if (a < HUGE_VAL) amax = std::max(amax, a);
  }
  return amax;
}

template <quant::RoundingMode kMode>
HWY_INLINE void QuantizeCodesMode(const double* HWY_RESTRICT x, size_t n,
                                  float scale, quant::Format format,
                                  int32_t qmax, int32_t* HWY_RESTRICT codes,
                                  quant::EventCounts* events) {
  const hn::ScalableTag<double> dd;
  const hn::Rebind<float, decltype(dd)> df;
  const hn::Rebind<int32_t, decltype(dd)> di;
  const size_t lanes = hn::Lanes(dd);
  const quant::FormatInfo& info = quant::GetFormatInfo(format);
  const auto vs = hn::Set(df, scale);
  const auto limit = hn::Set(df, 4194304.0f);  // 2^22
  const auto half = hn::Set(df, 0.5f);
  const auto fzero = hn::Zero(df);
  const auto izero = hn::Zero(di);
  const auto ione = hn::Set(di, 1);
  const auto lo = hn::Set(di, static_cast<int32_t>(info.min_int));
  const auto hi = hn::Set(di, static_cast<int32_t>(info.max_int));
  const auto qhi = hn::Set(di, qmax);
  const auto qlo = hn::Set(di, -qmax);
  int64_t inexact = 0, saturated = 0;
  size_t i = 0;
  for (; i + lanes <= n; i += lanes) {
    // fp32(x) (cvtpd2ps, RNE) and the one IEEE fp32 division.
    const auto y = hn::Div(DemoteToFp32(df, hn::LoadU(dd, x + i)), vs);
    if (HWY_UNLIKELY(!hn::AllTrue(df, hn::Lt(hn::Abs(y), limit)))) {
      QuantizeCodesReference(x + i, lanes, scale, format, kMode, qmax,
                             codes + i, events);
      continue;
    }
    hn::Vec<decltype(di)> q;
    decltype(hn::Ne(y, y)) inexact_m;
    if (kMode == quant::RoundingMode::kNearestEven) {
      // roundps to nearest-even: the reference's rounding, in one step.
      const auto r = hn::Round(y);
      q = hn::ConvertTo(di, r);
      inexact_m = hn::Ne(r, y);
    } else {
      const auto t = hn::Trunc(y);
      const auto frac = hn::Sub(y, t);  // exact: |y| < 2^22
      const auto afrac = hn::Abs(frac);
      q = hn::ConvertTo(di, t);
      const auto away = hn::IfThenElse(hn::RebindMask(di, hn::Lt(y, fzero)),
                                       hn::Set(di, -1), ione);
      const auto odd = hn::RebindMask(df, hn::Ne(hn::And(q, ione), izero));
      inexact_m = hn::Ne(frac, fzero);
      if (kMode == quant::RoundingMode::kNearestAway) {
        const auto up = hn::Ge(afrac, half);
        q = hn::Add(q, hn::IfThenElseZero(hn::RebindMask(di, up), away));
      } else if (kMode == quant::RoundingMode::kTowardPosInf) {
        q = hn::Add(q, hn::IfThenElseZero(
                           hn::RebindMask(di, hn::Gt(frac, fzero)), ione));
      } else if (kMode == quant::RoundingMode::kTowardNegInf) {
        q = hn::Sub(q, hn::IfThenElseZero(
                           hn::RebindMask(di, hn::Lt(frac, fzero)), ione));
      } else if (kMode == quant::RoundingMode::kToOdd) {
        const auto up = hn::AndNot(odd, inexact_m);
        q = hn::Add(q, hn::IfThenElseZero(hn::RebindMask(di, up), away));
      }
    }
    inexact += static_cast<int64_t>(hn::CountTrue(df, inexact_m));
    // The format's saturation (RoundToInt), then the operand's qmax.
    saturated += static_cast<int64_t>(
        hn::CountTrue(di, hn::Or(hn::Lt(q, lo), hn::Gt(q, hi))));
    q = hn::Min(hn::Max(q, lo), hi);
    saturated += static_cast<int64_t>(
        hn::CountTrue(di, hn::Or(hn::Lt(q, qlo), hn::Gt(q, qhi))));
    q = hn::Min(hn::Max(q, qlo), qhi);
    hn::StoreU(q, di, codes + i);
  }
  events->inexact += inexact;
  events->saturated += saturated;
  if (i < n) {
    QuantizeCodesReference(x + i, n - i, scale, format, kMode, qmax, codes + i,
                           events);
  }
}

HWY_NOINLINE void QuantizeCodesT(const double* x, size_t n, float scale,
                                 quant::Format format, quant::RoundingMode mode,
                                 int32_t qmax, int32_t* codes,
                                 quant::EventCounts* events) {
  switch (mode) {
#define TRISIM_QUANT_CASE(M) \
  case M:                    \
    return QuantizeCodesMode<M>(x, n, scale, format, qmax, codes, events);
    TRISIM_QUANT_CASE(quant::RoundingMode::kNearestEven)
    TRISIM_QUANT_CASE(quant::RoundingMode::kNearestAway)
    TRISIM_QUANT_CASE(quant::RoundingMode::kTowardZero)
    TRISIM_QUANT_CASE(quant::RoundingMode::kTowardPosInf)
    TRISIM_QUANT_CASE(quant::RoundingMode::kTowardNegInf)
    TRISIM_QUANT_CASE(quant::RoundingMode::kToOdd)
#undef TRISIM_QUANT_CASE
    case quant::RoundingMode::kStochastic:
      break;
  }
  QuantizeCodesReference(x, n, scale, format, mode, qmax, codes, events);
}

}  // namespace HWY_NAMESPACE
}  // namespace trisim
HWY_AFTER_NAMESPACE();

#endif  // TRISIM_SIM_CUBE_SIMD_INL_H_
