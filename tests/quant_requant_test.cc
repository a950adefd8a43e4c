// quant/requant and quant/scale against exact rational references (long
// double holds every x * m exactly: |x * m| < 2^62 < 2^64).
#include <catch2/catch.hpp>
#include <cmath>
#include <random>

#include "quant/requant.h"
#include "quant/scale.h"

using namespace trisim::quant;

namespace {

// floor(v) and whether v - floor(v) is >, == or < 1/2, exactly.
long double Floor(long double v) { return std::floor(v); }

// Round to nearest, ties toward +inf (gemmlowp SRDHM as implemented: the
// negative nudge 1 - 2^30 rounds negative ties toward zero).
long double RoundHalfUp(long double v) {
  const long double f = Floor(v);
  return v - f >= 0.5L ? f + 1 : f;
}
// Reference single rounding: floor(x * m / 2^(31 - shift) + 1/2).
int64_t RefSingle(int32_t x, const FixedMultiplier& m) {
  const long double r =
      std::ldexp(static_cast<long double>(x) * m.multiplier, m.shift - 31);
  return static_cast<int64_t>(RoundHalfUp(r));
}

// Reference double rounding: h = round-half-up(x' * m / 2^31) with
// x' = x * 2^max(shift, 0) saturated to int32, then round-half-away(h /
// 2^max(-shift, 0)).
int64_t RefDouble(int32_t x, const FixedMultiplier& m) {
  const int left = std::max(m.shift, 0), right = std::max(-m.shift, 0);
  long double xs = std::ldexp(static_cast<long double>(x), left);
  xs = std::min(std::max(xs, -2147483648.0L), 2147483647.0L);
  if (xs == -2147483648.0L && m.multiplier == INT32_MIN) return INT32_MAX;
  const long double h = RoundHalfUp(std::ldexp(xs * m.multiplier, -31));
  const long double q = std::ldexp(h, -right);
  const long double a = std::fabs(q);
  const long double fa = Floor(a);
  const long double rounded =
      a - fa >= 0.5L ? fa + 1 : fa;  // ties away from zero
  return static_cast<int64_t>(q < 0 ? -rounded : rounded);
}

}  // namespace

TEST_CASE("requant: the known single/double rounding divergence",
          "[quant][requant]") {
  // From the issue: x = 7984, multiplier 1583594044, shift -9.
  const FixedMultiplier m{1583594044, -9};
  CHECK(MultiplyByQuantizedMultiplier(7984, m, FixedRounding::kDouble) == 12);
  CHECK(MultiplyByQuantizedMultiplier(7984, m, FixedRounding::kSingle) == 11);
  CHECK(RefDouble(7984, m) == 12);
  CHECK(RefSingle(7984, m) == 11);
}

TEST_CASE("requant: random and tie cases against the rational reference",
          "[quant][requant]") {
  std::mt19937_64 rng(1);
  std::vector<std::pair<int32_t, FixedMultiplier>> cases;
  for (int i = 0; i < 200000; ++i) {
    const int32_t x = static_cast<int32_t>(rng());
    const int32_t mult = static_cast<int32_t>((1u << 30) + rng() % (1u << 30));
    const int shift = static_cast<int>(rng() % 40) - 31;  // [-31, 8]
    cases.push_back({i % 2 ? x : x >> (rng() % 31), {mult, shift}});
  }
  // Ties: m = 2^30 makes x * m / 2^31 = x / 2 (a tie for odd x); dividing by
  // 2^-shift then gives ties at the second stage too.
  for (int32_t x = -4096; x <= 4096; ++x) {
    for (int shift : {0, -1, -2, -5}) cases.push_back({x, {1 << 30, shift}});
    cases.push_back({x, {(1 << 30) + (1 << 29), -3}});  // 0.75 * 2^-3
  }
  for (int32_t x : {INT32_MIN, INT32_MIN + 1, INT32_MAX, -1, 0, 1}) {
    for (int shift : {-31, -1, 0, 1, 30})
      cases.push_back({x, {INT32_MAX, shift}});
  }
  int64_t mismatches = 0;
  for (const auto& [x, m] : cases) {
    const int64_t single = std::min<int64_t>(
        std::max<int64_t>(RefSingle(x, m), INT32_MIN), INT32_MAX);
    mismatches +=
        MultiplyByQuantizedMultiplier(x, m, FixedRounding::kSingle) != single;
    mismatches += MultiplyByQuantizedMultiplier(x, m, FixedRounding::kDouble) !=
                  RefDouble(x, m);
    if (mismatches > 0 && mismatches < 3) {
      INFO("x=" << x << " m=" << m.multiplier << " shift=" << m.shift);
      CHECK(mismatches == 0);
    }
  }
  CHECK(mismatches == 0);
}

TEST_CASE(
    "requant: QuantizeMultiplier represents r within half a unit of 2^-31",
    "[quant][requant]") {
  std::mt19937_64 rng(2);
  for (int i = 0; i < 10000; ++i) {
    const double r = std::ldexp(0.5 + (rng() >> 11) * 0x1p-54,
                                static_cast<int>(rng() % 60) - 30);
    const FixedMultiplier m = QuantizeMultiplier(r);
    INFO("r=" << r);
    REQUIRE(m.multiplier >= (1 << 30));
    const double back =
        std::ldexp(static_cast<double>(m.multiplier), m.shift - 31);
    CHECK(std::abs(back - r) <= std::ldexp(0.5, m.shift - 31));
  }
  CHECK(QuantizeMultiplier(0).multiplier == 0);
  CHECK(QuantizeMultiplier(1.0).multiplier == (1 << 30));
  CHECK(QuantizeMultiplier(1.0).shift == 1);
  // Carry: a fraction that rounds up to 2^31 renormalises.
  const FixedMultiplier carry = QuantizeMultiplier(1.0 - 0x1p-40);
  CHECK(carry.multiplier == (1 << 30));
  CHECK(carry.shift == 1);
}

