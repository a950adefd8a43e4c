// trisim bench: speed of the bit-accurate simulator, as ratios measured in
// one run: the SIMD fast path against the scalar reference, oneDNN's int8
// gemm, Eigen's plain float matmul and the machine's measured int8 peak.
// Single-threaded throughout (one core: the kernels, not the thread count,
// are compared). Timings are noisy on a shared machine; read the ratios.
#include <Eigen/Dense>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <vector>
#ifdef TRISIM_HAVE_DNNL
#include <oneapi/dnnl/dnnl.h>
#endif

#include "apps/commands.h"
#include "core/gdn.h"
#include "core/inputs.h"
#include "core/methods.h"
#include "core/metrics.h"
#include "hwy/highway.h"
#include "hwy/targets.h"
#include "sim/cube.h"
#include "sim/cube_simd.h"
#include "sim/executor.h"
#include "sim/fast_path.h"
#include "sim/gdn_layer.h"
#include "sim/recipe.h"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace trisim::app {
namespace {

struct BenchOptions {
  bool json = false;
  bool quick = false;
};

// Seconds per call: the best of `reps` timed batches, each of enough calls
// to last `batch_seconds`.
double SecondsPerCall(const std::function<void()>& fn, double batch_seconds,
                      int reps) {
  using Clock = std::chrono::steady_clock;
  fn();  // warm up
  int64_t calls = 1;
  for (;;) {
    const auto t0 = Clock::now();
    for (int64_t c = 0; c < calls; ++c) fn();
    const double dt = std::chrono::duration<double>(Clock::now() - t0).count();
    if (dt >= batch_seconds / 4 || calls > (int64_t{1} << 30)) break;
    calls *= 2;
  }
  double best = 1e300;
  for (int r = 0; r < reps; ++r) {
    const auto t0 = Clock::now();
    for (int64_t c = 0; c < calls; ++c) fn();
    const double dt = std::chrono::duration<double>(Clock::now() - t0).count();
    best = std::min(best, dt / static_cast<double>(calls));
  }
  return best;
}

nlohmann::ordered_json BenchInt8(double batch, int reps) {
  constexpr int kN = 64;
  std::mt19937 rng(1);
  std::uniform_int_distribution<int> code(-127, 127);
  std::vector<int8_t> a(kN * kN), b(kN * kN);
  for (auto& v : a) v = static_cast<int8_t>(code(rng));
  for (auto& v : b) v = static_cast<int8_t>(code(rng));
  std::vector<int32_t> c(kN * kN), c_ref(kN * kN), c_dnnl(kN * kN);
  const double ops = 2.0 * kN * kN * kN;
  const double fast = SecondsPerCall(
      [&] { Int8MatMul(a.data(), kN, b.data(), kN, c.data(), kN, kN, kN, kN); },
      batch, reps);
  const double scalar = SecondsPerCall(
      [&] {
        Int8MatMulReference(a.data(), kN, b.data(), kN, c_ref.data(), kN, kN,
                            kN, kN);
      },
      batch, reps);
#ifdef TRISIM_HAVE_DNNL
  const int32_t co = 0;
  const double onednn = SecondsPerCall(
      [&] {
        dnnl_gemm_s8s8s32('N', 'N', 'F', kN, kN, kN, 1.0f, a.data(), kN, 0,
                          b.data(), kN, 0, 0.0f, c_dnnl.data(), kN, &co);
      },
      batch, reps);
  const bool have_onednn = true;
#else
  const double onednn = 0.0;
  const bool have_onednn = false;
#endif
  const double peak = MeasureInt8PeakGops(batch * reps);
  nlohmann::ordered_json j;
  j["shape"] = "64x64x64 s8 x s8 -> s32, row-major, one core";
  j["results_equal"] = c == c_ref;
  j["onednn"] = have_onednn ? "libdnnl dnnl_gemm_s8s8s32"
                            : "not built (oneDNN not found at configure time)";
  if (have_onednn) j["onednn_results_equal"] = c == c_dnnl;
  j["fast_gops"] = ops / fast / 1e9;
  j["scalar_gops"] = ops / scalar / 1e9;
  if (have_onednn) j["onednn_gops"] = ops / onednn / 1e9;
  j["peak_gops"] = peak;
  j["peak_instruction"] = Int8PeakInstruction();
  j["fast_percent_of_peak"] = 100.0 * ops / fast / 1e9 / peak;
  if (have_onednn) {
    j["onednn_percent_of_peak"] = 100.0 * ops / onednn / 1e9 / peak;
    j["fast_vs_onednn_ratio"] = onednn / fast;
  }
  j["fast_vs_scalar_ratio"] = scalar / fast;
  return j;
}

nlohmann::ordered_json BenchFp16(double batch, int reps) {
  constexpr int kN = 64;
  const Recipe recipe = LoadRecipe("fp16");
  CubeConfig config = CubeConfig::FromRecipe(recipe, 0);
  std::mt19937 rng(2);
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  std::vector<double> a(kN * kN), b(kN * kN);
  for (auto& v : a) v = u(rng);
  for (auto& v : b) v = u(rng);
  config.scalar = true;
  const CubeOperand oa =
      PrepareOperand(a.data(), kN, kN, kN, config, 1, nullptr);
  const CubeOperand ob =
      PrepareOperand(b.data(), kN, kN, kN, config, 2, nullptr);
  const std::vector<CubeTerm> terms = {{&oa, &ob}};
  std::vector<double> out_fast(kN * kN), out_ref(kN * kN);
  config.scalar = false;
  const double fast = SecondsPerCall(
      [&] {
        CubeMatMul(terms, 1.0, config, quant::Format::kFp32, out_fast.data(),
                   kN, 0, nullptr);
      },
      batch, reps);
  config.scalar = true;
  const double scalar = SecondsPerCall(
      [&] {
        CubeMatMul(terms, 1.0, config, quant::Format::kFp32, out_ref.data(), kN,
                   0, nullptr);
      },
      batch, reps);
  Eigen::MatrixXf ea(kN, kN), eb(kN, kN), ec(kN, kN);
  for (int i = 0; i < kN; ++i)
    for (int k = 0; k < kN; ++k) {
      ea(i, k) = static_cast<float>(oa.values[i * kN + k]);
      eb(i, k) = static_cast<float>(ob.values[i * kN + k]);
    }
  const double eigen =
      SecondsPerCall([&] { ec.noalias() = ea * eb; }, batch, reps);
  const double ops = 2.0 * kN * kN * kN;
  nlohmann::ordered_json j;
  j["shape"] =
      "64x64x64 fp16 operands, fp32 fractal accumulation (k0 = 16), fp32 out, "
      "one core; Eigen: plain float, not bit-accurate";
  j["results_equal"] = out_fast == out_ref;
  j["fast_gops"] = ops / fast / 1e9;
  j["scalar_gops"] = ops / scalar / 1e9;
  j["eigen_float_gops"] = ops / eigen / 1e9;
  j["fast_vs_eigen_ratio"] = eigen / fast;
  j["fast_vs_scalar_ratio"] = scalar / fast;
  return j;
}

nlohmann::ordered_json BenchChunks(const std::string& method,
                                   const std::string& precision, int samples,
                                   double batch, int reps) {
  constexpr int kChunk = 64;
  MethodOptions options;  // defaults: neumann N = 3, S = 8
  const Plan plan = BuildPlan(method, options, kChunk);
  const Recipe recipe = LoadRecipe(precision);
  const auto source = MakeInputSource("gdn", kChunk, 0);
  std::vector<Mat> inputs;
  for (int i = 0; i < samples; ++i) inputs.push_back(source->Sample(i).a);
  Executor executor(plan, recipe);
  size_t next = 0;
  auto run = [&] {
    executor.Run(inputs[next], next);
    next = (next + 1) % inputs.size();
  };
  SetScalarReference(false);
  const double fast = SecondsPerCall(run, batch, reps);
  SetScalarReference(true);
  const double scalar = SecondsPerCall(run, batch, reps);
  SetScalarReference(false);
  nlohmann::ordered_json j;
  j["what"] = method + " (" + plan.options + "), precision " + precision +
              ", C = 64, gdn inputs, Executor::Run only, one core";
  j["fast_chunks_per_s"] = 1.0 / fast;
  j["scalar_chunks_per_s"] = 1.0 / scalar;
  j["fast_vs_scalar_ratio"] = scalar / fast;
  return j;
}

// The whole GDN layer chunk (sim/gdn_layer.h) including its fp64 reference
// and the error measures, as `trisim error` runs it per chunk (issue 13 item
// 7), beside the inverse alone under the same recipe.
nlohmann::ordered_json BenchLayer(const std::string& method,
                                  const std::string& precision, int samples,
                                  double batch, int reps) {
  constexpr int kChunk = 64;
  const Plan plan = BuildPlan(method, MethodOptions{}, kChunk);
  const Recipe recipe = LoadRecipe(precision);
  const auto source = MakeInputSource("gdn", kChunk, 0);
  std::vector<GdnChunk> inputs;
  for (int i = 0; i < samples; ++i) inputs.push_back(*source->Sample(i).gdn);
  LayerSimulator layer(plan, recipe);
  size_t next = 0;
  double sink = 0.0;
  auto run = [&] {
    const GdnChunk& c = inputs[next];
    const GdnOutputs ref = ChunkReference(c);
    const GdnOutputs got = layer.Run(c, next, nullptr, nullptr);
    sink += CompareMatrices(ref.o, got.o).frob_rel +
            CompareMatrices(ref.next_state, got.next_state).frob_rel +
            CompareMatrices(ref.w, got.w).frob_rel +
            CompareMatrices(ref.u, got.u).frob_rel +
            CompareMatrices(ref.t, got.t).frob_rel;
    next = (next + 1) % inputs.size();
  };
  auto inverse = [&] {
    layer.executor().Run(BuildA(inputs[next]), next);
    next = (next + 1) % inputs.size();
  };
  // The two halves of `run`: the fp64 reference, and the simulated layer.
  auto reference = [&] {
    sink += ChunkReference(inputs[next]).o(0, 0);
    next = (next + 1) % inputs.size();
  };
  auto simulated = [&] {
    sink += layer.Run(inputs[next], next, nullptr, nullptr).o(0, 0);
    next = (next + 1) % inputs.size();
  };
  SetScalarReference(false);
  const double fast = SecondsPerCall(run, batch, reps);
  const double inverse_only = SecondsPerCall(inverse, batch, reps);
  const double reference_only = SecondsPerCall(reference, batch, reps);
  const double simulated_only = SecondsPerCall(simulated, batch, reps);
  SetScalarReference(true);
  const double scalar = SecondsPerCall(run, batch, reps);
  SetScalarReference(false);
  nlohmann::ordered_json j;
  j["what"] = method + ", precision " + precision +
              ", C = 64, d_k = d_v = 128, gdn inputs: the whole layer chunk "
              "with its fp64 reference and error measures, one core";
  j["fast_chunks_per_s"] = 1.0 / fast;
  j["scalar_chunks_per_s"] = 1.0 / scalar;
  j["fast_vs_scalar_ratio"] = scalar / fast;
  j["inverse_only_chunks_per_s"] = 1.0 / inverse_only;
  j["fp64_reference_only_chunks_per_s"] = 1.0 / reference_only;
  j["simulated_layer_only_chunks_per_s"] = 1.0 / simulated_only;
  j["checksum"] = sink;
  return j;
}

int RunBench(const BenchOptions& o) {
#ifdef _OPENMP
  omp_set_num_threads(1);  // oneDNN too: one core for every contender
#endif
  const double batch = o.quick ? 0.02 : 0.2;
  const int reps = o.quick ? 3 : 5;
  nlohmann::ordered_json j;
  // Dynamic dispatch picks the best (lowest-bit) supported, compiled target.
  const int64_t targets = hwy::SupportedTargets() & HWY_TARGETS;
  j["highway_target"] = hwy::TargetName(targets & -targets);
  j["threads"] = 1;
  j["int8_matmul_64"] = BenchInt8(batch, reps);
  j["fp16_matmul_64"] = BenchFp16(batch, reps);
  auto& chunks = j["chunks_per_s"];
  chunks["fp16_mxr"] = BenchChunks("mxr", "fp16", 8, batch, reps);
  chunks["int8_neumann"] = BenchChunks("neumann", "int8", 8, batch, reps);
  chunks["int16_emu_neumann"] =
      BenchChunks("neumann", "int16-emu", 8, batch, reps);
  chunks["gpu_bf16_fla_layer"] = BenchLayer("fla", "gpu-bf16", 8, batch, reps);
  if (o.json) {
    std::cout << j.dump(2) << '\n';
    return 0;
  }
  const auto& i8 = j["int8_matmul_64"];
  std::printf(
      "int8 64x64x64 matmul (GOP/s): fast %.1f, scalar %.1f, peak "
      "%.1f (%s)\n  fast = %.0f%% of peak, %.1fx scalar\n",
      i8["fast_gops"].get<double>(), i8["scalar_gops"].get<double>(),
      i8["peak_gops"].get<double>(),
      i8["peak_instruction"].get<std::string>().c_str(),
      i8["fast_percent_of_peak"].get<double>(),
      i8["fast_vs_scalar_ratio"].get<double>());
  if (i8.contains("onednn_gops")) {
    std::printf("  oneDNN %.1f GOP/s (fast = %.2fx oneDNN)%s\n",
                i8["onednn_gops"].get<double>(),
                i8["fast_vs_onednn_ratio"].get<double>(),
                i8["onednn_results_equal"].get<bool>()
                    ? ""
                    : "; oneDNN's result differs from the exact product");
  } else {
    std::printf("  oneDNN: %s\n", i8["onednn"].get<std::string>().c_str());
  }
  const auto& f16 = j["fp16_matmul_64"];
  std::printf(
      "fp16 64x64x64 bit-accurate matmul (GOP/s): fast %.2f, scalar "
      "%.2f, Eigen float %.2f\n  fast = %.2fx Eigen, %.1fx scalar\n",
      f16["fast_gops"].get<double>(), f16["scalar_gops"].get<double>(),
      f16["eigen_float_gops"].get<double>(),
      f16["fast_vs_eigen_ratio"].get<double>(),
      f16["fast_vs_scalar_ratio"].get<double>());
  for (const auto& [name, c] : chunks.items()) {
    std::printf("%-18s chunks/s: fast %.0f, scalar %.1f, ratio %.1fx\n",
                name.c_str(), c["fast_chunks_per_s"].get<double>(),
                c["scalar_chunks_per_s"].get<double>(),
                c["fast_vs_scalar_ratio"].get<double>());
    if (c.contains("inverse_only_chunks_per_s")) {
      std::printf(
          "%-18s (whole layer chunk with fp64 reference; inverse "
          "alone under the same recipe: %.0f chunks/s; fp64 reference "
          "alone %.0f, simulated layer alone %.0f)\n",
          "", c["inverse_only_chunks_per_s"].get<double>(),
          c["fp64_reference_only_chunks_per_s"].get<double>(),
          c["simulated_layer_only_chunks_per_s"].get<double>());
    }
  }
  return 0;
}

}  // namespace

Command SetupBenchCommand(CLI::App& root) {
  auto options = std::make_shared<BenchOptions>();
  CLI::App* app = root.add_subcommand(
      "bench",
      "Speed of the bit-accurate simulator: SIMD fast path vs scalar "
      "reference, oneDNN int8 gemm, Eigen float matmul and the measured int8 "
      "peak (one core, ratios from one run)");
  app->add_flag("--json", options->json, "Print JSON");
  app->add_flag("--quick", options->quick, "Shorter timing batches (noisier)");
  return {app, [options] { return RunBench(*options); }};
}

}  // namespace trisim::app
