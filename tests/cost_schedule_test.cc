// Cost model, scheduling (sim/cost/schedule.h): in-order pipes, double
// buffering (the CANN GEMM rule) and working-set checks.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cstring>

#include "core/methods.h"
#include "core/status.h"
#include "sim/cost_model.h"
#include "tests/cost_test_helpers.h"

namespace trisim {
namespace {

using namespace cost_test;  // NOLINT: test helpers

TEST_CASE("calibration: double-buffered GEMM rule max(MTE2, k x MAD)",
          "[sim][cost][schedule]") {
  // NPU.md "Pipelines": the CANN GEMM tiling model prices a tile stream as
  // max(MTE2, k_outer * MAD) with double buffering and MTE2 + k_outer * MAD
  // without. Make every other path free so only those two remain.
  HardwareProfile hw = Default();
  hw.cube_cores = 1;
  hw.vector_cores = 2;
  hw.gm_bytes_per_cycle = 1e12;
  const TransferPath free{1e12, 0.0};
  hw.l1_to_l0a = hw.l1_to_l0b = hw.fixpipe_gm = hw.fixpipe_l1 = free;
  const int chunk = 64;
  const double mte2 = hw.gm_to_l1.Cycles(chunk * chunk * 2.0);
  const double mad = hw.mmad_start_cycles + 4 * 4 * 4;  // fp16, 64^3
  for (int k : {1, 2, 4, 8}) {
    INFO("k = " << k << ", MTE2 = " << mte2 << ", MAD = " << mad);
    Workload w = Chunks(256, chunk);
    const Plan plan = ProductPlan(chunk, k);
    const PipelinePrecision fp16 = PipelinePrecisionFor("fp16");
    const CostReport doubled = EstimateCost(plan, fp16, w, hw);
    CHECK(doubled.double_buffered);
    CHECK(doubled.chunk_cycles == Approx(std::max(mte2, k * mad)));
    w.double_buffer = false;
    const CostReport single = EstimateCost(plan, fp16, w, hw);
    CHECK_FALSE(single.double_buffered);
    CHECK(single.chunk_cycles == Approx(mte2 + k * mad));
  }
}

// ---------------------------------------------------------------------------
// Scaling (issue 5 item 7).

TEST_CASE("working sets: double buffering is dropped, overflow reported",
          "[sim][cost][schedule]") {
  // vcs in fp32 at C = 128: L and X are 64 KB each in UB, two chunks need
  // 256 KB > 192 KB, one chunk fits.
  const CostReport c128 = Price("vcs", 128, "fp32", Workload{}, Default());
  CHECK_FALSE(c128.double_buffered);
  REQUIRE(c128.notes.size() == 1);
  CHECK(c128.notes[0].find("UB") != std::string::npos);
  CHECK(c128.overflows.empty());
  // At C = 256 one chunk alone needs 512 KB of UB: reported, never silent.
  const CostReport c256 = Price("vcs", 256, "fp32", Workload{}, Default());
  REQUIRE(c256.overflows.size() == 1);
  CHECK(c256.overflows[0].find("UB") != std::string::npos);
  // At C <= 128 in fp16 every shipped method fits.
  for (const MethodInfo& m : AllMethods()) {
    for (int chunk : {16, 32, 64, 128}) {
      INFO(m.name << " C = " << chunk);
      CHECK(Price(m.name, chunk, "fp16", Workload{}, Default())
                .overflows.empty());
    }
  }
}

}  // namespace
}  // namespace trisim
