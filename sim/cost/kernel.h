// Kernel-level cost model (sim/COST_MODEL.md section 7; issue 12): prices a
// kernel *as issued* - full-tile instructions at the shapes the kernel
// issues, FIXPIPE destinations, intra-core flags, cross-core flags with
// their GM round trips, vector <-> scalar syncs, launches and zero-fill
// kernels, and the work items a core holds at once - on in-order per-pipe
// queues with hazards on the kernel's named buffers (no renaming).
//
// A KernelProgram is data: the instruction stream of ONE work item per
// launch, over named buffers. Buffers marked per_slot have one copy per work
// item a core holds at once (`slots`, from the kernel's buffer allocation,
// e.g. pto mxr's four Y tiles); every other buffer is shared by all items,
// so item i+1 waits for item i wherever they share one (write-after-read and
// write-after-write hazards, no renaming). Dependencies are the hazards on
// named buffers; a dependency between two pipes of one core is a set_flag /
// wait_flag pair (profile sync.flag_cycles), between cores a cross-core flag
// (sync.cross_core_flag_cycles) after the data went through GM; a vector op
// marked scalar_sync pays sync.vector_scalar_sync_cycles before it starts.
//
// Programs come from kernel plans (core/plan.h, core/kernels/) through
// sim/cost/kernel_lowering.h, with no per-kernel code; sim/cost/
// kernel_readings.h keeps hand-written readings only for the kernels that
// have no plan yet.
#pragma once

#include <string>
#include <vector>

#include "sim/cost/profile.h"

namespace trisim {

// Pipes as msprof's op-simulator traces name them.
enum class KPipe { kScalar, kMte2, kMte1, kCube, kFixp, kVector, kMte3 };
constexpr int kKPipeCount = 7;
const char* KPipeName(KPipe pipe);  // "SCALAR", "MTE2", "MTE1", "CUBE", ...

// Transfer paths, priced by the profile's measured curves ([curves]).
enum class KPath {
  kGmToL1,
  kL1ToL0A,
  kL1ToL0B,
  kL0cToL1,
  kL0cToGm,
  kGmToUb,
  kUbToGm,
  kUbToUb
};
KPipe PipeOf(KPath path);
const TransferCurve& CurveOf(const HardwareProfile& hw, KPath path);

struct KInstr {
  // kSetFlag / kWaitFlag / kBarrier: the kernel's own synchronisation
  // (core/plan.h kSync), priced as issued:
  //  set_flag(from, to, e) on core `from_core` (= `core`, the issuing
  //    core, as for every instruction): records when pipe `from` has
  //    finished everything issued to it before (occupies no pipe);
  //  wait_flag(from, to, e) on core `to_core` (= `core`): pipe `to` issues
  //    nothing
  //    until the matching set plus the hand-off (sync.flag_cycles, or
  //    sync.kernel_cross_core_cycles when `cross_core`). Sets and waits of
  //    one key (cores, pipes, event) match first-in first-out within a work
  //    item; a wait before any set of its key in the item waits for a set
  //    the item `slots` earlier left unmatched (the kernel's per-tile
  //    events), and is free for the first items (the prologue set it);
  //  pipe_barrier: from = kScalar stands for PIPE_ALL (every pipe of the
  //    core waits for all of them); a barrier on one in-order pipe costs
  //    nothing.
  enum class Kind {
    kMove,
    kMmad,
    kVector,
    kScalar,
    kSetFlag,
    kWaitFlag,
    kBarrier
  };
  Kind kind = Kind::kScalar;
  int core = 0;  // 0: the cube core of the group; 1, 2: its vector cores
  KPipe flag_from = KPipe::kScalar;  // kSetFlag / kWaitFlag / kBarrier
  KPipe flag_to = KPipe::kScalar;    // kSetFlag / kWaitFlag
  int from_core = 0;                 // kSetFlag / kWaitFlag: the setting core
  int to_core = 0;                   // kSetFlag / kWaitFlag: the waiting core
  int event = 0;                     // kSetFlag / kWaitFlag
  bool cross_core = false;           // a cross-core flag (through GM)
  KPath path = KPath::kGmToL1;       // kMove
  double bytes = 0;                  // kMove
  int m = 0, n = 0, k = 0;           // kMmad, elements
  bool int8 = false;                 // kMmad: the int8 fractal, else fp16
  bool fp32 = false;                 // kMmad: the fp32 fractal (ieee dots)
  bool int16 = false;                // kMmad: the (hypothetical) int16 fractal
  double repeats = 0;                // kVector: 256-byte repeats
  bool mul = false;                  // kVector: mul class, else add class
  bool scalar_sync = false;          // kVector: synced with the scalar unit
  double cycles = 0;                 // kScalar: fixed cycles
  std::vector<int> reads, writes;    // buffer ids
  std::string what;                  // for traces
};

struct KBuffer {
  std::string name;
  bool per_slot = false;  // one copy per work item held at once
};

// One launch of one kernel: the instruction stream of a work item, how many
// work items the launch has and on how many cores (or core groups) they run.
struct KLaunch {
  std::string name;
  std::vector<KBuffer> buffers;
  std::vector<KInstr> item;  // one work item
  int slots = 1;             // work items a core holds at once
  long long items = 0;       // work items of the launch
  int cores = 0;             // cores (core groups) the items are spread on
  bool per_program_overhead = false;  // Triton: sync.program_cycles per item
  double zero_fill_bytes = 0;         // a fill kernel: bytes written, no items
};

struct KernelProgram {
  std::string name;  // e.g. "pto-mxr"
  int chunk = 0;
  long long chunks = 0;           // chunks of the whole workload
  std::vector<KLaunch> launches;  // run one after another
};

struct KTraceEvent {
  KPipe pipe;
  int core;
  int item;
  double start, end;
  std::string what;
};

struct KLaunchCost {
  std::string name;
  double cycles = 0;        // launch overhead + makespan
  double item_latency = 0;  // one work item alone on an idle core
  double item_period = 0;   // steady-state cycles per item on one core
  long long items_per_core = 0;
};

struct KernelCost {
  std::string kernel;
  double total_cycles = 0;  // chip time, launches in sequence
  double time_us = 0;
  // Per chunk per core group: total_cycles x groups / chunks (the figure
  // KERNELS.md section 5 derives from the papers' bandwidths).
  double chunk_cycles = 0;
  std::vector<KLaunchCost> launches;
  std::vector<KTraceEvent> trace;  // first items of the first launch's core
};

// Prices `program` on `hw`. `trace_items` work items of each launch's first
// core are kept in KernelCost::trace. Throws InputError for an empty
// program.
KernelCost PriceKernel(const KernelProgram& program, const HardwareProfile& hw,
                       int trace_items = 0);

// Cycles of one instruction alone on `hw`.
double InstrCycles(const KInstr& in, const HardwareProfile& hw);

}  // namespace trisim
