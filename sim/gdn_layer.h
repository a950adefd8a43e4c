// One chunk of the Gated DeltaNet layer in the kernel's precision: A formed
// on the cube from K in its input format, the gate's cumulative sum and exp
// on the vector unit, T by the plan on the executor, then W, U, Vn, O and the
// next state, every tensor stored in its recipe format (sim/recipe.h layer_*
// fields) and every product on the bit-accurate cube (sim/cube.h).
//
// The steps, in FLA's order (fla/ops/gated_delta_rule: chunk_scaled_dot_kkt
// / kkt_solve, wy_fast.recompute_w_u_fwd, chunk_delta_h, common/chunk_o;
// ../shared/docs/KERNELS.md section 4). V(x) rounds to the recipe's vector
// format, R_f(x) to format f, cube(a, b) is a cube product leaving the fp32
// accumulator unrounded beyond fp32, op = layer_operand:
//   k, q, v = R_inputs(.)          beta, g = R_gate(.)
//   G_i     = V(G_{i-1} + g_i)                 (sequential scan)
//   difference: kb = R_op(V(k_i beta_i));  A_ij = V(cube(kb, k^T)_ij
//               * V(exp(V(G_i - G_j))))  for i > j
//   factored:   kb = R_op(V(V(k_i beta_i) e^{G_i})); kn = R_op(V(k_j e^{-G_j}))
//               A_ij = cube(kb, kn^T)_ij for i > j
//   T       = the plan run on A (A rounded to `input`, T leaves in `output`)
//   W = R_wu(cube(T, R_op(V(V(k_i beta_i) e^{G_i}))))
//   U = R_wu(cube(T, R_op(V(v_i beta_i))))
//   vn = V(U - cube(W, R_op(S)))      Vn = R_vn(vn)
//   O  = R_o(V(V(cube(q, R_op(S))_i e^{G_i})
//              + cube(R_op(P), Vn)))  P_ij = V(cube(q, k^T)_ij e^{G_i-G_j}),
//              j<=i
//   S' = R_state(V(V(S e^{G_C}) + cube(k^T, R_op(V(vn_i e^{G_C - G_i})))))
// Per-channel gates (Kimi Linear's KDA, GdnChunk::gk; fla/ops/kda): G, e^G
// and e^{G_C - G} per channel (C x d_k), and
//   A_ij    = beta_i sum_d k_id k_jd e^(G_id - G_jd) formed as FLA's KDA
//             kernels do (sub-chunks of 16: token by token on the vector unit
//             inside a sub-chunk, on the cube against the sub-chunk's first
//             row across sub-chunks; gdn_layer.cc ChannelProducts;
//             layer_exp does not apply: this is the one form KDA kernels use)
//   W  = R_wu(cube(T, R_op(V(V(k_i beta_i) (.) e^{G_i}))))
//   O  = R_o(V(cube(R_op(V(q (.) e^G)), R_op(S)) + cube(R_op(P), Vn)))
//        P_ij = sum_d q_id k_jd e^(G_id - G_jd), j <= i, formed as A
//   S' = R_state(V(V(diag(e^{G_C}) S) + cube(R_op(V(k (.) e^{G_C - G}))^T,
//        R_op(vn))))
// exp is modelled as a correctly rounded exp in the gate format (exp2's
// accuracy on a GPU is not public). q arrives with its 1/sqrt(d_k) scale
// applied (FLA multiplies the fp32 product by the scale instead; the
// difference is below one rounding of q).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/gdn.h"
#include "core/plan.h"
#include "sim/executor.h"
#include "sim/recipe.h"

namespace trisim {

// Range and events of the layer steps (one entry per kLayerSteps name).
struct LayerRecord {
  std::vector<StepStats> steps;
  void Assimilate(const LayerRecord& other);
};

// Names of the layer steps in LayerRecord order.
const std::vector<std::string>& LayerStepNames();

class LayerSimulator {
 public:
  // The recipe must have layer.enabled; `plan` computes T. `options` as the
  // executor's (sim/executor.h), for every cube and rounding of the layer.
  LayerSimulator(const Plan& plan, const Recipe& recipe,
                 ExecOptions options = {});

  // Runs one chunk (its state is the incoming state, any format: it is
  // rounded to layer_state first). Returns the stored tensors: a (A as the
  // inverse receives it, before rounding to `input`), t, w, u, o and
  // next_state (in layer_state). Also fills `vn` when non-null.
  GdnOutputs Run(const GdnChunk& chunk, uint64_t seed, RunRecord* record,
                 LayerRecord* layer, Mat* vn = nullptr);

  Executor& executor() { return executor_; }

 private:
  Recipe recipe_;
  Executor executor_;
};

}  // namespace trisim
