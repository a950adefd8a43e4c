// Kernel-level plans: how published device kernels execute a method
// (core/plan.h "Kernel-level plans"). One file per kernel in core/kernels/;
// this table is the one place that lists them. `--kernel plan` (the default)
// is the method's math-level plan (core/methods/).
//
// The kernel fixes structure (what is accumulated where, where results leave
// the accumulator, which intermediates are stored, the moves and syncs); the
// recipe fixes formats (input, operand, storage, output, vector,
// accumulator). A kernel states the recipe formats it can express as
// Requirements; a recipe outside them is refused with a message naming the
// field (sim/kernel_check: CheckKernelRecipe).
#pragma once

#include <string>
#include <vector>

#include "core/methods.h"
#include "core/plan.h"

namespace trisim {

// Where the kernel's code comes from.
struct KernelSource {
  const char* repo;          // "huawei-csl/pto-kernels"
  const char* path;          // "csrc/kernel/kernel_tri_inv_rec_unroll.cpp"
  const char* version;       // "v0.1.2", a tag, commit or PR
  std::string Text() const;  // "repo path (version)"
};

// A recipe field the kernel constrains: `field` is a recipe key (input,
// operand, storage, output, vector, accumulator), `allowed` the format names
// it accepts. Empty `allowed`: any.
struct KernelRequirement {
  const char* field;
  std::vector<std::string> allowed;
  const char* why;  // "the kernel upcasts to fp32 before substitution"
};

// Settings where the public source leaves a detail open, as name=value with
// the documented assumption; the user may override the ones listed.
struct KernelSetting {
  const char* name;
  const char* default_value;
  std::vector<std::string> allowed;
  const char* assumption;  // what we assume and why
};

struct KernelInfo {
  const char* method;  // "mxr"
  const char* name;    // "pto"
  const char* summary;
  KernelSource source;
  // Chunk sizes the kernel supports (empty: any power of two >= 16).
  std::vector<int> chunks;
  std::vector<KernelRequirement> requirements;
  std::vector<KernelSetting> settings;
  // A built-in recipe matching the published kernel's formats ("" if none).
  const char* recipe;
  // Emits the kernel's steps computing x = (I + l)^-1 (n x n), with
  // resolved settings (one value per entry of `settings`, in order).
  void (*emit)(PlanBuilder& builder, const MethodOptions& options,
               const std::vector<std::string>& settings, View l, View x);
  // Throws InputError for options the kernel cannot express at size n;
  // may be null.
  void (*validate)(const MethodOptions& options, int n);
};

// Every kernel, grouped by method in AllMethods() order.
const std::vector<KernelInfo>& AllKernels();
// The kernels of one method (may be empty).
std::vector<const KernelInfo*> KernelsOf(const std::string& method);
// Throws InputError naming the method's kernels when `name` is not one of
// them (or the method has none). "plan" is never looked up here.
const KernelInfo& FindKernel(const std::string& method,
                             const std::string& name);

// Kernel selection as the user gave it: "plan" or a kernel name, plus
// setting overrides "name=value".
struct KernelChoice {
  std::string name = "plan";
  std::vector<std::pair<std::string, std::string>> settings;
  bool IsPlan() const { return name == "plan"; }
};
// Parses "NAME" or "NAME:key=value/key=value". Throws InputError.
KernelChoice ParseKernelChoice(const std::string& text);

// Builds the method's math-level plan (choice "plan") or its kernel plan.
// Validates the method, its options, the kernel, its chunk sizes and
// settings. Throws InputError.
Plan BuildKernelPlan(const std::string& method, const MethodOptions& options,
                     const KernelChoice& kernel, int chunk);

}  // namespace trisim
