#include "sim/evaluate.h"

#include <algorithm>
#include <memory>
#include <vector>

#include "core/gdn.h"
#include "core/inputs.h"
#include "core/kernels.h"
#include "core/random.h"
#include "core/status.h"
#include "core/threads.h"
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

struct ChunkErrors {
  MatrixError t, w, u, o, s;
  double backward = 0.0;
};

// Runs one chunk both ways: the reference in fp64 (long-double T) from
// `ref_state`, the simulation from `got_state`; returns the errors and the
// two next states.
ChunkErrors RunChunk(GdnChunk chunk, const Mat& ref_state, const Mat& got_state,
                     uint64_t seed, Executor* executor, LayerSimulator* layer,
                     RunRecord* record, LayerRecord* layer_record,
                     Mat* ref_next, Mat* got_next) {
  chunk.state = ref_state;
  const GdnOutputs ref = ChunkReference(chunk);
  chunk.state = got_state;
  GdnOutputs got;
  if (layer != nullptr) {
    got = layer->Run(chunk, seed, record, layer_record);
  } else {
    const Mat t = executor->Run(ref.a, seed, record);
    got = ChunkOutputs(chunk, ref.a, t);
  }
  ChunkErrors e;
  e.t = CompareMatrices(ref.t, got.t);
  e.backward = BackwardError(ref.a, got.t);
  e.w = CompareMatrices(ref.w, got.w);
  e.u = CompareMatrices(ref.u, got.u);
  e.o = CompareMatrices(ref.o, got.o);
  e.s = CompareMatrices(ref.next_state, got.next_state);
  *ref_next = ref.next_state;
  *got_next = got.next_state;
  return e;
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
  report.layer = report.has_gdn && recipe.layer.enabled && !recipe.exact;
  report.carry = report.has_gdn && source->Carry();
  report.samples = config.samples;
  if (source->Available() == 0) {
    throw DataError("--input " + report.input +
                    ": holds no samples (0 matrices)");
  }
  if (source->Available() >= 0) {
    report.samples = std::min<int64_t>(report.samples, source->Available());
  }
  report.notices = source->Notices();
  // Carry mode counts the padding of the sequences it runs (below).
  report.padded_tokens = report.carry ? 0 : source->PaddedTokens();

  report.recipe = recipe;
  // Everything that can fail is checked before the parallel region (the plan
  // x recipe fit: sim/recipe_fit.h; the executor's own checks); anything a
  // worker still throws is kept and rethrown after it (core/threads.h),
  // never std::terminate.
  CheckRecipeFitsPlan(recipe, report.plan);
  { Executor check(report.plan, recipe); }
  report.reference = config.reference;
  const ExecOptions exec{config.scalar};
  const Recipe fp64 = LoadRecipe("fp64");
  ParallelErrors failures;
  // Samples are independent: each thread runs its own executor; every
  // sample's statistics merge into the report in sample order (the ordered
  // region), so the report is the same for any thread count. Memory does
  // not grow with the sample count (core/metrics.h Distribution).
  // Parallelism is by samples: Eigen's own OpenMP gemm would otherwise
  // spread each fp64 reference product over every core from a one-thread
  // region (--threads 1 then used all cores, mostly spinning: issue 15).
  Eigen::setNbThreads(1);
#pragma omp parallel num_threads(threads)
  {
    std::unique_ptr<Executor> executor, shadow;
    std::unique_ptr<LayerSimulator> layer;
    try {
      executor = std::make_unique<Executor>(report.plan, recipe, exec);
      shadow = std::make_unique<Executor>(report.plan, fp64, exec);
      if (report.layer) {
        layer = std::make_unique<LayerSimulator>(report.plan, recipe, exec);
      }
    } catch (...) {
      failures.Capture(-1);
    }
#pragma omp for ordered schedule(dynamic, 1)
    for (int64_t i = 0; i < report.samples; ++i) {
      const uint64_t seed = SampleSeed(config.seed, i);
      RunRecord record, shadow_record;
      LayerRecord layer_record;
      std::vector<ChunkErrors> errors;
      MatrixError final_state;
      int padded = 0;
      MatrixError t_error;
      double backward = 0.0, norm = 0.0;
      bool ok = false, run_shadow = false;
      if (executor && !failures.Failed()) {
        try {
          if (report.carry) {
            const SequenceSample seq = source->Sequence(i);
            padded = seq.padded;
            Mat ref_state = seq.chunks[0].state, got_state = ref_state;
            for (size_t c = 0; c < seq.chunks.size(); ++c) {
              Mat ref_next, got_next;
              errors.push_back(RunChunk(seq.chunks[c], ref_state, got_state,
                                        c == 0 ? seed : Mix64(seed ^ Mix64(c)),
                                        executor.get(), layer.get(), &record,
                                        &layer_record, &ref_next, &got_next));
              ref_state = std::move(ref_next);
              got_state = std::move(got_next);
            }
            final_state = CompareMatrices(ref_state, got_state);
          } else {
            const ChunkSample sample = source->Sample(i);
            norm = InfNorm(sample.a);
            if (sample.gdn) {
              Mat ref_next, got_next;
              errors.push_back(RunChunk(*sample.gdn, sample.gdn->state,
                                        sample.gdn->state, seed, executor.get(),
                                        layer.get(), &record, &layer_record,
                                        &ref_next, &got_next));
            } else {
              // --reference rounded: the inverse of A as the kernel loads it.
              const Mat reference_a =
                  config.reference == ErrorReference::kRounded
                      ? executor->InputAsLoaded(sample.a, seed)
                      : sample.a;
              const Mat reference_t = ForwardSubstitutionInverse(reference_a);
              const Mat t = executor->Run(sample.a, seed, &record);
              t_error = CompareMatrices(reference_t, t);
              backward = BackwardError(sample.a, t);
            }
            // The exact shadow, only where a step ran out of range: what
            // each step would have needed (the inverse's plan, on this A).
            run_shadow =
                !recipe.exact && !report.layer && HadRangeEvent(record);
            if (run_shadow) shadow->Run(sample.a, 0, &shadow_record);
          }
          ok = true;
        } catch (...) {
          failures.Capture(i);
        }
      }
#pragma omp ordered
      {
        if (ok) {
          report.record.Assimilate(record);
          report.layer_record.Assimilate(layer_record);
          if (!report.carry) report.a_norm_inf.Add(norm);
          if (run_shadow) {
            const auto& steps = shadow_record.steps;
            report.needed_max_abs.resize(steps.size(), 0.0);
            for (size_t s = 0; s < steps.size(); ++s) {
              report.needed_max_abs[s] =
                  std::max(report.needed_max_abs[s], steps[s].max_abs);
            }
            ++report.shadow_samples;
          }
          if (errors.empty()) {
            report.t.Notify(t_error);
            report.t.NotifyBackward(backward);
            ++report.chunks;
          }
          for (size_t c = 0; c < errors.size(); ++c) {
            const ChunkErrors& e = errors[c];
            report.t.Notify(e.t);
            report.t.NotifyBackward(e.backward);
            report.w.Notify(e.w);
            report.u.Notify(e.u);
            report.o.Notify(e.o);
            report.state.Notify(e.s);
            ++report.chunks;
            if (report.carry) {
              if (report.o_by_chunk.size() <= c) {
                report.o_by_chunk.resize(c + 1);
                report.s_by_chunk.resize(c + 1);
              }
              report.o_by_chunk[c].Add(e.o.frob_rel);
              report.s_by_chunk[c].Add(e.s.frob_rel);
            }
          }
          if (report.carry) {
            report.state_final.Notify(final_state);
            report.padded_tokens += padded;
          }
        }
      }
    }
  }
  failures.Rethrow();
  return report;
}

}  // namespace trisim
