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
#include "sim/recipe.h"

namespace trisim {

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
};

struct EvaluationReport {
  Plan plan;
  std::string input;  // canonical input spec
  int chunk = 0;
  int64_t samples = 0;   // samples actually run
  bool has_gdn = false;  // W, U, O, S present
  ErrorStats t, w, u, o, state;
  Recipe recipe;
  RunRecord record;  // per-step stats and events over all samples
};

// Throws InputError for bad configuration (method, options, input, samples,
// precision). Numerical failures are reported in the statistics.
EvaluationReport Evaluate(const EvaluationConfig& config);

}  // namespace trisim
