// Bit-accuracy of quant/round against independent references.
//
// Float formats of up to 19 significant code bits (fp16, bf16, hf32, e4m3,
// e5m2) are tested exhaustively: for every pair of neighbouring codes (a, b)
// -- including 0 and the code after the max finite, which is inf or e4m3's
// NaN -- the points a + (b - a) * k / 4, k = 1, 2, 3, both signs, every
// rounding mode, subnormals kept and flushed, overflow IEEE and saturating.
// The reference never splits a value at a quantum (as the code under test
// does): it knows the two neighbours by enumeration and picks one by the
// mode's definition (ties by the code's last bit), with values built from a
// separately written long-double decoder. fp32 is checked against the
// hardware's own double -> float conversion under fesetround.
#include <catch2/catch.hpp>
#include <cfenv>
#include <cmath>
#include <cstring>
#include <random>
#include <thread>
#include <vector>

#include "core/npy.h"
#include "quant/format.h"
#include "quant/round.h"

using namespace trisim::quant;

namespace {

struct Layout {
  int e, m;   // exponent and mantissa bits
  bool fn;    // OCP FN variant (no inf, only all-ones is NaN)
  int shift;  // storage shift
};

Layout LayoutOf(Format f) {
  switch (f) {
    case Format::kFp16:
      return {5, 10, false, 0};
    case Format::kBf16:
      return {8, 7, false, 0};
    case Format::kHf32:
      return {8, 10, false, 13};
    case Format::kFp8E4M3:
      return {4, 3, true, 0};
    case Format::kFp8E5M2:
      return {5, 2, false, 0};
    default:
      return {8, 23, false, 0};
  }
}

// Reference decoder for a magnitude code, written from the IEEE 754 formula
// (-1)^s 2^(E - bias) (1 + F / 2^m), with long double powl.
long double RefValue(uint32_t mag, const Layout& l) {
  const uint32_t field = mag >> l.m, frac = mag & ((1u << l.m) - 1);
  const int bias = (1 << (l.e - 1)) - 1;
  if (field == 0) return frac * std::pow(2.0L, 1 - bias - l.m);
  return (1.0L + frac / std::pow(2.0L, l.m)) *
         std::pow(2.0L, static_cast<int>(field) - bias);
}

uint32_t RefMaxFiniteMag(const Layout& l) {
  return l.fn ? (1u << (l.e + l.m)) - 2 : (((1u << l.e) - 1) << l.m) - 1;
}

// Expected magnitude code for a point strictly between neighbours lo < hi
// (codes lo and lo+1) at k quarters, by the definitions of the modes.
uint32_t RefPick(uint32_t lo, int k, bool negative, RoundingMode mode) {
  const uint32_t hi = lo + 1;
  switch (mode) {
    case RoundingMode::kNearestEven:
      return k < 2 ? lo : k > 2 ? hi : (lo % 2 == 0 ? lo : hi);
    case RoundingMode::kNearestAway:
      return k < 2 ? lo : hi;
    case RoundingMode::kTowardZero:
      return lo;
    case RoundingMode::kTowardPosInf:
      return negative ? lo : hi;
    case RoundingMode::kTowardNegInf:
      return negative ? hi : lo;
    case RoundingMode::kToOdd:
      return lo % 2 == 1 ? lo : hi;
    case RoundingMode::kStochastic:
      break;
  }
  FAIL("unreachable");
  return 0;
}

constexpr RoundingMode kDeterministicModes[] = {
    RoundingMode::kNearestEven,  RoundingMode::kNearestAway,
    RoundingMode::kTowardZero,   RoundingMode::kTowardPosInf,
    RoundingMode::kTowardNegInf, RoundingMode::kToOdd};

// Runs the exhaustive neighbour test for one format; returns the number of
// mismatches (each also reported through INFO/CHECK on the first few).
void ExhaustiveNeighbours(Format format) {
  const Layout l = LayoutOf(format);
  const uint32_t max_mag = RefMaxFiniteMag(l);
  const uint32_t sign_bit = 1u << (l.e + l.m);
  const long double min_normal = RefValue(1u << l.m, l);
  int64_t checked = 0, mismatches = 0;
  for (Subnormals sub : {Subnormals::kKeep, Subnormals::kFlush}) {
    for (FloatOverflow ovf : {FloatOverflow::kIeee, FloatOverflow::kSaturate}) {
      for (uint32_t lo = 0; lo <= max_mag; ++lo) {
        const long double a = RefValue(lo, l);
        // Past the max finite, the next neighbour is the code after it read
        // with an unbounded exponent (IEEE 754 7.4: overflow is judged after
        // rounding as if the exponent range were unbounded): 2^(emax+1) for
        // IEEE formats, 480 for e4m3 (whose code 0x7F is NaN).
        const long double b = RefValue(lo + 1, l);
        for (int k = 0; k < 4; ++k) {
          const long double point = a + (b - a) * k / 4;
          const double x = static_cast<double>(point);
          if (static_cast<long double>(x) != point)
            FAIL("point not exact in double");
          for (bool negative : {false, true}) {
            for (RoundingMode mode : kDeterministicModes) {
              uint32_t want = k == 0 ? lo : RefPick(lo, k, negative, mode);
              if (sub == Subnormals::kFlush && point < min_normal) want = 0;
              if (want > max_mag) {  // overflow
                const bool toward_zero =
                    mode == RoundingMode::kTowardZero ||
                    mode == RoundingMode::kToOdd ||
                    (mode == RoundingMode::kTowardPosInf && negative) ||
                    (mode == RoundingMode::kTowardNegInf && !negative);
                want = (ovf == FloatOverflow::kSaturate || toward_zero)
                           ? max_mag
                           : max_mag + 1;
              }
              want = (want | (negative ? sign_bit : 0)) << l.shift;
              EventCounts ev;
              const uint32_t got =
                  RoundToFloat(negative ? -x : x, format,
                               FloatRounding{mode, sub, ovf}, 0, &ev);
              ++checked;
              if (got != want && ++mismatches <= 5) {
                INFO(FormatName(format)
                     << " lo=" << lo << " k=" << k << " neg=" << negative
                     << " mode=" << RoundingModeName(mode)
                     << " flush=" << (sub == Subnormals::kFlush)
                     << " sat=" << (ovf == FloatOverflow::kSaturate));
                CHECK(got == want);
              }
            }
          }
        }
      }
    }
  }
  INFO(FormatName(format) << ": " << checked << " conversions");
  CHECK(mismatches == 0);
}

}  // namespace

