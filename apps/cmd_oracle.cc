// trisim oracle: the bit-exact output a device kernel should produce for a
// stated method and recipe, from captured inputs; optionally every stage.
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "apps/commands.h"
#include "apps/method_options.h"
#include "core/inputs.h"
#include "core/methods.h"
#include "core/npy.h"
#include "core/random.h"
#include "core/status.h"
#include "quant/npy_codes.h"
#include "sim/executor.h"
#include "sim/recipe.h"
#include "sim/stage_dump.h"

namespace trisim::app {
namespace {

struct OracleOptions {
  MethodFlags method;
  std::string precision = "fp16";
  std::string in, out, dump_dir;
  int dump_sample = 0;
  int chunk = 64;
  CLI::Option* chunk_opt = nullptr;
  uint64_t seed = 0;
};

struct OracleInputs {
  std::vector<Mat> matrices;
  bool batched = false;  // input had a leading n dimension
  std::string note;      // e.g. a dtype that is rounded on load
};

// A from npy:PATH, [C, C] or [n, C, C]; a '<u2' file is bf16 when the recipe
// takes bf16 input.
OracleInputs LoadMatrices(const std::string& path, const Recipe& recipe) {
  NpyArray array = ReadNpy(path);
  const auto& shape = array.shape;
  if (shape.size() != 2 && shape.size() != 3) {
    throw InputError("--in npy:" + path +
                     ": expected shape [C, C] or [n, C, C]");
  }
  const int64_t c = shape.back();
  if (shape[shape.size() - 2] != c || c < 1 || c > 1024 || (c & (c - 1))) {
    throw InputError("--in npy:" + path +
                     ": matrices must be C x C with C a power of two <= 1024");
  }
  OracleInputs inputs;
  const quant::Format want = recipe.exact ? quant::Format::kFp32 : recipe.input;
  if (array.dtype == NpyDType::kUInt16) {
    if (recipe.exact || recipe.input != quant::Format::kBf16) {
      throw InputError("--in npy:" + path +
                       ": uint16 data is read as raw bf16 "
                       "bits only for a recipe with bf16 input");
    }
    array = AsBFloat16(std::move(array));
  } else if (array.dtype != NpyDType::kFloat16 &&
             array.dtype != NpyDType::kFloat32 &&
             array.dtype != NpyDType::kFloat64) {
    throw InputError("--in npy:" + path +
                     ": expected float16, bfloat16 (as "
                     "uint16), float32 or float64, got " +
                     NpyDTypeName(array.dtype));
  }
  if (!recipe.exact && array.dtype != quant::NpyDTypeFor(want)) {
    inputs.note = "input " + NpyDTypeName(array.dtype) + " is rounded to " +
                  quant::FormatName(want) + " (" +
                  quant::RoundingModeName(recipe.rounding) + ") on load";
  }
  const std::vector<double> values = ToDoubles(array);
  const int64_t count = shape.size() == 3 ? shape[0] : 1;
  inputs.batched = shape.size() == 3;
  for (int64_t n = 0; n < count; ++n) {
    Mat a(c, c);
    for (int64_t i = 0; i < c; ++i) {
      for (int64_t j = 0; j < c; ++j) a(i, j) = values[(n * c + i) * c + j];
    }
    const std::string what =
        "--in npy:" + path + " matrix " + std::to_string(n);
    CheckStrictlyLower(a, what.c_str());
    inputs.matrices.push_back(std::move(a));
  }
  return inputs;
}

int RunOracle(const OracleOptions& o) {
  const Recipe recipe = LoadRecipe(o.precision);
  OracleInputs inputs;
  if (o.in.rfind("npy:", 0) == 0) {
    inputs = LoadMatrices(o.in.substr(4), recipe);
  } else if (o.in.rfind("npy-gdn:", 0) == 0) {
    const auto source = MakeInputSource(o.in, o.chunk, o.seed);
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
        o.in + "'");
  }
  const int c = static_cast<int>(inputs.matrices.front().rows());
  if (o.chunk_opt->count() && o.in.rfind("npy:", 0) == 0 && o.chunk != c) {
    throw InputError("--chunk " + std::to_string(o.chunk) + " does not match " +
                     "the input's " + std::to_string(c) + " x " +
                     std::to_string(c) + " matrices");
  }
  const int count = static_cast<int>(inputs.matrices.size());
  if (!o.dump_dir.empty() && (o.dump_sample < 0 || o.dump_sample >= count)) {
    throw InputError("--dump-sample " + std::to_string(o.dump_sample) +
                     ": the input holds " + std::to_string(count) +
                     " matrices");
  }
  const Plan plan = BuildKernelPlan(o.method.method, o.method.ToOptions(),
                                    o.method.ToKernel(), c);
  Executor executor(plan, recipe);

