#include "core/methods.h"

#include <algorithm>

#include "core/methods/all.h"
#include "core/spec.h"
#include "core/status.h"

namespace trisim {

ResidualForm ParseResidualForm(const std::string& text) {
  return ParseName(kResidualFormNames, text, "--residual");
}

const char* ResidualFormName(ResidualForm form) {
  return NameOf(kResidualFormNames, form);
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

// ---- Per-type codecs for option values: text in, canonical text out. ----

void ParseOptionValue(const std::string& text, const std::string& what,
                      std::optional<int>& out) {
  try {
    size_t used = 0;
    const long long v = std::stoll(text, &used);
    if (used == text.size() && v >= -(1LL << 30) && v <= (1LL << 30)) {
      out = static_cast<int>(v);
      return;
    }
  } catch (const std::exception&) {
  }
  throw InputError(what + " expects an integer, got '" + text + "'");
}
void ParseOptionValue(const std::string& text, const std::string& what,
                      std::optional<Mask>& out) {
  try {
    out = ParseMask(text);
  } catch (const InputError& e) {
    if (what == "--mask") throw;  // ParseMask names --mask itself
    throw InputError(what + ": " + e.what());
  }
}
void ParseOptionValue(const std::string& text, const std::string& what,
                      std::optional<ResidualForm>& out) {
  out = ParseName(kResidualFormNames, text, what);
}
void ParseOptionValue(const std::string& text, const std::string& what,
                      std::optional<std::string>& out) {
  out = MethodSpecText(ParseMethodSpec(text, what));
}

std::string OptionText(int v) { return std::to_string(v); }
std::string OptionText(const Mask& v) { return v.Name(); }
std::string OptionText(ResidualForm v) { return ResidualFormName(v); }
std::string OptionText(const std::string& v) { return SpecValue(v); }

}  // namespace

void SetMethodOption(MethodOptions& options, const std::string& key,
                     const std::string& value, const std::string& what) {
  bool known = false;
  options.ForEach([&](auto& member, const OptionField& f) {
    if (key != f.key) return;
    known = true;
    ParseOptionValue(value, what, member);
  });
  if (!known) {
    std::string keys;
    options.ForEach([&](const auto&, const OptionField& f) {
      keys += (keys.empty() ? "" : ", ") + std::string(f.key);
    });
    throw InputError(what + ": unknown option '" + key + "' (known: " + keys +
                     ")");
  }
}

MethodSpec ParseMethodSpec(
    const std::string& text, const std::string& what,
    const std::vector<std::string>& caller_keys,
    std::vector<std::pair<std::string, std::string>>* caller_values) {
  const Spec spec = ParseSpec(text, what);
  MethodSpec m;
  m.method = FindMethod(spec.name).name;
  for (const auto& [key, value] : spec.options) {
    if (std::find(caller_keys.begin(), caller_keys.end(), key) !=
        caller_keys.end()) {
      TRISIM_ASSERT(caller_values != nullptr);
      caller_values->emplace_back(key, value);
      continue;
    }
    SetMethodOption(m.options, key, value, what + " " + text + ": " + key);
  }
  return m;
}

std::string MethodSpecText(const MethodSpec& spec) {
  std::string options;
  spec.options.ForEach([&](const auto& member, const OptionField& f) {
    if (!member) return;
    options += (options.empty() ? ":" : "/") + std::string(f.key) + "=" +
               OptionText(*member);
  });
  return spec.method + options;
}

std::vector<std::string> SetOptionKeys(const MethodOptions& options) {
  std::vector<std::string> set;
  options.ForEach([&](const auto& member, const OptionField& f) {
    if (member) set.push_back(f.key);
  });
  return set;
}

void ValidateMethod(const std::string& method, const MethodOptions& options,
                    int chunk) {
  const MethodInfo& info = FindMethod(method);
  if (chunk < 1 || chunk > 1024 || (chunk & (chunk - 1)) != 0) {
    throw InputError("--chunk " + std::to_string(chunk) +
                     ": must be a power of two in [1, 1024]");
  }
  for (const std::string& option : SetOptionKeys(options)) {
    const auto accepts = [&](const MethodOption& o) { return o.key == option; };
    if (std::none_of(info.options.begin(), info.options.end(), accepts)) {
      std::string accepted;
      for (const auto& o : info.options) {
        accepted += (accepted.empty() ? "--" : ", --") + std::string(o.key);
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

MethodSpec NestedSpec(const std::string& text) {
  return ParseMethodSpec(text, "nested method spec");
}

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
