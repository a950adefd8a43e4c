// The main job: run a method's plan on many input samples and measure the
// error of T and of the layer outputs against the fp64 references.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/methods.h"
#include "core/metrics.h"
#include "core/plan.h"
#include "sim/executor.h"
#include "sim/gdn_layer.h"
#include "sim/recipe.h"

namespace trisim {

struct EvaluationConfig {
  std::string method = "mxr";
  MethodOptions options;
  int chunk = 64;  // 0: take it from the input (npy: only)
  std::string input = "gdn";
  int64_t samples = 100;
  uint64_t seed = 0;
  std::string precision = "fp64";
  int threads = 0;      // samples in parallel; 0: all cores (OpenMP)
  bool scalar = false;  // scalar reference instead of the fast path
};

struct EvaluationReport {
  Plan plan;
  std::string input;  // canonical input spec
  int chunk = 0;
  int64_t samples = 0;   // samples actually run
  bool has_gdn = false;  // W, U, O, S present
  // The whole layer in the recipe's precision (its layer_* fields), or the
  // exact fp64 layer around the simulated T (the inverse's own share).
  bool layer = false;
  // Carry mode: each sample is a sequence run chunk after chunk with the
  // state carried; T, W, U, O, S are per chunk (S = the state after the
  // chunk against the fp64 reference of the same sequence).
  bool carry = false;
  int64_t chunks = 0;  // chunks run (= samples without carry)
  ErrorStats t, w, u, o, state;
  ErrorStats state_final;  // carry: per sequence
  // carry: frob_rel of O and S by chunk index along the sequence.
  std::vector<Distribution> o_by_chunk, s_by_chunk;
  long long padded_tokens = 0;  // zero padding of sequence tails
  std::vector<std::string> notices;
  Recipe recipe;
  RunRecord record;          // per-step stats and events over all samples
  LayerRecord layer_record;  // layer steps (layer only)
};

// Throws InputError for bad configuration (method, options, input, samples,
// precision). Numerical failures are reported in the statistics.
EvaluationReport Evaluate(const EvaluationConfig& config);

}  // namespace trisim
