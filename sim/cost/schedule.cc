#include "sim/cost/schedule.h"

#include <algorithm>
#include <array>
#include <cmath>

namespace trisim {
namespace {

constexpr double kPeriodTolerance = 1e-3;
constexpr long long kIssueBudget = 100000;
constexpr int kTraceChunks = 8;  // chunks kept in the timeline

}  // namespace

Simulation Simulate(const std::vector<Instr>& instrs, long long chunks,
                    int depth, int vectors) {
  const size_t n = instrs.size();
  const int window = 2 * depth * vectors;
  // Finish times are needed only within a chunk and for the chunk_end of
  // the chunk `lookahead` back: a ring of that many chunks suffices.
  const int ring = depth * vectors + 2;
  std::vector<double> finish(n * ring, 0.0);
  std::vector<double> chunk_end(ring, 0.0);
  std::array<std::vector<double>, kPipeCount> pipe_free;
  for (auto& p : pipe_free) p.assign(vectors, 0.0);
  std::vector<double> makespan{0.0};  // makespan[k]: first k chunks done
  Simulation sim;
  long long issued = 0;

  const auto issue = [&](long long c, size_t i) {
    const Instr& in = instrs[i];
    const size_t slot = static_cast<size_t>(c % ring);
    const int core =
        IsVectorCorePipe(in.pipe) ? static_cast<int>(c % vectors) : 0;
    double ready = 0.0;
    for (const Dep& d : in.deps) {
      ready = std::max(ready, finish[slot * n + d.instr] + d.latency);
    }
    if (in.prefetch) {
      const int lookahead = IsVectorCorePipe(in.pipe) ? depth * vectors : depth;
      if (c >= lookahead) {
        ready = std::max(ready, chunk_end[(c - lookahead) % ring]);
      }
    }
    double& free = pipe_free[static_cast<int>(in.pipe)][core];
    const double start = std::max(ready, free);
    free = start + in.cycles;
    finish[slot * n + i] = free;
    chunk_end[slot] = std::max(chunk_end[slot], free);
    ++issued;
    if (c < kTraceChunks) {
      sim.timeline.push_back(Instruction{in.pipe, core, static_cast<int>(c),
                                         in.step, in.batch, in.what, in.bytes,
                                         start, free});
    }
  };

  std::array<long long, 2> prefetched{0, 0};  // next to prefetch: cube, vector
  double last_period = -1.0;
  for (long long c = 0; c < chunks; ++c) {
    for (int side = 0; side < 2; ++side) {
      const int lookahead = side == 0 ? depth : depth * vectors;
      for (long long& q = prefetched[side]; q < chunks && q < c + lookahead;
           ++q) {
        chunk_end[q % ring] = 0.0;
        for (size_t i = 0; i < n; ++i) {
          if (instrs[i].prefetch &&
              IsVectorCorePipe(instrs[i].pipe) == (side == 1)) {
            issue(q, i);
          }
        }
      }
    }
    for (size_t i = 0; i < n; ++i) {
      if (!instrs[i].prefetch) issue(c, i);
    }
    makespan.push_back(std::max(makespan.back(), chunk_end[c % ring]));
    const long long done = c + 1;
    if (done >= 2 * window && done % window == 0) {
      const double period = (makespan[done] - makespan[done - window]) / window;
      const bool settled =
          std::abs(period - last_period) <= kPeriodTolerance * period;
      last_period = period;
      if (settled || issued >= kIssueBudget) break;
    }
  }
  sim.simulated = static_cast<long long>(makespan.size()) - 1;
  sim.makespan = makespan.back();
  const long long w = std::min<long long>(window, sim.simulated / 2);
  sim.period = w > 0
                   ? (makespan[sim.simulated] - makespan[sim.simulated - w]) / w
                   : makespan[sim.simulated];
  return sim;
}

}  // namespace trisim
