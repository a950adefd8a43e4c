// Shared helpers of the cost model tests (tests/cost_*_test.cc).
#pragma once

#include <catch2/catch.hpp>
#include <cstring>
#include <string>
#include <vector>

#include "core/methods.h"
#include "sim/cost_model.h"

namespace trisim {
namespace cost_test {

constexpr int kM = static_cast<int>(Pipe::kCube);
constexpr int kFix = static_cast<int>(Pipe::kFix);

// X = sum_{t < terms} L L: one kMatMul step with `terms` products.
inline Plan ProductPlan(int chunk, int terms) {
  PlanBuilder b("test-product", "terms=" + std::to_string(terms), chunk);
  const View l = b.NewBuffer("L", chunk, chunk, BufferRole::kInput);
  const View x = b.NewBuffer("X", chunk, chunk, BufferRole::kOutput);
  std::vector<View> factors;
  for (int t = 0; t < terms; ++t) {
    factors.push_back(l);
    factors.push_back(l);
  }
  b.MatMul(x, factors, 1.0, "X = sum L L");
  return b.Finish(l, x);
}

inline Workload Chunks(long long chunks, int chunk) {
  Workload w;
  w.batch = 1;
  w.heads = 1;
  w.seq = chunks * chunk;
  return w;
}

inline CostReport Price(const std::string& method, int chunk,
                        const std::string& precision, const Workload& workload,
                        const HardwareProfile& hw) {
  return EstimateCost(BuildPlan(method, MethodOptions{}, chunk),
                      PipelinePrecisionFor(precision), workload, hw);
}

// Cycles of the first chunk-0 instruction named `what`.
inline double FirstInstruction(const CostReport& r, const char* what) {
  for (const Instruction& in : r.timeline) {
    if (in.chunk == 0 && std::strcmp(in.what, what) == 0) {
      return in.end - in.start;
    }
  }
  FAIL("no instruction " << what);
  return 0;
}

inline const HardwareProfile& Default() {
  static const HardwareProfile hw = LoadProfile(kDefaultProfile);
  return hw;
}

}  // namespace cost_test
}  // namespace trisim
