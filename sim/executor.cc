#include "sim/executor.h"

#include <algorithm>
#include <cmath>

#include "core/status.h"

namespace trisim {

void StepStats::Assimilate(const StepStats& other) {
  max_abs = std::max(max_abs, other.max_abs);
  nonfinite += other.nonfinite;
}

Executor::Executor(const Plan& plan) : plan_(plan) {
  buffers_.reserve(plan.buffers.size());
  for (const Buffer& b : plan.buffers) {
    buffers_.push_back(RowMat::Zero(b.rows, b.cols));
  }
}

Eigen::Block<Executor::RowMat> Executor::Region(const View& v) {
  return buffers_[v.buffer].block(v.row, v.col, v.rows, v.cols);
}

Mat Executor::Run(const Mat& l, std::vector<StepStats>* stats) {
  TRISIM_ASSERT(l.rows() == plan_.chunk && l.cols() == plan_.chunk);
  buffers_[plan_.input] = l;
  if (stats != nullptr) stats->resize(plan_.steps.size());

  for (size_t s = 0; s < plan_.steps.size(); ++s) {
    const Step& step = plan_.steps[s];
    auto out = Region(step.out);
    switch (step.op) {
      case OpKind::kIdentity:
        out.setIdentity();
        break;
      case OpKind::kZero:
        out.setZero();
        break;
      case OpKind::kCopy:
        out = Region(step.in[0]).eval();
        break;
      case OpKind::kLinComb: {
        RowMat sum = step.coef[0] * Region(step.in[0]);
        for (size_t i = 1; i < step.in.size(); ++i) {
          sum += step.coef[i] * Region(step.in[i]);
        }
        out = sum;
        break;
      }
      case OpKind::kMatMul: {
        RowMat acc = RowMat::Zero(step.out.rows, step.out.cols);
        for (size_t p = 0; p + 1 < step.in.size(); p += 2) {
          acc.noalias() += Region(step.in[p]) * Region(step.in[p + 1]);
        }
        out = step.sign * acc;
        break;
      }
      case OpKind::kMask: {
        RowMat masked = Region(step.in[0]);
        for (int i = 0; i < masked.rows(); ++i) {
          for (int j = 0; j < masked.cols(); ++j) {
            if (!step.mask.Keeps(i, j)) masked(i, j) = 0.0;
          }
        }
        out = masked;
        break;
      }
      case OpKind::kForwardRow: {
        // N[r, :r] = -L[r, :r] - L[r, :r] N[:r, :r], N = X - I (strict part).
        const int r = step.row;
        auto lrow = Region(step.in[0]).row(r);
        for (int j = 0; j < r; ++j) {
          double sum = -lrow(j);
          for (int k = j + 1; k < r; ++k) sum -= lrow(k) * out(k, j);
          out(r, j) = sum;
        }
        break;
      }
    }
    if (stats != nullptr) {
      StepStats here;
      for (int i = 0; i < out.rows(); ++i) {
        for (int j = 0; j < out.cols(); ++j) {
          const double v = out(i, j);
          if (std::isfinite(v)) {
            here.max_abs = std::max(here.max_abs, std::abs(v));
          } else {
            ++here.nonfinite;
          }
        }
      }
      (*stats)[s].Assimilate(here);
    }
  }
  return buffers_[plan_.output];
}

}  // namespace trisim
