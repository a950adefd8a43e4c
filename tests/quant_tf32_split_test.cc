// TF32 (cvt.rna.tf32.f32) and split-precision operands (tf32x3, bf16x3)
// against independent references written differently from quant/ and
// sim/cube.cc:
//  - TF32 by the fp32 bit trick: add half a tf32 ulp (0x1000) to the
//    magnitude bits and clear the 13 low bits (round half away from zero;
//    the carry walks into the exponent, also from subnormals and to inf),
//    CUTLASS's round_half_ulp_truncate. bf16 by the nearest-even bit trick
//    (add 0x7FFF plus the lowest kept bit, clear the 16 low bits).
//  - split products by exact integer arithmetic: every value involved is a
//    multiple of 2^-54, held as an __int128 count of 2^-54, summed without
//    rounding and rounded to fp32 by this file's own nearest-even routine.
// Every exponent of fp32 is covered with boundary and random mantissas;
// all 2^32 fp32 inputs are checked by the hidden "[.exhaustive]" case, which
// ctest runs (label "exhaustive") only in a Release build without
// sanitizers (tests/CMakeLists.txt).
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <thread>
#include <vector>

#include "core/status.h"
#include "quant/format.h"
#include "quant/round.h"
#include "quant/round_simd.h"
#include "quant/split.h"
#include "sim/cube.h"
#include "sim/recipe.h"

