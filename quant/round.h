// Rounding an exact value into a number format (quant/format.h), bit for bit.
//
// One core routine does all of it: the value to round is taken as an exact
// binary number (-1)^s * M * 2^e with a 64-bit integer M (Exact), which holds
// every fp32/fp64 value, every int64 and every product int32 x fp32 without
// error. It is rounded ONCE to a multiple of the target's quantum 2^q (q from
// the value's exponent for floats, q = 0 for integers), so there is never a
// double rounding: fp32 -> fp16 through this path is the IEEE 754 conversion.
//
// Rounding decision (RoundMagnitude in round.cc): |x| / 2^q = n + f with an
// integer n and f in [0, 1) held as a 64-bit fraction F = floor(f * 2^64)
// plus a sticky bit for anything below 2^-64:
//   nearest-even  n+1 if f > 1/2, or f == 1/2 and n odd
//   nearest-away  n+1 if f >= 1/2
//   toward-zero   n
//   toward-pos    n+1 if f > 0 and x > 0     (toward +inf)
//   toward-neg    n+1 if f > 0 and x < 0     (toward -inf)
//   to-odd        n | 1 if f > 0             (Boldo & Melquiond's round-to-odd)
//   stochastic    n+1 if R < F, R = StochasticBits(seed, tensor, index), so
//                 P(up) = F / 2^64 = f exactly when f has at most 64 bits
//                 (every case here but values far below the quantum, where
//                 the sticky part, < 2^-64 of a quantum, is dropped).
//
// Float range (IEEE 754-2019 section 7.4 unless a policy says otherwise):
//  - overflow (rounded magnitude > max finite): FloatOverflow::kIeee gives inf
//    in nearest/stochastic modes and in the directed mode rounding away from
//    zero, and max finite when the mode rounds toward zero (toward-zero,
//    to-odd, toward-pos for x < 0, toward-neg for x > 0); e4m3 has no inf and
//    gives NaN instead (OCP FP8 spec, non-saturating mode).
//    FloatOverflow::kSaturate gives +-max finite, also for +-inf inputs
//    (like PTX cvt.satfinite and OCP's saturating mode).
//  - subnormal results: kept, or with Subnormals::kFlush flushed to a
//    same-signed zero when the EXACT value is below the min normal (tininess
//    before rounding, as Arm FPCR.FZ).
//  - NaN in: a quiet NaN with the input's sign and the top payload bits (x86
//    F16C / Arm with default-NaN off); e4m3: S.1111.111.
// Every such event is counted in EventCounts, never thrown.
#pragma once

#include <cstdint>
#include <string>

#include "core/names.h"
#include "quant/format.h"

namespace trisim::quant {

enum class RoundingMode : uint8_t {
  kNearestEven,
  kNearestAway,
  kTowardZero,
  kTowardPosInf,
  kTowardNegInf,
  kToOdd,
  kStochastic,
};
constexpr int kNumRoundingModes = 7;

// Canonical names: nearest-even, nearest-away, toward-zero, toward-pos,
// toward-neg, to-odd, stochastic; short aliases rne, rna, rtz, rtp, rtn, rto,
// sr are accepted too.
RoundingMode ParseRoundingMode(const std::string& name,
                               const std::string& what = "--rounding");
const char* RoundingModeName(RoundingMode mode);
std::string AllRoundingModeNames();

enum class Subnormals : uint8_t { kKeep, kFlush };
enum class FloatOverflow : uint8_t { kIeee, kSaturate };
enum class IntOverflow : uint8_t { kSaturate, kWrap };
// The names users spell them with (recipe files, stage manifests).
inline constexpr EnumName<FloatOverflow> kFloatOverflowNames[] = {
    {FloatOverflow::kIeee, "ieee"}, {FloatOverflow::kSaturate, "saturate"}};
inline constexpr EnumName<IntOverflow> kIntOverflowNames[] = {
    {IntOverflow::kWrap, "wrap"}, {IntOverflow::kSaturate, "saturate"}};

// Numerical events, counted per element. Mergeable (house style 8), so
// threads combine their counts deterministically.
struct EventCounts {
  int64_t saturated =
      0;                // clamped to the format's max/min by a saturate policy
  int64_t wrapped = 0;  // integer out of range, wrapped modulo 2^bits
  int64_t overflowed =
      0;  // float overflow under kIeee (inf, NaN or max finite)
  int64_t flushed_in = 0;    // subnormal input read as zero
  int64_t flushed_out = 0;   // tiny result flushed to zero
  int64_t nonfinite_in = 0;  // NaN or inf input
  int64_t inexact = 0;       // result differs from the exact value

