#include "quant/scale.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "core/status.h"

namespace trisim::quant {
namespace {

constexpr float kMinScale = 0x1p-126f;  // smallest normal fp32
constexpr float kMaxScale = 0x1p127f;

// Smallest power of two s with levels * s >= range (exact comparisons: both
// sides are exact in double for levels < 2^53).
float Pow2Scale(double range, double levels) {
  if (!(range > 0)) return kMinScale;
  int e = static_cast<int>(std::ceil(std::log2(range / levels)));
  while (levels * std::ldexp(1.0, e) < range) ++e;
  while (levels * std::ldexp(1.0, e - 1) >= range) --e;
  e = std::clamp(e, -126, 127);
  return std::ldexp(1.0f, e);
}

}  // namespace

ScaleGrid ParseScaleGrid(const std::string& text, const std::string& what) {
  ScaleGrid grid;
  if (text == "none") return grid;
  if (text == "tensor") {
    grid.granularity = Granularity::kTensor;
  } else if (text == "row") {
    grid.granularity = Granularity::kRow;
  } else if (text == "col" || text == "column") {
    grid.granularity = Granularity::kColumn;
  } else if (text.rfind("block:", 0) == 0) {
    const std::string b = text.substr(6);
    char* end = nullptr;
    const long long v = std::strtoll(b.c_str(), &end, 10);
    if (b.empty() || *end != '\0' || v < 1 || v > (int64_t{1} << 40)) {
      throw InputError(what + ": block size '" + b +
                       "' must be an integer >= 1");
    }
    grid.granularity = Granularity::kBlock;
    grid.block = v;
  } else {
    throw InputError(what + ": unknown granularity '" + text +
                     "' (allowed: none, tensor, row, col, block:B)");
  }
  return grid;
}

std::string ScaleGridName(const ScaleGrid& grid) {
  switch (grid.granularity) {
    case Granularity::kNone:
      return "none";
    case Granularity::kTensor:
      return "tensor";
    case Granularity::kRow:
      return "row";
    case Granularity::kColumn:
      return "col";
    case Granularity::kBlock:
      return "block:" + std::to_string(grid.block);
  }
  TRISIM_ASSERT(false);
}

ScaleKind ParseScaleKind(const std::string& text, const std::string& what) {
  if (text == "fp32") return ScaleKind::kFp32;
  if (text == "pow2") return ScaleKind::kPow2;
  if (text == "fixed") return ScaleKind::kFixed;
  throw InputError(what + ": unknown scale kind '" + text +
                   "' (allowed: fp32, pow2, fixed)");
}

const char* ScaleKindName(ScaleKind kind) {
  switch (kind) {
    case ScaleKind::kFp32:
      return "fp32";
    case ScaleKind::kPow2:
      return "pow2";
    case ScaleKind::kFixed:
      return "fixed";
  }
  TRISIM_ASSERT(false);
}

void MatrixView(const std::vector<int64_t>& shape, int64_t* rows,
                int64_t* cols) {
  *rows = 1;
  *cols = shape.empty() ? 1 : shape.back();
  for (size_t i = 0; i + 1 < shape.size(); ++i) *rows *= shape[i];
}

GroupLayout MakeGroupLayout(const ScaleGrid& grid, int64_t rows, int64_t cols,
                            const std::string& what) {
  GroupLayout l;
  l.rows = rows;
  l.cols = cols;
  // Empty dimensions still get one group so the arithmetic stays defined.
  const int64_t r = std::max<int64_t>(rows, 1), c = std::max<int64_t>(cols, 1);
  switch (grid.granularity) {
    case Granularity::kNone:
    case Granularity::kTensor:
      l.group_rows = r;
      l.group_cols = c;
      break;
    case Granularity::kRow:
      l.group_rows = 1;
      l.group_cols = c;
      break;
    case Granularity::kColumn:
      l.group_rows = r;
      l.group_cols = 1;
      break;
    case Granularity::kBlock:
      if (rows % grid.block != 0 || cols % grid.block != 0) {
        throw InputError(what + ": block size " + std::to_string(grid.block) +
                         " does not divide the " + std::to_string(rows) +
                         " x " + std::to_string(cols) + " matrix");
      }
      l.group_rows = l.group_cols = grid.block;
      break;
  }
  l.grid_rows = r / l.group_rows;
  l.grid_cols = c / l.group_cols;
  return l;
}

GroupLayout MakeViewGroupLayout(const ScaleGrid& grid, int64_t rows,
                                int64_t cols) {
  GroupLayout l;
  l.rows = l.group_rows = rows;
  l.cols = l.group_cols = cols;
  if (grid.granularity == Granularity::kBlock) {
    l.group_rows = std::min(grid.block, rows);
    l.group_cols = std::min(grid.block, cols);
    TRISIM_ASSERT(l.group_rows > 0 && l.group_cols > 0);
    TRISIM_ASSERT(rows % l.group_rows == 0 && cols % l.group_cols == 0);
  } else {
    TRISIM_ASSERT(grid.granularity == Granularity::kTensor ||
                  grid.granularity == Granularity::kNone);
  }
  l.grid_rows = rows / l.group_rows;
  l.grid_cols = cols / l.group_cols;
  return l;
}

float AmaxScale(double amax, double qmax) {
  const float s = static_cast<float>(amax) / static_cast<float>(qmax);
  if (!(s >= kMinScale)) return kMinScale;  // also catches NaN
  return std::min(s, kMaxScale);
}

std::vector<float> GroupAmaxScales(const double* data, int64_t stride,
                                   const GroupLayout& l, double qmax,
                                   double (*row_amax)(const double*, size_t)) {
  std::vector<float> scales(static_cast<size_t>(l.NumGroups()));
  for (int64_t gi = 0; gi < l.grid_rows; ++gi) {
    for (int64_t gj = 0; gj < l.grid_cols; ++gj) {
      double amax = 0.0;
      for (int64_t i = gi * l.group_rows; i < (gi + 1) * l.group_rows; ++i) {
        const double* row = data + i * stride + gj * l.group_cols;
        if (row_amax != nullptr) {
          amax = std::max(amax, row_amax(row, l.group_cols));
          continue;
        }
        for (int64_t j = 0; j < l.group_cols; ++j) {
          if (std::isfinite(row[j])) amax = std::max(amax, std::abs(row[j]));
        }
      }
      scales[gi * l.grid_cols + gj] = AmaxScale(amax, qmax);
    }
  }
  return scales;
}

GroupScale ComputeScale(double min_x, double max_x, Format target,
                        const ScaleSpec& spec) {
  const FormatInfo& f = GetFormatInfo(target);
  TRISIM_ASSERT(!(spec.asymmetric && f.is_float));
  // Target range.
  const double qmax =
      f.is_float ? f.max_finite : static_cast<double>(f.max_int);
  const double qmin =
      f.is_float ? -f.max_finite : static_cast<double>(f.min_int);
  double lo = 0, hi = 0;
  float range_f, levels_f;
  if (spec.asymmetric) {
    lo = std::min(min_x, 0.0);
    hi = std::max(max_x, 0.0);
    range_f =
        static_cast<float>(hi) - static_cast<float>(lo);  // one fp32 rounding
    levels_f = static_cast<float>(qmax - qmin);
  } else {
    range_f = static_cast<float>(std::max(std::abs(min_x), std::abs(max_x)));
    levels_f = static_cast<float>(qmax);
  }
  GroupScale out;
  if (spec.kind == ScaleKind::kPow2) {
    out.scale = Pow2Scale(range_f, levels_f);
  } else {
    float s = range_f / levels_f;  // the one fp32 division
    s = TruncateMantissa(s, spec.mantissa_bits);
    if (!(s >= kMinScale)) s = kMinScale;  // also catches NaN
    out.scale = std::min(s, kMaxScale);
  }
  if (spec.asymmetric) {
    const float ratio = static_cast<float>(lo) / out.scale;
    const double zp =
        qmin -
        std::nearbyint(static_cast<double>(ratio));  // RNE (default FP env)
    out.zero_point = static_cast<int32_t>(std::clamp(zp, qmin, qmax));
  }
  if (spec.kind == ScaleKind::kFixed) {
    out.reciprocal = QuantizeMultiplier(1.0 / static_cast<double>(out.scale));
  }
  return out;
}

}  // namespace trisim::quant
