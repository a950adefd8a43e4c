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

}  // namespace

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
  report.reference = config.reference;
  SetScalarReference(config.scalar);
  Recipe fp64 = LoadRecipe("fp64");
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
    Executor shadow(report.plan, fp64);
#pragma omp for ordered schedule(dynamic, 1)
    for (int64_t i = 0; i < report.samples; ++i) {
      const ChunkSample sample = source->Sample(i);
      const uint64_t seed = Mix64(config.seed ^ Mix64(i));
      const Mat reference_a = config.reference == ErrorReference::kRounded
                                  ? executor.InputAsLoaded(sample.a, seed)
                                  : sample.a;
      const Mat reference_t = ForwardSubstitutionInverse(reference_a);
      RunRecord record;
      const Mat t = executor.Run(sample.a, seed, &record);
      // The exact shadow, only where a step ran out of range.
      RunRecord shadow_record;
      const bool run_shadow = !recipe.exact && HadRangeEvent(record);
      if (run_shadow) shadow.Run(sample.a, 0, &shadow_record);
      const double norm = InfNorm(sample.a);
      const MatrixError t_error = CompareMatrices(reference_t, t);
      const double backward = BackwardError(sample.a, t);
      MatrixError w, u, o, state;
      if (sample.gdn) {
        const GdnOutputs ref =
            ChunkOutputs(*sample.gdn, reference_a, reference_t);
        const GdnOutputs got = ChunkOutputs(*sample.gdn, sample.a, t);
        w = CompareMatrices(ref.w, got.w);
        u = CompareMatrices(ref.u, got.u);
        o = CompareMatrices(ref.o, got.o);
        state = CompareMatrices(ref.next_state, got.next_state);
      }
#pragma omp ordered
      {
        report.record.Assimilate(record);
        report.a_norm_inf.Add(norm);
        if (run_shadow) {
          report.needed_max_abs.resize(shadow_record.steps.size(), 0.0);
          for (size_t s = 0; s < shadow_record.steps.size(); ++s) {
            report.needed_max_abs[s] = std::max(report.needed_max_abs[s],
                                                shadow_record.steps[s].max_abs);
          }
          ++report.shadow_samples;
        }
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
