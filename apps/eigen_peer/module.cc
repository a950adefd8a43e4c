// One per-target Eigen peer module (apps/eigen_peer/eigen_peer.h): built by
// apps/eigen_peer/CMakeLists.txt once per SIMD target with that target's
// -m flags, hidden visibility and a version script (exports.map) that
// exports only these functions.
#include <Eigen/Core>

#include "apps/eigen_peer/eigen_peer.h"

#ifndef TRISIM_EIGEN_PEER_FLAGS
#error "TRISIM_EIGEN_PEER_FLAGS (the module's -m flags) is set by CMake"
#endif

#define TRISIM_EIGEN_PEER_EXPORT \
  extern "C" __attribute__((visibility("default")))

TRISIM_EIGEN_PEER_EXPORT int trisim_eigen_peer_abi(void) {
  return TRISIM_EIGEN_PEER_ABI;
}

TRISIM_EIGEN_PEER_EXPORT const char* trisim_eigen_peer_simd(void) {
  // Eigen::SimdInstructionSetsInUse() returns a string literal chosen at
  // compile time (Eigen/src/Core/util/ConfigureVectorization.h).
  return Eigen::SimdInstructionSetsInUse();
}

TRISIM_EIGEN_PEER_EXPORT const char* trisim_eigen_peer_flags(void) {
  return TRISIM_EIGEN_PEER_FLAGS;
}

TRISIM_EIGEN_PEER_EXPORT void trisim_eigen_peer_sgemm(int n, const float* a,
                                                      const float* b,
                                                      float* c) {
  trisim::eigen_peer::Sgemm(n, a, b, c);
}
