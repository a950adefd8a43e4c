// A hardware profile: the NPU facts the cost model (sim/cost_model.h) prices
// plans with. Profiles are TOML files (sim/profiles/*.toml, each value citing
// ../shared/docs/NPU.md or marked as a guess); this struct is their one
// in-memory form and LoadProfile is the one parser.
#pragma once

#include <string>
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
  double cross_core_flag_cycles = 0.0;

  // [vector]
  int vector_repeat_bytes = 256;
  VectorOpClass vector_add;  // add, sub, copy
  VectorOpClass vector_mul;  // mul, muls, axpy, select

  // [buffers], bytes per core
  long long l1_bytes = 0, l0a_bytes = 0, l0b_bytes = 0, l0c_bytes = 0,
            ub_bytes = 0;

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

constexpr const char* kDefaultProfile = "ascend-910b";

}  // namespace trisim
