// Runs a plan (core/plan.h) step by step. This is the one executor: it never
// looks at the method name, only at the typed steps.
#pragma once

#include <vector>

#include "core/matrix.h"
#include "core/plan.h"

namespace trisim {

// What one step produced, for range reports (max |x| shows where the powers
// of L grow; non-finite counts show where a format ran out).
struct StepStats {
  double max_abs = 0.0;
  long long nonfinite = 0;

  void Assimilate(const StepStats& other);
};

class Executor {
 public:
  explicit Executor(const Plan& plan);

  // Runs the plan on the strictly lower `l` (C x C, checked by the caller)
  // in fp64 and returns X. If `stats` is non-null it gets one entry per step
  // (merged with what it already holds, so one vector can gather a run).
  Mat Run(const Mat& l, std::vector<StepStats>* stats = nullptr);

  const Plan& plan() const { return plan_; }

 private:
  using RowMat =
      Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  Eigen::Block<RowMat> Region(const View& v);

  const Plan& plan_;
  std::vector<RowMat> buffers_;
};

}  // namespace trisim