TEST_CASE("round: exhaustive neighbour points, all deterministic modes",
          "[quant][round]") {
  for (Format f :
       {Format::kFp16, Format::kBf16, Format::kFp8E4M3, Format::kFp8E5M2}) {
    SECTION(FormatName(f)) { ExhaustiveNeighbours(f); }
  }
}

TEST_CASE("round: exhaustive neighbour points, hf32 (2^19 codes)",
          "[quant][round][slow]") {
  ExhaustiveNeighbours(Format::kHf32);
}

TEST_CASE("round: stochastic threshold rule on every neighbour point",
          "[quant][round]") {
  // round.h: up iff R < F where F = floor(f * 2^64); at k/4 points F = k *
  // 2^62.
  for (Format format :
       {Format::kFp16, Format::kBf16, Format::kFp8E4M3, Format::kFp8E5M2}) {
    const Layout l = LayoutOf(format);
    const uint32_t max_mag = RefMaxFiniteMag(l);
    int64_t mismatches = 0;
    for (uint32_t lo = 0; lo < max_mag; ++lo) {
      const long double a = RefValue(lo, l), b = RefValue(lo + 1, l);
      for (int k = 1; k < 4; ++k) {
        const double x = static_cast<double>(a + (b - a) * k / 4);
        const uint64_t f = static_cast<uint64_t>(k) << 62;
        EventCounts ev;
        const FloatRounding sr{RoundingMode::kStochastic};
        mismatches += RoundToFloat(x, format, sr, f - 1, &ev) != lo + 1;
        mismatches += RoundToFloat(x, format, sr, f, &ev) != lo;
        mismatches += RoundToFloat(-x, format, sr, f - 1, &ev) !=
                      ((lo + 1) | (1u << (l.e + l.m)));
      }
    }
    INFO(FormatName(format));
    CHECK(mismatches == 0);
  }
}

