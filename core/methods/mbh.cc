// mbh: unrolled recursive block inversion. X starts as the inverses of the
// b x b diagonal blocks (forward substitution; b = 1 gives X = I); each round
// pairs neighbouring blocks and fills the new off-diagonal block
//   X21 = -X22 L21 X11
// doubling b: 2 matmuls per round, log2(C/b) rounds. "Log-stable".
#include "core/methods/all.h"
#include "core/status.h"

namespace trisim::methods {
namespace {

constexpr int kDefaultStart = 1;

int StartBlock(const MethodOptions& o) {
  return o.block.value_or(kDefaultStart);
}

void Emit(PlanBuilder& b, const MethodOptions& options, View l, View x) {
  const int n = l.rows;
  const int s0 = StartBlock(options);
  b.SetIdentity(x, "X = I");
  if (s0 > 1) {
    for (int i = 0; i < n / s0; ++i) {
      b.PushCopy("diagonal block", i);
      EmitForwardSubstitution(b, l.Block(i * s0, i * s0, s0, s0),
                              x.Block(i * s0, i * s0, s0, s0),
                              "diagonal block " + std::to_string(i));
      b.PopCopy();
    }
  }
  EmitBlockDoubling(b, l, x, s0);
}

void Validate(const MethodOptions& options, int n) {
  const int s0 = StartBlock(options);
  if (s0 < 1 || s0 > n || (s0 & (s0 - 1)) != 0) {
    throw InputError("--block " + std::to_string(s0) +
                     ": mbh's start block must be a power of two in [1, " +
                     std::to_string(n) + "]");
  }
}

std::string Describe(const MethodOptions& options, int) {
  return "block=" + std::to_string(StartBlock(options));
}

}  // namespace

void EmitBlockDoubling(PlanBuilder& b, View l, View x, int s0) {
  const int n = l.rows;
  for (int s = s0; s < n; s *= 2) {
    const std::string label = "merge " + std::to_string(2 * s);
    for (int p = 0; p < n / (2 * s); ++p) {
      const int r0 = p * 2 * s;
      b.PushCopy("merge pair", p);
      const View t = b.NewBuffer("L21X11", s, s);
      b.MatMul(t, {l.Block(r0 + s, r0, s, s), x.Block(r0, r0, s, s)}, 1.0,
               label + " L21 X11");
      b.MatMul(x.Block(r0 + s, r0, s, s), {x.Block(r0 + s, r0 + s, s, s), t},
               -1.0, label + " X21 = -X22 L21 X11");
      b.PopCopy();
    }
  }
}

MethodInfo MbhMethod() {
  return {"mbh",
          "recursive block inversion unrolled: X21 = -X22 L21 X11, doubling "
          "from start block b",
          {{"block", std::to_string(kDefaultStart),
            "start block b (a power of two, 1..C)"}},
          true,
          Emit,
          Validate,
          Describe};
}

}  // namespace trisim::methods
