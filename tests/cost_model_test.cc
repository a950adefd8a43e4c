// Cost model (sim/cost_model.h): calibration against the public figures in
// ../shared/docs/NPU.md that the model reproduces by construction, scaling
// behaviour, buffer checks and placement.
#include "sim/cost_model.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstring>

#include "core/methods.h"
#include "core/status.h"
#include "sim/profile.h"

namespace trisim {
namespace {

constexpr int kM = static_cast<int>(Pipe::kCube);
constexpr int kFix = static_cast<int>(Pipe::kFix);

// X = sum_{t < terms} L L: one kMatMul step with `terms` products.
Plan ProductPlan(int chunk, int terms) {
  PlanBuilder b("test-product", "terms=" + std::to_string(terms), chunk);
  const View l = b.NewBuffer("L", chunk, chunk, BufferRole::kInput);
  const View x = b.NewBuffer("X", chunk, chunk, BufferRole::kOutput);
  std::vector<View> factors;
  for (int t = 0; t < terms; ++t) {
    factors.push_back(l);
    factors.push_back(l);
  }
  b.MatMul(x, factors, 1.0, "X = sum L L");
  return b.Finish(l, x);
}

Workload Chunks(long long chunks, int chunk) {
  Workload w;
  w.batch = 1;
  w.heads = 1;
  w.seq = chunks * chunk;
  return w;
}

CostReport Price(const std::string& method, int chunk,
                 const std::string& precision, const Workload& workload,
                 const HardwareProfile& hw) {
  return EstimateCost(BuildPlan(method, MethodOptions{}, chunk),
                      PipelinePrecisionFor(precision), workload, hw);
}

// Cycles of the first chunk-0 instruction named `what`.
double FirstInstruction(const CostReport& r, const char* what) {
  for (const Instruction& in : r.timeline) {
    if (in.chunk == 0 && std::strcmp(in.what, what) == 0) {
      return in.end - in.start;
    }
  }
  FAIL("no instruction " << what);
  return 0;
}

const HardwareProfile& Default() {
  static const HardwareProfile hw = LoadProfile(kDefaultProfile);
  return hw;
}

// ---------------------------------------------------------------------------
// Calibration (issue 5 item 5).

TEST_CASE("calibration: one fp16 fractal Mmad costs 1 cycle + head") {
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

TEST_CASE("calibration: 1 KB moves on each path") {
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

TEST_CASE("calibration: double-buffered GEMM rule max(MTE2, k x MAD)") {
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

TEST_CASE("scaling: cycles grow linearly with T once cores are busy") {
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

TEST_CASE("scaling: doubling cores halves time until a pipe saturates") {
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

TEST_CASE("scaling: a tiny problem uses no more cores than it has chunks") {
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

TEST_CASE("working sets: double buffering is dropped, overflow reported") {
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

TEST_CASE("working sets: Mmad operands are tiled to half of L0A/L0B") {
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

TEST_CASE("placement: only plans mixing units pay cube <-> vector transfers") {
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

TEST_CASE("precision: int16 emulation takes 4 int8 Mmads per product") {
  const Plan plan = ProductPlan(64, 1);
  const CostReport int8 = EstimateCost(plan, PipelinePrecisionFor("int8"),
                                       Chunks(1, 64), Default());
  const CostReport emu = EstimateCost(plan, PipelinePrecisionFor("int16-emu"),
                                      Chunks(1, 64), Default());
  CHECK(emu.steps[0].cycles[kM] == Approx(4 * int8.steps[0].cycles[kM]));
  // fp32 runs at a quarter of fp16's k per cycle: 16x16x4 vs 16x16x16.
  const CostReport fp16 = EstimateCost(plan, PipelinePrecisionFor("fp16"),
                                       Chunks(1, 64), Default());
  const CostReport fp32 = EstimateCost(plan, PipelinePrecisionFor("fp32"),
                                       Chunks(1, 64), Default());
  const double head = Default().mmad_start_cycles;
  CHECK(fp32.steps[0].cycles[kM] - head ==
        Approx(4 * (fp16.steps[0].cycles[kM] - head)));
  // Quantising FIXPIPE writes int8 at 64 B/cycle (NPU.md), the plain path
  // fp16 at 128 B/cycle: the same element rate.
  CHECK(int8.steps[0].cycles[kFix] > 0);
}

TEST_CASE("precision: recipe names") {
  for (const std::string& name : CostPrecisions()) {
    CHECK_NOTHROW(PipelinePrecisionFor(name));
  }
  CHECK_THROWS_AS(PipelinePrecisionFor("int3"), InputError);
  const PipelinePrecision fp64 = PipelinePrecisionFor("fp64");
  CHECK(fp64.cube == CubeDataType::kFp32);
  CHECK(fp64.operand_bytes == 4);
}

TEST_CASE("precision: byte counts follow the recipe's fields") {
  // COST_MODEL.md section 2: in = input, operand = operand, vector and
  // FIXPIPE out = storage (integer operands: requantised to the operand),
  // X = output.
  struct Row {
    const char* recipe;
    double in, operand, fix_out, vector, out;
    int accumulator;
  };
  const Row rows[] = {
      {"fp64", 4, 4, 4, 4, 4, 4},      {"fp32", 4, 4, 4, 4, 4, 4},
      {"hf32", 4, 4, 4, 4, 4, 4},      {"fp16", 2, 2, 2, 2, 2, 4},
      {"bf16", 2, 2, 2, 2, 2, 4},      {"fp16-acc32", 2, 2, 4, 4, 4, 4},
      {"int8", 2, 1, 1, 2, 2, 4},      {"int8-block16", 2, 1, 1, 2, 2, 4},
      {"int16-emu", 4, 2, 2, 4, 4, 4}, {"int16-acc64", 4, 2, 2, 4, 4, 8},
  };
  for (const Row& row : rows) {
    INFO(row.recipe);
    const PipelinePrecision p = PipelinePrecisionFor(row.recipe);
    CHECK(p.input_bytes == row.in);
    CHECK(p.operand_bytes == row.operand);
    CHECK(p.fixpipe_out_bytes == row.fix_out);
    CHECK(p.vector_bytes == row.vector);
    CHECK(p.output_bytes == row.out);
    CHECK(p.accumulator_bytes == row.accumulator);
  }
  CHECK(PipelinePrecisionFor("int8").fixpipe_quantises);
  CHECK_FALSE(PipelinePrecisionFor("fp16").fixpipe_quantises);
  CHECK(PipelinePrecisionFor("int8-block16").k_group == 16);
  CHECK(PipelinePrecisionFor("int16-emu").fixpipe_passes == 3);
  CHECK(PipelinePrecisionFor("int16-acc64").cube == CubeDataType::kInt16Native);
  // The output format is the recipe's: fp32 out costs twice fp16's bytes.
  Recipe out32 = LoadRecipe("fp16");
  out32.output = quant::Format::kFp32;
  CHECK(PipelinePrecisionFor(out32).output_bytes == 4);
}

TEST_CASE("EstimateCost is a pure function of its inputs") {
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