namespace trisim {
namespace {

using quant::Format;
using quant::RoundingMode;

uint32_t Bits(float f) {
  uint32_t b;
  std::memcpy(&b, &f, 4);
  return b;
}
float FromBits(uint32_t b) {
  float f;
  std::memcpy(&f, &b, 4);
  return f;
}

// Reference cvt.rna.tf32.f32 on fp32 bits (NaN in gives a NaN, checked by
// isnan; inf stays inf).
uint32_t RefTf32(uint32_t bits) {
  if ((bits & 0x7F800000u) == 0x7F800000u) return bits;
  return (bits + 0x1000u) & ~0x1FFFu;
}
// Reference fp32 -> bf16 nearest-even, as an fp32 bit pattern.
uint32_t RefBf16(uint32_t bits) {
  if ((bits & 0x7F800000u) == 0x7F800000u) return bits;
  return (bits + 0x7FFFu + ((bits >> 16) & 1u)) & 0xFFFF0000u;
}

// fp32 inputs: every biased exponent, both signs, boundary mantissas around
// the tf32 and bf16 rounding points, and random ones.
std::vector<uint32_t> EveryExponentInputs(int random_per_exponent) {
  const uint32_t boundary[] = {
      0x000000, 0x000001, 0x000FFF, 0x001000, 0x001001, 0x001FFF, 0x002000,
      0x002FFF, 0x003000, 0x003001, 0x007FFF, 0x008000, 0x008001, 0x00FFFF,
      0x010000, 0x018000, 0x400000, 0x7FE000, 0x7FEFFF, 0x7FF000, 0x7FF001,
      0x7FFFFF, 0x7F8000, 0x7F7FFF, 0x7EFFFF};
  std::mt19937_64 rng(20240611);
  std::vector<uint32_t> out;
  for (uint32_t sign : {0u, 0x80000000u}) {
    for (uint32_t e = 0; e < 256; ++e) {
      for (uint32_t m : boundary) out.push_back(sign | (e << 23) | m);
      for (int r = 0; r < random_per_exponent; ++r) {
        out.push_back(sign | (e << 23) |
                      static_cast<uint32_t>(rng() & 0x7FFFFF));
      }
    }
  }
  return out;
}

constexpr RoundingMode kAllModes[] = {
    RoundingMode::kNearestEven,  RoundingMode::kNearestAway,
    RoundingMode::kTowardZero,   RoundingMode::kTowardPosInf,
    RoundingMode::kTowardNegInf, RoundingMode::kToOdd,
    RoundingMode::kStochastic};

// Checks RoundToFloat, RoundToFloatValue and RoundToFloatValues (SIMD) into
// tf32 for `inputs` under `mode`; returns the number of mismatches.
int64_t CheckTf32(const uint32_t* inputs, size_t n, RoundingMode mode,
                  std::vector<double>* x, std::vector<double>* out,
                  std::vector<uint64_t>* random) {
  quant::FloatRounding r;
  r.mode = mode;
  x->resize(n);
  out->resize(n);
  random->resize(n);
  for (size_t i = 0; i < n; ++i) {
    (*x)[i] = FromBits(inputs[i]);
    (*random)[i] = inputs[i] * 0x9E3779B97F4A7C15ull;
  }
  quant::EventCounts simd_events;
  quant::RoundToFloatValues(x->data(), n, Format::kTf32, r, random->data(),
                            out->data(), &simd_events);
  int64_t bad = 0;
  quant::EventCounts events;
  for (size_t i = 0; i < n; ++i) {
    const uint32_t want = RefTf32(inputs[i]);
    const double want_value = FromBits(want);
    const uint32_t code =
        quant::RoundToFloat((*x)[i], Format::kTf32, r, (*random)[i], &events);
    const double one = quant::RoundToFloatValue((*x)[i], Format::kTf32, r,
                                                (*random)[i], &events);
    const double simd = (*out)[i];
    if (std::isnan(want_value)) {
      bad += !(std::isnan(quant::DecodeFloat(code, Format::kTf32)) &&
               std::isnan(one) && std::isnan(simd));
      continue;
    }
    const bool ok = code == want && Bits(static_cast<float>(one)) == want &&
                    Bits(static_cast<float>(simd)) == want;
    bad += !ok;
  }
  return bad;
}

TEST_CASE("tf32: cvt.rna on every exponent, boundary and random mantissas",
          "[quant][split]") {
  const std::vector<uint32_t> inputs = EveryExponentInputs(256);
  std::vector<double> x, out;
  std::vector<uint64_t> random;
  for (RoundingMode mode : kAllModes) {
    INFO("requested mode " << quant::RoundingModeName(mode));
    // tf32's conversion is nearest-away whatever mode is requested.
    CHECK(CheckTf32(inputs.data(), inputs.size(), mode, &x, &out, &random) ==
          0);
  }
  CHECK(inputs.size() == 2 * 256 * (25 + 256));
}

TEST_CASE("tf32: ties away from zero, events, overflow, and wider inputs",
          "[quant][split]") {
  quant::FloatRounding r;  // nearest-even requested: tf32 ignores it
  quant::EventCounts ev;
  // 1 + 2^-11 is a tie between 1 and 1 + 2^-10: away -> 1 + 2^-10 (RNE
  // would give 1).
  CHECK(quant::RoundToFloatValue(1.0 + 0x1p-11, Format::kTf32, r, 0, &ev) ==
        1.0 + 0x1p-10);
  CHECK(quant::RoundToFloatValue(-1.0 - 0x1p-11, Format::kTf32, r, 0, &ev) ==
        -1.0 - 0x1p-10);
  CHECK(quant::RoundToFloatValue(1.0 + 0x1p-11 - 0x1p-40, Format::kTf32, r, 0,
                                 &ev) == 1.0);
  CHECK(ev.inexact == 3);
  // hf32 keeps the requested mode: the same tie goes to even.
  CHECK(quant::RoundToFloatValue(1.0 + 0x1p-11, Format::kHf32, r, 0, &ev) ==
        1.0);
  // The largest fp32 rounds up past tf32's max finite: inf, counted.
  quant::EventCounts ov;
  CHECK(std::isinf(
      quant::RoundToFloatValue(0x1.fffffep127, Format::kTf32, r, 0, &ov)));
  CHECK(ov.overflowed == 1);
  // Subnormals: 2^-137 is half the min tf32 subnormal 2^-136: away.
  CHECK(quant::RoundToFloatValue(0x1p-137, Format::kTf32, r, 0, &ev) ==
        0x1p-136);
  CHECK(quant::GetFormatInfo(Format::kTf32).max_finite == 0x1.FFCp127);
  CHECK(quant::ParseFormat("tf32") == Format::kTf32);
  CHECK(quant::ConversionRounding(Format::kTf32, r).mode ==
        RoundingMode::kNearestAway);
  CHECK(quant::ConversionRounding(Format::kBf16, r).mode ==
        RoundingMode::kNearestEven);
}

TEST_CASE("tf32: all 2^32 fp32 inputs (Release only)",
          "[quant][split][.exhaustive]") {
  const auto start = std::chrono::steady_clock::now();
  std::atomic<int64_t> bad{0};
  constexpr uint64_t kTotal = uint64_t{1} << 32;
  constexpr uint64_t kBatch = 1 << 16;
  const int threads = 2;  // the shared build machine has two cores
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      std::vector<uint32_t> in(kBatch);
      std::vector<double> x, out;
      std::vector<uint64_t> random;
      for (uint64_t base = t * kBatch; base < kTotal;
           base += threads * kBatch) {
        for (uint64_t i = 0; i < kBatch; ++i) {
          in[i] = static_cast<uint32_t>(base + i);
        }
        bad += CheckTf32(in.data(), kBatch, RoundingMode::kNearestEven, &x,
                         &out, &random);
      }
    });
  }
  for (std::thread& th : pool) th.join();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  std::printf(
      "tf32 exhaustive: %llu fp32 inputs, 3 paths each, %lld mismatches, "
      "%.1f s\n",
      static_cast<unsigned long long>(kTotal), static_cast<long long>(bad),
      seconds);
  CHECK(bad == 0);
}

