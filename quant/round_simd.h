// Fast, bit-identical rounding of doubles to float formats (Highway, with
// dynamic dispatch). The specification is quant::RoundToFloat followed by
// quant::DecodeFloat (quant/round.h): every value and every event count of
// these functions equals what the reference gives, in every rounding mode
// (tests/round_simd_test.cc checks that on every compiled target).
//
// How: a finite double |x| = M 2^(E-52) with a 53-bit M is rounded to a
// multiple n 2^q of the target's quantum by integer operations on M
// (n = M >> s, remainder M mod 2^s against the half, s = q - E + 52), and
// n 2^q is rebuilt as a double exactly (n < 2^25). Lanes the integer path
// does not cover take the reference: NaN/inf inputs, double subnormals,
// |x| >= 2^emax (possible overflow), and for stochastic rounding values so
// far below the quantum (s > 63) that the reference's sticky branch applies.
// Formats without IEEE specials (e4m3) and flush-to-zero outputs run the
// reference for the whole call.
#pragma once

#include <cstddef>
#include <cstdint>

#include "quant/format.h"
#include "quant/round.h"

namespace trisim::quant {

// out[i] = DecodeFloat(RoundToFloat(x[i], format, rounding, random[i]))
// for i < n, counting events like RoundToFloat. `random` is read only for
// stochastic rounding (then it must hold n values). out may alias x.
void RoundToFloatValues(const double* x, size_t n, Format format,
                        const FloatRounding& rounding, const uint64_t* random,
                        double* out, EventCounts* events);

// The same for one value, without SIMD (for serial chains such as the
// vector unit's forward substitution).
double RoundToFloatValue(double x, Format format, const FloatRounding& rounding,
                         uint64_t random, EventCounts* events);

// The reference for one value: DecodeFloat(RoundToFloat(...)).
double RoundToFloatValueReference(double x, Format format,
                                  const FloatRounding& rounding,
                                  uint64_t random, EventCounts* events);

// True if every x[0, n) is finite (no NaN, no inf), by SIMD.
bool AllFinite(const double* x, size_t n);
// out[i] = x[i] for i < n (x and out disjoint), and AllFinite(x, n), in one
// pass.
bool CopyFinite(const double* x, size_t n, double* out);

// Most terms LinCombRounded takes.
inline constexpr size_t kLinCombMaxTerms = 4;

// A linear combination rounded after every operation, in one pass: for
// i < n, v = R(coef[0] x[0][i]), then v = R(v + R(coef[t] x[t][i])) for
// t = 1 .. terms - 1, out[i] = v, where R rounds into `format` under
// `rounding` (the reference's values and events). The inputs must already
// be values of `format` (their own rounding into it is the identity).
// Covered: nearest-even (after ConversionRounding) into a format
// FastRoundingCovers, 1 .. kLinCombMaxTerms terms, and no lane of any
// rounding that needs the reference (NaN, inf, |v| >= 2^emax, double
// subnormals). Otherwise returns false adding no event; out is then partly
// written and to be discarded, and the caller runs the operations one by
// one. out may alias an input at the same index, not at another.
bool LinCombRounded(const double* const* x, const double* coef, size_t terms,
                    size_t n, Format format, const FloatRounding& rounding,
                    double* out, EventCounts* events);

// True if the fast path covers this format and rounding for ordinary
// values (else the functions above run the reference).
bool FastRoundingCovers(Format format, const FloatRounding& rounding);

}  // namespace trisim::quant
