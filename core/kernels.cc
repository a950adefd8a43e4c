#include "core/kernels.h"

#include <algorithm>

#include "core/kernels/all.h"
#include "core/status.h"

namespace trisim {

std::string KernelSource::Text() const {
  return std::string(repo) + " " + path + " (" + version + ")";
}

const std::vector<KernelInfo>& AllKernels() {
  static const std::vector<KernelInfo> kKernels = kernels::AllKernelInfos();
  return kKernels;
}

std::vector<const KernelInfo*> KernelsOf(const std::string& method) {
  std::vector<const KernelInfo*> found;
  for (const KernelInfo& k : AllKernels()) {
    if (method == k.method) found.push_back(&k);
  }
  return found;
}

const KernelInfo& FindKernel(const std::string& method,
                             const std::string& name) {
  const auto kernels = KernelsOf(method);
  for (const KernelInfo* k : kernels) {
    if (name == k->name) return *k;
  }
  std::string known = "plan";
  for (const KernelInfo* k : kernels) known += std::string(", ") + k->name;
  throw InputError("--kernel " + name + ": method '" + method +
                   "' has no such kernel (it has: " + known + ")");
}

KernelChoice ParseKernelChoice(const std::string& text) {
  KernelChoice choice;
  const auto colon = text.find(':');
  choice.name = text.substr(0, colon);
  if (choice.name.empty()) {
    throw InputError("--kernel '" + text +
                     "': expected NAME or NAME:key=value");
  }
  if (colon == std::string::npos) return choice;
  std::string rest = text.substr(colon + 1);
  size_t start = 0;
  while (start <= rest.size()) {
    const size_t end = std::min(rest.find('/', start), rest.size());
    const std::string item = rest.substr(start, end - start);
    const auto eq = item.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == item.size()) {
      throw InputError("--kernel '" + text + "': setting '" + item +
                       "' is not key=value");
    }
    choice.settings.emplace_back(item.substr(0, eq), item.substr(eq + 1));
    start = end + 1;
  }
  return choice;
}

namespace {

// One value per declared setting: the default unless overridden.
std::vector<std::string> ResolveSettings(const KernelInfo& info,
                                         const KernelChoice& choice) {
  std::vector<std::string> values;
  for (const KernelSetting& s : info.settings) {
    values.push_back(s.default_value);
  }
  for (const auto& [key, value] : choice.settings) {
    size_t index = 0;
    while (index < info.settings.size() && key != info.settings[index].name) {
      ++index;
    }
    if (index == info.settings.size()) {
      std::string known;
      for (const KernelSetting& s : info.settings) {
        known += (known.empty() ? "" : ", ") + std::string(s.name);
      }
      throw InputError("--kernel " + choice.name + ": unknown setting '" + key +
                       "' (it has: " + (known.empty() ? "none" : known) + ")");
    }
    const auto& allowed = info.settings[index].allowed;
    if (std::find(allowed.begin(), allowed.end(), value) == allowed.end()) {
      std::string list;
      for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
      throw InputError("--kernel " + choice.name + ": setting " + key + "=" +
                       value + " is not allowed (allowed: " + list + ")");
    }
    values[index] = value;
  }
  return values;
}

}  // namespace

Plan BuildKernelPlan(const std::string& method, const MethodOptions& options,
                     const KernelChoice& choice, int chunk) {
  if (choice.IsPlan()) {
    if (!choice.settings.empty()) {
      throw InputError("--kernel plan takes no settings");
    }
    return BuildPlan(method, options, chunk);
  }
  ValidateMethod(method, options, chunk);
  const KernelInfo& info = FindKernel(method, choice.name);
  if (!info.chunks.empty() && std::find(info.chunks.begin(), info.chunks.end(),
                                        chunk) == info.chunks.end()) {
    std::string list;
    for (int c : info.chunks) {
      list += (list.empty() ? "" : ", ") + std::to_string(c);
    }
    throw InputError("--kernel " + choice.name + " of " + method +
                     " does not support --chunk " + std::to_string(chunk) +
                     " (supported: " + list + ")");
  }
  if (info.validate != nullptr) info.validate(options, chunk);
  const auto settings = ResolveSettings(info, choice);
  const MethodInfo& m = FindMethod(method);
  PlanBuilder builder(m.name, m.describe(options, chunk), chunk);
  KernelFacts facts;
  facts.name = info.name;
  facts.source = info.source.Text();
  facts.summary = info.summary;
  for (size_t i = 0; i < settings.size(); ++i) {
    facts.settings.push_back(std::string(info.settings[i].name) + "=" +
                             settings[i]);
  }
  builder.SetKernel(facts);
  const View l = builder.NewTile("L", chunk, chunk, Memory::kGM,
                                 FormatClass::kInput, BufferRole::kInput);
  const View x = builder.NewTile("X", chunk, chunk, Memory::kGM,
                                 FormatClass::kOutput, BufferRole::kOutput);
  info.emit(builder, options, settings, l, x);
  return builder.Finish(l, x);
}

}  // namespace trisim