TEST_CASE("split: tf32x3 and bf16x3 parts on every exponent",
          "[quant][split]") {
  const std::vector<uint32_t> inputs = EveryExponentInputs(64);
  for (quant::OperandSplit split :
       {quant::OperandSplit::kTf32x3, quant::OperandSplit::kBf16x3}) {
    const bool tf32 = split == quant::OperandSplit::kTf32x3;
    int64_t bad = 0, checked = 0;
    for (uint32_t b : inputs) {
      const float x = FromBits(b);
      quant::EventCounts ev;
      const quant::SplitParts p =
          quant::SplitFp32(x, split, quant::FloatRounding{}, 0, 0, &ev);
      const uint32_t hi = tf32 ? RefTf32(b) : RefBf16(b);
      const float hi_f = FromBits(hi);
      if (std::isnan(x)) {
        bad += !(std::isnan(p.hi) && std::isnan(p.lo));
        continue;
      }
      if (std::isinf(hi_f)) {
        // inf - inf = NaN for x = inf; x - inf = -inf when hi overflowed.
        bad += !(p.hi == hi_f &&
                 (std::isinf(x) ? std::isnan(p.lo) : p.lo == x - hi_f));
        continue;
      }
      const float rest = x - hi_f;  // exact in fp32 (split.h)
      if (static_cast<double>(rest) !=
          static_cast<double>(x) - static_cast<double>(hi_f)) {
        FAIL("x - hi not exact for " << x);
      }
      const uint32_t lo = tf32 ? RefTf32(Bits(rest)) : RefBf16(Bits(rest));
      bad += !(Bits(static_cast<float>(p.hi)) == hi &&
               Bits(static_cast<float>(p.lo)) == lo);
      ++checked;
    }
    INFO(quant::OperandSplitName(split) << ": " << checked << " checked");
    CHECK(bad == 0);
    CHECK(checked > 40000);  // 2 x 256 x 89 inputs less NaN and inf
  }
}

// ---------------------------------------------------------------------------
// Split products against exact integer arithmetic.

constexpr int kLsb = -54;  // every value below is a multiple of 2^kLsb

using I128 = __int128;

I128 ToFixed(double v) {
  const double scaled = std::ldexp(v, -kLsb);
  REQUIRE(scaled == std::floor(scaled));  // on the grid
  return static_cast<I128>(scaled);
}

// Nearest-even rounding of n * 2^kLsb to fp32 (normal range only, as the
// inputs below guarantee), returned as a double.
double RefRne32(I128 n) {
  if (n == 0) return 0.0;
  const bool neg = n < 0;
  unsigned __int128 mag = neg ? -static_cast<unsigned __int128>(n)
                              : static_cast<unsigned __int128>(n);
  int len = 0;
  for (unsigned __int128 m = mag; m != 0; m >>= 1) ++len;
  int shift = len > 24 ? len - 24 : 0;
  unsigned __int128 q = mag >> shift;
  if (shift > 0) {
    const unsigned __int128 rem = mag - (q << shift);
    const unsigned __int128 half = static_cast<unsigned __int128>(1)
                                   << (shift - 1);
    if (rem > half || (rem == half && (q & 1))) ++q;
  }
  const double v =
      std::ldexp(static_cast<double>(static_cast<uint64_t>(q)), shift + kLsb);
  return neg ? -v : v;
}

struct RefSplit {
  std::vector<double> hi, lo;
};

