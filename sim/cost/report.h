// Report (sim/COST_MODEL.md sections 4 and 6): EstimateCost runs lowering,
// batching and scheduling for a workload and assembles what `trisim cost`
// prints: total cycles and time, per-pipe busy cycles and utilisation, the
// bottleneck, a per-step breakdown and a timeline for traces.
#pragma once

#include <array>
#include <string>
#include <vector>

#include "core/plan.h"
#include "sim/cost/pipes.h"
#include "sim/cost/precision.h"
#include "sim/cost/profile.h"
#include "sim/cost/schedule.h"

namespace trisim {

struct Workload {
  long long batch = 32;  // the authors' benchmark shape (NPU.md)
  long long heads = 4;
  long long seq = 4096;  // tokens; chunks per head = ceil(seq / chunk)
  bool double_buffer = true;
  // Price parallel copies of a step as one batched instruction per pipe
  // (one start cost, the items' work summed); false: every step alone.
  bool batch_parallel_steps = true;
};

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
