// The cube's fast path (sim/cube_simd.h kernels, PrepareOperand/CubeMatMul
// without `scalar`) against the scalar reference, bit for bit in values and
// event counts, on every compiled Highway target.
#include "sim/cube_simd.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "hwy/highway.h"
#include "hwy/targets.h"
#include "sim/cube.h"
#include "sim/recipe.h"

namespace trisim {
namespace {

bool SameBits(const std::vector<double>& a, const std::vector<double>& b) {
  // Empty vectors may have null data(): memcmp on null is undefined.
  return a.size() == b.size() &&
         (a.empty() ||
          std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0);
}

TEST_CASE("int8 matmul kernel equals the reference on every target",
          "[sim][cube][simd]") {
  std::mt19937 rng(3);
  std::uniform_int_distribution<int> code(-128, 127);
  std::vector<int8_t> a(140 * 140 + 8), b(140 * 140 + 8);
  for (auto& v : a) v = static_cast<int8_t>(code(rng));
  for (auto& v : b) v = static_cast<int8_t>(code(rng));
  // Extremes: every code -128 (the largest |sum|), and a random mix of the
  // two end codes -128 and 127 (the u8 shift of the VNNI kernel maps them to
  // 0 and 255).
  std::vector<int8_t> extreme_a(a.size(), -128), extreme_b(b.size(), -128);
  std::vector<int8_t> ends_a(a.size()), ends_b(b.size());
  for (auto& v : ends_a) v = static_cast<int8_t>(rng() % 2 ? 127 : -128);
  for (auto& v : ends_b) v = static_cast<int8_t>(rng() % 2 ? 127 : -128);
  const std::vector<int8_t>* a_sets[] = {&a, &extreme_a, &ends_a};
  const std::vector<int8_t>* b_sets[] = {&b, &extreme_b, &ends_b};
  for (int64_t target : hwy::SupportedAndGeneratedTargets()) {
    hwy::SetSupportedTargetsForTest(target);
    DYNAMIC_SECTION(hwy::TargetName(target)) {
      // Sizes 0..2N+1 around the vector widths (N = 16, 64), misaligned;
      // k around the VNNI quad (k % 4 = 0..3); m around the 4-row block.
      const int sizes[] = {0,  1,  2,  3,  4,  5,  6,  7,  15,
                           16, 17, 31, 33, 62, 63, 64, 65, 129};
      for (int m : {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 13, 64}) {
        for (int n : sizes) {
          for (int k : sizes) {
            for (int offset : {0, 1, 3}) {
              for (int set = 0; set < 3; ++set) {
                const int8_t* pa = a_sets[set]->data() + offset;
                const int8_t* pb = b_sets[set]->data() + offset;
                const int lda = k + 2, ldb = n + 1, ldc = n + 3;
                std::vector<int32_t> got(static_cast<size_t>(m) * ldc + 1, 7),
                    want(got.size(), 7);
                Int8MatMul(pa, lda, pb, ldb, got.data(), ldc, m, n, k);
                Int8MatMulReference(pa, lda, pb, ldb, want.data(), ldc, m, n,
                                    k);
                INFO("m " << m << " n " << n << " k " << k << " offset "
                          << offset << " set " << set);
                REQUIRE(got == want);
              }
            }
          }
        }
      }
    }
  }
  hwy::SetSupportedTargetsForTest(0);
}

// Operands exactly m x k and k x n (lda = k, ldb = ldc = n), each in its own
// allocation: the kernels read A's quads in place, so a read past the last
// row's k-th byte would show here under ASan or valgrind.
TEST_CASE("int8 matmul kernel reads no byte past its operands",
          "[sim][cube][simd]") {
  std::mt19937 rng(5);
  for (int64_t target : hwy::SupportedAndGeneratedTargets()) {
    hwy::SetSupportedTargetsForTest(target);
    DYNAMIC_SECTION(hwy::TargetName(target)) {
      for (int m : {1, 4, 5}) {
        for (int n : {1, 16, 17}) {
          for (int k : {1, 2, 3, 5, 6, 7, 64, 65}) {
            std::vector<int8_t> a(static_cast<size_t>(m) * k),
                b(static_cast<size_t>(k) * n);
            for (auto& v : a) v = static_cast<int8_t>(rng());
            for (auto& v : b) v = static_cast<int8_t>(rng());
            std::vector<int32_t> got(static_cast<size_t>(m) * n),
                want(got.size());
            Int8MatMul(a.data(), k, b.data(), n, got.data(), n, m, n, k);
            Int8MatMulReference(a.data(), k, b.data(), n, want.data(), n, m, n,
                                k);
            INFO("m " << m << " n " << n << " k " << k);
            REQUIRE(got == want);
          }
        }
      }
    }
  }
  hwy::SetSupportedTargetsForTest(0);
}

// Inputs for the cube: random with a spread of magnitudes, plus extremes
// (inf, NaN, huge, tiny, ties) in some matrices.
std::vector<double> CubeInput(int rows, int cols, int stride, uint64_t seed,
                              bool extreme) {
  REQUIRE(cols <= stride);  // rows of `cols` values, `stride` apart
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  std::vector<double> v(static_cast<size_t>(rows) * stride + 3);
  for (auto& x : v) {
    x = u(rng) * std::ldexp(1.0, static_cast<int>(rng() % 12) - 6);
    if (rng() % 7 == 0) x = 0.0;
  }
  if (extreme && !v.empty()) {
    const double specials[] = {std::numeric_limits<double>::infinity(),
                               -std::numeric_limits<double>::infinity(),
                               std::nan(""),
                               1e30,
                               -7e4,
                               65520.0,
                               0x1p-30,
                               0x1.0008p0,
                               -2.5,
                               3e-8};
    for (double s : specials) v[rng() % v.size()] = s;
  }
  return v;
}

void CheckCube(const Recipe& recipe, quant::RoundingMode mode, int m, int k,
               int n, int offset, bool extreme, uint64_t seed) {
  Recipe r = recipe;
  r.rounding = mode;
  CubeConfig config = CubeConfig::FromRecipe(r, seed, false);
  const int lda = k + 1, ldb = n + 2;
  const std::vector<double> a = CubeInput(m, k, lda, seed, extreme);
  const std::vector<double> b = CubeInput(k, n, ldb, seed + 1, false);
  const std::vector<double> a2 = CubeInput(m, k, lda, seed + 2, false);
  const std::vector<double> b2 = CubeInput(k, n, ldb, seed + 3, extreme);
  quant::EventCounts ev_fast, ev_ref;
  config.scalar = false;
  const CubeOperand fa =
      PrepareOperand(a.data() + offset, m, k, lda, config, 3, &ev_fast);
  const CubeOperand fb =
      PrepareOperand(b.data() + offset, k, n, ldb, config, 4, &ev_fast);
  const CubeOperand fa2 =
      PrepareOperand(a2.data(), m, k, lda, config, 5, &ev_fast);
  const CubeOperand fb2 =
      PrepareOperand(b2.data(), k, n, ldb, config, 6, &ev_fast);
  config.scalar = true;
  const CubeOperand ra =
      PrepareOperand(a.data() + offset, m, k, lda, config, 3, &ev_ref);
  const CubeOperand rb =
      PrepareOperand(b.data() + offset, k, n, ldb, config, 4, &ev_ref);
  const CubeOperand ra2 =
      PrepareOperand(a2.data(), m, k, lda, config, 5, &ev_ref);
  const CubeOperand rb2 =
      PrepareOperand(b2.data(), k, n, ldb, config, 6, &ev_ref);
  INFO("recipe " << r.name << " mode " << quant::RoundingModeName(mode) << " m "
                 << m << " k " << k << " n " << n << " offset " << offset
                 << " extreme " << extreme);
  REQUIRE(SameBits(fa.values, ra.values));
  REQUIRE(fa.codes == ra.codes);
  REQUIRE(fa.scales == ra.scales);
  REQUIRE(SameBits(fb2.values, rb2.values));
  REQUIRE(fb2.codes == rb2.codes);
  REQUIRE(ev_fast == ev_ref);
  for (int terms = 1; terms <= 2; ++terms) {
    for (double sign : {1.0, -1.0}) {
      std::vector<CubeTerm> fast_terms = {{&fa, &fb}}, ref_terms = {{&ra, &rb}};
      if (terms == 2) {
        fast_terms.push_back({&fa2, &fb2});
        ref_terms.push_back({&ra2, &rb2});
      }
      std::vector<double> got(static_cast<size_t>(m) * (n + 1), 9.0),
          want(got.size(), 9.0);
      config.scalar = false;
      CubeMatMul(fast_terms, sign, config, r.storage, got.data(), n + 1, 7,
                 &ev_fast);
      config.scalar = true;
      CubeMatMul(ref_terms, sign, config, r.storage, want.data(), n + 1, 7,
                 &ev_ref);
      INFO("terms " << terms << " sign " << sign);
      REQUIRE(SameBits(got, want));
      REQUIRE(ev_fast == ev_ref);
    }
  }
}

TEST_CASE("cube fast path equals the reference on every target",
          "[sim][cube][simd]") {
  const char* recipes[] = {"fp16",         "bf16",       "fp32",
                           "hf32",         "fp16-acc32", "int8",
                           "int8-block16", "int16-emu",  "int16-acc64"};
  for (int64_t target : hwy::SupportedAndGeneratedTargets()) {
    hwy::SetSupportedTargetsForTest(target);
    DYNAMIC_SECTION(hwy::TargetName(target)) {
      uint64_t seed = 1;
      for (const char* name : recipes) {
        const Recipe recipe = LoadRecipe(name);
        const bool block =
            recipe.operand_scale.granularity == quant::Granularity::kBlock;
        for (int mode = 0; mode < quant::kNumRoundingModes; ++mode) {
          for (int size : {1, 7, 16, 17, 33, 64}) {
            if (block && size % 16 != 0 && size > 16) continue;
            for (bool extreme : {false, true}) {
              CheckCube(recipe, static_cast<quant::RoundingMode>(mode), size,
                        size, size, (size % 3), extreme, ++seed);
            }
          }
          if (!block)
            CheckCube(recipe, static_cast<quant::RoundingMode>(mode), 5, 40, 19,
                      1, false, ++seed);
        }
      }
    }
  }
  hwy::SetSupportedTargetsForTest(0);
}

TEST_CASE("cube sequential fast path equals the reference on every target",
          "[sim][cube][simd]") {
  // The GPU recipes' order (one fp32 rounding per added product) with the
  // operand formats whose products are exact in fp32 (the fast kernel) and
  // fp32 (the reference path).
  std::vector<Recipe> recipes;
  for (const char* name : {"gpu-bf16", "gpu-fp16", "gpu-fp32"}) {
    recipes.push_back(LoadRecipe(name));
    for (quant::Format f :
         {quant::Format::kBf16, quant::Format::kFp16, quant::Format::kFp8E4M3,
          quant::Format::kFp8E5M2, quant::Format::kHf32}) {
      Recipe r = LoadRecipe(name);
      r.operand = f;
      r.name += std::string(" operand ") + quant::FormatName(f);
      recipes.push_back(r);
    }
  }
  for (int64_t target : hwy::SupportedAndGeneratedTargets()) {
    hwy::SetSupportedTargetsForTest(target);
    DYNAMIC_SECTION(hwy::TargetName(target)) {
      uint64_t seed = 100;
      for (const Recipe& recipe : recipes) {
        REQUIRE(recipe.order == AccumulationOrder::kSequential);
        for (int mode = 0; mode < quant::kNumRoundingModes; ++mode) {
          for (int size : {1, 7, 16, 17, 33, 64}) {
            for (bool extreme : {false, true}) {
              CheckCube(recipe, static_cast<quant::RoundingMode>(mode), size,
                        size, size, (size % 3), extreme, ++seed);
            }
          }
          CheckCube(recipe, static_cast<quant::RoundingMode>(mode), 5, 40, 19,
                    1, false, ++seed);
        }
      }
    }
  }
  hwy::SetSupportedTargetsForTest(0);
}

// Values of `bits` significant bits (a 16-bit format's or tf32's), exponents
// from `emin` to `emin + span`, about one in eight a signed zero.
double SequentialValue(std::mt19937_64& rng, int bits, int emin, int span) {
  if (rng() % 8 == 0) return rng() % 2 ? 0.0 : -0.0;
  const int64_t mant = static_cast<int64_t>(rng() % (uint64_t{1} << bits)) |
                       (int64_t{1} << (bits - 1));
  const double x =
      std::ldexp(static_cast<double>(mant),
                 emin + static_cast<int>(rng() % (span + 1)) - (bits - 1));
  return rng() % 2 ? x : -x;
}

TEST_CASE("sequential kernel equals its scalar form on every target",
          "[sim][cube][simd]") {
  // Value ranges: the bulk of a layer, and ranges whose products fall below
  // fp32's subnormals or whose sums overflow fp32 (acc = +-inf, then a
  // product of the other sign: still inf), mixed magnitudes whose sums are
  // not exact in double, and cancellations to signed zeros.
  struct Range {
    int bits, emin, span;
  };
  const Range ranges[] = {{8, -8, 10},    {11, -14, 16}, {8, -133, 40},
                          {11, -80, 160}, {8, 60, 67},   {11, -139, 266},
                          {1, -3, 2}};
  std::mt19937_64 rng(11);
  for (int64_t target : hwy::SupportedAndGeneratedTargets()) {
    hwy::SetSupportedTargetsForTest(target);
    DYNAMIC_SECTION(hwy::TargetName(target)) {
      for (const Range& range : ranges) {
        for (int m : {0, 1, 2, 3, 4, 5, 9}) {
          for (int n : {0, 1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 64, 65, 129}) {
            for (int k : {0, 1, 2, 16, 17, 64}) {
              std::vector<double> a(static_cast<size_t>(m) * (k + 1) + 1),
                  b(static_cast<size_t>(k) * (n + 2) + 1);
              for (auto& x : a)
                x = SequentialValue(rng, range.bits, range.emin, range.span);
              for (auto& x : b)
                x = SequentialValue(rng, range.bits, range.emin, range.span);
              // Accumulators from an earlier term: fp32 values, zeros of
              // both signs.
              std::vector<float> got(static_cast<size_t>(m) * (n + 3) + 1);
              for (auto& x : got) {
                x = static_cast<float>(SequentialValue(
                    rng, 24, std::max(range.emin, -126),
                    std::min(range.span, 127 - std::max(range.emin, -126))));
              }
              std::vector<float> want(got);
              SequentialMatUpdate(a.data() + 1, k + 1, b.data() + 1, n + 2,
                                  got.data(), n + 3, m, n, k);
              SequentialMatUpdateReference(a.data() + 1, k + 1, b.data() + 1,
                                           n + 2, want.data(), n + 3, m, n, k);
              INFO("bits " << range.bits << " emin " << range.emin << " m " << m
                           << " n " << n << " k " << k);
              REQUIRE(std::memcmp(got.data(), want.data(), got.size() * 4) ==
                      0);
            }
          }
        }
      }
    }
  }
  hwy::SetSupportedTargetsForTest(0);
}

TEST_CASE("fractal kernel equals its scalar form on every target",
          "[sim][cube][simd]") {
  std::mt19937_64 rng(9);
  std::uniform_int_distribution<int> mant(-2047, 2047);
  for (int64_t target : hwy::SupportedAndGeneratedTargets()) {
    hwy::SetSupportedTargetsForTest(target);
    DYNAMIC_SECTION(hwy::TargetName(target)) {
      for (int m : {0, 1, 2, 3, 5}) {
        for (int n : {0, 1, 7, 8, 9, 16, 31, 32, 33, 65}) {
          for (int k : {0, 1, 15, 16, 17, 40}) {
            // fp16-like values: 11-bit mantissas, exponents in a narrow band
            // so the double sums are exact (the kernel's precondition).
            std::vector<double> a(static_cast<size_t>(m) * (k + 1) + 1),
                b(static_cast<size_t>(k) * (n + 2) + 1);
            for (auto& x : a)
              x = std::ldexp(mant(rng), static_cast<int>(rng() % 8) - 14);
            for (auto& x : b)
              x = std::ldexp(mant(rng), static_cast<int>(rng() % 8) - 14);
            std::vector<float> got(static_cast<size_t>(m) * (n + 3) + 1, 0.5f),
                want(got);
            FractalMatUpdate(a.data() + 1, k + 1, b.data() + 1, n + 2,
                             got.data(), n + 3, m, n, k, 16);
            FractalMatUpdateReference(a.data() + 1, k + 1, b.data() + 1, n + 2,
                                      want.data(), n + 3, m, n, k, 16);
            INFO("m " << m << " n " << n << " k " << k);
            REQUIRE(std::memcmp(got.data(), want.data(), got.size() * 4) == 0);
          }
        }
      }
    }
  }
  hwy::SetSupportedTargetsForTest(0);
}

TEST_CASE("operand quantisation kernels equal their references on every target",
          "[sim][cube][simd]") {
  std::mt19937_64 rng(11);
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  const double inf = std::numeric_limits<double>::infinity();
  struct Case {
    quant::Format format;
    int32_t qmax;
  };
  const Case cases[] = {{quant::Format::kInt4, 7},
                        {quant::Format::kInt8, 127},
                        {quant::Format::kInt16, 32767},
                        {quant::Format::kInt16, 32639}};
  for (int64_t target : hwy::SupportedAndGeneratedTargets()) {
    hwy::SetSupportedTargetsForTest(target);
    DYNAMIC_SECTION(hwy::TargetName(target)) {
      for (const Case& c : cases) {
        for (int kind = 0; kind < 4; ++kind) {
          // 0 random, 1 ties (k/2 multiples of the scale), 2 extremes,
          // 3 values just past qmax and the format's limits.
          const float scale =
              kind == 1 ? 0.25f
                        : static_cast<float>(std::ldexp(1.0, -5)) * 1.3f;
          std::vector<double> x(2 * 41 + 3);
          for (auto& v : x) {
            switch (kind) {
              case 0:
                v = u(rng) * (c.qmax + 3) * scale;
                break;
              case 1:
                v = (static_cast<int>(rng() % (4 * c.qmax + 9)) - 2 * c.qmax -
                     4) *
                    0.5 * scale;
                break;
              case 2: {
                const double specials[] = {inf,
                                           -inf,
                                           std::nan(""),
                                           1e300,
                                           -1e300,
                                           1e30,
                                           -3e38,
                                           0.0,
                                           -0.0,
                                           5e-324,
                                           0x1p22 * scale,
                                           -0x1p22 * scale,
                                           0x1p23 * scale,
                                           (c.qmax + 0.5) * scale,
                                           -(c.qmax + 0.5) * scale};
                v = rng() % 3 == 0 ? u(rng) * c.qmax * scale
                                   : specials[rng() % (sizeof specials /
                                                       sizeof specials[0])];
                break;
              }
              default:
                v = (c.qmax + static_cast<int>(rng() % 5) - 2 + u(rng)) *
                    scale * (rng() % 2 ? 1 : -1);
                break;
            }
          }
          for (size_t n = 0; n <= 41; ++n) {
            for (size_t offset : {0, 1, 3}) {
              const double* px = x.data() + offset;
              INFO("format " << quant::FormatName(c.format) << " qmax "
                             << c.qmax << " kind " << kind << " n " << n
                             << " offset " << offset);
              const double want_max = AbsMaxFiniteReference(px, n);
              const double got_max = AbsMaxFinite(px, n);
              REQUIRE(std::memcmp(&want_max, &got_max, sizeof got_max) == 0);
              for (int mode = 0; mode < quant::kNumRoundingModes; ++mode) {
                const auto m = static_cast<quant::RoundingMode>(mode);
                if (m == quant::RoundingMode::kStochastic)
                  continue;  // callers use the reference
                std::vector<int32_t> got(n + 1, 5), want(n + 1, 5);
                quant::EventCounts ev_got, ev_want;
                QuantizeCodes(px, n, scale, c.format, m, c.qmax, got.data(),
                              &ev_got);
                QuantizeCodesReference(px, n, scale, c.format, m, c.qmax,
                                       want.data(), &ev_want);
                INFO("mode " << quant::RoundingModeName(m));
                REQUIRE(got == want);
                REQUIRE(ev_got == ev_want);
              }
            }
          }
        }
      }
    }
  }
  hwy::SetSupportedTargetsForTest(0);
}

TEST_CASE("span exponents kernel equals its reference on every target",
          "[sim][cube][simd]") {
  std::mt19937_64 rng(13);
  std::uniform_int_distribution<int> mant(-2047, 2047);
  const double inf = std::numeric_limits<double>::infinity();
  const double specials[] = {0.0,
                             -0.0,
                             1.0,
                             -1.0,
                             0x1p-1022,
                             -0x1p-1022,
                             0x1.fffffffffffffp1023,
                             0x1p-1074,
                             -0x1p-1030,
                             inf,
                             -inf,
                             std::nan(""),
                             65504.0,
                             0x1p-24,
                             0x1.8p-14,
                             3.0,
                             0x1.0000000000001p0};
  for (int64_t target : hwy::SupportedAndGeneratedTargets()) {
    hwy::SetSupportedTargetsForTest(target);
    DYNAMIC_SECTION(hwy::TargetName(target)) {
      for (int kind = 0; kind < 3; ++kind) {
        // 0 fp16-like values and zeros, 1 full 53-bit doubles, 2 with specials.
        std::vector<double> x(2 * 33 + 3);
        for (auto& v : x) {
          if (kind == 0) {
            v = rng() % 5 == 0
                    ? 0.0
                    : std::ldexp(mant(rng), static_cast<int>(rng() % 40) - 30);
          } else if (kind == 1) {
            v = std::ldexp(
                static_cast<double>(rng() >> 11) * (rng() % 2 ? 1 : -1),
                static_cast<int>(rng() % 200) - 100);
          } else {
            v = rng() % 2
                    ? specials[rng() % (sizeof specials / sizeof specials[0])]
                    : std::ldexp(mant(rng), static_cast<int>(rng() % 20) - 10);
          }
        }
        for (size_t n = 0; n <= 33; ++n) {
          for (size_t offset : {0, 1, 3}) {
            const double* px = x.data() + offset;
            std::vector<int16_t> top(n + 1, 7), low(n + 1, 7), top_ref(top),
                low_ref(low);
            const bool ok = SpanExponents(px, n, top.data(), low.data());
            const bool ok_ref =
                SpanExponentsReference(px, n, top_ref.data(), low_ref.data());
            INFO("kind " << kind << " n " << n << " offset " << offset);
            REQUIRE(ok == ok_ref);
            if (ok) {  // outputs are specified only then
              REQUIRE(top == top_ref);
              REQUIRE(low == low_ref);
            }
          }
        }
      }
    }
  }
  hwy::SetSupportedTargetsForTest(0);
}

}  // namespace
TEST_CASE(
    "integer accumulator kernels equal their scalar forms on every target",
    "[sim][cube][simd]") {
  std::mt19937_64 rng(17);
  // Accumulator values of every size, both signs, around the 2^29 bound;
  // four piece accumulators of the emulated int16 product, of any int32
  // size (their total is exact in double up to 2^49), some totals at the
  // bound.
  std::vector<int32_t> c32(300);
  std::vector<int32_t> pieces[4];  // ll, hh, hl, lh
  for (auto& p : pieces) p.resize(300);
  for (size_t i = 0; i < c32.size(); ++i) {
    const int bits = 1 + static_cast<int>(rng() % 30);
    c32[i] = static_cast<int32_t>(rng() >> (64 - bits)) * (rng() & 1 ? 1 : -1);
    // |total| < 2^39 (ScaledRoundToOdd's domain): ll < 2^31, hh < 2^21,
    // hl, lh < 2^28; a third of the elements that large.
    const int most[4] = {31, 21, 28, 28};
    for (int q = 0; q < 4; ++q) {
      const int pb = 1 + static_cast<int>(rng() % (i % 3 == 0 ? most[q] : 14));
      pieces[q][i] =
          static_cast<int32_t>(rng() >> (64 - pb)) * (rng() & 1 ? 1 : -1);
    }
  }
  c32[7] = (1 << 29) - 1;
  c32[8] = -(1 << 29) + 1;
  // Totals 2^29 - 1, 2^29, -(2^29 - 1) and -2^29 from the pieces.
  const int64_t edges[4] = {(int64_t{1} << 29) - 1, int64_t{1} << 29,
                            -(int64_t{1} << 29) + 1, -(int64_t{1} << 29)};
  for (int t = 0; t < 4; ++t) {
    const size_t i = 20 + 10 * t;
    pieces[1][i] = static_cast<int32_t>(edges[t] / 65536);
    pieces[2][i] = 1000;
    pieces[3][i] = -1000;
    pieces[0][i] =
        static_cast<int32_t>(edges[t] - int64_t{pieces[1][i]} * 65536);
    REQUIRE(EmulatedTotal(pieces[0][i], pieces[1][i], pieces[2][i],
                          pieces[3][i]) == edges[t]);
  }
  auto same_bits = [](const std::vector<double>& a,
                      const std::vector<double>& b) {
    return a.size() == b.size() &&
           (a.empty() ||  // memcmp of null pointers is undefined
            std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0);
  };
  for (int64_t target : hwy::SupportedAndGeneratedTargets()) {
    hwy::SetSupportedTargetsForTest(target);
    DYNAMIC_SECTION(hwy::TargetName(target)) {
      for (size_t n : {size_t{0}, size_t{1}, size_t{7}, size_t{8}, size_t{9},
                       size_t{64}, size_t{299}}) {
        for (size_t start : {size_t{0}, size_t{1}}) {
          {
            // Codes in int16 and, at the ends, outside (the bound check).
            std::vector<int32_t> q(300);
            for (size_t i = 0; i < q.size(); ++i) {
              q[i] = static_cast<int32_t>(rng() % 65279) - 32639;
            }
            q[0] = 40000;
            q[299] = -32769;
            for (bool with_hi : {false, true}) {
              std::vector<int8_t> lo(n), hi(n), lo_r(n), hi_r(n);
              const bool a = SplitCodes(q.data() + start, n, lo.data(),
                                        with_hi ? hi.data() : nullptr);
              const bool b =
                  SplitCodesReference(q.data() + start, n, lo_r.data(),
                                      with_hi ? hi_r.data() : nullptr);
              REQUIRE(a == b);
              if (a) {  // the pieces are specified only then
                REQUIRE(lo == lo_r);
                REQUIRE(hi == hi_r);
              }
            }
          }
          for (double d : {0x1.5p-20, -0x1.fffffep-3, 3.0, 0x1.234566p+5}) {
            std::vector<double> got(n), want(n);
            // Lengths that put a value >= 2^29 in or out of range.
            for (size_t len : {n, n / 2}) {
              const bool a = ScaleCodes(c32.data() + start, len, d, got.data());
              const bool b =
                  ScaleCodesReference(c32.data() + start, len, d, want.data());
              REQUIRE(a == b);
              REQUIRE(same_bits(got, want));
              const int32_t* p[4];
              for (int q = 0; q < 4; ++q) p[q] = pieces[q].data() + start;
              const bool ae = ScaleEmulatedCodes(p[0], p[1], p[2], p[3], len, d,
                                                 got.data());
              const bool be = ScaleEmulatedCodesReference(
                  p[0], p[1], p[2], p[3], len, d, want.data());
              REQUIRE(be);
              if (!ae) {  // no native FMA: the caller's scalar finish
                for (size_t e = 0; e < len; ++e) {
                  const int64_t total =
                      EmulatedTotal(p[0][e], p[1][e], p[2][e], p[3][e]);
                  if (total >= (1 << 29) || total <= -(1 << 29)) {
                    bool exact;
                    got[e] =
                        ScaledRoundToOdd(total, static_cast<float>(d), &exact);
                  }
                }
              }
              REQUIRE(same_bits(got, want));
            }
          }
        }
      }
    }
  }
  hwy::SetSupportedTargetsForTest(0);
}

// Review of issue 15's fast paths: a fractal sum beyond FLT_MAX. The
// reference rounds it to inf (IEEE overflow of RNE32); Highway's SCALAR and
// EMU128 DemoteTo(double -> float) saturates to +-FLT_MAX instead (hwy
// scalar-inl.h / emu128-inl.h "Prevent ubsan errors"), which
// SequentialMatUpdateT avoids but FractalBlock (sim/cube_simd-inl.h) does
// not. Seen end to end: `mch` under bf16 with rounding toward-zero on
// uniform:1 x 300 inputs, step "matmul Y = L^16": SCALAR target 0x1.fep+127
// where --scalar gives inf.
TEST_CASE(
    "fractal kernel rounds an overflowing fractal sum to inf on every "
    "target",
    "[sim][cube][simd]") {
  const int m = 3, n = 5, k = 4, fractal = 4;
  std::vector<double> a(static_cast<size_t>(m) * k, 0x1p100),
      b(static_cast<size_t>(k) * n, 0x1p100);
  b[1] = -0x1p100;  // column 1: -inf
  for (int64_t target : hwy::SupportedAndGeneratedTargets()) {
    hwy::SetSupportedTargetsForTest(target);
    DYNAMIC_SECTION(hwy::TargetName(target)) {
      std::vector<float> got(static_cast<size_t>(m) * n, 0.0f),
          want(got.size(), 0.0f);
      FractalMatUpdate(a.data(), k, b.data(), n, got.data(), n, m, n, k,
                       fractal);
      FractalMatUpdateReference(a.data(), k, b.data(), n, want.data(), n, m, n,
                                k, fractal);
      CHECK(std::isinf(want[0]));
      for (size_t e = 0; e < got.size(); ++e) {
        INFO("element " << e << " got " << got[e] << " want " << want[e]);
        CHECK(std::memcmp(&got[e], &want[e], sizeof(float)) == 0);
      }
    }
  }
  hwy::SetSupportedTargetsForTest(0);
}

// The same DemoteTo saturation in QuantizeCodesT (sim/cube_simd-inl.h:
// fp32(x) by DemoteTo): on SCALAR/EMU128 an inf operand value becomes
// FLT_MAX, whose quotient by a large scale (1e36) passes the |y| < 2^22
// check, so the lane is quantised as a finite value: the codes agree
// (saturated either way) but the events do not (inexact instead of
// nonfinite_in).
TEST_CASE("operand quantisation of inf with a large scale on every target",
          "[sim][cube][simd]") {
  const std::vector<double> x = {HUGE_VAL, -HUGE_VAL, 1.0,  2.0,
                                 3e38,     -3e38,     1e39, 5.0};
  for (int64_t target : hwy::SupportedAndGeneratedTargets()) {
    hwy::SetSupportedTargetsForTest(target);
    DYNAMIC_SECTION(hwy::TargetName(target)) {
      std::vector<int32_t> got(x.size()), want(x.size());
      quant::EventCounts eg, ew;
      QuantizeCodes(x.data(), x.size(), 1e36f, quant::Format::kInt8,
                    quant::RoundingMode::kNearestEven, 127, got.data(), &eg);
      QuantizeCodesReference(x.data(), x.size(), 1e36f, quant::Format::kInt8,
                             quant::RoundingMode::kNearestEven, 127,
                             want.data(), &ew);
      CHECK(got == want);
      INFO("nonfinite_in " << eg.nonfinite_in << " vs " << ew.nonfinite_in
                           << ", inexact " << eg.inexact << " vs "
                           << ew.inexact);
      CHECK(eg == ew);
    }
  }
  hwy::SetSupportedTargetsForTest(0);
}

}  // namespace trisim

