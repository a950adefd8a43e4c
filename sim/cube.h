// The cube (matrix) unit. PrepareOperandReference and CubeMatMulReference
// (cube.cc) are the bit-accurate scalar reference: the specification below.
// PrepareOperand and CubeMatMul run the SIMD fast path (sim/cube_simd.h,
// quant/round_simd.h), bit-identical in values and event counts, unless
// CubeConfig::scalar asks for the reference (tests/cube_simd_test.cc).
//
// Float operands (fp16, bf16, hf32, fp32), fp32 accumulator:
//   The fractal depth k0 = 32 bytes / operand size (16 for 16-bit operands,
//   8 for fp32/hf32), as the 16 x 32-byte fractals of NPU.md.
//   The accumulator starts at +0 and adds in k order, term after term (a
//   step's several products share one accumulator). Inside the cube every
//   fp32 rounding is round-to-nearest-even (the recipe's rounding mode
//   governs conversions, not the adders):
//     sequential  acc = RNE32(acc + a*b)        per k, product exact (fused)
//     fractal     partial = RNE32(exact sum of the k0 products of a fractal)
//                 acc = RNE32(acc + partial)    per fractal (the last one of
//                 a term may be shorter)
//   Leaving the accumulator (FIXPIPE): out = Round(sign * acc) to the output
//   format with the recipe's rounding (sign is exact: a kernel negates an
//   operand).
//   Non-finite operands: products and sums follow IEEE (inf/NaN propagate).
//
// Split operands (recipe operand_split = tf32x3 | bf16x3, quant/split.h):
//   Each operand value x is first an fp32 value (Round32), then hi/lo parts
//   of the split's part format (k0 from the part's size: 8 for tf32, 16 for
//   bf16). Each product term a*b of a step becomes Triton's three dots:
//     t = +0; t += lo_a*hi_b; t += hi_a*lo_b; if t is NaN: t = +0;
//     t += hi_a*hi_b;  acc = RNE32(acc + t)
//   where each `t += p*q` is the whole-K accumulation above (sequential or
//   fractal, part products exact in fp32), and acc starts at +0 as before.
//
// Integer operands (int4, int8, int16), int32/48/64 accumulator:
//   Quantisation per operand (PrepareOperand): groups of the operand view
//   (the whole view for a tensor scale; b x b tiles, or the view if smaller,
//   for block:b); per group s = fp32(amax) / fp32(qmax) (one fp32 division,
//   quant::ComputeScale, full fp32 mantissa), q = Round(fp32(fp32(x) / s))
//   saturated to [-qmax, qmax] (qmax = 7, 127, 32767; 32639 for emulated
//   int16, see below). Non-finite x saturate (counted), NaN -> 0.
//   Products accumulate exactly in k order inside a k-group, the run of k
//   where both operands' scales are constant (the whole K for tensor scales,
//   the block for block scales), with the accumulator checked after every
//   add: out of range wraps or saturates (recipe) and is counted.
//   Emulated int16 (int8 cube): q = 256 hi + lo with lo in [-128, 127] and
//   hi in [-127, 127] (hence qmax = 32639 = 127 * 256 + 127), four int8
//   products hi*hi, hi*lo, lo*hi, lo*lo each in its own int32 accumulator,
//   recombined exactly: 65536 hh + 256 (hl + lh) + ll.
//   Each k-group's integer sum I leaves with the dequant scale
//   d = TruncateMantissa(RNE32(s_a * s_b), scale_mantissa_bits):
//     one k-group in the whole step: out = Round(sign * I * d)  (one rounding
//                                    from the exact product, FIXPIPE dequant)
//     several: p = Round32(I * d) each, sum = RNE32(sum + p) in order from
//              sum = +0, then out = Round(sign * sum)
//   Signs follow IEEE 754 on the exact values: sign * (+0) = -0 for sign < 0,
//   in the float and the integer path alike.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "quant/format.h"
#include "quant/round.h"
#include "quant/rounder.h"
#include "quant/split.h"
#include "sim/arith.h"
#include "sim/recipe.h"

namespace trisim {

// A matrix as the cube sees it.
struct CubeOperand {
  int rows = 0;
  int cols = 0;
  std::vector<double> values;  // float operands: rounded values, row-major
                               // (split operands: the hi parts)
  std::vector<double> lo;      // split operands: the lo parts, row-major
  std::vector<int32_t> codes;  // integer operands: quantised values
  // Fast path (sim/cube_simd.h SplitCodes): the int8 pieces of codes the
  // int8 cube multiplies, row-major; code_hi only for emulated int16. Empty
  // when not split (the reference, or a code outside int16).
  std::vector<int8_t> code_lo, code_hi;
  int group_rows = 0;  // integer operands: scale group shape
  int group_cols = 0;
  std::vector<float> scales;  // (rows/group_rows) x (cols/group_cols)

