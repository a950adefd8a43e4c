#include "quant/rounder.h"

#include <algorithm>

#include "quant/round_simd.h"

namespace trisim::quant {

uint64_t Rounder::RandomBits(uint64_t tensor, uint64_t index) const {
  return rounding.mode == RoundingMode::kStochastic
             ? StochasticBits(seed, tensor, index)
             : 0;
}

double Rounder::Round(double x, Format format, uint64_t tensor, uint64_t index,
                      EventCounts* events) const {
  EventCounts ignored;
  if (events == nullptr) events = &ignored;
  return DecodeFloat(
      RoundToFloat(x, format, rounding, RandomBits(tensor, index), events),
      format);
}

double Rounder::Round(const Exact& x, Format format, uint64_t tensor,
                      uint64_t index, EventCounts* events) const {
  EventCounts ignored;
  if (events == nullptr) events = &ignored;
  return DecodeFloat(
      RoundToFloat(x, format, rounding, RandomBits(tensor, index), events),
      format);
}

void Rounder::RoundValues(const double* x, size_t n, Format format,
                          uint64_t tensor, uint64_t index0, uint64_t index_step,
                          double* out, EventCounts* events) const {
  EventCounts ignored;
  if (events == nullptr) events = &ignored;
  if (scalar) {
    for (size_t i = 0; i < n; ++i) {
      out[i] = Round(x[i], format, tensor, index0 + i * index_step, events);
    }
    return;
  }
  if (rounding.mode != RoundingMode::kStochastic) {
    RoundToFloatValues(x, n, format, rounding, nullptr, out, events);
    return;
  }
  constexpr size_t kBlock = 256;
  uint64_t random[kBlock];
  for (size_t start = 0; start < n; start += kBlock) {
    const size_t len = std::min(kBlock, n - start);
    for (size_t i = 0; i < len; ++i) {
      random[i] = RandomBits(tensor, index0 + (start + i) * index_step);
    }
    RoundToFloatValues(x + start, len, format, rounding, random, out + start,
                       events);
  }
}

void Rounder::RoundHeldValues(const double* x, size_t n,
                              std::optional<Format> held, Format format,
                              uint64_t tensor, uint64_t index0,
                              uint64_t index_step, double* out,
                              EventCounts* events) const {
  if (!scalar && held && RoundingIsIdentity(*held, format, rounding) &&
      (out == x ? AllFinite(x, n) : CopyFinite(x, n, out))) {
    return;
  }
  RoundValues(x, n, format, tensor, index0, index_step, out, events);
}

bool Rounder::LinCombValues(const double* const* x, const double* coef,
                            size_t terms, size_t n, Format format, double* out,
                            EventCounts* events) const {
  return !scalar &&
         LinCombRounded(x, coef, terms, n, format, rounding, out, events);
}

double Rounder::RoundValue(double x, Format format, uint64_t tensor,
                           uint64_t index, EventCounts* events) const {
  if (scalar) return Round(x, format, tensor, index, events);
  EventCounts ignored;
  if (events == nullptr) events = &ignored;
  return RoundToFloatValue(x, format, rounding, RandomBits(tensor, index),
                           events);
}

}  // namespace trisim::quant
