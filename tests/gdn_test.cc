// The chunk form of Gated DeltaNet (DOMAIN.md section 1) against its
// definition, the token-by-token recurrence.
#include "core/gdn.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "core/inputs.h"

namespace trisim {
namespace {

double RelFrob(const Mat& ref, const Mat& got) {
  return (got - ref).norm() / ref.norm();
}

TEST_CASE("chunk form equals the token recurrence over several chunks",
          "[core][gdn]") {
  for (int c : {16, 64}) {
    // Nonzero initial state (state=random) carried through 4 chunks.
    auto source = MakeInputSource("gdn:rho=0.5,dk=32,dv=16", c, 7);
    Mat chunk_state, recurrent_state;
    for (int n = 0; n < 4; ++n) {
      GdnChunk chunk = *source->Sample(n).gdn;
      if (n == 0) {
        REQUIRE(chunk.state.norm() > 0.1);
        chunk_state = recurrent_state = chunk.state;
      }
      chunk.state = chunk_state;
      const GdnOutputs out = ChunkReference(chunk);
      chunk.state = recurrent_state;
      Mat next;
      const Mat o = RecurrentReference(chunk, &next);
      INFO("C = " << c << ", chunk " << n);
      CHECK(RelFrob(o, out.o) <= 1e-12);
      CHECK(RelFrob(next, out.next_state) <= 1e-12);
      chunk_state = out.next_state;
      recurrent_state = next;
    }
  }
}

TEST_CASE("A is strictly lower with |A_ij| <= 1 and T inverts I + A",
          "[core][gdn]") {
  auto source = MakeInputSource("gdn:rho=0.9", 64, 1);
  const ChunkSample s = source->Sample(0);
  const Mat& a = s.a;
  for (int i = 0; i < 64; ++i) {
    for (int j = i; j < 64; ++j) CHECK(a(i, j) == 0.0);
  }
  CHECK(a.cwiseAbs().maxCoeff() <= 1.0);
  const Mat t = ForwardSubstitutionInverse(a);
  const Mat residual = Mat::Identity(64, 64) - (Mat::Identity(64, 64) + a) * t;
  // Relative to ||T||: a backward-stable solve leaves O(u ||A|| ||T||).
  CHECK(residual.norm() <= 1e-13 * t.norm() * (1.0 + a.norm()));
}

TEST_CASE("cumulative decay sums the per-token log-decay", "[core][gdn]") {
  Vec g(3);
  g << -0.5, 0.0, -0.25;
  const Vec big_g = CumulativeDecay(g);
  CHECK(big_g[0] == -0.5);
  CHECK(big_g[1] == -0.5);
  CHECK(big_g[2] == -0.75);
}

}  // namespace
}  // namespace trisim

namespace trisim {
namespace {

// The long-double forward substitution as a plain loop (the specification
// of ForwardSubstitutionInverse's register-blocked form): X[i,j] = -sum over
// k = j..i-1 in increasing order of L[i,k] X[k,j], each term and partial sum
// in long double from +0, then one rounding to double.
Mat ForwardSubstitutionSpec(const Mat& l) {
  const Eigen::Index n = l.rows();
  std::vector<long double> x(static_cast<size_t>(n * n), 0.0L);
  for (Eigen::Index i = 0; i < n; ++i) {
    x[i * n + i] = 1.0L;
    for (Eigen::Index j = 0; j < i; ++j) {
      long double sum = 0.0L;
      for (Eigen::Index k = j; k < i; ++k)
        sum += static_cast<long double>(l(i, k)) * x[k * n + j];
      x[i * n + j] = -sum;
    }
  }
  Mat out(n, n);
  for (Eigen::Index i = 0; i < n; ++i)
    for (Eigen::Index j = 0; j < n; ++j)
      out(i, j) = static_cast<double>(x[i * n + j]);
  return out;
}

TEST_CASE("forward substitution equals its plain long-double loop bit for bit",
          "[core][gdn]") {
  std::mt19937_64 rng(3);
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  for (int n : {1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 33, 64}) {
    for (int trial = 0; trial < 4; ++trial) {
      Mat l = Mat::Zero(n, n);
      for (int i = 0; i < n; ++i) {
        for (int j = 0; j < i; ++j) {
          const uint64_t r = rng() % 16;
          // Signed zeros and inf (NaN terms) as well as values.
          l(i, j) = r == 0   ? 0.0
                    : r == 1 ? -0.0
                    : (trial == 3 && r == 2)
                        ? std::numeric_limits<double>::infinity()
                        : u(rng) * (trial + 1);
        }
      }
      const Mat got = ForwardSubstitutionInverse(l);
      const Mat want = ForwardSubstitutionSpec(l);
      INFO("n " << n << " trial " << trial);
      bool same = true;
      for (Eigen::Index e = 0; e < got.size(); ++e) {
        const double g = got.data()[e], w = want.data()[e];
        same = same && (std::isnan(g) ? std::isnan(w)
                                      : std::memcmp(&g, &w, sizeof g) == 0);
      }
      REQUIRE(same);
    }
  }
}

}  // namespace
}  // namespace trisim
