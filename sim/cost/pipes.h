// The vocabulary every part of the cost model shares: the pipes of one core
// group (1 cube core + its vector cores on 910B) and the unit a plan step is
// placed on. Pipe names follow the Ascend pipes (NPU.md "Pipelines").
#pragma once

namespace trisim {

enum class Pipe {
  kCubeMte2,  // GM -> L1 (cube core)
  kMte1,      // L1 -> L0A / L0B
  kCube,      // Mmad (PIPE_M)
  kFix,       // FIXPIPE: L0C -> L1 / GM
  kVecMte2,   // GM -> UB (vector core)
  kVector,    // vector unit (PIPE_V)
  kMte3,      // UB -> GM (vector core)
  kGm,        // shared GM bandwidth of the whole chip (not a per-core pipe)
};
constexpr int kPipeCount = 8;
const char* PipeName(Pipe pipe);  // "MTE2.cube", "MTE1", "M", "FIX", ...
// MTE2.vector, V and MTE3 belong to a vector core, the rest (but GM) to the
// cube core.
bool IsVectorCorePipe(Pipe pipe);

enum class Unit { kNone, kCube, kVector };  // kNone: a constant fill
const char* UnitName(Unit unit);

}  // namespace trisim
