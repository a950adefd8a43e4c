#include "quant/round.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "core/random.h"
#include "core/status.h"

namespace trisim::quant {
namespace {

struct ModeName {
  RoundingMode mode;
  const char* name;
  const char* alias;
};
constexpr ModeName kModeNames[kNumRoundingModes] = {
    {RoundingMode::kNearestEven, "nearest-even", "rne"},
    {RoundingMode::kNearestAway, "nearest-away", "rna"},
    {RoundingMode::kTowardZero, "toward-zero", "rtz"},
    {RoundingMode::kTowardPosInf, "toward-pos", "rtp"},
    {RoundingMode::kTowardNegInf, "toward-neg", "rtn"},
    {RoundingMode::kToOdd, "to-odd", "rto"},
    {RoundingMode::kStochastic, "stochastic", "sr"},
};

int BitLength(uint64_t m) { return m == 0 ? 0 : 64 - __builtin_clzll(m); }

// Rounds M * 2^e to an integer multiple n of 2^q, returns n (see the rule
// table in round.h). Requires the result to fit: M * 2^(e-q) < 2^63.
uint64_t RoundMagnitude(uint64_t m, int e, int q, RoundingMode mode,
                        bool negative, uint64_t random, bool* inexact) {
  const int s = q - e;  // bits below the quantum
  if (s <= 0) {
    *inexact = false;
    return m << -s;
  }
  uint64_t n, frac;  // frac: the discarded part as a 64-bit binary fraction
  bool sticky;       // anything below 2^-64 of a quantum
  if (s < 64) {
    n = m >> s;
    frac = m << (64 - s);
    sticky = false;
  } else if (s < 128) {
    n = 0;
    const int t = s - 64;
    frac = t == 0 ? m : m >> t;
    sticky = t != 0 && (m & ((uint64_t{1} << t) - 1)) != 0;
  } else {
    n = 0;
    frac = 0;
    sticky = m != 0;
  }
  *inexact = frac != 0 || sticky;
  constexpr uint64_t kHalf = uint64_t{1} << 63;
  bool up = false;
  switch (mode) {
    case RoundingMode::kNearestEven:
      up = frac > kHalf || (frac == kHalf && (sticky || (n & 1)));
      break;
    case RoundingMode::kNearestAway:
      up = frac >= kHalf;
      break;
    case RoundingMode::kTowardZero:
      break;
    case RoundingMode::kTowardPosInf:
      up = *inexact && !negative;
      break;
    case RoundingMode::kTowardNegInf:
      up = *inexact && negative;
      break;
    case RoundingMode::kToOdd:
      if (*inexact) n |= 1;
      break;
    case RoundingMode::kStochastic:
      up = random < frac;
      break;
  }
  return n + (up ? 1 : 0);
}

// Does this mode round toward zero for a value of this sign? (IEEE overflow:
// those modes give max finite instead of inf.)
bool RoundsTowardZero(RoundingMode mode, bool negative) {
  return mode == RoundingMode::kTowardZero || mode == RoundingMode::kToOdd ||
         (mode == RoundingMode::kTowardPosInf && negative) ||
         (mode == RoundingMode::kTowardNegInf && !negative);
}

// One SplitMix64 step: advance by the gamma, then the finaliser.
uint64_t Mix64(uint64_t z) { return trisim::Mix64(z + kSplitMix64Gamma); }

uint32_t SignBit(const FormatInfo& f) {
  return 1u << (f.exponent_bits + f.mantissa_bits);
}
uint32_t InfCode(const FormatInfo& f) {
  return ((1u << f.exponent_bits) - 1) << f.mantissa_bits;
}
uint32_t Store(const FormatInfo& f, uint32_t compact) {
  return compact << f.storage_shift;
}

}  // namespace

RoundingMode ParseRoundingMode(const std::string& name,
                               const std::string& what) {
  for (const ModeName& m : kModeNames) {
    if (name == m.name || name == m.alias) return m.mode;
  }
  throw InputError(what + ": unknown rounding mode '" + name +
                   "' (allowed: " + AllRoundingModeNames() + ")");
}

const char* RoundingModeName(RoundingMode mode) {
  return kModeNames[static_cast<int>(mode)].name;
}

std::string AllRoundingModeNames() {
  std::string names;
  for (const ModeName& m : kModeNames) {
    if (!names.empty()) names += ", ";
    names += std::string(m.name) + " (" + m.alias + ")";
  }
  return names;
}

void EventCounts::Assimilate(const EventCounts& o) {
  saturated += o.saturated;
  wrapped += o.wrapped;
  overflowed += o.overflowed;
  flushed_in += o.flushed_in;
  flushed_out += o.flushed_out;
  nonfinite_in += o.nonfinite_in;
  inexact += o.inexact;
}

bool EventCounts::operator==(const EventCounts& o) const {
  return saturated == o.saturated && wrapped == o.wrapped &&
         overflowed == o.overflowed && flushed_in == o.flushed_in &&
         flushed_out == o.flushed_out && nonfinite_in == o.nonfinite_in &&
         inexact == o.inexact;
}

Exact ExactFromDouble(double x) {
  TRISIM_ASSERT(std::isfinite(x));
  uint64_t bits;
  std::memcpy(&bits, &x, sizeof bits);
  Exact v;
  v.negative = (bits >> 63) != 0;
  const int biased = static_cast<int>((bits >> 52) & 0x7ff);
  const uint64_t frac = bits & ((uint64_t{1} << 52) - 1);
  // binary64: value = 1.frac * 2^(biased-1023), or 0.frac * 2^-1022.
  v.mantissa = biased == 0 ? frac : frac | (uint64_t{1} << 52);
  v.exponent = (biased == 0 ? 1 : biased) - 1075;
  // Normalise to an odd mantissa, so an fp32 value has at most 24 bits and
  // ExactProduct's 32-bit bound holds for it.
  if (v.mantissa != 0) {
    const int tz = __builtin_ctzll(v.mantissa);
    v.mantissa >>= tz;
    v.exponent += tz;
  }
  return v;
}

Exact ExactFromInt(int64_t x) {
  Exact v;
  v.negative = x < 0;
  // Two's complement negation in unsigned arithmetic also covers INT64_MIN.
  v.mantissa = x < 0 ? ~static_cast<uint64_t>(x) + 1 : static_cast<uint64_t>(x);
  return v;
}

Exact ExactProduct(const Exact& a, const Exact& b) {
  TRISIM_ASSERT(BitLength(a.mantissa) + BitLength(b.mantissa) <= 64);
  Exact p;
  p.negative = a.negative != b.negative;
  p.mantissa = a.mantissa * b.mantissa;
  p.exponent = a.exponent + b.exponent;
  return p;
}

FloatRounding ConversionRounding(Format format,
                                 const FloatRounding& requested) {
  FloatRounding r = requested;
  switch (GetFormatInfo(format).conversion) {
    case Conversion::kAsRequested:
      break;
    case Conversion::kNearestAway:
      r.mode = RoundingMode::kNearestAway;
      break;
  }
  return r;
}

bool RoundingIsIdentity(Format held, Format format,
                        const FloatRounding& rounding) {
  const FormatInfo& h = GetFormatInfo(held);
  const FormatInfo& f = GetFormatInfo(format);
  if (!h.is_float || !f.is_float) return false;
  if (h.mantissa_bits > f.mantissa_bits || h.emin < f.emin ||
      h.max_finite > f.max_finite) {
    return false;
  }
  // The smallest subnormal of `held`, 2^(emin_h - p_h), must be a normal of
  // `format` when its subnormal results flush.
  return rounding.subnormals_out != Subnormals::kFlush ||
         h.emin - h.mantissa_bits >= f.emin;
}

uint32_t RoundToFloat(const Exact& x, Format format,
                      const FloatRounding& requested, uint64_t random,
                      EventCounts* events) {
  const FormatInfo& f = GetFormatInfo(format);
  TRISIM_ASSERT(f.is_float);
  const FloatRounding r = ConversionRounding(format, requested);
  const uint32_t sign = x.negative ? SignBit(f) : 0;
  if (x.mantissa == 0) return Store(f, sign);

  const int floor_log2 = BitLength(x.mantissa) - 1 + x.exponent;
  if (r.subnormals_out == Subnormals::kFlush && floor_log2 < f.emin) {
    ++events->flushed_out;
    ++events->inexact;
    return Store(f, sign);
  }
  bool overflow = floor_log2 > f.emax + 1;  // beyond reach of any rounding
  uint64_t code = 0;
  if (!overflow) {
    // Quantum of the binade holding |x| (subnormals share the min normal's).
    const int exp = std::max(floor_log2, f.emin);
    bool inexact;
    const uint64_t n =
        RoundMagnitude(x.mantissa, x.exponent, exp - f.mantissa_bits, r.mode,
                       x.negative, random, &inexact);
    events->inexact += inexact;
    // n has the implicit bit at position mantissa_bits for normals (and may
    // carry into the next binade); adding (exp + bias - 1) << mantissa_bits
    // yields the biased exponent field plus fraction, also for subnormals
    // (exp = emin: field 0 + n).
    code = (static_cast<uint64_t>(exp + f.bias - 1) << f.mantissa_bits) + n;
    overflow = code > f.max_finite_code;
  }
  if (!overflow) return Store(f, sign | static_cast<uint32_t>(code));

  if (r.overflow == FloatOverflow::kSaturate) {
    ++events->saturated;
    return Store(f, sign | f.max_finite_code);
  }
  ++events->overflowed;
  if (RoundsTowardZero(r.mode, x.negative))
    return Store(f, sign | f.max_finite_code);
  if (!f.has_inf) return Store(f, sign | (SignBit(f) - 1));  // e4m3: NaN
  return Store(f, sign | InfCode(f));
}

uint32_t RoundToFloat(double x, Format format, const FloatRounding& requested,
                      uint64_t random, EventCounts* events) {
  if (std::isfinite(x))
    return RoundToFloat(ExactFromDouble(x), format, requested, random, events);
  const FloatRounding r = ConversionRounding(format, requested);
  const FormatInfo& f = GetFormatInfo(format);
  TRISIM_ASSERT(f.is_float);
  ++events->nonfinite_in;
  const uint32_t sign = std::signbit(x) ? SignBit(f) : 0;
  if (std::isnan(x)) {
    if (!f.has_inf) return Store(f, sign | (SignBit(f) - 1));
    uint64_t bits;
    std::memcpy(&bits, &x, sizeof bits);
    const uint32_t quiet = 1u << (f.mantissa_bits - 1);
    const uint32_t payload = static_cast<uint32_t>(
        (bits & ((uint64_t{1} << 52) - 1)) >> (52 - f.mantissa_bits));
    return Store(f, sign | InfCode(f) | quiet | payload);
  }
  if (r.overflow == FloatOverflow::kSaturate) {
    ++events->saturated;
    return Store(f, sign | f.max_finite_code);
  }
  if (!f.has_inf) return Store(f, sign | (SignBit(f) - 1));
  return Store(f, sign | InfCode(f));
}

double DecodeFloat(uint32_t code, Format format) {
  const FormatInfo& f = GetFormatInfo(format);
  TRISIM_ASSERT(f.is_float);
  const uint32_t c = code >> f.storage_shift;
  const bool negative = (c & SignBit(f)) != 0;
  const uint32_t mag = c & (SignBit(f) - 1);
  const uint32_t field = mag >> f.mantissa_bits;
  const uint32_t frac = mag & ((1u << f.mantissa_bits) - 1);
  double v;
  if (mag > f.max_finite_code) {
    v = (f.has_inf && mag == InfCode(f))
            ? std::numeric_limits<double>::infinity()
            : std::numeric_limits<double>::quiet_NaN();
  } else if (field == 0) {
    v = std::ldexp(static_cast<double>(frac), f.emin - f.mantissa_bits);
  } else {
    v = std::ldexp(static_cast<double>(frac | (1u << f.mantissa_bits)),
                   static_cast<int>(field) - f.bias - f.mantissa_bits);
  }
  return negative ? -v : v;
}

int64_t RoundToInt(const Exact& x, Format format, const IntRounding& r,
                   uint64_t random, EventCounts* events) {
  const FormatInfo& f = GetFormatInfo(format);
  TRISIM_ASSERT(!f.is_float);
  // The rounded magnitude, or `huge` when it is >= 2^64 (then `low` keeps its
  // value modulo 2^64, which is all wrapping needs).
  uint64_t low;
  bool huge = false;
  // With a negative exponent, |x| < 2^(64 + exponent) <= 2^63 always fits.
  if (x.exponent >= 0) {
    huge = BitLength(x.mantissa) + x.exponent > 64;
    low = x.exponent >= 64 ? 0 : x.mantissa << x.exponent;
  } else {
    bool inexact;
    low = RoundMagnitude(x.mantissa, x.exponent, 0, r.mode, x.negative, random,
                         &inexact);
    events->inexact += inexact;
  }
  // Range check on the signed value -low or +low.
  const uint64_t max_mag = static_cast<uint64_t>(f.max_int);
  const uint64_t min_mag = ~static_cast<uint64_t>(f.min_int) + 1;  // |min|
  const bool in_range = !huge && (x.negative ? low <= min_mag : low <= max_mag);
  if (in_range) {
    return x.negative ? static_cast<int64_t>(~low + 1)
                      : static_cast<int64_t>(low);
  }
  if (r.overflow == IntOverflow::kSaturate) {
    ++events->saturated;
    return x.negative ? f.min_int : f.max_int;
  }
  ++events->wrapped;
  uint64_t v = x.negative ? ~low + 1 : low;  // value modulo 2^64
  if (f.storage_bits < 64) {
    v &= (uint64_t{1} << f.storage_bits) - 1;
    if (f.min_int < 0 && (v >> (f.storage_bits - 1)) != 0) {
      v |= ~((uint64_t{1} << f.storage_bits) - 1);  // sign-extend
    }
  }
  return static_cast<int64_t>(v);
}

int64_t RoundToInt(double x, Format format, const IntRounding& r,
                   uint64_t random, EventCounts* events) {
  if (std::isfinite(x))
    return RoundToInt(ExactFromDouble(x), format, r, random, events);
  const FormatInfo& f = GetFormatInfo(format);
  ++events->nonfinite_in;
  if (std::isnan(x)) return 0;
  ++events->saturated;
  return x > 0 ? f.max_int : f.min_int;
}

uint64_t StochasticBits(uint64_t seed, uint64_t tensor_id, uint64_t index) {
  return Mix64(Mix64(Mix64(seed) ^ tensor_id) ^ index);
}

}  // namespace trisim::quant
