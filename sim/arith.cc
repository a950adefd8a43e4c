#include "sim/arith.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/status.h"
#include "quant/round_simd.h"

namespace trisim {

namespace {

int BitLength(uint64_t m) { return m == 0 ? 0 : 64 - __builtin_clzll(m); }

}  // namespace

void ExactSum::Add(double x) {
  if (x == 0.0) return;
  TRISIM_ASSERT(std::isfinite(x));
  int e;
  const double fraction = std::frexp(std::abs(x), &e);  // in [0.5, 1)
  // |x| = m * 2^(e - 53) with a 53-bit integer m (exact, also subnormals).
  const uint64_t m = static_cast<uint64_t>(std::ldexp(fraction, 53));
  const int position = e - 53 - kLsbExponent;  // bit index of m's LSB
  TRISIM_ASSERT(position >= 0 && position / 64 + 2 < kWords);
  const int word = position / 64;
  const int shift = position % 64;
  // m << shift spans two words (three with the carry).
  const unsigned __int128 wide = static_cast<unsigned __int128>(m) << shift;
  uint64_t parts[2] = {static_cast<uint64_t>(wide),
                       static_cast<uint64_t>(wide >> 64)};
  if (x > 0) {
    unsigned carry = 0;
    for (int i = word; i < kWords; ++i) {
      const uint64_t add = i - word < 2 ? parts[i - word] : 0;
      const unsigned __int128 s =
          static_cast<unsigned __int128>(words_[i]) + add + carry;
      words_[i] = static_cast<uint64_t>(s);
      carry = static_cast<unsigned>(s >> 64);
      if (i - word >= 1 && carry == 0) break;
    }
  } else {
    unsigned borrow = 0;
    for (int i = word; i < kWords; ++i) {
      const uint64_t sub = i - word < 2 ? parts[i - word] : 0;
      const uint64_t before = words_[i];
      const uint64_t after = before - sub - borrow;
      borrow = (before < sub || (before - sub) < borrow) ? 1 : 0;
      words_[i] = after;
      if (i - word >= 1 && borrow == 0) break;
    }
  }
}

bool ExactSum::IsZero() const {
  for (uint64_t w : words_) {
    if (w != 0) return false;
  }
  return true;
}

quant::Exact ExactSum::Value() const {
  quant::Exact out;
  std::array<uint64_t, kWords> mag = words_;
  out.negative = (mag[kWords - 1] >> 63) != 0;
  if (out.negative) {  // two's complement negate
    unsigned carry = 1;
    for (auto& w : mag) {
      const unsigned __int128 s = static_cast<unsigned __int128>(~w) + carry;
      w = static_cast<uint64_t>(s);
      carry = static_cast<unsigned>(s >> 64);
    }
  }
  int top = kWords - 1;
  while (top >= 0 && mag[top] == 0) --top;
  if (top < 0) return out;  // zero
  // Highest set bit, then the 64 bits from it down, the rest as sticky.
  const int top_bit = top * 64 + BitLength(mag[top]) - 1;
  const int low_bit = top_bit - 63;  // may be negative near the bottom
  uint64_t mantissa = 0;
  bool sticky = false;
  for (int w = 0; w <= top; ++w) {
    if (mag[w] == 0) continue;
    for (int b = 0; b < 64; ++b) {
      if (!((mag[w] >> b) & 1)) continue;
      const int bit = w * 64 + b;
      if (bit >= low_bit) {
        mantissa |= uint64_t{1} << (bit - low_bit);
      } else {
        sticky = true;
      }
    }
  }
  if (low_bit < 0) {
    // Fewer than 64 bits exist below the top: keep them unshifted.
    mantissa >>= -low_bit;
    out.mantissa = mantissa;
    out.exponent = kLsbExponent;
    return out;
  }
  out.mantissa = mantissa | (sticky ? 1 : 0);
  out.exponent = low_bit + kLsbExponent;
  return out;
}

quant::Exact ExactScaled(int64_t x, float scale) {
  const quant::Exact s = quant::ExactFromDouble(scale);
  quant::Exact v = quant::ExactFromInt(x);
  // Make room: drop low bits of x into a sticky bit if the product would
  // exceed 64 bits. Sound for rounding to <= 24-bit formats (the cut is
  // far below the rounding point).
  const int excess = BitLength(v.mantissa) + BitLength(s.mantissa) - 64;
  if (excess > 0) {
    const bool sticky = (v.mantissa & ((uint64_t{1} << excess) - 1)) != 0;
    v.mantissa = (v.mantissa >> excess) | (sticky ? 1 : 0);
    v.exponent += excess;
  }
  return quant::ExactProduct(v, s);
}

}  // namespace trisim
