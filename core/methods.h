// The inversion algorithms (../shared/docs/DOMAIN.md section 2), each one file
// in core/methods/ that emits a plan computing X ~ (I + L)^-1 for a strictly
// lower C x C matrix L. This table is the one place that lists them.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/plan.h"

namespace trisim {

enum class ResidualForm {
  kRichardson,  // X <- X + X0 (I - M X): exact band widens by N+1 per step
  kNewton,      // X <- X + X  (I - M X): exact band doubles per step
};
ResidualForm ParseResidualForm(const std::string& text);
const char* ResidualFormName(ResidualForm form);

// Options as the user gave them; unset means "the method's default".
struct MethodOptions {
  std::optional<int> order;              // --order N      (neumann)
  std::optional<Mask> mask;              // --mask         (neumann)
  std::optional<int> steps;              // --steps S      (neumann)
  std::optional<ResidualForm> residual;  // --residual     (neumann)
  std::optional<int> block;              // --block b      (mbh, dn-split)
  std::optional<int> iters;              // --iters k      (ns)
  std::optional<std::string> inner;      // --inner M      (dn-split)
  std::optional<std::string> outer;      // --outer M      (dn-split)
};

// Names of the options a method accepts, as on the command line ("order").
using OptionList = std::vector<std::string>;

struct MethodInfo {
  const char* name;
  const char* summary;
  OptionList options;
  // Exact in exact arithmetic with its default options.
  bool exact_by_default;
  // Emits steps computing x = (I + l)^-1 (both n x n views, n a power of
  // two). Options were validated against n by Validate.
  void (*emit)(PlanBuilder& builder, const MethodOptions& options, View l,
               View x);
  // Throws InputError for out-of-range options at size n; may be null.
  void (*validate)(const MethodOptions& options, int n);
  // Canonical "key=value" string of the effective options (defaults filled).
  std::string (*describe)(const MethodOptions& options, int n);
};

const std::vector<MethodInfo>& AllMethods();
// Throws InputError listing the known methods if `name` is not one.
const MethodInfo& FindMethod(const std::string& name);

// Checks the chunk size (a power of two, 1..1024), that every option the user
// set applies to the method, and the option ranges. Throws InputError.
void ValidateMethod(const std::string& method, const MethodOptions& options,
                    int chunk);

// Builds the plan for a method at chunk size C (validates first).
Plan BuildPlan(const std::string& method, const MethodOptions& options,
               int chunk);

// Shared building blocks used by several methods.
namespace methods {
// Forward substitution on the diagonal block `x` (already identity) from `l`:
// rows 1..n-1, one dependent vector step each.
void EmitForwardSubstitution(PlanBuilder& b, View l, View x,
                             const std::string& label);
// Block doubling (mbh's merge): given x whose s0 x s0 diagonal blocks already
// hold their inverses and whose other entries are zero, fills the
// off-diagonal blocks round by round: X21 = -X22 L21 X11, s = s0, 2 s0, ...
void EmitBlockDoubling(PlanBuilder& b, View l, View x, int s0);
// ceil(log2(n)) for n >= 1.
int CeilLog2(int n);
}  // namespace methods

}  // namespace trisim
