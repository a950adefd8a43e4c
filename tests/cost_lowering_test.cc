// Cost model, lowering (sim/cost/lowering.h): instruction costs reproduce
// the public figures of ../shared/docs/NPU.md by construction; placement and
// L0 tiling.
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

TEST_CASE("calibration: one fp16 fractal Mmad costs 1 cycle + head",
          "[sim][cost][lowering]") {
  // NPU.md "Cube unit", Mmad cost: ~1 cycle per fractal + ~2 cycles head
  // measured on 910B1 (msKPP csrc/prof_data); fp16 fractal 16x16x16
  // (asc-devkit cube perf appendix).
  const CostReport r =
      EstimateCost(ProductPlan(16, 1), PipelinePrecisionFor("fp16"),
                   Chunks(1, 16), Default());
  CHECK(r.steps[0].cycles[kM] == Approx(3.0));
  // A 64 x 64 x 64 product is 4 x 4 x 4 fractals: 64 + 2.
  const CostReport big =
      EstimateCost(ProductPlan(64, 1), PipelinePrecisionFor("fp16"),
                   Chunks(1, 64), Default());
  CHECK(big.steps[0].cycles[kM] == Approx(66.0));
}

TEST_CASE("calibration: 1 KB moves on each path", "[sim][cost][lowering]") {
  // NPU.md "Data movement": a 1 KB move costs ~173 cycles GM->L1, ~235
  // GM->UB, ~151 UB->GM, ~83 L0C->GM, ~6 L1->L0A (derived from the msKPP
  // measured tables). fp32 at C = 16 makes every matrix exactly 1 KB.
  const PipelinePrecision fp32 = PipelinePrecisionFor("fp32");
  const CostReport cube =
      EstimateCost(ProductPlan(16, 1), fp32, Chunks(1, 16), Default());
  CHECK(cube.io_cycles[static_cast<int>(Pipe::kCubeMte2)] ==
        Approx(173).margin(1));
  CHECK(FirstInstruction(cube, "L1 -> L0A") == Approx(6).margin(1));
  CHECK(FirstInstruction(cube, "FIXPIPE L0C -> GM (output)") ==
        Approx(83).margin(1));
  // The vector paths: forward substitution loads L into UB, stores X.
  const CostReport vector = Price("vcs", 16, "fp32", Chunks(1, 16), Default());
  CHECK(vector.io_cycles[static_cast<int>(Pipe::kVecMte2)] ==
        Approx(235).margin(1));
  CHECK(vector.io_cycles[static_cast<int>(Pipe::kMte3)] ==
        Approx(151).margin(1));
}

TEST_CASE("working sets: Mmad operands are tiled to half of L0A/L0B",
          "[sim][cost][lowering]") {
  // ns in fp32 at C = 128 multiplies full 128 x 128 matrices: a 64 KB left
  // operand, twice the 32 KB half of L0A, so each product is split in two
  // along k.
  const Plan plan = BuildPlan("ns", MethodOptions{}, 128);
  const CostReport r = EstimateCost(plan, PipelinePrecisionFor("fp32"),
                                    Chunks(1, 128), Default());
  int first_full = -1;
  for (size_t s = 0; s < plan.steps.size() && first_full < 0; ++s) {
    const Step& step = plan.steps[s];
    if (step.op == OpKind::kMatMul && step.in.size() == 2 &&
        step.in[0].rows == 128 && step.in[0].cols == 128) {
      first_full = static_cast<int>(s);
    }
  }
  REQUIRE(first_full >= 0);
  int mmads = 0;
  for (const Instruction& in : r.timeline) {
    if (in.chunk == 0 && in.step == first_full && in.pipe == Pipe::kCube) {
      ++mmads;
    }
    if (std::strcmp(in.what, "L1 -> L0A") == 0) {
      CHECK(in.bytes <= Default().l0a_bytes / 2);
    }
    if (std::strcmp(in.what, "L1 -> L0B") == 0) {
      CHECK(in.bytes <= Default().l0b_bytes / 2);
    }
  }
  CHECK(mmads == 2);
}

// ---------------------------------------------------------------------------
// Placement and precision.

TEST_CASE("placement: only plans mixing units pay cube <-> vector transfers",
          "[sim][cost][lowering]") {
  const auto busy = [](const CostReport& r, Pipe p) {
    return r.pipes[static_cast<int>(p)].busy_cycles;
  };
  const CostReport mxr = Price("mxr", 64, "fp16", Workload{}, Default());
  CHECK(busy(mxr, Pipe::kVector) == 0);
  CHECK(busy(mxr, Pipe::kMte3) == 0);
  const CostReport vcs = Price("vcs", 64, "fp16", Workload{}, Default());
  CHECK(busy(vcs, Pipe::kCube) == 0);
  // fla: the 16 x 16 diagonal blocks are solved on the vector unit and
  // merged on the cube, so each block crosses UB -> GM -> L1.
  const CostReport fla = Price("fla", 64, "fp16", Chunks(1, 64), Default());
  int crossings = 0;
  for (const Instruction& in : fla.timeline) {
    crossings += std::strcmp(in.what, "vector result: GM -> L1") == 0;
  }
  CHECK(crossings == 4);
}

}  // namespace
}  // namespace trisim
