#include "sim/evaluate.h"

#include <algorithm>
#include <memory>

#include "core/gdn.h"
#include "core/inputs.h"
#include "core/random.h"
#include "core/status.h"
#include "sim/fast_path.h"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace trisim {

EvaluationReport Evaluate(const EvaluationConfig& config) {
  const Recipe recipe = LoadRecipe(config.precision);
  if (config.samples < 1 || config.samples > 100000000) {
    throw InputError("--samples " + std::to_string(config.samples) +
                     ": must be in [1, 1e8]");
  }
  // Validate the method before loading inputs, so a typo fails fast.
  if (config.chunk != 0) {
    BuildKernelPlan(config.method, config.options, config.kernel,
                    config.chunk);  // validates method, options, kernel
  }
  const auto source = MakeInputSource(config.input, config.chunk, config.seed);

  EvaluationReport report;
  report.chunk = source->Chunk();
  report.plan = BuildKernelPlan(config.method, config.options, config.kernel,
                                report.chunk);
  report.input = source->Name();
  report.has_gdn = source->HasGdn();
  report.samples = config.samples;
  if (source->Available() >= 0) {
    report.samples = std::min<int64_t>(report.samples, source->Available());
  }

  report.recipe = recipe;
  SetScalarReference(config.scalar);
  int threads = config.threads;
#ifdef _OPENMP
  if (threads <= 0) threads = omp_get_max_threads();
#else
  threads = 1;
#endif
    // Samples are independent: each thread runs its own executor; every
    // sample's statistics merge into the report in sample order (the ordered
    // region), so the report is the same for any thread count. Memory does
    // not grow with the sample count (core/metrics.h Distribution).
#pragma omp parallel num_threads(threads)
  {
    Executor executor(report.plan, recipe);
#pragma omp for ordered schedule(dynamic, 1)
    for (int64_t i = 0; i < report.samples; ++i) {
      const ChunkSample sample = source->Sample(i);
      const Mat reference_t = ForwardSubstitutionInverse(sample.a);
      RunRecord record;
      const Mat t =
          executor.Run(sample.a, Mix64(config.seed ^ Mix64(i)), &record);
      const MatrixError t_error = CompareMatrices(reference_t, t);
      const double backward = BackwardError(sample.a, t);
      MatrixError w, u, o, state;
      if (sample.gdn) {
        const GdnOutputs ref = ChunkOutputs(*sample.gdn, sample.a, reference_t);
        const GdnOutputs got = ChunkOutputs(*sample.gdn, sample.a, t);
        w = CompareMatrices(ref.w, got.w);
        u = CompareMatrices(ref.u, got.u);
        o = CompareMatrices(ref.o, got.o);
        state = CompareMatrices(ref.next_state, got.next_state);
      }
#pragma omp ordered
      {
        report.record.Assimilate(record);
        report.t.Notify(t_error);
        report.t.NotifyBackward(backward);
        if (sample.gdn) {
          report.w.Notify(w);
          report.u.Notify(u);
          report.o.Notify(o);
          report.state.Notify(state);
        }
      }
    }
  }
  return report;
}

}  // namespace trisim
