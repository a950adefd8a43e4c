#include "sim/oracle.h"

#include <cmath>

#include "core/inputs.h"
#include "core/random.h"
#include "core/status.h"
#include "quant/npy_codes.h"
#include "sim/recipe_fit.h"

namespace trisim {

OracleInputs MatricesFromNpy(NpyArray array, const NpyMatrixSpec& spec,
                             const Recipe& recipe, const std::string& what) {
  OracleInputs inputs;
  const quant::Format want = recipe.exact ? quant::Format::kFp32 : recipe.input;
  if (array.dtype == NpyDType::kUInt16) {
    if (recipe.exact || recipe.input != quant::Format::kBf16) {
      throw DataError(what +
                      ": uint16 data is read as raw bf16 "
                      "bits only for a recipe with bf16 input");
    }
    array = AsBFloat16(std::move(array));
  } else if (array.dtype != NpyDType::kFloat16 &&
             array.dtype != NpyDType::kFloat32 &&
             array.dtype != NpyDType::kFloat64) {
    throw DataError(what +
                    ": expected float16, bfloat16 (as "
                    "uint16), float32 or float64, got " +
                    NpyDTypeName(array.dtype));
  }
  if (!recipe.exact && array.dtype != quant::NpyDTypeFor(want)) {
    inputs.note = "input " + NpyDTypeName(array.dtype) + " is rounded to " +
                  quant::FormatName(want) + " (" +
                  quant::RoundingModeName(recipe.rounding) + ") on load";
  }
  // One npy: reader for error and oracle (core/inputs.h): shapes, forms,
  // finiteness, at least one matrix.
  inputs.matrices = NpyMatrices(array, spec, what, &inputs.batched);
  return inputs;
}

OracleInputs LoadOracleInputs(const std::string& spec, const Recipe& recipe,
                              int chunk, bool chunk_given, uint64_t seed) {
  OracleInputs inputs;
  if (spec.rfind("npy:", 0) == 0) {
    const NpyMatrixSpec npy = ParseNpyMatrixSpec(spec.substr(4));
    inputs =
        MatricesFromNpy(ReadNpy(npy.path), npy, recipe, "--in npy:" + npy.path);
    const int c = static_cast<int>(inputs.matrices.front().rows());
    if (chunk_given && chunk != c) {
      throw InputError("--chunk " + std::to_string(chunk) +
                       " does not match the input's " + std::to_string(c) +
                       " x " + std::to_string(c) + " matrices");
    }
  } else if (spec.rfind("npy-gdn:", 0) == 0) {
    const auto source = MakeInputSource(spec, chunk, seed);
    if (source->Available() < 1) {
      throw DataError("--in " + spec + ": holds no chunks (0 heads or tokens)");
    }
    for (long long i = 0; i < source->Available(); ++i) {
      inputs.matrices.push_back(source->Sample(i).a);
    }
    inputs.batched = true;
    inputs.note =
        "A formed in fp64 from k, beta, g and rounded once to the "
        "input format";
  } else {
    throw InputError(
        "--in: the oracle takes captured inputs, npy:PATH (A) or "
        "npy-gdn:DIR, got '" +
        spec + "'");
  }
  return inputs;
}

NpyArray OracleRun::Encode(const std::vector<int64_t>& shape) const {
  return exact() ? FromDoubles(values, shape)
                 : quant::EncodeExactValues(recipe().output, shape, values);
}

OracleRun RunOracle(const std::string& method, const MethodOptions& options,
                    const KernelChoice& kernel, const Recipe& recipe,
                    const std::vector<Mat>& a, uint64_t seed, int keep_sample) {
  TRISIM_ASSERT(!a.empty());
  OracleRun run;
  run.count = static_cast<int>(a.size());
  run.chunk = static_cast<int>(a.front().rows());
  const int c = run.chunk;
  const Plan plan = BuildKernelPlan(method, options, kernel, c);
  // Checked before any work (sim/recipe_fit.h).
  CheckRecipeFitsPlan(recipe, plan);
  run.executor = std::make_unique<Executor>(plan, recipe);
  run.values.reserve(static_cast<size_t>(run.count) * c * c);
  run.kept.keep_buffers = true;
  for (int n = 0; n < run.count; ++n) {
    TRISIM_ASSERT(a[n].rows() == c && a[n].cols() == c);
    RunRecord* record = n == keep_sample ? &run.kept : &run.totals;
    const Mat x = run.executor->Run(
        a[n], SampleSeed(seed, static_cast<uint64_t>(n)), record);
    for (int i = 0; i < c; ++i) {
      for (int j = 0; j < c; ++j) {
        run.values.push_back(x(i, j));
        run.nonfinite += !std::isfinite(x(i, j));
      }
    }
  }
  run.totals.Assimilate(run.kept);
  return run;
}

}  // namespace trisim
