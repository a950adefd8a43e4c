// The fp64 product of the references (core/dense_simd.h) against its scalar
// form (std::fma in k order), bit for bit on every compiled Highway target.
#include "core/dense_simd.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "hwy/highway.h"
#include "hwy/targets.h"

namespace trisim {
namespace {

TEST_CASE("fp64 fma product equals its scalar form on every target",
          "[core][dense][simd]") {
  std::mt19937_64 rng(5);
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  // Full-precision values over a spread of magnitudes (every product and
  // sum rounds), signed zeros, and in some matrices inf and NaN.
  auto value = [&](bool extreme) {
    const uint64_t r = rng() % 64;
    if (r == 0) return 0.0;
    if (r == 1) return -0.0;
    if (extreme && r == 2) return std::numeric_limits<double>::infinity();
    if (extreme && r == 3) return std::nan("");
    return std::ldexp(u(rng), static_cast<int>(rng() % 40) - 20);
  };
  for (int64_t target : hwy::SupportedAndGeneratedTargets()) {
    hwy::SetSupportedTargetsForTest(target);
    DYNAMIC_SECTION(hwy::TargetName(target)) {
      for (int m : {0, 1, 2, 3, 4, 5, 9}) {
        for (int n : {0, 1, 3, 4, 7, 8, 9, 16, 31, 32, 33, 64, 65}) {
          for (int k : {0, 1, 2, 17, 64}) {
            for (bool extreme : {false, true}) {
              std::vector<double> a(static_cast<size_t>(m) * (k + 1) + 1),
                  b(static_cast<size_t>(k) * (n + 2) + 1),
                  got(static_cast<size_t>(m) * (n + 3) + 1);
              for (auto& x : a) x = value(extreme);
              for (auto& x : b) x = value(false);
              for (auto& x : got) x = value(false);
              std::vector<double> want(got);
              MatMulAddFma(a.data() + 1, k + 1, b.data() + 1, n + 2, got.data(),
                           n + 3, m, n, k);
              MatMulAddFmaReference(a.data() + 1, k + 1, b.data() + 1, n + 2,
                                    want.data(), n + 3, m, n, k);
              INFO("m " << m << " n " << n << " k " << k << " extreme "
                        << extreme);
              // NaN payloads may differ between the fma instruction and
              // libm; everything else bit for bit.
              bool same = true;
              for (size_t e = 0; e < got.size(); ++e) {
                same = same && (std::isnan(got[e])
                                    ? std::isnan(want[e])
                                    : std::memcmp(&got[e], &want[e], 8) == 0);
              }
              REQUIRE(same);
            }
          }
        }
      }
    }
  }
  hwy::SetSupportedTargetsForTest(0);
}

}  // namespace
}  // namespace trisim
