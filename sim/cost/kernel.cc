#include "sim/cost/kernel.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <deque>
#include <map>

#include "core/status.h"

namespace trisim {

const char* KPipeName(KPipe pipe) {
  switch (pipe) {
    case KPipe::kScalar:
      return "SCALAR";
    case KPipe::kMte2:
      return "MTE2";
    case KPipe::kMte1:
      return "MTE1";
    case KPipe::kCube:
      return "CUBE";
    case KPipe::kFixp:
      return "FIXP";
    case KPipe::kVector:
      return "VECTOR";
    case KPipe::kMte3:
      return "MTE3";
  }
  return "?";
}

KPipe PipeOf(KPath path) {
  switch (path) {
    case KPath::kGmToL1:
    case KPath::kGmToUb:
      return KPipe::kMte2;
    case KPath::kL1ToL0A:
    case KPath::kL1ToL0B:
      return KPipe::kMte1;
    case KPath::kL0cToL1:
    case KPath::kL0cToGm:
      return KPipe::kFixp;
    case KPath::kUbToGm:
      return KPipe::kMte3;
    case KPath::kUbToUb:
      return KPipe::kVector;  // a UB -> UB copy runs on the vector unit
  }
  return KPipe::kScalar;
}

const TransferCurve& CurveOf(const HardwareProfile& hw, KPath path) {
  switch (path) {
    case KPath::kGmToL1:
      return hw.curve_gm_to_l1;
    case KPath::kL1ToL0A:
      return hw.curve_l1_to_l0a;
    case KPath::kL1ToL0B:
      return hw.curve_l1_to_l0b;
    case KPath::kL0cToL1:
      return hw.curve_l0c_to_l1;
    case KPath::kL0cToGm:
      return hw.curve_l0c_to_gm;
    case KPath::kGmToUb:
      return hw.curve_gm_to_ub;
    case KPath::kUbToGm:
      return hw.curve_ub_to_gm;
    case KPath::kUbToUb:
      return hw.curve_ub_to_ub;
  }
  return hw.curve_gm_to_l1;
}

namespace {

KPipe PipeOfInstr(const KInstr& in) {
  switch (in.kind) {
    case KInstr::Kind::kSetFlag:
    case KInstr::Kind::kBarrier:
      return in.flag_from;
    case KInstr::Kind::kWaitFlag:
      return in.flag_to;
    case KInstr::Kind::kMove:
      return PipeOf(in.path);
    case KInstr::Kind::kMmad:
      return KPipe::kCube;
    case KInstr::Kind::kVector:
      return KPipe::kVector;
    case KInstr::Kind::kScalar:
      return KPipe::kScalar;
  }
  return KPipe::kScalar;
}

long long CeilDiv(long long a, long long b) { return (a + b - 1) / b; }

constexpr int kMaxCores = 3;            // 1 cube + 2 vector cores per group
constexpr long long kMaxSimItems = 24;  // then extrapolated at the period

// Where and when an access to a buffer finished.
struct Access {
  double end = 0;
  KPipe pipe = KPipe::kScalar;
  int core = 0;
};

struct BufferState {
  Access writer;
  bool written = false;
  std::vector<Access> readers;  // since the last write
};

class CoreSim {
 public:
  CoreSim(const KLaunch& launch, const HardwareProfile& hw,
          std::vector<KTraceEvent>* trace, int trace_items)
      : l_(launch),
        hw_(hw),
        trace_(trace),
        trace_items_(trace_items),
        slots_(std::max(1, launch.slots)),
        buffers_(launch.buffers.size() * slots_) {
    for (auto& core : free_) core.fill(0.0);
    cycles_.reserve(l_.item.size());
    for (const KInstr& in : l_.item) cycles_.push_back(InstrCycles(in, hw_));
    MatchFlags();
  }

