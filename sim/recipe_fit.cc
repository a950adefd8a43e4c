#include "sim/recipe_fit.h"

#include <algorithm>
#include <string>

#include "core/status.h"
#include "quant/format.h"
#include "quant/scale.h"

namespace trisim {
namespace {

bool IsPowerOfTwo(int64_t v) { return v > 0 && (v & (v - 1)) == 0; }

bool BlockScaled(const Recipe& r) {
  return !r.exact && r.IntegerOperands() &&
         r.operand_scale.granularity == quant::Granularity::kBlock;
}

// A b x b scale grid (b clipped to the view, sim/cube.cc PrepareOperand and
// sim/executor.cc StoreInteger) must tile the view exactly.
void CheckTiles(const Recipe& r, const Plan& plan, const View& v,
                const char* role, size_t step) {
  const int64_t b = r.operand_scale.block;
  const int64_t gr = std::min<int64_t>(b, v.rows);
  const int64_t gc = std::min<int64_t>(b, v.cols);
  if (gr < 1 || gc < 1 || v.rows % gr != 0 || v.cols % gc != 0) {
    throw InputError(
        "recipe " + r.name + ": operand_scale = \"" +
        quant::ScaleGridName(r.operand_scale) + "\" does not tile " + role +
        " " + plan.ViewName(v) + " (" + std::to_string(v.rows) + " x " +
        std::to_string(v.cols) + ") of step " + std::to_string(step) + " of " +
        plan.method + " at C = " + std::to_string(plan.chunk) +
        "; use a block that divides it");
  }
}

}  // namespace

void CheckRecipeAlone(const Recipe& r) {
  if (!BlockScaled(r)) return;
  const int64_t b = r.operand_scale.block;
  if (!IsPowerOfTwo(b) || b > kMaxScaleBlock) {
    throw InputError(
        "recipe " + r.name + ": operand_scale = \"block:" + std::to_string(b) +
        "\": the block must be a power of two in [1, " +
        std::to_string(kMaxScaleBlock) + "] (plans tile power-of-two chunks)");
  }
}

void CheckRecipeFitsPlan(const Recipe& r, const Plan& plan) {
  CheckRecipeAlone(r);
  if (r.exact) return;
  const bool integer_storage = !quant::IsFloat(r.storage);
  if (integer_storage && plan.CountSteps(OpKind::kForwardRow) > 0) {
    throw InputError("recipe " + r.name + " cannot run " + plan.method +
                     ": storage " + quant::FormatName(r.storage) +
                     " cannot hold forward-substitution rows (each row would "
                     "need its own scale); use a float storage format");
  }
  if (!BlockScaled(r)) return;
  for (size_t s = 0; s < plan.steps.size(); ++s) {
    const Step& step = plan.steps[s];
    if (step.op == OpKind::kMatMul) {
      for (const View& v : step.in) CheckTiles(r, plan, v, "operand", s);
    }
    if (integer_storage && step.out.buffer != plan.input) {
      CheckTiles(r, plan, step.Writes(), "output", s);
    }
  }
}

}  // namespace trisim
