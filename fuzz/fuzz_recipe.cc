// Fuzz target: a recipe TOML file (sim/recipe.h LoadRecipe), then the recipe
// used: written back with ToToml and re-read (the same recipe), one sample
// of mxr (C = 64) and of fla (C = 32) evaluated with it, both plans priced,
// and one sample of mxr on inputs that run the recipe out of range.
//
// Input: the recipe text (up to the first file marker, see fuzz_common.h),
// optionally followed by further files (e.g. a `base` recipe). "$D" in the
// text is the directory holding the files, so `base = "$D/b.toml"` works
// whichever directory `base` is resolved against.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>

#include "core/methods.h"
#include "fuzz/fuzz_common.h"
#include "sim/cost/profile.h"
#include "sim/cost_model.h"
#include "sim/evaluate.h"
#include "sim/recipe.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace trisim;
  fuzz::ScratchDir& dir = fuzz::ScratchDir::Get();
  dir.Reset();
  const fuzz::Container c = fuzz::ParseContainer(data, size);
  for (const auto& [name, bytes] : c.files) {
    if (name != "recipe.toml") {
      dir.Write(name, fuzz::SubstituteDir(bytes, dir.path()));
    }
  }
  const std::string path =
      dir.Write("recipe.toml", fuzz::SubstituteDir(c.prefix, dir.path()));
  fuzz::ExpectOnlyInputErrors([&] {
    const Recipe recipe = LoadRecipe(path);
    const std::string toml = recipe.ToToml();
    Recipe again;
    try {
      again = ParseRecipeToml(toml, "ToToml of " + path);
    } catch (const InputError& e) {
      std::fprintf(stderr,
                   "fuzz: ToToml of a loaded recipe does not load: %s\n%s",
                   e.what(), toml.c_str());
      std::abort();
    }
    if (again.ToToml() != toml) {
      std::fprintf(stderr, "fuzz: recipe TOML round trip differs:\n%s---\n%s",
                   toml.c_str(), again.ToToml().c_str());
      std::abort();
    }
    // Two plans that stress different steps: mxr (16x16 blocks, then
    // doubling) at C = 64, fla (forward substitution) at C = 32; and mxr on
    // inputs whose intermediates leave every format's range (overflowing
    // scale products and all-zero integer groups: the requantisation aborts
    // fixed in issue 15's review, which uniform:0.5 never reached).
    static const HardwareProfile profile = LoadProfile(kDefaultProfile);
    struct Run {
      const char* method;
      int chunk;
      const char* input;
    };
    for (const Run& run :
         {Run{"mxr", 64, "uniform:0.5"}, Run{"fla", 32, "uniform:0.5"},
          Run{"mxr", 64, "uniform:100"}}) {
      EvaluationConfig config;
      config.method = run.method;
      config.chunk = run.chunk;
      config.input = run.input;
      config.samples = 1;
      config.precision = path;
      config.threads = 1;
      const EvaluationReport report = Evaluate(config);
      EstimateCost(report.plan, PipelinePrecisionFor(recipe), Workload{},
                   profile);
    }
  });
  return 0;
}
