#include "quant/split.h"

#include <cmath>

#include "core/status.h"

namespace trisim::quant {
namespace {

constexpr SplitInfo kSplits[kNumOperandSplits] = {
    {OperandSplit::kNone, "none", Format::kFp32, ""},
    {OperandSplit::kTf32x3, "tf32x3", Format::kTf32,
     "triton-lang/triton lib/Dialect/TritonGPU/Transforms/F32DotTC.cpp "
     "(TF32x3); NVIDIA/cutlass discussion 385"},
    {OperandSplit::kBf16x3, "bf16x3", Format::kBf16,
     "triton-lang/triton lib/Dialect/TritonGPU/Transforms/F32DotTC.cpp "
     "(BF16xN, BF16x3); Henry, Tang & Heinecke, arXiv:1904.06376"},
};

}  // namespace

const SplitInfo& GetSplitInfo(OperandSplit split) {
  const SplitInfo& info = kSplits[static_cast<int>(split)];
  TRISIM_ASSERT(info.split == split);
  return info;
}

bool ParseOperandSplit(const std::string& name, OperandSplit* split) {
  for (const SplitInfo& s : kSplits) {
    if (s.split == OperandSplit::kNone) continue;
    // "3xtf32" is CUTLASS's spelling of the same split.
    const std::string part = FormatName(s.part);
    if (name == s.name || name == "3x" + part) {
      *split = s.split;
      return true;
    }
  }
  return false;
}

std::string AllOperandSplitNames() {
  std::string names;
  for (const SplitInfo& s : kSplits) {
    if (s.split == OperandSplit::kNone) continue;
    if (!names.empty()) names += ", ";
    names += s.name;
  }
  return names;
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
