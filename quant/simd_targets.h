// Which Highway target the fast paths dispatch to (quant/round_simd.h,
// sim/cube_simd.h), and a run-time cap on it.
//
// TRISIM_HWY_TARGETS=NAME caps dynamic dispatch at target NAME: the best
// target this machine supports and the build generated that is not better
// than NAME runs (hwy::SetSupportedTargetsForTest, Highway 1.0.3
// hwy/targets.h). Names, best first: AVX3_DL (AVX-512 with VNNI), AVX3
// (AVX-512), AVX2, SSE4, SSSE3, EMU128 (portable, no SIMD ISA). Uses: run
// valgrind/callgrind, which cannot execute AVX-512, on AVX2 code; compare
// targets in `trisim bench`. Results are bit-identical on every target
// (tests/simd_*_test.cc, tests/executor_simd_test.cc); only speed differs.
#pragma once

#include <cstdint>
#include <string>

namespace trisim::quant {

// Reads TRISIM_HWY_TARGETS (unset or empty: no cap). Throws InputError for
// an unknown name or one this machine cannot run (naming what it can).
void CapTargetsFromEnvironment();

// Caps dispatch at `name` (as above); throws InputError likewise.
void CapTargets(const std::string& name);

// The target the fast paths dispatch to now, e.g. "AVX3_DL", "AVX2".
std::string DispatchTargetName();

}  // namespace trisim::quant
