// mxr: mch on the 16x16 diagonal blocks (16 = the fp16 cube fractal, where
// L^k stays small), then mbh's block doubling from b = 16. ~2 log2 C
// matmuls; stable in practice (DOMAIN.md section 2).
#include <algorithm>

#include "core/methods/all.h"

namespace trisim::methods {
namespace {

constexpr int kMxrBlock = 16;

void Emit(PlanBuilder& b, const MethodOptions& options, View l, View x) {
  const int n = l.rows;
  const int s = std::min(kMxrBlock, n);
  if (s < n) b.SetZero(x, "X = 0");
  for (int i = 0; i < n / s; ++i) {
    b.PushScope("blk" + std::to_string(i) + ".");
    b.PushCopy("blk", i);
    EmitMch(b, options, l.Block(i * s, i * s, s, s),
            x.Block(i * s, i * s, s, s));
    b.PopCopy();
    b.PopScope();
  }
  EmitBlockDoubling(b, l, x, s);
}

std::string Describe(const MethodOptions&, int n) {
  return "block=" + std::to_string(std::min(kMxrBlock, n));
}

}  // namespace

MethodInfo MxrMethod() {
  return {"mxr",   "mch on 16x16 diagonal blocks, then block doubling (mbh)",
          {},      true,
          Emit,    nullptr,
          Describe};
}

}  // namespace trisim::methods
