#include "core/gdn.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/dense_simd.h"
#include "core/status.h"

namespace trisim {

namespace {

// *c = a b, or *c += a b when `accumulate` (fp64, every element summed in k
// order with fused multiply-adds: core/dense_simd.h, which runs AVX-512 or
// AVX2 where Eigen's baseline build has SSE2 only). Column-major C = A B is
// the row-major product C^T = B^T A^T of the same storage.
void Product(const Mat& a, const Mat& b, Mat* c, bool accumulate = false) {
  TRISIM_ASSERT(a.cols() == b.rows());
  if (!accumulate) {
    c->setZero(a.rows(), b.cols());
  } else {
    TRISIM_ASSERT(c->rows() == a.rows() && c->cols() == b.cols());
  }
  MatMulAddFma(b.data(), static_cast<int>(b.rows()), a.data(),
               static_cast<int>(a.rows()), c->data(),
               static_cast<int>(c->rows()), static_cast<int>(b.cols()),
               static_cast<int>(a.rows()), static_cast<int>(a.cols()));
}

// exp(G_i - G_j) for j <= i (zero above the diagonal), scalar gate.
Mat DecayDifferences(const Vec& big_g) {
  const Eigen::Index c = big_g.size();
  Mat e = Mat::Zero(c, c);
  for (Eigen::Index j = 0; j < c; ++j) {
    for (Eigen::Index i = j; i < c; ++i)
      e(i, j) = std::exp(big_g[i] - big_g[j]);
  }
  return e;
}

// sum_d x_id y_jd exp(G_id - G_jd) for the pairs j < i (strict) or j <= i,
// per-channel gate (KDA): every factor is <= 1 since G decreases along the
// chunk, so nothing overflows (fla/ops/kda/naive.py forms the same sums).
Mat ChannelDecayProducts(const Mat& x, const Mat& y, const Mat& big_g,
                         bool strict) {
  const Eigen::Index c = x.rows(), dk = x.cols();
  Mat out = Mat::Zero(c, c);
  for (Eigen::Index i = 0; i < c; ++i) {
    for (Eigen::Index j = 0; j < (strict ? i : i + 1); ++j) {
      double sum = 0.0;
      for (Eigen::Index d = 0; d < dk; ++d) {
        sum += x(i, d) * y(j, d) * std::exp(big_g(i, d) - big_g(j, d));
      }
      out(i, j) = sum;
    }
  }
  return out;
}

// A of the scalar gate from E (strictly lower part).
Mat ScalarA(const GdnChunk& chunk, const Mat& e) {
  const int c = chunk.Chunk();
  Mat gram;
  Product(chunk.k, chunk.k.transpose(), &gram);
  Mat a = Mat::Zero(c, c);
  for (int j = 0; j < c; ++j) {
    for (int i = j + 1; i < c; ++i)
      a(i, j) = chunk.beta[i] * gram(i, j) * e(i, j);
  }
  return a;
}

}  // namespace

Vec CumulativeDecay(const Vec& g) {
  Vec cumulative(g.size());
  double sum = 0.0;
  for (Eigen::Index i = 0; i < g.size(); ++i) {
    sum += g[i];
    cumulative[i] = sum;
  }
  return cumulative;
}

Mat CumulativeDecay(const Mat& gk) {
  Mat cumulative(gk.rows(), gk.cols());
  for (Eigen::Index d = 0; d < gk.cols(); ++d) {
    cumulative.col(d) = CumulativeDecay(Vec(gk.col(d)));
  }
  return cumulative;
}

Mat BuildA(const GdnChunk& chunk) {
  if (chunk.PerChannel()) {
    const Mat big_g = CumulativeDecay(chunk.gk);
    return chunk.beta.asDiagonal() *
           ChannelDecayProducts(chunk.k, chunk.k, big_g, /*strict=*/true);
  }
  return ScalarA(chunk, DecayDifferences(CumulativeDecay(chunk.g)));
}

namespace {

// The scalar-gate layer around T (fp64): W, U, Vn, O, S' from the
// cumulative gate and E_ij = exp(G_i - G_j) (j <= i). The products run on
// Product (above); T and the intra-chunk attention are lower triangular,
// their zero upper parts add exact zeros.
GdnOutputs ScalarOutputs(const GdnChunk& chunk, const Vec& big_g, const Mat& e,
                         const Mat& a, const Mat& t) {
  const int c = chunk.Chunk();
  const Vec decay = big_g.array().exp();
  GdnOutputs out;
  out.a = a;
  out.t = t;
  // W = T diag(beta) (K (.) exp(G)), U = T diag(beta) V.
  const Vec beta_decay = chunk.beta.cwiseProduct(decay);
  const Mat kbg = beta_decay.asDiagonal() * chunk.k;
  const Mat vb = chunk.beta.asDiagonal() * chunk.v;
  Product(t, kbg, &out.w);
  Product(t, vb, &out.u);
  // Vn = U - W S, as U + (-W) S (negation is exact).
  Mat v_new = out.u;
  Product(-out.w, chunk.state, &v_new, /*accumulate=*/true);
  // O = (Q (.) exp(G)) S + tril_incl((Q K^T) (.) exp(G_i - G_j)) Vn.
  Mat qk;
  Product(chunk.q, chunk.k.transpose(), &qk);
  qk = qk.triangularView<Eigen::Lower>();
  qk = qk.cwiseProduct(e);
  const Mat qd = decay.asDiagonal() * chunk.q;
  Product(qd, chunk.state, &out.o);
  Product(qk, v_new, &out.o, /*accumulate=*/true);
  // S' = exp(G_C) S + (K (.) exp(G_C - G))^T Vn.
  Vec tail(c);
  for (int i = 0; i < c; ++i) tail[i] = std::exp(big_g[c - 1] - big_g[i]);
  const Mat kt = (tail.asDiagonal() * chunk.k).transpose();
  out.next_state = decay[c - 1] * chunk.state;
  Product(kt, v_new, &out.next_state, /*accumulate=*/true);
  return out;
}

}  // namespace

GdnOutputs ChunkOutputs(const GdnChunk& chunk, const Mat& a, const Mat& t) {
  const int c = chunk.Chunk();
  if (chunk.PerChannel()) {
    GdnOutputs out;
    out.a = a;
    out.t = t;
    const Mat big_g = CumulativeDecay(chunk.gk);
    const Mat decay = big_g.array().exp().matrix();  // C x d_k
    const Eigen::RowVectorXd last = big_g.row(c - 1);
    // W = T diag(beta) (K (.) e^G), U = T diag(beta) V.
    out.w = t * (chunk.beta.asDiagonal() * chunk.k.cwiseProduct(decay));
    out.u = t * (chunk.beta.asDiagonal() * chunk.v);
    const Mat v_new = out.u - out.w * chunk.state;
    // O = (Q (.) e^G) S + tril_incl(Aqk) Vn.
    const Mat aqk = ChannelDecayProducts(chunk.q, chunk.k, big_g, false);
    out.o = chunk.q.cwiseProduct(decay) * chunk.state + aqk * v_new;
    // S' = diag(e^(G_C)) S + (K (.) e^(G_C - G))^T Vn.
    Mat k_tail(c, chunk.k.cols());
    for (int i = 0; i < c; ++i) {
      k_tail.row(i) = chunk.k.row(i).cwiseProduct(
          (last - big_g.row(i)).array().exp().matrix());
    }
    out.next_state =
        last.array().exp().matrix().transpose().asDiagonal() * chunk.state +
        k_tail.transpose() * v_new;
    return out;
  }
  const Vec big_g = CumulativeDecay(chunk.g);
  return ScalarOutputs(chunk, big_g, DecayDifferences(big_g), a, t);
}

Mat ForwardSubstitutionInverse(const Mat& l) {
  const Eigen::Index n = l.rows();
  TRISIM_ASSERT(l.cols() == n);
  // Row i of X = (I + L)^-1: X[i,j] = -sum_{k=j}^{i-1} L[i,k] X[k,j], X[i,i]
  // = 1, the sum over k in increasing order for every j, each term rounded
  // to long double and added in long double. Four columns j at once, their
  // sums held in (x87) registers across k: independent chains, and no
  // long-double load and store of a partial sum per term. X is row-major
  // so the four X[k,j] of a step are adjacent.
  using RowMatL = Eigen::Matrix<long double, Eigen::Dynamic, Eigen::Dynamic,
                                Eigen::RowMajor>;
  RowMatL x = RowMatL::Identity(n, n);
  std::vector<long double> li(static_cast<size_t>(n));
  for (Eigen::Index i = 1; i < n; ++i) {
    for (Eigen::Index k = 0; k < i; ++k)
      li[k] = static_cast<long double>(l(i, k));
    Eigen::Index j0 = 0;
    for (; j0 + 4 <= i; j0 += 4) {
      // Column j0 + q starts at k = j0 + q (X[k, j] = 0 for k < j: those
      // terms are not in the sum); every sum starts at +0 as a single one.
      long double s0 = 0.0L, s1 = 0.0L, s2 = 0.0L, s3 = 0.0L;
      const long double* xk = &x(j0, j0);
      s0 += li[j0] * xk[0];
      xk = &x(j0 + 1, j0);
      s0 += li[j0 + 1] * xk[0];
      s1 += li[j0 + 1] * xk[1];
      xk = &x(j0 + 2, j0);
      s0 += li[j0 + 2] * xk[0];
      s1 += li[j0 + 2] * xk[1];
      s2 += li[j0 + 2] * xk[2];
      for (Eigen::Index k = j0 + 3; k < i; ++k) {
        const long double lik = li[k];
        xk = &x(k, j0);
        s0 += lik * xk[0];
        s1 += lik * xk[1];
        s2 += lik * xk[2];
        s3 += lik * xk[3];
      }
      x(i, j0) = -s0;
      x(i, j0 + 1) = -s1;
      x(i, j0 + 2) = -s2;
      x(i, j0 + 3) = -s3;
    }
    for (Eigen::Index j = j0; j < i; ++j) {
      long double sum = 0.0L;
      for (Eigen::Index k = j; k < i; ++k) sum += li[k] * x(k, j);
      x(i, j) = -sum;
    }
  }
  return x.cast<double>();
}

GdnOutputs ChunkReference(const GdnChunk& chunk) {
  if (chunk.PerChannel()) {
    const Mat a = BuildA(chunk);
    return ChunkOutputs(chunk, a, ForwardSubstitutionInverse(a));
  }
  // exp(G_i - G_j) once for A and O.
  const Vec big_g = CumulativeDecay(chunk.g);
  const Mat e = DecayDifferences(big_g);
  const Mat a = ScalarA(chunk, e);
  return ScalarOutputs(chunk, big_g, e, a, ForwardSubstitutionInverse(a));
}

Mat RecurrentReference(const GdnChunk& chunk, Mat* final_state) {
  const int c = chunk.Chunk();
  Mat s = chunk.state;
  Mat o(c, chunk.v.cols());
  for (int t = 0; t < c; ++t) {
    const Vec k = chunk.k.row(t).transpose();
    if (chunk.PerChannel()) {
      s = chunk.gk.row(t).array().exp().matrix().transpose().asDiagonal() * s;
    } else {
      s *= std::exp(chunk.g[t]);  // decay
    }
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
