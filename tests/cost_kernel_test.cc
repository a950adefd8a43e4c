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

TEST_CASE("kernel: a dependency between pipes pays one flag hand-off",
          "[sim][cost][kernel]") {
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

TEST_CASE("kernel: shared buffers serialise work items (no renaming)",
          "[sim][cost][kernel]") {
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

TEST_CASE("kernel: a cross-core dependency pays the cross-core flag",
          "[sim][cost][kernel]") {
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

KInstr Flag(KInstr::Kind kind, KPipe from, KPipe to, int event,
            bool cross = false) {
  KInstr in;
  in.kind = kind;
  in.flag_from = from;
  in.flag_to = to;
  in.event = event;
  in.cross_core = cross;
  in.from_core = 0;
  in.to_core = cross ? 1 : 0;
  in.core = kind == KInstr::Kind::kWaitFlag ? in.to_core : in.from_core;
  in.what = "flag";
  return in;
}

TEST_CASE("kernel: the plan's own flags order otherwise independent pipes",
          "[sim][cost][kernel]") {
  const HardwareProfile& hw = Chip();
  // Two moves on different pipes touching different buffers: in parallel,
  // unless a set/wait pair orders them (then flag_cycles after the first).
  const auto latency = [&](bool flags, bool cross) {
    KLaunch l;
    l.buffers = {{"A", false}, {"B", false}, {"C", false}, {"D", false}};
    l.item.push_back(Move(KPath::kGmToL1, 8192, {0}, {1}));
    if (flags) {
      const KPipe to = cross ? KPipe::kMte2 : KPipe::kMte1;
      l.item.push_back(
          Flag(KInstr::Kind::kSetFlag, KPipe::kMte2, to, 0, cross));
      l.item.push_back(
          Flag(KInstr::Kind::kWaitFlag, KPipe::kMte2, to, 0, cross));
    }
    l.item.push_back(cross ? Move(KPath::kGmToUb, 8192, {2}, {3}, 1)
                           : Move(KPath::kL1ToL0A, 8192, {2}, {3}));
    l.items = 1;
    l.cores = 1;
    return PriceKernel(OneLaunch(l, 1), hw).launches[0].item_latency;
  };
  const double a = hw.curve_gm_to_l1.Cycles(8192);
  CHECK(latency(false, false) == Approx(a));  // the longer move alone
  CHECK(latency(true, false) ==
        Approx(a + hw.flag_cycles + hw.curve_l1_to_l0a.Cycles(8192)));
  CHECK(latency(true, true) == Approx(a + hw.kernel_cross_core_cycles +
                                      hw.curve_gm_to_ub.Cycles(8192)));
}

TEST_CASE("kernel: a wait before its set takes the set of `slots` items ago",
          "[sim][cost][kernel]") {
  const HardwareProfile& hw = Chip();
  // wait(M -> MTE2) before the load, set after the Mmad (the per-tile event
  // of a persistent kernel): with 1 slot the next load waits for this
  // item's Mmad, with 2 slots for the one two items back.
  const auto period = [&](int slots) {
    KLaunch l;
    l.buffers = {{"GM", true}, {"L1", true}, {"L0C", true}};
    l.item = {Flag(KInstr::Kind::kWaitFlag, KPipe::kCube, KPipe::kMte2, 0),
              Move(KPath::kGmToL1, 32768, {0}, {1})};
    KInstr mmad;
    mmad.kind = KInstr::Kind::kMmad;
    mmad.m = mmad.n = mmad.k = 128;
    mmad.reads = {1};
    mmad.writes = {2};
    l.item.push_back(mmad);
    l.item.push_back(
        Flag(KInstr::Kind::kSetFlag, KPipe::kCube, KPipe::kMte2, 0));
    l.slots = slots;
    l.items = 48;
    l.cores = 1;
    return PriceKernel(OneLaunch(l, 48), hw).launches[0].item_period;
  };
  const double load = hw.curve_gm_to_l1.Cycles(32768);
  const double mmad = InstrCycles(
      [] {
        KInstr m;
        m.kind = KInstr::Kind::kMmad;
        m.m = m.n = m.k = 128;
        return m;
      }(),
      hw);
  CHECK(period(1) == Approx(load + mmad + 2 * hw.flag_cycles));
  CHECK(period(2) < period(1));
  CHECK(period(4) == Approx(std::max(load, mmad)));
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

TEST_CASE("kernel: pto-mxr issues what KERNELS.md section 1 counts",
          "[sim][cost][kernel]") {
  // ~16 / 20 / 24 full Mmads, ~9 / 11 / 13 FIXPIPE L0C -> L1, ~23 / 27 / 31
  // full-tile MTE1 moves at C = 32 / 64 / 128.
  const int chunks[] = {32, 64, 128};
  const int mmad[] = {16, 20, 24}, fix[] = {9, 11, 13}, mte1[] = {23, 27, 31};
  for (int i = 0; i < 3; ++i) {
    INFO("C = " << chunks[i]);
    const Counts c =
        Count(ReadKernel("pto-mxr", chunks[i], KernelWorkload{}, 24, 48));
    CHECK(c.mmad == mmad[i]);
    CHECK(c.fix_l1 == fix[i]);
    CHECK(c.full_mte1 == mte1[i]);
    CHECK(c.extracts > 0);
  }
}

TEST_CASE("kernel: cycles are linear in T once cores are busy",
          "[sim][cost][kernel]") {
  for (const std::string& name : KernelReadings()) {
    for (int chunk : KernelChunks(name)) {
      INFO(name << " C = " << chunk);
      KernelWorkload w;
      w.seq = 8192;
      const auto price = [&](long long seq) {
        w.seq = seq;
        const KernelCost k =
            PriceKernel(ReadKernel(name, chunk, w, 24, 48), Chip());
        return k.total_cycles -
               static_cast<double>(k.launches.size()) * Chip().launch_cycles;
      };
      CHECK(price(16384) == Approx(2 * price(8192)).epsilon(0.02));
    }
  }
}

TEST_CASE("kernel: zero-fill and launches are part of the timed call",
          "[sim][cost][kernel]") {
  KernelWorkload w;
  const auto total = [&](bool fill) {
    w.zero_fill = fill;
    return PriceKernel(ReadKernel("pto-mxr", 64, w, 24, 48), Chip())
        .total_cycles;
  };
  const double elements = 32.0 * 4 * 16384 * 64;
  CHECK(
      total(true) - total(false) ==
      Approx(Chip().launch_cycles + elements * 4 / Chip().gm_bytes_per_cycle));
}

TEST_CASE("kernel: bad names and chunks are one-line errors",
          "[sim][cost][kernel]") {
  CHECK_THROWS_WITH(ReadKernel("nope", 64, KernelWorkload{}, 24, 48),
                    Catch::Contains("--kernel nope: unknown kernel"));
  CHECK_THROWS_WITH(ReadKernel("pto-mxr", 48, KernelWorkload{}, 24, 48),
                    Catch::Contains("supports C in {16, 32, 64, 128}"));
  // The retired readings' names stand for the fla kernel plans.
  std::string method, kernel;
  CHECK(PlanForReading("tilelang-solve-tril", &method, &kernel));
  CHECK((method == "fla" && kernel == "tilelang"));
  CHECK(!PlanForReading("pto-mxr", &method, &kernel));
}

TEST_CASE("kernel: the trace uses msprof's track names",
          "[sim][cost][kernel]") {
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

TEST_CASE("kernel: issue 11's kernel plans are priced as issued",
          "[sim][cost][kernel]") {
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

TEST_CASE("kernel: a plan's flags are priced and traced as issued",
          "[sim][cost][kernel]") {
  // neumann pto: every kSync step of a chunk becomes a flag instruction,
  // the trace shows them on msprof's tracks, and int8 prices the int8
  // fractal (cheaper Mmads, same FIXPIPE passes).
  const Plan plan =
      BuildKernelPlan("neumann", MethodOptions{}, ParseKernelChoice("pto"), 64);
  int syncs = 0;
  for (const Step& s : plan.steps) {
    syncs += s.op == OpKind::kSync && !s.once_per_core &&
             s.sync.kind != Sync::Kind::kVectorScalar;
  }
  const KernelProgram p = LowerKernelPlan(plan, PipelinePrecisionFor("fp16"),
                                          1 << 14, true, Chip());
  int flags = 0;
  for (const KInstr& in : p.launches.back().item) {
    flags +=
        in.kind == KInstr::Kind::kSetFlag || in.kind == KInstr::Kind::kWaitFlag;
  }
  CHECK(syncs > 0);
  CHECK(flags == syncs);
  const KernelCost k = PriceKernel(p, Chip(), 2);
  std::set<std::string> tracks;
  for (const KTraceEvent& e : k.trace) {
    if (e.what.rfind("set_flag(", 0) == 0 ||
        e.what.rfind("wait_flag(", 0) == 0) {
      tracks.insert(KPipeName(e.pipe));
    }
  }
  CHECK(tracks.count("CUBE") == 1);
  CHECK(tracks.count("FIXP") == 1);
  CHECK(tracks.count("MTE1") == 1);
  const KernelCost int8 =
      PriceKernel(LowerKernelPlan(plan, PipelinePrecisionFor("int8"), 1 << 14,
                                  true, Chip()),
                  Chip());
  CHECK(int8.chunk_cycles < k.chunk_cycles);
}

}  // namespace
}  // namespace trisim
