#include "sim/evaluate.h"

#include <algorithm>
#include <memory>

#include "core/gdn.h"
#include "core/inputs.h"
#include "core/random.h"
#include "core/status.h"

namespace trisim {

EvaluationReport Evaluate(const EvaluationConfig& config) {
  const Recipe recipe = LoadRecipe(config.precision);
  if (config.samples < 1 || config.samples > 100000000) {
    throw InputError("--samples " + std::to_string(config.samples) +
                     ": must be in [1, 1e8]");
  }
  // Validate the method before loading inputs, so a typo fails fast.
  if (config.chunk != 0) {
    ValidateMethod(config.method, config.options, config.chunk);
  }
  const auto source = MakeInputSource(config.input, config.chunk, config.seed);

  EvaluationReport report;
  report.chunk = source->Chunk();
  report.plan = BuildPlan(config.method, config.options, report.chunk);
  report.input = source->Name();
  report.has_gdn = source->HasGdn();
  report.samples = config.samples;
  if (source->Available() >= 0) {
    report.samples = std::min<int64_t>(report.samples, source->Available());
  }

  report.recipe = recipe;
  Executor executor(report.plan, recipe);
  for (int64_t i = 0; i < report.samples; ++i) {
    const ChunkSample sample = source->Sample(i);
    const Mat reference_t = ForwardSubstitutionInverse(sample.a);
    const Mat t = executor.Run(sample.a, Mix64(config.seed ^ Mix64(i)),
                               &report.record);
    report.t.Notify(CompareMatrices(reference_t, t));
    report.t.NotifyBackward(BackwardError(sample.a, t));
    if (sample.gdn) {
      const GdnOutputs ref = ChunkOutputs(*sample.gdn, sample.a, reference_t);
      const GdnOutputs got = ChunkOutputs(*sample.gdn, sample.a, t);
      report.w.Notify(CompareMatrices(ref.w, got.w));
      report.u.Notify(CompareMatrices(ref.u, got.u));
      report.o.Notify(CompareMatrices(ref.o, got.o));
      report.state.Notify(CompareMatrices(ref.next_state, got.next_state));
    }
  }
  return report;
}

}  // namespace trisim
