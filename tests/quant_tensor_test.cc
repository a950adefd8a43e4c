// quant/tensor: thread independence, event counts, bad-input errors, and a
// hidden throughput measurement ([.bench]) for the scalar path.
#include <catch2/catch.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <random>
#include <vector>

#include "core/status.h"
#include "quant/format.h"
#include "quant/tensor.h"

using namespace trisim::quant;

namespace {

std::vector<double> Random(int64_t n, uint64_t seed, double scale = 1.0) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<double> x(n);
  for (double& v : x)
    v = static_cast<double>(dist(rng) * static_cast<float>(scale));
  return x;
}

}  // namespace

TEST_CASE("tensor: stochastic results and counts identical for 1..8 threads",
          "[quant][tensor]") {
  const int64_t rows = 37, cols = 53;
  const std::vector<double> x = Random(rows * cols, 1, 300.0);
  for (Format f : {Format::kInt8, Format::kFp8E5M2, Format::kFp16}) {
    QuantizeOptions o;
    o.format = f;
    o.rounding = RoundingMode::kStochastic;
    o.seed = 99;
    o.scale.grid.granularity =
        f == Format::kInt8 ? Granularity::kRow : Granularity::kNone;
    const QuantizedTensor one = Quantize(x, rows, cols, o);
    for (int threads : {2, 3, 8}) {
      o.threads = threads;
      const QuantizedTensor many = Quantize(x, rows, cols, o);
      INFO(FormatName(f) << " threads " << threads);
      CHECK(many.ints == one.ints);
      CHECK(many.codes == one.codes);
      CHECK(many.events == one.events);
    }
    o.seed = 100;
    o.threads = 1;
    const QuantizedTensor other = Quantize(x, rows, cols, o);
    CHECK((other.ints != one.ints || other.codes != one.codes));
  }
}

TEST_CASE("tensor: events are counted per element", "[quant][tensor]") {
  QuantizeOptions o;
  o.format = Format::kInt8;
  o.nonfinite = NonFinitePolicy::kSaturate;
  o.flush_inputs_below = 0x1p-126;
  const std::vector<double> x = {300, -300, INFINITY, NAN, 1e-40, 0.5, 2};
  const QuantizedTensor t = Quantize(x, 1, 7, o);
  CHECK(t.ints == std::vector<int64_t>{127, -128, 127, 0, 0, 0, 2});
  CHECK(t.events.saturated == 3);
  CHECK(t.events.nonfinite_in == 2);
  CHECK(t.events.flushed_in == 1);
  CHECK(t.events.inexact == 1);  // 0.5 -> 0 (ties to even)
  o.int_overflow = IntOverflow::kWrap;
  const QuantizedTensor w = Quantize({300, -300}, 1, 2, o);
  CHECK(w.ints == std::vector<int64_t>{44, -44});
  CHECK(w.events.wrapped == 2);
}

TEST_CASE("tensor: per-column and block scales follow the documented semantics",
          "[quant][tensor]") {
  const int64_t rows = 8, cols = 12;
  const std::vector<double> x = Random(rows * cols, 2, 10.0);
  QuantizeOptions o;
  o.format = Format::kInt8;
  o.scale.grid = ParseScaleGrid("block:4");
  const QuantizedTensor t = Quantize(x, rows, cols, o);
  REQUIRE(t.scales.size() == 6);
  for (int64_t i = 0; i < rows; ++i) {
    for (int64_t j = 0; j < cols; ++j) {
      const int64_t g = (i / 4) * 3 + j / 4;
      double amax = 0;
      for (int64_t a = (i / 4) * 4; a < (i / 4) * 4 + 4; ++a)
        for (int64_t b = (j / 4) * 4; b < (j / 4) * 4 + 4; ++b)
          amax = std::max(amax, std::abs(x[a * cols + b]));
      const float s = static_cast<float>(amax) / 127.0f;
      CHECK(t.scales[g].scale == s);
      CHECK(t.ints[i * cols + j] ==
            static_cast<int64_t>(
                std::nearbyint(static_cast<float>(x[i * cols + j]) / s)));
    }
  }
  o.scale.grid = ParseScaleGrid("col");
  CHECK(Quantize(x, rows, cols, o).scales.size() == static_cast<size_t>(cols));
}