TEST_CASE(
    "round: decoders agree with the reference and with core/npy on every "
    "code",
    "[quant][round]") {
  for (Format format :
       {Format::kFp16, Format::kBf16, Format::kFp8E4M3, Format::kFp8E5M2}) {
    const Layout l = LayoutOf(format);
    const uint32_t max_mag = RefMaxFiniteMag(l);
    for (uint32_t code = 0; code < (2u << (l.e + l.m)); ++code) {
      const uint32_t mag = code & ((1u << (l.e + l.m)) - 1);
      const double got = DecodeFloat(code, format);
      INFO(FormatName(format) << " code " << code);
      if (mag > max_mag) {
        const bool inf = !l.fn && mag == max_mag + 1;
        CHECK((inf ? std::isinf(got) : std::isnan(got)));
      } else {
        const long double ref = RefValue(mag, l);
        CHECK(got == static_cast<double>(code != mag ? -ref : ref));
      }
      if (format == Format::kFp16 && !std::isnan(got)) {
        CHECK(got == trisim::HalfBitsToDouble(static_cast<uint16_t>(code)));
      }
      if (format == Format::kBf16 && !std::isnan(got)) {
        CHECK(got == trisim::BFloat16BitsToDouble(static_cast<uint16_t>(code)));
      }
    }
  }
}

TEST_CASE("round: fp32 against the FPU's double -> float under fesetround",
          "[quant][round]") {
  struct {
    RoundingMode mode;
    int fe;
  } const cases[] = {{RoundingMode::kNearestEven, FE_TONEAREST},
                     {RoundingMode::kTowardZero, FE_TOWARDZERO},
                     {RoundingMode::kTowardPosInf, FE_UPWARD},
                     {RoundingMode::kTowardNegInf, FE_DOWNWARD}};
  std::mt19937_64 rng(42);
  std::vector<double> xs = {0.0,
                            -0.0,
                            1e-46,
                            0x1p-149,
                            0x1.8p-150,
                            0x1p-150,
                            0x1p-126,
                            0x1.fffffep127,
                            0x1.fffffefffffffp127,
                            0x1.ffffffp127,
                            1e39,
                            -1e39};
  for (int i = 0; i < 200000; ++i) {
    uint64_t bits = rng();
    // Exponents near fp32's range: [-160, 130].
    const uint64_t exp = 1023 - 160 + rng() % 291;
    bits = (bits & 0x800FFFFFFFFFFFFFull) | (exp << 52);
    double x;
    std::memcpy(&x, &bits, 8);
    xs.push_back(x);
  }
  for (const auto& c : cases) {
    int64_t mismatches = 0;
    for (double x : xs) {
      std::fesetround(c.fe);
      volatile double vx = x;
      volatile float ref = static_cast<float>(vx);
      std::fesetround(FE_TONEAREST);
      uint32_t want;
      float r = ref;
      std::memcpy(&want, &r, 4);
      EventCounts ev;
      mismatches +=
          RoundToFloat(x, Format::kFp32, FloatRounding{c.mode}, 0, &ev) != want;
    }
    INFO(RoundingModeName(c.mode));
    CHECK(mismatches == 0);
  }
}

TEST_CASE("round: non-finite inputs and overflow events", "[quant][round]") {
  EventCounts ev;
  const FloatRounding ieee{};
  const double inf = INFINITY, nan = NAN;
  CHECK(RoundToFloat(inf, Format::kFp16, ieee, 0, &ev) == 0x7C00);
  CHECK(RoundToFloat(-inf, Format::kFp16, ieee, 0, &ev) == 0xFC00);
  CHECK((RoundToFloat(nan, Format::kFp16, ieee, 0, &ev) & 0x7E00) ==
        0x7E00);  // quiet NaN
  CHECK(RoundToFloat(inf, Format::kFp8E4M3, ieee, 0, &ev) ==
        0x7F);  // no inf in e4m3
  CHECK(RoundToFloat(-nan, Format::kFp8E4M3, ieee, 0, &ev) == 0xFF);
  CHECK(ev.nonfinite_in == 5);
  const FloatRounding sat{RoundingMode::kNearestEven, Subnormals::kKeep,
                          FloatOverflow::kSaturate};
  CHECK(RoundToFloat(-inf, Format::kBf16, sat, 0, &ev) == 0xFF7F);
  CHECK(RoundToFloat(1e6, Format::kFp8E4M3, sat, 0, &ev) == 0x7E);  // 448
  CHECK(ev.saturated == 2);
  CHECK(RoundToFloat(65520.0, Format::kFp16, ieee, 0, &ev) ==
        0x7C00);  // the tie -> inf
  CHECK(RoundToFloat(65519.99, Format::kFp16, ieee, 0, &ev) == 0x7BFF);
  CHECK(ev.overflowed == 1);
  CHECK(RoundToFloat(1e-300, Format::kHf32, ieee, 0, &ev) == 0);
  CHECK(RoundToFloat(1e-300, Format::kHf32,
                     FloatRounding{RoundingMode::kTowardPosInf}, 0, &ev) ==
        (1u << 13));  // hf32 min subnormal 2^-136, stored as a binary32 word
  CHECK(DecodeFloat(1u << 13, Format::kHf32) == std::ldexp(1.0, -136));
}

