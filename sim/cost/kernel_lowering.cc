#include "sim/cost/kernel_lowering.h"

#include <algorithm>
#include <cmath>

#include "core/status.h"

namespace trisim {
namespace {

constexpr int kCubeCore = 0;
constexpr int kVectorCore = 1;

double ElementBytes(const Buffer& b, const PipelinePrecision& p) {
  switch (b.format) {
    case FormatClass::kInput:
      return p.input_bytes;
    case FormatClass::kOperand:
      return p.operand_bytes;
    case FormatClass::kOutput:
      return p.output_bytes;
    case FormatClass::kVector:
    case FormatClass::kStorage:
      return p.vector_bytes;
    case FormatClass::kAccumulator:
      return p.accumulator_bytes;
    case FormatClass::kFp32:
      return 4;
    case FormatClass::kDefault:
      return b.role == BufferRole::kInput ? p.input_bytes : p.vector_bytes;
  }
  return 4;
}

// The transfer path of a move from memory `from` to memory `to`; false if
// the step is not a move between memories.
bool MovePath(Memory from, Memory to, KPath* path) {
  if (from == Memory::kGM && to == Memory::kL1)
    *path = KPath::kGmToL1;
  else if (from == Memory::kL1 && to == Memory::kL0A)
    *path = KPath::kL1ToL0A;
  else if (from == Memory::kL1 && to == Memory::kL0B)
    *path = KPath::kL1ToL0B;
  else if (from == Memory::kGM && to == Memory::kUB)
    *path = KPath::kGmToUb;
  else if (from == Memory::kUB && to == Memory::kGM)
    *path = KPath::kUbToGm;
  else if (from == Memory::kUB && to == Memory::kUB)
    *path = KPath::kUbToUb;
  else if (from == Memory::kL0C && to == Memory::kL1)
    *path = KPath::kL0cToL1;
  else if (from == Memory::kL0C && to == Memory::kGM)
    *path = KPath::kL0cToGm;
  else if (from == Memory::kL0C && to == Memory::kUB)
    *path = KPath::kL0cToGm;
  else
    return false;
  return true;
}

// A fill of an L0A/L0B/L1 tile is a move from a resident constant tile
// (pto-kernels TMOVs its Zero / I tiles); in UB a vector instruction.
bool FillPath(Memory to, KPath* path) {
  if (to == Memory::kL0A)
    *path = KPath::kL1ToL0A;
  else if (to == Memory::kL0B)
    *path = KPath::kL1ToL0B;
  else if (to == Memory::kL1)
    *path = KPath::kL0cToL1;  // via an Mmad seed
  else
    return false;
  return true;
}

KPipe ToKPipe(KernelPipe pipe) {
  switch (pipe) {
    case KernelPipe::kMTE2:
      return KPipe::kMte2;
    case KernelPipe::kMTE1:
      return KPipe::kMte1;
    case KernelPipe::kM:
      return KPipe::kCube;
    case KernelPipe::kFIX:
      return KPipe::kFixp;
    case KernelPipe::kV:
      return KPipe::kVector;
    case KernelPipe::kMTE3:
      return KPipe::kMte3;
    default:
      return KPipe::kScalar;
  }
}

// The core a pipe lives on: the cube core's MTE1 / M / FIX, a vector core's
// V / MTE3; -1 for pipes both kinds of core have (MTE2, S).
int SideOf(KernelPipe pipe) {
  switch (pipe) {
    case KernelPipe::kMTE1:
    case KernelPipe::kM:
    case KernelPipe::kFIX:
      return kCubeCore;
    case KernelPipe::kV:
    case KernelPipe::kMTE3:
      return kVectorCore;
    default:
      return -1;
  }
}

// A kSync step as the scheduler's flag instruction (sim/cost/kernel.h
// KInstr): intra-core flags on the core of their pipes; a cross-core flag
// from the core of `from` to the other core (the side a pipe both cores have
// follows from the other end, then the launch's cores).
KInstr FlagInstr(const Step& s, int launch_core) {
  KInstr in;
  in.what = std::string(SyncKindName(s.sync.kind)) + "(" +
            KernelPipeName(s.sync.from) + ", " + KernelPipeName(s.sync.to) +
            ", " + std::to_string(s.sync.event) + ")";
  in.flag_from = ToKPipe(s.sync.from);
  in.flag_to = ToKPipe(s.sync.to);
  in.event = s.sync.event;
  const int from = SideOf(s.sync.from), to = SideOf(s.sync.to);
  switch (s.sync.kind) {
    case Sync::Kind::kSetFlag:
    case Sync::Kind::kWaitFlag: {
      const int core = from >= 0 ? from : to >= 0 ? to : launch_core;
      in.from_core = in.to_core = in.core = core;
      in.kind = s.sync.kind == Sync::Kind::kSetFlag ? KInstr::Kind::kSetFlag
                                                    : KInstr::Kind::kWaitFlag;
      break;
    }
    case Sync::Kind::kCrossCoreSet:
    case Sync::Kind::kCrossCoreWait: {
      in.from_core = from >= 0 ? from : to >= 0 ? 1 - to : 1 - launch_core;
      in.to_core = 1 - in.from_core;
      in.cross_core = true;
      const bool set = s.sync.kind == Sync::Kind::kCrossCoreSet;
      in.kind = set ? KInstr::Kind::kSetFlag : KInstr::Kind::kWaitFlag;
      in.core = set ? in.from_core : in.to_core;
      break;
    }
    case Sync::Kind::kBarrier:
      in.kind = KInstr::Kind::kBarrier;
      in.core = from >= 0 ? from : launch_core;
      break;
    case Sync::Kind::kVectorScalar:
      break;  // marks the next vector op (LowerKernelPlan)
  }
  return in;
}

// GM buffers and the L1 tiles GM loads fill are one per work item held
// (KLaunch::slots).
std::vector<bool> PerSlotBuffers(const Plan& plan) {
  std::vector<bool> per_slot(plan.buffers.size(), false);
  for (size_t b = 0; b < plan.buffers.size(); ++b) {
    per_slot[b] = plan.buffers[b].memory == Memory::kGM;
  }
  for (const Step& s : plan.steps) {
    if (s.op == OpKind::kCopy && !s.in.empty() &&
        plan.buffers[s.in[0].buffer].memory == Memory::kGM &&
        plan.buffers[s.out.buffer].memory == Memory::kL1) {
      per_slot[s.out.buffer] = true;
    }
  }
  return per_slot;
}

// Vector repeats over `elements` values of `dst` (256 bytes a repeat).
double VectorRepeats(double elements, const Buffer& dst,
                     const PipelinePrecision& pr) {
  return std::ceil(elements * ElementBytes(dst, pr) / 256.0);
}

// Bytes per element a move writes into `dst`: L0A / L0B hold cube
// operands, in the operand format.
double MoveElementBytes(const Buffer& dst, const PipelinePrecision& pr) {
  const bool l0 = dst.memory == Memory::kL0A || dst.memory == Memory::kL0B;
  return l0 ? pr.operand_bytes : ElementBytes(dst, pr);
}

// The lowering of one kernel plan's steps into per-launch instruction
// streams (one work item each), then the launches priced as the plan's
// Launch facts say.
class KernelLowering {
 public:
  KernelLowering(const Plan& plan, const PipelinePrecision& pr,
                 const std::string& name)
      : plan_(plan),
        pr_(pr),
        name_(name),
        launches_(std::max<size_t>(1, plan.launches.size())),
        out_(launches_),
        ids_(launches_, std::vector<int>(plan.buffers.size(), -1)),
        per_slot_(PerSlotBuffers(plan)),
        sync_next_(launches_, false),
        family_copies_(launches_) {}