RefSplit RefSplitOf(const std::vector<float>& x, bool tf32) {
  RefSplit s;
  for (float v : x) {
    const float hi = FromBits(tf32 ? RefTf32(Bits(v)) : RefBf16(Bits(v)));
    const float rest = v - hi;
    s.hi.push_back(hi);
    s.lo.push_back(FromBits(tf32 ? RefTf32(Bits(rest)) : RefBf16(Bits(rest))));
  }
  return s;
}

// One split term's dot for element (i, j), accumulated from `acc` over K in
// the given order with products exact.
I128 RefDot(I128 acc, const std::vector<double>& a,
            const std::vector<double>& b, int i, int j, int k_total, int n,
            bool fractal, int k0) {
  if (!fractal) {
    for (int k = 0; k < k_total; ++k) {
      const I128 p = ToFixed(a[i * k_total + k]) * ToFixed(b[k * n + j]) >>
                     -kLsb;  // both factors carry 2^-54: product / 2^54
      acc = ToFixed(RefRne32(acc + p));
    }
    return acc;
  }
  for (int k_start = 0; k_start < k_total; k_start += k0) {
    I128 partial = 0;
    for (int k = k_start; k < std::min(k_total, k_start + k0); ++k) {
      partial += ToFixed(a[i * k_total + k]) * ToFixed(b[k * n + j]) >> -kLsb;
    }
    acc = ToFixed(RefRne32(acc + ToFixed(RefRne32(partial))));
  }
  return acc;
}

TEST_CASE("split: tf32x3 / bf16x3 Mmads against exact integer sums",
          "[quant][split]") {
  // fp32 values with |x| in [2^-4, 2^4) (or 0): x, hi and lo are multiples
  // of 2^-27, every product of parts a multiple of 2^-54 (exact in an
  // __int128 count of 2^-54, which the "exact" shift below relies on:
  // 2^-27 * 2^-27 = 2^-54, so a product's count is (a * 2^54)(b * 2^54) /
  // 2^54).
  std::mt19937_64 rng(7);
  auto random_fp32 = [&](std::vector<float>* v, size_t size) {
    v->resize(size);
    for (float& f : *v) {
      if (rng() % 16 == 0) {
        f = 0.0f;
        continue;
      }
      const int e = static_cast<int>(rng() % 8) - 4;
      const uint32_t m = static_cast<uint32_t>(rng() & 0x7FFFFF);
      f = FromBits(((e + 127u) << 23) | m | (rng() & 1 ? 0x80000000u : 0));
    }
  };
  int64_t compared = 0, bad = 0;
  for (quant::OperandSplit split :
       {quant::OperandSplit::kTf32x3, quant::OperandSplit::kBf16x3}) {
    const bool tf32 = split == quant::OperandSplit::kTf32x3;
    for (AccumulationOrder order :
         {AccumulationOrder::kSequential, AccumulationOrder::kFractal}) {
      for (int terms_count : {1, 2}) {
        for (int trial = 0; trial < 6; ++trial) {
          const int m = 4, n = 5, k = 8 + 8 * (trial % 4) + trial / 4;
          CubeConfig config;
          config.operand = quant::GetSplitInfo(split).part;
          config.split = split;
          config.order = order;
          config.scalar = trial % 2 == 0;
          std::vector<std::vector<float>> af(terms_count), bf(terms_count);
          std::vector<CubeOperand> ops;
          ops.reserve(2 * terms_count);
          for (int t = 0; t < terms_count; ++t) {
            random_fp32(&af[t], static_cast<size_t>(m) * k);
            random_fp32(&bf[t], static_cast<size_t>(k) * n);
            std::vector<double> ad(af[t].begin(), af[t].end());
            std::vector<double> bd(bf[t].begin(), bf[t].end());
            ops.push_back(
                PrepareOperand(ad.data(), m, k, k, config, 2 * t, nullptr));
            ops.push_back(
                PrepareOperand(bd.data(), k, n, n, config, 2 * t + 1, nullptr));
          }
          std::vector<CubeTerm> terms;
          for (int t = 0; t < terms_count; ++t) {
            terms.push_back({&ops[2 * t], &ops[2 * t + 1]});
          }
          const double sign = trial % 3 == 0 ? -1.0 : 1.0;
          std::vector<double> out(static_cast<size_t>(m) * n);
          quant::EventCounts ev;
          CubeMatMul(terms, sign, config, Format::kFp32, out.data(), n, 0, &ev);
          const int k0 = config.FractalDepth();
          CHECK(k0 == (tf32 ? 8 : 16));
          for (int i = 0; i < m; ++i) {
            for (int j = 0; j < n; ++j) {
              I128 acc = 0;
              for (int t = 0; t < terms_count; ++t) {
                const RefSplit a = RefSplitOf(af[t], tf32);
                const RefSplit b = RefSplitOf(bf[t], tf32);
                const bool fractal = order == AccumulationOrder::kFractal;
                // Triton's order: lo*hi, hi*lo, hi*hi from zero; then + C.
                I128 dot = RefDot(0, a.lo, b.hi, i, j, k, n, fractal, k0);
                dot = RefDot(dot, a.hi, b.lo, i, j, k, n, fractal, k0);
                dot = RefDot(dot, a.hi, b.hi, i, j, k, n, fractal, k0);
                acc = ToFixed(RefRne32(dot + acc));
              }
              const double want = sign * RefRne32(acc);
              ++compared;
              if (out[i * n + j] != want) {
                ++bad;
                UNSCOPED_INFO("split " << quant::OperandSplitName(split) << " ("
                                       << i << "," << j << ") got "
                                       << out[i * n + j] << " want " << want);
              }
            }
          }
        }
      }
    }
  }
  CHECK(compared == 2 * 2 * 6 * (1 + 1) * 20);
  CHECK(bad == 0);
}

