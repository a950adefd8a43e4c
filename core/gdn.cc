#include "core/gdn.h"

#include <cmath>

#include "core/status.h"

namespace trisim {

Vec CumulativeDecay(const Vec& g) {
  Vec cumulative(g.size());
  double sum = 0.0;
  for (Eigen::Index i = 0; i < g.size(); ++i) {
    sum += g[i];
    cumulative[i] = sum;
  }
  return cumulative;
}

Mat BuildA(const GdnChunk& chunk) {
  const int c = chunk.Chunk();
  const Vec big_g = CumulativeDecay(chunk.g);
  const Mat gram = chunk.k * chunk.k.transpose();
  Mat a = Mat::Zero(c, c);
  for (int i = 0; i < c; ++i) {
    for (int j = 0; j < i; ++j) {
      a(i, j) = chunk.beta[i] * gram(i, j) * std::exp(big_g[i] - big_g[j]);
    }
  }
  return a;
}

GdnOutputs ChunkOutputs(const GdnChunk& chunk, const Mat& a, const Mat& t) {
  const int c = chunk.Chunk();
  const Vec big_g = CumulativeDecay(chunk.g);
  const Vec decay = big_g.array().exp();
  const double decay_last = decay[c - 1];

  GdnOutputs out;
  out.a = a;
  out.t = t;
  // W = T diag(beta) (K (.) exp(G)), U = T diag(beta) V.
  const Vec beta_decay = chunk.beta.cwiseProduct(decay);
  out.w = t * (beta_decay.asDiagonal() * chunk.k);
  out.u = t * (chunk.beta.asDiagonal() * chunk.v);
  const Mat v_new = out.u - out.w * chunk.state;
  // O = (Q (.) exp(G)) S + tril_incl((Q K^T) (.) exp(G_i - G_j)) Vn.
  Mat qk = chunk.q * chunk.k.transpose();
  for (int i = 0; i < c; ++i) {
    for (int j = 0; j < c; ++j) {
      qk(i, j) = j <= i ? qk(i, j) * std::exp(big_g[i] - big_g[j]) : 0.0;
    }
  }
  out.o = decay.asDiagonal() * chunk.q * chunk.state + qk * v_new;
  // S' = exp(G_C) S + (K (.) exp(G_C - G))^T Vn.
  Vec tail(c);
  for (int i = 0; i < c; ++i) tail[i] = std::exp(big_g[c - 1] - big_g[i]);
  out.next_state = decay_last * chunk.state +
                   (tail.asDiagonal() * chunk.k).transpose() * v_new;
  return out;
}

Mat ForwardSubstitutionInverse(const Mat& l) {
  const Eigen::Index n = l.rows();
  TRISIM_ASSERT(l.cols() == n);
  // Row i of X = (I + L)^-1: X[i,j] = -sum_{k=j}^{i-1} L[i,k] X[k,j], X[i,i]
  // = 1.
  MatL x = MatL::Identity(n, n);
  for (Eigen::Index i = 1; i < n; ++i) {
    for (Eigen::Index j = 0; j < i; ++j) {
      long double sum = 0.0L;
      for (Eigen::Index k = j; k < i; ++k) {
        sum += static_cast<long double>(l(i, k)) * x(k, j);
      }
      x(i, j) = -sum;
    }
  }
  return x.cast<double>();
}

GdnOutputs ChunkReference(const GdnChunk& chunk) {
  const Mat a = BuildA(chunk);
  return ChunkOutputs(chunk, a, ForwardSubstitutionInverse(a));
}

Mat RecurrentReference(const GdnChunk& chunk, Mat* final_state) {
  const int c = chunk.Chunk();
  Mat s = chunk.state;
  Mat o(c, chunk.v.cols());
  for (int t = 0; t < c; ++t) {
    const Vec k = chunk.k.row(t).transpose();
    s *= std::exp(chunk.g[t]);  // decay
    const Vec v_prime = chunk.beta[t] * (chunk.v.row(t).transpose() -
                                         s.transpose() * k);  // delta
    s += k * v_prime.transpose();                             // write
    o.row(t) =
        (s.transpose() * chunk.q.row(t).transpose()).transpose();  // read
  }
  if (final_state != nullptr) *final_state = s;
  return o;
}

}  // namespace trisim
