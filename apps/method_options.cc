#include "apps/method_options.h"

namespace trisim::app {

void AddMethodFlags(CLI::App& app, MethodFlags& f) {
  std::string methods;
  for (const MethodInfo& m : AllMethods()) {
    methods += std::string("\n  ") + m.name + ": " + m.summary;
  }
  app.add_option("--method", f.method, "Inversion method:" + methods)
      ->capture_default_str();
  f.order_opt =
      app.add_option("--order", f.order, "neumann: series order N (default 3)");
  f.mask_opt = app.add_option(
      "--mask", f.mask,
      "neumann: mask on the truncated series: none | band:w | block:b "
      "(default none)");
  f.steps_opt = app.add_option(
      "--steps", f.steps, "neumann: residual correction steps S (default 8)");
  f.residual_opt = app.add_option(
      "--residual", f.residual,
      "neumann: residual form richardson | newton (default richardson)");
  f.block_opt = app.add_option(
      "--block", f.block,
      "mbh: start block b (default 1); dn-split: block b (default 16)");
  f.iters_opt =
      app.add_option("--iters", f.iters,
                     "ns: Newton-Schulz iterations (default ceil(log2 C))");
  f.inner_opt =
      app.add_option("--inner", f.inner,
                     "dn-split: method for the b x b blocks (default mch)");
  f.outer_opt = app.add_option(
      "--outer", f.outer,
      "dn-split: method for the block-strictly-lower rest (default mbh)");
}

void AddKernelFlag(CLI::App& app, MethodFlags& f) {
  std::string kernels;
  for (const KernelInfo& k : AllKernels()) {
    kernels += std::string("\n  ") + k.method + " " + k.name;
  }
  app.add_option("--kernel", f.kernel,
                 "How the method is executed: plan (the math-level plan) or "
                 "a device kernel, NAME or NAME:key=value/... with its "
                 "settings (trisim kernels):" +
                     kernels)
      ->capture_default_str();
}

MethodOptions MethodFlags::ToOptions() const {
  MethodOptions o;
  if (order_opt->count()) o.order = order;
  if (steps_opt->count()) o.steps = steps;
  if (block_opt->count()) o.block = block;
  if (iters_opt->count()) o.iters = iters;
  if (mask_opt->count()) o.mask = ParseMask(mask);
  if (residual_opt->count()) o.residual = ParseResidualForm(residual);
  if (inner_opt->count()) o.inner = inner;
  if (outer_opt->count()) o.outer = outer;
  return o;
}

}  // namespace trisim::app
