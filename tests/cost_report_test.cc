// Cost model, report (sim/cost/report.h): scaling over chunks and cores, and
// EstimateCost as a pure function.
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

TEST_CASE("scaling: cycles grow linearly with T once cores are busy",
          "[sim][cost][report]") {
  for (const char* method : {"mxr", "fla", "vcs", "neumann"}) {
    INFO(method);
    Workload w;  // batch 32 x heads 4: 24 cube cores busy from T = 512 on
    w.seq = 8192;
    const double t1 = Price(method, 64, "fp16", w, Default()).total_cycles;
    w.seq = 16384;
    const double t2 = Price(method, 64, "fp16", w, Default()).total_cycles;
    // Busiest group: ceil(16384 / 24) = 683 vs ceil(8192 / 24) = 342 chunks.
    CHECK(t2 / t1 == Approx(683.0 / 342.0).epsilon(0.01));
  }
}

TEST_CASE("scaling: doubling cores halves time until a pipe saturates",
          "[sim][cost][report]") {
  HardwareProfile hw = Default();
  Workload w;  // 32 x 4 x 4096 / 64 = 8192 chunks, divisible by 4, 8, 16
  const auto time_with = [&](int cube_cores, const char* method) {
    hw.cube_cores = cube_cores;
    hw.vector_cores = 2 * cube_cores;
    return Price(method, 64, "fp16", w, hw);
  };
  for (const char* method : {"mxr", "fla", "vcs"}) {
    INFO(method);
    CHECK(time_with(8, method).total_cycles /
              time_with(4, method).total_cycles ==
          Approx(0.5).epsilon(0.01));
    CHECK(time_with(16, method).total_cycles /
              time_with(8, method).total_cycles ==
          Approx(0.5).epsilon(0.01));
  }
  // A narrow shared GM saturates: more cores stop helping.
  hw.gm_bytes_per_cycle = 4;
  const CostReport eight = time_with(8, "mxr");
  const CostReport sixteen = time_with(16, "mxr");
  CHECK(eight.bottleneck == Pipe::kGm);
  CHECK(sixteen.total_cycles == Approx(eight.total_cycles));
}

TEST_CASE("scaling: a tiny problem uses no more cores than it has chunks",
          "[sim][cost][report]") {
  const Workload three = Chunks(3, 64);
  const CostReport mxr = Price("mxr", 64, "fp16", three, Default());
  CHECK(mxr.chunks == 3);
  CHECK(mxr.cube_cores_used == 3);
  CHECK(mxr.vector_cores_used == 0);  // matmul-only: no vector work
  const CostReport vcs = Price("vcs", 64, "fp16", three, Default());
  CHECK(vcs.cube_cores_used == 0);
  CHECK(vcs.vector_cores_used == 3);
  const CostReport fla = Price("fla", 64, "fp16", three, Default());
  CHECK(fla.cube_cores_used == 3);
  CHECK(fla.vector_cores_used == 3);
  // One chunk takes as long as one chunk, however many cores there are.
  const CostReport one = Price("mxr", 64, "fp16", Chunks(1, 64), Default());
  CHECK(one.total_cycles == Approx(mxr.total_cycles));
}

// ---------------------------------------------------------------------------
// Buffers.

TEST_CASE("EstimateCost is a pure function of its inputs",
          "[sim][cost][report]") {
  const Plan plan = BuildPlan("fla", MethodOptions{}, 64);
  const PipelinePrecision p = PipelinePrecisionFor("fp16");
  const CostReport a = EstimateCost(plan, p, Workload{}, Default());
  const CostReport b = EstimateCost(plan, p, Workload{}, Default());
  CHECK(a.total_cycles == b.total_cycles);
  CHECK(a.bottleneck == b.bottleneck);
  Workload empty;
  empty.batch = 0;
  CHECK_THROWS_AS(EstimateCost(plan, p, empty, Default()), InputError);
}

}  // namespace
}  // namespace trisim