  // One plan step into its launch's stream: batching, flags, then the
  // step's instructions by kind.
  void LowerStep(const Step& s) {
    const size_t l = std::min<size_t>(std::max(0, s.launch), launches_ - 1);
    if (s.once_per_core || s.pipe == KernelPipe::kHost) return;
    const bool batched =
        l < plan_.launches.size() && plan_.launches[l].batch > 1;
    double scale = 1;  // copies one instruction of the step covers
    if (batched) {
      const int copy = BatchCopy(s, l);
      auto& seen = family_copies_[l];
      if (copy >= 0 && std::find(seen.begin(), seen.end(), copy) == seen.end())
        seen.push_back(copy);
      if (copy > 0) return;  // issued with copy 0, batched
      scale = plan_.launches[l].batch;
    }
    if (s.op == OpKind::kSync) {
      LowerSync(s, l);
      return;
    }
    bool reads_gm = false;
    for (const View& v : s.in) {
      reads_gm |=
          v.buffer >= 0 && plan_.buffers[v.buffer].memory == Memory::kGM;
    }
    // A GM read issues once per copy (a block pointer each); the rest once
    // per unit over all copies' bytes.
    const int repeat = batched && reads_gm ? static_cast<int>(scale) : 1;
    if (repeat > 1) scale = 1;
    KInstr in;
    const Buffer& dst = plan_.buffers.at(s.out.buffer);
    for (const View& v : s.Reads()) in.reads.push_back(Id(l, v.buffer));
    in.writes.push_back(Id(l, s.out.buffer));
    in.what = s.label;
    const bool vector_side = s.pipe == KernelPipe::kV ||
                             s.pipe == KernelPipe::kMTE3 ||
                             dst.memory == Memory::kUB;
    in.core = vector_side ? VectorCore(s) : kCubeCore;
    if (!LowerOp(s, l, scale, &in)) return;
    if (in.kind == KInstr::Kind::kVector) {
      in.core = VectorCore(s);
      in.scalar_sync = sync_next_[l];
      sync_next_[l] = false;
    }
    for (int r = 1; r < repeat; ++r) out_[l].item.push_back(in);
    out_[l].item.push_back(std::move(in));
  }

