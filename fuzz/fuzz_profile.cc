// Fuzz target: a hardware profile TOML file (sim/profile.h LoadProfileFile),
// then the default plan (mxr, fp16, C = 64) priced on it, as `trisim cost
// --profile FILE` does; the price must be finite and positive.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "core/methods.h"
#include "fuzz/fuzz_common.h"
#include "sim/cost/profile.h"
#include "sim/cost_model.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace trisim;
  fuzz::ScratchDir& dir = fuzz::ScratchDir::Get();
  dir.Reset();
  const std::string path = dir.Write(
      "profile.toml", std::string(reinterpret_cast<const char*>(data), size));
  fuzz::ExpectOnlyInputErrors([&] {
    const HardwareProfile profile = LoadProfileFile(path);
    static const Plan plan = BuildPlan("mxr", MethodOptions{}, 64);
    const CostReport report =
        EstimateCost(plan, PipelinePrecisionFor("fp16"), Workload{}, profile);
    // A profile that loads must price to a finite, positive time: anything
    // else is a silent wrong answer (e.g. "-nan cycles").
    if (!(report.total_cycles > 0) || !std::isfinite(report.total_cycles) ||
        !std::isfinite(report.time_us)) {
      std::fprintf(stderr, "fuzz: profile prices to %g cycles, %g us\n",
                   report.total_cycles, report.time_us);
      std::abort();
    }
  });
  return 0;
}
