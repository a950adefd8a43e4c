// Error metrics as mergeable accumulators (after gemma.cpp DistortionStats):
// Notify per sample, Assimilate to combine threads or ranks. Combining in
// sample order gives the same result for any thread count.
#pragma once

#include <cstdint>
#include <vector>

#include "core/matrix.h"

namespace trisim {

// Error of one computed matrix against its reference.
struct MatrixError {
  double frob_rel = 0.0;   // ||got - ref||_F / ||ref||_F
  double max_abs = 0.0;    // max |got - ref|
  double max_rel = 0.0;    // max |got - ref| / |ref| over ref != 0
  int64_t nonfinite = 0;   // non-finite entries in got
};
// A result with non-finite entries has infinite error in every measure, so
// it sorts last in a distribution instead of poisoning it with NaN.
MatrixError CompareMatrices(const Mat& reference, const Mat& got);

// Backward error ||I - (I + L) X||_F of an inverse X of I + L.
double BackwardError(const Mat& l, const Mat& x);

// A distribution of one measure over samples.
class Distribution {
 public:
  void Add(double value) { values_.push_back(value); }
  void Assimilate(const Distribution& other);
  int64_t Count() const { return static_cast<int64_t>(values_.size()); }
  // Nearest-rank percentile: the smallest value with at least p of the
  // samples at or below it (p in [0, 1]); 0 when empty.
  double Percentile(double p) const;
  double Max() const { return Percentile(1.0); }

 private:
  std::vector<double> values_;
};

// Statistics of one matrix (T, W, U, O, ...) over samples.
class ErrorStats {
 public:
  void Notify(const MatrixError& error);
  void NotifyBackward(double backward) { backward_.Add(backward); }
  void Assimilate(const ErrorStats& other);

  const Distribution& frob_rel() const { return frob_rel_; }
  const Distribution& max_abs() const { return max_abs_; }
  const Distribution& max_rel() const { return max_rel_; }
  const Distribution& backward() const { return backward_; }
  int64_t nonfinite() const { return nonfinite_; }
  int64_t samples() const { return frob_rel_.Count(); }

 private:
  Distribution frob_rel_, max_abs_, max_rel_, backward_;
  int64_t nonfinite_ = 0;
};

}  // namespace trisim
