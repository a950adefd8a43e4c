// ns: Newton-Schulz X <- X (2I - M X) from X0 = I, M = I + L. The residual
// squares each step (I - M X_k = L^(2^k)), so ceil(log2 C) steps are exact.
// 2 matmuls per step.
#include "core/methods/all.h"
#include "core/status.h"

namespace trisim::methods {
namespace {

int Iterations(const MethodOptions& o, int n) {
  return o.iters.value_or(CeilLog2(n));
}

void Emit(PlanBuilder& b, const MethodOptions& options, View l, View x) {
  const int n = l.rows;
  const View identity = b.Identity(n);
  const View m = b.NewBuffer("M", n, n);
  const View p = b.NewBuffer("MX", n, n);
  b.LinComb(m, {1.0, 1.0}, {identity, l}, "M = I + L");
  b.SetIdentity(x, "X0 = I");
  const int iters = Iterations(options, n);
  for (int k = 1; k <= iters; ++k) {
    const std::string it = "iter " + std::to_string(k);
    b.MatMul(p, {m, x}, 1.0, it + " M X");
    b.LinComb(p, {2.0, -1.0}, {identity, p}, it + " 2I - M X");
    b.MatMul(x, {x, p}, 1.0, it + " X (2I - M X)");
  }
}

void Validate(const MethodOptions& options, int n) {
  const int iters = Iterations(options, n);
  if (iters < 0 || iters > 64) {
    throw InputError("--iters " + std::to_string(iters) +
                     ": must be in [0, 64]");
  }
}

std::string Describe(const MethodOptions& options, int n) {
  return "iters=" + std::to_string(Iterations(options, n));
}

}  // namespace

MethodInfo NsMethod() {
  return {"ns",
          "Newton-Schulz X <- X (2I - M X) from X0 = I",
          {{"iters", "ceil(log2 C)", "Newton-Schulz iterations (0..64)"}},
          true,
          Emit,
          Validate,
          Describe};
}

}  // namespace trisim::methods
