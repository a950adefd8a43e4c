// trisim kernels: per method, the device kernels it can be executed as
// (core/kernels.h), each with a one-line description, the public source it
// follows, its chunk sizes, settings (with the documented assumptions) and
// the built-in recipe of its published formats.
#include <cstdio>
#include <memory>
#include <string>

#include "apps/commands.h"
#include "core/kernels.h"
#include "core/methods.h"

namespace trisim::app {
namespace {

struct KernelsOptions {
  bool verbose = false;
};

int RunKernels(const KernelsOptions& o) {
  for (const MethodInfo& m : AllMethods()) {
    std::printf(
        "%s\n  plan  math-level plan (default): one rounding per "
        "step, core/methods/%s\n",
        m.name, m.name);
    for (const KernelInfo* k : KernelsOf(m.name)) {
      std::printf("  %s  %s\n      source: %s\n", k->name, k->summary,
                  k->source.Text().c_str());
      if (!o.verbose) continue;
      std::string chunks;
      for (int c : k->chunks) {
        chunks += (chunks.empty() ? "" : ", ") + std::to_string(c);
      }
      std::printf("      chunks: %s; recipe of the published formats: %s\n",
                  chunks.empty() ? "any" : chunks.c_str(),
                  *k->recipe ? k->recipe : "-");
      for (const KernelRequirement& r : k->requirements) {
        std::string allowed;
        for (const auto& a : r.allowed) {
          allowed += (allowed.empty() ? "" : "|") + a;
        }
        std::printf("      requires %s in %s (%s)\n", r.field, allowed.c_str(),
                    r.why);
      }
      for (const KernelSetting& s : k->settings) {
        std::printf("      setting %s=%s: %s\n", s.name, s.default_value,
                    s.assumption);
      }
    }
  }
  return 0;
}

}  // namespace

Command SetupKernelsCommand(CLI::App& root) {
  auto o = std::make_shared<KernelsOptions>();
  CLI::App* app = root.add_subcommand(
      "kernels",
      "Per method, the device kernels it can be executed as (--kernel NAME), "
      "with the public source each follows");
  app->add_flag("--verbose,-v", o->verbose,
                "Also chunk sizes, recipe requirements, settings and their "
                "assumptions");
  return {app, [o]() { return RunKernels(*o); }};
}

}  // namespace trisim::app
