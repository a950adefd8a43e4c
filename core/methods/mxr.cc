// mxr: mch on the b x b diagonal blocks (default b = 16, the fp16 cube
// fractal, where L^k stays small), then mbh's block doubling from b. ~2 log2 C
// matmuls; stable in practice (DOMAIN.md section 2). --block tunes the first
// phase: 16..C/2 (a larger b trades doubling rounds for mch squarings).
#include <algorithm>

#include "core/methods/all.h"
#include "core/status.h"

namespace trisim::methods {
namespace {

constexpr int kMxrBlock = 16;

int Block(const MethodOptions& o, int n) {
  return o.block.value_or(std::min(kMxrBlock, n));
}

void Emit(PlanBuilder& b, const MethodOptions& options, View l, View x) {
  const int n = l.rows;
  const int s = Block(options, n);
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

void Validate(const MethodOptions& options, int n) {
  if (!options.block) return;
  const int s = *options.block;
  if (s < kMxrBlock || s > n / 2 || (s & (s - 1)) != 0) {
    throw InputError("--block " + std::to_string(s) +
                     ": mxr's first-phase block must be a power of two in [" +
                     std::to_string(kMxrBlock) +
                     ", C/2 = " + std::to_string(n / 2) + "]");
  }
}

std::string Describe(const MethodOptions& options, int n) {
  return "block=" + std::to_string(Block(options, n));
}

}  // namespace

MethodInfo MxrMethod() {
  return {"mxr",
          "mch on 16x16 diagonal blocks, then block doubling (mbh)",
          {{"block", std::to_string(kMxrBlock),
            "first-phase block b: mch on b x b diagonal blocks (a power of "
            "two, 16..C/2)"}},
          true,
          Emit,
          Validate,
          Describe};
}

}  // namespace trisim::methods
