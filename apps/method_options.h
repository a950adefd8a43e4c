// The method flags shared by every subcommand that builds a plan (error,
// oracle, cost): --method and one flag per method option, generated from
// the option field list (core/methods.h MethodOptions::ForEach) and the
// methods' declarations of the options they take.
#pragma once

#include <CLI/CLI.hpp>
#include <map>
#include <string>

#include "core/kernels.h"
#include "core/methods.h"

namespace trisim::app {

struct MethodFlags {
  std::string method = "mxr";
  // Option text by key, as the user gave it; parsed by ToOptions.
  std::map<std::string, std::string> values;
  std::map<std::string, CLI::Option*> flags;

  // --kernel (error, oracle, recommend): "plan" or NAME[:key=value/...].
  std::string kernel = "plan";

  // Only the options the user gave are set; the rest take method defaults.
  // Throws InputError for a malformed value.
  MethodOptions ToOptions() const;
  KernelChoice ToKernel() const { return ParseKernelChoice(kernel); }
};

void AddMethodFlags(CLI::App& app, MethodFlags& flags);
// --kernel NAME: how the method is executed (core/kernels.h).
void AddKernelFlag(CLI::App& app, MethodFlags& flags);

}  // namespace trisim::app
