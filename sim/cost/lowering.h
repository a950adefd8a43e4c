// Lowering (sim/COST_MODEL.md section 3): one chunk of a math-level Plan ->
// per-pipe instructions of one core group. Each step is placed on the cube or
// the vector core; cube steps become MTE1 moves, Mmads per fractal group and
// FIXPIPE passes (tiled to fit the halves of L0A/L0B/L0C), vector steps
// vector instructions priced latency + repeats; results crossing between
// cube and vector go through GM with a cross-core flag. Parallel copies
// (batching.h) are lowered once per batch. What each step reads comes from
// Plan::Producers, the one definition the executor's dependency listing
// uses too.
#pragma once

#include <array>
#include <vector>

#include "core/plan.h"
#include "sim/cost/pipes.h"
#include "sim/cost/precision.h"
#include "sim/cost/profile.h"

namespace trisim {

const Fractal& FractalFor(const HardwareProfile& hw, CubeDataType operand);

// ---------------------------------------------------------------------------
// Lowering: one chunk's instructions. Instruction i may depend only on
// instructions < i of the same chunk; `prefetch` marks the chunk's input
// loads, which the scheduler (schedule.h) issues ahead under double
// buffering.

struct Dep {
  int instr;
  double latency;  // extra cycles after it ends (cross-core flag)
};

struct Instr {
  Pipe pipe;
  double cycles;
  int step;          // -1: chunk input/output; a batch's first step
  int batch;         // index into Lowering::batches(), or -1
  const char* what;  // static text, for traces
  double bytes;      // moved (0 for compute)
  double gm_bytes;   // of which through GM (for the shared bound)
  bool prefetch;
  std::vector<Dep> deps;
};

// Where one read of a step gets its data.
struct Read {
  View view;
  std::vector<int> producers;  // earlier steps whose output it reads
  bool from_input = false;     // reads the plan's input L (in GM)
  bool constant = false;       // a constant buffer (0 / I), kept resident
};

// How a cube step is cut to fit L0 (the other half of each L0 buffer is the
// ping-pong partner): outputs larger than half of L0C are split along n;
// per product term, operands larger than half of L0A/L0B along k, and at
// k-group boundaries for per-block scales.
struct CubeTiling {
  long long n_tile = 0;             // output columns per L0C tile
  std::vector<long long> k_slice;   // per term: k per Mmad
  std::vector<long long> k_groups;  // per term: partial accumulators
  double l0a_bytes = 0, l0b_bytes = 0, l0c_bytes = 0;  // largest slice/tile
};

class Lowering {
 public:
  Lowering(const Plan& plan, const PipelinePrecision& precision,
           const HardwareProfile& hw, bool batch);

  const std::vector<Instr>& instrs() const { return instrs_; }
  const std::vector<Unit>& units() const { return units_; }
  // Groups of 2 or more steps lowered as one batch (Instr::batch indexes it).
  const std::vector<std::vector<int>>& batches() const { return batches_; }
  // One chunk's working set per side (bytes) and the part that is constant
  // across chunks (not double-buffered).
  long long WorkingSet(Unit side, bool constant_part) const;

 private:
  static constexpr int kNoInstr = -1;

  int Emit(Pipe pipe, double cycles, int step, const char* what,
           std::vector<Dep> deps, double bytes = 0, double gm_bytes = 0,
           bool prefetch = false) {
    instrs_.push_back(Instr{pipe, cycles, step, step >= 0 ? batch_ : -1, what,
                            bytes, gm_bytes, prefetch, std::move(deps)});
    return static_cast<int>(instrs_.size()) - 1;
  }

  void FindReads();
  void PlaceSteps();
  void FindConsumers();
  void FindFinalAreas();
  void FindBatches(bool batch);
  bool SameInstructions(int a, int b) const;
  long long Written(int s) const;  // elements step s writes (Writes())
  CubeTiling Tiling(int s) const;
  size_t BatchCapacity(int s) const;
  void EmitGroup(const std::vector<int>& group);
  void EmitCubeStep(const std::vector<int>& group);
  void EmitVectorStep(const std::vector<int>& group);
  void EmitOutputStores();

  // Dependencies that make read `r` of every step of `group` available on
  // `side` (emitting the input load on first use). Arrive() must have
  // brought the group's operands from the other side.
  std::vector<Dep> Available(const std::vector<int>& group, size_t r,
                             Unit side);
  int InputLoad(Unit side);
  void Arrive(const std::vector<int>& group, Unit side);
  void StoreForCube(const std::vector<int>& group);

  const Plan& plan_;
  const PipelinePrecision& pr_;
  const HardwareProfile& hw_;

  std::vector<std::vector<Read>> reads_;        // per step
  std::vector<Unit> units_;                     // per step
  std::vector<std::array<bool, 3>> needed_on_;  // per step, by Unit
  std::vector<long long> final_area_;  // per step: output elements it leaves
  long long fill_final_area_ = 0;      // output elements written by fills
  Unit fill_store_side_ = Unit::kCube;
  std::vector<std::vector<int>> groups_;   // every step once, in issue order
  std::vector<std::vector<int>> batches_;  // the groups of 2 or more
  std::vector<int> group_batch_;  // per group: index into batches_, or -1
  std::vector<int> group_of_;     // per step: index into groups_
  int batch_ = -1;  // the batch being emitted (index into batches_), or -1

  std::vector<Instr> instrs_;
  std::vector<int> ready_;  // per step: its output is usable on its side
  std::vector<int> to_gm_;  // per step: its output is in GM for the other side
  std::vector<std::array<int, 3>> arrived_;  // per step: transferred to a side
  std::array<int, 3> input_load_{kNoInstr, kNoInstr, kNoInstr};
};

}  // namespace trisim
