// trisim oracle: the bit-exact output a device kernel should produce for a
// stated method and recipe, from captured inputs; optionally every stage.
#include <cstdio>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "apps/cli_options.h"
#include "apps/commands.h"
#include "apps/method_options.h"
#include "core/inputs.h"
#include "core/methods.h"
#include "core/npy.h"
#include "core/output_files.h"
#include "core/random.h"
#include "core/status.h"
#include "quant/npy_codes.h"
#include "sim/executor.h"
#include "sim/gdn_layer.h"
#include "sim/oracle.h"
#include "sim/provenance.h"
#include "sim/recipe.h"
#include "sim/recipe_fit.h"
#include "sim/stage_dump.h"

namespace trisim::app {
namespace {

struct OracleOptions {
  MethodFlags method;
  std::string precision = "fp16";
  std::string in, out, dump_dir, layer_dir;
  int dump_sample = 0;
  CLI::Option* dump_opt = nullptr;
  bool force = false;
  int chunk = 64;
  CLI::Option* chunk_opt = nullptr;
  uint64_t seed = 0;
};

// The layer outputs of a layer recipe (sim/gdn_layer.h) on npy-gdn inputs:
// every chunk (carry=on: every sequence, chunk after chunk, with the state
// carried in layer_state), stacked along a leading dimension, written as
// float64 (each value is exactly representable: it holds its recipe format's
// value) into a fresh directory, beside the fp64 reference of each
// (core/gdn.h ChunkReference, its state carried in fp64) as NAME_fp64.npy,
// and manifest.json in the form `trisim compare --expected-outputs` reads
// (sim/compare.h CompareOutputSets). Returns T of every chunk for --out, and
// chunk `keep_chunk`'s tensors for a stage dump.
struct LayerOracle {
  std::vector<std::pair<std::string, NpyArray>> files;
  nlohmann::ordered_json manifest;
  std::vector<Mat> t;
  long long chunks = 0;
  std::vector<LayerStage> kept;  // chunk keep_chunk's tensors
  Mat kept_a;                    // its A as the inverse receives it
  uint64_t kept_seed = 0;
};

LayerOracle RunLayerOracle(const InputSource& source, const Plan& plan,
                           const Recipe& recipe, uint64_t seed,
                           long long keep_chunk) {
  LayerSimulator sim(plan, recipe);
  const LayerFormats& lf = recipe.layer;
  // Names, formats and the fp64 reference of each output, in file order.
  const std::string state_name = source.Carry() ? "S_final" : "S_next";
  const std::vector<std::pair<std::string, quant::Format>> names = {
      {"A", recipe.input},   {"T", recipe.output}, {"W", lf.wu},
      {"U", lf.wu},          {"Vn", lf.vn},        {"O", lf.o},
      {state_name, lf.state}};
  const size_t kState = names.size() - 1;
  std::vector<std::vector<double>> got(names.size()), ref(names.size());
  std::vector<std::vector<int64_t>> shapes(names.size());
  auto append = [](std::vector<double>* list, const Mat& m) {
    for (Eigen::Index i = 0; i < m.rows(); ++i) {
      for (Eigen::Index j = 0; j < m.cols(); ++j) list->push_back(m(i, j));
    }
  };
  LayerOracle out;
  long long finals = 0;
  // One chunk from (got_state, ref_state); returns the two next states.
  auto run = [&](GdnChunk chunk, uint64_t chunk_seed, Mat* got_state,
                 Mat* ref_state) {
    chunk.state = *ref_state;
    const GdnOutputs r = ChunkReference(chunk);
    const Mat r_vn = r.u - r.w * chunk.state;
    chunk.state = *got_state;
    Mat vn;
    const GdnOutputs g = sim.Run(chunk, chunk_seed, nullptr, nullptr, &vn);
    const std::vector<const Mat*> gm = {&g.a, &g.t, &g.w, &g.u, &vn, &g.o};
    const std::vector<const Mat*> rm = {&r.a, &r.t, &r.w, &r.u, &r_vn, &r.o};
    for (size_t n = 0; n < gm.size(); ++n) {
      append(&got[n], *gm[n]);
      append(&ref[n], *rm[n]);
      shapes[n] = {gm[n]->rows(), gm[n]->cols()};
    }
    shapes[kState] = {g.next_state.rows(), g.next_state.cols()};
    if (out.chunks == keep_chunk) {
      for (size_t n = 0; n < gm.size(); ++n) {
        out.kept.push_back({names[n].first, names[n].second, *gm[n]});
      }
      out.kept.push_back({"S_next", lf.state, g.next_state});
      out.kept_a = g.a;
      out.kept_seed = chunk_seed;
    }
    out.t.push_back(g.t);
    ++out.chunks;
    *got_state = g.next_state;
    *ref_state = r.next_state;
  };
  for (long long i = 0; i < source.Available(); ++i) {
    const uint64_t sample_seed = SampleSeed(seed, static_cast<uint64_t>(i));
    if (source.Carry()) {
      const SequenceSample seq = source.Sequence(i);
      Mat state = seq.chunks[0].state, ref_state = state;
      for (size_t c = 0; c < seq.chunks.size(); ++c) {
        run(seq.chunks[c], c == 0 ? sample_seed : Mix64(sample_seed ^ Mix64(c)),
            &state, &ref_state);
      }
      append(&got[kState], state);
      append(&ref[kState], ref_state);
    } else {
      const GdnChunk chunk = *source.Sample(i).gdn;
      Mat state = chunk.state, ref_state = chunk.state;
      run(chunk, sample_seed, &state, &ref_state);
      append(&got[kState], state);
      append(&ref[kState], ref_state);
    }
    ++finals;
  }
  auto shaped = [](long long n, std::vector<int64_t> shape) {
    shape.insert(shape.begin(), n);
    return shape;
  };
  nlohmann::ordered_json outputs = nlohmann::ordered_json::array();
  for (size_t n = 0; n < names.size(); ++n) {
    const long long count = n == kState ? finals : out.chunks;
    const std::string file = names[n].first + ".npy";
    const std::string ref_file = names[n].first + "_fp64.npy";
    // In the format's dtype, as the oracle's --out and as compare reads a
    // device's outputs (fp16 '<f2', bf16 '<u2' bits, fp32 '<f4').
    out.files.push_back(
        {file, quant::EncodeExactValues(names[n].second,
                                        shaped(count, shapes[n]), got[n])});
    out.files.push_back(
        {ref_file, FromDoubles(ref[n], shaped(count, shapes[n]))});
    outputs.push_back({{"name", names[n].first},
                       {"file", file},
                       {"format", quant::FormatName(names[n].second)},
                       {"reference", ref_file}});
  }
  out.manifest["format_version"] = 1;
  out.manifest["generator"] = "trisim oracle --layer-out";
  out.manifest["input"] = source.Name();
  out.manifest["recipe"] = recipe.name;
  out.manifest["method"] = plan.method;
  out.manifest["note"] =
      "NAME.npy: the layer in the recipe's precision, in its format's dtype "
      "(fp16 '<f2', bf16 '<u2' bit patterns, fp32 '<f4'); NAME_fp64.npy: "
      "the fp64 reference (long-double T), its state carried in fp64";
  out.manifest["outputs"] = outputs;
  return out;
}

int RunOracleCommand(const OracleOptions& o) {
  const Recipe recipe = LoadRecipe(o.precision);
  CheckRecipeAlone(recipe);
  const bool npy = o.in.rfind("npy:", 0) == 0;
  if (!npy && o.in.rfind("npy-gdn:", 0) != 0) {
    throw InputError(
        "--in: the oracle takes captured inputs, npy:PATH (A) or "
        "npy-gdn:DIR, got '" +
        o.in + "'");
  }
  // Outputs are declared (paths checked, temporaries created) before any
  // work, and published together at the end (core/output_files.h).
  Outputs outputs(o.force);
  const std::string out_file = outputs.File("--out", o.out);
  std::string dump_dir;
  if (o.dump_opt->count()) {
    dump_dir =
        outputs.Directory("--dump-stages", o.dump_dir, o.force, StageDumpFiles);
  }
  if (!o.layer_dir.empty() && (npy || !recipe.layer.enabled || recipe.exact)) {
    throw InputError(
        "--layer-out: needs npy-gdn input and a layer recipe "
        "(layer_* fields, e.g. gpu-bf16), got --in " +
        o.in + " and recipe " + recipe.name);
  }
  // A layer recipe on npy-gdn input runs the layer: --layer-out writes its
  // outputs, --dump-stages the inverse's steps on the layer's A and the
  // chunk's layer tensors.
  const bool layer_run = !npy && recipe.layer.enabled && !recipe.exact &&
                         (!o.layer_dir.empty() || !dump_dir.empty());
  // The layer outputs go to a fresh directory (never over an existing one).
  const std::string layer_dir =
      o.layer_dir.empty()
          ? std::string()
          : outputs.Directory(
                "--layer-out", o.layer_dir, /*force=*/false,
                [](const std::string&) { return std::vector<std::string>{}; });

  const OracleInputs inputs =
      LoadOracleInputs(o.in, recipe, o.chunk, o.chunk_opt->count() > 0, o.seed);
  int count = static_cast<int>(inputs.matrices.size());
  if (!dump_dir.empty() && !layer_run &&
      (o.dump_sample < 0 || o.dump_sample >= count)) {
    throw InputError("--dump-sample " + std::to_string(o.dump_sample) +
                     ": the input holds " + std::to_string(count) +
                     " matrices (allowed: 0.." + std::to_string(count - 1) +
                     ")");
  }
  // The provenance sidecar X.npy.json (sim/provenance.h): refuse before
  // computing or writing anything if a file there is not trisim's.
  // With --force it replaces only a sidecar trisim wrote.
  const std::string sidecar = SidecarPath(o.out);
  CheckSidecarWritable(sidecar);
  const std::string sidecar_file =
      outputs.File("--out (provenance sidecar)", sidecar);

  // Everything is computed before anything is written (sim/oracle.h).
  OracleRun run = RunOracle(o.method.method, o.method.ToOptions(),
                            o.method.ToKernel(), recipe, inputs.matrices,
                            o.seed, dump_dir.empty() ? -1 : o.dump_sample);
  LayerOracle layer;
  if (layer_run) {
    // --layer-out: T is the inverse of the A the layer forms in its recipe's
    // precision (not of A formed in fp64), so --out holds the layer's T.
    const auto source = MakeInputSource(o.in, o.chunk, o.seed);
    for (const std::string& note : source->Notices()) {
      std::fprintf(stderr, "trisim: note: %s\n", note.c_str());
    }
    layer = RunLayerOracle(*source, run.plan(), recipe, o.seed,
                           dump_dir.empty() ? -1 : o.dump_sample);
    if (!dump_dir.empty()) {
      if (o.dump_sample < 0 || o.dump_sample >= layer.chunks) {
        throw InputError("--dump-sample " + std::to_string(o.dump_sample) +
                         ": the layer ran " + std::to_string(layer.chunks) +
                         " chunks (allowed: 0.." +
                         std::to_string(layer.chunks - 1) + ")");
      }
      // The inverse's steps on the A the layer formed, with its seed.
      run.kept = RunRecord();
      run.kept.keep_buffers = true;
      run.executor->Run(layer.kept_a, layer.kept_seed, &run.kept);
    }
    run.values.clear();
    run.nonfinite = 0;
    for (const Mat& x : layer.t) {
      for (Eigen::Index i = 0; i < x.rows(); ++i) {
        for (Eigen::Index j = 0; j < x.cols(); ++j) {
          run.values.push_back(x(i, j));
          run.nonfinite += !std::isfinite(x(i, j));
        }
      }
    }
    run.count = static_cast<int>(layer.t.size());
  }
  const Plan& plan = run.plan();
  const int c = run.chunk;
  const RunRecord& totals = run.totals;
  count = run.count;
  const long long nonfinite = run.nonfinite;

  std::vector<int64_t> shape = {c, c};
  if (inputs.batched) shape.insert(shape.begin(), count);
  const NpyArray out = run.Encode(shape);
  Provenance provenance = Provenance::ForPlan("oracle", plan, recipe);
  provenance.input = o.in;
  provenance.has_seed = true;
  provenance.seed = o.seed;
  nlohmann::ordered_json sidecar_json = ProvenanceJson(provenance);
  sidecar_json["output"] = {
      {"file", o.out},
      {"format", recipe.exact ? "fp64" : quant::FormatName(recipe.output)},
      {"shape", shape}};
  if (!inputs.note.empty()) sidecar_json["note"] = inputs.note;
  WriteSidecar(sidecar_file, sidecar, sidecar_json);
  if (!dump_dir.empty()) {
    WriteStageDump(dump_dir, plan, recipe, *run.executor, run.kept, layer.kept);
  }
  WriteNpy(out_file, out);
  if (!layer_dir.empty()) {
    for (const auto& [name, array] : layer.files) {
      WriteNpy(layer_dir + "/" + name, array);
    }
    std::ofstream manifest(layer_dir + "/manifest.json");
    manifest << layer.manifest.dump(1) << '\n';
    if (!manifest) {
      throw InputError("--layer-out " + o.layer_dir +
                       ": cannot write manifest.json");
    }
  }
  outputs.Commit();

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
  std::printf("wrote %s (%s, shape [%s%d, %d]) and its provenance %s\n",
              o.out.c_str(), NpyDTypeName(out.dtype).c_str(),
              inputs.batched ? (std::to_string(count) + ", ").c_str() : "", c,
              c, sidecar.c_str());
  std::printf(
      "events: %lld saturated, %lld overflowed, %lld accumulator "
      "wraps, %lld non-finite outputs\n",
      saturated, overflowed, wrapped, nonfinite);
  if (!layer_dir.empty()) {
    std::printf(
        "wrote %s/{A,T,W,U,Vn,O,%s}.npy (each in its format's dtype), their "
        "fp64 references NAME_fp64.npy and manifest.json\n",
        WithoutTrailingSlash(o.layer_dir).c_str(),
        layer.manifest["outputs"].back()["name"].get<std::string>().c_str());
  }
  if (!dump_dir.empty()) {
    std::printf("stages of %s %d: %s/manifest.json (%zu steps%s)\n",
                layer_run ? "chunk" : "matrix", o.dump_sample,
                WithoutTrailingSlash(o.dump_dir).c_str(), plan.steps.size(),
                layer_run ? " and the layer's A, T, W, U, Vn, O, S_next" : "");
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
                  "Inputs: npy:PATH[,form=lower|upper|i-plus-a|minus-a]"
                  "[,above=check|ignore] (A, [C, C] or [n, C, C]; "
                  "float16/float32/float64, or uint16 = bf16 bits for a bf16 "
                  "recipe; forms as in trisim error) or npy-gdn:DIR (k, "
                  "beta, g; see trisim error)")
      ->required();
  app->add_option("--out", o->out,
                  "Output .npy: X in the recipe's output format (fp16 '<f2', "
                  "bf16 '<u2' bits, fp32/hf32/tf32 '<f4', fp64 '<f8'), same "
                  "leading shape as the input")
      ->required();
  o->dump_opt = app->add_option(
      "--dump-stages", o->dump_dir,
      "Write every step's output and manifest.json to this directory (README: "
      "Stage dumps); it must not exist or be empty, unless --force");
  app->add_option("--layer-out", o->layer_dir,
                  "For a layer recipe on npy-gdn input: write the layer "
                  "outputs A, T, W, U, Vn, O (every chunk) and the final "
                  "state (S_final per sequence with carry=on, else S_next "
                  "per chunk) as float64 .npy into this new directory");
  AddForceFlag(*app, &o->force,
               "; --out and its .json sidecar, and with --dump-stages into a "
               "directory holding a previous trisim dump, the files its "
               "manifest lists (nothing else)");
  app->add_option("--dump-sample", o->dump_sample,
                  "Which matrix of a batch to dump")
      ->capture_default_str();
  o->chunk_opt = app->add_option("--chunk", o->chunk,
                                 "Chunk size for npy-gdn inputs (npy: from "
                                 "the file)")
                     ->capture_default_str();
  AddSeedOption(*app, &o->seed,
                "Seed of stochastic rounding and of missing v/q in npy-gdn");
  return {app, [o] { return RunOracleCommand(*o); }};
}

}  // namespace trisim::app