  // Everything is computed before anything is written.
  std::vector<double> out_values;
  out_values.reserve(static_cast<size_t>(count) * c * c);
  RunRecord totals, dump;
  dump.keep_buffers = true;
  long long nonfinite = 0;
  for (int n = 0; n < count; ++n) {
    RunRecord* record =
        n == o.dump_sample && !o.dump_dir.empty() ? &dump : &totals;
    const Mat x =
        executor.Run(inputs.matrices[n],
                     Mix64(o.seed ^ Mix64(static_cast<uint64_t>(n))), record);
    for (int i = 0; i < c; ++i) {
      for (int j = 0; j < c; ++j) {
        out_values.push_back(x(i, j));
        nonfinite += !std::isfinite(x(i, j));
      }
    }
  }
  totals.Assimilate(dump);

  std::vector<int64_t> shape = {c, c};
  if (inputs.batched) shape.insert(shape.begin(), count);
  const NpyArray out =
      recipe.exact ? FromDoubles(out_values, shape)
                   : quant::EncodeExactValues(recipe.output, shape, out_values);
  if (!o.dump_dir.empty()) {
    WriteStageDump(o.dump_dir, plan, recipe, executor, dump);
  }
  WriteNpy(o.out, out);

  if (!inputs.note.empty())
    std::fprintf(stderr, "trisim: note: %s\n", inputs.note.c_str());
  long long saturated = 0, overflowed = 0, wrapped = 0;
  for (const StepStats& s : totals.steps) {
    saturated += s.events.saturated;
    overflowed += s.events.overflowed;
    wrapped += s.events.wrapped;
  }
  std::printf("trisim oracle: %s (%s), recipe %s, %d matrices of %d x %d\n",
              plan.method.c_str(), plan.options.c_str(), recipe.name.c_str(),
              count, c, c);
  if (plan.IsKernelPlan()) {
    std::printf("kernel %s: %s\n", plan.kernel.name.c_str(),
                plan.kernel.source.c_str());
  }
  std::printf("wrote %s (%s, shape [%s%d, %d])\n", o.out.c_str(),
              NpyDTypeName(out.dtype).c_str(),
              inputs.batched ? (std::to_string(count) + ", ").c_str() : "", c,
              c);
  std::printf(
      "events: %lld saturated, %lld overflowed, %lld accumulator "
      "wraps, %lld non-finite outputs\n",
      saturated, overflowed, wrapped, nonfinite);
  if (!o.dump_dir.empty()) {
    std::printf("stages of matrix %d: %s/manifest.json (%zu steps)\n",
                o.dump_sample, o.dump_dir.c_str(), plan.steps.size());
  }
  return 0;
}

}  // namespace

Command SetupOracleCommand(CLI::App& root) {
  auto o = std::make_shared<OracleOptions>();
  CLI::App* app = root.add_subcommand(
      "oracle",
      "Bit-exact device output of a method under a precision recipe, for "
      "captured inputs (regression oracle for device kernels)");
  AddMethodFlags(*app, o->method);
  AddKernelFlag(*app, o->method);
  app->add_option("--precision", o->precision,
                  "Precision recipe: a built-in name (trisim recipes) or "
                  "PATH.toml")
      ->capture_default_str();
  app->add_option("--in", o->in,
                  "Inputs: npy:PATH (A, [C, C] or [n, C, C], strictly lower; "
                  "float16/float32/float64, or uint16 = bf16 bits for a bf16 "
                  "recipe) or npy-gdn:DIR (k, beta, g; see trisim error)")
      ->required();
  app->add_option("--out", o->out,
                  "Output .npy: X in the recipe's output format (fp16 '<f2', "
                  "bf16 '<u2' bits, fp32/hf32 '<f4', fp64 '<f8'), same "
                  "leading shape as the input")
      ->required();
  app->add_option("--dump-stages", o->dump_dir,
                  "Write every step's output and manifest.json to this "
                  "directory (README: Stage dumps)");
  app->add_option("--dump-sample", o->dump_sample,
                  "Which matrix of a batch to dump")
      ->capture_default_str();
  o->chunk_opt = app->add_option("--chunk", o->chunk,
                                 "Chunk size for npy-gdn inputs (npy: from "
                                 "the file)")
                     ->capture_default_str();
  app->add_option("--seed", o->seed,
                  "Seed of stochastic rounding and of missing v/q in npy-gdn")
      ->capture_default_str();
  return {app, [o] { return RunOracle(*o); }};
}

}  // namespace trisim::app
