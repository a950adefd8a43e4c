// Eigen's plain float matmul, the peer of trisim's bit-accurate fp16 matmul
// in `trisim bench` (apps/cmd_bench.cc), built once per x86 SIMD target so
// that the comparison is against the best Eigen this machine can run.
//
// Why shared modules loaded at run time (apps/eigen_peer_loader.h), not a
// translation unit per target inside trisim: Eigen is header-only, so every
// Eigen (and std::) template and inline function a translation unit uses is
// emitted there as a weak symbol. Two translation units of one binary built
// with different -m flags would emit the same symbols with different code,
// and the linker keeps one copy of each (the one-definition rule): either an
// AVX-512 copy runs on an AVX2 machine (SIGILL) or the baseline copy runs
// everywhere. Highway avoids this with per-target namespaces; Eigen has none.
// A module built with -fvisibility=hidden -fvisibility-inlines-hidden and a
// version script exporting only the extern "C" functions below, opened with
// dlopen(RTLD_LOCAL | RTLD_NOW), keeps its instantiations to itself.
//
// One module per Highway x86 target that trisim's fast paths dispatch to
// (quant/simd_targets.h), built with that target's ISA flags
// (hwy/ops/set_macros-inl.h, HWY_TARGET_STR_*): SSE4, AVX2 and AVX3.
// AVX3_DL adds VNNI, VBMI, VAES and friends, none of which Eigen 3.4's float
// product uses, so it runs the AVX3 module. The list and the flags are in
// apps/eigen_peer/CMakeLists.txt.
//
// This header is the modules' whole interface. It is also included by
// trisim itself (with the project's baseline flags, no -m: SSE2 on x86-64)
// for the baseline figure and the fallback, so the product is written once.
#pragma once

#include <Eigen/Core>

// Bumped whenever the functions below change: a module built for another
// version is refused, not called.
#define TRISIM_EIGEN_PEER_ABI 1

extern "C" {
// TRISIM_EIGEN_PEER_ABI of the module.
typedef int (*TrisimEigenPeerAbiFn)(void);
// Eigen::SimdInstructionSetsInUse() inside the module, e.g. "AVX512, FMA,
// AVX2, AVX SSE, SSE2, SSE3, SSSE3, SSE4.1, SSE4.2": Eigen's own account
// of the code it generated.
typedef const char* (*TrisimEigenPeerSimdFn)(void);
// The compiler flags the module was built with, e.g. "-msse4.1 ... -mavx2".
typedef const char* (*TrisimEigenPeerFlagsFn)(void);
// c = a b, n x n column-major floats: trisim::eigen_peer::Sgemm below.
typedef void (*TrisimEigenPeerSgemmFn)(int n, const float* a, const float* b,
                                       float* c);
}

namespace trisim::eigen_peer {

// C = A B for n x n float matrices, column-major (Eigen's default), exactly
// the product `trisim bench` has always timed: `c.noalias() = a * b` (Eigen's
// general matrix product, GEBP kernel, for n = 64). The operands are mapped,
// not copied, and unaligned maps cost nothing measurable here: the GEBP
// kernel packs both operands into its own aligned blocks first.
// EIGEN_DONT_PARALLELIZE (top-level CMakeLists.txt): one thread.
inline void Sgemm(int n, const float* a, const float* b, float* c) {
  using Matrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic>;
  Eigen::Map<const Matrix> ma(a, n, n), mb(b, n, n);
  Eigen::Map<Matrix> mc(c, n, n);
  mc.noalias() = ma * mb;
}

}  // namespace trisim::eigen_peer
