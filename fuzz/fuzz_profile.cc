// Fuzz target: a hardware profile TOML file (sim/profile.h LoadProfileFile),
// then the default plan (mxr, fp16, C = 64) priced on it, as `trisim cost
// --profile FILE` does.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/methods.h"
#include "fuzz/fuzz_common.h"
#include "sim/cost_model.h"
#include "sim/profile.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace trisim;
  fuzz::ScratchDir& dir = fuzz::ScratchDir::Get();
  dir.Reset();
  const std::string path = dir.Write(
      "profile.toml", std::string(reinterpret_cast<const char*>(data), size));
  fuzz::ExpectOnlyInputErrors([&] {
    const HardwareProfile profile = LoadProfileFile(path);
    static const Plan plan = BuildPlan("mxr", MethodOptions{}, 64);
    EstimateCost(plan, PipelinePrecisionFor("fp16"), Workload{}, profile);
  });
  return 0;
}