  // Launch `l` priced as its Launch facts say, added to `program` (a
  // zero-fill launch as the bytes it writes; nothing for an empty one).
  void FinishLaunch(size_t l, long long chunks, bool zero_fill,
                    const HardwareProfile& hw, KernelProgram* program) {
    const Launch* facts =
        l < plan_.launches.size() ? &plan_.launches[l] : nullptr;
    KLaunch& k = out_[l];
    k.name = facts ? facts->name : plan_.kernel.name;
    if (facts && facts->zero_fill) {
      if (!zero_fill) return;
      k.item.clear();
      k.zero_fill_bytes = ZeroFillBytes(l, chunks);
      program->launches.push_back(std::move(k));
      return;
    }
    if (k.item.empty()) return;
    k.slots = std::max(1, plan_.kernel.items_loaded_per_core);
    k.items = chunks;
    if (facts && facts->batch > 1) {
      // Units of `batch` copies gathered across chunks.
      const long long copies =
          chunks * std::max<long long>(1, family_copies_[l].size());
      k.items = (copies + facts->batch - 1) / facts->batch;
    }
    if (facts && facts->units_per_program > 0) {
      // One grid program per `units_per_program` units, each program's
      // start paid on its core (profile sync.program_cycles).
      const int units = facts->units_per_program;
      const std::vector<KInstr> unit = k.item;
      for (int u = 1; u < units; ++u) {
        k.item.insert(k.item.end(), unit.begin(), unit.end());
      }
      k.items = (k.items + units - 1) / units;
      k.per_program_overhead = true;
    }
    const bool vector_only = facts && facts->cores == Launch::Cores::kVector;
    k.cores = vector_only ? hw.vector_cores : hw.cube_cores;
    program->launches.push_back(std::move(k));
  }

  size_t launches() const { return launches_; }

 private:
  // The step's vector core of the group (two per cube core on the 910B).
  static int VectorCore(const Step& s) {
    return kVectorCore + std::clamp(s.vector_core, 0, 1);
  }

  // The launch-local id of a plan buffer (KLaunch::buffers), added on first
  // use.
  int Id(size_t l, int buffer) {
    int& i = ids_[l][buffer];
    if (i < 0) {
      out_[l].buffers.push_back(
          KBuffer{plan_.buffers[buffer].name, per_slot_[buffer]});
      i = static_cast<int>(out_[l].buffers.size()) - 1;
    }
    return i;
  }

  // Batched launches (Launch::batch): copies of the batch family per chunk;
  // the unit stream is the first copy's steps, scaled by the batch. The
  // step's copy index in the family, or -1.
  int BatchCopy(const Step& s, size_t l) const {
    const Launch& f = plan_.launches[l];
    for (const CopyPosition& c : s.copies) {
      const CopyScope& scope = plan_.copy_scopes.at(c.scope);
      if (scope.family == f.batch_family) return scope.index;
    }
    return -1;
  }