TEST_CASE("tensor: bad input is an InputError naming the input",
          "[quant][tensor]") {
  QuantizeOptions o;
  CHECK_THROWS_WITH(Quantize({1, NAN}, 1, 2, o),
                    Catch::Contains("input element 1"));
  o.scale.grid = ParseScaleGrid("block:3");
  CHECK_THROWS_WITH(Quantize(std::vector<double>(8), 2, 4, o),
                    Catch::Contains("does not divide"));
  CHECK_THROWS_WITH(ParseScaleGrid("block:0"), Catch::Contains(">= 1"));
  CHECK_THROWS_WITH(ParseScaleGrid("diag"), Catch::Contains("block:B"));
  CHECK_THROWS_WITH(ParseFormat("fp4"), Catch::Contains("e4m3"));
  o.scale.grid = ParseScaleGrid("tensor");
  o.scale.kind = ScaleKind::kFixed;
  CHECK_THROWS_WITH(Quantize({0.5}, 1, 1, o),
                    Catch::Contains("int32 accumulator"));
  const GroupLayout l = MakeGroupLayout(ParseScaleGrid("row"), 2, 2);
  EventCounts ev;
  CHECK_THROWS_WITH(
      Dequantize({1, 2, 3, 4}, l, {1.0f, 0.0f}, {}, DequantizeOptions{}, &ev),
      Catch::Contains("scale 1"));
  CHECK_THROWS_WITH(
      Dequantize({1, 2, 3, 4}, l, {1.0f, NAN}, {}, DequantizeOptions{}, &ev),
      Catch::Contains("scale 1"));
}

TEST_CASE("format: declared ranges match the published values",
          "[quant][tensor]") {
  // Values from IEEE 754-2019 table 3.5, the bfloat16 / TF32 definitions and
  // the OCP FP8 v1.0 spec table 1.
  CHECK(GetFormatInfo(Format::kFp16).max_finite == 65504.0);
  CHECK(GetFormatInfo(Format::kFp16).min_subnormal == std::ldexp(1.0, -24));
  CHECK(GetFormatInfo(Format::kBf16).max_finite == 0x1.FEp127);
  CHECK(GetFormatInfo(Format::kHf32).max_finite == 0x1.FFCp127);
  CHECK(GetFormatInfo(Format::kFp8E4M3).max_finite == 448.0);
  CHECK(GetFormatInfo(Format::kFp8E4M3).min_subnormal == std::ldexp(1.0, -9));
  CHECK_FALSE(GetFormatInfo(Format::kFp8E4M3).has_inf);
  CHECK(GetFormatInfo(Format::kFp8E5M2).max_finite == 57344.0);
  CHECK(GetFormatInfo(Format::kFp32).max_finite ==
        static_cast<double>(3.4028234663852886e38f));
  CHECK(GetFormatInfo(Format::kInt4).min_int == -8);
  CHECK(GetFormatInfo(Format::kInt48).max_int == (int64_t{1} << 47) - 1);
  for (int i = 0; i <= static_cast<int>(Format::kInt64); ++i) {
    const Format f = static_cast<Format>(i);
    CHECK(ParseFormat(FormatName(f)) == f);
  }
}

TEST_CASE("bench: scalar conversion throughput", "[.bench]") {
  const int64_t rows = 1024, cols = 4096;
  const std::vector<double> x = Random(rows * cols, 3, 50.0);
  auto time = [&](const char* what, const QuantizeOptions& o) {
    Quantize(x, rows, cols, o);  // warm-up
    const auto t0 = std::chrono::steady_clock::now();
    constexpr int kReps = 5;
    for (int r = 0; r < kReps; ++r) Quantize(x, rows, cols, o);
    const double s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
            .count();
    std::printf("%-36s %.3g elements/s\n", what,
                kReps * static_cast<double>(x.size()) / s);
  };
  QuantizeOptions fp16;
  fp16.format = Format::kFp16;
  time("fp32 -> fp16 RNE (1 thread)", fp16);
  QuantizeOptions int8;
  int8.format = Format::kInt8;
  int8.scale.grid = ParseScaleGrid("row");
  time("fp32 -> int8 per-row RNE (1 thread)", int8);
}
