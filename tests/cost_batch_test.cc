// Cost model batching (sim/cost/batching.h, COST_MODEL.md section 3):
// parallel copies of a step (recorded by the builder, PlanBuilder::PushCopy)
// are one batched instruction per pipe, with one start cost and the items'
// work summed; dependent steps never batch; labels play no part; with
// batching off (or nothing to batch) the model prices the plan step by step.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cstring>

#include "core/methods.h"
#include "sim/cost/profile.h"
#include "sim/cost_model.h"

namespace trisim {
namespace {

const HardwareProfile& Default() {
  static const HardwareProfile hw = LoadProfile(kDefaultProfile);
  return hw;
}

Workload OneChunk(int chunk, bool batch) {
  Workload w;
  w.batch = 1;
  w.heads = 1;
  w.seq = chunk;
  w.batch_parallel_steps = batch;
  return w;
}

Workload Benchmark(bool batch) {
  Workload w;  // the authors' shape: batch 32, heads 4, T = 4096
  w.batch_parallel_steps = batch;
  return w;
}

CostReport Price(const Plan& plan, const std::string& precision,
                 const Workload& workload) {
  return EstimateCost(plan, PipelinePrecisionFor(precision), workload,
                      Default());
}

// Chunk-0 instructions named `what` whose step is in [first, last].
std::vector<Instruction> Named(const CostReport& r, const char* what,
                               int first = 0, int last = 1 << 30) {
  std::vector<Instruction> found;
  for (const Instruction& in : r.timeline) {
    if (in.chunk == 0 && std::strcmp(in.what, what) == 0 && in.step >= first &&
        in.step <= last) {
      found.push_back(in);
    }
  }
  return found;
}

double Cycles(const std::vector<Instruction>& instructions) {
  double sum = 0;
  for (const Instruction& in : instructions) sum += in.end - in.start;
  return sum;
}

TEST_CASE("batching: copies come from the plan's record, not its labels",
          "[sim][cost][batching]") {
  // Relabelling every step of every shipped plan changes no total (issue
  // 10 item 3: renaming fla's "diagonal block i" used to change its cycles).
  for (const MethodInfo& method : AllMethods()) {
    for (int chunk : {32, 64}) {
      INFO(method.name << " C = " << chunk);
      const Plan plan = BuildPlan(method.name, MethodOptions{}, chunk);
      Plan renamed = plan;
      for (size_t s = 0; s < renamed.steps.size(); ++s) {
        renamed.steps[s].label = "step " + std::to_string(s * 7919 % 101);
      }
      const CostReport a = Price(plan, "fp16", Benchmark(true));
      const CostReport b = Price(renamed, "fp16", Benchmark(true));
      CHECK(a.batches == b.batches);
      CHECK(a.total_cycles == b.total_cycles);
    }
  }
  // fla's forward-substitution rows batch across its diagonal blocks.
  const Plan fla = BuildPlan("fla", MethodOptions{}, 64);
  const CostReport r = Price(fla, "fp16", OneChunk(64, true));
  REQUIRE(!r.batches.empty());
  CHECK(r.batches.front().size() == 4);
  for (int s : r.batches.front()) {
    CHECK(fla.steps[s].op == OpKind::kForwardRow);
    CHECK(fla.steps[s].row == fla.steps[r.batches.front().front()].row);
  }
}

TEST_CASE("batching: mxr's diagonal-block rounds pay one FIXPIPE start each",
          "[sim][cost][batching]") {
  // mxr at C = 64: mch on four 16 x 16 diagonal blocks (steps 2..45, 11 per
  // block, block i at offset 11 i), then merges 32 (two pairs) and 64.
  const Plan plan = BuildPlan("mxr", MethodOptions{}, 64);
  const CostReport batched = Price(plan, "fp16", OneChunk(64, true));
  const CostReport alone = Price(plan, "fp16", OneChunk(64, false));
  CHECK(alone.batches.empty());

  std::vector<std::vector<int>> expected;
  for (int s = 2; s <= 12; ++s) expected.push_back({s, s + 11, s + 22, s + 33});
  expected.push_back({46, 48});  // merge 32: L21 X11 of both pairs
  expected.push_back({47, 49});  // merge 32: X21 of both pairs
  CHECK(batched.batches == expected);
  for (int s : {50, 51}) CHECK(batched.steps[s].batch == -1);  // merge 64

  // Every diagonal step leaves L0C for L1 (the next round reads it): 44
  // FIXPIPE passes alone, 11 batched, each one start plus four 16 x 16 fp16
  // tiles at 128 B/cycle.
  const TransferPath& fix = Default().fixpipe_l1;
  const auto batched_fix = Named(batched, "FIXPIPE L0C -> L1", 2, 45);
  const auto alone_fix = Named(alone, "FIXPIPE L0C -> L1", 2, 45);
  CHECK(alone_fix.size() == 44);
  CHECK(batched_fix.size() == 11);
  for (const Instruction& in : batched_fix) {
    CHECK(in.bytes == 4 * 16 * 16 * 2);
    CHECK(in.end - in.start == Approx(fix.Cycles(4 * 16 * 16 * 2)));
  }
  CHECK(Cycles(alone_fix) - Cycles(batched_fix) ==
        Approx(33 * fix.start_cycles));
  // Mmads: one head per batch, the fractals summed.
  const auto batched_mmad = Named(batched, "Mmad", 2, 45);
  CHECK(Named(alone, "Mmad", 2, 45).size() == 4 * batched_mmad.size());
  const auto fix_pipe = static_cast<int>(Pipe::kFix);
  CHECK(batched.steps[4].cycles[fix_pipe] < alone.steps[4].cycles[fix_pipe]);
  CHECK(batched.total_cycles < alone.total_cycles);
}

TEST_CASE("batching: dependent steps are never batched",
          "[sim][cost][batching]") {
  // Same op, shapes and label, but a chain: nothing may batch.
  PlanBuilder chain("test-chain", "", 16);
  const View l = chain.NewBuffer("L", 16, 16, BufferRole::kInput);
  const View x = chain.NewBuffer("X", 16, 16, BufferRole::kOutput);
  for (int i = 0; i < 3; ++i) {
    chain.PushCopy("square", i);
    chain.MatMul(x, {i == 0 ? l : x, i == 0 ? l : x}, 1.0, "square");
    chain.PopCopy();
  }
  const Plan dependent = chain.Finish(l, x);
  const CostReport r = Price(dependent, "fp16", Benchmark(true));
  CHECK(r.batches.empty());
  CHECK(r.total_cycles ==
        Price(dependent, "fp16", Benchmark(false)).total_cycles);

  // Y2 is independent of both Y1 steps, but only the first Y1 step is in its
  // round: {0, 2} batch, step 1 (which needs step 0) stays alone.
  PlanBuilder mixed("test-mixed", "", 16);
  const View l2 = mixed.NewBuffer("L", 16, 16, BufferRole::kInput);
  const View y1 = mixed.NewBuffer("Y1", 16, 16);
  const View y2 = mixed.NewBuffer("Y2", 16, 16);
  const View out = mixed.NewBuffer("X", 16, 16, BufferRole::kOutput);
  mixed.PushCopy("Y", 0);
  mixed.MatMul(y1, {l2, l2}, 1.0, "square");
  mixed.MatMul(y1, {y1, y1}, 1.0, "square");
  mixed.PopCopy();
  mixed.PushCopy("Y", 1);
  mixed.MatMul(y2, {l2, l2}, 1.0, "square");
  mixed.PopCopy();
  mixed.MatMul(out, {y1, y2}, 1.0, "X = Y1 Y2");
  const CostReport m = Price(mixed.Finish(l2, out), "fp16", Benchmark(true));
  CHECK(m.batches == std::vector<std::vector<int>>{{0, 2}});
  // Copies that leave L0C for different places are different instruction
  // sequences: without the last step, Y2 goes to GM and Y1 to L1.
  PlanBuilder apart("test-apart", "", 16);
  const View l3 = apart.NewBuffer("L", 16, 16, BufferRole::kInput);
  const View z1 = apart.NewBuffer("Y1", 16, 16);
  const View z2 = apart.NewBuffer("Y2", 16, 16, BufferRole::kOutput);
  apart.PushCopy("Y", 0);
  apart.MatMul(z1, {l3, l3}, 1.0, "square");
  apart.MatMul(z1, {z1, z1}, 1.0, "square");
  apart.PopCopy();
  apart.PushCopy("Y", 1);
  apart.MatMul(z2, {l3, l3}, 1.0, "square");
  apart.PopCopy();
  CHECK(Price(apart.Finish(l3, z2), "fp16", Benchmark(true)).batches.empty());
}

TEST_CASE("batching: no batch of a shipped plan holds a step and its ancestor",
          "[sim][cost][batching]") {
  // Checked against Plan::Dependencies() closed transitively, independently
  // of the model's rounds.
  for (const MethodInfo& method : AllMethods()) {
    for (int chunk : {16, 32, 64, 128}) {
      INFO(method.name << " C = " << chunk);
      const Plan plan = BuildPlan(method.name, MethodOptions{}, chunk);
      const auto deps = plan.Dependencies();
      const size_t n = plan.steps.size();
      std::vector<std::vector<bool>> ancestor(n, std::vector<bool>(n, false));
      for (size_t s = 0; s < n; ++s) {
        for (int d : deps[s]) {
          ancestor[s][d] = true;
          for (size_t a = 0; a < n; ++a) {
            if (ancestor[d][a]) ancestor[s][a] = true;
          }
        }
      }
      const CostReport r = Price(plan, "fp16", Benchmark(true));
      for (const auto& batch : r.batches) {
        REQUIRE(batch.size() >= 2);
        for (int a : batch) {
          for (int b : batch) CHECK_FALSE(ancestor[a][b]);
        }
      }
    }
  }
}

TEST_CASE("batching: off, or nothing to batch, prices the plan step by step",
          "[sim][cost][batching]") {
  // Without the builder's copy record there are no parallel copies:
  // batching on must then give exactly the --no-batch total (same
  // instructions in plan order).
  for (const MethodInfo& method : AllMethods()) {
    for (int chunk : {16, 64, 128}) {
      for (const char* precision : {"fp16", "int8"}) {
        INFO(method.name << " C = " << chunk << " " << precision);
        const Plan plan = BuildPlan(method.name, MethodOptions{}, chunk);
        Plan unique = plan;
        for (Step& step : unique.steps) step.copies.clear();
        const CostReport alone = Price(plan, precision, Benchmark(false));
        const CostReport none = Price(unique, precision, Benchmark(true));
        CHECK(none.batches.empty());
        CHECK(none.total_cycles == alone.total_cycles);
        // Batching removes start costs and flags; it also issues a batch's
        // copies together, so the cube can start fla's merges only when the
        // rows of every block are done (one store): at C = 128 that costs
        // fla 0.03% (issue 10 item 3 changed fla; COST_MODEL.md section 0).
        const CostReport batched = Price(plan, precision, Benchmark(true));
        CHECK(batched.total_cycles <= 1.001 * alone.total_cycles);
      }
    }
  }
}

TEST_CASE("batching: a cube batch fits half of L0A, L0B and L0C",
          "[sim][cost][batching]") {
  // Six independent 64 x 64 x 64 fp16 products: 8 KB operands (L0A/L0B
  // halves: 32 KB) and 16 KB fp32 accumulators (L0C half: 64 KB) allow 4
  // per batch.
  PlanBuilder b("test-six", "", 64);
  const View l = b.NewBuffer("L", 64, 64, BufferRole::kInput);
  const View x = b.NewBuffer("X", 64, 64, BufferRole::kOutput);
  for (int i = 0; i < 6; ++i) {
    b.PushCopy("product", i);
    b.MatMul(b.NewBuffer("P", 64, 64), {l, l}, 1.0, "product");
    b.PopCopy();
  }
  b.SetIdentity(x, "X = I");
  const CostReport r = Price(b.Finish(l, x), "fp16", OneChunk(64, true));
  CHECK(r.batches == std::vector<std::vector<int>>{{0, 1, 2, 3}, {4, 5}});
  for (const Instruction& in : Named(r, "L1 -> L0A")) {
    CHECK(in.bytes <= Default().l0a_bytes / 2);
  }
  const auto mmads = Named(r, "Mmad");
  REQUIRE(mmads.size() == 2);
  CHECK(mmads[0].end - mmads[0].start ==
        Approx(Default().mmad_start_cycles +
               4 * 64 * Default().mmad_cycles_per_fractal));
}

TEST_CASE("batching: a vector batch is one instruction over more repeats",
          "[sim][cost][batching]") {
  // Two independent 16 x 16 scalings on the vector unit (no matmul in the
  // plan): one muls and one add each, 2 repeats of 256 B per copy in fp16.
  PlanBuilder b("test-scale", "", 32);
  const View l = b.NewBuffer("L", 32, 32, BufferRole::kInput);
  const View x = b.NewBuffer("X", 32, 32, BufferRole::kOutput);
  for (int i = 0; i < 2; ++i) {
    b.PushCopy("block", i);
    b.LinComb(x.Block(16 * i, 16 * i, 16, 16), {2.0},
              {l.Block(16 * i, 16 * i, 16, 16)}, "scale");
    b.PopCopy();
  }
  const Plan plan = b.Finish(l, x);
  const HardwareProfile& hw = Default();
  const auto vector = static_cast<int>(Pipe::kVector);
  const auto busy = [&](bool batch) {
    const CostReport r = Price(plan, "fp16", OneChunk(32, batch));
    return r.steps[0].cycles[vector] + r.steps[1].cycles[vector];
  };
  CHECK(busy(true) ==
        Approx(hw.vector_mul.Cycles(4) + hw.vector_add.Cycles(4)));
  CHECK(busy(false) ==
        Approx(2 * (hw.vector_mul.Cycles(2) + hw.vector_add.Cycles(2))));
}

TEST_CASE("batching: results of one batch cross to the cube after one flag",
          "[sim][cost][batching]") {
  // Row 1 of two 16 x 16 diagonal blocks on the vector unit (parallel
  // copies), then one cube matmul reading both blocks: one UB -> GM store,
  // one flag, one GM -> L1 move, bytes summed (the rows written; the rest
  // of X is the resident constant). Vector results leave UB when the cube
  // first needs them, so unbatched the two rows leave in one store too, but
  // as two instructions on the vector unit.
  PlanBuilder b("test-cross", "", 32);
  const View l = b.NewBuffer("L", 32, 32, BufferRole::kInput);
  const View x = b.NewBuffer("X", 32, 32);
  const View y = b.NewBuffer("Y", 32, 32, BufferRole::kOutput);
  b.SetIdentity(x, "X = I");
  for (int i = 0; i < 2; ++i) {
    b.PushCopy("block", i);
    b.ForwardRow(x.Block(16 * i, 16 * i, 16, 16),
                 l.Block(16 * i, 16 * i, 16, 16), 1, "row 1");
    b.PopCopy();
  }
  b.MatMul(y, {x, l}, 1.0, "Y = X L");
  const Plan plan = b.Finish(l, y);
  const CostReport batched = Price(plan, "fp16", OneChunk(32, true));
  const CostReport alone = Price(plan, "fp16", OneChunk(32, false));
  CHECK(batched.batches == std::vector<std::vector<int>>{{1, 2}});
  CHECK(Named(alone, "UB -> GM (for cube)").size() == 1);
  CHECK(Named(batched, "UB -> GM (for cube)").size() == 1);
  const auto moves = Named(batched, "vector result: GM -> L1");
  REQUIRE(moves.size() == 1);
  CHECK(moves[0].bytes == 2 * 1 * 2);  // row 1 of each block: one element
  CHECK(Named(alone, "vector result: GM -> L1").size() == 1);
  CHECK(Named(alone, "row: sub").size() == 2);
  CHECK(Named(batched, "row: sub").size() == 1);
}

}  // namespace
}  // namespace trisim
