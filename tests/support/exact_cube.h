// The independent exact cube model (the specification the cube model in
// sim/cube.h is proven against; issue 4 item 8), written differently from
// sim/cube.cc, sim/arith.cc and quant/ - see tests/cube_reference_test.cc for
// what "differently" means. Test-only: header-only, every function inline.
#ifndef TRISIM_TESTS_SUPPORT_EXACT_CUBE_H_
#define TRISIM_TESTS_SUPPORT_EXACT_CUBE_H_

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "quant/format.h"
#include "quant/round.h"
#include "quant/scale.h"
#include "sim/cube.h"
#include "sim/recipe.h"

namespace trisim {
namespace exact_cube {

using quant::Format;

// ---------------------------------------------------------------------------
// Exact dyadic numbers.

using Limbs = std::vector<uint32_t>;  // little-endian base 2^32, no leading 0

struct Dyadic {
  bool neg = false;
  Limbs mag;  // |value| = mag * 2^exp
  int exp = 0;
  bool IsZero() const { return mag.empty(); }
};

inline void Trim(Limbs* m) {
  while (!m->empty() && m->back() == 0) m->pop_back();
}

inline Dyadic FromMagnitude(bool neg, unsigned __int128 m, int exp) {
  Dyadic d;
  d.neg = neg;
  d.exp = exp;
  for (; m != 0; m >>= 32) d.mag.push_back(static_cast<uint32_t>(m));
  return d;
}

inline Dyadic FromInt(__int128 v) {
  const auto u = static_cast<unsigned __int128>(v);
  return FromMagnitude(v < 0, v < 0 ? ~u + 1 : u, 0);
}

// A finite double, read from its IEEE 754 binary64 fields.
inline Dyadic FromDouble(double x) {
  uint64_t bits;
  std::memcpy(&bits, &x, sizeof bits);
  const bool neg = (bits >> 63) != 0;
  const int field = static_cast<int>((bits >> 52) & 0x7ff);
  const uint64_t fraction = bits & ((uint64_t{1} << 52) - 1);
  if (field == 0x7ff) FAIL("FromDouble needs a finite value");
  if (field == 0) return FromMagnitude(neg, fraction, -1074);
  return FromMagnitude(neg, fraction | (uint64_t{1} << 52), field - 1075);
}

inline Limbs ShiftLeft(const Limbs& m, int s) {
  Limbs out(s / 32, 0);
  const int part = s % 32;
  uint32_t carry = 0;
  for (uint32_t limb : m) {
    out.push_back(part == 0 ? limb : (limb << part) | carry);
    carry = part == 0 ? 0 : limb >> (32 - part);
  }
  out.push_back(carry);
  Trim(&out);
  return out;
}

inline int Compare(const Limbs& a, const Limbs& b) {
  if (a.size() != b.size()) return a.size() < b.size() ? -1 : 1;
  for (size_t i = a.size(); i-- > 0;) {
    if (a[i] != b[i]) return a[i] < b[i] ? -1 : 1;
  }
  return 0;
}

inline Limbs AddMagnitudes(const Limbs& a, const Limbs& b) {
  Limbs out;
  uint64_t carry = 0;
  for (size_t i = 0; i < std::max(a.size(), b.size()); ++i) {
    const uint64_t s =
        carry + (i < a.size() ? a[i] : 0) + (i < b.size() ? b[i] : 0);
    out.push_back(static_cast<uint32_t>(s));
    carry = s >> 32;
  }
  out.push_back(static_cast<uint32_t>(carry));
  Trim(&out);
  return out;
}

// a - b for a >= b.
inline Limbs SubtractMagnitudes(const Limbs& a, const Limbs& b) {
  Limbs out;
  int64_t borrow = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    int64_t d = static_cast<int64_t>(a[i]) - (i < b.size() ? b[i] : 0) - borrow;
    borrow = d < 0 ? 1 : 0;
    out.push_back(static_cast<uint32_t>(d + (borrow << 32)));
  }
  Trim(&out);
  return out;
}

// The exact sum. Zero results follow IEEE 754 round-to-nearest: x + (-x) is
// +0, and -0 + -0 is -0.
inline Dyadic Add(const Dyadic& x, const Dyadic& y) {
  if (x.IsZero() && y.IsZero()) {
    Dyadic zero;
    zero.neg = x.neg && y.neg;
    return zero;
  }
  if (x.IsZero()) return y;
  if (y.IsZero()) return x;
  const int e = std::min(x.exp, y.exp);
  const Limbs a = ShiftLeft(x.mag, x.exp - e);
  const Limbs b = ShiftLeft(y.mag, y.exp - e);
  Dyadic out;
  out.exp = e;
  if (x.neg == y.neg) {
    out.neg = x.neg;
    out.mag = AddMagnitudes(a, b);
    return out;
  }
  const int c = Compare(a, b);
  if (c == 0) return Dyadic{};
  out.neg = c > 0 ? x.neg : y.neg;
  out.mag = c > 0 ? SubtractMagnitudes(a, b) : SubtractMagnitudes(b, a);
  return out;
}

inline Dyadic Mul(const Dyadic& x, const Dyadic& y) {
  Dyadic out;
  out.neg = x.neg != y.neg;
  out.exp = x.exp + y.exp;
  if (x.IsZero() || y.IsZero()) return out;
  std::vector<uint64_t> acc(x.mag.size() + y.mag.size() + 1, 0);
  for (size_t i = 0; i < x.mag.size(); ++i) {
    uint64_t carry = 0;
    for (size_t j = 0; j < y.mag.size(); ++j) {
      const uint64_t t =
          acc[i + j] + static_cast<uint64_t>(x.mag[i]) * y.mag[j] + carry;
      acc[i + j] = t & 0xffffffffu;
      carry = t >> 32;
    }
    acc[i + y.mag.size()] += carry;
  }
  for (uint64_t limb : acc) out.mag.push_back(static_cast<uint32_t>(limb));
  Trim(&out.mag);
  return out;
}

inline int BitLength(const Limbs& m) {
  return m.empty() ? 0
                   : 32 * static_cast<int>(m.size() - 1) + 32 -
                         __builtin_clz(m.back());
}

inline int Bit(const Limbs& m, int i) {
  if (i < 0 || i / 32 >= static_cast<int>(m.size())) return 0;
  return (m[i / 32] >> (i % 32)) & 1;
}

inline bool AnyBitBelow(const Limbs& m, int i) {
  for (int w = 0; w < static_cast<int>(m.size()) && 32 * w < i; ++w) {
    const int bits = std::min(32, i - 32 * w);
    const uint32_t mask = bits == 32 ? 0xffffffffu : (1u << bits) - 1;
    if (m[w] & mask) return true;
  }
  return false;
}

// ---------------------------------------------------------------------------
// Rounding to a binary float format, nearest-even, IEEE overflow to inf.

struct RefFloat {
  int precision;  // significand bits, the hidden one included
  int emin;       // exponent of the min normal
  int emax;       // exponent of the max finite
};
constexpr RefFloat kRefFp32{24, -126, 127};
constexpr RefFloat kRefFp16{11, -14, 15};
constexpr RefFloat kRefBf16{8, -126, 127};
constexpr RefFloat kRefHf32{11, -126, 127};

inline const RefFloat& RefFormat(Format f) {
  switch (f) {
    case Format::kFp16:
      return kRefFp16;
    case Format::kBf16:
      return kRefBf16;
    case Format::kHf32:
      return kRefHf32;
    case Format::kFp32:
      return kRefFp32;
    default:
      FAIL("not a cube float format");
      return kRefFp32;
  }
}

inline double MaxFinite(const RefFloat& f) {
  return std::ldexp(std::ldexp(1.0, f.precision) - 1, f.emax - f.precision + 1);
}

inline double RoundNearestEven(const Dyadic& x, const RefFloat& f) {
  if (x.IsZero()) return x.neg ? -0.0 : 0.0;
  const int top = x.exp + BitLength(x.mag) - 1;  // |x| in [2^top, 2^(top+1))
  const int quantum = std::max(top, f.emin) - (f.precision - 1);
  const int below = quantum - x.exp;  // bits of mag under the quantum
  uint64_t n = 0;                     // floor(|x| / 2^quantum)
  for (int b = 0; b < f.precision; ++b) {
    n |= static_cast<uint64_t>(Bit(x.mag, below + b)) << b;
  }
  if (below > 0 && Bit(x.mag, below - 1) &&
      (AnyBitBelow(x.mag, below - 1) || (n & 1))) {
    ++n;
  }
  double v = std::ldexp(static_cast<double>(n), quantum);
  if (v > MaxFinite(f)) v = HUGE_VAL;
  return x.neg ? -v : v;
}

inline double RoundDouble(double x, const RefFloat& f) {
  return std::isfinite(x) ? RoundNearestEven(FromDouble(x), f) : x;
}

// fp32 adder of the cube: RNE32(acc + p) from the exact sum; IEEE specials.
inline double AddRound32(double acc, double p) {
  if (!std::isfinite(acc) || !std::isfinite(p)) return acc + p;
  return RoundNearestEven(Add(FromDouble(acc), FromDouble(p)), kRefFp32);
}

inline bool SameBits(double a, double b) {
  if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
  return std::memcmp(&a, &b, sizeof a) == 0;
}

inline std::string Show(double x) {
  std::ostringstream os;
  os << std::hexfloat << x << " (" << std::defaultfloat << x << ")";
  return os.str();
}

// ---------------------------------------------------------------------------
// Float cube reference.

struct RefMatrix {
  int rows = 0, cols = 0;
  std::vector<double> v;  // row-major format values
  double At(int i, int j) const { return v[static_cast<size_t>(i) * cols + j]; }
};

using RefFloatTerms =
    std::vector<std::pair<const RefMatrix*, const RefMatrix*>>;

// The fp32 accumulator of output (i, j) before it leaves the cube. Products
// of two fp32 values are exact in binary64 (48 bits, exponents -298..256).
inline double RefFloatAccumulator(const RefFloatTerms& terms, int i, int j,
                                  AccumulationOrder order, int k0) {
  double acc = 0.0;
  for (const auto& [a, b] : terms) {
    const int depth = a->cols;
    if (order == AccumulationOrder::kSequential) {
      for (int k = 0; k < depth; ++k)
        acc = AddRound32(acc, a->At(i, k) * b->At(k, j));
      continue;
    }
    for (int k_begin = 0; k_begin < depth; k_begin += k0) {
      Dyadic exact;
      double special = 0.0;  // IEEE sum of the non-finite products
      bool any_special = false;
      for (int k = k_begin; k < std::min(depth, k_begin + k0); ++k) {
        const double p = a->At(i, k) * b->At(k, j);
        if (std::isfinite(p)) {
          exact = Add(exact, FromDouble(p));
        } else {
          special += p;
          any_special = true;
        }
      }
      acc = AddRound32(
          acc, any_special ? special : RoundNearestEven(exact, kRefFp32));
    }
  }
  return acc;
}

inline double RefFloatOut(const RefFloatTerms& terms, int i, int j,
                          AccumulationOrder order, int k0, double sign,
                          Format out) {
  return RoundDouble(sign * RefFloatAccumulator(terms, i, j, order, k0),
                     RefFormat(out));
}

inline int RefFractalDepth(Format operand) {
  return operand == Format::kFp32 || operand == Format::kHf32 ? 8 : 16;
}

// ---------------------------------------------------------------------------
// Integer cube reference.

struct RefIntMatrix {
  int rows = 0, cols = 0;
  std::vector<int32_t> codes;
  int group_rows = 0, group_cols = 0;
  std::vector<float> scales;
  int32_t Code(int i, int j) const {
    return codes[static_cast<size_t>(i) * cols + j];
  }
  float Scale(int i, int j) const {
    return scales[(i / group_rows) * (cols / group_cols) + j / group_cols];
  }
};

inline float RefScale(double amax, int32_t qmax) {
  const float s = static_cast<float>(amax) / static_cast<float>(qmax);
  return std::min(std::max(s, std::ldexp(1.0f, -126)), std::ldexp(1.0f, 127));
}

inline int32_t RoundHalfEvenSaturate(float v, int32_t qmax) {
  if (std::isnan(v)) return 0;
  if (v >= qmax) return qmax;
  if (v <= -qmax) return -qmax;
  const double f = std::floor(v), rest = v - f;  // exact: v is a float
  const bool up = rest > 0.5 || (rest == 0.5 && std::fmod(f, 2.0) != 0);
  return static_cast<int32_t>(up ? f + 1 : f);
}

// block = 0: one tensor scale; else b x b groups, each side capped at the view.
inline RefIntMatrix RefQuantize(const double* data, int rows, int cols,
                                int stride, int32_t qmax, int block) {
  RefIntMatrix q;
  q.rows = rows;
  q.cols = cols;
  q.group_rows = block ? std::min(block, rows) : rows;
  q.group_cols = block ? std::min(block, cols) : cols;
  q.codes.resize(static_cast<size_t>(rows) * cols);
  for (int gi = 0; gi < rows; gi += q.group_rows) {
    for (int gj = 0; gj < cols; gj += q.group_cols) {
      double amax = 0;
      for (int i = gi; i < gi + q.group_rows; ++i) {
        for (int j = gj; j < gj + q.group_cols; ++j) {
          const double x = data[static_cast<size_t>(i) * stride + j];
          if (std::isfinite(x)) amax = std::max(amax, std::fabs(x));
        }
      }
      const float s = RefScale(amax, qmax);
      q.scales.push_back(s);
      for (int i = gi; i < gi + q.group_rows; ++i) {
        for (int j = gj; j < gj + q.group_cols; ++j) {
          const double x = data[static_cast<size_t>(i) * stride + j];
          q.codes[static_cast<size_t>(i) * cols + j] =
              RoundHalfEvenSaturate(static_cast<float>(x) / s, qmax);
        }
      }
    }
  }
  return q;
}

// An integer accumulator of `bits` bits checked after every add.
struct RefAccumulator {
  int bits = 32;
  bool saturate = false;
  int64_t events = 0;

