// quant::Rounder: rounding stored values (doubles holding a format's exact
// values, sim/arith.h) to a float format, with the recipe's rounding and one
// stochastic-rounding stream per (seed, tensor, index) (quant/round.h
// StochasticBits). Two implementations, bit-identical in values and event
// counts: the scalar reference quant::RoundToFloat + DecodeFloat (the
// specification) and the SIMD fast path quant::RoundToFloatValues
// (quant/round_simd.h; tests/simd_round_test.cc checks every target).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "quant/format.h"
#include "quant/round.h"

namespace trisim::quant {

struct Rounder {
  FloatRounding rounding;
  uint64_t seed = 0;
  // RoundValues / RoundValue run the scalar reference instead of the fast
  // path (a setting passed down from the caller, e.g. sim/executor.h
  // ExecOptions::scalar; never process-wide).
  bool scalar = false;

  // The reference, always: DecodeFloat(RoundToFloat(x, format, rounding,
  // RandomBits(tensor, index))). Counts events (events may be null).
  double Round(double x, Format format, uint64_t tensor, uint64_t index,
               EventCounts* events) const;
  double Round(const Exact& x, Format format, uint64_t tensor, uint64_t index,
               EventCounts* events) const;

  // out[i] = Round(x[i], format, tensor, index0 + i * index_step) for i < n:
  // the SIMD fast path, or the reference under `scalar`. out may alias x.
  void RoundValues(const double* x, size_t n, Format format, uint64_t tensor,
                   uint64_t index0, uint64_t index_step, double* out,
                   EventCounts* events) const;
  // RoundValues for values held in float format `held` (each x[i] a value
  // of it, e.g. a buffer stored in that format): when the rounding is the
  // identity on them (quant::RoundingIsIdentity) and all are finite, out =
  // x, with no event, as the reference would give; otherwise RoundValues.
  // Under `scalar` always RoundValues (the reference proves the shortcut).
  // out is x or disjoint from it.
  // No `held` (values of no known format): RoundValues.
  void RoundHeldValues(const double* x, size_t n, std::optional<Format> held,
                       Format format, uint64_t tensor, uint64_t index0,
                       uint64_t index_step, double* out,
                       EventCounts* events) const;
  // The fused linear combination of quant::LinCombRounded (inputs already
  // values of `format`) when the fast path covers it; false under `scalar`
  // or when not covered (no event added, out to be discarded): the caller
  // then rounds operation by operation with its own indices.
  bool LinCombValues(const double* const* x, const double* coef, size_t terms,
                     size_t n, Format format, double* out,
                     EventCounts* events) const;
  // One value the same way (serial chains, e.g. forward substitution).
  double RoundValue(double x, Format format, uint64_t tensor, uint64_t index,
                    EventCounts* events) const;

  // The stochastic-rounding bits of element `index` of `tensor` (0 for the
  // deterministic modes, which ignore them).
  uint64_t RandomBits(uint64_t tensor, uint64_t index) const;
};

}  // namespace trisim::quant
