// The method flags shared by every subcommand that builds a plan
// (error, and later oracle and cost): --method and its options.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "core/kernels.h"
#include "core/methods.h"

namespace trisim::app {

struct MethodFlags {
  std::string method = "mxr";
  int order = 0, steps = 0, block = 0, iters = 0;
  std::string mask, residual, inner, outer;
  CLI::Option *order_opt = nullptr, *steps_opt = nullptr, *block_opt = nullptr,
              *iters_opt = nullptr, *mask_opt = nullptr,
              *residual_opt = nullptr, *inner_opt = nullptr,
              *outer_opt = nullptr;

  // --kernel (error, oracle, recommend): "plan" or NAME[:key=value/...].
  std::string kernel = "plan";

  // Only the options the user gave are set; the rest take method defaults.
  MethodOptions ToOptions() const;
  KernelChoice ToKernel() const { return ParseKernelChoice(kernel); }
};

void AddMethodFlags(CLI::App& app, MethodFlags& flags);
// --kernel NAME: how the method is executed (core/kernels.h).
void AddKernelFlag(CLI::App& app, MethodFlags& flags);

}  // namespace trisim::app