TEST_CASE("split: NaN of lo*hi + hi*lo is masked before hi*hi (Triton)",
          "[quant][split]") {
  for (quant::OperandSplit split :
       {quant::OperandSplit::kTf32x3, quant::OperandSplit::kBf16x3}) {
    CubeConfig config;
    config.operand = quant::GetSplitInfo(split).part;
    config.split = split;
    // a = [inf], b = [1]: hi_a = inf, lo_a = NaN, lo_b = 0: the first two
    // dots are NaN, masked to +0, then inf * 1 = inf.
    const double a = INFINITY, b = 1.0;
    quant::EventCounts ev;
    CubeOperand oa = PrepareOperand(&a, 1, 1, 1, config, 0, &ev);
    CubeOperand ob = PrepareOperand(&b, 1, 1, 1, config, 1, &ev);
    CHECK(std::isnan(oa.lo[0]));
    double out = 0;
    CubeMatMul({{&oa, &ob}}, 1.0, config, Format::kFp32, &out, 1, 0, &ev);
    CHECK(out == INFINITY);
    // Without the mask the sum would be NaN: the mask is load-bearing.
    CHECK(std::isnan(oa.lo[0] * ob.values[0]));
  }
}

TEST_CASE("split: recipes select it with operand_split", "[quant][split]") {
  const Recipe r = ParseRecipeToml(
      "base = \"fp32\"\noperand = \"tf32\"\noperand_split = \"tf32x3\"\n",
      "t.toml");
  CHECK(r.operand == Format::kTf32);
  CHECK(r.operand_split == quant::OperandSplit::kTf32x3);
  CHECK(r.OperandName() == "tf32x3");
  CHECK(r.ToToml().find("operand_split = \"tf32x3\"") != std::string::npos);
  const Recipe again = ParseRecipeToml(r.ToToml(), "again.toml");
  CHECK(again.operand_split == quant::OperandSplit::kTf32x3);
  // A split base can be turned back into plain operands.
  const Recipe plain = ParseRecipeToml(
      "base = \"tf32x3\"\noperand_split = \"none\"\n", "p.toml");
  CHECK(plain.operand_split == quant::OperandSplit::kNone);
  CHECK(plain.operand == Format::kTf32);
  CHECK(LoadRecipe("bf16x3").operand_split == quant::OperandSplit::kBf16x3);
  CHECK(LoadRecipe("bf16x3").operand == Format::kBf16);
  CHECK_THROWS_WITH(
      ParseRecipeToml("base = \"fp32\"\noperand_split = \"tf32x4\"\n",
                      "bad.toml"),
      Catch::Contains("none, tf32x3, bf16x3"));
  // The parts' format must be the operand format: never silently changed.
  CHECK_THROWS_WITH(
      ParseRecipeToml("base = \"fp32\"\noperand_split = \"tf32x3\"\n",
                      "mismatch.toml"),
      Catch::Contains("operand = \"tf32\""));
}

}  // namespace
}  // namespace trisim
