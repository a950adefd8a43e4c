#include "core/metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace trisim {

MatrixError CompareMatrices(const Mat& reference, const Mat& got) {
  MatrixError e;
  double diff_sq = 0.0;
  double ref_sq = 0.0;
  for (Eigen::Index j = 0; j < got.cols(); ++j) {
    for (Eigen::Index i = 0; i < got.rows(); ++i) {
      const double r = reference(i, j);
      const double g = got(i, j);
      if (!std::isfinite(g)) {
        ++e.nonfinite;
        continue;
      }
      const double d = std::abs(g - r);
      diff_sq += d * d;
      ref_sq += r * r;
      e.max_abs = std::max(e.max_abs, d);
      if (r != 0.0) e.max_rel = std::max(e.max_rel, d / std::abs(r));
    }
  }
  if (e.nonfinite > 0) {
    const double inf = std::numeric_limits<double>::infinity();
    e.frob_rel = e.max_abs = e.max_rel = inf;
    return e;
  }
  e.frob_rel = ref_sq > 0.0 ? std::sqrt(diff_sq / ref_sq)
                            : (diff_sq > 0.0 ? std::sqrt(diff_sq) : 0.0);
  return e;
}

double BackwardError(const Mat& l, const Mat& x) {
  const Eigen::Index n = l.rows();
  const Mat residual = Mat::Identity(n, n) - x - l * x;
  const double norm = residual.norm();
  return std::isfinite(norm) ? norm : std::numeric_limits<double>::infinity();
}

void Distribution::Assimilate(const Distribution& other) {
  values_.insert(values_.end(), other.values_.begin(), other.values_.end());
}

double Distribution::Percentile(double p) const {
  if (values_.empty()) return 0.0;
  std::vector<double> sorted = values_;
  const auto n = static_cast<int64_t>(sorted.size());
  int64_t rank = static_cast<int64_t>(std::ceil(p * static_cast<double>(n)));
  rank = std::clamp<int64_t>(rank, 1, n);
  std::nth_element(sorted.begin(), sorted.begin() + (rank - 1), sorted.end());
  return sorted[rank - 1];
}

void ErrorStats::Notify(const MatrixError& error) {
  frob_rel_.Add(error.frob_rel);
  max_abs_.Add(error.max_abs);
  max_rel_.Add(error.max_rel);
  nonfinite_ += error.nonfinite;
}

void ErrorStats::Assimilate(const ErrorStats& other) {
  frob_rel_.Assimilate(other.frob_rel_);
  max_abs_.Assimilate(other.max_abs_);
  max_rel_.Assimilate(other.max_rel_);
  backward_.Assimilate(other.backward_);
  nonfinite_ += other.nonfinite_;
}

}  // namespace trisim
