// sim/compare.h: ULP positions against an independent enumeration of the
// formats' codes, the comparison's findings on constructed differences, the
// layouts and the presets.
#include "sim/compare.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <limits>

#include "core/npy.h"
#include "core/status.h"

namespace trisim {
namespace {

using quant::Format;

TEST_CASE("UlpPosition equals the code of every fp16 and bf16 value",
          "[sim][compare]") {
  // IEEE formats order their non-negative codes like their values, so the
  // code itself is the position (0x7C00 / 0x7F80 = inf).
  for (uint32_t code = 0; code <= 0x7C00; ++code) {
    const double v = HalfBitsToDouble(static_cast<uint16_t>(code));
    REQUIRE(UlpPosition(v, Format::kFp16) == static_cast<int64_t>(code));
    REQUIRE(UlpPosition(-v, Format::kFp16) == -static_cast<int64_t>(code));
  }
  for (uint32_t code = 0; code <= 0x7F80; ++code) {
    const double v = BFloat16BitsToDouble(static_cast<uint16_t>(code));
    REQUIRE(UlpPosition(v, Format::kBf16) == static_cast<int64_t>(code));
  }
}

TEST_CASE("UlpPosition on fp32 and fp64 matches the bit patterns",
          "[sim][compare]") {
  const float samples[] = {1.0f, 0.1f,    3.4e38f, 1e-40f, 1.17549435e-38f,
                           7.0f, 65504.0f};
  for (float f : samples) {
    uint32_t bits;
    std::memcpy(&bits, &f, sizeof bits);
    CHECK(UlpPosition(f, Format::kFp32) == static_cast<int64_t>(bits));
    CHECK(UlpPosition(std::nextafter(f, INFINITY), Format::kFp32) -
              UlpPosition(f, Format::kFp32) ==
          1);
  }
  const double d = 0.3;
  uint64_t bits;
  std::memcpy(&bits, &d, sizeof bits);
  CHECK(UlpPosition(d, StorageFormat()) == static_cast<int64_t>(bits));
  // Across zero: -min_subnormal to +min_subnormal is 2 ulps.
  CHECK(UlpPosition(std::ldexp(1.0, -24), Format::kFp16) -
            UlpPosition(-std::ldexp(1.0, -24), Format::kFp16) ==
        2);
  CHECK_THROWS_AS(UlpPosition(0.1, Format::kFp16), DataError);
}

TEST_CASE("ULP bins", "[sim][compare]") {
  CHECK(UlpBin(0) == 0);
  CHECK(UlpBin(1) == 1);
  CHECK(UlpBin(2) == 2);
  CHECK(UlpBin(3) == 3);
  CHECK(UlpBin(4) == 3);
  CHECK(UlpBin(5) == 4);
  CHECK(UlpBinLabel(3) == "3-4");
  CHECK(UlpBinLabel(4) == "5-8");
}

CompareData MakeData(int count, int c) {
  CompareData data;
  data.format = Format::kFp16;
  data.count = count;
  data.chunk = c;
  for (int n = 0; n < count; ++n) {
    for (int i = 0; i < c; ++i) {
      for (int j = 0; j < c; ++j) {
        const double v = i == j ? 1.0 : i > j ? -0.25 * ((i + j + n) % 5) : 0;
        data.expected.push_back(v);
        data.reference.push_back(v + 1e-6);
      }
    }
  }
  data.device = data.expected;
  return data;
}

TEST_CASE("Compare finds a one-ulp difference at its index", "[sim][compare]") {
  CompareData data = MakeData(3, 32);
  const size_t k = (2 * 32 + 20) * 32 + 5;
  const double e = data.expected[k];
  REQUIRE(e != 0);
  data.device[k] = e + std::copysign(std::ldexp(1.0, std::ilogb(e) - 10), e);
  const CompareReport r = Compare(data);
  CHECK(r.oracle.elements == 3 * 32 * 32);
  CHECK(r.oracle.identical == r.oracle.elements - 1);
  CHECK(r.oracle.max_ulp == 1);
  CHECK(r.oracle.histogram[0] == r.oracle.elements - 1);
  CHECK(r.oracle.histogram[1] == 1);
  CHECK(r.oracle.worst.matrix == 2);
  CHECK(r.oracle.worst.row == 20);
  CHECK(r.oracle.worst.col == 5);
  CHECK(r.oracle.worst_block.matrix == 2);
  CHECK(r.oracle.worst_block.block_row == 1);
  CHECK(r.oracle.worst_block.block_col == 0);
  CHECK(r.oracle.worst_block.differing == 1);
  CHECK(r.oracle.blocks.size() == 1);
  CHECK(r.oracle.matrices[2].identical == 32 * 32 - 1);
  CHECK(!EvaluatePreset("exact", r, data.format).pass);
  CHECK(EvaluatePreset("fla-output", r, data.format).pass);
}

TEST_CASE("Compare: -0 against +0 is not bit-identical, 0 ulp",
          "[sim][compare]") {
  CompareData data = MakeData(1, 16);
  data.device[1] = -0.0;  // expected +0 above the diagonal
  const CompareReport r = Compare(data);
  CHECK(r.oracle.identical == r.oracle.elements - 1);
  CHECK(r.oracle.max_ulp == 0);
}

TEST_CASE("Compare counts NaN in the device output", "[sim][compare]") {
  CompareData data = MakeData(2, 16);
  data.device[5] = NAN;
  data.device[300] = NAN;
  const CompareReport r = Compare(data);
  CHECK(r.oracle.nan == 2);
  CHECK(r.oracle.nonfinite == 2);
  CHECK(r.oracle.worst.matrix == 0);
  CHECK(r.oracle.worst.col == 5);
  CHECK(r.oracle.max_ulp == 0);  // over the non-NaN elements
  CHECK(std::isinf(r.reference.frob_rel));
  CHECK(!EvaluatePreset("pto-kernels", r, data.format).pass);
}

TEST_CASE("Compare against fp64: FLA ratio, Frobenius, cosine, ratio",
          "[sim][compare]") {
  CompareData data;
  data.format = Format::kFp32;
  data.count = 1;
  data.chunk = 2;
  data.reference = {1.0, 0.0, -0.5, 1.0};
  data.expected = {1.0, 0.0, -0.5, 1.0};
  data.device = {1.0, 0.0, -0.5, 1.0 + std::ldexp(1.0, -20)};
  const CompareReport r = Compare(data);
  const double norm = std::sqrt(1 + 0.25 + 1);
  CHECK(r.reference.frob_rel == Approx(std::ldexp(1.0, -20) / norm));
  // FLA: RMSE(diff) / RMS(ref) = ||d|| / ||r|| for equal counts.
  CHECK(r.reference.fla_ratio == Approx(r.reference.frob_rel));
  CHECK(r.reference.oracle_frob_rel == 0);
  CHECK(std::isinf(r.reference.error_ratio));
  CHECK(r.reference.small_count == 1);  // the zero
  CHECK(r.reference.max_rel == Approx(std::ldexp(1.0, -20)));
  CHECK(r.reference.cosine == Approx(1.0));
  CHECK(r.oracle.max_ulp == 8);  // 2^-20 at 1.0 with 23 mantissa bits
  const PresetResult fla = EvaluatePreset("fla", r, data.format);
  CHECK(fla.pass);
  CHECK_THROWS_AS(EvaluatePreset("nope", r, data.format), InputError);
}

TEST_CASE("Compare without a reference rejects reference presets",
          "[sim][compare]") {
  CompareData data = MakeData(1, 16);
  data.reference.clear();
  const CompareReport r = Compare(data);
  CHECK(!r.reference.present);
  CHECK(EvaluatePreset("exact", r, data.format).pass);
  CHECK_THROWS_AS(EvaluatePreset("msprobe", r, data.format), InputError);
}

TEST_CASE("Partial chunks compare only their valid block", "[sim][compare]") {
  CompareData data = MakeData(2, 16);
  data.valid = {16, 5};
  data.device[(16 + 10) * 16 + 10] = 7.0;  // outside matrix 1's 5 x 5 block
  const CompareReport r = Compare(data);
  CHECK(r.oracle.elements == 16 * 16 + 25);
  CHECK(r.oracle.identical == r.oracle.elements);
}

TEST_CASE("ToChunks cuts [B, T, H, C] and [T, H, C] with cu_seqlens",
          "[sim][compare]") {
  // [B=1, T=6, H=2, C=4]: value = 1000 t + 100 h + j.
  std::vector<double> v;
  for (int t = 0; t < 6; ++t)
    for (int h = 0; h < 2; ++h)
      for (int j = 0; j < 4; ++j) v.push_back(1000 * t + 100 * h + j);
  ChunkLayout layout;
  layout.kind = ChunkLayout::Kind::kBTHC;
  const Chunked c = ToChunks(v, {1, 6, 2, 4}, layout, "x");
  REQUIRE(c.count == 4);  // 2 heads x (chunk of 4 + partial chunk of 2)
  CHECK(c.valid == std::vector<int>{4, 2, 4, 2});
  CHECK(c.labels[1] == "b=0 h=0 t=4");
  // Chunk 1 (h 0, t 4..5): row 1 = token 5.
  CHECK(c.values[16 + 1 * 4 + 3] == 5003);
  CHECK(c.values[16 + 2 * 4 + 0] == 0);  // padding
  CHECK(c.values[2 * 16 + 0] == 100);    // h 1, t 0

  layout.kind = ChunkLayout::Kind::kTHC;
  layout.cu_seqlens = {0, 1, 6};
  const Chunked s = ToChunks(v, {6, 2, 4}, layout, "x");
  CHECK(s.count == 2 * (1 + 2));
  CHECK(s.valid == std::vector<int>{1, 1, 4, 1, 4, 1});
  CHECK(s.labels[2] == "seq=1 h=0 t=1");
  CHECK(s.values[2 * 16] == 1000);  // seq 1 starts at token 1

  layout.cu_seqlens = {0, 7};
  CHECK_THROWS_AS(ToChunks(v, {6, 2, 4}, layout, "x"), DataError);
  layout.kind = ChunkLayout::Kind::kNCC;
  layout.cu_seqlens.clear();
  CHECK_THROWS_AS(ToChunks(v, {6, 2, 4}, layout, "x"), DataError);

  // Upper triangular storage reads transposed.
  ChunkLayout up;
  up.upper = true;
  const Chunked u = ToChunks({1, 2, 0, 1}, {2, 2}, up, "x");
  CHECK(u.values == std::vector<double>{1, 0, 2, 1});
}

}  // namespace
}  // namespace trisim
