// trisim bench: speed of the bit-accurate simulator, as ratios measured in
// one run: the SIMD fast path against the scalar reference, oneDNN's int8
// gemm, Eigen's plain float matmul (built for the same SIMD target,
// apps/eigen_peer_loader.h) and the machine's measured int8 peak.
// Single-threaded throughout (one core: the kernels, not the thread count,
// are compared). Timings are noisy on a shared machine; read the ratios.
#include <stdlib.h>  // getloadavg, mkdtemp
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
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
#include "apps/eigen_peer_loader.h"
#include "core/gdn.h"
#include "core/inputs.h"
#include "core/kernels.h"
#include "core/methods.h"
#include "core/metrics.h"
#include "core/npy.h"
#include "core/status.h"
#include "core/threads.h"
#include "hwy/highway.h"
#include "hwy/targets.h"
#include "quant/simd_targets.h"
#include "sim/cube.h"
#include "sim/cube_simd.h"
#include "sim/evaluate.h"
#include "sim/executor.h"
#include "sim/gdn_layer.h"
#include "sim/recipe.h"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace trisim::app {
namespace {

#ifdef TRISIM_HAVE_DNNL
// oneDNN's ISA cap matching a Highway target name (quant/simd_targets.h).
dnnl_cpu_isa_t OneDnnIsaFor(const std::string& target) {
  if (target == "AVX3_DL") return dnnl_cpu_isa_avx512_core_vnni;
  if (target == "AVX3") return dnnl_cpu_isa_avx512_core;
  if (target == "AVX2") return dnnl_cpu_isa_avx2;
  if (target == "SSE4") return dnnl_cpu_isa_sse41;
  return dnnl_cpu_isa_all;  // no SIMD ISA below SSE4.1 in oneDNN's list
}
#endif

// What dnnl_gemm_s8s8s32 computes without VNNI (see BenchInt8): C = sum over
// k pairs of sat16((a[i,k] + 128) b[k,j] + (a[i,k+1] + 128) b[k+1,j])
// - 128 sum_k b[k,j], n x n row-major, n even.
std::vector<int32_t> VpmaddubswModel(const std::vector<int8_t>& a,
                                     const std::vector<int8_t>& b, int n) {
  std::vector<int32_t> c(static_cast<size_t>(n) * n);
  for (int i = 0; i < n; ++i) {
    for (int j = 0; j < n; ++j) {
      int64_t sum = 0, colsum = 0;
      for (int k = 0; k < n; k += 2) {
        const int32_t pair = (a[i * n + k] + 128) * b[k * n + j] +
                             (a[i * n + k + 1] + 128) * b[(k + 1) * n + j];
        sum += std::clamp(pair, -32768, 32767);
        colsum += b[k * n + j] + b[(k + 1) * n + j];
      }
      c[i * n + j] = static_cast<int32_t>(sum - 128 * colsum);
    }
  }
  return c;
}

struct BenchOptions {
  bool json = false;
  bool quick = false;
  bool peers = false;    // run bench/numpy_peer.py beside trisim
  bool scaling = false;  // time `trisim error` at 1 thread and every core
  std::string target;    // cap on the Highway target (quant/simd_targets.h)
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

nlohmann::ordered_json BenchInt8(double batch_seconds, int batch_reps) {
  // Timed as MeasureInt8PeakGops times the peak, so that the percentage of
  // peak compares like with like on a shared machine: the best of ~10 ms
  // batches over the same total time (longer batches rarely catch a quiet
  // moment that the peak's short runs do; issue 15).
  const double total = batch_seconds * batch_reps;
  const double batch = 0.04;  // SecondsPerCall's batches last >= batch / 4
  const int reps = std::max(1, static_cast<int>(total / (batch / 4)));
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
  // Same ISA cap as trisim's dispatch (before oneDNN's first call).
  dnnl_set_max_cpu_isa(OneDnnIsaFor(quant::DispatchTargetName()));
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
  const double peak = MeasureInt8PeakGops(total);
  nlohmann::ordered_json j;
  j["shape"] = "64x64x64 s8 x s8 -> s32, row-major, one core";
  j["results_equal"] = c == c_ref;
  j["onednn"] = have_onednn ? "libdnnl dnnl_gemm_s8s8s32"
                            : "not built (oneDNN not found at configure time)";
  const bool onednn_equal = have_onednn && c_dnnl == c_ref;
  if (have_onednn) {
    j["onednn_results_equal"] = onednn_equal;
    if (!onednn_equal) {
      // Measured cause (issue 15): without VNNI, dnnl_gemm_s8s8s32 adds 128
      // to A (s8 -> u8), multiplies u8 x s8 with vpmaddubsw, which adds
      // each pair of products into a SATURATED int16, then subtracts the
      // compensation 128 * colsum(B) (oneDNN developer guide, "Nuances of
      // int8 computations", processors with AVX2 / AVX-512 without VNNI).
      // The model below reproduces its result bit for bit when that is the
      // cause.
      const bool explained = c_dnnl == VpmaddubswModel(a, b, kN);
      int64_t wrong = 0;
      for (size_t e = 0; e < c_ref.size(); ++e) wrong += c_dnnl[e] != c_ref[e];
      j["onednn_wrong_entries"] = wrong;
      j["onednn_matches_vpmaddubsw_saturation_model"] = explained;
      j["onednn_note"] =
          explained ? "oneDNN's s8 x s8 gemm on this ISA (no VNNI) shifts A to "
                      "u8 and sums product pairs in saturating int16 "
                      "(vpmaddubsw): a wrong result, so its speed is not "
                      "compared"
                    : "oneDNN's result differs from the exact product for an "
                      "unexplained reason: its speed is not compared";
    }
  }
  j["fast_gops"] = ops / fast / 1e9;
  j["scalar_gops"] = ops / scalar / 1e9;
  if (have_onednn) j["onednn_gops"] = ops / onednn / 1e9;
  j["target"] = quant::DispatchTargetName();
  j["peak_gops"] = peak;
  j["peak_instruction"] = Int8PeakInstruction();
  j["fast_percent_of_peak"] = 100.0 * ops / fast / 1e9 / peak;
  if (onednn_equal) {
    j["onednn_percent_of_peak"] = 100.0 * ops / onednn / 1e9 / peak;
    j["fast_vs_onednn_ratio"] = onednn / fast;
  }
  j["fast_vs_scalar_ratio"] = scalar / fast;
  return j;
}

nlohmann::ordered_json BenchFp16(double batch, int reps) {
  constexpr int kN = 64;
  const Recipe recipe = LoadRecipe("fp16");
  CubeConfig config = CubeConfig::FromRecipe(recipe, 0, false);
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
  // Eigen's plain float product of the same operands (fp16 values, exact in
  // float), column-major, timed the same way: the build for trisim's
  // dispatched target (a per-target module, apps/eigen_peer_loader.h) and
  // trisim's own baseline build, both reported.
  struct alignas(64) Block {
    float v[kN * kN];
  };
  auto fa = std::make_unique<Block>(), fb = std::make_unique<Block>();
  auto fc = std::make_unique<Block>(), fc_baseline = std::make_unique<Block>();
  for (int i = 0; i < kN; ++i) {
    for (int k = 0; k < kN; ++k) {
      fa->v[i + k * kN] = static_cast<float>(oa.values[i * kN + k]);
      fb->v[i + k * kN] = static_cast<float>(ob.values[i * kN + k]);
    }
  }
  const EigenPeer eigen_peer = LoadEigenPeer(quant::DispatchTargetName());
  const EigenPeer baseline_peer = BaselineEigenPeer();
  const double eigen_baseline = SecondsPerCall(
      [&] { baseline_peer.sgemm(kN, fa->v, fb->v, fc_baseline->v); }, batch,
      reps);
  const double eigen =
      eigen_peer.module.empty()
          ? eigen_baseline
          : SecondsPerCall([&] { eigen_peer.sgemm(kN, fa->v, fb->v, fc->v); },
                           batch, reps);
  if (eigen_peer.module.empty()) *fc = *fc_baseline;
  // Eigen is not bit-accurate, but it must compute this product: every entry
  // within the float bound |c - ab| <= gamma_n sum_k |a_ik b_kj|, gamma_n =
  // n u / (1 - n u), u = 2^-24 (Higham, Accuracy and Stability of Numerical
  // Algorithms, 2nd ed., eq. 3.5), against an fp64 product (exact here: the
  // 11-bit fp16 significands' products and their 64-term sums fit in 53).
  auto within_float_bound = [&](const Block& c) {
    const double u = std::ldexp(1.0, -24), gamma = kN * u / (1 - kN * u);
    for (int i = 0; i < kN; ++i) {
      for (int j = 0; j < kN; ++j) {
        double exact = 0.0, magnitude = 0.0;
        for (int k = 0; k < kN; ++k) {
          const double p = double{fa->v[i + k * kN]} * fb->v[k + j * kN];
          exact += p;
          magnitude += std::fabs(p);
        }
        if (!(std::fabs(c.v[i + j * kN] - exact) <= gamma * magnitude))
          return false;
      }
    }
    return true;
  };
  const double ops = 2.0 * kN * kN * kN;
  nlohmann::ordered_json j;
  j["shape"] =
      "64x64x64 fp16 operands, fp32 fractal accumulation (k0 = 16), fp32 out, "
      "one core; Eigen: plain float, not bit-accurate, same operands";
  j["results_equal"] = out_fast == out_ref;
  j["fast_gops"] = ops / fast / 1e9;
  j["scalar_gops"] = ops / scalar / 1e9;
  j["target"] = quant::DispatchTargetName();
  // The Eigen build for that target (or the labelled baseline).
  j["eigen_float_gops"] = ops / eigen / 1e9;
  j["eigen_target"] = eigen_peer.target;
  j["eigen_flags"] = eigen_peer.flags;
  j["eigen_simd_instruction_sets"] = eigen_peer.simd;
  if (!eigen_peer.module.empty()) j["eigen_module"] = eigen_peer.module;
  if (!eigen_peer.note.empty()) j["eigen_note"] = eigen_peer.note;
  j["eigen_results_within_float_bound"] = within_float_bound(*fc);
  // Eigen as trisim itself is built (no -m flags), for comparison.
  j["eigen_baseline_gops"] = ops / eigen_baseline / 1e9;
  j["eigen_baseline_simd_instruction_sets"] = baseline_peer.simd;
  j["eigen_baseline_results_within_float_bound"] =
      within_float_bound(*fc_baseline);
  j["fast_vs_eigen_ratio"] = eigen / fast;
  j["fast_vs_eigen_baseline_ratio"] = eigen_baseline / fast;
  j["fast_vs_scalar_ratio"] = scalar / fast;
  // The bound on the fast path: its exact fractal sums run in double lanes
  // (sim/cube_simd.h FractalMatUpdate), Eigen's float product in float
  // lanes, twice as many per vector.
  const double fma_peak = MeasureFp64FmaPeakGops(batch * reps);
  j["fp64_fma_peak_gops"] = fma_peak;
  j["fast_percent_of_fp64_fma_peak"] = 100.0 * ops / fast / 1e9 / fma_peak;
  j["fp64_fma_peak_vs_eigen_ratio"] = fma_peak / (ops / eigen / 1e9);
  return j;
}

constexpr int kChunk = 64;

// The strictly lower A of the first `samples` chunks of the gdn source
// (C = 64, seed 0): the inputs of every chunk figure and of the peers.
std::vector<Mat> GdnInputs(int samples) {
  const auto source = MakeInputSource("gdn", kChunk, 0);
  std::vector<Mat> inputs;
  for (int i = 0; i < samples; ++i) inputs.push_back(source->Sample(i).a);
  return inputs;
}

nlohmann::ordered_json BenchChunks(const std::string& method,
                                   const std::string& precision,
                                   const std::vector<Mat>& inputs, double batch,
                                   int reps) {
  MethodOptions options;  // defaults: neumann N = 3, S = 8
  const Plan plan = BuildPlan(method, options, kChunk);
  const Recipe recipe = LoadRecipe(precision);
  Executor fast_executor(plan, recipe);
  Executor scalar_executor(plan, recipe, ExecOptions{true});
  size_t next = 0;
  auto run = [&](Executor& executor) {
    executor.Run(inputs[next], next);
    next = (next + 1) % inputs.size();
  };
  const double fast = SecondsPerCall([&] { run(fast_executor); }, batch, reps);
  const double scalar =
      SecondsPerCall([&] { run(scalar_executor); }, batch, reps);
  nlohmann::ordered_json j;
  j["what"] = method + " (" + plan.options + "), precision " + precision +
              ", C = 64, " + std::to_string(inputs.size()) +
              " gdn inputs, Executor::Run only, one core";
  j["target"] = quant::DispatchTargetName();
  j["fast_chunks_per_s"] = 1.0 / fast;
  j["scalar_chunks_per_s"] = 1.0 / scalar;
  j["fast_vs_scalar_ratio"] = scalar / fast;
  return j;
}

// The whole GDN layer chunk (sim/gdn_layer.h) including its fp64 reference
// and the error measures, as `trisim error` runs it per chunk (issue 13 item
// 7), beside the inverse alone under the same recipe.
nlohmann::ordered_json BenchLayer(const std::string& method,
                                  const std::string& kernel,
                                  const std::string& precision, int samples,
                                  double batch, int reps) {
  KernelChoice choice;
  choice.name = kernel;
  const Plan plan = BuildKernelPlan(method, MethodOptions{}, choice, kChunk);
  const Recipe recipe = LoadRecipe(precision);
  const auto source = MakeInputSource("gdn", kChunk, 0);
  std::vector<GdnChunk> inputs;
  for (int i = 0; i < samples; ++i) inputs.push_back(*source->Sample(i).gdn);
  LayerSimulator fast_layer(plan, recipe);
  LayerSimulator scalar_layer(plan, recipe, ExecOptions{true});
  LayerSimulator* layer_in_use = &fast_layer;
  size_t next = 0;
  double sink = 0.0;
  auto run = [&] {
    LayerSimulator& layer = *layer_in_use;
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
    fast_layer.executor().Run(BuildA(inputs[next]), next);
    next = (next + 1) % inputs.size();
  };
  // The two halves of `run`: the fp64 reference, and the simulated layer.
  auto reference = [&] {
    sink += ChunkReference(inputs[next]).o(0, 0);
    next = (next + 1) % inputs.size();
  };
  auto simulated = [&] {
    sink += fast_layer.Run(inputs[next], next, nullptr, nullptr).o(0, 0);
    next = (next + 1) % inputs.size();
  };
  const double fast = SecondsPerCall(run, batch, reps);
  const double inverse_only = SecondsPerCall(inverse, batch, reps);
  const double reference_only = SecondsPerCall(reference, batch, reps);
  const double simulated_only = SecondsPerCall(simulated, batch, reps);
  layer_in_use = &scalar_layer;
  const double scalar = SecondsPerCall(run, batch, reps);
  nlohmann::ordered_json j;
  j["what"] = method + " --kernel " + kernel + ", precision " + precision +
              ", C = 64, d_k = d_v = 128, gdn inputs: the whole layer chunk "
              "with its fp64 reference and error measures, one core";
  j["fast_chunks_per_s"] = 1.0 / fast;
  j["scalar_chunks_per_s"] = 1.0 / scalar;
  j["fast_vs_scalar_ratio"] = scalar / fast;
  j["inverse_only_chunks_per_s"] = 1.0 / inverse_only;
  j["fp64_reference_only_chunks_per_s"] = 1.0 / reference_only;
  j["simulated_layer_only_chunks_per_s"] = 1.0 / simulated_only;
  j["target"] = quant::DispatchTargetName();
  j["checksum"] = sink;
  return j;
}

// Thread scaling of `trisim error` (issue 15's figure): int8 neumann on gdn
// inputs, C = 64, `samples` samples at 1 thread and at every core this
// process may use (`--threads 0`: core/threads.h AvailableCores), `rounds`
// interleaved rounds, the best time of each. The
// two reports must agree: results are the same for any thread count
// (sim/evaluate.cc), so a difference is reported, not a speed-up.
nlohmann::ordered_json BenchScaling(int64_t samples, int rounds) {
  EvaluationConfig config;
  config.method = "neumann";
  config.precision = "int8";
  config.samples = samples;
  const int cores = AvailableCores();
  const int counts[2] = {1, cores};
  double best[2] = {HUGE_VAL, HUGE_VAL};
  EvaluationReport reports[2];
  for (int r = 0; r < rounds; ++r) {
    for (int t = 0; t < 2; ++t) {
      config.threads = counts[t];
      const auto start = std::chrono::steady_clock::now();
      reports[t] = Evaluate(config);
      best[t] = std::min(best[t], std::chrono::duration<double>(
                                      std::chrono::steady_clock::now() - start)
                                      .count());
    }
  }
  auto summary = [](const EvaluationReport& e) {
    std::vector<double> v;
    for (const ErrorStats* m : {&e.t, &e.w, &e.u, &e.o, &e.state}) {
      v.push_back(m->frob_rel().Percentile(0.5));
      v.push_back(m->frob_rel().Max());
      v.push_back(m->max_abs().Max());
      v.push_back(static_cast<double>(m->nonfinite()));
    }
    return v;
  };
  nlohmann::ordered_json j;
  j["what"] =
      "trisim error --method neumann --precision int8 --input gdn "
      "--chunk 64 --samples " +
      std::to_string(samples) + ", best of " + std::to_string(rounds) +
      " interleaved rounds";
  j["target"] = quant::DispatchTargetName();
  j["samples"] = samples;
  j["threads"] = cores;
  j["one_thread_s"] = best[0];
  j["all_threads_s"] = best[1];
  j["speedup"] = best[0] / best[1];
  j["reports_equal"] = summary(reports[0]) == summary(reports[1]);
  return j;
}

double LoadAverage() {
  double load[1] = {0.0};
  return getloadavg(load, 1) == 1 ? load[0] : -1.0;
}

// bench/numpy_peer.py on `inputs` (one thread of BLAS): its JSON, or an
// object with "error" saying why it did not run.
nlohmann::json RunNumpyPeer(const std::vector<Mat>& inputs, int reps) {
  const std::string script = std::string(TRISIM_BENCH_DIR) + "/numpy_peer.py";
  if (!std::filesystem::exists(script)) {
    return {{"error", "not found: " + script}};
  }
  char dir_template[] = "/tmp/trisim_bench_XXXXXX";
  if (mkdtemp(dir_template) == nullptr) {
    return {{"error", "cannot create a temporary directory in /tmp"}};
  }
  const std::string dir = dir_template;
  const std::string path = dir + "/a.npy";
  std::vector<double> values;
  for (const Mat& m : inputs) {
    for (int i = 0; i < m.rows(); ++i) {
      for (int j = 0; j < m.cols(); ++j) values.push_back(m(i, j));
    }
  }
  WriteNpy(path, FromDoubles(values, {static_cast<int64_t>(inputs.size()),
                                      kChunk, kChunk}));
  const std::string command =
      "OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 "
      "/usr/bin/python3 '" +
      script + "' --input '" + path + "' --reps " + std::to_string(reps) +
      " 2>'" + dir + "/stderr.txt'";
  std::string output;
  if (FILE* pipe = popen(command.c_str(), "r")) {
    char buffer[4096];
    size_t n;
    while ((n = fread(buffer, 1, sizeof(buffer), pipe)) > 0) {
      output.append(buffer, n);
    }
    const int status = pclose(pipe);
    if (status != 0)
      output = "exit status " + std::to_string(status) + ": " + output;
  }
  // Only what this run created.
  std::filesystem::remove(dir + "/stderr.txt");
  std::filesystem::remove(path);
  std::filesystem::remove(dir);
  try {
    return nlohmann::json::parse(output);
  } catch (const std::exception&) {
    return {{"error", "numpy peer failed: " + output}};
  }
}

int RunBench(const BenchOptions& o) {
  if (!o.target.empty()) quant::CapTargets(o.target);
#ifdef _OPENMP
  omp_set_num_threads(1);  // oneDNN too: one core for every contender
#endif
  const double batch = o.quick ? 0.02 : 0.2;
  const int reps = o.quick ? 3 : 5;
  nlohmann::ordered_json j;
  // Dynamic dispatch picks the best (lowest-bit) supported, compiled target
  // (capped by --target or TRISIM_HWY_TARGETS).
  j["highway_target"] = quant::DispatchTargetName();
  j["threads"] = 1;
  // The machine may be shared: its load beside the figures.
  j["load_average_1min_before"] = LoadAverage();
  j["int8_matmul_64"] = BenchInt8(batch, reps);
  j["fp16_matmul_64"] = BenchFp16(batch, reps);
  auto& chunks = j["chunks_per_s"];
  // 512 chunks: the numpy peer's batch; trisim cycles through the same.
  const std::vector<Mat> inputs = GdnInputs(o.peers ? 512 : 8);
  chunks["fp16_mxr"] = BenchChunks("mxr", "fp16", inputs, batch, reps);
  chunks["int8_neumann"] = BenchChunks("neumann", "int8", inputs, batch, reps);
  chunks["int16_emu_neumann"] =
      BenchChunks("neumann", "int16-emu", inputs, batch, reps);
  chunks["gpu_bf16_fla_layer"] =
      BenchLayer("fla", "fla-gpu", "gpu-bf16", 8, batch, reps);
  if (o.peers) {
    nlohmann::json peer = RunNumpyPeer(inputs, o.quick ? 1 : 3);
    j["numpy_peer"] = peer;
    if (!peer.contains("error")) {
      auto beside = [&](const char* job, const char* key) {
        const double p = peer[key].get<double>();
        chunks[job]["numpy_peer_chunks_per_s"] = p;
        chunks[job]["fast_vs_numpy_peer_ratio"] =
            chunks[job]["fast_chunks_per_s"].get<double>() / p;
      };
      beside("fp16_mxr", "fp16_mxr_chunks_per_s");
      beside("int8_neumann", "int8_neumann_chunks_per_s");
      beside("int16_emu_neumann", "int16_emu_neumann_chunks_per_s");
      // The second, stronger peer of each integer job: its codes multiplied
      // by BLAS in a float type that holds the sums exactly.
      auto beside_float_codes = [&](const char* job, const char* key,
                                    const char* name) {
        const double p = peer[key].get<double>();
        chunks[job][std::string("numpy_peer_") + name + "_chunks_per_s"] = p;
        chunks[job][std::string("fast_vs_numpy_peer_") + name + "_ratio"] =
            chunks[job]["fast_chunks_per_s"].get<double>() / p;
      };
      beside_float_codes("int8_neumann", "int8_neumann_f32codes_chunks_per_s",
                         "f32codes");
      beside_float_codes("int16_emu_neumann",
                         "int16_emu_neumann_f64codes_chunks_per_s", "f64codes");
    }
  }
  if (o.scaling) {
    j["error_thread_scaling"] =
        BenchScaling(o.quick ? 500 : 2000, o.quick ? 1 : 3);
  }
  j["load_average_1min_after"] = LoadAverage();
  if (o.json) {
    std::cout << j.dump(2) << '\n';
    return 0;
  }
  std::printf("target %s, load average %.2f (1 min, before)\n",
              j["highway_target"].get<std::string>().c_str(),
              j["load_average_1min_before"].get<double>());
  if (j.contains("numpy_peer") && j["numpy_peer"].contains("error")) {
    std::printf("numpy peer: %s\n",
                j["numpy_peer"]["error"].get<std::string>().c_str());
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
  if (i8.contains("fast_vs_onednn_ratio")) {
    std::printf("  oneDNN %.1f GOP/s (fast = %.2fx oneDNN)\n",
                i8["onednn_gops"].get<double>(),
                i8["fast_vs_onednn_ratio"].get<double>());
  } else if (i8.contains("onednn_note")) {
    std::printf(
        "  oneDNN: wrong in %lld of 4096 entries, speed not compared: "
        "%s\n",
        static_cast<long long>(i8["onednn_wrong_entries"].get<int64_t>()),
        i8["onednn_note"].get<std::string>().c_str());
  } else {
    std::printf("  oneDNN: %s\n", i8["onednn"].get<std::string>().c_str());
  }
  const auto& f16 = j["fp16_matmul_64"];
  std::printf(
      "fp16 64x64x64 bit-accurate matmul (GOP/s, target %s): fast %.2f, "
      "scalar %.2f (fast = %.1fx scalar)\n",
      f16["target"].get<std::string>().c_str(), f16["fast_gops"].get<double>(),
      f16["scalar_gops"].get<double>(),
      f16["fast_vs_scalar_ratio"].get<double>());
  const std::string eigen_target = f16["eigen_target"].get<std::string>();
  std::printf(
      "  Eigen float (not bit-accurate), %s build [%s]: %.2f (fast = %.2fx)\n",
      eigen_target.c_str(),
      f16["eigen_simd_instruction_sets"].get<std::string>().c_str(),
      f16["eigen_float_gops"].get<double>(),
      f16["fast_vs_eigen_ratio"].get<double>());
  std::printf(
      "  fp64 FMA peak (the fast path's double lanes): %.1f, fast = %.0f%% of "
      "it; the peak itself = %.2fx Eigen float\n",
      f16["fp64_fma_peak_gops"].get<double>(),
      f16["fast_percent_of_fp64_fma_peak"].get<double>(),
      f16["fp64_fma_peak_vs_eigen_ratio"].get<double>());
  if (eigen_target != "baseline") {
    std::printf(
        "  Eigen float, baseline build [%s]: %.2f (fast = %.2fx)\n",
        f16["eigen_baseline_simd_instruction_sets"].get<std::string>().c_str(),
        f16["eigen_baseline_gops"].get<double>(),
        f16["fast_vs_eigen_baseline_ratio"].get<double>());
  }
  if (f16.contains("eigen_note")) {
    std::printf("  Eigen per-target module not used: %s\n",
                f16["eigen_note"].get<std::string>().c_str());
  }
  if (!f16["eigen_results_within_float_bound"].get<bool>() ||
      !f16["eigen_baseline_results_within_float_bound"].get<bool>()) {
    std::printf(
        "  WARNING: an Eigen result is outside the float error bound\n");
  }
  for (const auto& [name, c] : chunks.items()) {
    std::printf("%-18s chunks/s: fast %.0f, scalar %.1f, ratio %.1fx\n",
                name.c_str(), c["fast_chunks_per_s"].get<double>(),
                c["scalar_chunks_per_s"].get<double>(),
                c["fast_vs_scalar_ratio"].get<double>());
    if (c.contains("numpy_peer_chunks_per_s")) {
      std::printf("%-18s numpy peer %.1f chunks/s: trisim = %.1fx numpy\n", "",
                  c["numpy_peer_chunks_per_s"].get<double>(),
                  c["fast_vs_numpy_peer_ratio"].get<double>());
    }
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
  if (j.contains("error_thread_scaling")) {
    const auto& sc = j["error_thread_scaling"];
    std::printf(
        "trisim error, int8 neumann, %lld samples: 1 thread %.2f s, %d "
        "threads %.2f s (%.2fx)%s\n",
        static_cast<long long>(sc["samples"].get<int64_t>()),
        sc["one_thread_s"].get<double>(), sc["threads"].get<int>(),
        sc["all_threads_s"].get<double>(), sc["speedup"].get<double>(),
        sc["reports_equal"].get<bool>()
            ? ""
            : "  WARNING: the reports differ between thread counts");
  }
  return 0;
}

}  // namespace

Command SetupBenchCommand(CLI::App& root) {
  auto options = std::make_shared<BenchOptions>();
  CLI::App* app = root.add_subcommand(
      "bench",
      "Speed of the bit-accurate simulator: SIMD fast path vs scalar "
      "reference, oneDNN int8 gemm, Eigen float matmul (built for the same "
      "SIMD target: a module per target, beside trisim or in lib/trisim/, "
      "or in $TRISIM_EIGEN_PEER_DIR) and the measured int8 peak (one core, "
      "ratios from one run)");
  app->add_flag("--json", options->json, "Print JSON");
  app->add_flag("--quick", options->quick, "Shorter timing batches (noisier)");
  app->add_flag("--peers", options->peers,
                "Also run the numpy fake-quant peer (bench/numpy_peer.py, "
                "/usr/bin/python3) on the same 512 chunks and report its "
                "chunks/s beside trisim's");
  app->add_flag("--scaling", options->scaling,
                "Also time `trisim error` (int8 neumann, gdn, C = 64, 2000 "
                "samples; 500 with --quick) at 1 thread and at every core, "
                "best of 3 interleaved rounds, and check both give the same "
                "report");
  app->add_option("--target", options->target,
                  "Cap the SIMD target: AVX3_DL, AVX3, AVX2, SSE4, SSSE3, "
                  "EMU128 (as TRISIM_HWY_TARGETS; oneDNN is capped to the "
                  "same ISA and Eigen's module chosen for it)");
  return {app, [options] { return RunBench(*options); }};
}

}  // namespace trisim::app