  void Assimilate(const EventCounts& other);
  bool operator==(const EventCounts& other) const;
};

// (-1)^negative * mantissa * 2^exponent, exactly.
struct Exact {
  bool negative = false;
  uint64_t mantissa = 0;
  int exponent = 0;
};
// Requires a finite x.
Exact ExactFromDouble(double x);
Exact ExactFromInt(int64_t x);
// The exact product; requires the mantissas' bit lengths to sum to at most 64
// (asserted): int32 x fp32, (int32 - zero point) x fp32, fp32 x fp32 fit.
Exact ExactProduct(const Exact& a, const Exact& b);

struct FloatRounding {
  RoundingMode mode = RoundingMode::kNearestEven;
  Subnormals subnormals_out = Subnormals::kKeep;
  FloatOverflow overflow = FloatOverflow::kIeee;
};

// The rounding actually applied into `format`: `requested`, except that a
// format with a fixed conversion (FormatInfo::conversion; tf32 is
// nearest-away, PTX cvt.rna.tf32.f32) replaces the mode. Every rounding
// entry point below (and quant/round_simd.h) applies it first.
FloatRounding ConversionRounding(Format format, const FloatRounding& requested);

// True if rounding any finite value of float format `held` into float
// format `format` under `rounding` is the identity with no event: every
// finite value of `held` is a value of `format` (p_held <= p, emin_held >=
// emin, max_finite_held <= max_finite: each binade's quantum of `held` is a
// multiple of `format`'s) and, when `format` flushes subnormal results, no
// value of `held` is subnormal in `format`. An exact value never rounds
// (every mode, stochastic included, keeps it) and cannot overflow. Non-finite
// values are not covered (they count nonfinite_in). Integer formats: false.
bool RoundingIsIdentity(Format held, Format format,
                        const FloatRounding& rounding);

// Rounds to `format` (a float format) and returns its stored code (for hf32
// and tf32 the binary32 word). `random` is used only by kStochastic.
uint32_t RoundToFloat(const Exact& x, Format format,
                      const FloatRounding& rounding, uint64_t random,
                      EventCounts* events);
// Same for a double, including NaN and +-inf (see the top of this file).
uint32_t RoundToFloat(double x, Format format, const FloatRounding& rounding,
                      uint64_t random, EventCounts* events);
// Exact decode of a stored code (NaN payloads are not kept).
double DecodeFloat(uint32_t code, Format format);

struct IntRounding {
  RoundingMode mode = RoundingMode::kNearestEven;
  IntOverflow overflow = IntOverflow::kSaturate;
};

// Rounds to an integer of `format` (an integer format), then saturates or
// wraps into its range.
int64_t RoundToInt(const Exact& x, Format format, const IntRounding& rounding,
                   uint64_t random, EventCounts* events);
// For a double. Non-finite inputs are counted and saturated (+inf -> max,
// -inf -> min, NaN -> 0); callers that must reject them check first.
int64_t RoundToInt(double x, Format format, const IntRounding& rounding,
                   uint64_t random, EventCounts* events);

// The random bits of stochastic rounding: a counter-based hash of
// (seed, tensor id, element index), so a result never depends on thread
// count, SIMD width or evaluation order. Three chained SplitMix64 finalisers
// (Steele, Lea & Flood, "Fast splittable pseudorandom number generators",
// OOPSLA 2014): Mix(Mix(Mix(seed) ^ tensor) ^ index).
uint64_t StochasticBits(uint64_t seed, uint64_t tensor_id, uint64_t index);

}  // namespace trisim::quant
