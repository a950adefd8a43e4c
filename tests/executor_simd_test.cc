// The executor's fast path (ExecOptions{}) against its scalar reference
// (ExecOptions{.scalar = true}), bit for bit in X, event counts and per-step
// statistics, on every Highway target this machine supports and the build
// generated (issue 10 item 4): every built-in recipe plus stochastic and
// saturating variants, every method, every kernel plan a recipe can run.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cstring>
#include <string>
#include <vector>

#include "core/inputs.h"
#include "core/kernels.h"
#include "core/methods.h"
#include "core/status.h"
#include "hwy/highway.h"
#include "hwy/targets.h"
#include "sim/executor.h"
#include "sim/recipe.h"

namespace trisim {
namespace {

struct Outcome {
  Mat x;
  RunRecord record;
};

Outcome RunOnce(const Plan& plan, const Recipe& recipe, ExecOptions options,
                const Mat& l, uint64_t seed) {
  Executor executor(plan, recipe, options);
  Outcome o;
  o.x = executor.Run(l, seed, &o.record);
  return o;
}

bool SameBits(const Mat& a, const Mat& b) {
  return a.rows() == b.rows() && a.cols() == b.cols() &&
         std::memcmp(a.data(), b.data(), sizeof(double) * a.size()) == 0;
}

void RequireSame(const Outcome& fast, const Outcome& scalar) {
  REQUIRE(SameBits(fast.x, scalar.x));
  REQUIRE(fast.record.input_events == scalar.record.input_events);
  REQUIRE(fast.record.output_events == scalar.record.output_events);
  REQUIRE(fast.record.steps.size() == scalar.record.steps.size());
  for (size_t s = 0; s < fast.record.steps.size(); ++s) {
    INFO("step " << s);
    const StepStats& f = fast.record.steps[s];
    const StepStats& r = scalar.record.steps[s];
    REQUIRE(f.events == r.events);
    REQUIRE(std::memcmp(&f.max_abs, &r.max_abs, sizeof(double)) == 0);
    REQUIRE(f.nonfinite == r.nonfinite);
  }
}

// Built-in recipes, plus variants whose rounding draws stochastic bits
// (the stream layout of sim/executor.h matters only there) or saturates.
std::vector<Recipe> Recipes() {
  std::vector<Recipe> recipes;
  for (const Recipe& r : BuiltinRecipes()) {
    recipes.push_back(r);
    if (r.exact) continue;
    Recipe sr = r;
    sr.name += "+stochastic";
    sr.rounding = quant::RoundingMode::kStochastic;
    recipes.push_back(sr);
  }
  Recipe sat = LoadRecipe("fp16");
  sat.name = "fp16+saturate";
  sat.float_overflow = quant::FloatOverflow::kSaturate;
  sat.vector = quant::Format::kFp16;
  recipes.push_back(sat);
  return recipes;
}

// Every method's default plan and every kernel plan, at C = 32.
std::vector<Plan> Plans() {
  std::vector<Plan> plans;
  for (const MethodInfo& m : AllMethods()) {
    plans.push_back(BuildPlan(m.name, {}, 32));
  }
  // fla at C = 64 merges with more than 5 operands (the extra operand
  // streams of sim/executor.h).
  plans.push_back(BuildPlan("fla", {}, 64));
  for (const KernelInfo& k : AllKernels()) {
    if (!k.chunks.empty() &&
        std::find(k.chunks.begin(), k.chunks.end(), 32) == k.chunks.end()) {
      continue;
    }
    KernelChoice choice;
    choice.name = k.name;
    // Default options, or the first block size a kernel accepts.
    MethodOptions options;
    for (int block : {0, 16}) {
      if (block > 0) options.block = block;
      try {
        plans.push_back(BuildKernelPlan(k.method, options, choice, 32));
        break;
      } catch (const InputError&) {
      }
    }
  }
  return plans;
}

TEST_CASE("executor fast path equals the scalar reference on every target",
          "[sim][executor][simd]") {
  // gdn chunks (the realistic case) and a uniform one with larger entries
  // (powers of L grow: overflow and saturation events under fp16).
  auto inputs_of = [](int c) {
    return std::vector<Mat>{MakeInputSource("gdn:rho=0.5", c, 3)->Sample(0).a,
                            MakeInputSource("uniform:2", c, 5)->Sample(1).a};
  };
  const std::vector<Mat> inputs32 = inputs_of(32), inputs64 = inputs_of(64);
  const std::vector<Plan> plans = Plans();
  for (const Recipe& recipe : Recipes()) {
    for (const Plan& plan : plans) {
      // Kernel plans refuse some recipes (sim/executor.h CheckKernelRecipe).
      try {
        Executor check(plan, recipe);
      } catch (const InputError&) {
        continue;
      }
      const std::vector<Mat>& inputs = plan.chunk == 32 ? inputs32 : inputs64;
      for (size_t n = 0; n < inputs.size(); ++n) {
        const uint64_t seed = 11 + n;
        // The specification, computed once: it does not dispatch.
        const Outcome scalar =
            RunOnce(plan, recipe, ExecOptions{true}, inputs[n], seed);
        for (int64_t target : hwy::SupportedAndGeneratedTargets()) {
          hwy::SetSupportedTargetsForTest(target);
          INFO(hwy::TargetName(target)
               << ": " << plan.method << (plan.IsKernelPlan() ? " kernel " : "")
               << plan.kernel.name << " under " << recipe.name << ", input "
               << n);
          RequireSame(RunOnce(plan, recipe, ExecOptions{}, inputs[n], seed),
                      scalar);
        }
        hwy::SetSupportedTargetsForTest(0);
      }
    }
  }
  hwy::SetSupportedTargetsForTest(0);
}

}  // namespace
}  // namespace trisim
