// The `reduce` kernel setting, shared by the kernels whose vector side sums
// a product over the rows of a tile (tl.sum / reduce_sum over a non-last
// axis: fla_gpu.cc, triton_ascend.cc, tilelang.cc). The public sources leave
// the order of that sum to the compiler, so it is a setting whose values
// name the Step::RowReduce orders of core/plan.h ("sequential": row after
// row into one accumulator row; "halving": a pairwise tree). Internal to
// core/kernels/.
#pragma once

#include <string>
#include <vector>

#include "core/kernels.h"
#include "core/plan.h"
#include "core/status.h"

namespace trisim::kernels {

// The setting entry: `default_order` first in the allowed list, the other
// order second; `assumption` says why the default (the kernel's own fact).
inline KernelSetting RowReduceSetting(const char* default_order,
                                      const char* assumption) {
  const std::string other =
      std::string(default_order) == "sequential" ? "halving" : "sequential";
  return {"reduce", default_order, {default_order, other}, assumption};
}

// A resolved value of the setting (already checked against its allowed
// list by BuildKernelPlan) as the order LaneRow / ReductionIssues take.
inline Step::RowReduce RowReduceOf(const std::string& value) {
  TRISIM_ASSERT(value == "sequential" || value == "halving");
  return value == "halving" ? Step::RowReduce::kHalving
                            : Step::RowReduce::kSequential;
}

// KernelInfo::emit for an emitter class whose only setting is `reduce`:
// Emitter(builder, n, order).Emit(l, x).
template <class Emitter>
void EmitWithRowReduce(PlanBuilder& b, const MethodOptions&,
                       const std::vector<std::string>& settings, View l,
                       View x) {
  Emitter(b, l.rows, RowReduceOf(settings[0])).Emit(l, x);
}

}  // namespace trisim::kernels
