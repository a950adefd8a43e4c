#include "core/matrix.h"

#include <cmath>
#include <sstream>

#include "core/status.h"

namespace trisim {

void CheckStrictlyLower(const Mat& l, const char* what) {
  if (l.rows() != l.cols()) {
    std::ostringstream msg;
    msg << what << ": expected a square matrix, got " << l.rows() << " x "
        << l.cols();
    throw DataError(msg.str());
  }
  for (Eigen::Index j = 0; j < l.cols(); ++j) {
    for (Eigen::Index i = 0; i < l.rows(); ++i) {
      const double value = l(i, j);
      if (!std::isfinite(value)) {
        std::ostringstream msg;
        msg << what << ": non-finite entry " << value << " at (" << i << ", "
            << j << ")";
        throw DataError(msg.str());
      }
      if (i <= j && value != 0.0) {
        std::ostringstream msg;
        msg << what << ": not strictly lower: entry (" << i << ", " << j
            << ") = " << value << " is on or above the diagonal";
        throw DataError(msg.str());
      }
    }
  }
}

}  // namespace trisim
