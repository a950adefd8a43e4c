// Dense matrices used throughout trisim: fp64 Eigen matrices at the boundary
// (house style: Eigen at the boundary, raw pointers inside SIMD kernels).
#pragma once

#include <Eigen/Dense>

namespace trisim {

using Mat = Eigen::MatrixXd;
using Vec = Eigen::VectorXd;
using MatL = Eigen::Matrix<long double, Eigen::Dynamic, Eigen::Dynamic>;

// Throws DataError (bad data, exit 1) naming `what` if `l` is not square, has a
// non-finite entry, or has a nonzero on or above the diagonal.
void CheckStrictlyLower(const Mat& l, const char* what);

}  // namespace trisim
