#include "sim/gdn_layer.h"

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
  std::vector<StepStats> st(kStepCount);

  quant::Rounder rounder;
  rounder.rounding.mode = recipe_.rounding;
  rounder.rounding.overflow = recipe_.float_overflow;
  rounder.seed = seed;
  rounder.scalar = executor_.options().scalar;
  CubeConfig cube =
      CubeConfig::FromRecipe(recipe_, seed, executor_.options().scalar);
  cube.operand = lf.operand;
  // Stochastic-rounding streams: one tensor id per rounding site, above the
  // executor's ids (8 per plan step).
  uint64_t tensor = uint64_t{1} << 40;

  auto round = [&](RowMat* m, Format f, LayerStep step) {
    rounder.RoundValues(m->data(), static_cast<size_t>(m->size()), f, tensor++,
                        0, 1, m->data(), &st[step].events);
  };
  auto vec = [&](RowMat* m, LayerStep step) { round(m, recipe_.vector, step); };
  // A cube product: operands rounded to layer_operand, fp32 accumulation in
  // the recipe's order, the accumulator read out as fp32.
  auto matmul = [&](const RowMat& a, const RowMat& b, LayerStep step) {
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
  };

  // Inputs as the kernel receives them.
  RowMat k = chunk.k, q = chunk.q, v = chunk.v;
  round(&k, lf.inputs, kInputs);
  round(&q, lf.inputs, kInputs);
  round(&v, lf.inputs, kInputs);
  RowMat beta = chunk.beta, g = chunk.g;
  round(&beta, lf.gate, kInputs);
  round(&g, lf.gate, kInputs);
  RowMat s0 = chunk.state;
  round(&s0, lf.state, kInputs);
  const RowMat kt = k.transpose();

  // Gate on the vector unit: sequential scan, exp factors in the gate format.
  const uint64_t gate_tensor = tensor++;
  quant::EventCounts* gate_events = &st[kGate].events;
  auto gr = [&](double x, uint64_t index) {
    return rounder.RoundValue(x, lf.gate, gate_tensor, index, gate_events);
  };
  std::vector<double> big_g(c), exp_g(c), exp_tail(c);
  for (int i = 0; i < c; ++i) {
    big_g[i] = i == 0 ? g(0, 0) : gr(big_g[i - 1] + g(i, 0), i);
  }
  for (int i = 0; i < c; ++i) {
    exp_g[i] = gr(std::exp(big_g[i]), c + i);
    exp_tail[i] =
        gr(std::exp(gr(big_g[c - 1] - big_g[i], 2 * c + i)), 3 * c + i);
  }
  // exp(G_i - G_j) for j <= i, row-major.
  RowMat exp_diff = RowMat::Zero(c, c);
  for (int i = 0; i < c; ++i) {
    for (int j = 0; j <= i; ++j) {
      const uint64_t e = 4 * static_cast<uint64_t>(c) + 2 * (i * c + j);
      exp_diff(i, j) = gr(std::exp(gr(big_g[i] - big_g[j], e)), e + 1);
    }
  }
  {
    RowMat gates(3, c);
    for (int i = 0; i < c; ++i) {
      gates(0, i) = big_g[i];
      gates(1, i) = exp_g[i];
      gates(2, i) = exp_tail[i];
    }
    Observe(gates, &st[kGate]);
  }

  // k_i beta_i (FLA: b_k * b_beta[:, None] in fp32).
  RowMat k_beta = beta.col(0).asDiagonal() * k;
  vec(&k_beta, kA);
  // k_i beta_i e^{G_i}.
  RowMat k_beta_g(c, dk);
  for (int i = 0; i < c; ++i) k_beta_g.row(i) = k_beta.row(i) * exp_g[i];
  vec(&k_beta_g, kW);

  // A.
  RowMat a = RowMat::Zero(c, c);
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
      k_neg.row(j) = k.row(j) * gr(std::exp(-big_g[j]), 5 * c * c + j);
    }
    vec(&k_neg, kA);
    const RowMat gram = matmul(k_beta_g, k_neg.transpose(), kA);
    for (int i = 0; i < c; ++i) {
      for (int j = 0; j < i; ++j) a(i, j) = gram(i, j);
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
  RowMat qs = matmul(q, s0, kO);
  for (int i = 0; i < c; ++i) qs.row(i) *= exp_g[i];
  vec(&qs, kO);
  RowMat p = matmul(q, kt, kO);
  for (int i = 0; i < c; ++i) {
    for (int j = 0; j < c; ++j) p(i, j) = j <= i ? p(i, j) * exp_diff(i, j) : 0;
  }
  vec(&p, kO);
  RowMat o = qs + matmul(p, vn_stored, kO);
  vec(&o, kO);
  round(&o, lf.o, kO);
  Observe(o, &st[kO]);

  // S' = e^{G_C} S + K^T (Vn e^{G_C - G}) (FLA decays the fp32 residual).
  RowMat v_decay(c, dv);
  for (int i = 0; i < c; ++i) v_decay.row(i) = vn.row(i) * exp_tail[i];
  vec(&v_decay, kState);
  RowMat s_decay = s0 * exp_g[c - 1];
  vec(&s_decay, kState);
  RowMat s_next = s_decay + matmul(kt, v_decay, kState);
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
