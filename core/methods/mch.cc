// mch: product form / repeated squaring,
//   X = I - L; Y = L; repeat: Y = Y Y; X = X + X Y
// giving (I - L)(I + L^2)(I + L^4)...; exact after ceil(log2 C) - 1 rounds,
// 2 matmuls per round. Numerically unstable: Y = L^(2^r) grows
// combinatorially with C (DOMAIN.md section 2).
#include "core/methods/all.h"

namespace trisim::methods {

void EmitMch(PlanBuilder& b, const MethodOptions&, View l, View x) {
  const int n = l.rows;
  if (n == 1) {
    b.SetIdentity(x, "X = I");
    return;
  }
  b.LinComb(x, {1.0, -1.0}, {b.Identity(n), l}, "X = I - L");
  const int rounds = CeilLog2(n) - 1;
  if (rounds == 0) return;
  const View y = b.NewBuffer("Y", n, n);
  const View t = b.NewBuffer("XY", n, n);
  b.Copy(y, l, "Y = L");
  for (int r = 1; r <= rounds; ++r) {
    const std::string power = "L^" + std::to_string(1 << r);
    b.MatMul(y, {y, y}, 1.0, "Y = " + power);
    b.MatMul(t, {x, y}, 1.0, "X " + power);
    b.LinComb(x, {1.0, 1.0}, {x, t}, "X = X (I + " + power + ")");
  }
}

namespace {
std::string Describe(const MethodOptions&, int n) {
  return "rounds=" + std::to_string(n > 1 ? CeilLog2(n) - 1 : 0);
}
}  // namespace

MethodInfo MchMethod() {
  return {"mch",   "product form (I-L)(I+L^2)(I+L^4)... by repeated squaring",
          {},      true,
          EmitMch, nullptr,
          Describe};
}

}  // namespace trisim::methods
