#include "quant/simd_targets.h"

#include <cstdlib>
#include <utility>

#include "core/status.h"
#include "hwy/highway.h"
#include "hwy/targets.h"

namespace trisim::quant {
namespace {

// Targets by name, best first (hwy/detect_targets.h: a lower bit is a
// better target).
const std::pair<const char*, int64_t> kTargets[] = {
    {"AVX3_DL", HWY_AVX3_DL}, {"AVX3", HWY_AVX3},   {"AVX2", HWY_AVX2},
    {"SSE4", HWY_SSE4},       {"SSSE3", HWY_SSSE3}, {"EMU128", HWY_EMU128},
    {"SCALAR", HWY_SCALAR},
};

int64_t Available() {
  hwy::SetSupportedTargetsForTest(0);  // the machine's own set
  return hwy::SupportedTargets() & HWY_TARGETS;
}

std::string AvailableNames(int64_t available) {
  std::string names;
  for (const auto& [name, bit] : kTargets) {
    if (available & bit)
      names += (names.empty() ? "" : ", ") + std::string(name);
  }
  return names;
}

}  // namespace

void CapTargets(const std::string& name) {
  const int64_t available = Available();
  for (const auto& [target_name, bit] : kTargets) {
    if (name != target_name) continue;
    // Every available target not better than `bit`.
    const int64_t allowed = available & ~(bit - 1);
    if (allowed == 0) {
      throw InputError("TRISIM_HWY_TARGETS=" + name +
                       ": no target at or below it on this machine and build "
                       "(available: " +
                       AvailableNames(available) + ")");
    }
    hwy::SetSupportedTargetsForTest(allowed);
    return;
  }
  throw InputError("TRISIM_HWY_TARGETS=" + name +
                   ": unknown target (allowed: AVX3_DL, AVX3, AVX2, SSE4, "
                   "SSSE3, EMU128, SCALAR; available here: " +
                   AvailableNames(available) + ")");
}

void CapTargetsFromEnvironment() {
  const char* value = std::getenv("TRISIM_HWY_TARGETS");
  if (value == nullptr || *value == '\0') return;
  CapTargets(value);
}

std::string DispatchTargetName() {
  const int64_t targets = hwy::SupportedTargets() & HWY_TARGETS;
  return hwy::TargetName(targets & -targets);
}

}  // namespace trisim::quant
