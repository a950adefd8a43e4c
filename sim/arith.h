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

}  // namespace trisim
