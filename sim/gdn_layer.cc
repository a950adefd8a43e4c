#include "sim/gdn_layer.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/status.h"
#include "sim/arith.h"
#include "sim/cube.h"

namespace trisim {

using quant::Format;

namespace {

using RowMat =
    Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// Indices into LayerRecord::steps.
enum LayerStep { kInputs, kGate, kA, kW, kU, kVn, kO, kState, kStepCount };

void Observe(const RowMat& m, StepStats* stats) {
  double max_abs = stats->max_abs;
  long long nonfinite = 0;
  for (Eigen::Index i = 0; i < m.size(); ++i) {
    const double a = std::abs(m.data()[i]);
    if (a <= std::numeric_limits<double>::max()) {
      max_abs = std::max(max_abs, a);
    } else {
      ++nonfinite;
    }
  }
  stats->max_abs = max_abs;
  stats->nonfinite += nonfinite;
}

// The rounding and cube settings of one Run, and its stochastic-rounding
// stream ids (one tensor id per rounding site, handed out in call order).
struct LayerContext {
  const Recipe& recipe;
  quant::Rounder rounder;
  CubeConfig cube;
  uint64_t tensor = uint64_t{1} << 40;  // above the executor's ids
  std::vector<StepStats> st = std::vector<StepStats>(kStepCount);

  LayerContext(const Recipe& r, uint64_t seed, bool scalar)
      : recipe(r), cube(CubeConfig::FromRecipe(r, seed, scalar)) {
    rounder.rounding.mode = r.rounding;
    rounder.rounding.overflow = r.float_overflow;
    rounder.seed = seed;
    rounder.scalar = scalar;
    cube.operand = r.layer.operand;
  }