namespace {

// Reference integer rounding of n + k/4 by definition.
int64_t RefIntRound(int64_t n, int k, RoundingMode mode) {
  if (k == 0) return n;
  const bool negative = n < 0;  // n + k/4 < 0 iff n < 0 (k in 1..3)
  switch (mode) {
    case RoundingMode::kNearestEven:
      return k < 2 ? n : k > 2 ? n + 1 : (n % 2 == 0 ? n : n + 1);
    case RoundingMode::kNearestAway:
      return k < 2 ? n : k > 2 ? n + 1 : (negative ? n : n + 1);
    case RoundingMode::kTowardZero:
      return negative ? n + 1 : n;
    case RoundingMode::kTowardPosInf:
      return n + 1;
    case RoundingMode::kTowardNegInf:
      return n;
    case RoundingMode::kToOdd:
      return (n % 2 != 0) ? n : n + 1;
    case RoundingMode::kStochastic:
      break;
  }
  return 0;
}

// Wrap modulo 2^bits into the format's range, by __int128 arithmetic.
int64_t RefWrap(__int128 v, const FormatInfo& f) {
  const __int128 span = static_cast<__int128>(1) << f.storage_bits;
  __int128 r = v % span;
  if (r < 0) r += span;
  if (r > f.max_int) r -= span;
  return static_cast<int64_t>(r);
}

}  // namespace

TEST_CASE(
    "round: integers, every quarter point in [-300, 300], int4/int8/uint8",
    "[quant][round]") {
  for (Format format : {Format::kInt4, Format::kInt8, Format::kUInt8}) {
    const FormatInfo& f = GetFormatInfo(format);
    for (IntOverflow ovf : {IntOverflow::kSaturate, IntOverflow::kWrap}) {
      int64_t mismatches = 0;
      for (int64_t n = -300; n <= 300; ++n) {
        for (int k = 0; k < 4; ++k) {
          for (RoundingMode mode : kDeterministicModes) {
            const int64_t r = RefIntRound(n, k, mode);
            const int64_t want =
                ovf == IntOverflow::kSaturate
                    ? std::min(std::max(r, f.min_int), f.max_int)
                    : RefWrap(r, f);
            EventCounts ev;
            const int64_t got =
                RoundToInt(n + k / 4.0, format, IntRounding{mode, ovf}, 0, &ev);
            const bool out = r < f.min_int || r > f.max_int;
            mismatches += got != want;
            mismatches += (ovf == IntOverflow::kSaturate ? ev.saturated
                                                         : ev.wrapped) != out;
            mismatches += ev.inexact != (k != 0);
          }
        }
      }
      INFO(f.name << (ovf == IntOverflow::kWrap ? " wrap" : " saturate"));
      CHECK(mismatches == 0);
    }
  }
}

TEST_CASE("round: every int8 x int8 product into int32, int16, int8 and fp16",
          "[quant][round]") {
  int64_t mismatches = 0;
  for (int a = -128; a < 128; ++a) {
    for (int b = -128; b < 128; ++b) {
      const int p = a * b;
      const Exact e = ExactProduct(ExactFromInt(a), ExactFromInt(b));
      EventCounts ev;
      mismatches += RoundToInt(e, Format::kInt32, IntRounding{}, 0, &ev) != p;
      mismatches += RoundToInt(e, Format::kInt16, IntRounding{}, 0, &ev) != p;
      mismatches += RoundToInt(e, Format::kInt8, IntRounding{}, 0, &ev) !=
                    std::min(127, std::max(-128, p));
      mismatches += RoundToInt(e, Format::kInt8,
                               IntRounding{RoundingMode::kNearestEven,
                                           IntOverflow::kWrap},
                               0, &ev) != static_cast<int8_t>(p);
      // fp16 holds |p| <= 2048 exactly; above, RNE to a multiple of 2, 4 or 8.
      const uint32_t h =
          RoundToFloat(e, Format::kFp16, FloatRounding{}, 0, &ev);
      const double back = DecodeFloat(h, Format::kFp16);
      const int ulp = std::abs(p) >= 8192   ? 8
                      : std::abs(p) >= 4096 ? 4
                      : std::abs(p) >= 2048 ? 2
                                            : 1;
      const double lo = std::floor(static_cast<double>(p) / ulp) * ulp;
      const double rem = p - lo;
      const double want =
          rem * 2 < ulp ? lo
          : rem * 2 > ulp
              ? lo + ulp
              : (static_cast<int64_t>(lo / ulp) % 2 == 0 ? lo : lo + ulp);
      mismatches += back != want;
    }
  }
  CHECK(mismatches == 0);
}

