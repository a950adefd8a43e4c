// Quantisation scales: granularity, kinds, and exactly how a scale is
// computed and applied. These are the semantics the oracle promises.
//
// Layout. Data is row-major; an N-d array is viewed as rows = product of all
// but the last dimension, cols = the last one (0-d and 1-d: one row). Scales
// form a grid of groups, each a contiguous rectangle of group_rows x
// group_cols elements:
//   tensor  1 x 1 grid           (group = whole matrix)
//   row     rows x 1 grid        (group = one row)
//   col     1 x cols grid        (group = one column)
//   block:b rows/b x cols/b grid (group = b x b tile; b must divide both)
// Scale files have the grid's shape [grid_rows, grid_cols].
//
// Computing a group's scale (target range: integers [qmin, qmax] of the
// format; floats [-max_finite, max_finite], symmetric only):
//   symmetric:  R = amax = max |x| over the group's finite values, L = qmax
//   asymmetric: lo = min(min x, 0), hi = max(max x, 0), R = hi - lo,
//               L = qmax - qmin  (0 is exactly representable, as TFLite)
//   fp32 kind:  s = fp32(R) / fp32(L), one fp32 division rounded to nearest
//               even (R is fp32(hi) - fp32(lo) in fp32 when asymmetric), then
//               truncated toward zero to `mantissa_bits` fraction bits
//               (TruncateMantissa; the device keeps 10, ../shared/docs/NPU.md).
//   pow2 kind:  s = 2^e with the smallest integer e such that L * 2^e >= R.
//   fixed kind: s as fp32 kind; applied as the fixed-point multiplier
//               QuantizeMultiplier(1 / s) (TFLite), see Apply below.
//   Then s is clamped into [2^-126, 2^127] (an all-zero group gets 2^-126
//   from R = 0, so zeros map to zero and no scale is subnormal or zero).
//   zero point (asymmetric): zp = clamp(qmin - RNE(fp32(lo / s)), qmin, qmax).
//
// Applying it (quantise), per element x:
//   fp32 / pow2: q = Round(fp32(fp32(x) / s)) + zp: x converted to fp32
//       (exact for fp16/bf16/fp32 inputs; RNE for fp64), ONE fp32 division
//       rounded to nearest even, then the integer (or target-float) rounding
//       in the chosen mode, then + zp and saturation (or wrap).
//   fixed: x must be an int32 (accumulator) value;
//       q = MultiplyByQuantizedMultiplier(x, QuantizeMultiplier(1/s),
//       single|double rounding) + zp, saturated; the rounding mode option does
//       not apply (the fixed-point convention fixes it).
// Dequantise: y = Round((q - zp) * s) with the exact product and one
// rounding into the output float format (quant/requant.h semantics).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "quant/format.h"
#include "quant/requant.h"

namespace trisim::quant {

enum class Granularity : uint8_t { kNone, kTensor, kRow, kColumn, kBlock };
enum class ScaleKind : uint8_t { kFp32, kPow2, kFixed };

struct ScaleGrid {
  Granularity granularity = Granularity::kNone;
  int64_t block = 0;  // kBlock only
};
// "none", "tensor", "row", "col" (or "column"), "block:B" with B >= 1.
ScaleGrid ParseScaleGrid(const std::string& text,
                         const std::string& what = "--scale");
std::string ScaleGridName(const ScaleGrid& grid);
ScaleKind ParseScaleKind(const std::string& text,
                         const std::string& what = "--scale-kind");
const char* ScaleKindName(ScaleKind kind);

// The matrix view of an array shape (see the top of the file).
void MatrixView(const std::vector<int64_t>& shape, int64_t* rows,
                int64_t* cols);

struct GroupLayout {
  int64_t rows = 0, cols = 0;
  int64_t group_rows = 0, group_cols = 0;  // size of one group
  int64_t grid_rows = 0, grid_cols = 0;    // number of groups each way
  int64_t NumGroups() const { return grid_rows * grid_cols; }
  int64_t GroupOf(int64_t i, int64_t j) const {
    return (i / group_rows) * grid_cols + j / group_cols;
  }
};
// Throws InputError (naming `what`) if a block size does not divide the
// matrix. kNone behaves as kTensor with scale 1.
GroupLayout MakeGroupLayout(const ScaleGrid& grid, int64_t rows, int64_t cols,
                            const std::string& what = "--scale");

// The groups of a cube operand or result view (sim/cube.h, executor.h): a
// block larger than the view covers it whole in that dimension (a 16 x 16
// block on an 8 x 8 view is one 8 x 8 group); kNone/kTensor is one group.
// The clamped block must divide the view (asserted: plans are checked
// against the recipe's block before they run).
GroupLayout MakeViewGroupLayout(const ScaleGrid& grid, int64_t rows,
                                int64_t cols);

// The symmetric fp32 scale of a group from its finite amax:
// fp32(amax) / fp32(qmax) in one fp32 division, clamped into [2^-126, 2^127]
// (ComputeScale's rule with a full mantissa, for any qmax, e.g. emulated
// int16's 32639).
float AmaxScale(double amax, double qmax);

// AmaxScale of every group of a row-major matrix (`stride` doubles between
// rows), in group-grid row-major order. Non-finite values are ignored.
// `row_amax`, if given, computes max |x| over finite x of one row segment (a
// SIMD version, bit-identical to the scalar loop).
std::vector<float> GroupAmaxScales(const double* data, int64_t stride,
                                   const GroupLayout& layout, double qmax,
                                   double (*row_amax)(const double* x,
                                                      size_t n) = nullptr);

struct ScaleSpec {
  ScaleGrid grid;
  ScaleKind kind = ScaleKind::kFp32;
  int mantissa_bits = 23;  // fp32 kind: fraction bits kept (23 = all)
  bool asymmetric = false;
  FixedRounding fixed_rounding = FixedRounding::kDouble;
};

struct GroupScale {
  float scale = 1.0f;
  int32_t zero_point = 0;
  FixedMultiplier reciprocal;  // kFixed: QuantizeMultiplier(1 / scale)
};

// Scale of one group from its finite min and max (see the top of the file).
GroupScale ComputeScale(double min_x, double max_x, Format target,
                        const ScaleSpec& spec);

}  // namespace trisim::quant
