// A hardware profile: the NPU facts the cost model (sim/cost_model.h) prices
// plans and kernels with. Profiles are TOML files (sim/profiles/*.toml, each
// value citing ../shared/docs/NPU.md, KERNELS.md or the msKPP tables; values
// no source gives are listed in [provenance] as "guess" or "fitted: <the one
// public figure>"); this struct is their one in-memory form and LoadProfile
// is the one parser. Every integer is read checked (no wrap, no narrowing)
// against an explicit range, every number must be finite and in range, and
// an unknown key is refused: one-line errors naming key, value and range.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace trisim {

// The m0 x n0 x k0 block one Mmad cycle consumes for an operand type.
struct Fractal {
  int m0 = 16;
  int n0 = 16;
  int k0 = 16;
};

// A data path: moving n bytes costs start_cycles + n / bytes_per_cycle
// (NPU.md "Data movement").
struct TransferPath {
  double bytes_per_cycle = 1.0;
  double start_cycles = 0.0;

  double Cycles(double bytes) const {
    return start_cycles + bytes / bytes_per_cycle;
  }
};

// A measured transfer curve (msKPP csrc/prof_data/resource910b.cpp): points
// (KB moved, bytes per cycle achieved), sorted by size. A move of n bytes
// takes n / bw(n) cycles, bw linearly interpolated in size between points
// (as msKPP's linearInterpolate); below the first point a move costs what
// the first point's size costs (a fixed latency floor), above the last the
// last bandwidth holds.
struct TransferCurve {
  std::vector<std::pair<double, double>> points;  // (KB, bytes per cycle)

  bool empty() const { return points.empty(); }
  double Cycles(double bytes) const;
};

// One vector op class: an instruction over `repeats` 256-byte repeats costs
// latency + cycles_per_repeat * repeats - 1 (NPU.md "Vector unit", after
// hicann/pypto PipeSimulatorFast.cpp).
struct VectorOpClass {
  double latency = 1.0;
  double cycles_per_repeat = 1.0;

  double Cycles(long long repeats) const {
    return latency + cycles_per_repeat * static_cast<double>(repeats) - 1.0;
  }
};

struct HardwareProfile {
  std::string name;
  std::string description;
  std::string source;  // the file it was read from

  // [chip]
  double clock_mhz = 0.0;
  int cube_cores = 0;
  int vector_cores = 0;           // a multiple of cube_cores (AIC : AIV groups)
  double gm_bytes_per_cycle = 0;  // shared by all cores

  // [cube]
  Fractal fractal_fp16, fractal_int8, fractal_int4, fractal_fp32, fractal_hf32,
      fractal_int16;
  double mmad_cycles_per_fractal = 1.0;
  double mmad_start_cycles = 0.0;

  // [paths]
  TransferPath gm_to_l1;                     // MTE2 (cube core)
  TransferPath l1_to_l0a;                    // MTE1
  TransferPath l1_to_l0b;                    // MTE1
  TransferPath fixpipe_gm;                   // FIX, L0C -> GM
  TransferPath fixpipe_l1;                   // FIX, L0C -> L1
  double fixpipe_quant_bytes_per_cycle = 0;  // FIX when requantising to int8
  TransferPath gm_to_ub;                     // MTE2 (vector core)
  TransferPath ub_to_gm;                     // MTE3 (vector core)

  // [sync]
  double cross_core_flag_cycles = 0.0;    // cube <-> vector flag (math level)
  double kernel_cross_core_cycles = 0.0;  // the same, kernel level (fitted)
  double flag_cycles = 0.0;  // intra-core set_flag -> wait_flag hand-off
  double vector_scalar_sync_cycles = 0.0;  // a dependent vector op synced
                                           // with the scalar unit
  double launch_cycles = 0.0;   // one kernel launch, host to first cycle
  double program_cycles = 0.0;  // per grid program of a Triton kernel

  // [curves]: measured transfer curves (msKPP), used by the kernel-level
  // model (sim/cost/kernel.h); the math-level model keeps [paths].
  TransferCurve curve_gm_to_l1, curve_l1_to_l0a, curve_l1_to_l0b,
      curve_l0c_to_gm, curve_gm_to_ub, curve_ub_to_gm, curve_ub_to_ub;
  // L0C -> L1 has no measurement on 910B: [provenance] says which curve
  // stands in for it.
  TransferCurve curve_l0c_to_l1;

  // [vector]
  int vector_repeat_bytes = 256;
  VectorOpClass vector_add;  // add, sub, copy
  VectorOpClass vector_mul;  // mul, muls, axpy, select

  // [buffers], bytes per core
  long long l1_bytes = 0, l0a_bytes = 0, l0b_bytes = 0, l0c_bytes = 0,
            ub_bytes = 0;

  // [provenance]: key -> "guess", "fitted: <figure>", ... (see the files).
  std::vector<std::pair<std::string, std::string>> provenance;

  // Vector cores per cube core (910B: 1 AIC : 2 AIV).
  int VectorsPerCube() const { return vector_cores / cube_cores; }
};

// Parses a profile file. Throws InputError naming the file and the key for a
// missing key, a value of the wrong type or out of range, or an unknown key.
HardwareProfile LoadProfileFile(const std::string& path);

// A shipped profile by name ("ascend-910b") or a path to a TOML file.
// Throws InputError listing the shipped names if neither exists.
HardwareProfile LoadProfile(const std::string& name_or_path);

// Names of the profiles shipped in sim/profiles/, sorted.
std::vector<std::string> ShippedProfiles();

// "ascend-910b" is the 910B1 (the default); ascend-910b2 is the chip of
// every public timing in KERNELS.md section 5.
constexpr const char* kDefaultProfile = "ascend-910b";

}  // namespace trisim
