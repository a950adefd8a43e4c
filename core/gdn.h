// The Gated DeltaNet chunk problem and its exact fp64 references
// (../shared/docs/DOMAIN.md section 1).
#pragma once

#include "core/matrix.h"

namespace trisim {

// One chunk of C tokens of one head.
struct GdnChunk {
  Mat k;      // C x d_k, rows L2-normalised
  Mat v;      // C x d_v
  Mat q;      // C x d_k, rows L2-normalised and scaled by 1/sqrt(d_k)
  Vec beta;   // C, in (0, 1)
  Vec g;      // C, per-token log-decay g_t <= 0 (NOT cumulative); empty
              // when gk holds the gate
  Mat gk;     // C x d_k per-channel log-decay g_td <= 0 (Kimi Linear's KDA,
              // fla/ops/kda: g of shape [B, T, HV, K]); empty for the
              // scalar (Gated DeltaNet) gate g
  Mat state;  // d_k x d_v, incoming state S

  int Chunk() const { return static_cast<int>(k.rows()); }
  bool PerChannel() const { return gk.size() > 0; }
};

// Everything the chunk form computes.
struct GdnOutputs {
  Mat a;           // C x C strictly lower: beta_i (k_i.k_j) exp(G_i - G_j)
  Mat t;           // (I + A)^-1
  Mat w;           // T diag(beta) (K (.) exp(G))
  Mat u;           // T diag(beta) V
  Mat o;           // C x d_v outputs
  Mat next_state;  // d_k x d_v
};

// Cumulative log-decay within the chunk: G_i = g_1 + ... + g_i.
Vec CumulativeDecay(const Vec& g);

// The same per channel: G_id = g_1d + ... + g_id (C x d_k).
Mat CumulativeDecay(const Mat& gk);

// A = strictly lower part of diag(beta) (K K^T) (.) exp(G_i - G_j); with a
// per-channel gate (KDA) A_ij = beta_i sum_d k_id k_jd exp(G_id - G_jd)
// (fla/ops/kda/naive.py naive_chunk_kda; chunk_intra.py).
Mat BuildA(const GdnChunk& chunk);

// W, U, O and the next state for a given T (exact or approximate), in fp64:
// this isolates the effect of T's error on what the model sees. With a
// per-channel gate (KDA, fla/ops/kda/naive.py naive_chunk_kda) every exp
// factor is per channel: W = T diag(beta) (K (.) e^G), O = (Q (.) e^G) S +
// tril_incl(Aqk) Vn with Aqk_ij = sum_d q_id k_jd e^(G_id - G_jd), S' =
// diag(e^(G_C)) S + (K (.) e^(G_C - G))^T Vn.
GdnOutputs ChunkOutputs(const GdnChunk& chunk, const Mat& a, const Mat& t);

// The reference: T by forward substitution in long double, the rest in fp64.
GdnOutputs ChunkReference(const GdnChunk& chunk);

// Token-by-token recurrence (the definition the chunk form must match):
// returns the C x d_v outputs and writes the final state. KDA decays row d
// of the state by e^(g_td) (fla/ops/kda/naive.py naive_recurrent_kda).
Mat RecurrentReference(const GdnChunk& chunk, Mat* final_state);

// (I + L)^-1 for strictly lower L by forward substitution in long double,
// rounded to double once at the end.
Mat ForwardSubstitutionInverse(const Mat& l);

}  // namespace trisim
