// Scheduling (sim/COST_MODEL.md section 4): one core group's in-order pipes
// running the lowering's instructions (lowering.h) for identical chunks, to
// the steady state.
#pragma once

#include <vector>

#include "sim/cost/lowering.h"

namespace trisim {

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

// Scheduling one core group (1 cube core + r vector cores) over identical
// chunks. Pipes are in-order queues; chunk c's vector work runs on vector
// core c mod r. Program order per chunk is the lowering's order, except that
// input loads (prefetch) are issued `depth` chunks ahead per core: the load
// of chunk q waits until chunk q - depth on the same core has finished (its
// buffer slot is free), so with depth 2 the next chunk's loads overlap the
// current chunk's compute.
//
// Every chunk is the same work, so the schedule becomes periodic. Chunks are
// simulated until the cycles per chunk, measured over consecutive windows,
// agree to kPeriodTolerance (or all chunks or kIssueBudget instructions are
// done); the rest is extrapolated at that period.

struct Simulation {
  long long simulated = 0;            // chunks simulated
  double makespan = 0;                // when all simulated chunks are done
  double period = 0;                  // steady-state cycles per chunk
  std::vector<Instruction> timeline;  // the first kTraceChunks chunks
};

// Simulates `chunks` chunks on one group with `vectors` vector cores and
// input prefetch `depth` chunks ahead (1: none).
Simulation Simulate(const std::vector<Instr>& instrs, long long chunks,
                    int depth, int vectors);

}  // namespace trisim
