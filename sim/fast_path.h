// Which implementation the machine runs: the Highway fast path (default) or
// the scalar reference that is its specification (sim/cube.h, quant/round.h).
// Both give bit-identical results and event counts (tests/simd_*_test.cc);
// the switch exists for debugging and for `trisim bench`.
#pragma once

namespace trisim {

// Process-wide; set it before starting a run (read by CubeConfig::FromRecipe
// and the executor's vector-unit steps).
void SetScalarReference(bool scalar);
bool ScalarReference();

}  // namespace trisim
