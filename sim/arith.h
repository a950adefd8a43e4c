// Exact arithmetic helpers of the scalar reference machine.
//
// The machine keeps every stored value as a double holding exactly the value
// of its format (fp16/bf16/fp32/hf32 all embed in binary64). Each rounding
// goes through quant::RoundToFloat on the EXACT value, so there is never a
// hidden double rounding. Two exact building blocks make that possible:
//  - ExactSum: a fixed-point (Kulisch) accumulator that adds doubles with no
//    rounding at all, for "sum these products exactly, then round once";
//  - ExactScaled: int64 x fp32 as a quant::Exact even when the product has
//    more than 64 significant bits (low bits folded into a sticky bit).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "quant/format.h"
#include "quant/round.h"

namespace trisim {

// Kulisch accumulator: a 2304-bit two's complement fixed-point number with
// its least significant bit at 2^-1152, enough for any finite double
// (2^-1074 .. 2^1024) and 2^100 of them.
class ExactSum {
 public:
  void Add(double x);  // x finite
  bool IsZero() const;
  // The exact sum, its mantissa cut to 64 bits with a sticky bit ORed into
  // the lowest one: correct for rounding to any format of <= 62 bits.
  quant::Exact Value() const;

 private:
  static constexpr int kWords = 36;
  static constexpr int kLsbExponent = -1152;
  std::array<uint64_t, kWords> words_{};
};

// x * scale as an Exact (sticky-folded when wider than 64 bits).
quant::Exact ExactScaled(int64_t x, float scale);

// Rounds a finite-or-not double to a float format and returns the value as
// a double. Counts events. Stochastic rounding draws its bits from
// (seed, tensor, index).
struct Rounder {
  quant::FloatRounding rounding;
  uint64_t seed = 0;

  double Round(double x, quant::Format format, uint64_t tensor, uint64_t index,
               quant::EventCounts* events) const;
  double Round(const quant::Exact& x, quant::Format format, uint64_t tensor,
               uint64_t index, quant::EventCounts* events) const;

  // Fast path (quant/round_simd.h), bit-identical to the Round above:
  // out[i] = Round(x[i], format, tensor, index0 + i * index_step) for i < n.
  void RoundValues(const double* x, size_t n, quant::Format format,
                   uint64_t tensor, uint64_t index0, uint64_t index_step,
                   double* out, quant::EventCounts* events) const;
  double RoundFast(double x, quant::Format format, uint64_t tensor,
                   uint64_t index, quant::EventCounts* events) const;

  // The stochastic-rounding bits of element `index` of `tensor` (0 for the
  // deterministic modes, which ignore them).
  uint64_t RandomBits(uint64_t tensor, uint64_t index) const;
};

}  // namespace trisim
