#include "quant/split.h"

#include <cmath>

#include "core/status.h"

namespace trisim::quant {
namespace {

constexpr SplitInfo kSplits[kNumOperandSplits] = {
    {OperandSplit::kNone, Format::kFp32, ""},
    {OperandSplit::kTf32x3, Format::kTf32,
     "triton-lang/triton lib/Dialect/TritonGPU/Transforms/F32DotTC.cpp "
     "(TF32x3); NVIDIA/cutlass discussion 385"},
    {OperandSplit::kBf16x3, Format::kBf16,
     "triton-lang/triton lib/Dialect/TritonGPU/Transforms/F32DotTC.cpp "
     "(BF16xN, BF16x3); Henry, Tang & Heinecke, arXiv:1904.06376"},
};

}  // namespace

const SplitInfo& GetSplitInfo(OperandSplit split) {
  const SplitInfo& info = kSplits[static_cast<int>(split)];
  TRISIM_ASSERT(info.split == split);
  return info;
}

SplitParts SplitFp32(double x, OperandSplit split,
                     const FloatRounding& rounding, uint64_t random_hi,
                     uint64_t random_lo, EventCounts* events) {
  TRISIM_ASSERT(split != OperandSplit::kNone);
  const Format part = GetSplitInfo(split).part;
  SplitParts p;
  p.hi = DecodeFloat(RoundToFloat(x, part, rounding, random_hi, events), part);
  if (!std::isfinite(x) || !std::isfinite(p.hi)) {
    // inf - inf = NaN, x - inf = -inf: the device's fp32 subtraction.
    p.lo = x - p.hi;
    return p;
  }
  // Exact: see split.h.
  const double rest = x - p.hi;
  p.lo =
      DecodeFloat(RoundToFloat(rest, part, rounding, random_lo, events), part);
  return p;
}

}  // namespace trisim::quant
