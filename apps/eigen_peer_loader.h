// Chooses and loads the per-target Eigen float matmul peer of `trisim bench`
// (apps/eigen_peer/eigen_peer.h says why it is a module per target): the
// module built for the Highway target trisim's fast paths dispatch to now
// (quant::DispatchTargetName(), so `--target` and TRISIM_HWY_TARGETS cap it
// alike), or, when there is none or it cannot be used, Eigen built with the
// project's baseline flags inside trisim, labelled as such.
#pragma once

#include <string>
#include <vector>

#include "apps/eigen_peer/eigen_peer.h"

namespace trisim::app {

struct EigenPeer {
  // The module's Highway target ("AVX3", "AVX2", "SSE4"), or "baseline".
  std::string target;
  // The compiler flags of the Eigen build that runs.
  std::string flags;
  // Eigen::SimdInstructionSetsInUse() of that build, from inside it.
  std::string simd;
  // Path of the loaded module; empty for the baseline.
  std::string module;
  // Why the baseline runs where a module was wanted (missing file, CPU
  // lacks a feature, dlopen error, ABI mismatch); empty otherwise.
  std::string note;
  TrisimEigenPeerSgemmFn sgemm = nullptr;
};

// The Eigen build inside trisim (no -m flags: SSE2 on x86-64).
EigenPeer BaselineEigenPeer();

// The module for `highway_target` (AVX3_DL runs the AVX3 module: eigen_peer.h)
// from the first of EigenPeerDirs() that holds it; BaselineEigenPeer() with
// `note` set when there is no module for that target or it cannot be used.
// Never throws; the module stays loaded for the life of the process.
EigenPeer LoadEigenPeer(const std::string& highway_target);

// Where modules are looked for, in order: $TRISIM_EIGEN_PEER_DIR alone when
// set and not empty; else the directory of this executable (the build
// tree), then its install location relative to the executable
// (TRISIM_EIGEN_PEER_INSTALL_DIR beside bin/, apps/CMakeLists.txt).
std::vector<std::string> EigenPeerDirs();

}  // namespace trisim::app
