// Kernel-level plans (core/plan.h, core/kernels/): structure as the source
// issues it, executor semantics of the kernel steps, refusals, and that
// math-level plans are untouched. Bit-exactness against an independent
// emulation of the published kernel: tests/kernel_pto_emulation_test.py.
#include "core/kernels.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <map>
#include <tuple>

#include "core/inputs.h"
#include "core/methods.h"
#include "core/random.h"
#include "core/status.h"
#include "sim/executor.h"
#include "sim/recipe.h"

namespace trisim {
namespace {

int CountStores(const Plan& p, Memory to) {
  int n = 0;
  for (const Step& s : p.steps) {
    if (s.op == OpKind::kStore && !s.once_per_core &&
        p.buffers[s.out.buffer].memory == to) {
      ++n;
    }
  }
  return n;
}

int CountPerItem(const Plan& p, OpKind op) {
  int n = 0;
  for (const Step& s : p.steps) n += s.op == op && !s.once_per_core;
  return n;
}

Mat RandomLower(int n, uint64_t seed, double scale) {
  Rng rng(seed, 0);
  Mat l = Mat::Zero(n, n);
  for (int i = 0; i < n; ++i) {
    for (int j = 0; j < i; ++j) l(i, j) = scale * rng.Uniform();
  }
  return l;
}

TEST_CASE("math-level plans are unchanged by the kernel IR",
          "[core][kernels]") {
  for (const MethodInfo& m : AllMethods()) {
    for (int c : {16, 64}) {
      const Plan plan = BuildPlan(m.name, MethodOptions{}, c);
      const Plan same =
          BuildKernelPlan(m.name, MethodOptions{}, KernelChoice{}, c);
      CHECK(plan.Describe() == same.Describe());
      CHECK_FALSE(plan.IsKernelPlan());
      CHECK(plan.launches.empty());
      for (const Step& s : plan.steps) {
        CHECK(s.pipe == KernelPipe::kNone);
        CHECK((s.op != OpKind::kMmad && s.op != OpKind::kStore &&
               s.op != OpKind::kSync && s.op != OpKind::kTranspose));
      }
      for (const Buffer& b : plan.buffers) {
        CHECK(b.memory == Memory::kNone);
        CHECK(b.format == FormatClass::kDefault);
      }
      CHECK(plan.Describe().find("kernel") == std::string::npos);
    }
  }
}

TEST_CASE("pto plan issues what KERNELS.md section 1 counts",
          "[core][kernels]") {
  // Full C x C Mmads per chunk 16 / 20 / 24 and FIXPIPE L0C -> L1 passes
  // 9 / 11 / 13 at C = 32 / 64 / 128, one fp32 TSTORE to GM.
  const int mmads[] = {16, 20, 24};
  const int fixpipes[] = {9, 11, 13};
  int k = 0;
  for (int c : {32, 64, 128}) {
    const Plan p = BuildKernelPlan("mxr", {}, ParseKernelChoice("pto"), c);
    REQUIRE(p.IsKernelPlan());
    CHECK(CountPerItem(p, OpKind::kMmad) == mmads[k]);
    CHECK(CountStores(p, Memory::kL1) == fixpipes[k]);
    CHECK(CountStores(p, Memory::kGM) == 1);
    for (const Step& s : p.steps) {
      if (s.op != OpKind::kMmad) continue;
      for (const View& v : s.in) CHECK((v.rows == c && v.cols == c));
      CHECK(s.pipe == KernelPipe::kM);
    }
    // pto-resident drops the X I seeding Mmad of each of the 3 levels.
    const Plan r =
        BuildKernelPlan("mxr", {}, ParseKernelChoice("pto-resident"), c);
    CHECK(CountPerItem(r, OpKind::kMmad) == mmads[k] - 3);
    CHECK(p.CountSteps(OpKind::kSync) > 2 * mmads[k]);  // flags everywhere
    CHECK(p.launches.size() == 4);
    CHECK(p.launches[0].zero_fill);
    CHECK(p.kernel.items_loaded_per_core == 4);
    CHECK(p.kernel.items_computed_per_core == 1);
    ++k;
  }
  // Every set_flag has a wait_flag on the same (from, to, event).
  const Plan p = BuildKernelPlan("mxr", {}, ParseKernelChoice("pto"), 64);
  std::map<std::tuple<int, int, int>, int> balance;
  for (const Step& s : p.steps) {
    if (s.op != OpKind::kSync) continue;
    const auto key = std::make_tuple(static_cast<int>(s.sync.from),
                                     static_cast<int>(s.sync.to), s.sync.event);
    if (s.sync.kind == Sync::Kind::kSetFlag) ++balance[key];
    if (s.sync.kind == Sync::Kind::kWaitFlag) --balance[key];
  }
  // The main loop's cross-iteration flags (M -> MTE2, FIX -> M) are set at
  // the end of a chunk for the next one; everything else balances.
  for (const auto& [key, count] : balance) {
    const bool carried =
        (std::get<0>(key) == static_cast<int>(KernelPipe::kM) &&
         std::get<1>(key) == static_cast<int>(KernelPipe::kMTE2)) ||
        (std::get<0>(key) == static_cast<int>(KernelPipe::kFIX) &&
         std::get<1>(key) == static_cast<int>(KernelPipe::kM) &&
         std::get<2>(key) == 0);
    if (!carried) CHECK(count == 0);
  }
}

TEST_CASE("a continued Mmad equals one Mmad over all terms",
          "[core][kernels]") {
  // TMATMUL then TMATMUL_ACC == one accumulation over the concatenated
  // terms: the accumulator continues from its fp32 value, nothing rounds
  // in between (sim/cube.h CubeMmad).
  const Recipe recipe = LoadRecipe("pto-fp16");
  PlanBuilder b("mxr", "", 16);
  KernelFacts facts;
  facts.name = "pto";  // checked against pto's recipe requirements
  b.SetKernel(facts);
  const View l = b.NewTile("L", 16, 16, Memory::kGM, FormatClass::kInput,
                           BufferRole::kInput);
  const View x = b.NewTile("X", 16, 16, Memory::kGM, FormatClass::kOutput,
                           BufferRole::kOutput);
  const View x2 = b.NewTile("X2", 16, 16, Memory::kGM, FormatClass::kOutput);
  const View a = b.NewTile("a", 16, 16, Memory::kL0A, FormatClass::kStorage);
  const View c1 =
      b.NewTile("c1", 16, 16, Memory::kL0C, FormatClass::kAccumulator,
                BufferRole::kAccumulator);
  const View c2 =
      b.NewTile("c2", 16, 16, Memory::kL0C, FormatClass::kAccumulator,
                BufferRole::kAccumulator);
  b.Copy(a, l, "a = L");
  b.Mmad(c1, {a, a}, false, "c1 = L L");
  b.Mmad(c1, {a, l}, true, "c1 += L L");
  b.Mmad(c2, {a, a, a, l}, false, "c2 = L L + L L");
  b.Store(x, c1, "x");
  b.Store(x2, c2, "x2");
  const Plan plan = b.Finish(l, x);
  for (uint64_t seed = 0; seed < 20; ++seed) {
    Executor e(plan, recipe);
    RunRecord record;
    record.keep_buffers = true;
    const Mat got = e.Run(RandomLower(16, seed, 3.0), seed, &record);
    const auto& last = record.buffer_after_step.back();  // X2 after step
    for (int i = 0; i < 16; ++i) {
      for (int j = 0; j < 16; ++j) CHECK(got(i, j) == last[i * 16 + j]);
    }
  }
}

TEST_CASE("pto kernels invert exactly under fp64 and closely in fp16",
          "[core][kernels]") {
  for (const char* method : {"mxr", "mch", "mbh"}) {
    for (const char* kernel : {"pto", "pto-resident"}) {
      for (int c : {16, 32, 64}) {
        MethodOptions options;
        if (std::string(method) == "mbh") options.block = 16;
        const Plan p =
            BuildKernelPlan(method, options, ParseKernelChoice(kernel), c);
        const Mat l = RandomLower(c, 7, 0.1);
        const Mat exact = (Mat::Identity(c, c) + l).inverse();
        Executor fp64(p, LoadRecipe("fp64"));
        CHECK((fp64.Run(l) - exact).norm() / exact.norm() < 1e-13);
        Executor fp16(p, LoadRecipe("pto-fp16"));
        CHECK((fp16.Run(l) - exact).norm() / exact.norm() < 5e-3);
      }
    }
  }
}

TEST_CASE("kernels refuse what they cannot express", "[core][kernels]") {
  CHECK_THROWS_AS(BuildKernelPlan("fla", {}, ParseKernelChoice("pto"), 64),
                  InputError);
  CHECK_THROWS_AS(BuildKernelPlan("mxr", {}, ParseKernelChoice("nope"), 64),
                  InputError);
  CHECK_THROWS_AS(
      BuildKernelPlan("mxr", {}, ParseKernelChoice("pto:block=8"), 64),
      InputError);
  CHECK_THROWS_AS(
      BuildKernelPlan("mxr", {}, ParseKernelChoice("pto:size=8"), 64),
      InputError);
  CHECK_THROWS_AS(ParseKernelChoice("pto:block"), InputError);
  CHECK_THROWS_AS(BuildKernelPlan("mxr", {}, ParseKernelChoice("pto"), 256),
                  InputError);
  CHECK_THROWS_AS(BuildKernelPlan("mbh", {}, ParseKernelChoice("pto"), 64),
                  InputError);  // --block 1 < 16
  const Plan p = BuildKernelPlan("mxr", {}, ParseKernelChoice("pto"), 64);
  CHECK_THROWS_AS(Executor(p, LoadRecipe("int8")), InputError);
  CHECK_NOTHROW(Executor(p, LoadRecipe("fp16")));
  CHECK_NOTHROW(Executor(p, LoadRecipe("bf16")));
}

TEST_CASE("neumann pto issues 4 Mmads and 2 FIXPIPEs per Richardson step",
          "[kernels]") {
  // Per chunk: (-I) L and (-I) I (Lneg, Mneg: 2 Mmads, 2 FIXPIPEs), N
  // Horner levels (2 Mmads, 1 FIXPIPE each), then per step 4 Mmads / 2
  // FIXPIPEs (pto) or 3 / 2 (pto-resident, plus its X seed); the last X
  // leaves to GM.
  for (int n : {16, 64}) {
    for (int steps : {0, 1, 8}) {
      MethodOptions o;
      o.order = 3;
      o.steps = steps;
      INFO("C = " << n << " S = " << steps);
      const Plan pto =
          BuildKernelPlan("neumann", o, ParseKernelChoice("pto"), n);
      const Plan res =
          BuildKernelPlan("neumann", o, ParseKernelChoice("pto-resident"), n);
      const int lm = steps > 0 ? 2 : 1;  // Mneg only with residual steps
      CHECK(CountPerItem(pto, OpKind::kMmad) == lm + 6 + 4 * steps);
      CHECK(CountPerItem(res, OpKind::kMmad) ==
            lm + 6 + 3 * steps + (steps > 0));
      CHECK(CountStores(pto, Memory::kL1) == lm + 3 + 2 * steps - 1);
      CHECK(CountStores(res, Memory::kL1) == lm + 3 + 2 * steps - 1);
      CHECK(CountStores(pto, Memory::kGM) == 1);
      // Every flag set in a chunk is waited in it (MTE1 -> MTE2: waited at
      // the chunk's start, set again when L's slot is free; the prologue
      // sets it once).
      std::map<std::tuple<int, int, int>, int> open;
      for (const Step& s : pto.steps) {
        if (s.op != OpKind::kSync || s.once_per_core) continue;
        const auto key =
            std::make_tuple(static_cast<int>(s.sync.from),
                            static_cast<int>(s.sync.to), s.sync.event);
        if (s.sync.kind == Sync::Kind::kSetFlag) ++open[key];
        if (s.sync.kind == Sync::Kind::kWaitFlag) --open[key];
      }
      for (const auto& [key, count] : open) CHECK(count == 0);
    }
  }
  // The product form: P = I - M X0 once, then 3 Mmads per step (2 for X,
  // P P but in the last step).
  MethodOptions o;
  o.steps = 4;
  o.residual = ResidualForm::kProduct;
  const Plan p = BuildKernelPlan("neumann", o, ParseKernelChoice("pto"), 64);
  CHECK(CountPerItem(p, OpKind::kMmad) == 2 + 6 + 2 + 3 * 4 - 1);
}

TEST_CASE("neumann pto inverts exactly under fp64, closely in fp16 and int8",
          "[kernels]") {
  for (const char* kernel : {"pto", "pto-resident"}) {
    for (const ResidualForm form :
         {ResidualForm::kRichardson, ResidualForm::kNewton,
          ResidualForm::kProduct}) {
      for (int c : {16, 64}) {
        MethodOptions o;
        o.residual = form;
        o.steps = form == ResidualForm::kRichardson ? 16 : 5;
        INFO(kernel << " " << ResidualFormName(form) << " C = " << c);
        const Plan p =
            BuildKernelPlan("neumann", o, ParseKernelChoice(kernel), c);
        const Mat l = RandomLower(c, 3, 0.1);
        const Mat exact = (Mat::Identity(c, c) + l).inverse();
        Executor fp64(p, LoadRecipe("fp64"));
        CHECK((fp64.Run(l) - exact).norm() / exact.norm() < 1e-13);
        Executor fp16(p, LoadRecipe("pto-fp16"));
        CHECK((fp16.Run(l) - exact).norm() / exact.norm() < 5e-3);
        Executor int8(p, LoadRecipe("int8"));
        CHECK((int8.Run(l) - exact).norm() / exact.norm() < 5e-2);
      }
    }
  }
  // A block mask by fractal extraction: the series masked, then corrected.
  MethodOptions o;
  o.mask = ParseMask("block:16");
  o.steps = 20;
  const Plan p = BuildKernelPlan("neumann", o, ParseKernelChoice("pto"), 64);
  const Mat l = RandomLower(64, 5, 0.05);
  const Mat exact = (Mat::Identity(64, 64) + l).inverse();
  Executor fp64(p, LoadRecipe("fp64"));
  CHECK((fp64.Run(l) - exact).norm() / exact.norm() < 1e-12);
}

TEST_CASE("neumann pto refuses what it cannot express", "[kernels]") {
  MethodOptions band;
  band.mask = ParseMask("band:3");
  CHECK_THROWS_WITH(
      BuildKernelPlan("neumann", band, ParseKernelChoice("pto"), 64),
      Catch::Contains("band mask"));
  MethodOptions small;
  small.mask = ParseMask("block:8");
  CHECK_THROWS_WITH(
      BuildKernelPlan("neumann", small, ParseKernelChoice("pto"), 64),
      Catch::Contains("multiple of 16"));
  const Plan p = BuildKernelPlan("neumann", {}, ParseKernelChoice("pto"), 64);
  CHECK_NOTHROW(Executor(p, LoadRecipe("int8")));
  CHECK_NOTHROW(Executor(p, LoadRecipe("int16-emu")));
  CHECK_NOTHROW(Executor(p, LoadRecipe("int8-block16")));
}

}  // namespace
}  // namespace trisim