  bool HasPieces(bool emulated) const {
    return !codes.empty() && code_lo.size() == codes.size() &&
           (!emulated || code_hi.size() == codes.size());
  }
  float ScaleAt(int i, int j) const {
    return scales[(i / group_rows) * (cols / group_cols) + j / group_cols];
  }
};

// The cube's settings, from a recipe.
struct CubeConfig {
  quant::Format operand = quant::Format::kFp16;  // a split's part format
  quant::OperandSplit split = quant::OperandSplit::kNone;
  quant::ScaleGrid operand_scale{quant::Granularity::kTensor, 0};
  Int16Cube int16 = Int16Cube::kEmulated;
  quant::Format accumulator = quant::Format::kFp32;
  AccumulationOrder order = AccumulationOrder::kFractal;
  quant::IntOverflow accumulator_overflow = quant::IntOverflow::kWrap;
  int scale_mantissa_bits = 10;
  quant::Rounder rounder;  // conversions: operand rounding, quantisation,
                           // FIXPIPE
  bool scalar = false;     // run the scalar reference (sim/executor.h
                           // ExecOptions::scalar; also rounder.scalar)

  // `scalar`: the caller's setting (sim/executor.h ExecOptions::scalar).
  static CubeConfig FromRecipe(const Recipe& recipe, uint64_t seed,
                               bool scalar);
  bool Integer() const { return !quant::IsFloat(operand); }
  // int16 operands multiplied as four int8 Mmads (Int16Cube::kEmulated).
  bool EmulatedInt16() const {
    return operand == quant::Format::kInt16 && int16 == Int16Cube::kEmulated;
  }
  // Largest code magnitude of an integer operand.
  int32_t QMax() const;
  // Fractal depth k0 for float operands.
  int FractalDepth() const;
};

// Rounds or quantises `rows x cols` stored values (row-major with `stride`)
// into an operand. `tensor` keys stochastic rounding.
CubeOperand PrepareOperand(const double* data, int rows, int cols, int stride,
                           const CubeConfig& config, uint64_t tensor,
                           quant::EventCounts* events);
// The same into `op`, reusing its storage (no allocation once it has held an
// operand of this size). `held`: the float format every stored value is a
// value of (a plan buffer's format), if known; rounding into an operand
// format that holds them is then a copy (quant::Rounder::RoundHeldValues),
// with the same values and events.
void PrepareOperandInto(const double* data, int rows, int cols, int stride,
                        const CubeConfig& config, uint64_t tensor,
                        quant::EventCounts* events,
                        std::optional<quant::Format> held, CubeOperand* op);
CubeOperand PrepareOperandReference(const double* data, int rows, int cols,
                                    int stride, const CubeConfig& config,
                                    uint64_t tensor,
                                    quant::EventCounts* events);

struct CubeTerm {
  const CubeOperand* a;
  const CubeOperand* b;
};

// For the FIXPIPE requantisation path: true when the step is an integer
// matmul whose every element is one k-group (one int accumulator, one
// dequant scale d), and then fills integer[i*n+j] = sign * I and
// scale[i*n+j] = d. Accumulator events are not counted here (CubeMatMul
// counts them). False too when a scale product overflowed fp32 (d = inf:
// no exact requantisation; the caller stores the fp32 results).
bool IntegerAccumulatorsForRequant(const std::vector<CubeTerm>& terms,
                                   double sign, const CubeConfig& config,
                                   std::vector<int64_t>* integer,
                                   std::vector<float>* scale);

// out = sign * sum_p a_p b_p, each element rounded to `out_format` (a float
// format); out is row-major with `out_stride`.
void CubeMatMul(const std::vector<CubeTerm>& terms, double sign,
                const CubeConfig& config, quant::Format out_format, double* out,
                int out_stride, uint64_t tensor, quant::EventCounts* events);
// A kernel Mmad (core/plan.h kMmad): the accumulator continues from init
// (row-major, init_stride; the value an earlier Mmad left, TMATMUL_ACC) or
// starts at +0 (init null, TMATMUL), adds the terms' products, and stays in
// the accumulator: acc receives the accumulator values, nothing is rounded to
// an output format (that happens at the store, FIXPIPE). acc may alias init.
//  Float operands, fp32 accumulator: the products in the order above.
//  Integer operands (the "dequantising accumulate" of the neumann pto kernel,
//  core/kernels/neumann_pto.cc): the several-k-group rule above continued
//  from init: for each term in order and each of its k-groups in k order,
//  the exact integer sum I (accumulator range checked as above) is
//  dequantised p = Round32(I * d) and added, acc = RNE32(acc + p); acc is
//  an fp32 value. `tensor` keys stochastic rounding of p (partial q of
//  element e: index e * groups + q), `events` counts (may be null only for
//  float operands).
void CubeMmad(const std::vector<CubeTerm>& terms, const double* init,
              int init_stride, const CubeConfig& config, double* acc,
              int acc_stride, uint64_t tensor = 0,
              quant::EventCounts* events = nullptr);

void CubeMatMulReference(const std::vector<CubeTerm>& terms, double sign,
                         const CubeConfig& config, quant::Format out_format,
                         double* out, int out_stride, uint64_t tensor,
                         quant::EventCounts* events);

}  // namespace trisim
