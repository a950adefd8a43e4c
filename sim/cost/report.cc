#include "sim/cost/report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "core/status.h"
#include "sim/cost/lowering.h"

namespace trisim {
namespace {

long long CeilDiv(long long a, long long b) { return (a + b - 1) / b; }

std::string KiB(long long bytes) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.1f KB", bytes / 1024.0);
  return text;
}

}  // namespace

CostReport EstimateCost(const Plan& plan, const PipelinePrecision& precision,
                        const Workload& workload, const HardwareProfile& hw) {
  if (workload.batch < 1 || workload.heads < 1 || workload.seq < 1) {
    throw InputError("workload: batch, heads and seq must be >= 1");
  }
  TRISIM_ASSERT(plan.chunk >= 1 && hw.cube_cores >= 1 &&
                hw.vector_cores % hw.cube_cores == 0);
  CostReport report;
  report.profile = hw.name;
  report.clock_mhz = hw.clock_mhz;

  const Lowering lowering(plan, precision, hw, workload.batch_parallel_steps);
  const std::vector<Instr>& instrs = lowering.instrs();

  // Working sets against buffer sizes: double-buffered if two chunks fit,
  // single-buffered (reported) if one does, reported as overflow otherwise.
  int depth = workload.double_buffer ? 2 : 1;
  struct Check {
    const char* name;
    Unit side;
    long long capacity;
  };
  const Check checks[] = {{"L1", Unit::kCube, hw.l1_bytes},
                          {"UB", Unit::kVector, hw.ub_bytes}};
  for (const Check& check : checks) {
    const long long per_chunk = lowering.WorkingSet(check.side, false);
    const long long constant = lowering.WorkingSet(check.side, true);
    if (per_chunk == 0) continue;
    if (depth == 2 && 2 * per_chunk + constant > check.capacity) {
      depth = 1;
      report.notes.push_back(std::string("double buffering off: two chunks "
                                         "need ") +
                             KiB(2 * per_chunk + constant) + " of " +
                             check.name + " (" + KiB(check.capacity) + ")");
    }
    if (per_chunk + constant > check.capacity) {
      report.overflows.push_back(
          std::string(check.name) + ": one chunk needs " +
          KiB(per_chunk + constant) + ", capacity " + KiB(check.capacity) +
          " (the plan must be tiled across chunks of "
          "work; priced as if it fit)");
    }
  }
  for (const Check& check : checks) {
    const long long per_chunk = lowering.WorkingSet(check.side, false);
    if (per_chunk == 0) continue;
    report.buffers.push_back(BufferUse{
        check.name, depth * per_chunk + lowering.WorkingSet(check.side, true),
        check.capacity});
  }
  report.double_buffered = depth == 2;

  // Chunks over core groups: batch x heads x ceil(seq / C) independent
  // chunks, the busiest group taking ceil(chunks / groups).
  const int vectors = hw.VectorsPerCube();
  report.chunks =
      workload.batch * workload.heads * CeilDiv(workload.seq, plan.chunk);
  const long long groups = std::min<long long>(hw.cube_cores, report.chunks);
  report.chunks_per_group = CeilDiv(report.chunks, groups);
  bool uses_cube = false, uses_vector = false;
  std::array<double, kPipeCount> busy_per_chunk{};
  for (const Instr& in : instrs) {
    (IsVectorCorePipe(in.pipe) ? uses_vector : uses_cube) = true;
    busy_per_chunk[static_cast<int>(in.pipe)] += in.cycles;
    report.gm_bytes_per_chunk += in.gm_bytes;
  }
  report.cube_cores_used = uses_cube ? static_cast<int>(groups) : 0;
  report.vector_cores_used = uses_vector ? static_cast<int>(std::min<long long>(
                                               groups * vectors, report.chunks))
                                         : 0;

  // Simulate to the steady state, then extrapolate (sim.period).
  Simulation sim = Simulate(instrs, report.chunks_per_group, depth, vectors);
  report.chunk_cycles = sim.period;
  const double schedule =
      sim.makespan +
      static_cast<double>(report.chunks_per_group - sim.simulated) * sim.period;
  report.simulated_chunks = sim.simulated;

  // Per-core busy cycles; GM is shared by the whole chip.
  const long long per_vector_core = CeilDiv(report.chunks_per_group, vectors);
  for (int p = 0; p < kPipeCount; ++p) {
    const Pipe pipe = static_cast<Pipe>(p);
    report.pipes[p].busy_cycles =
        pipe == Pipe::kGm
            ? report.gm_bytes_per_chunk * static_cast<double>(report.chunks) /
                  hw.gm_bytes_per_cycle
            : busy_per_chunk[p] *
                  static_cast<double>(IsVectorCorePipe(pipe)
                                          ? per_vector_core
                                          : report.chunks_per_group);
  }
  report.total_cycles =
      std::max(schedule, report.pipes[static_cast<int>(Pipe::kGm)].busy_cycles);
  report.time_us = report.total_cycles / hw.clock_mhz;
  for (int p = 0; p < kPipeCount; ++p) {
    report.pipes[p].utilization =
        report.total_cycles > 0
            ? report.pipes[p].busy_cycles / report.total_cycles
            : 0.0;
    if (report.pipes[p].utilization >
        report.pipes[static_cast<int>(report.bottleneck)].utilization) {
      report.bottleneck = static_cast<Pipe>(p);
    }
  }

  // Per-step breakdown: cycles per chunk by pipe (a batch's split evenly
  // over its steps), and when the step ran in the first chunk.
  report.batches = lowering.batches();
  report.steps.resize(plan.steps.size());
  for (size_t s = 0; s < plan.steps.size(); ++s) {
    report.steps[s].index = static_cast<int>(s);
    report.steps[s].unit = lowering.units()[s];
    report.steps[s].start = -1;
  }
  for (size_t b = 0; b < report.batches.size(); ++b) {
    for (int s : report.batches[b]) report.steps[s].batch = static_cast<int>(b);
  }
  const auto members = [&](int step, int batch) {
    return batch >= 0 ? report.batches[batch] : std::vector<int>{step};
  };
  for (const Instr& in : instrs) {
    if (in.step < 0) {
      report.io_cycles[static_cast<int>(in.pipe)] += in.cycles;
      continue;
    }
    const std::vector<int> steps = members(in.step, in.batch);
    for (int s : steps) {
      report.steps[s].cycles[static_cast<int>(in.pipe)] +=
          in.cycles / static_cast<double>(steps.size());
    }
  }
  for (const Instruction& in : sim.timeline) {
    if (in.chunk != 0 || in.step < 0) continue;
    for (int s : members(in.step, in.batch)) {
      StepCost& step = report.steps[s];
      step.start = step.start < 0 ? in.start : std::min(step.start, in.start);
      step.end = std::max(step.end, in.end);
    }
  }
  for (StepCost& step : report.steps) step.start = std::max(step.start, 0.0);
  report.timeline = std::move(sim.timeline);
  return report;
}

}  // namespace trisim
