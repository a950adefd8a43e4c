#include "sim/evaluate.h"

#include <algorithm>
#include <memory>

#include "core/gdn.h"
#include "core/inputs.h"
#include "core/random.h"
#include "core/status.h"
#include "core/threads.h"
#include "sim/fast_path.h"
#include "sim/recipe_fit.h"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace trisim {

namespace {

// One sample's measurements, computed in parallel and merged in order.
struct SampleResult {
  bool ok = false;
  RunRecord record;
  MatrixError t, w, u, o, state;
  double backward = 0;
  bool gdn = false;
};

SampleResult RunSample(const InputSource& source, Executor& executor,
                       uint64_t seed, int64_t i) {
  SampleResult r;
  const ChunkSample sample = source.Sample(i);
  const Mat reference_t = ForwardSubstitutionInverse(sample.a);
  const Mat t = executor.Run(sample.a, Mix64(seed ^ Mix64(i)), &r.record);
  r.t = CompareMatrices(reference_t, t);
  r.backward = BackwardError(sample.a, t);
  if (sample.gdn) {
    const GdnOutputs ref = ChunkOutputs(*sample.gdn, sample.a, reference_t);
    const GdnOutputs got = ChunkOutputs(*sample.gdn, sample.a, t);
    r.w = CompareMatrices(ref.w, got.w);
    r.u = CompareMatrices(ref.u, got.u);
    r.o = CompareMatrices(ref.o, got.o);
    r.state = CompareMatrices(ref.next_state, got.next_state);
    r.gdn = true;
  }
  r.ok = true;
  return r;
}

void MergeSample(const SampleResult& r, EvaluationReport* report) {
  report->record.Assimilate(r.record);
  report->t.Notify(r.t);
  report->t.NotifyBackward(r.backward);
  if (r.gdn) {
    report->w.Notify(r.w);
    report->u.Notify(r.u);
    report->o.Notify(r.o);
    report->state.Notify(r.state);
  }
}

}  // namespace

EvaluationReport Evaluate(const EvaluationConfig& config) {
  const Recipe recipe = LoadRecipe(config.precision);
  if (config.samples < 1 || config.samples > 100000000) {
    throw InputError("--samples " + std::to_string(config.samples) +
                     ": must be in [1, 1e8]");
  }
  // 0: OpenMP's default (all cores, or OMP_NUM_THREADS), within the bound.
  int threads = config.threads == 0 ? 0 : CheckThreads(config.threads);
#ifdef _OPENMP
  if (threads == 0) threads = std::min(omp_get_max_threads(), MaxThreads());
#else
  threads = 1;
#endif
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
  if (source->Available() == 0) {
    throw DataError("--input " + report.input +
                    ": holds no samples (0 matrices)");
  }
  if (source->Available() >= 0) {
    report.samples = std::min<int64_t>(report.samples, source->Available());
  }

  report.recipe = recipe;
  // Everything that can fail is checked before the parallel region (the plan
  // x recipe fit: sim/recipe_fit.h); anything a worker still throws is kept
  // and rethrown after it (core/threads.h), never std::terminate.
  CheckRecipeFitsPlan(recipe, report.plan);
  SetScalarReference(config.scalar);
  ParallelErrors errors;
  // Samples are independent: each thread runs its own executor; every
  // sample's statistics merge into the report in sample order (the ordered
  // region), so the report is the same for any thread count. Memory does
  // not grow with the sample count (core/metrics.h Distribution). An
  // exception in a sample is kept and rethrown after the region.
#pragma omp parallel num_threads(threads)
  {
    std::unique_ptr<Executor> executor;
    try {
      executor = std::make_unique<Executor>(report.plan, recipe);
    } catch (...) {
      errors.Capture(-1);
    }
#pragma omp for ordered schedule(dynamic, 1)
    for (int64_t i = 0; i < report.samples; ++i) {
      SampleResult result;
      if (executor && !errors.Failed()) {
        try {
          result = RunSample(*source, *executor, config.seed, i);
        } catch (...) {
          errors.Capture(i);
        }
      }
#pragma omp ordered
      {
        if (result.ok) MergeSample(result, &report);
      }
    }
  }
  errors.Rethrow();
  return report;
}

}  // namespace trisim
