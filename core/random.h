// Seeded random numbers that are reproducible bit for bit on any machine and
// thread count: every sample draws from its own stream keyed by (seed,
// stream id), so results never depend on the order samples run in.
//
// Generator: SplitMix64 (Steele, Lea, Flood, "Fast splittable pseudorandom
// number generators", OOPSLA 2014), the stream key mixed into the start
// state. Uniform doubles take the top 53 bits; normals use Box-Muller with
// glibc's log/cos/sin (deterministic for a given build and libm).
#pragma once

#include <cstdint>

namespace trisim {

// The SplitMix64 increment (the golden ratio in 64 bits).
inline constexpr uint64_t kSplitMix64Gamma = 0x9E3779B97F4A7C15ULL;

// The SplitMix64 finaliser: a bijective 64-bit mix. The one copy: quant's
// stochastic-rounding hash and the per-sample seeds use it too.
uint64_t Mix64(uint64_t x);

// The seed of sample `sample` of a run seeded `seed` (stochastic rounding in
// error and oracle): independent of thread count and sample order.
uint64_t SampleSeed(uint64_t seed, uint64_t sample);

class Rng {
 public:
  Rng(uint64_t seed, uint64_t stream);

  uint64_t Next();
  double Uniform();                // in [0, 1)
  double Normal();                 // standard normal
  uint64_t Below(uint64_t bound);  // in [0, bound), bound >= 1, unbiased

 private:
  uint64_t state_;
  bool has_spare_ = false;
  double spare_ = 0.0;
};

}  // namespace trisim
