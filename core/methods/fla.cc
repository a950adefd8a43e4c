// fla: the FLA/SGLang method (flash-linear-attention solve_tril): each 16x16
// diagonal block by forward substitution on the vector unit, then block
// forward substitution on the cube:
//   X_ij = -X_ii (sum_{k=j}^{i-1} L_ik X_kj)   (X21 = -X22 L21 X11, ...)
// For C = 64: 16 matmuls of 16x16 (6 + 6 + 4 by distance from the diagonal).
#include <algorithm>

#include "core/methods/all.h"

namespace trisim::methods {
namespace {

constexpr int kFlaBlock = 16;  // FLA's diagonal block (one fp16 cube fractal)

void Emit(PlanBuilder& b, const MethodOptions&, View l, View x) {
  const int n = l.rows;
  const int s = std::min(kFlaBlock, n);
  const int blocks = n / s;
  b.SetIdentity(x, "X = I");
  for (int i = 0; i < blocks; ++i) {
    b.PushCopy("diagonal block", i);
    EmitForwardSubstitution(b, l.Block(i * s, i * s, s, s),
                            x.Block(i * s, i * s, s, s),
                            "diagonal block " + std::to_string(i));
    b.PopCopy();
  }
  for (int i = 1; i < blocks; ++i) {
    for (int j = i - 1; j >= 0; --j) {
      std::vector<View> factors;
      for (int k = j; k < i; ++k) {
        factors.push_back(l.Block(i * s, k * s, s, s));
        factors.push_back(x.Block(k * s, j * s, s, s));
      }
      const std::string label =
          "merge X" + std::to_string(i) + std::to_string(j);
      const View acc = b.NewBuffer("acc", s, s);
      b.MatMul(acc, factors, 1.0, label + " sum L_ik X_kj");
      b.MatMul(x.Block(i * s, j * s, s, s), {x.Block(i * s, i * s, s, s), acc},
               -1.0, label + " = -X_ii sum");
    }
  }
}

std::string Describe(const MethodOptions&, int n) {
  return "block=" + std::to_string(std::min(kFlaBlock, n));
}

}  // namespace

MethodInfo FlaMethod() {
  return {"fla",
          "FLA/SGLang: 16x16 diagonal blocks by forward substitution, then "
          "block merges on the cube",
          {},
          true,
          Emit,
          nullptr,
          Describe};
}

}  // namespace trisim::methods
