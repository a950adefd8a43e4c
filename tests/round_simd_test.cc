// quant/round_simd.h against the reference quant::RoundToFloat +
// DecodeFloat, bit for bit (values and event counts), on every compiled
// Highway target.
#include "quant/round_simd.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "hwy/highway.h"
#include "hwy/targets.h"
#include "quant/round.h"

namespace trisim::quant {
namespace {

uint64_t Bits(double x) {
  uint64_t b;
  std::memcpy(&b, &x, sizeof b);
  return b;
}

// Random and extreme inputs: every binade from subnormal doubles to
// overflow, ties and near-ties of every target format, specials.
std::vector<double> Inputs(uint64_t seed, size_t count) {
  std::mt19937_64 rng(seed);
  std::vector<double> v = {
      0.0, -0.0, std::numeric_limits<double>::infinity(),
      -std::numeric_limits<double>::infinity(), std::nan(""),
      -std::nan("0x123"), std::numeric_limits<double>::denorm_min(),
      -std::numeric_limits<double>::min(), std::numeric_limits<double>::max(),
      65504.0, 65520.0, -65519.999, 0x1p-24, 0x1p-25, 0x1.8p-25, 0x1p-149,
      0x1p-150, 0x1.8p-150, 0x1p127, 0x1.fffffep127, 0x1.ffffffp127, 3e38,
      // fp32 ties: subnormal, at the normal boundary, large
      0x1.8p-149, -0x1.4p-148, 0x1.fffffep-127, 0x1.000001p-126, 0x1.0000018p0,
      -0x1.fffffe8p126};
  while (v.size() < count) {
    const int kind = static_cast<int>(rng() % 4);
    double x;
    if (kind == 0) {  // any double bit pattern
      const uint64_t b = rng();
      std::memcpy(&x, &b, sizeof x);
    } else if (kind == 1) {  // exponents around the formats' ranges
      const int e = static_cast<int>(rng() % 360) - 180;
      x = std::ldexp(1.0 + static_cast<double>(rng() >> 11) * 0x1p-53, e);
    } else {  // ties and near-ties: few significant bits
      const int bits = kind == 2 ? 12 : 26;
      const int e = static_cast<int>(rng() % 80) - 40;
      x = std::ldexp(static_cast<double>(rng() >> (64 - bits)), e - bits);
      x += (rng() % 3 == 0) ? std::ldexp(1.0, e - 60) : 0.0;
    }
    if (rng() & 1) x = -x;
    v.push_back(x);
  }
  // Ties of 11- and 8-bit significands (fp16, bf16) moved by less than an
  // fp32 ulp: an fp32 intermediate rounded to nearest would land on the
  // tie (double rounding); the right answer depends on the offset's sign.
  for (int bits : {11, 8}) {
    for (int t = 0; t < 2000; ++t) {
      const int e = static_cast<int>(rng() % 60) - 30;
      const double m = static_cast<double>((rng() >> (64 - bits)) |
                                           (uint64_t{1} << (bits - 1)));
      const double tie = std::ldexp(2 * m + 1, e - bits);   // odd: a tie
      const int below = 26 + static_cast<int>(rng() % 26);  // < fp32 ulp
      const double offset = std::ldexp(1.0, e - below) * (t % 2 ? 1 : -1);
      v.push_back((t % 4 < 2 ? 1 : -1) * (tie + offset));
    }
  }
  return v;
}

// Every fp16 and bf16 code decoded, and fp32 midpoints between them.
std::vector<double> Exhaustive16() {
  std::vector<double> v;
  for (uint32_t c = 0; c < 65536; ++c) {
    v.push_back(DecodeFloat(c, Format::kFp16));
    v.push_back(DecodeFloat(c, Format::kBf16));
    const double mid = DecodeFloat(c, Format::kFp16) +
                       std::ldexp(1.0, -25 + static_cast<int>(c % 40));
    v.push_back(mid);
  }
  return v;
}

void CheckRange(const std::vector<double>& in, size_t start, size_t n,
                Format format, const FloatRounding& r) {
  std::vector<uint64_t> random(in.size());
  for (size_t i = 0; i < random.size(); ++i)
    random[i] = StochasticBits(7, 3, i);
  std::vector<double> got(n + 1, 1.0), want(n);
  EventCounts got_events, want_events;
  RoundToFloatValues(in.data() + start, n, format, r, random.data() + start,
                     got.data(), &got_events);
  for (size_t i = 0; i < n; ++i) {
    want[i] = RoundToFloatValueReference(in[start + i], format, r,
                                         random[start + i], &want_events);
    if (Bits(got[i]) != Bits(want[i])) {
      INFO("format " << FormatName(format) << " mode "
                     << RoundingModeName(r.mode) << " x = " << in[start + i]
                     << " got " << got[i] << " want " << want[i]);
      CHECK(Bits(got[i]) == Bits(want[i]));
      return;
    }
  }
  CHECK(got[n] == 1.0);  // nothing written past n
  CHECK(got_events == want_events);
  // The one-value path too.
  EventCounts one_events;
  for (size_t i = 0; i < n; ++i) {
    const double y = RoundToFloatValue(in[start + i], format, r,
                                       random[start + i], &one_events);
    if (Bits(y) != Bits(want[i])) {
      INFO("one value: x = " << in[start + i]);
      CHECK(Bits(y) == Bits(want[i]));
      return;
    }
  }
  CHECK(one_events == want_events);
}

const Format kFormats[] = {Format::kFp32, Format::kFp16,    Format::kBf16,
                           Format::kHf32, Format::kFp8E5M2, Format::kFp8E4M3};

TEST_CASE("SIMD rounding equals the reference on every target",
          "[quant][round][simd]") {
  const std::vector<double> random_inputs = Inputs(42, 20000);
  const std::vector<double> exhaustive = Exhaustive16();
  for (int64_t target : hwy::SupportedAndGeneratedTargets()) {
    hwy::SetSupportedTargetsForTest(target);
    DYNAMIC_SECTION(hwy::TargetName(target)) {
      for (Format format : kFormats) {
        for (int m = 0; m < kNumRoundingModes; ++m) {
          for (FloatOverflow overflow :
               {FloatOverflow::kIeee, FloatOverflow::kSaturate}) {
            FloatRounding r;
            r.mode = static_cast<RoundingMode>(m);
            r.overflow = overflow;
            CheckRange(random_inputs, 0, random_inputs.size(), format, r);
            // Sizes 0..2N+1 at misaligned starts.
            for (size_t n = 0; n <= 2 * 8 + 1; ++n) {
              for (size_t start : {size_t{1}, size_t{3}, size_t{5}}) {
                CheckRange(random_inputs, start, n, format, r);
              }
            }
            if (format != Format::kFp8E4M3) {
              CheckRange(exhaustive, 1, exhaustive.size() - 1, format, r);
            }
          }
          FloatRounding flush;
          flush.mode = static_cast<RoundingMode>(m);
          flush.subnormals_out = Subnormals::kFlush;
          CheckRange(random_inputs, 1, 999, format, flush);
        }
      }
    }
  }
  hwy::SetSupportedTargetsForTest(0);
}

// Every finite value of `format`: all codes of formats of <= 16 bits held
// in the low bits; for wider ones (fp32, hf32, tf32) the extremes and many
// random doubles rounded into the format.
std::vector<double> FiniteValues(Format format) {
  const FormatInfo& f = GetFormatInfo(format);
  std::vector<double> v;
  if (f.storage_bits <= 16 && f.storage_shift == 0) {
    for (uint32_t c = 0; c < (1u << f.storage_bits); ++c) {
      const double x = DecodeFloat(c, format);
      if (std::isfinite(x)) v.push_back(x);
    }
    return v;
  }
  v = {f.max_finite,     -f.max_finite,       f.min_normal, f.min_subnormal,
       -f.min_subnormal, 3 * f.min_subnormal, 0.0,          -0.0};
  EventCounts ignored;
  for (double x : Inputs(7, 50000)) {
    const double y = DecodeFloat(
        RoundToFloat(x, format, FloatRounding{}, 0, &ignored), format);
    if (std::isfinite(y)) v.push_back(y);
  }
  return v;
}

TEST_CASE("RoundingIsIdentity holds exactly where it says so",
          "[quant][round][unit]") {
  const Format formats[] = {Format::kFp32,   Format::kFp16, Format::kBf16,
                            Format::kHf32,   Format::kTf32, Format::kFp8E5M2,
                            Format::kFp8E4M3};
  // The pairs kernels meet, by hand.
  const FloatRounding rne;
  CHECK(RoundingIsIdentity(Format::kFp16, Format::kFp32, rne));
  CHECK(RoundingIsIdentity(Format::kBf16, Format::kFp32, rne));
  CHECK(RoundingIsIdentity(Format::kFp16, Format::kFp16, rne));
  CHECK(RoundingIsIdentity(Format::kFp8E4M3, Format::kFp16, rne));
  CHECK(RoundingIsIdentity(Format::kBf16, Format::kTf32, rne));
  CHECK_FALSE(RoundingIsIdentity(Format::kFp16, Format::kBf16, rne));
  CHECK_FALSE(RoundingIsIdentity(Format::kBf16, Format::kFp16, rne));
  CHECK_FALSE(RoundingIsIdentity(Format::kFp32, Format::kTf32, rne));
  CHECK_FALSE(RoundingIsIdentity(Format::kInt8, Format::kFp32, rne));
  FloatRounding flush;
  flush.subnormals_out = Subnormals::kFlush;
  CHECK_FALSE(RoundingIsIdentity(Format::kFp16, Format::kFp16, flush));
  CHECK(RoundingIsIdentity(Format::kFp16, Format::kFp32, flush));
  for (Format held : formats) {
    const std::vector<double> values = FiniteValues(held);
    for (Format format : formats) {
      for (int m = 0; m < kNumRoundingModes; ++m) {
        for (bool flushing : {false, true}) {
          FloatRounding r;
          r.mode = static_cast<RoundingMode>(m);
          r.overflow = m % 2 ? FloatOverflow::kSaturate : FloatOverflow::kIeee;
          if (flushing) r.subnormals_out = Subnormals::kFlush;
          const bool identity = RoundingIsIdentity(held, format, r);
          // Against the reference: every value rounds to itself with no
          // event exactly when the rule says so.
          bool all_identity = true;
          for (size_t i = 0; i < values.size(); ++i) {
            EventCounts events;
            const double y =
                DecodeFloat(RoundToFloat(values[i], format, r,
                                         0x9e3779b97f4a7c15ull * i, &events),
                            format);
            const bool same =
                Bits(y) == Bits(values[i]) && events == EventCounts{};
            if (identity && !same) {
              INFO(FormatName(held) << " -> " << FormatName(format) << " mode "
                                    << m << " x = " << values[i]);
              CHECK(same);
            }
            all_identity = all_identity && same;
          }
          INFO(FormatName(held) << " -> " << FormatName(format) << " mode " << m
                                << " flush " << flushing);
          CHECK(identity == all_identity);
        }
      }
    }
  }
}

TEST_CASE("AllFinite and CopyFinite on every target", "[quant][round][simd]") {
  for (int64_t target : hwy::SupportedAndGeneratedTargets()) {
    hwy::SetSupportedTargetsForTest(target);
    DYNAMIC_SECTION(hwy::TargetName(target)) {
      for (size_t n = 0; n <= 37; ++n) {
        std::vector<double> x(n + 1);
        // Finite extremes too: max, a double subnormal, -0.
        for (size_t i = 0; i <= n; ++i) x[i] = std::ldexp(1.0 + i, i % 40);
        if (n > 2) x[1] = std::numeric_limits<double>::max();
        if (n > 2) x[2] = std::numeric_limits<double>::denorm_min();
        if (n > 3) x[3] = -0.0;
        x[0] = std::nan("");  // before the range (start 1)
        CHECK(AllFinite(x.data() + 1, n));
        std::vector<double> copy(n + 1, 7.0);
        CHECK(CopyFinite(x.data() + 1, n, copy.data()));
        CHECK(std::memcmp(copy.data(), x.data() + 1, n * sizeof(double)) == 0);
        for (size_t bad = 1; bad <= n; ++bad) {
          for (double special : {std::numeric_limits<double>::infinity(),
                                 -std::numeric_limits<double>::infinity(),
                                 std::nan(""), -std::nan("")}) {
            const double keep = x[bad];
            x[bad] = special;
            CHECK_FALSE(AllFinite(x.data() + 1, n));
            CHECK_FALSE(CopyFinite(x.data() + 1, n, copy.data()));
            CHECK(std::memcmp(copy.data(), x.data() + 1, n * sizeof(double)) ==
                  0);
            x[bad] = keep;
          }
        }
      }
    }
  }
  hwy::SetSupportedTargetsForTest(0);
}

// The kLinComb chain operation by operation with the reference rounding.
double LinCombReference(const std::vector<const double*>& x,
                        const std::vector<double>& coef, size_t i,
                        Format format, const FloatRounding& r,
                        EventCounts* events) {
  auto round = [&](double y) {
    return RoundToFloatValueReference(y, format, r, 0, events);
  };
  double v = round(coef[0] * x[0][i]);
  for (size_t t = 1; t < x.size(); ++t) v = round(v + round(coef[t] * x[t][i]));
  return v;
}

TEST_CASE("LinCombRounded equals the rounded operations on every target",
          "[quant][round][simd]") {
  const FloatRounding rne;
  const std::vector<std::vector<double>> coefs = {{1.0},
                                                  {-1.0},
                                                  {0.5},
                                                  {1.0, -1.0},
                                                  {-1.0, 1.0},
                                                  {1.0, -1.0, -1.0},
                                                  {1.0, 3.0, -0.25},
                                                  {0.0, 1.0},
                                                  {-2.7, 1.3},
                                                  {1.0, 0.1, -1.0},
                                                  {1e30, 1.0}};
  std::mt19937_64 rng(11);
  for (int64_t target : hwy::SupportedAndGeneratedTargets()) {
    hwy::SetSupportedTargetsForTest(target);
    DYNAMIC_SECTION(hwy::TargetName(target)) {
      int covered = 0, declined = 0;
      for (Format format :
           {Format::kFp32, Format::kFp16, Format::kBf16, Format::kHf32}) {
        const FormatInfo& f = GetFormatInfo(format);
        for (const auto& c : coefs) {
          for (size_t n : {size_t{0}, size_t{1}, size_t{7}, size_t{13},
                           size_t{64}, size_t{301}}) {
            for (int scenario = 0; scenario < 4; ++scenario) {
              // Inputs: values of the format (the caller's contract), of
              // moderate size; scenario 1 adds values near the format's
              // max (sums overflow), 2 its subnormals and zeros, 3 an inf
              // or NaN.
              std::vector<std::vector<double>> in(c.size(),
                                                  std::vector<double>(n));
              for (auto& column : in) {
                for (size_t i = 0; i < n; ++i) {
                  int e = static_cast<int>(rng() % 20) - 10;
                  if (scenario == 1 && rng() % 4 == 0) e = f.emax;
                  if (scenario == 2 && rng() % 3 == 0) {
                    e = f.emin - 1 - static_cast<int>(rng() % f.mantissa_bits);
                  }
                  double y = std::ldexp(
                      1.0 + static_cast<double>(rng() >> 11) * 0x1p-53, e);
                  if (scenario == 2 && rng() % 5 == 0) y = 0.0;
                  if (rng() & 1) y = -y;
                  EventCounts ignored;
                  column[i] =
                      RoundToFloatValueReference(y, format, rne, 0, &ignored);
                }
                if (scenario == 3 && n > 0) {
                  column[rng() % n] =
                      rng() & 1 ? std::nan("")
                                : -std::numeric_limits<double>::infinity();
                }
              }
              std::vector<const double*> x;
              for (const auto& column : in) x.push_back(column.data());
              std::vector<double> got(n + 1, 7.0);
              EventCounts got_events;
              got_events.inexact = 5;  // added to, never reset
              const bool ok =
                  LinCombRounded(x.data(), c.data(), c.size(), n, format, rne,
                                 got.data(), &got_events);
              CHECK(got[n] == 7.0);  // nothing written past n
              EventCounts want_events;
              want_events.inexact = 5;
              if (!ok) {
                ++declined;
                CHECK(got_events == want_events);  // nothing added
                continue;
              }
              ++covered;
              for (size_t i = 0; i < n; ++i) {
                const double want =
                    LinCombReference(x, c, i, format, rne, &want_events);
                if (Bits(got[i]) != Bits(want)) {
                  INFO("format " << FormatName(format) << " terms " << c.size()
                                 << " element " << i << " got " << got[i]
                                 << " want " << want);
                  CHECK(Bits(got[i]) == Bits(want));
                  break;
                }
              }
              CHECK(got_events == want_events);
              // Non-finite inputs are never covered.
              CHECK((scenario != 3 || n == 0));
            }
          }
        }
      }
      // Not vacuous: ordinary calls are covered, hard ones declined.
      CHECK(covered > 300);
      CHECK(declined > 50);
    }
  }
  hwy::SetSupportedTargetsForTest(0);
  // Declined whatever the values: other modes, formats with a fixed
  // conversion (tf32 rounds to nearest-away), tiny coefficients, too many
  // terms.
  const double one = 1.0, x0[1] = {1.0};
  const double* x[5] = {x0, x0, x0, x0, x0};
  const double c5[5] = {1, 1, 1, 1, 1};
  double out[1];
  EventCounts events;
  FloatRounding zero;
  zero.mode = RoundingMode::kTowardZero;
  CHECK_FALSE(LinCombRounded(x, &one, 1, 1, Format::kFp32, zero, out, &events));
  CHECK_FALSE(LinCombRounded(x, &one, 1, 1, Format::kTf32, rne, out, &events));
  const double tiny = 0x1p-900;
  CHECK_FALSE(LinCombRounded(x, &tiny, 1, 1, Format::kFp32, rne, out, &events));
  CHECK_FALSE(LinCombRounded(x, c5, 5, 1, Format::kFp32, rne, out, &events));
  CHECK(LinCombRounded(x, c5, 4, 1, Format::kFp32, rne, out, &events));
  CHECK(out[0] == 4.0);
}

}  // namespace
}  // namespace trisim::quant
