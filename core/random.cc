#include "core/random.h"

#include <cmath>

#include "core/status.h"

namespace trisim {

namespace {
constexpr uint64_t kGolden = kSplitMix64Gamma;
}

uint64_t Mix64(uint64_t x) {
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

uint64_t SampleSeed(uint64_t seed, uint64_t sample) {
  return Mix64(seed ^ Mix64(sample));
}

Rng::Rng(uint64_t seed, uint64_t stream)
    : state_(Mix64(seed ^ Mix64(stream + kGolden))) {}

uint64_t Rng::Next() {
  state_ += kGolden;
  return Mix64(state_);
}

double Rng::Uniform() { return static_cast<double>(Next() >> 11) * 0x1p-53; }

double Rng::Normal() {
  if (has_spare_) {
    has_spare_ = false;
    return spare_;
  }
  const double u1 = 1.0 - Uniform();  // (0, 1]: log is finite
  const double u2 = Uniform();
  const double radius = std::sqrt(-2.0 * std::log(u1));
  const double angle = 2.0 * M_PI * u2;
  spare_ = radius * std::sin(angle);
  has_spare_ = true;
  return radius * std::cos(angle);
}

uint64_t Rng::Below(uint64_t bound) {
  // Callers validate their sizes (an empty range is their input error); a
  // zero bound here would divide by zero.
  TRISIM_ASSERT(bound >= 1);
  // Rejection keeps it unbiased: draw until below the largest multiple.
  const uint64_t limit = UINT64_MAX - UINT64_MAX % bound;
  uint64_t r;
  do {
    r = Next();
  } while (r >= limit);
  return r % bound;
}

}  // namespace trisim
