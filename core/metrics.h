// Error metrics as mergeable accumulators (after gemma.cpp DistortionStats):
// Notify per sample, Assimilate to combine threads or ranks. Combining in
// sample order gives the same result for any thread count.
#pragma once

#include <cstdint>
#include <map>
#include <vector>

#include "core/matrix.h"

namespace trisim {

// Error of one computed matrix against its reference.
struct MatrixError {
  double frob_rel = 0.0;  // ||got - ref||_F / ||ref||_F
  double max_abs = 0.0;   // max |got - ref|
  double max_rel = 0.0;   // max |got - ref| / |ref| over ref != 0
  int64_t nonfinite = 0;  // non-finite entries in got
};
// A result with non-finite entries has infinite error in every measure, so
// it sorts last in a distribution instead of poisoning it with NaN.
MatrixError CompareMatrices(const Mat& reference, const Mat& got);

// Backward error ||I - (I + L) X||_F of an inverse X of I + L.
double BackwardError(const Mat& l, const Mat& x);

// A distribution of one measure over samples, in bounded memory.
//
// Up to kExactCapacity values it stores every value and percentiles are
// exact nearest-rank. Beyond that (a one-pass exact percentile needs memory
// linear in the count, Munro & Paterson 1980) it keeps a sparse histogram
// keyed by each value's sign, exponent and top kMantissaBits fraction bits,
// with the count and the largest value of every bucket: Percentile(p) then
// returns the largest sample in the bucket holding the exact nearest-rank
// value, so it is a sample value at or above the exact answer and within a
// relative 2^-kMantissaBits of it (same sign, same binade, same top bits);
// Max() stays exact. Memory: one 24-byte bucket per occupied (binade, top
// bits) pair, at most 2^kMantissaBits per binade the values span, whatever
// the sample count. Both states are functions of the multiset of values, so
// the result does not depend on the order of Add/Assimilate (thread count).
class Distribution {
 public:
  static constexpr int64_t kExactCapacity = int64_t{1} << 16;
  static constexpr int kMantissaBits = 12;

  void Add(double value);
  void Assimilate(const Distribution& other);
  int64_t Count() const { return count_; }
  // True while every value is stored (percentiles exact).
  bool Exact() const { return count_ <= kExactCapacity; }
  // Nearest-rank percentile: the smallest value with at least p of the
  // samples at or below it (p in [0, 1]); 0 when empty. Exact while
  // Exact(), else within the relative bound above.
  double Percentile(double p) const;
  double Max() const { return Percentile(1.0); }

 private:
  struct Bucket {
    int64_t count = 0;
    double max = 0.0;
  };
  static uint64_t BucketKey(double value);
  void AddToHistogram(double value, int64_t count);
  void SpillToHistogram();

  int64_t count_ = 0;
  std::vector<double> values_;          // while Exact()
  std::map<uint64_t, Bucket> buckets_;  // after
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