  // A kSync step: a vector <-> scalar sync marks the next vector op; the
  // other flags are the scheduler's flag instructions.
  void LowerSync(const Step& s, size_t l) {
    if (s.sync.kind == Sync::Kind::kVectorScalar) {
      sync_next_[l] = true;
      return;
    }
    const bool vector_launch =
        l < plan_.launches.size() &&
        plan_.launches[l].cores == Launch::Cores::kVector;
    out_[l].item.push_back(
        FlagInstr(s, vector_launch ? kVectorCore : kCubeCore));
  }

  // Fills `in` for the step's kind; false when the step is done (its
  // instructions pushed already, or nothing per chunk to price).
  bool LowerOp(const Step& s, size_t l, double scale, KInstr* in) {
    const Buffer& dst = plan_.buffers.at(s.out.buffer);
    const double elements = 1.0 * s.out.rows * s.out.cols;
    switch (s.op) {
      case OpKind::kMmad:
        LowerMmad(s, l, *in);
        return false;
      case OpKind::kStore:
      case OpKind::kCopy:
        LowerMove(s, scale, in);
        return true;
      case OpKind::kZero:
      case OpKind::kIdentity:
        return LowerFill(dst, elements, scale, in);
      case OpKind::kForwardRow:
      case OpKind::kLinComb:
      case OpKind::kMask:
        return LowerVectorStep(s, l, scale, in);
      case OpKind::kMatMul:
        throw InputError("kernel plan " + name_ + ": step '" + s.label +
                         "' is a math-level matmul");
      default:  // kTranspose on the device
        in->kind = KInstr::Kind::kVector;
        in->repeats = VectorRepeats(scale * elements, dst, pr_);
        return true;
    }
  }

  // One Mmad per product at the shape issued; integer operands: one per k
  // group of a block scale (pr.k_group), 4 int8 Mmads per product for
  // emulated int16 (pr.mmads_per_product).
  void LowerMmad(const Step& s, size_t l, const KInstr& in) {
    for (size_t p = 0; p + 1 < s.in.size(); p += 2) {
      KInstr mmad = in;
      mmad.kind = KInstr::Kind::kMmad;
      mmad.core = kCubeCore;
      mmad.m = s.in[p].rows;
      mmad.k = s.in[p].cols;
      mmad.n = s.in[p + 1].cols;
      mmad.int8 = pr_.cube == CubeDataType::kInt8 ||
                  pr_.cube == CubeDataType::kInt16Emulated;
      mmad.int16 = pr_.cube == CubeDataType::kInt16Native;
      mmad.fp32 = pr_.cube == CubeDataType::kFp32;
      int groups = 1;
      if (pr_.k_group > 0 && pr_.k_group < mmad.k) {
        groups = (mmad.k + pr_.k_group - 1) / pr_.k_group;
        mmad.k = pr_.k_group;
      }
      for (int g = 0; g < groups * std::max(1, pr_.mmads_per_product); ++g)
        out_[l].item.push_back(mmad);
    }
  }

  // kStore / kCopy: a move between memories on its path, else a vector
  // copy within UB or registers.
  void LowerMove(const Step& s, double scale, KInstr* in) const {
    const Buffer& dst = plan_.buffers.at(s.out.buffer);
    const double elements = 1.0 * s.out.rows * s.out.cols;
    const Memory from = plan_.buffers.at(s.in.at(0).buffer).memory;
    KPath path = KPath::kGmToL1;
    if (MovePath(from, dst.memory, &path)) {
      in->kind = KInstr::Kind::kMove;
      in->path = path;
      in->bytes = scale * elements * MoveElementBytes(dst, pr_);
      in->core = PipeOf(path) == KPipe::kMte3 ||
                         PipeOf(path) == KPipe::kVector ||
                         (path == KPath::kGmToUb)
                     ? VectorCore(s)
                     : kCubeCore;
      return;
    }
    in->kind = KInstr::Kind::kVector;
    in->repeats = VectorRepeats(scale * elements, dst, pr_);
  }