  __int128 Add(__int128 acc, __int128 p) {
    const __int128 hi = (static_cast<__int128>(1) << (bits - 1)) - 1,
                   lo = -hi - 1;
    const __int128 v = acc + p;
    if (v >= lo && v <= hi) return v;
    ++events;
    if (saturate) return v > hi ? hi : lo;
    const __int128 span = static_cast<__int128>(1) << bits;
    return ((v - lo) % span + span) % span + lo;
  }
};

// Balanced split for the emulated int16: q = 256 hi + lo, lo in [-128, 127].
inline void Split(int32_t q, int32_t* hi, int32_t* lo) {
  *lo = ((q % 256) + 256 + 128) % 256 - 128;
  *hi = (q - *lo) / 256;
}

inline float RefDequantScale(float sa, float sb, int mantissa_bits) {
  const float p = sa * sb;
  uint32_t w;
  std::memcpy(&w, &p, sizeof w);
  if (mantissa_bits < 23) w &= ~((uint32_t{1} << (23 - mantissa_bits)) - 1);
  float d;
  std::memcpy(&d, &w, sizeof d);
  return d;
}

struct RefIntConfig {
  bool emulated = false;  // int16 on the int8 cube
  int accumulator_bits = 32;
  bool saturate = false;
  int scale_mantissa_bits = 10;
};

using RefIntTerms =
    std::vector<std::pair<const RefIntMatrix*, const RefIntMatrix*>>;

// `*open_zero` (if given) is set for an exact integer zero in a one-k-group
// step, whose sign is an open question (see OpenZero below).
inline double RefIntOut(const RefIntTerms& terms, int i, int j,
                        const RefIntConfig& c, double sign, Format out,
                        int64_t* events, bool* open_zero = nullptr) {
  std::vector<std::pair<__int128, float>> groups;  // (I, d) per k-group
  for (const auto& [a, b] : terms) {
    int k_begin = 0;
    while (k_begin < a->cols) {
      int k_end = k_begin + 1;
      while (k_end < a->cols && k_end % a->group_cols != 0 &&
             k_end % b->group_rows != 0) {
        ++k_end;
      }
      __int128 sum = 0;
      if (c.emulated) {
        RefAccumulator acc{32, c.saturate};
        __int128 hh = 0, hl = 0, lh = 0, ll = 0;
        for (int k = k_begin; k < k_end; ++k) {
          int32_t ah, al, bh, bl;
          Split(a->Code(i, k), &ah, &al);
          Split(b->Code(k, j), &bh, &bl);
          hh = acc.Add(hh, ah * bh);
          hl = acc.Add(hl, ah * bl);
          lh = acc.Add(lh, al * bh);
          ll = acc.Add(ll, al * bl);
        }
        sum = 65536 * hh + 256 * (hl + lh) + ll;
        *events += acc.events;
      } else {
        RefAccumulator acc{c.accumulator_bits, c.saturate};
        for (int k = k_begin; k < k_end; ++k) {
          sum =
              acc.Add(sum, static_cast<int64_t>(a->Code(i, k)) * b->Code(k, j));
        }
        *events += acc.events;
      }
      groups.emplace_back(
          sum, RefDequantScale(a->Scale(i, k_begin), b->Scale(k_begin, j),
                               c.scale_mantissa_bits));
      k_begin = k_end;
    }
  }
  if (open_zero) *open_zero = groups.size() == 1 && groups[0].first == 0;
  if (groups.size() == 1) {
    Dyadic v = Mul(FromInt(groups[0].first), FromDouble(groups[0].second));
    if (sign < 0) v.neg = !v.neg;
    return RoundNearestEven(v, RefFormat(out));
  }
  double sum = 0.0;
  for (const auto& [integer, d] : groups) {
    sum = AddRound32(
        sum, RoundNearestEven(Mul(FromInt(integer), FromDouble(d)), kRefFp32));
  }
  return RoundDouble(sign * sum, RefFormat(out));
}

// The sign of an exact integer zero in a one-k-group step follows IEEE 754
// (sim/cube.h): Round(sign * I * d) = -0 for I = 0, sign -1. Such elements
// are counted in the INFO and compared bit for bit like every other.
inline bool SameIntResult(double got, double want, bool open_zero) {
  (void)open_zero;
  return SameBits(got, want);
}

}  // namespace exact_cube
}  // namespace trisim

#endif  // TRISIM_TESTS_SUPPORT_EXACT_CUBE_H_
