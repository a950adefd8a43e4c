#include "core/metrics.h"

#include <algorithm>
#include <cmath>
#include <cstring>
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

uint64_t Distribution::BucketKey(double value) {
  uint64_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  // Order-preserving map of doubles to unsigned integers, then the top
  // 1 + 11 + kMantissaBits bits.
  bits = (bits >> 63) ? ~bits : bits | (uint64_t{1} << 63);
  return bits >> (52 - kMantissaBits);
}

void Distribution::AddToHistogram(double value, int64_t count) {
  Bucket& b = buckets_[BucketKey(value)];
  b.max = b.count == 0 ? value : std::max(b.max, value);
  b.count += count;
}

void Distribution::SpillToHistogram() {
  for (double v : values_) AddToHistogram(v, 1);
  std::vector<double>().swap(values_);
}

void Distribution::Add(double value) {
  ++count_;
  if (count_ <= kExactCapacity) {
    values_.push_back(value);
    return;
  }
  if (!values_.empty()) SpillToHistogram();
  AddToHistogram(value, 1);
}

void Distribution::Assimilate(const Distribution& other) {
  count_ += other.count_;
  if (count_ <= kExactCapacity) {
    values_.insert(values_.end(), other.values_.begin(), other.values_.end());
    return;
  }
  if (!values_.empty()) SpillToHistogram();
  for (double v : other.values_) AddToHistogram(v, 1);
  for (const auto& [key, b] : other.buckets_) {
    Bucket& mine = buckets_[key];
    mine.max = mine.count == 0 ? b.max : std::max(mine.max, b.max);
    mine.count += b.count;
  }
}

double Distribution::Percentile(double p) const {
  if (count_ == 0) return 0.0;
  const int64_t n = count_;
  int64_t rank = static_cast<int64_t>(std::ceil(p * static_cast<double>(n)));
  rank = std::clamp<int64_t>(rank, 1, n);
  if (Exact()) {
    std::vector<double> sorted = values_;
    std::nth_element(sorted.begin(), sorted.begin() + (rank - 1), sorted.end());
    return sorted[rank - 1];
  }
  int64_t seen = 0;
  for (const auto& [key, b] : buckets_) {
    seen += b.count;
    if (seen >= rank) return b.max;
  }
  return buckets_.rbegin()->second.max;
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
