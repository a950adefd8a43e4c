// trisim oracle: the bit-exact output a device kernel should produce for a
// stated method and recipe, from captured inputs; optionally every stage.
#include <sys/stat.h>
#include <unistd.h>

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
#include "sim/gdn_layer.h"
#include "sim/recipe.h"
#include "sim/stage_dump.h"

namespace trisim::app {
namespace {

struct OracleOptions {
  MethodFlags method;
  std::string precision = "fp16";
  std::string in, out, dump_dir;
  std::string layer_dir;  // layer outputs (layer recipes, npy-gdn)
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

// The layer outputs of a layer recipe (sim/gdn_layer.h) on npy-gdn inputs:
// every chunk (carry=on: every sequence, chunk after chunk, with the state
// carried in layer_state), stacked along a leading dimension, written as
// float64 (each value is exactly representable: it holds its recipe format's
// value) into a fresh directory. Returns T of every chunk for --out.
struct LayerOracle {
  std::vector<std::pair<std::string, NpyArray>> files;
  std::vector<Mat> t;
};

LayerOracle RunLayerOracle(const InputSource& source, const Plan& plan,
                           const Recipe& recipe, uint64_t seed) {
  LayerSimulator sim(plan, recipe);
  std::vector<std::vector<double>> a, t, w, u, vn, o, s;
  std::vector<int64_t> shape_a, shape_w, shape_u, shape_s;
  long long chunks = 0, finals = 0;
  auto append = [](std::vector<std::vector<double>>* list, const Mat& m) {
    std::vector<double> v;
    for (Eigen::Index i = 0; i < m.rows(); ++i) {
      for (Eigen::Index j = 0; j < m.cols(); ++j) v.push_back(m(i, j));
    }
    list->push_back(std::move(v));
  };
  LayerOracle out;
  auto run = [&](GdnChunk chunk, uint64_t chunk_seed, const Mat& state) {
    chunk.state = state;
    Mat v;
    const GdnOutputs got = sim.Run(chunk, chunk_seed, nullptr, nullptr, &v);
    append(&a, got.a);
    append(&t, got.t);
    append(&w, got.w);
    append(&u, got.u);
    append(&vn, v);
    append(&o, got.o);
    out.t.push_back(got.t);
    shape_a = {got.a.rows(), got.a.cols()};
    shape_w = {got.w.rows(), got.w.cols()};
    shape_u = {got.u.rows(), got.u.cols()};
    shape_s = {got.next_state.rows(), got.next_state.cols()};
    ++chunks;
    return got.next_state;
  };
  for (long long i = 0; i < source.Available(); ++i) {
    const uint64_t sample_seed = Mix64(seed ^ Mix64(static_cast<uint64_t>(i)));
    if (source.Carry()) {
      const SequenceSample seq = source.Sequence(i);
      Mat state = seq.chunks[0].state;
      for (size_t c = 0; c < seq.chunks.size(); ++c) {
        state =
            run(seq.chunks[c],
                c == 0 ? sample_seed : Mix64(sample_seed ^ Mix64(c)), state);
      }
      append(&s, state);
    } else {
      const GdnChunk chunk = *source.Sample(i).gdn;
      append(&s, run(chunk, sample_seed, chunk.state));
    }
    ++finals;
  }
  auto stack = [](const std::vector<std::vector<double>>& list, long long n,
                  std::vector<int64_t> shape) {
    std::vector<double> flat;
    for (const auto& v : list) flat.insert(flat.end(), v.begin(), v.end());
    shape.insert(shape.begin(), n);
    return FromDoubles(flat, shape);
  };
  out.files = {{"A.npy", stack(a, chunks, shape_a)},
               {"T.npy", stack(t, chunks, shape_a)},
               {"W.npy", stack(w, chunks, shape_w)},
               {"U.npy", stack(u, chunks, shape_u)},
               {"Vn.npy", stack(vn, chunks, shape_u)},
               {"O.npy", stack(o, chunks, shape_u)},
               {source.Carry() ? "S_final.npy" : "S_next.npy",
                stack(s, finals, shape_s)}};
  return out;
}

// Writes the files into a fresh sibling of `dir` and renames it: all or
// nothing, and never over something that exists.
void PublishDirectory(
    const std::string& dir,
    const std::vector<std::pair<std::string, NpyArray>>& files) {
  struct stat st;
  if (::stat(dir.c_str(), &st) == 0) {
    throw InputError("--layer-out " + dir +
                     ": exists (allowed: a path that does not exist yet)");
  }
  const std::string tmp = dir + ".tmp-" + std::to_string(::getpid());
  if (::mkdir(tmp.c_str(), 0777) != 0) {
    throw InputError("--layer-out " + dir + ": cannot create " + tmp);
  }
  for (const auto& [name, array] : files) WriteNpy(tmp + "/" + name, array);
  if (std::rename(tmp.c_str(), dir.c_str()) != 0) {
    throw InputError("--layer-out " + dir + ": cannot rename " + tmp);
  }
}

int RunOracle(const OracleOptions& o) {
  const Recipe recipe = LoadRecipe(o.precision);
  OracleInputs inputs;
  std::unique_ptr<InputSource> source;
  if (!o.layer_dir.empty() && (o.in.rfind("npy-gdn:", 0) != 0 ||
                               !recipe.layer.enabled || recipe.exact)) {
    throw InputError(
        "--layer-out: needs npy-gdn input and a layer recipe "
        "(layer_* fields, e.g. gpu-bf16), got --in " +
        o.in + " and recipe " + recipe.name);
  }
  if (!o.layer_dir.empty() && !o.dump_dir.empty()) {
    throw InputError(
        "--layer-out with --dump-stages: stage dumps of the layer steps are "
        "not supported yet (dump the inverse alone without --layer-out)");
  }
  if (o.in.rfind("npy:", 0) == 0) {
    inputs = LoadMatrices(o.in.substr(4), recipe);
  } else if (o.in.rfind("npy-gdn:", 0) == 0) {
    source = MakeInputSource(o.in, o.chunk, o.seed);
    for (const std::string& note : source->Notices()) {
      std::fprintf(stderr, "trisim: note: %s\n", note.c_str());
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
  const Plan plan = BuildPlan(o.method.method, o.method.ToOptions(), c);
  Executor executor(plan, recipe);

  // Everything is computed before anything is written.
  std::vector<double> out_values;
  out_values.reserve(static_cast<size_t>(count) * c * c);
  RunRecord totals, dump;
  dump.keep_buffers = true;
  long long nonfinite = 0;
  LayerOracle layer;
  if (!o.layer_dir.empty()) {
    // The inverse of the A the layer forms (in its recipe precision).
    layer = RunLayerOracle(*source, plan, recipe, o.seed);
    inputs.matrices.clear();
    inputs.note = "T from A as the layer recipe forms it (--layer-out)";
  }
  for (int n = 0; n < count && layer.t.empty(); ++n) {
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
  for (const Mat& x : layer.t) {
    for (int i = 0; i < c; ++i) {
      for (int j = 0; j < c; ++j) {
        out_values.push_back(x(i, j));
        nonfinite += !std::isfinite(x(i, j));
      }
    }
  }
  const int out_count =
      layer.t.empty() ? count : static_cast<int>(layer.t.size());
  totals.Assimilate(dump);

  std::vector<int64_t> shape = {c, c};
  if (inputs.batched) shape.insert(shape.begin(), out_count);
  const NpyArray out =
      recipe.exact ? FromDoubles(out_values, shape)
                   : quant::EncodeExactValues(recipe.output, shape, out_values);
  if (!o.dump_dir.empty()) {
    WriteStageDump(o.dump_dir, plan, recipe, executor, dump);
  }
  if (!o.layer_dir.empty()) PublishDirectory(o.layer_dir, layer.files);
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
              out_count, c, c);
  std::printf("wrote %s (%s, shape [%s%d, %d])\n", o.out.c_str(),
              NpyDTypeName(out.dtype).c_str(),
              inputs.batched ? (std::to_string(out_count) + ", ").c_str() : "",
              c, c);
  if (!o.layer_dir.empty()) {
    std::printf("wrote %s/{A,T,W,U,Vn,O,%s}.npy (float64, exact values)\n",
                o.layer_dir.c_str(), source->Carry() ? "S_final" : "S_next");
  }
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
  app->add_option("--layer-out", o->layer_dir,
                  "For a layer recipe on npy-gdn input: write the layer "
                  "outputs A, T, W, U, Vn, O (every chunk) and the final "
                  "state (S_final per sequence with carry=on, else S_next "
                  "per chunk) as float64 .npy into this new directory");
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