TEST_CASE("requant: int32 -> int8/int16 with offset and saturation",
          "[quant][requant]") {
  const FixedMultiplier m = QuantizeMultiplier(0.01);
  for (Format out : {Format::kInt8, Format::kInt16}) {
    const FormatInfo& f = GetFormatInfo(out);
    EventCounts ev;
    int64_t expected_saturations = 0;
    for (int32_t x = -5000000; x <= 5000000; x += 997) {
      const int64_t want = RefDouble(x, m) + 3;
      const int64_t clamped = std::min(std::max(want, f.min_int), f.max_int);
      expected_saturations += clamped != want;
      REQUIRE(RequantizeFixed(x, m, FixedRounding::kDouble, 3, out, &ev) ==
              clamped);
    }
    CHECK(ev.saturated == expected_saturations);
    CHECK(expected_saturations > 0);
  }
}

TEST_CASE(
    "requant: float-scale requant and int32 -> fp16 dequant round the exact "
    "product once",
    "[quant][requant]") {
  // x * s is exact in long double (31 + 24 bits); the reference rounds it with
  // the FPU (double has 53 bits, so go through the exact long double value and
  // compare by neighbours instead).
  std::mt19937_64 rng(3);
  int64_t mismatches = 0;
  for (int i = 0; i < 100000; ++i) {
    const int32_t x = static_cast<int32_t>(rng()) >> (rng() % 31);
    const float s =
        std::ldexp(1.0f + (rng() % (1u << 23)) * 0x1p-23f, -(int)(rng() % 20));
    const long double exact = static_cast<long double>(x) * s;
    EventCounts ev;
    // int8 with RNE: nearbyintl in the default FE_TONEAREST mode, saturated.
    const long double r = std::nearbyint(exact) + (-5);
    const int64_t want =
        static_cast<int64_t>(std::min(std::max(r, -128.0L), 127.0L));
    mismatches += RequantizeFloatScale(x, s, -5, Format::kInt8, IntRounding{},
                                       0, &ev) != want;
    // fp16 with a 10-bit truncated scale: the result must be the fp16
    // neighbour of the exact product that RNE picks (checked by decoding).
    const float st = TruncateMantissa(s, 10);
    const double y = DecodeFloat(
        DequantizeToFloat(x, st, Format::kFp16, FloatRounding{}, 0, &ev),
        Format::kFp16);
    const long double e16 = static_cast<long double>(x) * st;
    if (std::fabs(e16) < 65520 && std::fabs(e16) >= 0x1p-14) {
      const int ex = std::ilogb(static_cast<double>(e16));
      const long double ulp = std::ldexp(1.0L, ex - 10);
      mismatches += std::fabs(y - e16) > ulp / 2;
      const long double q = e16 / ulp;
      if (q - std::floor(q) == 0.5L)
        mismatches += std::fmod(std::fabs(y) / ulp, 2.0L) != 0;
    }
  }
  CHECK(mismatches == 0);
  CHECK(TruncateMantissa(1.0f + 0x1p-10f + 0x1p-11f, 10) == 1.0f + 0x1p-10f);
  CHECK(TruncateMantissa(-3.999f, 10) == -(4.0f - 0x1p-9f));
}

TEST_CASE("scale: computed from amax in fp32, pow2 and asymmetric",
          "[quant][requant]") {
  ScaleSpec spec;
  spec.grid.granularity = Granularity::kTensor;
  // fp32: amax / 127 rounded once in fp32.
  CHECK(ComputeScale(-2.54, 1.0, Format::kInt8, spec).scale == 2.54f / 127.0f);
  spec.mantissa_bits = 10;
  CHECK(ComputeScale(-2.54, 1.0, Format::kInt8, spec).scale ==
        TruncateMantissa(2.54f / 127.0f, 10));
  spec.mantissa_bits = 23;
  // All zero: the smallest normal, so zeros stay zeros.
  CHECK(ComputeScale(0, 0, Format::kInt8, spec).scale == 0x1p-126f);
  // e4m3 target: amax / 448.
  CHECK(ComputeScale(-896, 3, Format::kFp8E4M3, spec).scale == 2.0f);
  spec.kind = ScaleKind::kPow2;
  CHECK(ComputeScale(0, 127, Format::kInt8, spec).scale == 1.0f);
  CHECK(ComputeScale(0, 127.5, Format::kInt8, spec).scale == 2.0f);
  CHECK(ComputeScale(0, 63.5, Format::kInt8, spec).scale == 0.5f);
  spec.kind = ScaleKind::kFp32;
  spec.asymmetric = true;
  const GroupScale a = ComputeScale(-1.0, 3.0, Format::kUInt8, spec);
  CHECK(a.scale == 4.0f / 255.0f);
  CHECK(a.zero_point ==
        static_cast<int32_t>(-std::nearbyint(-1.0f / (4.0f / 255.0f))));
  const GroupScale b =
      ComputeScale(0.5, 3.0, Format::kInt8, spec);  // lo clamps to 0
  CHECK(b.zero_point == -128);
}
