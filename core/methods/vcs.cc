// vcs: forward substitution (column sweep) on the vector unit. C-1 dependent
// vector steps, no matmul; exact in exact arithmetic.
#include "core/methods/all.h"

namespace trisim::methods {
namespace {

void Emit(PlanBuilder& b, const MethodOptions&, View l, View x) {
  b.SetIdentity(x, "X = I");
  EmitForwardSubstitution(b, l, x, "forward substitution");
}

std::string Describe(const MethodOptions&, int) { return "-"; }

}  // namespace

MethodInfo VcsMethod() {
  return {
      "vcs",   "forward substitution on the vector unit (C-1 dependent steps)",
      {},      true,
      Emit,    nullptr,
      Describe};
}

}  // namespace trisim::methods
