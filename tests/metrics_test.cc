// Error metrics and their accumulators.
#include "core/metrics.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <limits>

namespace trisim {
namespace {

TEST_CASE("CompareMatrices measures abs, rel and Frobenius error",
          "[core][metrics]") {
  Mat ref(2, 2), got(2, 2);
  ref << 1.0, 0.0, 2.0, 4.0;
  got << 1.5, 0.0, 2.0, 3.0;
  const MatrixError e = CompareMatrices(ref, got);
  CHECK(e.max_abs == 1.0);
  CHECK(e.max_rel == 0.5);  // 0.5 / 1 beats 1 / 4
  CHECK(e.frob_rel == Approx(std::sqrt(1.25 / 21.0)).epsilon(1e-15));
  CHECK(e.nonfinite == 0);
  got(0, 1) = std::numeric_limits<double>::infinity();
  got(1, 1) = std::nan("");
  const MatrixError bad = CompareMatrices(ref, got);
  CHECK(bad.nonfinite == 2);
  CHECK(std::isinf(bad.frob_rel));
}

TEST_CASE("nearest-rank percentiles and deterministic merging",
          "[core][metrics]") {
  Distribution a, b;
  for (int i = 1; i <= 50; ++i) a.Add(i);
  for (int i = 51; i <= 100; ++i) b.Add(i);
  a.Assimilate(b);
  CHECK(a.Count() == 100);
  CHECK(a.Percentile(0.5) == 50.0);
  CHECK(a.Percentile(0.9) == 90.0);
  CHECK(a.Percentile(0.99) == 99.0);
  CHECK(a.Max() == 100.0);
  Distribution one;
  one.Add(3.0);
  CHECK(one.Percentile(0.5) == 3.0);
  CHECK(Distribution().Percentile(0.5) == 0.0);
}

TEST_CASE("ErrorStats merges like one accumulator", "[core][metrics]") {
  ErrorStats whole, left, right;
  for (int i = 0; i < 10; ++i) {
    MatrixError e;
    e.frob_rel = i;
    e.nonfinite = i % 3 == 0;
    whole.Notify(e);
    (i < 4 ? left : right).Notify(e);
  }
  left.Assimilate(right);
  CHECK(left.samples() == whole.samples());
  CHECK(left.nonfinite() == whole.nonfinite());
  CHECK(left.frob_rel().Percentile(0.9) == whole.frob_rel().Percentile(0.9));
}

TEST_CASE("backward error of the exact inverse is rounding only",
          "[core][metrics]") {
  Mat l = Mat::Zero(3, 3);
  l(1, 0) = 0.5;
  l(2, 1) = 0.25;
  Mat x = Mat::Identity(3, 3);
  x(1, 0) = -0.5;
  x(2, 1) = -0.25;
  x(2, 0) = 0.125;
  CHECK(BackwardError(l, x) == 0.0);
  x(2, 0) = 0.0;
  CHECK(BackwardError(l, x) == 0.125);
}

}  // namespace
}  // namespace trisim
