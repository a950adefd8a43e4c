// Split-precision operands (recipe: operand_split = "tf32x3" with operand =
// "tf32", or "bf16x3" with "bf16"): an fp32 operand carried as a sum of two
// parts of a narrower format so that three narrow products recover most of an
// fp32 product on a tensor core / cube that takes only the narrow format. Each
// split is declared once in the table of split.cc.
//
//   tf32x3  hi = tf32(x) (PTX cvt.rna.tf32.f32), lo = tf32(x - hi)
//   bf16x3  hi = bf16(x),                         lo = bf16(x - hi)
// x is the fp32 operand value; x - hi is exact in fp32 (both are fp32 values
// of the same binade or hi is the next power of two, and |x - hi| is at most
// half a part-format ulp of x, a multiple of x's fp32 ulp), so lo is the one
// further rounding. Rounding into the part follows the part format's
// conversion (quant/format.h: tf32 is always nearest-away; bf16 takes the
// recipe's mode, nearest-even by default as Triton's arith.truncf).
//
// The three products and their order (triton-lang/triton,
// lib/Dialect/TritonGPU/Transforms/F32DotTC.cpp, class TF32x3 and BF16xN
// with N = 2 parts for BF16x3; FLA_TRIL_PRECISION=tf32x3 in
// fla/ops/utils/solve_tril.py reaches this through tl.dot):
//   t = +0
//   t += lo_a * hi_b      (one tf32/bf16 dot over the whole K)
//   t += hi_a * lo_b
//   if t is NaN: t = +0   (replaceNansWithZeros: x = inf gives lo = NaN)
//   t += hi_a * hi_b
//   result = t + C        (C, the dot's incoming accumulator, added last)
// sim/cube.h executes exactly this per product term.
//
// Assumption (open in the public sources): Triton passes lo = x - hi to the
// tf32 MMA as an unconverted fp32 register; this model rounds it into tf32
// with cvt.rna like hi (the tensor core's reading of the low 13 bits of an
// fp32 register is not specified by PTX).
#pragma once

#include <cstdint>
#include <string>

#include "core/names.h"
#include "quant/format.h"
#include "quant/round.h"

namespace trisim::quant {

enum class OperandSplit : uint8_t { kNone, kTf32x3, kBf16x3 };
constexpr int kNumOperandSplits = 3;
// The recipe key operand_split's values (core/names.h).
inline constexpr EnumName<OperandSplit> kOperandSplitNames[] = {
    {OperandSplit::kNone, "none"},
    {OperandSplit::kTf32x3, "tf32x3"},
    {OperandSplit::kBf16x3, "bf16x3"}};

struct SplitInfo {
  OperandSplit split;
  Format part;  // format of hi and lo (what the MMA takes)
  const char* source;
};

const SplitInfo& GetSplitInfo(OperandSplit split);
inline const char* OperandSplitName(OperandSplit split) {
  return NameOf(kOperandSplitNames, split);
}

// One product of a split term: which part of a and of b (0 = hi, 1 = lo).
struct SplitProduct {
  int a_part;
  int b_part;
};
// The products in accumulation order; the accumulator's NaNs are replaced by
// +0 after kSplitNanMaskAfter of them (see the top of this file).
constexpr int kSplitProducts = 3;
constexpr SplitProduct kSplitProductOrder[kSplitProducts] = {
    {1, 0}, {0, 1}, {0, 0}};
constexpr int kSplitNanMaskAfter = 2;

struct SplitParts {
  double hi = 0.0;
  double lo = 0.0;
};

// Splits x (an fp32 value, or inf/NaN) into its parts. Rounding events of
// hi and lo are counted; `random_hi` / `random_lo` feed stochastic rounding
// when the part format takes the recipe's mode. Non-finite x or hi: lo is
// x - hi in IEEE arithmetic (NaN for x = +-inf), as on the device.
SplitParts SplitFp32(double x, OperandSplit split,
                     const FloatRounding& rounding, uint64_t random_hi,
                     uint64_t random_lo, EventCounts* events);

}  // namespace trisim::quant