TEST_CASE("round: int16, int32, int48, int64 boundaries, saturate and wrap",
          "[quant][round]") {
  for (Format format :
       {Format::kInt16, Format::kInt32, Format::kInt48, Format::kInt64}) {
    const FormatInfo& f = GetFormatInfo(format);
    const __int128 lo = f.min_int, hi = f.max_int;
    for (__int128 v :
         {lo - 2, lo - 1, lo, lo + 1, static_cast<__int128>(-1),
          static_cast<__int128>(0), hi - 1, hi, hi + 1, hi + 2,
          static_cast<__int128>(1) << 64, -(static_cast<__int128>(1) << 70)}) {
      const double x = static_cast<double>(v);
      if (static_cast<__int128>(x) != v) continue;  // not exact in double
      INFO(f.name << " value " << x);
      for (IntOverflow ovf : {IntOverflow::kSaturate, IntOverflow::kWrap}) {
        EventCounts ev;
        const int64_t got = RoundToInt(
            x, format, IntRounding{RoundingMode::kNearestEven, ovf}, 0, &ev);
        const int64_t want =
            ovf == IntOverflow::kSaturate
                ? static_cast<int64_t>(std::min(std::max(v, lo), hi))
                : RefWrap(v, f);
        CHECK(got == want);
      }
    }
  }
}

TEST_CASE(
    "round: stochastic frequencies within statistical bounds, 1e5 draws per "
    "case",
    "[quant][round]") {
  // P(up) must be k/4 for a point k quarters above the lower neighbour; with
  // n = 1e5 draws the count's standard deviation is sqrt(n p (1-p)) <= 158;
  // allow 5 sigma (false-failure odds ~ 6e-7 per case; the seed is fixed).
  constexpr int kDraws = 100000;
  struct Case {
    Format format;
    double x, lo;
    double p;
  } const cases[] = {
      {Format::kFp16, 1.0 + 0x1p-12, 1.0, 0.25},  // 1/4 ulp above 1
      {Format::kFp16, 1.0 + 0x1p-11, 1.0, 0.5},
      {Format::kFp16, -(1.0 + 3 * 0x1p-12), -1.0,
       0.75},  // magnitude rounds up w.p. 3/4
      {Format::kBf16, 0x1p-133 * 0.5, 0.0, 0.5},  // half the min subnormal
      {Format::kFp8E4M3, 1.0 + 0.125 / 3, 1.0,
       1.0 / 3},  // not a dyadic fraction
      {Format::kInt8, 2.9, 2.0, 0.9},
  };
  for (const Case& c : cases) {
    int up = 0;
    for (int i = 0; i < kDraws; ++i) {
      EventCounts ev;
      const uint64_t r = StochasticBits(7, 3, static_cast<uint64_t>(i));
      double v;
      if (IsFloat(c.format)) {
        v = DecodeFloat(
            RoundToFloat(c.x, c.format,
                         FloatRounding{RoundingMode::kStochastic}, r, &ev),
            c.format);
      } else {
        v = static_cast<double>(RoundToInt(
            c.x, c.format, IntRounding{RoundingMode::kStochastic}, r, &ev));
      }
      up += v != c.lo;
    }
    const double sigma = std::sqrt(kDraws * c.p * (1 - c.p));
    INFO(FormatName(c.format) << " x=" << c.x << " up=" << up);
    CHECK(std::abs(up - kDraws * c.p) <= 5 * sigma);
  }
}

TEST_CASE("round: parse names and list them in errors", "[quant][round]") {
  for (int m = 0; m < kNumRoundingModes; ++m) {
    const RoundingMode mode = static_cast<RoundingMode>(m);
    CHECK(ParseRoundingMode(RoundingModeName(mode)) == mode);
  }
  CHECK(ParseRoundingMode("rne") == RoundingMode::kNearestEven);
  CHECK_THROWS_WITH(
      ParseRoundingMode("nearest"),
      Catch::Contains("--rounding") && Catch::Contains("nearest-even"));
}
