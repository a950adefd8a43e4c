#include "apps/method_options.h"

namespace trisim::app {

void AddMethodFlags(CLI::App& app, MethodFlags& f) {
  std::string methods;
  for (const MethodInfo& m : AllMethods()) {
    methods += std::string("\n  ") + m.name + ": " + m.summary;
  }
  app.add_option("--method", f.method, "Inversion method:" + methods)
      ->capture_default_str();
  MethodOptions().ForEach([&](const auto&, const OptionField& field) {
    // "mbh: start block b (default 1); dn-split: ..." from the methods that
    // take this option.
    std::string help;
    for (const MethodInfo& m : AllMethods()) {
      for (const MethodOption& o : m.options) {
        if (o.key != std::string(field.key)) continue;
        help += (help.empty() ? "" : "; ") + std::string(m.name) + ": " +
                o.doc + " (default " + o.default_value + ")";
      }
    }
    f.flags[field.key] =
        app.add_option(std::string("--") + field.key, f.values[field.key], help)
            ->type_name(field.type);
  });
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
  for (const auto& [key, flag] : flags) {
    if (flag->count()) {
      SetMethodOption(o, key, values.at(key), "--" + key);
    }
  }
  return o;
}

}  // namespace trisim::app
