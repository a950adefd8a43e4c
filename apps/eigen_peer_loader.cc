#include "apps/eigen_peer_loader.h"

#include <cpuid.h>
#include <dlfcn.h>

#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <system_error>

namespace trisim::app {
namespace {

// "TARGET:file:feature,feature|..." from apps/eigen_peer/CMakeLists.txt
// (empty off x86-64).
#ifndef TRISIM_EIGEN_PEER_MODULES
#define TRISIM_EIGEN_PEER_MODULES ""
#endif
#ifndef TRISIM_EIGEN_PEER_FROM_BIN
#define TRISIM_EIGEN_PEER_FROM_BIN "../lib/trisim"
#endif

struct ModuleSpec {
  std::string target, file;
  std::vector<std::string> features;
};

std::vector<std::string> Split(const std::string& s, char sep) {
  std::vector<std::string> parts;
  if (s.empty()) return parts;
  std::stringstream stream(s);
  std::string part;
  while (std::getline(stream, part, sep)) parts.push_back(part);
  return parts;
}

std::vector<ModuleSpec> ModuleSpecs() {
  std::vector<ModuleSpec> specs;
  for (const std::string& entry : Split(TRISIM_EIGEN_PEER_MODULES, '|')) {
    const std::vector<std::string> fields = Split(entry, ':');
    if (fields.size() != 3) continue;
    specs.push_back({fields[0], fields[1], Split(fields[2], ',')});
  }
  return specs;
}

// Whether this CPU (and OS, for the AVX register state) runs `feature`, a
// GCC -m / __builtin_cpu_supports name. Checked before dlopen: a module's
// own static initialisers may already use its instruction set. Independent
// of Highway's detection, which chose the target. An unknown name is false.
bool CpuSupports(const std::string& feature) {
  __builtin_cpu_init();
#define TRISIM_CPU_FEATURE(name) \
  if (feature == name) return __builtin_cpu_supports(name) != 0
  TRISIM_CPU_FEATURE("ssse3");
  TRISIM_CPU_FEATURE("sse4.1");
  TRISIM_CPU_FEATURE("sse4.2");
  TRISIM_CPU_FEATURE("pclmul");
  TRISIM_CPU_FEATURE("aes");
  TRISIM_CPU_FEATURE("avx");
  TRISIM_CPU_FEATURE("avx2");
  TRISIM_CPU_FEATURE("bmi");
  TRISIM_CPU_FEATURE("bmi2");
  TRISIM_CPU_FEATURE("fma");
  TRISIM_CPU_FEATURE("avx512f");
  TRISIM_CPU_FEATURE("avx512vl");
  TRISIM_CPU_FEATURE("avx512dq");
  TRISIM_CPU_FEATURE("avx512bw");
#undef TRISIM_CPU_FEATURE
  if (feature == "f16c") {
    // Not a __builtin_cpu_supports name in clang 14: CPUID leaf 1, ECX bit
    // 29 (Intel SDM vol. 2A, CPUID); its OS state is AVX's, checked above.
    unsigned eax, ebx, ecx, edx;
    return __get_cpuid(1, &eax, &ebx, &ecx, &edx) && (ecx & bit_F16C) != 0;
  }
  return false;
}

EigenPeer Baseline(const std::string& note) {
  EigenPeer peer = BaselineEigenPeer();
  peer.note = note;
  return peer;
}

}  // namespace

EigenPeer BaselineEigenPeer() {
  EigenPeer peer;
  peer.target = "baseline";
  peer.flags = "none (trisim's own build: the compiler's default ISA)";
  peer.simd = Eigen::SimdInstructionSetsInUse();
  peer.sgemm = [](int n, const float* a, const float* b, float* c) {
    eigen_peer::Sgemm(n, a, b, c);
  };
  return peer;
}

std::vector<std::string> EigenPeerDirs() {
  if (const char* dir = std::getenv("TRISIM_EIGEN_PEER_DIR");
      dir != nullptr && *dir != '\0') {
    return {dir};
  }
  std::error_code error;
  const std::filesystem::path exe =
      std::filesystem::read_symlink("/proc/self/exe", error);
  if (error) return {};
  const std::filesystem::path bin = exe.parent_path();
  return {bin.string(),
          (bin / TRISIM_EIGEN_PEER_FROM_BIN).lexically_normal().string()};
}

EigenPeer LoadEigenPeer(const std::string& highway_target) {
  const std::string wanted =
      highway_target == "AVX3_DL" ? std::string("AVX3") : highway_target;
  const ModuleSpec* spec = nullptr;
  const std::vector<ModuleSpec> specs = ModuleSpecs();
  for (const ModuleSpec& s : specs) {
    if (s.target == wanted) spec = &s;
  }
  if (spec == nullptr) {
    // SSSE3, EMU128, SCALAR: below SSE4 nothing Eigen's float product uses is
    // added to x86-64's SSE2, which the baseline build has.
    std::string names;
    for (const ModuleSpec& s : specs) {
      names += (names.empty() ? "" : ", ") + s.target;
    }
    return Baseline(
        "no Eigen module for Highway target " + highway_target + " (modules: " +
        (names.empty() ? std::string("none on this platform") : names) + ")");
  }
  for (const std::string& feature : spec->features) {
    if (!CpuSupports(feature)) {
      return Baseline("module " + spec->file + " needs " + feature +
                      ", which this CPU does not report");
    }
  }
  const std::vector<std::string> dirs = EigenPeerDirs();
  std::string path;
  for (const std::string& dir : dirs) {
    std::error_code error;
    const std::filesystem::path candidate =
        std::filesystem::path(dir) / spec->file;
    if (std::filesystem::is_regular_file(candidate, error)) {
      path = candidate.string();
      break;
    }
  }
  if (path.empty()) {
    std::string where;
    for (const std::string& dir : dirs)
      where += (where.empty() ? "" : ", ") + dir;
    return Baseline("module " + spec->file + " not found (looked in: " +
                    (where.empty()
                         ? std::string("nowhere: /proc/self/exe unreadable")
                         : where) +
                    ")");
  }
  // RTLD_LOCAL: the module's symbols never serve anyone else's lookups;
  // RTLD_NOW: an unresolved symbol fails here, not mid-benchmark.
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* why = dlerror();
    return Baseline("cannot load " + path + ": " +
                    (why ? why : "dlopen failed"));
  }
  const auto abi = reinterpret_cast<TrisimEigenPeerAbiFn>(
      dlsym(handle, "trisim_eigen_peer_abi"));
  const auto simd = reinterpret_cast<TrisimEigenPeerSimdFn>(
      dlsym(handle, "trisim_eigen_peer_simd"));
  const auto flags = reinterpret_cast<TrisimEigenPeerFlagsFn>(
      dlsym(handle, "trisim_eigen_peer_flags"));
  const auto sgemm = reinterpret_cast<TrisimEigenPeerSgemmFn>(
      dlsym(handle, "trisim_eigen_peer_sgemm"));
  if (abi == nullptr || simd == nullptr || flags == nullptr ||
      sgemm == nullptr) {
    dlclose(handle);
    return Baseline(path + " lacks the trisim_eigen_peer_* functions");
  }
  if (abi() != TRISIM_EIGEN_PEER_ABI) {
    const int got = abi();
    dlclose(handle);
    return Baseline(path + " has ABI " + std::to_string(got) +
                    ", trisim needs " + std::to_string(TRISIM_EIGEN_PEER_ABI));
  }
  EigenPeer peer;
  peer.target = spec->target;
  peer.flags = flags();
  peer.simd = simd();
  peer.module = path;
  peer.sgemm = sgemm;
  return peer;  // `handle` stays open: `sgemm` lives in it
}

}  // namespace trisim::app
