// The main job: run a method's plan on many input samples and measure the
// error of T and of the layer outputs against the fp64 references.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/kernels.h"
#include "core/methods.h"
#include "core/metrics.h"
#include "core/plan.h"
#include "sim/executor.h"
#include "sim/gdn_layer.h"
#include "sim/recipe.h"

namespace trisim {

// What T's (and the layer outputs') error is measured against:
//  kExact    the inverse of the exact (fp64) input A;
//  kRounded  the inverse of A as rounded to the recipe's input format (the
//            convention of kernel test suites: the kernel never sees the
//            exact A). Under the fp64 recipe both are the same.
enum class ErrorReference { kExact, kRounded };
const char* ErrorReferenceName(ErrorReference reference);
// Throws InputError naming `what` unless `name` is exact or rounded.
ErrorReference ParseErrorReference(const std::string& name,
                                   const std::string& what = "--reference");

struct EvaluationConfig {
  std::string method = "mxr";
  MethodOptions options;
  KernelChoice kernel;  // "plan" (default) or a device kernel
  int chunk = 64;       // 0: take it from the input (npy: only)
  std::string input = "gdn";
  int64_t samples = 100;
  uint64_t seed = 0;
  std::string precision = "fp64";
  int threads = 0;      // samples in parallel; 0: all cores (OpenMP)
  bool scalar = false;  // scalar reference instead of the fast path
  ErrorReference reference = ErrorReference::kExact;
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
  ErrorReference reference = ErrorReference::kExact;
  // ||A||_inf (max row sum of |A_ij|, the exact input) over the samples.
  Distribution a_norm_inf;
  // Range report: for every sample in which some step overflowed,
  // saturated, wrapped or went non-finite, the same plan runs in fp64 on the
  // same A (the exact shadow); needed_max_abs[s] is the largest |x| step s
  // produced in those shadow runs, i.e. the magnitude the step would have
  // needed. Empty when no sample had such an event (or under fp64).
  std::vector<double> needed_max_abs;
  int64_t shadow_samples = 0;  // samples that ran the shadow
};

// Throws InputError for bad configuration (method, options, input, samples,
// precision). Numerical failures are reported in the statistics.
EvaluationReport Evaluate(const EvaluationConfig& config);

}  // namespace trisim
