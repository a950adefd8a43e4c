// The inversion algorithms (../shared/docs/DOMAIN.md section 2), each one file
// in core/methods/ that emits a plan computing X ~ (I + L)^-1 for a strictly
// lower C x C matrix L. This table is the one place that lists them.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/names.h"
#include "core/plan.h"

namespace trisim {

enum class ResidualForm {
  kRichardson,  // X <- X + X0 (I - M X): exact band widens by N+1 per step
  kNewton,      // X <- X + X  (I - M X): exact band doubles per step
  kProduct,     // newton in product (log-depth) form: P = I - M X0 once,
                // then X <- X + X P, P <- P P (no M after the first step)
};
inline constexpr EnumName<ResidualForm> kResidualFormNames[] = {
    {ResidualForm::kRichardson, "richardson"},
    {ResidualForm::kNewton, "newton"},
    {ResidualForm::kProduct, "product"}};
ResidualForm ParseResidualForm(const std::string& text);
const char* ResidualFormName(ResidualForm form);

// One method option's declaration in the field list.
struct OptionField {
  const char* key;      // --key on the command line, key= in a method spec
  const char* type;     // INT | MASK | FORM | SPEC, for help
  const char* allowed;  // values, for help and errors
};

// Options as the user gave them; unset means "the method's default".
// Which methods take an option, with what default and meaning, is declared
// by each method (MethodInfo::options).
//
// To add an option:
//   1. add the member below and one line to ForEachField;
//   2. in the method(s) that take it, add {key, default, doc} to its
//      MethodInfo::options and read it (o.key.value_or(kDefault)).
// The CLI flag (--key, apps/method_options.cc), spec keys (key=value in
// --inner/--outer/recommend --methods), help text and the "does not apply"
// check follow from these two places. A new value type also needs one
// ParseOptionValue/OptionText overload pair in core/methods.cc.
struct MethodOptions {
  std::optional<int> order;              // neumann
  std::optional<Mask> mask;              // neumann
  std::optional<int> steps;              // neumann
  std::optional<ResidualForm> residual;  // neumann
  std::optional<int> block;              // mbh, mxr, dn-split
  std::optional<int> iters;              // ns
  // Nested method specs (core/spec.h), e.g. "ns:iters=3"; dn-split.
  std::optional<std::string> inner;
  std::optional<std::string> outer;

  // The field list: v(member, OptionField) per option, in help order.
  template <class Visitor>
  void ForEach(Visitor&& v) {
    ForEachField(*this, v);
  }
  template <class Visitor>
  void ForEach(Visitor&& v) const {
    ForEachField(*this, v);
  }

 private:
  template <class Self, class Visitor>
  static void ForEachField(Self& o, Visitor& v) {
    v(o.order, {"order", "INT", "an integer"});
    v(o.mask, {"mask", "MASK", "none | band:w | block:b"});
    v(o.steps, {"steps", "INT", "an integer"});
    v(o.residual, {"residual", "FORM", "richardson | newton | product"});
    v(o.block, {"block", "INT", "an integer"});
    v(o.iters, {"iters", "INT", "an integer"});
    v(o.inner, {"inner", "SPEC", "a method spec: name[:key=value/...]"});
    v(o.outer, {"outer", "SPEC", "a method spec: name[:key=value/...]"});
  }
};

// A method with options: what a method spec names.
struct MethodSpec {
  std::string method;
  MethodOptions options;
};

// Sets option `key` from its text (as on the command line or in a spec).
// Throws InputError naming `what` for an unknown key or a bad value; a
// nested spec is checked and stored in canonical form.
void SetMethodOption(MethodOptions& options, const std::string& key,
                     const std::string& value, const std::string& what);

// Parses a method spec in the one spec grammar (core/spec.h), e.g.
// "dn-split:block=16/inner=(ns:iters=3)/outer=mbh". `what` names the input in
// errors ("--methods"). Keys listed in `caller_keys` are not method options:
// they are returned in `caller_values` for the caller to interpret (e.g. a
// recipe's kernel=); without them any non-option key is an error. The method
// name is checked; option applicability and ranges are checked by
// ValidateMethod once the chunk size is known.
MethodSpec ParseMethodSpec(
    const std::string& text, const std::string& what,
    const std::vector<std::string>& caller_keys = {},
    std::vector<std::pair<std::string, std::string>>* caller_values = nullptr);

// "name" or "name:key=value/..." for the options that are set, in field-list
// order; ParseMethodSpec reads it back.
std::string MethodSpecText(const MethodSpec& spec);

// Keys of the options that are set, in field-list order.
std::vector<std::string> SetOptionKeys(const MethodOptions& options);

// One option as a method declares it: default (as text) and meaning.
struct MethodOption {
  const char* key;
  std::string default_value;
  std::string doc;
};

struct MethodInfo {
  const char* name;
  const char* summary;
  std::vector<MethodOption> options;
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
// The nested spec in `inner`/`outer`-style option text (validated when set).
MethodSpec NestedSpec(const std::string& text);
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
