#include "core/methods.h"

#include <algorithm>

#include "core/methods/all.h"
#include "core/status.h"

namespace trisim {

ResidualForm ParseResidualForm(const std::string& text) {
  if (text == "richardson") return ResidualForm::kRichardson;
  if (text == "newton") return ResidualForm::kNewton;
  throw InputError("--residual: unknown form '" + text +
                   "' (allowed: richardson, newton)");
}

const char* ResidualFormName(ResidualForm form) {
  return form == ResidualForm::kNewton ? "newton" : "richardson";
}

const std::vector<MethodInfo>& AllMethods() {
  static const std::vector<MethodInfo> kMethods = {
      methods::VcsMethod(),     methods::FlaMethod(),     methods::MchMethod(),
      methods::MbhMethod(),     methods::MxrMethod(),     methods::NsMethod(),
      methods::NeumannMethod(), methods::DnSplitMethod(),
  };
  return kMethods;
}

const MethodInfo& FindMethod(const std::string& name) {
  for (const MethodInfo& m : AllMethods()) {
    if (name == m.name) return m;
  }
  std::string known;
  for (const MethodInfo& m : AllMethods()) {
    known += (known.empty() ? "" : ", ") + std::string(m.name);
  }
  throw InputError("unknown method '" + name + "' (known: " + known + ")");
}

namespace {

// The options the user set, by command-line name.
std::vector<std::string> SetOptions(const MethodOptions& o) {
  std::vector<std::string> set;
  if (o.order) set.push_back("order");
  if (o.mask) set.push_back("mask");
  if (o.steps) set.push_back("steps");
  if (o.residual) set.push_back("residual");
  if (o.block) set.push_back("block");
  if (o.iters) set.push_back("iters");
  if (o.inner) set.push_back("inner");
  if (o.outer) set.push_back("outer");
  return set;
}

}  // namespace

void ValidateMethod(const std::string& method, const MethodOptions& options,
                    int chunk) {
  const MethodInfo& info = FindMethod(method);
  if (chunk < 1 || chunk > 1024 || (chunk & (chunk - 1)) != 0) {
    throw InputError("--chunk " + std::to_string(chunk) +
                     ": must be a power of two in [1, 1024]");
  }
  for (const std::string& option : SetOptions(options)) {
    if (std::find(info.options.begin(), info.options.end(), option) ==
        info.options.end()) {
      std::string accepted;
      for (const auto& o : info.options) {
        accepted += (accepted.empty() ? "--" : ", --") + o;
      }
      throw InputError("--" + option + " does not apply to method '" + method +
                       "' (it accepts: " +
                       (accepted.empty() ? "no options" : accepted) + ")");
    }
  }
  if (info.validate != nullptr) info.validate(options, chunk);
}

Plan BuildPlan(const std::string& method, const MethodOptions& options,
               int chunk) {
  ValidateMethod(method, options, chunk);
  const MethodInfo& info = FindMethod(method);
  PlanBuilder builder(info.name, info.describe(options, chunk), chunk);
  const View l = builder.NewBuffer("L", chunk, chunk, BufferRole::kInput);
  const View x = builder.NewBuffer("X", chunk, chunk, BufferRole::kOutput);
  info.emit(builder, options, l, x);
  return builder.Finish(l, x);
}

namespace methods {

void EmitForwardSubstitution(PlanBuilder& b, View l, View x,
                             const std::string& label) {
  for (int row = 1; row < l.rows; ++row) {
    b.ForwardRow(x, l, row, label + " row " + std::to_string(row));
  }
}

int CeilLog2(int n) {
  int log = 0;
  while ((1 << log) < n) ++log;
  return log;
}

}  // namespace methods
}  // namespace trisim
