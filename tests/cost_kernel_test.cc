// Kernel-level cost model (sim/cost/kernel.h, kernel_readings.h): in-order
// pipes, hazards on named buffers without renaming, flags, work items held
// at once, and the readings' instruction counts against KERNELS.md.
#include <algorithm>
#include <catch2/catch.hpp>
#include <set>
#include <string>

#include "core/kernels.h"
#include "core/methods.h"
#include "core/status.h"
#include "sim/cost/kernel.h"
#include "sim/cost/kernel_lowering.h"
#include "sim/cost/kernel_readings.h"

namespace trisim {
namespace {

const HardwareProfile& Chip() {
  static const HardwareProfile hw = LoadProfile("ascend-910b2");
  return hw;
}

KInstr Move(KPath path, double bytes, std::vector<int> reads,
            std::vector<int> writes, int core = 0) {
  KInstr in;
  in.kind = KInstr::Kind::kMove;
  in.core = core;
  in.path = path;
  in.bytes = bytes;
  in.reads = std::move(reads);
  in.writes = std::move(writes);
  in.what = "move";
  return in;
}

KernelProgram OneLaunch(KLaunch launch, long long chunks) {
  KernelProgram p;
  p.name = "test";
  p.chunk = 16;
  p.chunks = chunks;
  p.launches.push_back(std::move(launch));
  return p;
}

TEST_CASE("kernel: a dependency between pipes pays one flag hand-off") {
  const HardwareProfile& hw = Chip();
  KLaunch l;
  l.buffers = {{"GM", false}, {"L1", false}, {"L0A", false}};
  l.item = {Move(KPath::kGmToL1, 8192, {0}, {1}),
            Move(KPath::kL1ToL0A, 8192, {1}, {2})};
  l.items = 1;
  l.cores = 1;
  const KernelCost k = PriceKernel(OneLaunch(l, 1), hw);
  const double a = hw.curve_gm_to_l1.Cycles(8192);
  const double b = hw.curve_l1_to_l0a.Cycles(8192);
  CHECK(k.launches[0].item_latency == Approx(a + hw.flag_cycles + b));
  CHECK(k.total_cycles == Approx(hw.launch_cycles + a + hw.flag_cycles + b));
}

TEST_CASE("kernel: shared buffers serialise work items (no renaming)") {
  const HardwareProfile& hw = Chip();
  // Load into a buffer, then move it on: with one shared L1 buffer the next
  // item's load waits for this item's read of it (write-after-read); with a
  // buffer per slot the loads run ahead.
  const auto period = [&](bool per_slot, int slots) {
    KLaunch l;
    l.buffers = {{"GM", true}, {"L1", per_slot}, {"L0A", false}};
    l.item = {Move(KPath::kGmToL1, 32768, {0}, {1}),
              Move(KPath::kL1ToL0A, 32768, {1}, {2})};
    l.slots = slots;
    l.items = 64;
    l.cores = 1;
    return PriceKernel(OneLaunch(l, 64), hw).launches[0].item_period;
  };
  const double load = hw.curve_gm_to_l1.Cycles(32768);
  const double move = hw.curve_l1_to_l0a.Cycles(32768);
  CHECK(period(false, 1) == Approx(load + move + 2 * hw.flag_cycles));
  // Per-slot buffers: the loads (the busiest pipe) set the pace.
  CHECK(period(true, 4) == Approx(load));
}

TEST_CASE("kernel: a cross-core dependency pays the cross-core flag") {
  const HardwareProfile& hw = Chip();
  KLaunch l;
  l.buffers = {{"UB", false}, {"GM", false}, {"L1", false}};
  l.item = {Move(KPath::kUbToGm, 4096, {0}, {1}, /*core=*/1),
            Move(KPath::kGmToL1, 4096, {1}, {2}, /*core=*/0)};
  l.items = 1;
  l.cores = 1;
  const KernelCost k = PriceKernel(OneLaunch(l, 1), hw);
  CHECK(k.launches[0].item_latency ==
        Approx(hw.curve_ub_to_gm.Cycles(4096) + hw.kernel_cross_core_cycles +
               hw.curve_gm_to_l1.Cycles(4096)));
}

// Counts of one work item's instructions by kind and path.
struct Counts {
  int mmad = 0, fix_l1 = 0, full_mte1 = 0, extracts = 0;
};
Counts Count(const KernelProgram& p) {
  Counts c;
  for (const KInstr& in : p.launches.back().item) {
    if (in.kind == KInstr::Kind::kMmad) ++c.mmad;
    if (in.kind != KInstr::Kind::kMove) continue;
    if (in.path == KPath::kL0cToL1) ++c.fix_l1;
    if (in.path == KPath::kL1ToL0A || in.path == KPath::kL1ToL0B) {
      (in.bytes == 512 ? c.extracts : c.full_mte1) += 1;
    }
  }
  return c;
}

TEST_CASE("kernel: pto-mxr issues what KERNELS.md section 1 counts") {
  // ~16 / 20 / 24 full Mmads, ~9 / 11 / 13 FIXPIPE L0C -> L1, ~23 / 27 / 31
  // full-tile MTE1 moves at C = 32 / 64 / 128.
  const int chunks[] = {32, 64, 128};
  const int mmad[] = {16, 20, 24}, fix[] = {9, 11, 13}, mte1[] = {23, 27, 31};
  for (int i = 0; i < 3; ++i) {
    INFO("C = " << chunks[i]);
    const Counts c = Count(ReadKernel("pto-mxr", chunks[i], KernelWorkload{},
                                      KernelOptions{}, 24, 48));
    CHECK(c.mmad == mmad[i]);
    CHECK(c.fix_l1 == fix[i]);
    CHECK(c.full_mte1 == mte1[i]);
    CHECK(c.extracts > 0);
  }
}

TEST_CASE("kernel: cycles are linear in T once cores are busy") {
  for (const std::string& name : KernelReadings()) {
    for (int chunk : KernelChunks(name)) {
      INFO(name << " C = " << chunk);
      KernelWorkload w;
      w.seq = 8192;
      const auto price = [&](long long seq) {
        w.seq = seq;
        const KernelCost k = PriceKernel(
            ReadKernel(name, chunk, w, KernelOptions{}, 24, 48), Chip());
        return k.total_cycles -
               static_cast<double>(k.launches.size()) * Chip().launch_cycles;
      };
      CHECK(price(16384) == Approx(2 * price(8192)).epsilon(0.02));
    }
  }
}

TEST_CASE("kernel: zero-fill and launches are part of the timed call") {
  KernelWorkload w;
  const auto total = [&](bool fill) {
    w.zero_fill = fill;
    return PriceKernel(ReadKernel("pto-mxr", 64, w, KernelOptions{}, 24, 48),
                       Chip())
        .total_cycles;
  };
  const double elements = 32.0 * 4 * 16384 * 64;
  CHECK(
      total(true) - total(false) ==
      Approx(Chip().launch_cycles + elements * 4 / Chip().gm_bytes_per_cycle));
}

TEST_CASE("kernel: bad names and chunks are one-line errors") {
  CHECK_THROWS_WITH(
      ReadKernel("nope", 64, KernelWorkload{}, KernelOptions{}, 24, 48),
      Catch::Contains("--kernel nope: unknown kernel"));
  CHECK_THROWS_WITH(
      ReadKernel("pto-mxr", 48, KernelWorkload{}, KernelOptions{}, 24, 48),
      Catch::Contains("supports C in {16, 32, 64, 128}"));
  // The retired readings' names stand for the fla kernel plans.
  std::string method, kernel;
  CHECK(PlanForReading("tilelang-solve-tril", &method, &kernel));
  CHECK((method == "fla" && kernel == "tilelang"));
  CHECK(!PlanForReading("pto-mxr", &method, &kernel));
}

TEST_CASE("kernel: the trace uses msprof's track names") {
  KernelChoice tilelang;
  tilelang.name = "tilelang";
  const KernelCost k = PriceKernel(
      LowerKernelPlan(BuildKernelPlan("fla", MethodOptions{}, tilelang, 64),
                      PipelinePrecisionFor("fp16"), 1 << 12, true, Chip()),
      Chip(), 2);
  std::set<std::string> tracks;
  for (const KTraceEvent& e : k.trace) tracks.insert(KPipeName(e.pipe));
  for (const char* name :
       {"CUBE", "MTE1", "MTE2", "MTE3", "FIXP", "VECTOR", "SCALAR"}) {
    CHECK(tracks.count(name) == 1);
  }
}

TEST_CASE("kernel: issue 11's kernel plans are priced as issued") {
  // Every kernel plan lowers with one Mmad per product of its per-chunk
  // kMmad steps, and its price is linear in the chunks once cores are busy.
  for (const KernelInfo& info : AllKernels()) {
    for (int chunk : {32, 64}) {
      if (!info.chunks.empty() &&
          std::find(info.chunks.begin(), info.chunks.end(), chunk) ==
              info.chunks.end()) {
        continue;
      }
      INFO(info.method << " " << info.name << " C = " << chunk);
      KernelChoice choice;
      choice.name = info.name;
      MethodOptions options;  // mbh's pto needs blocks of 16 or more
      if (std::string(info.method) == "mbh") options.block = 16;
      const Plan plan = BuildKernelPlan(info.method, options, choice, chunk);
      long long products = 0;
      for (const Step& s : plan.steps) {
        if (s.op == OpKind::kMmad && !s.once_per_core) {
          products += static_cast<long long>(s.in.size() / 2);
        }
      }
      const PipelinePrecision fp16 = PipelinePrecisionFor("fp16");
      const KernelProgram p =
          LowerKernelPlan(plan, fp16, 1 << 14, true, Chip());
      long long mmads = 0;
      for (const KLaunch& l : p.launches) {
        for (const KInstr& in : l.item) mmads += in.kind == KInstr::Kind::kMmad;
      }
      CHECK(mmads == products);
      const auto price = [&](long long chunks) {
        const KernelCost k = PriceKernel(
            LowerKernelPlan(plan, fp16, chunks, false, Chip()), Chip());
        return k.total_cycles -
               static_cast<double>(k.launches.size()) * Chip().launch_cycles;
      };
      CHECK(price(1 << 15) == Approx(2 * price(1 << 14)).epsilon(0.02));
    }
  }
  // A math-level plan is refused.
  CHECK_THROWS_WITH(
      LowerKernelPlan(BuildPlan("mxr", MethodOptions{}, 64),
                      PipelinePrecisionFor("fp16"), 1, true, Chip()),
      Catch::Contains("math-level plan"));
}

}  // namespace
}  // namespace trisim