  void Round(RowMat* m, Format f, LayerStep step) {
    rounder.RoundValues(m->data(), static_cast<size_t>(m->size()), f, tensor++,
                        0, 1, m->data(), &st[step].events);
  }
  void Vector(RowMat* m, LayerStep step) { Round(m, recipe.vector, step); }
  // A cube product: operands rounded to layer_operand, fp32 accumulation in
  // the recipe's order, the accumulator read out as fp32.
  RowMat MatMul(const RowMat& a, const RowMat& b, LayerStep step) {
    quant::EventCounts* ev = &st[step].events;
    const CubeOperand oa = PrepareOperand(
        a.data(), static_cast<int>(a.rows()), static_cast<int>(a.cols()),
        static_cast<int>(a.cols()), cube, tensor++, ev);
    const CubeOperand ob = PrepareOperand(
        b.data(), static_cast<int>(b.rows()), static_cast<int>(b.cols()),
        static_cast<int>(b.cols()), cube, tensor++, ev);
    RowMat out(a.rows(), b.cols());
    CubeMatMul({{&oa, &ob}}, 1.0, cube, Format::kFp32, out.data(),
               static_cast<int>(out.cols()), tensor++, ev);
    return out;
  }
  // One value in format f (element `index` of stream `id`).
  double Scalar(double x, Format f, uint64_t id, uint64_t index,
                LayerStep step) {
    return rounder.RoundValue(x, f, id, index, &st[step].events);
  }
};

// Per-channel (KDA) products X_ij = sum_d x_id k_jd e^(G_id - G_jd) for
// j < i (strict) or j <= i, as FLA's KDA kernels form them
// (fla/ops/kda/chunk_intra.py, chunk_intra_token_parallel.py): the chunk in
// sub-chunks of BC = 16 tokens;
//  - a diagonal sub-chunk token by token on the vector unit:
//      X_ij = V(sum_d V(x_id V(k_jd e_ijd))), e_ijd = R_g(exp(R_g(G_id -
//      G_jd))), summed over d in order (tl.sum's reduction order is not
//      public: modelled as sequential in the vector format);
//  - an off-diagonal block (sub-chunk I > J) on the cube against the first
//    row n of sub-chunk I (every exp factor <= 1):
//      X_IJ = cube(x_i (.) R_g(exp(R_g(G_i - G_n))), k_j (.) R_g(exp(R_g(
//      G_n - G_j)))^T), each operand V-rounded, then the cube's operand
//      rounding.
// `x_diag` is the left factor of the diagonal sub-chunks, `x_off` of the
// off-diagonal ones; `row_scale` (may be null) multiplies the off-diagonal
// rows afterwards (Akk: beta_i, FLA's b_Akk10 * b_b1).
RowMat ChannelProducts(LayerContext& cx, const RowMat& x_diag,
                       const RowMat& x_off, const RowMat* row_scale,
                       const RowMat& k, const RowMat& big_g, bool strict,
                       LayerStep step) {
  const int c = static_cast<int>(k.rows());
  const int dk = static_cast<int>(k.cols());
  const int bc = std::min(c, 16);
  const Format gate = cx.recipe.layer.gate;
  const Format vec = cx.recipe.vector;
  RowMat out = RowMat::Zero(c, c);
  // Diagonal sub-chunks.
  const uint64_t diff_id = cx.tensor++, exp_id = cx.tensor++;
  const uint64_t prod_id = cx.tensor++, term_id = cx.tensor++;
  const uint64_t sum_id = cx.tensor++;
  for (int i = 0; i < c; ++i) {
    const int j0 = i / bc * bc;
    for (int j = j0; j < (strict ? i : i + 1); ++j) {
      double acc = 0.0;
      for (int d = 0; d < dk; ++d) {
        const uint64_t e = (static_cast<uint64_t>(i) * c + j) * dk + d;
        const double diff =
            cx.Scalar(big_g(i, d) - big_g(j, d), gate, diff_id, e, step);
        const double ex = cx.Scalar(std::exp(diff), gate, exp_id, e, step);
        const double kg = cx.Scalar(k(j, d) * ex, vec, prod_id, e, step);
        const double term = cx.Scalar(x_diag(i, d) * kg, vec, term_id, e, step);
        acc = cx.Scalar(acc + term, vec, sum_id, e, step);
      }
      out(i, j) = acc;
    }
  }
  // Off-diagonal blocks, one block row (sub-chunk I against J < I) at once.
  for (int r0 = bc; r0 < c; r0 += bc) {
    const int rows = std::min(bc, c - r0);
    RowMat left(rows, dk), right(r0, dk);
    const uint64_t ldiff = cx.tensor++, lexp = cx.tensor++;
    const uint64_t rdiff = cx.tensor++, rexp = cx.tensor++;
    for (int i = 0; i < rows; ++i) {
      for (int d = 0; d < dk; ++d) {
        const uint64_t e = static_cast<uint64_t>(i) * dk + d;
        left(i, d) =
            x_off(r0 + i, d) *
            cx.Scalar(std::exp(cx.Scalar(big_g(r0 + i, d) - big_g(r0, d), gate,
                                         ldiff, e, step)),
                      gate, lexp, e, step);
      }
    }
    for (int j = 0; j < r0; ++j) {
      for (int d = 0; d < dk; ++d) {
        const uint64_t e = static_cast<uint64_t>(j) * dk + d;
        right(j, d) =
            k(j, d) * cx.Scalar(std::exp(cx.Scalar(big_g(r0, d) - big_g(j, d),
                                                   gate, rdiff, e, step)),
                                gate, rexp, e, step);
      }
    }
    cx.Vector(&left, step);
    cx.Vector(&right, step);
    RowMat block = cx.MatMul(left, right.transpose(), step);
    if (row_scale != nullptr) {
      for (int i = 0; i < rows; ++i) block.row(i) *= (*row_scale)(r0 + i, 0);
      cx.Vector(&block, step);
    }
    out.block(r0, 0, rows, r0) = block;
  }
  return out;
}

}  // namespace

const std::vector<std::string>& LayerStepNames() {
  static const std::vector<std::string> kNames = {"layer inputs q/k/v/beta/g",
                                                  "gate G = cumsum(g), exp",
                                                  "A = beta K K^T e^(G_i-G_j)",
                                                  "W = T diag(beta)(K e^G)",
                                                  "U = T diag(beta) V",
                                                  "Vn = U - W S",
                                                  "O",
                                                  "S' (next state)"};
  return kNames;
}

void LayerRecord::Assimilate(const LayerRecord& other) {
  if (steps.size() < other.steps.size()) steps.resize(other.steps.size());
  for (size_t s = 0; s < other.steps.size(); ++s) {
    steps[s].Assimilate(other.steps[s]);
  }
}

LayerSimulator::LayerSimulator(const Plan& plan, const Recipe& recipe,
                               ExecOptions options)
    : recipe_(recipe), executor_(plan, recipe, options) {
  TRISIM_ASSERT(recipe_.layer.enabled && !recipe_.exact);
}

GdnOutputs LayerSimulator::Run(const GdnChunk& chunk, uint64_t seed,
                               RunRecord* record, LayerRecord* layer,
                               Mat* vn_out) {
  const LayerFormats& lf = recipe_.layer;
  const int c = chunk.Chunk();
  const int dk = static_cast<int>(chunk.k.cols());
  const int dv = static_cast<int>(chunk.v.cols());
  LayerContext cx(recipe_, seed, executor_.options().scalar);
  std::vector<StepStats>& st = cx.st;
  auto round = [&](RowMat* m, Format f, LayerStep step) {
    cx.Round(m, f, step);
  };
  auto vec = [&](RowMat* m, LayerStep step) { cx.Vector(m, step); };
  auto matmul = [&](const RowMat& a, const RowMat& b, LayerStep step) {
    return cx.MatMul(a, b, step);
  };

  // Inputs as the kernel receives them.
  RowMat k = chunk.k, q = chunk.q, v = chunk.v;
  round(&k, lf.inputs, kInputs);
  round(&q, lf.inputs, kInputs);
  round(&v, lf.inputs, kInputs);
  const bool kda = chunk.PerChannel();
  RowMat beta = chunk.beta;
  RowMat g = kda ? RowMat(chunk.gk) : RowMat(chunk.g);
  round(&beta, lf.gate, kInputs);
  round(&g, lf.gate, kInputs);
  RowMat s0 = chunk.state;
  round(&s0, lf.state, kInputs);
  const RowMat kt = k.transpose();

  // Gate on the vector unit: sequential scan, exp factors in the gate format
  // (per channel for KDA: one column per channel).
  const int gc = static_cast<int>(g.cols());
  const uint64_t gate_tensor = cx.tensor++;
  auto gr = [&](double x, uint64_t index) {
    return cx.Scalar(x, lf.gate, gate_tensor, index, kGate);
  };
  RowMat big_g(c, gc), exp_g(c, gc), exp_tail(c, gc);
  for (int d = 0; d < gc; ++d) {
    for (int i = 0; i < c; ++i) {
      const uint64_t e = static_cast<uint64_t>(i) + c * d;
      big_g(i, d) = i == 0 ? g(0, d) : gr(big_g(i - 1, d) + g(i, d), e);
    }
  }
  // Stream indices: the scalar gate's as before (column 0); KDA's above.
  const uint64_t n = static_cast<uint64_t>(c) * gc;
  for (int d = 0; d < gc; ++d) {
    for (int i = 0; i < c; ++i) {
      const uint64_t e = static_cast<uint64_t>(i) + c * d;
      exp_g(i, d) = gr(std::exp(big_g(i, d)), n + e);
      exp_tail(i, d) =
          gr(std::exp(gr(big_g(c - 1, d) - big_g(i, d), 2 * n + e)), 3 * n + e);
    }
  }
  {
    RowMat gates(3 * c, gc);
    gates << big_g, exp_g, exp_tail;
    Observe(gates, &st[kGate]);
  }

  // k_i beta_i (FLA: b_k * b_beta[:, None] in fp32).
  RowMat k_beta = beta.col(0).asDiagonal() * k;
  vec(&k_beta, kA);
  // k_i beta_i e^{G_i} (KDA: per channel, fla/ops/kda/wy_fast.py b_kb).
  RowMat k_beta_g(c, dk);
  if (kda) {
    k_beta_g = k_beta.cwiseProduct(exp_g);
  } else {
    for (int i = 0; i < c; ++i) k_beta_g.row(i) = k_beta.row(i) * exp_g(i, 0);
  }
  vec(&k_beta_g, kW);

  // A.
  RowMat a = RowMat::Zero(c, c);
  RowMat exp_diff;  // scalar gate: exp(G_i - G_j) for j <= i, row-major
  if (kda) {
    a = ChannelProducts(cx, k_beta, k, &beta, k, big_g, /*strict=*/true, kA);
  } else {
    exp_diff = RowMat::Zero(c, c);
    for (int i = 0; i < c; ++i) {
      for (int j = 0; j <= i; ++j) {
        const uint64_t e = 4 * static_cast<uint64_t>(c) + 2 * (i * c + j);
        exp_diff(i, j) = gr(std::exp(gr(big_g(i, 0) - big_g(j, 0), e)), e + 1);
      }
    }
    if (lf.exp == LayerExp::kDifference) {
      const RowMat gram = matmul(k_beta, kt, kA);
      for (int i = 0; i < c; ++i) {
        for (int j = 0; j < i; ++j) a(i, j) = gram(i, j) * exp_diff(i, j);
      }
      vec(&a, kA);
    } else {
      // exp(G_i) on the left operand, exp(-G_j) on the right: exp(-G) grows
      // past fp32's range over long low-decay stretches.
      RowMat k_neg(c, dk);
      for (int j = 0; j < c; ++j) {
        k_neg.row(j) = k.row(j) * gr(std::exp(-big_g(j, 0)), 5 * c * c + j);
      }
      vec(&k_neg, kA);
      const RowMat gram = matmul(k_beta_g, k_neg.transpose(), kA);
      for (int i = 0; i < c; ++i) {
        for (int j = 0; j < i; ++j) a(i, j) = gram(i, j);
      }
    }
  }
  round(&a, recipe_.input, kA);  // as the inverse receives it
  Observe(a, &st[kA]);

  // T by the plan.
  const Mat a_col = a;
  const RowMat t = executor_.Run(a_col, seed, record);

  // W, U.
  RowMat w = matmul(t, k_beta_g, kW);
  round(&w, lf.wu, kW);
  Observe(w, &st[kW]);
  RowMat v_beta = beta.col(0).asDiagonal() * v;
  vec(&v_beta, kU);
  RowMat u = matmul(t, v_beta, kU);
  round(&u, lf.wu, kU);
  Observe(u, &st[kU]);

  // Vn = U - W S: fp32 residual, stored in layer_vn.
  RowMat vn = u - matmul(w, s0, kVn);
  vec(&vn, kVn);
  RowMat vn_stored = vn;
  round(&vn_stored, lf.vn, kVn);
  Observe(vn_stored, &st[kVn]);

  // O = (Q e^G) S + tril(Q K^T e^(G_i - G_j)) Vn.
  RowMat qs, p;
  if (kda) {
    // (Q (.) e^G) S with the factor on the operand (FLA's b_qg), then the
    // intra-chunk Aqk as A's products (q already holds 1/sqrt(d_k)).
    RowMat q_g = q.cwiseProduct(exp_g);
    vec(&q_g, kO);
    qs = matmul(q_g, s0, kO);
    p = ChannelProducts(cx, q, q, nullptr, k, big_g, /*strict=*/false, kO);
  } else {
    qs = matmul(q, s0, kO);
    for (int i = 0; i < c; ++i) qs.row(i) *= exp_g(i, 0);
    vec(&qs, kO);
    p = matmul(q, kt, kO);
    for (int i = 0; i < c; ++i) {
      for (int j = 0; j < c; ++j) {
        p(i, j) = j <= i ? p(i, j) * exp_diff(i, j) : 0;
      }
    }
    vec(&p, kO);
  }
  RowMat o = qs + matmul(p, vn_stored, kO);
  vec(&o, kO);
  round(&o, lf.o, kO);
  Observe(o, &st[kO]);

  // S' = e^{G_C} S + K^T (Vn e^{G_C - G}) (FLA decays the fp32 residual);
  // KDA: diag(e^{G_C}) S + (K (.) e^{G_C - G})^T Vn, the decay on K
  // (fla/ops/kda/wy_fast.py b_kg, fla/ops/common/chunk_delta_h.py gk).
  RowMat s_next;
  if (kda) {
    RowMat k_decay = k.cwiseProduct(exp_tail);
    vec(&k_decay, kState);
    RowMat s_decay = exp_g.row(c - 1).transpose().asDiagonal() * s0;
    vec(&s_decay, kState);
    s_next = s_decay + matmul(k_decay.transpose(), vn, kState);
  } else {
    RowMat v_decay(c, dv);
    for (int i = 0; i < c; ++i) v_decay.row(i) = vn.row(i) * exp_tail(i, 0);
    vec(&v_decay, kState);
    RowMat s_decay = s0 * exp_g(c - 1, 0);
    vec(&s_decay, kState);
    s_next = s_decay + matmul(kt, v_decay, kState);
  }
  vec(&s_next, kState);
  round(&s_next, lf.state, kState);
  Observe(s_next, &st[kState]);

  if (layer != nullptr) {
    LayerRecord here;
    here.steps = std::move(st);
    layer->Assimilate(here);
  }
  GdnOutputs out;
  out.a = a;
  out.t = t;
  out.w = w;
  out.u = u;
  out.o = o;
  out.next_state = s_next;
  if (vn_out != nullptr) *vn_out = vn_stored;
  return out;
}

}  // namespace trisim
