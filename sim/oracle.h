// The oracle's computation, shared by `trisim oracle`, `trisim compare` and
// the Python module: the bit-exact device output of a method's plan under a
// precision recipe, matrix by matrix, for captured inputs.
//
// Shapes: each input matrix is C x C, strictly lower (checked by the
// loaders); outputs are the recipe's output format held exactly in doubles,
// row-major, matrix after matrix ([n, C, C]).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/inputs.h"
#include "core/kernels.h"
#include "core/matrix.h"
#include "core/methods.h"
#include "core/npy.h"
#include "quant/format.h"
#include "sim/executor.h"
#include "sim/recipe.h"

namespace trisim {

struct OracleInputs {
  std::vector<Mat> matrices;
  bool batched = false;  // input had a leading n dimension
  std::string note;      // e.g. a dtype that is rounded on load
};

// A from an .npy array, [C, C] or [n, C, C], stored in the form `spec`
// states (core/inputs.h NpyMatrices); a '<u2' array is bf16 bits, allowed
// only when the recipe takes bf16 input. `what` names the input in errors
// ("--in npy:A.npy"). Throws DataError for the file's content.
OracleInputs MatricesFromNpy(NpyArray array, const NpyMatrixSpec& spec,
                             const Recipe& recipe, const std::string& what);

// The oracle's --in: npy:PATH (A) or npy-gdn:DIR (A formed from k, beta, g;
// `chunk` tokens per matrix); npy: takes the keys form= and above= of
// ParseNpyMatrixSpec. `chunk_given`: --chunk was stated, so an npy file must
// match it. Throws InputError (usage) or DataError (content).
OracleInputs LoadOracleInputs(const std::string& spec, const Recipe& recipe,
                              int chunk, bool chunk_given, uint64_t seed);

struct OracleRun {
  std::unique_ptr<Executor> executor;  // plan + recipe (stage dumps)
  int count = 0, chunk = 0;
  std::vector<double> values;  // count * chunk * chunk, output format
  long long nonfinite = 0;     // non-finite output entries
  RunRecord totals;            // stats and events over every matrix
  RunRecord kept;              // keep_buffers record of `keep_sample`

  const Plan& plan() const { return executor->plan(); }
  const Recipe& recipe() const { return executor->recipe(); }
  // The storage format of the output: the recipe's output, or nullopt-like
  // `exact` (fp64) for the exact recipe.
  bool exact() const { return recipe().exact; }
  // The outputs as the oracle writes them (fp16 '<f2', bf16 '<u2' bits,
  // fp32/hf32 '<f4', fp64 '<f8'), with the given shape.
  NpyArray Encode(const std::vector<int64_t>& shape) const;
};

// Runs the method on every matrix of `a` (all C x C, C a power of two, as
// BuildPlan requires). Matrix n uses stochastic-rounding seed
// Mix64(seed ^ Mix64(n)), so results do not depend on batching. With
// `kernel` selects how the method runs (core/kernels.h; "plan" = the
// math-level plan). With keep_sample in [0, n) that matrix's buffers are kept
// (run.kept).
OracleRun RunOracle(const std::string& method, const MethodOptions& options,
                    const KernelChoice& kernel, const Recipe& recipe,
                    const std::vector<Mat>& a, uint64_t seed,
                    int keep_sample = -1);
// The same with the method's math-level plan (kernel "plan").
inline OracleRun RunOracle(const std::string& method,
                           const MethodOptions& options, const Recipe& recipe,
                           const std::vector<Mat>& a, uint64_t seed,
                           int keep_sample = -1) {
  return RunOracle(method, options, KernelChoice{}, recipe, a, seed,
                   keep_sample);
}

}  // namespace trisim