namespace trisim {
namespace {

// Review2 of 854142b (DemoteToFp32): the kernels' double -> fp32
// conversions at their edges, on every target, against the scalar
// references: +-inf, the IEEE RNE overflow threshold 2^128 - 2^103 (inf)
// and the double just below it (FLT_MAX), FLT_MAX, +-0, double and fp32
// subnormals, the fp32 underflow ties, and NaN payloads and signs in the
// accumulator.
double FromBits(uint64_t bits) {
  double v;
  std::memcpy(&v, &bits, sizeof v);
  return v;
}

float FloatFromBits(uint32_t bits) {
  float v;
  std::memcpy(&v, &bits, sizeof v);
  return v;
}

TEST_CASE("fractal kernel converts edge sums as IEEE on every target",
          "[sim][cube][simd]") {
  const double threshold = 0x1.ffffffp127;
  const double flt_max = std::numeric_limits<float>::max();
  // Finite products (a = +-1, k = 1: each fractal sum is b exactly).
  std::vector<double> b = {threshold,
                           std::nextafter(threshold, 0.0),
                           flt_max,
                           std::nextafter(flt_max, HUGE_VAL),
                           0x1p128,
                           1e300,
                           0.0,
                           -0.0,
                           std::numeric_limits<double>::denorm_min(),
                           0x1p-149,
                           0x1.8p-149,
                           0x1p-150,
                           0x1.0000000000001p-150,
                           1.0,
                           3.0000001};
  const size_t count = b.size();
  for (size_t e = 0; e < count; ++e) b.push_back(-b[e]);
  const int n = static_cast<int>(b.size());
  const std::vector<float> inits = {0.0f,
                                    -0.0f,
                                    std::numeric_limits<float>::max(),
                                    -HUGE_VALF,
                                    FloatFromBits(0x7fc01234),
                                    FloatFromBits(0xffc00001)};
  for (const double a : {1.0, -1.0}) {
    for (const float init : inits) {
      for (int64_t target : hwy::SupportedAndGeneratedTargets()) {
        hwy::SetSupportedTargetsForTest(target);
        DYNAMIC_SECTION(hwy::TargetName(target)
                        << " a " << a << " init " << init) {
          std::vector<float> got(n, init), want(n, init);
          FractalMatUpdate(&a, 1, b.data(), n, got.data(), n, 1, n, 1, 4);
          FractalMatUpdateReference(&a, 1, b.data(), n, want.data(), n, 1, n, 1,
                                    4);
          for (int e = 0; e < n; ++e) {
            INFO("b " << b[e] << " got " << got[e] << " want " << want[e]);
            CHECK(std::memcmp(&got[e], &want[e], sizeof(float)) == 0);
          }
        }
      }
      hwy::SetSupportedTargetsForTest(0);
    }
  }
}

TEST_CASE("sequential kernel rounds overflow and edges as IEEE on every target",
          "[sim][cube][simd]") {
  const float fmax = std::numeric_limits<float>::max();
  // (accumulator, b) pairs with fp32 operands (the kernel's precondition);
  // a = +-1 so a b is b. The RNE overflow threshold is FLT_MAX + 2^103 =
  // 2^128 - 2^103 (the midpoint between FLT_MAX = 2^128 - 2^104 and 2^128):
  // FLT_MAX + 2^103 is inf, FLT_MAX + (2^103 - 2^79) rounds to FLT_MAX.
  const std::vector<std::pair<float, float>> pairs = {
      {fmax, 0x1p104f},
      {fmax, 0x1p103f},
      {fmax, 0x1.fffffep102f},
      {fmax, 0x1.fffffep103f},
      {fmax, 0x1.000002p104f},
      {fmax, fmax},
      {-fmax, -0x1p104f},
      {-fmax, -0x1p103f},
      {-fmax, -0x1.fffffep102f},
      {HUGE_VALF, -fmax},
      {-HUGE_VALF, 1.0f},
      {FloatFromBits(0x7fc01234), 1.0f},
      {FloatFromBits(0xffc00001), -2.0f},
      {-0.0f, -0.0f},
      {0.0f, -0.0f},
      {-0.0f, 0.0f},
      {0x1p-149f, 0x1p-149f},
      {0x1p-149f, -0x1p-149f},
      {-0x1p-126f, 0x1.fffffcp-127f},
      {1.0f, 0x1p-24f},
      {1.0f, 0x1.000002p-24f},
  };
  // Columns repeat the pairs so every lane position and the remainder see
  // each.
  std::vector<float> init;
  std::vector<double> b;
  for (int rep = 0; rep < 3; ++rep) {
    for (const auto& p : pairs) {
      init.push_back(p.first);
      b.push_back(p.second);
    }
    init.push_back(1.0f);  // shift the lane alignment
    b.push_back(2.0);
  }
  const int n = static_cast<int>(b.size());
  for (const double a : {1.0, -1.0}) {
    for (int64_t target : hwy::SupportedAndGeneratedTargets()) {
      hwy::SetSupportedTargetsForTest(target);
      DYNAMIC_SECTION(hwy::TargetName(target) << " a " << a) {
        std::vector<float> got = init, want = init;
        SequentialMatUpdate(&a, 1, b.data(), n, got.data(), n, 1, n, 1);
        SequentialMatUpdateReference(&a, 1, b.data(), n, want.data(), n, 1, n,
                                     1);
        for (int e = 0; e < n; ++e) {
          INFO("acc " << init[e] << " b " << b[e] << " got " << got[e]
                      << " want " << want[e]);
          CHECK(std::memcmp(&got[e], &want[e], sizeof(float)) == 0);
        }
      }
    }
    hwy::SetSupportedTargetsForTest(0);
  }
  // The reference itself: the threshold sum is inf, the one below FLT_MAX.
  float acc[2] = {fmax, fmax};
  const double one = 1.0, edge[2] = {0x1p103, 0x1.fffffep102};
  SequentialMatUpdateReference(&one, 1, edge, 2, acc, 2, 1, 2, 1);
  CHECK(acc[0] == HUGE_VALF);
  CHECK(acc[1] == fmax);
}

TEST_CASE("operand quantisation of edge values on every target",
          "[sim][cube][simd]") {
  const double threshold = 0x1.ffffffp127;
  std::vector<double> x = {FromBits(0x7ff8000000000123),
                           FromBits(0xfff8000000000456),
                           HUGE_VAL,
                           threshold,
                           std::nextafter(threshold, 0.0),
                           std::numeric_limits<float>::max(),
                           1e300,
                           0.0,
                           -0.0,
                           std::numeric_limits<double>::denorm_min(),
                           0x1p-150,
                           1.0,
                           126.5,
                           127.5,
                           -3e38};
  const size_t count = x.size();
  for (size_t e = 0; e < count; ++e) x.push_back(-x[e]);
  for (const float scale : {1e36f, 1.0f, 0x1p-100f, 3e38f}) {
    for (const auto mode : {quant::RoundingMode::kNearestEven,
                            quant::RoundingMode::kTowardZero}) {
      for (int64_t target : hwy::SupportedAndGeneratedTargets()) {
        hwy::SetSupportedTargetsForTest(target);
        DYNAMIC_SECTION(hwy::TargetName(target)
                        << " scale " << scale << " mode "
                        << static_cast<int>(mode)) {
          std::vector<int32_t> got(x.size()), want(x.size());
          quant::EventCounts eg, ew;
          QuantizeCodes(x.data(), x.size(), scale, quant::Format::kInt8, mode,
                        127, got.data(), &eg);
          QuantizeCodesReference(x.data(), x.size(), scale,
                                 quant::Format::kInt8, mode, 127, want.data(),
                                 &ew);
          CHECK(got == want);
          CHECK(eg == ew);
        }
      }
      hwy::SetSupportedTargetsForTest(0);
    }
  }
}

}  // namespace
}  // namespace trisim
