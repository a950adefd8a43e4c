// The whole GDN layer in the kernel's precision (sim/gdn_layer.h): bit for
// bit against an independent emulation written with C++ float arithmetic,
// and the layer's bad-input and sequence handling (core/inputs.h).
#include "sim/gdn_layer.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "core/inputs.h"
#include "core/methods.h"
#include "core/npy.h"
#include "core/status.h"
#include "sim/cube.h"
#include "sim/evaluate.h"
#include "sim/recipe.h"

namespace trisim {
namespace {

using quant::Format;

// --- independent emulation -------------------------------------------------

// Round-to-nearest-even to bf16 (8 significant bits; below 2^-126 the
// subnormal spacing 2^-133) straight from the exact value (no detour
// through fp32, which could round twice).
double Bf16(double x) {
  if (x == 0.0 || !std::isfinite(x)) return x;
  int e;
  std::frexp(x, &e);
  const int quantum = std::max(e - 8, -133);
  return std::ldexp(std::nearbyint(std::ldexp(x, -quantum)), quantum);
}

using FMat = std::vector<std::vector<float>>;

FMat Zeros(int r, int c) { return FMat(r, std::vector<float>(c, 0.0f)); }

// The cube in sequential order: bf16 operands, fp32 accumulator from +0,
// one fused multiply-add per k (the product is exact, one rounding per add).
FMat CubeBf16(const FMat& a, const FMat& b) {
  const int n = a.size(), m = b[0].size(), kk = b.size();
  FMat out = Zeros(n, m);
  for (int i = 0; i < n; ++i) {
    for (int j = 0; j < m; ++j) {
      float acc = 0.0f;
      for (int k = 0; k < kk; ++k) {
        acc = std::fma(static_cast<float>(Bf16(a[i][k])),
                       static_cast<float>(Bf16(b[k][j])), acc);
      }
      out[i][j] = acc;
    }
  }
  return out;
}

FMat Transpose(const FMat& a) {
  FMat t = Zeros(a[0].size(), a.size());
  for (size_t i = 0; i < a.size(); ++i) {
    for (size_t j = 0; j < a[0].size(); ++j) t[j][i] = a[i][j];
  }
  return t;
}

FMat ToBf16(FMat a) {
  for (auto& row : a) {
    for (float& x : row) x = static_cast<float>(Bf16(x));
  }
  return a;
}

Mat ToMat(const FMat& a) {
  Mat m(a.size(), a[0].size());
  for (size_t i = 0; i < a.size(); ++i) {
    for (size_t j = 0; j < a[0].size(); ++j) m(i, j) = a[i][j];
  }
  return m;
}

// A float product and a float sum as separate roundings (volatile keeps the
// compiler from contracting them into an FMA).
float Mul(float a, float b) {
  volatile float p = a * b;
  return p;
}
float Add(float a, float b) {
  volatile float s = a + b;
  return s;
}

// The WY half both layers share, from A, K_beta,gated, V_beta and S0: T =
// (I + A)^-1 by vcs (forward substitution in fp32, product and difference
// rounded apart) stored in bf16, W = T Kbg and U = T Vb stored in bf16, and
// V_new = U - W S0 in fp32 (vn) and as stored in bf16 (vn_stored).
struct WyHalf {
  FMat t, w, u, vn, vn_stored;
};

WyHalf EmulateWy(const FMat& a, const FMat& kbg, const FMat& vb,
                 const FMat& s0) {
  const int c = a.size(), dv = vb[0].size();
  FMat x = Zeros(c, c);
  for (int r = 0; r < c; ++r) {
    x[r][r] = 1.0f;
    for (int j = 0; j < r; ++j) {
      float acc = -a[r][j];
      for (int kk = j + 1; kk < r; ++kk)
        acc = Add(acc, -Mul(a[r][kk], x[kk][j]));
      x[r][j] = acc;
    }
  }
  WyHalf wy;
  wy.t = ToBf16(x);
  wy.w = ToBf16(CubeBf16(wy.t, kbg));
  wy.u = ToBf16(CubeBf16(wy.t, vb));
  const FMat ws = CubeBf16(wy.w, s0);
  wy.vn = Zeros(c, dv);
  for (int i = 0; i < c; ++i) {
    for (int j = 0; j < dv; ++j) wy.vn[i][j] = Add(wy.u[i][j], -ws[i][j]);
  }
  wy.vn_stored = ToBf16(wy.vn);
  return wy;
}

// The layer's outputs; O is stored in bf16 (the recipe's output format).
GdnOutputs Outputs(const FMat& a, const WyHalf& wy, const FMat& o,
                   const FMat& next_state) {
  GdnOutputs out;
  out.a = ToMat(a);
  out.t = ToMat(wy.t);
  out.w = ToMat(wy.w);
  out.u = ToMat(wy.u);
  out.o = ToMat(ToBf16(o));
  out.next_state = ToMat(next_state);
  return out;
}

// The layer of sim/gdn_layer.h for the recipe in kRecipe below (bf16 data,
// fp32 gates/state/vector, sequential fp32 cube, T by vcs in fp32).
GdnOutputs Emulate(const GdnChunk& chunk) {
  const int c = chunk.Chunk(), dk = chunk.k.cols(), dv = chunk.v.cols();
  FMat k = Zeros(c, dk), q = Zeros(c, dk), v = Zeros(c, dv), s0 = Zeros(dk, dv);
  std::vector<float> beta(c), g(c);
  for (int i = 0; i < c; ++i) {
    for (int j = 0; j < dk; ++j) {
      k[i][j] = Bf16(chunk.k(i, j));
      q[i][j] = Bf16(chunk.q(i, j));
    }
    for (int j = 0; j < dv; ++j) v[i][j] = Bf16(chunk.v(i, j));
    beta[i] = static_cast<float>(chunk.beta[i]);
    g[i] = static_cast<float>(chunk.g[i]);
  }
  for (int i = 0; i < dk; ++i) {
    for (int j = 0; j < dv; ++j)
      s0[i][j] = static_cast<float>(chunk.state(i, j));
  }
  std::vector<float> big_g(c), eg(c), et(c);
  big_g[0] = g[0];
  for (int i = 1; i < c; ++i) big_g[i] = Add(big_g[i - 1], g[i]);
  auto fexp = [](float x) { return static_cast<float>(std::exp(double{x})); };
  for (int i = 0; i < c; ++i) {
    eg[i] = fexp(big_g[i]);
    et[i] = fexp(Add(big_g[c - 1], -big_g[i]));
  }
  auto ediff = [&](int i, int j) { return fexp(Add(big_g[i], -big_g[j])); };
  FMat kb = Zeros(c, dk), kbg = Zeros(c, dk), vb = Zeros(c, dv);
  for (int i = 0; i < c; ++i) {
    for (int j = 0; j < dk; ++j) {
      kb[i][j] = Mul(k[i][j], beta[i]);
      kbg[i][j] = Mul(kb[i][j], eg[i]);
    }
    for (int j = 0; j < dv; ++j) vb[i][j] = Mul(v[i][j], beta[i]);
  }
  const FMat kt = Transpose(k);
  const FMat gram = CubeBf16(kb, kt);
  FMat a = Zeros(c, c);
  for (int i = 0; i < c; ++i) {
    for (int j = 0; j < i; ++j) a[i][j] = Mul(gram[i][j], ediff(i, j));
  }
  const WyHalf wy = EmulateWy(a, kbg, vb, s0);
  FMat qs = CubeBf16(q, s0), p = CubeBf16(q, kt);
  for (int i = 0; i < c; ++i) {
    for (int j = 0; j < dv; ++j) qs[i][j] = Mul(qs[i][j], eg[i]);
    for (int j = 0; j < c; ++j)
      p[i][j] = j <= i ? Mul(p[i][j], ediff(i, j)) : 0;
  }
  const FMat pv = CubeBf16(p, wy.vn_stored);
  FMat o = Zeros(c, dv);
  for (int i = 0; i < c; ++i) {
    for (int j = 0; j < dv; ++j) o[i][j] = Add(qs[i][j], pv[i][j]);
  }
  FMat vd = Zeros(c, dv), sn = Zeros(dk, dv);
  for (int i = 0; i < c; ++i) {
    for (int j = 0; j < dv; ++j) vd[i][j] = Mul(wy.vn[i][j], et[i]);
  }
  const FMat kv = CubeBf16(kt, vd);
  for (int i = 0; i < dk; ++i) {
    for (int j = 0; j < dv; ++j) {
      sn[i][j] = Add(Mul(s0[i][j], eg[c - 1]), kv[i][j]);
    }
  }
  return Outputs(a, wy, o, sn);
}

// The per-channel (KDA) layer of sim/gdn_layer.h for kRecipe below, from
// its formulas: G, e^G and e^(G_C - G) per channel; A and the intra-chunk
// Aqk token by token inside 16-token sub-chunks and on the cube against
// the sub-chunk's first row across them (fla/ops/kda/chunk_intra.py).
GdnOutputs EmulateKda(const GdnChunk& chunk) {
  const int c = chunk.Chunk(), dk = chunk.k.cols(), dv = chunk.v.cols();
  const int bc = std::min(c, 16);
  FMat k = Zeros(c, dk), q = Zeros(c, dk), v = Zeros(c, dv), s0 = Zeros(dk, dv);
  FMat g = Zeros(c, dk);
  std::vector<float> beta(c);
  for (int i = 0; i < c; ++i) {
    for (int j = 0; j < dk; ++j) {
      k[i][j] = Bf16(chunk.k(i, j));
      q[i][j] = Bf16(chunk.q(i, j));
      g[i][j] = static_cast<float>(chunk.gk(i, j));
    }
    for (int j = 0; j < dv; ++j) v[i][j] = Bf16(chunk.v(i, j));
    beta[i] = static_cast<float>(chunk.beta[i]);
  }
  for (int i = 0; i < dk; ++i) {
    for (int j = 0; j < dv; ++j)
      s0[i][j] = static_cast<float>(chunk.state(i, j));
  }
  auto fexp = [](float x) { return static_cast<float>(std::exp(double{x})); };
  FMat big = g, eg = Zeros(c, dk), et = Zeros(c, dk);
  for (int i = 1; i < c; ++i) {
    for (int d = 0; d < dk; ++d) big[i][d] = Add(big[i - 1][d], g[i][d]);
  }
  for (int i = 0; i < c; ++i) {
    for (int d = 0; d < dk; ++d) {
      eg[i][d] = fexp(big[i][d]);
      et[i][d] = fexp(Add(big[c - 1][d], -big[i][d]));
    }
  }
  FMat kb = Zeros(c, dk), kbg = Zeros(c, dk), vb = Zeros(c, dv);
  for (int i = 0; i < c; ++i) {
    for (int d = 0; d < dk; ++d) {
      kb[i][d] = Mul(k[i][d], beta[i]);
      kbg[i][d] = Mul(kb[i][d], eg[i][d]);
    }
    for (int j = 0; j < dv; ++j) vb[i][j] = Mul(v[i][j], beta[i]);
  }
  // sum_d x_id k_jd e^(G_id - G_jd) in FLA's sub-chunk scheme.
  auto products = [&](const FMat& x_diag, const FMat& x_off, bool scale_beta,
                      bool strict) {
    FMat out = Zeros(c, c);
    for (int i = 0; i < c; ++i) {
      for (int j = i / bc * bc; j < (strict ? i : i + 1); ++j) {
        float acc = 0.0f;
        for (int d = 0; d < dk; ++d) {
          const float e = fexp(Add(big[i][d], -big[j][d]));
          acc = Add(acc, Mul(x_diag[i][d], Mul(k[j][d], e)));
        }
        out[i][j] = acc;
      }
    }
    for (int r0 = bc; r0 < c; r0 += bc) {
      FMat left = Zeros(bc, dk), right = Zeros(r0, dk);
      for (int i = 0; i < bc; ++i) {
        for (int d = 0; d < dk; ++d) {
          left[i][d] =
              Mul(x_off[r0 + i][d], fexp(Add(big[r0 + i][d], -big[r0][d])));
        }
      }
      for (int j = 0; j < r0; ++j) {
        for (int d = 0; d < dk; ++d) {
          right[j][d] = Mul(k[j][d], fexp(Add(big[r0][d], -big[j][d])));
        }
      }
      const FMat block = CubeBf16(left, Transpose(right));
      for (int i = 0; i < bc; ++i) {
        for (int j = 0; j < r0; ++j) {
          out[r0 + i][j] =
              scale_beta ? Mul(block[i][j], beta[r0 + i]) : block[i][j];
        }
      }
    }
    return out;
  };
  const FMat a = products(kb, k, true, true);
  const WyHalf wy = EmulateWy(a, kbg, vb, s0);
  FMat qg = Zeros(c, dk), kd = Zeros(c, dk);
  for (int i = 0; i < c; ++i) {
    for (int d = 0; d < dk; ++d) {
      qg[i][d] = Mul(q[i][d], eg[i][d]);
      kd[i][d] = Mul(k[i][d], et[i][d]);
    }
  }
  const FMat qs = CubeBf16(qg, s0);
  const FMat pv = CubeBf16(products(q, q, false, false), wy.vn_stored);
  FMat o = Zeros(c, dv);
  for (int i = 0; i < c; ++i) {
    for (int j = 0; j < dv; ++j) o[i][j] = Add(qs[i][j], pv[i][j]);
  }
  const FMat kv = CubeBf16(Transpose(kd), wy.vn);
  FMat sn = Zeros(dk, dv);
  for (int d = 0; d < dk; ++d) {
    for (int j = 0; j < dv; ++j) {
      sn[d][j] = Add(Mul(s0[d][j], eg[c - 1][d]), kv[d][j]);
    }
  }
  return Outputs(a, wy, o, sn);
}

// Every layer output bit for bit (exact equality of every entry).
void CheckSameOutputs(const GdnOutputs& got, const GdnOutputs& want) {
  CHECK(got.a == want.a);
  CHECK(got.t == want.t);
  CHECK(got.w == want.w);
  CHECK(got.u == want.u);
  CHECK(got.o == want.o);
  CHECK(got.next_state == want.next_state);
}

constexpr const char* kRecipe = R"(
input = "fp32"
operand = "fp32"
accumulator = "fp32"
order = "sequential"
storage = "fp32"
vector = "fp32"
output = "bf16"
layer = true
layer_inputs = "bf16"
layer_gate = "fp32"
layer_operand = "bf16"
layer_wu = "bf16"
layer_vn = "bf16"
layer_state = "fp32"
layer_o = "bf16"
)";

TEST_CASE("the simulated layer equals a float emulation bit for bit",
          "[sim][layer]") {
  const Recipe recipe = ParseRecipeToml(kRecipe, "test");
  REQUIRE(recipe.layer.enabled);
  const Plan plan = BuildPlan("vcs", {}, 16);
  LayerSimulator sim(plan, recipe);
  // Strong low-decay gates from the captures and a random state.
  auto source = MakeInputSource("gdn:rho=0.9,dk=8,dv=8", 16, 7);
  for (int sample = 0; sample < 6; ++sample) {
    const GdnChunk chunk = *source->Sample(sample).gdn;
    const GdnOutputs got = sim.Run(chunk, 0, nullptr, nullptr);
    const GdnOutputs want = Emulate(chunk);
    INFO("sample " << sample);
    CheckSameOutputs(got, want);
    // And close to the fp64 reference (bf16 data: ~2^-8 relative).
    const GdnOutputs ref = ChunkReference(chunk);
    CHECK((got.o - ref.o).norm() <= 0.05 * ref.o.norm());
  }
}

TEST_CASE("KDA gates: the simulated layer equals a float emulation",
          "[sim][layer]") {
  const Recipe recipe = ParseRecipeToml(kRecipe, "test");
  // C = 64: four 16-token sub-chunks, so diagonal and off-diagonal blocks.
  const int c = 64;
  const Plan plan = BuildPlan("vcs", {}, c);
  LayerSimulator sim(plan, recipe);
  auto source = MakeInputSource("gdn:rho=0.9,dk=8,dv=8,gate=kda", c, 7);
  for (int sample = 0; sample < 4; ++sample) {
    const GdnChunk chunk = *source->Sample(sample).gdn;
    REQUIRE(chunk.PerChannel());
    REQUIRE(chunk.gk.rows() == c);
    REQUIRE(chunk.gk.cols() == 8);
    const GdnOutputs got = sim.Run(chunk, 0, nullptr, nullptr);
    const GdnOutputs want = EmulateKda(chunk);
    INFO("sample " << sample);
    CheckSameOutputs(got, want);
    // Close to the fp64 reference (bf16 data).
    const GdnOutputs ref = ChunkReference(chunk);
    CHECK((got.o - ref.o).norm() <= 0.05 * ref.o.norm());
    CHECK((got.next_state - ref.next_state).norm() <=
          0.05 * ref.next_state.norm());
  }
}

TEST_CASE("KDA gates: the chunk reference equals the token recurrence",
          "[sim][layer]") {
  auto source = MakeInputSource("gdn:rho=0.5,dk=16,dv=8,gate=kda", 32, 3);
  for (int sample = 0; sample < 3; ++sample) {
    const GdnChunk chunk = *source->Sample(sample).gdn;
    // Channels decay at different rates.
    CHECK(chunk.gk.col(0).sum() != chunk.gk.col(1).sum());
    const GdnOutputs chunked = ChunkReference(chunk);
    Mat final_state;
    const Mat o = RecurrentReference(chunk, &final_state);
    CHECK((chunked.o - o).norm() <= 1e-10 * o.norm());
    CHECK((chunked.next_state - final_state).norm() <=
          1e-10 * final_state.norm());
    // A scalar gate broadcast over the channels is the scalar layer.
    GdnChunk scalar = chunk;
    scalar.gk = Mat();
    scalar.g = chunk.gk.col(0);
    GdnChunk broadcast = scalar;
    broadcast.g = Vec();
    broadcast.gk = scalar.g * Eigen::RowVectorXd::Ones(16);
    const GdnOutputs s = ChunkReference(scalar);
    const GdnOutputs b = ChunkReference(broadcast);
    CHECK((s.a - b.a).norm() <= 1e-12 * s.a.norm());
    CHECK((s.o - b.o).norm() <= 1e-12 * s.o.norm());
    CHECK((s.next_state - b.next_state).norm() <= 1e-12 * s.next_state.norm());
  }
  CHECK_THROWS_WITH(MakeInputSource("gdn:gate=channel", 16, 0),
                    Catch::Contains("expected scalar"));
}

TEST_CASE("the factored exp overflows fp32 where the difference form does not",
          "[sim][layer]") {
  Recipe recipe = ParseRecipeToml(kRecipe, "test");
  GdnChunk chunk;
  const int c = 16, d = 4;
  chunk.k = Mat::Constant(c, d, 0.5);
  chunk.q = chunk.k;
  chunk.v = Mat::Constant(c, d, 1.0);
  chunk.beta = Vec::Constant(c, 0.5);
  chunk.g = Vec::Constant(c, -8.0);  // G reaches -128: exp(-G) > fp32 max
  chunk.state = Mat::Zero(d, d);
  const Plan plan = BuildPlan("vcs", {}, c);
  LayerRecord diff_record, fact_record;
  LayerSimulator(plan, recipe).Run(chunk, 0, nullptr, &diff_record);
  recipe.layer.exp = LayerExp::kFactored;
  LayerSimulator(plan, recipe).Run(chunk, 0, nullptr, &fact_record);
  CHECK(diff_record.steps[2].nonfinite == 0);
  CHECK(fact_record.steps[2].nonfinite > 0);
}

TEST_CASE("a recipe without layer fields keeps the exact layer",
          "[sim][layer]") {
  EvaluationConfig config;
  config.method = "vcs";
  config.chunk = 16;
  config.input = "gdn:dk=8,dv=8";
  config.samples = 3;
  config.precision = "bf16";
  config.threads = 1;
  CHECK_FALSE(Evaluate(config).layer);
  config.precision = "gpu-bf16";
  const EvaluationReport layer = Evaluate(config);
  CHECK(layer.layer);
  CHECK(layer.o.frob_rel().Percentile(0.5) > 1e-4);  // bf16 O, not fp64
}

TEST_CASE("carry mode runs sequences chunk after chunk", "[sim][layer]") {
  EvaluationConfig config;
  config.method = "vcs";
  config.chunk = 16;
  config.input = "gdn:dk=8,dv=8,seq=40";  // 3 chunks, 8 padded tokens
  config.samples = 4;
  config.precision = "gpu-fp16";
  config.threads = 1;
  const EvaluationReport r = Evaluate(config);
  CHECK(r.carry);
  CHECK(r.chunks == 12);
  CHECK(r.o_by_chunk.size() == 3);
  CHECK(r.state_final.frob_rel().Count() == 4);
  CHECK(r.padded_tokens == 4 * 8);
  // Run again with more threads: the same report.
  config.threads = 2;
  const EvaluationReport r2 = Evaluate(config);
  CHECK(r2.o.frob_rel().Percentile(0.99) == r.o.frob_rel().Percentile(0.99));
}

TEST_CASE("sequential-order cube fast path equals the reference",
          "[sim][layer]") {
  for (const Format op : {Format::kBf16, Format::kFp16, Format::kHf32}) {
    Recipe recipe = ParseRecipeToml(kRecipe, "test");
    recipe.operand = op;
    CubeConfig config = CubeConfig::FromRecipe(recipe, 0, false);
    config.scalar = false;
    const int m = 7, k = 37, n = 19;
    std::vector<double> a(m * k), b(k * n);
    for (size_t i = 0; i < a.size(); ++i) {
      a[i] = i % 5 == 0 ? 0.0 : std::sin(3.0 * i) * std::exp(std::cos(i) * 6);
    }
    for (size_t i = 0; i < b.size(); ++i) b[i] = std::cos(7.0 * i);
    b[3 * n + 2] = INFINITY;  // propagates (row 0 of a has a[0][3] != 0)
    std::vector<double> first[2];
    for (const bool scalar : {true, false}) {
      config.scalar = scalar;
      const CubeOperand oa =
          PrepareOperand(a.data(), m, k, k, config, 1, nullptr);
      const CubeOperand ob =
          PrepareOperand(b.data(), k, n, n, config, 2, nullptr);
      std::vector<double> out(m * n);
      for (int fi = 0; fi < 2; ++fi) {
        const Format f = fi == 0 ? Format::kFp32 : Format::kBf16;
        CubeMatMul({{&oa, &ob}}, -1.0, config, f, out.data(), n, 3, nullptr);
        if (scalar) {
          first[fi] = out;
        } else {
          INFO(quant::FormatName(op) << " -> " << quant::FormatName(f));
          CHECK(std::memcmp(first[fi].data(), out.data(),
                            sizeof(double) * out.size()) == 0);
        }
      }
    }
  }
}

// --- npy-gdn sequences and bad input ---------------------------------------

struct Dir {
  std::string path;
  explicit Dir(const std::string& p) : path(p) {
    std::system(("rm -rf " + p + " && mkdir -p " + p).c_str());
  }
  ~Dir() { std::system(("rm -rf " + path).c_str()); }
  void Write(const std::string& name, const std::vector<double>& v,
             std::vector<int64_t> shape) const {
    WriteNpy(path + "/" + name, FromDoubles(v, shape));
  }
};

// An int64/int32 .npy from integers.
NpyArray FromIntegers(const std::vector<int64_t>& v, NpyDType dtype,
                      std::vector<int64_t> shape) {
  std::vector<uint8_t> bytes;
  for (int64_t x : v) {
    const size_t size = dtype == NpyDType::kInt32 ? 4 : 8;
    for (size_t b = 0; b < size; ++b) {
      bytes.push_back(
          static_cast<uint8_t>(static_cast<uint64_t>(x) >> (8 * b)));
    }
  }
  return MakeNpy(dtype, std::move(shape), std::move(bytes));
}

std::vector<double> Ramp(size_t n, double scale, double offset) {
  std::vector<double> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = offset + scale * std::sin(1.0 + i);
  return v;
}

TEST_CASE("npy-gdn: sequences, grouped heads, padding and state",
          "[sim][layer]") {
  Dir dir("/tmp/trisim_gdn_layer_test_seq");
  const int tokens = 20, heads = 1, v_heads = 2, dk = 4, dv = 3;
  dir.Write("k.npy", Ramp(tokens * heads * dk, 1.0, 0.0), {tokens, heads, dk});
  dir.Write("v.npy", Ramp(tokens * v_heads * dv, 1.0, 0.0),
            {tokens, v_heads, dv});
  dir.Write("beta.npy", Ramp(tokens * v_heads, 0.2, 0.5), {tokens, v_heads});
  dir.Write("g.npy", Ramp(tokens * v_heads, 0.1, -0.2), {tokens, v_heads});
  WriteNpy(
      dir.path + "/cu_seqlens.npy",
      FromIntegers(std::vector<int64_t>{0, 12, 20}, NpyDType::kInt32, {3}));
  dir.Write("notes.txt.npy", {1.0}, {1});
  auto zero = MakeInputSource("npy-gdn:" + dir.path, 8, 0);
  // Sequences of 12 and 8 tokens at C = 8: chunks 8+4(padded), 8.
  CHECK(zero->Available() == 3 * v_heads);
  CHECK(zero->PaddedTokens() == 4 * v_heads);
  bool named = false;
  for (const std::string& n : zero->Notices()) {
    named |= n.find("notes.txt.npy") != std::string::npos;
  }
  CHECK(named);
  // Value head 1 reads key head 0 (repeat_interleave) and its own v.
  const GdnChunk c = *zero->Sample(1).gdn;
  CHECK(c.v(0, 0) == Ramp(tokens * v_heads * dv, 1.0, 0.0)[dv]);
  const GdnChunk tail = *zero->Sample(v_heads).gdn;  // chunk 1 of seq 0
  CHECK(tail.k.row(5).norm() == 0.0);                // padded token
  CHECK(tail.beta[5] == 0.0);

  dir.Write("state.npy", Ramp(2 * v_heads * dk * dv, 0.1, 0.0),
            {2, v_heads, dk, dv});
  auto carry = MakeInputSource("npy-gdn:" + dir.path + ",carry=on", 8, 0);
  CHECK(carry->Available() == 2 * v_heads);
  const SequenceSample s = carry->Sequence(3);  // sequence 1, value head 1
  CHECK(s.chunks.size() == 1);
  CHECK(s.chunks[0].state(0, 0) ==
        Ramp(2 * v_heads * dk * dv, 0.1, 0.0)[(1 * v_heads + 1) * dk * dv]);
}

TEST_CASE("npy-gdn: bad input is a one-line error naming file and value",
          "[sim][layer]") {
  Dir dir("/tmp/trisim_gdn_layer_test_bad");
  const int tokens = 8, heads = 2, dk = 4;
  auto write_good = [&] {
    dir.Write("k.npy", Ramp(tokens * heads * dk, 1.0, 0.0),
              {tokens, heads, dk});
    dir.Write("beta.npy", Ramp(tokens * heads, 0.2, 0.5), {tokens, heads});
    dir.Write("g.npy", Ramp(tokens * heads, 0.1, -0.2), {tokens, heads});
    std::remove((dir.path + "/cu_seqlens.npy").c_str());
  };
  auto fails = [&](const std::string& what) {
    INFO(what);
    CHECK_THROWS_WITH(MakeInputSource("npy-gdn:" + dir.path, 4, 0),
                      Catch::Contains(what));
  };
  write_good();
  CHECK_NOTHROW(MakeInputSource("npy-gdn:" + dir.path, 4, 0));
  // Zero heads.
  dir.Write("k.npy", {}, {tokens, 0, dk});
  fails("is empty");
  write_good();
  // beta outside [0, 1], unless allowed.
  std::vector<double> beta = Ramp(tokens * heads, 0.2, 0.5);
  for (double bad : {5.0, -3.0, 1e30}) {
    beta[3] = bad;
    dir.Write("beta.npy", beta, {tokens, heads});
    fails("outside [0, 1]");
  }
  CHECK_NOTHROW(
      MakeInputSource("npy-gdn:" + dir.path + ",beta_range=any", 4, 0));
  write_good();
  // Integer-typed k.
  WriteNpy(dir.path + "/k.npy",
           FromIntegers(std::vector<int64_t>(tokens * heads * dk, 1),
                        NpyDType::kInt32, {tokens, heads, dk}));
  fails("expected a float dtype");
  write_good();
  // cu_seqlens: negative, past the data, not increasing, not ending at T.
  const std::vector<std::vector<int64_t>> bad_seqlens = {
      {0, -4, 8}, {0, 4, 100}, {0, 4, 4, 8}, {0, 4, 6}, {1, 8}};
  for (const auto& s : bad_seqlens) {
    WriteNpy(dir.path + "/cu_seqlens.npy",
             FromIntegers(s, NpyDType::kInt64, {int64_t(s.size())}));
    fails("cu_seqlens");
  }
  write_good();
  // Shapes that disagree.
  dir.Write("q.npy", Ramp(tokens * heads * 3, 1.0, 0.0), {tokens, heads, 3});
  fails("differs from k's");
  std::remove((dir.path + "/q.npy").c_str());
  dir.Write("beta.npy", Ramp(3 * heads, 0.2, 0.5), {3, heads});
  fails("beta.npy: shape [3, 2]");
  write_good();
  dir.Write("g.npy", Ramp(tokens * heads, 0.1, 0.3), {tokens, heads});
  fails("must be <= 0");
  write_good();
  dir.Write("v.npy", Ramp(tokens * 3 * 2, 1.0, 0.0), {tokens, 3, 2});
  fails("v.npy: shape");
  std::remove((dir.path + "/v.npy").c_str());
  CHECK_THROWS_WITH(
      MakeInputSource("npy-gdn:" + dir.path + ",carry=maybe", 4, 0),
      Catch::Contains("carry"));
}

TEST_CASE("npy-gdn: per-channel g (KDA) is read and validated",
          "[sim][layer]") {
  Dir dir("/tmp/trisim_gdn_layer_test_kda");
  const int tokens = 10, heads = 1, v_heads = 2, dk = 4;
  dir.Write("k.npy", Ramp(tokens * heads * dk, 1.0, 0.0), {tokens, heads, dk});
  dir.Write("beta.npy", Ramp(tokens * v_heads, 0.2, 0.5), {tokens, v_heads});
  std::vector<double> g = Ramp(tokens * v_heads * dk, 0.1, -0.2);
  dir.Write("g.npy", g, {tokens, v_heads, dk});
  auto source = MakeInputSource("npy-gdn:" + dir.path, 8, 0);
  const GdnChunk c = *source->Sample(1).gdn;  // value head 1, chunk 0
  REQUIRE(c.PerChannel());
  CHECK(c.g.size() == 0);
  CHECK(c.gk(2, 3) == g[(2 * v_heads + 1) * dk + 3]);
  const GdnChunk tail = *source->Sample(v_heads).gdn;  // 2 tokens + padding
  CHECK(tail.gk(1, 0) == g[(9 * v_heads) * dk]);
  CHECK(tail.gk.row(5).norm() == 0.0);
  bool noted = false;
  for (const std::string& n : source->Notices()) {
    noted |= n.find("per-channel") != std::string::npos;
  }
  CHECK(noted);
  // A positive per-channel log-decay, and a last dimension that is not d_k.
  g[7] = 0.25;
  dir.Write("g.npy", g, {tokens, v_heads, dk});
  CHECK_THROWS_WITH(MakeInputSource("npy-gdn:" + dir.path, 8, 0),
                    Catch::Contains("must be <= 0"));
  dir.Write("g.npy", Ramp(tokens * v_heads * 3, 0.1, -0.2),
            {tokens, v_heads, 3});
  CHECK_THROWS_WITH(MakeInputSource("npy-gdn:" + dir.path, 8, 0),
                    Catch::Contains("per channel as KDA"));
}

TEST_CASE("gdn: gate arrays without heads are an error, not a crash",
          "[sim][layer]") {
  Dir dir("/tmp/trisim_gdn_layer_test_gates");
  dir.Write("beta.npy", {}, {16, 0});
  dir.Write("g.npy", {}, {16, 0});
  CHECK_THROWS_WITH(
      MakeInputSource(
          "gdn:beta=" + dir.path + "/beta.npy,g=" + dir.path + "/g.npy", 8, 0),
      Catch::Contains("no gate values"));
}

}  // namespace
}  // namespace trisim