  // Runs the next work item; returns when it ends.
  double RunItem() {
    const int item = items_++;
    const int slot = item % slots_;
    double gate = 0;
    if (l_.per_program_overhead) {
      // Triton-Ascend runs grid programs one after another on a core.
      gate = last_end_ + hw_.program_cycles;
    }
    double end = gate;
    set_times_.emplace_back(l_.item.size(), 0.0);
    std::vector<double>& sets = set_times_.back();
    for (size_t i = 0; i < l_.item.size(); ++i) {
      const KInstr& in = l_.item[i];
      const KPipe pipe = PipeOfInstr(in);
      if (in.kind == KInstr::Kind::kSetFlag ||
          in.kind == KInstr::Kind::kWaitFlag ||
          in.kind == KInstr::Kind::kBarrier) {
        Synchronise(in, i, item, gate, &sets);
        continue;
      }
      double ready = gate;
      const auto after = [&](const Access& a) {
        ready = std::max(ready, a.end + Handoff(a, pipe, in.core));
      };
      for (int b : in.reads) {
        BufferState& s = buffers_[Physical(b, slot)];
        if (s.written) after(s.writer);
      }
      for (int b : in.writes) {
        BufferState& s = buffers_[Physical(b, slot)];
        if (s.written) after(s.writer);
        for (const Access& r : s.readers) after(r);
      }
      double cycles = cycles_[i];
      if (in.kind == KInstr::Kind::kVector && in.scalar_sync) {
        // The vector <-> scalar sync runs on the scalar unit first (its own
        // SCALAR track in traces); the op starts when it is done.
        double& scalar = free_[in.core][static_cast<int>(KPipe::kScalar)];
        const double sync_start = std::max(ready, scalar);
        scalar = sync_start + hw_.vector_scalar_sync_cycles;
        ready = scalar;
        cycles -= hw_.vector_scalar_sync_cycles;
        if (trace_ != nullptr && item < trace_items_) {
          trace_->push_back(KTraceEvent{KPipe::kScalar, in.core, item,
                                        sync_start, scalar,
                                        "sync vector <-> scalar"});
        }
      }
      double& free = free_[in.core][static_cast<int>(pipe)];
      const double start = std::max(ready, free);
      free = start + cycles;
      const Access done{free, pipe, in.core};
      for (int b : in.reads)
        buffers_[Physical(b, slot)].readers.push_back(done);
      for (int b : in.writes) {
        BufferState& s = buffers_[Physical(b, slot)];
        s.writer = done;
        s.written = true;
        s.readers.clear();
      }
      end = std::max(end, free);
      if (trace_ != nullptr && item < trace_items_) {
        trace_->push_back(
            KTraceEvent{pipe, in.core, item, start, free, in.what});
      }
    }
    last_end_ = std::max(last_end_, end);
    return last_end_;
  }

 private:
  // Pairs every wait_flag with its set_flag (KInstr): match_[i] is the index
  // of the set in the same work item, or -1 - j for the j-th wait of its
  // key that no earlier set of the item serves: it takes the j-th set of
  // that key the item `slots` earlier left unmatched (leftover_[key][j]).
  void MatchFlags() {
    using Key = std::array<int, 5>;
    std::map<Key, std::deque<size_t>> open;
    std::map<Key, int> cross;
    match_.assign(l_.item.size(), 0);
    for (size_t i = 0; i < l_.item.size(); ++i) {
      const KInstr& in = l_.item[i];
      if (in.kind != KInstr::Kind::kSetFlag &&
          in.kind != KInstr::Kind::kWaitFlag) {
        continue;
      }
      const Key key{in.from_core, static_cast<int>(in.flag_from), in.to_core,
                    static_cast<int>(in.flag_to), in.event};
      if (in.kind == KInstr::Kind::kSetFlag) {
        open[key].push_back(i);
        continue;
      }
      auto& q = open[key];
      if (!q.empty()) {
        match_[i] = static_cast<long>(q.front());
        q.pop_front();
      } else {
        match_[i] = -1 - cross[key]++;
        match_key_.emplace(i, key);
      }
    }
    for (auto& [key, q] : open) leftover_[key].assign(q.begin(), q.end());
  }

  // set_flag: when its pipe has finished everything issued before it.
  // wait_flag: its pipe waits for the matching set plus the hand-off.
  // PIPE_ALL barrier: every pipe of the core waits for all of them.
  void Synchronise(const KInstr& in, size_t i, int item, double gate,
                   std::vector<double>* sets) {
    auto& core = free_[in.core];
    if (in.kind == KInstr::Kind::kBarrier) {
      if (in.flag_from != KPipe::kScalar) return;  // one in-order pipe
      double all = gate;
      for (double f : core) all = std::max(all, f);
      core.fill(all);
      return;
    }
    if (in.kind == KInstr::Kind::kSetFlag) {
      const double t = std::max(gate, core[static_cast<int>(in.flag_from)]);
      (*sets)[i] = t;
      Trace(in.flag_from, in.core, item, t, t, in);
      return;
    }
    double t = -1;
    if (match_[i] >= 0) {
      t = (*sets)[static_cast<size_t>(match_[i])];
    } else {
      const int earlier = item - slots_;
      const auto& list = leftover_[match_key_.at(i)];
      const size_t j = static_cast<size_t>(-1 - match_[i]);
      if (earlier >= 0 && j < list.size()) {
        t = set_times_[static_cast<size_t>(earlier)][list[j]];
      }
    }
    if (t < 0) return;  // set before the first items (prologue)
    const double handoff =
        in.cross_core ? hw_.kernel_cross_core_cycles : hw_.flag_cycles;
    double& free = core[static_cast<int>(in.flag_to)];
    const double before = free;
    free = std::max(free, t + handoff);
    if (free > before) Trace(in.flag_to, in.core, item, before, free, in);
  }

  void Trace(KPipe pipe, int core, int item, double start, double end,
             const KInstr& in) {
    if (trace_ != nullptr && item < trace_items_) {
      trace_->push_back(KTraceEvent{pipe, core, item, start, end, in.what});
    }
  }

