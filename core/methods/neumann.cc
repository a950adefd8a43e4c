// neumann: truncated series with optional structural mask and residual
// correction (DOMAIN.md section 2; the published configuration for Qwen3.5
// with INT quantisation is C = 64, N = 3, S = 8).
//
//   X0 = sum_{j=0}^{N} (-L)^j     by Horner: X0 = I - L (I - L (... ))
//                                 N-1 matmuls; exact on the band i-j <= N
//   X0 = mask(X0)                 optional: band:w or block:b
//   S residual steps, R = I - M X = I - X - L X:
//     richardson  X <- X + X0 R   exact band widens by N+1 per step
//     newton      X <- X + X  R   exact band doubles per step
//     product     P = I - M X0 once, then X <- X + X P, P <- P P (newton's
//                 product form, log depth: R_k = R_0^(2^k) in exact
//                 arithmetic, so M is not read again; unlike newton it does
//                 not correct rounding errors of earlier steps)
//   2 matmuls per residual step (product: 2, the last step 1, plus 2 for
//   P = I - M X0).
// Without a mask, I - M X0 = (-L)^(N+1), so richardson leaves the error
// -M^-1 (-L)^((N+1)(S+1)) and newton and product -M^-1 (-L)^((N+1) 2^S).
// Device kernels: core/kernels/neumann_pto.cc (`--kernel pto`).
#include "core/methods/all.h"
#include "core/status.h"

namespace trisim::methods {
namespace {

constexpr int kDefaultOrder = 3;
constexpr int kDefaultSteps = 8;
constexpr ResidualForm kDefaultForm = ResidualForm::kRichardson;

int Order(const MethodOptions& o) { return o.order.value_or(kDefaultOrder); }
int Steps(const MethodOptions& o) { return o.steps.value_or(kDefaultSteps); }
Mask MaskOf(const MethodOptions& o) { return o.mask.value_or(Mask{}); }
ResidualForm Form(const MethodOptions& o) {
  return o.residual.value_or(kDefaultForm);
}

void Emit(PlanBuilder& b, const MethodOptions& options, View l, View x) {
  const int n = l.rows;
  const int order = Order(options);
  const int steps = Steps(options);
  const Mask mask = MaskOf(options);
  const View identity = b.Identity(n);
  const View t = b.NewBuffer("LX", n, n);

  // With no residual steps the series is built in X directly.
  const View x0 = steps > 0 ? b.NewBuffer("X0", n, n) : x;
  if (order == 0) {
    b.SetIdentity(x0, "X0 = I");
  } else {
    b.LinComb(x0, {1.0, -1.0}, {identity, l}, "X0 = I - L");
    for (int j = 2; j <= order; ++j) {
      const std::string label = "series order " + std::to_string(j);
      b.MatMul(t, {l, x0}, 1.0, label + " L X0");
      b.LinComb(x0, {1.0, -1.0}, {identity, t}, label + " X0 = I - L X0");
    }
  }
  if (mask.kind != Mask::Kind::kNone) {
    b.ApplyMask(x0, x0, mask, "mask " + mask.Name());
  }
  if (steps == 0) return;

  const View r = b.NewBuffer("R", n, n);
  const View correction = b.NewBuffer("dX", n, n);
  const bool newton = Form(options) == ResidualForm::kNewton;
  b.Copy(x, x0, "X = X0");
  if (Form(options) == ResidualForm::kProduct) {
    b.MatMul(t, {l, x}, 1.0, "product P = I - M X0: L X0");
    b.LinComb(r, {1.0, -1.0, -1.0}, {identity, x, t}, "product P = I - M X0");
    for (int s = 1; s <= steps; ++s) {
      const std::string label = "product " + std::to_string(s);
      b.MatMul(correction, {x, r}, 1.0, label + " X P");
      b.LinComb(x, {1.0, 1.0}, {x, correction}, label + " X += X P");
      if (s < steps) b.MatMul(r, {r, r}, 1.0, label + " P = P P");
    }
    return;
  }
  for (int s = 1; s <= steps; ++s) {
    const std::string label = "residual " + std::to_string(s);
    b.MatMul(t, {l, x}, 1.0, label + " L X");
    b.LinComb(r, {1.0, -1.0, -1.0}, {identity, x, t}, label + " R = I - M X");
    b.MatMul(correction, {newton ? x : x0, r}, 1.0,
             label + (newton ? " X R" : " X0 R"));
    b.LinComb(x, {1.0, 1.0}, {x, correction}, label + " X += correction");
  }
}

void Validate(const MethodOptions& options, int n) {
  const int order = Order(options);
  const int steps = Steps(options);
  if (order < 0 || order > n) {
    throw InputError("--order " + std::to_string(order) + ": must be in [0, " +
                     std::to_string(n) + "] at chunk " + std::to_string(n));
  }
  if (steps < 0 || steps > 64) {
    throw InputError("--steps " + std::to_string(steps) +
                     ": must be in [0, 64]");
  }
  const Mask mask = MaskOf(options);
  if (mask.kind == Mask::Kind::kBand && mask.width >= n) {
    throw InputError("--mask " + mask.Name() + ": band width must be < " +
                     std::to_string(n));
  }
  if (mask.kind == Mask::Kind::kBlockDiagonal &&
      (mask.width > n || n % mask.width != 0)) {
    throw InputError("--mask " + mask.Name() + ": block size must divide " +
                     std::to_string(n));
  }
}

std::string Describe(const MethodOptions& options, int) {
  return "order=" + std::to_string(Order(options)) +
         " mask=" + MaskOf(options).Name() +
         " steps=" + std::to_string(Steps(options)) +
         " residual=" + ResidualFormName(Form(options));
}

}  // namespace

MethodInfo NeumannMethod() {
  return {"neumann",
          "truncated Neumann series of order N, optional mask, S residual "
          "correction steps",
          {{"order", std::to_string(kDefaultOrder), "series order N (0..C)"},
           {"mask", "none",
            "mask on the truncated series: none | band:w | block:b"},
           {"steps", std::to_string(kDefaultSteps),
            "residual correction steps S (0..64)"},
           {"residual", ResidualFormName(kDefaultForm),
            "residual form: richardson | newton | product"}},
          false,
          Emit,
          Validate,
          Describe};
}

}  // namespace trisim::methods
