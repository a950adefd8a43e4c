// Cycle-count cost model of the NPU tile pipeline (issue 5; the model and
// its assumptions are written up in sim/COST_MODEL.md).
//
// EstimateCost prices the same Plan the numeric executor runs, with no
// per-algorithm code:
//  1. Lowering: each plan step is placed on the cube or the vector core and
//     lowered to per-pipe instructions for one chunk (loads into L1/UB,
//     L1 -> L0A/L0B moves, Mmads per fractal group, FIXPIPE out, vector ops,
//     cube <-> vector transfers through GM with their cross-core flags).
//     Parallel copies of one step (same op, shapes and label, one round of
//     the dependency graph) are lowered together as one batched instruction
//     per pipe, as a kernel issues them (ParallelCopyLabel, COST_MODEL.md).
//  2. Scheduling: pipes run in order; each instruction waits for the
//     instructions it depends on; double buffering prefetches the next
//     chunk's input while the current one computes. Chunks are spread over
//     core groups (1 cube core + n vector cores, as on 910B).
#pragma once

#include <array>
#include <string>
#include <vector>

#include "core/plan.h"
#include "sim/profile.h"
#include "sim/recipe.h"

namespace trisim {

// ---------------------------------------------------------------------------
// Precision, as far as cost is concerned.

// Operand class of the cube: selects the fractal (profile [cube]) and how
// many Mmads one product takes.
enum class CubeDataType {
  kFp16,           // fp16 and bf16: 16x16x16
  kFp32,           // 16x16x4
  kHf32,           // fp32 with mantissa rounded to 10 bits: 16x16x8
  kInt8,           // 16x16x32, int32 accumulator
  kInt4,           // 16x16x64 (no recipe uses it yet)
  kInt16Emulated,  // int16 split into int8 halves: 4 int8 Mmads per product
  kInt16Native,    // hypothetical int16 cube (profile fractal_int16)
};

struct PipelinePrecision {
  std::string recipe;
  CubeDataType cube = CubeDataType::kFp16;
  double input_bytes = 2;        // L as it arrives in GM
  double operand_bytes = 2;      // a cube operand element in L1/L0A/L0B
  int mmads_per_product = 1;     // int16 emulation: 4
  int k_group = 0;               // >0: per-block scales, one Mmad and one
                                 // FIXPIPE pass per k group of this width
  int accumulator_bytes = 4;     // an L0C element
  double fixpipe_out_bytes = 2;  // an intermediate leaving L0C
  bool fixpipe_quantises =
      false;  // requantises on the way out (FIX quant path)
  int fixpipe_passes =
      1;  // partial accumulators per output (int16 emulation: 3)
  double vector_bytes = 2;  // an element on the vector unit
  double output_bytes = 4;  // X written to GM (the benchmark's "fp32 out")
};

// The cost-relevant facts of a precision recipe (sim/recipe.h), derived
// from its fields; fp64 is priced as fp32.
PipelinePrecision PipelinePrecisionFor(const Recipe& recipe);
// The same for a built-in name or a recipe file (LoadRecipe).
PipelinePrecision PipelinePrecisionFor(const std::string& recipe_name);
std::vector<std::string> CostPrecisions();

// ---------------------------------------------------------------------------
// Workload and report.

struct Workload {
  long long batch = 32;  // the authors' benchmark shape (NPU.md)
  long long heads = 4;
  long long seq = 4096;  // tokens; chunks per head = ceil(seq / chunk)
  bool double_buffer = true;
  // Price parallel copies of a step as one batched instruction per pipe
  // (one start cost, the items' work summed); false: every step alone.
  bool batch_parallel_steps = true;
};

// The label that identifies parallel copies of a step: `label` without
// leading scope prefixes ("blk3.", "inner2.", "outer." : a letter, then
// letters, digits or '_', then '.'). "blk3.Y = L^2" -> "Y = L^2".
std::string ParallelCopyLabel(const std::string& label);

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

struct PipeUsage {
  double busy_cycles = 0;  // per core of the pipe's kind, whole workload
  double utilization = 0;  // busy / total
};

struct StepCost {
  int index = 0;
  Unit unit = Unit::kNone;
  std::array<double, kPipeCount> cycles{};  // per chunk, by pipe; a batch's
                                            // cycles split evenly
  double start = 0, end = 0;  // first chunk on an idle core group, cycles
  int batch = -1;             // index into CostReport::batches, or -1
};

// One scheduled instruction (for traces and tests).
struct Instruction {
  Pipe pipe = Pipe::kCube;
  int core = 0;  // vector core within the group (0 for cube pipes)
  int chunk = 0;
  int step = -1;   // plan step (a batch's first), -1 for chunk input/output
  int batch = -1;  // index into CostReport::batches, or -1
  const char* what = "";  // static text
  double bytes = 0;
  double start = 0, end = 0;
};

struct BufferUse {
  std::string name;     // "L1", "UB"
  long long bytes = 0;  // one chunk's working set (x2 when double-buffered)
  long long capacity = 0;
};

struct CostReport {
  std::string profile;
  double clock_mhz = 0;
  long long chunks = 0;            // batch x heads x chunks per head
  long long chunks_per_group = 0;  // on the busiest core group
  int cube_cores_used = 0, vector_cores_used = 0;
  bool double_buffered = false;

  double total_cycles = 0;
  double time_us = 0;
  double chunk_cycles = 0;         // steady-state cycles per chunk on one group
  long long simulated_chunks = 0;  // simulated; the rest extrapolated
  std::array<PipeUsage, kPipeCount> pipes{};
  Pipe bottleneck = Pipe::kCube;
  double gm_bytes_per_chunk = 0;

  std::vector<StepCost> steps;  // one per plan step
  // Steps priced together as one batched instruction sequence (2 or more
  // parallel copies each, ascending step indices); empty when batching is
  // off or the plan has no parallel copies.
  std::vector<std::vector<int>> batches;
  std::array<double, kPipeCount>
      io_cycles{};                     // chunk input loads, output stores
  std::vector<BufferUse> buffers;      // L1, UB working sets as scheduled
  std::vector<std::string> overflows;  // working sets that fit in no way
  std::vector<std::string> notes;      // e.g. double buffering turned off
  std::vector<Instruction> timeline;   // the first chunks of one core group
};

// Prices `plan` for the workload on the profile. Pure: same inputs, same
// report. Throws InputError for an empty workload.
CostReport EstimateCost(const Plan& plan, const PipelinePrecision& precision,
                        const Workload& workload,
                        const HardwareProfile& profile);

}  // namespace trisim