  size_t Physical(int buffer, int slot) const {
    return static_cast<size_t>(buffer) * slots_ +
           (l_.buffers[buffer].per_slot ? slot : 0);
  }

  // The hand-off from a finished access to an instruction on `pipe` of
  // `core`: nothing within one in-order pipe, a set/wait flag between pipes
  // of one core, a cross-core flag between cores (the data went through GM
  // in the instructions themselves).
  double Handoff(const Access& a, KPipe pipe, int core) const {
    if (a.core != core) return hw_.kernel_cross_core_cycles;
    return a.pipe == pipe ? 0.0 : hw_.flag_cycles;
  }

  const KLaunch& l_;
  const HardwareProfile& hw_;
  std::vector<KTraceEvent>* trace_;
  int trace_items_;
  int slots_;
  std::vector<BufferState> buffers_;
  std::vector<double> cycles_;
  std::array<std::array<double, kKPipeCount>, kMaxCores> free_{};
  std::vector<long> match_;                         // per instruction
  std::map<size_t, std::array<int, 5>> match_key_;  // cross-item waits
  std::map<std::array<int, 5>, std::vector<size_t>> leftover_;
  std::vector<std::vector<double>> set_times_;  // per item, per instruction
  int items_ = 0;
  double last_end_ = 0;
};

}  // namespace

double InstrCycles(const KInstr& in, const HardwareProfile& hw) {
  switch (in.kind) {
    case KInstr::Kind::kMove:
      return CurveOf(hw, in.path).Cycles(in.bytes);
    case KInstr::Kind::kMmad: {
      const Fractal& f = in.int8    ? hw.fractal_int8
                         : in.int16 ? hw.fractal_int16
                         : in.fp32  ? hw.fractal_fp32
                                    : hw.fractal_fp16;
      const double fractals = static_cast<double>(
          CeilDiv(in.m, f.m0) * CeilDiv(in.n, f.n0) * CeilDiv(in.k, f.k0));
      return hw.mmad_start_cycles + fractals * hw.mmad_cycles_per_fractal;
    }
    case KInstr::Kind::kVector: {
      const VectorOpClass& cls = in.mul ? hw.vector_mul : hw.vector_add;
      return cls.Cycles(static_cast<long long>(std::ceil(in.repeats))) +
             (in.scalar_sync ? hw.vector_scalar_sync_cycles : 0.0);
    }
    case KInstr::Kind::kScalar:
      return in.cycles;
    case KInstr::Kind::kSetFlag:
    case KInstr::Kind::kWaitFlag:
    case KInstr::Kind::kBarrier:
      return 0.0;  // priced by the scheduler (hand-offs)
  }
  return 0.0;
}

KernelCost PriceKernel(const KernelProgram& program, const HardwareProfile& hw,
                       int trace_items) {
  if (program.launches.empty() || program.chunks < 1) {
    throw InputError("kernel " + program.name + ": nothing to price");
  }
  KernelCost cost;
  cost.kernel = program.name;
  for (const KLaunch& launch : program.launches) {
    KLaunchCost lc;
    lc.name = launch.name;
    if (launch.item.empty()) {  // a fill kernel: bandwidth-bound writes
      lc.cycles =
          hw.launch_cycles + launch.zero_fill_bytes / hw.gm_bytes_per_cycle;
      cost.launches.push_back(lc);
      cost.total_cycles += lc.cycles;
      continue;
    }
    for (const KInstr& in : launch.item) {
      TRISIM_ASSERT(in.core >= 0 && in.core < kMaxCores);
    }
    const int cores = std::max(1, launch.cores);
    lc.items_per_core = CeilDiv(launch.items, cores);
    {
      CoreSim alone(launch, hw, nullptr, 0);
      lc.item_latency = alone.RunItem();
    }
    const bool traced = cost.trace.empty() && trace_items > 0;
    CoreSim sim(launch, hw, traced ? &cost.trace : nullptr, trace_items);
    const long long simulate = std::min(lc.items_per_core, kMaxSimItems);
    std::vector<double> ends;
    for (long long i = 0; i < simulate; ++i) ends.push_back(sim.RunItem());
    const long long w = std::max<long long>(1, simulate / 2);
    lc.item_period =
        simulate > 1 ? (ends.back() - ends[simulate - 1 - w]) / w : ends[0];
    const double makespan =
        ends.back() +
        static_cast<double>(lc.items_per_core - simulate) * lc.item_period;
    lc.cycles = hw.launch_cycles + makespan;
    cost.total_cycles += lc.cycles;
    cost.launches.push_back(lc);
  }
  cost.time_us = cost.total_cycles / hw.clock_mhz;
  cost.chunk_cycles =
      cost.total_cycles * hw.cube_cores / static_cast<double>(program.chunks);
  return cost;
}

}  // namespace trisim
