// Does a precision recipe fit a plan? The checks that need both, run by every
// command before any work starts (and before any parallel region), so a
// recipe the plan cannot run is a one-line usage error, never an internal
// assertion, a division by zero or an exception inside OpenMP.
//
// What is checked (README "Exit codes and bad input"):
//  - operand_scale = "block:b" with integer operands: b is a power of two in
//    [1, kMaxScaleBlock] (plan-free: every plan's matmul operands are
//    power-of-two tiles of a power-of-two chunk, sim/cube.h PrepareOperand
//    groups b x b tiles, or the whole view when it is smaller), and every
//    matmul operand view and every integer-stored output view of the plan is
//    divided by min(b, rows) x min(b, cols);
//  - integer storage (storage = "int8"/"int16") with a plan that has
//    forward-substitution rows (each row would need its own scale).
#pragma once

#include <cstdint>

#include "core/plan.h"
#include "sim/recipe.h"

namespace trisim {

// Largest operand scale block: the largest chunk (1024) is one block.
constexpr int64_t kMaxScaleBlock = 1024;

// The plan-free checks (for `trisim recipes --show` and before a plan
// exists). Throws InputError naming the recipe, the key and the value.
void CheckRecipeAlone(const Recipe& recipe);

// CheckRecipeAlone plus every check that needs the plan. Throws InputError.
void CheckRecipeFitsPlan(const Recipe& recipe, const Plan& plan);

}  // namespace trisim
