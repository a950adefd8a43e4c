#include "sim/evaluate.h"

#include <algorithm>
#include <memory>
#include <vector>

#include "core/gdn.h"
#include "core/inputs.h"
#include "core/random.h"
#include "core/status.h"
#include "sim/fast_path.h"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace trisim {

namespace {

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
  report.layer = report.has_gdn && recipe.layer.enabled && !recipe.exact;
  report.carry = report.has_gdn && source->Carry();
  report.samples = config.samples;
  if (source->Available() >= 0) {
    report.samples = std::min<int64_t>(report.samples, source->Available());
  }
  report.notices = source->Notices();
  // Carry mode counts the padding of the sequences it runs (below).
  report.padded_tokens = report.carry ? 0 : source->PaddedTokens();

  report.recipe = recipe;
  // Executors validate the plan x recipe pair: before the parallel region.
  { Executor check(report.plan, recipe); }
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
    std::unique_ptr<LayerSimulator> layer;
    if (report.layer)
      layer = std::make_unique<LayerSimulator>(report.plan, recipe);
#pragma omp for ordered schedule(dynamic, 1)
    for (int64_t i = 0; i < report.samples; ++i) {
      const uint64_t seed = Mix64(config.seed ^ Mix64(i));
      RunRecord record;
      LayerRecord layer_record;
      std::vector<ChunkErrors> errors;
      MatrixError final_state;
      int padded = 0;
      MatrixError t_error;
      double backward = 0.0;
      if (report.carry) {
        const SequenceSample seq = source->Sequence(i);
        padded = seq.padded;
        Mat ref_state = seq.chunks[0].state, got_state = ref_state;
        for (size_t c = 0; c < seq.chunks.size(); ++c) {
          Mat ref_next, got_next;
          errors.push_back(RunChunk(seq.chunks[c], ref_state, got_state,
                                    c == 0 ? seed : Mix64(seed ^ Mix64(c)),
                                    &executor, layer.get(), &record,
                                    &layer_record, &ref_next, &got_next));
          ref_state = std::move(ref_next);
          got_state = std::move(got_next);
        }
        final_state = CompareMatrices(ref_state, got_state);
      } else {
        const ChunkSample sample = source->Sample(i);
        if (sample.gdn) {
          Mat ref_next, got_next;
          errors.push_back(RunChunk(*sample.gdn, sample.gdn->state,
                                    sample.gdn->state, seed, &executor,
                                    layer.get(), &record, &layer_record,
                                    &ref_next, &got_next));
        } else {
          const Mat reference_t = ForwardSubstitutionInverse(sample.a);
          const Mat t = executor.Run(sample.a, seed, &record);
          t_error = CompareMatrices(reference_t, t);
          backward = BackwardError(sample.a, t);
        }
      }
#pragma omp ordered
      {
        report.record.Assimilate(record);
        report.layer_record.Assimilate(layer_record);
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
  return report;
}

}  // namespace trisim
