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

const char* ErrorReferenceName(ErrorReference reference) {
  return reference == ErrorReference::kExact ? "exact" : "rounded";
}

ErrorReference ParseErrorReference(const std::string& name,
                                   const std::string& what) {
  if (name == "exact") return ErrorReference::kExact;
  if (name == "rounded") return ErrorReference::kRounded;
  throw InputError(what + " " + name +
                   ": unknown reference (allowed: exact = inverse of the "
                   "exact input, rounded = inverse of the input rounded to "
                   "the recipe's input format)");
}

namespace {

// Max row sum of |A_ij|.
double InfNorm(const Mat& a) {
  double norm = 0.0;
  for (Eigen::Index i = 0; i < a.rows(); ++i) {
    norm = std::max(norm, a.row(i).cwiseAbs().sum());
  }
  return norm;
}

// True if some step of the run went out of its format's range.
bool HadRangeEvent(const RunRecord& record) {
  for (const StepStats& s : record.steps) {
    if (s.nonfinite + s.events.overflowed + s.events.saturated +
            s.events.wrapped >
        0) {
      return true;
    }
  }
  return false;
}

// One sample's measurements, computed in parallel and merged in order.
struct SampleResult {
  bool ok = false;
  RunRecord record;
  RunRecord shadow_record;  // the fp64 shadow, only when run_shadow
  bool run_shadow = false;
  double norm = 0;
  MatrixError t, w, u, o, state;
  double backward = 0;
  bool gdn = false;
};

SampleResult RunSample(const InputSource& source, Executor& executor,
                       Executor& shadow, const EvaluationConfig& config,
                       bool exact, int64_t i) {
  SampleResult r;
  const ChunkSample sample = source.Sample(i);
  const uint64_t seed = SampleSeed(config.seed, i);
  const Mat reference_a = config.reference == ErrorReference::kRounded
                              ? executor.InputAsLoaded(sample.a, seed)
                              : sample.a;
  const Mat reference_t = ForwardSubstitutionInverse(reference_a);
  const Mat t = executor.Run(sample.a, seed, &r.record);
  // The exact shadow, only where a step ran out of range.
  r.run_shadow = !exact && HadRangeEvent(r.record);
  if (r.run_shadow) shadow.Run(sample.a, 0, &r.shadow_record);
  r.norm = InfNorm(sample.a);
  r.t = CompareMatrices(reference_t, t);
  r.backward = BackwardError(sample.a, t);
  if (sample.gdn) {
    const GdnOutputs ref = ChunkOutputs(*sample.gdn, reference_a, reference_t);
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
  report->a_norm_inf.Add(r.norm);
  if (r.run_shadow) {
    const auto& steps = r.shadow_record.steps;
    report->needed_max_abs.resize(steps.size(), 0.0);
    for (size_t s = 0; s < steps.size(); ++s) {
      report->needed_max_abs[s] =
          std::max(report->needed_max_abs[s], steps[s].max_abs);
    }
    ++report->shadow_samples;
  }
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
  report.reference = config.reference;
  SetScalarReference(config.scalar);
  const Recipe fp64 = LoadRecipe("fp64");
  ParallelErrors errors;
  // Samples are independent: each thread runs its own executor; every
  // sample's statistics merge into the report in sample order (the ordered
  // region), so the report is the same for any thread count. Memory does
  // not grow with the sample count (core/metrics.h Distribution). An
  // exception in a sample is kept and rethrown after the region.
#pragma omp parallel num_threads(threads)
  {
    std::unique_ptr<Executor> executor, shadow;
    try {
      executor = std::make_unique<Executor>(report.plan, recipe);
      shadow = std::make_unique<Executor>(report.plan, fp64);
    } catch (...) {
      errors.Capture(-1);
    }
#pragma omp for ordered schedule(dynamic, 1)
    for (int64_t i = 0; i < report.samples; ++i) {
      SampleResult result;
      if (executor && !errors.Failed()) {
        try {
          result =
              RunSample(*source, *executor, *shadow, config, recipe.exact, i);
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