  // kZero / kIdentity: a move from a resident constant tile (FillPath), a
  // vector fill in UB; false for an accumulator seed or a GM constant (not
  // per chunk). The move is priced for one copy (no batch scale).
  bool LowerFill(const Buffer& dst, double elements, double scale,
                 KInstr* in) const {
    KPath path = KPath::kGmToL1;
    if (FillPath(dst.memory, &path)) {
      in->kind = KInstr::Kind::kMove;
      in->path = path;
      in->bytes = elements * MoveElementBytes(dst, pr_);
      in->core = kCubeCore;
      return true;
    }
    if (dst.memory == Memory::kL0C || dst.memory == Memory::kGM) return false;
    in->kind = KInstr::Kind::kVector;
    in->repeats = VectorRepeats(scale * elements, dst, pr_);
    return true;
  }

  // kForwardRow / kLinComb / kMask: the instructions the kernel issues for
  // the step when recorded (then pushed here; false), else one vector op.
  bool LowerVectorStep(const Step& s, size_t l, double scale, KInstr* in) {
    const Buffer& dst = plan_.buffers.at(s.out.buffer);
    if (!s.issued.empty()) {
      // In order, each over its elements, as a dependent chain on the
      // step's output.
      for (const VectorIssue& v : s.issued) {
        KInstr vi = *in;
        vi.kind = KInstr::Kind::kVector;
        vi.core = VectorCore(s);
        vi.mul = v.mul;
        vi.repeats = VectorRepeats(scale * v.elements, dst, pr_);
        vi.scalar_sync = v.scalar_sync;
        vi.what = s.label + ": " + v.what;
        out_[l].item.push_back(std::move(vi));
      }
      sync_next_[l] = false;
      return false;
    }
    in->kind = KInstr::Kind::kVector;
    if (s.op != OpKind::kForwardRow) {
      const double elements = 1.0 * s.out.rows * s.out.cols;
      in->mul = s.op == OpKind::kMask;
      in->repeats = VectorRepeats(scale * elements, dst, pr_);
      return true;
    }
    in->mul = true;
    if (s.row_reduce != Step::RowReduce::kNone) {
      // Lane form (core/plan.h): a w x w product tile, its reduction over
      // the rows (w x w adds) and the row update (w adds).
      const double w = s.out.cols;
      in->repeats = VectorRepeats(scale * w * w, dst, pr_) * 2 +
                    VectorRepeats(scale * w, dst, pr_);
    } else {
      in->repeats = VectorRepeats(scale * s.row * s.row, dst, pr_);
    }
    return true;
  }

  // The bytes a zero-fill launch writes: the buffers its steps fill, a
  // per-chunk output once per chunk, a constant (pto's -I) once; the
  // whole output if its steps name none.
  double ZeroFillBytes(size_t l, long long chunks) const {
    double bytes = 0;
    for (const Step& st : plan_.steps) {
      if (static_cast<size_t>(std::max(0, st.launch)) != l ||
          st.out.buffer < 0) {
        continue;
      }
      const Buffer& b = plan_.buffers[st.out.buffer];
      bytes += 1.0 * st.out.rows * st.out.cols * ElementBytes(b, pr_) *
               (b.role == BufferRole::kOutput ? chunks : 1);
    }
    return bytes > 0
               ? bytes
               : 1.0 * chunks * plan_.chunk * plan_.chunk * pr_.output_bytes;
  }

  const Plan& plan_;
  const PipelinePrecision& pr_;
  const std::string name_;
  const size_t launches_;
  std::vector<KLaunch> out_;
  std::vector<std::vector<int>> ids_;
  const std::vector<bool> per_slot_;
  std::vector<bool> sync_next_;
  std::vector<std::vector<int>> family_copies_;
};

}  // namespace

KernelProgram LowerKernelPlan(const Plan& plan, const PipelinePrecision& pr,
                              long long chunks, bool zero_fill,
                              const HardwareProfile& hw) {
  if (!plan.IsKernelPlan()) {
    throw InputError("plan " + plan.method +
                     " is a math-level plan: --kernel NAME prices kernel "
                     "plans (trisim kernels lists them)");
  }
  KernelProgram program;
  program.name = plan.method + ":" + plan.kernel.name;
  program.chunk = plan.chunk;
  program.chunks = chunks;
  KernelLowering lowering(plan, pr, program.name);
  for (const Step& s : plan.steps) lowering.LowerStep(s);
  for (size_t l = 0; l < lowering.launches(); ++l) {
    lowering.FinishLaunch(l, chunks, zero_fill, hw, &program);
  }
  if (program.launches.empty()) {
    throw InputError("kernel plan " + program.name + ": no work to price");
  }
  return program;
}

}  // namespace trisim
