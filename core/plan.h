// An inversion algorithm as data: named buffers and a sequence of typed steps.
//
// One builder per algorithm (core/methods/*.cc) emits a Plan; one executor
// (sim/) runs it under a precision recipe and the cost model (sim/) prices
// it. Neither switches on algorithm names: everything they need is here.
//
// Conventions
//  - Buffers are row-major matrices; a View is a rectangular block of one.
//  - Step semantics (out = ...):
//      kIdentity    out = I                        (out square)
//      kZero        out = 0
//      kCopy        out = in0
//      kLinComb     out = sum_i coef_i * in_i      (1 to 3 terms, elementwise)
//      kMatMul      out = sign * sum_p in_{2p} in_{2p+1}
//                   All products of one step accumulate in the cube's
//                   accumulator and leave it once (one rounding to the output
//                   format). `out` may alias an input: the result is written
//                   after all operands are read.
//      kMask        out = in0 with entries outside the mask set to 0
//      kForwardRow  vector forward-substitution step on one row `row` of the
//                   unit-lower block `out` (which must already hold rows
//                   0..row-1 and a unit diagonal), from the strictly lower
//                   block in0 (FLA's form, fla/chunk_scaled_dot_kkt
//                   solve_tril):
//                     N[row, :row] = -L[row, :row] - L[row, :row] N[:row, :row]
//                   where N = out - I.
//  - Units: UnitOf(op) below is the one answer to "which unit runs this
//    op": kMatMul the cube, kLinComb/kMask/kForwardRow the vector unit,
//    kIdentity/kZero/kCopy are data movement (no arithmetic; a cost model
//    places them next to their data).
//
// Kernel-level plans (core/kernels/): the same buffers and steps, plus what a
// device kernel does at instruction level. Everything below is additive: a
// math-level plan (core/methods/) never sets these fields, and its listing,
// results and prices are unchanged.
//  - Buffers have a memory space (GM, L1, L0A, L0B, L0C, UB, registers) and a
//    format class: the recipe field their contents are stored in (input,
//    storage, output, operand, vector, accumulator) or a fixed fp32. The
//    recipe fixes the formats, the kernel only says which class a buffer is.
//  - kMmad    acc (= or +=) sum_p in_{2p} in_{2p+1}, into an accumulator
//             buffer (memory L0C, class accumulator): one cube instruction
//             sequence that leaves nothing. `accumulate` = false starts from
//             +0 (TMATMUL); true starts from the accumulator's current
//             contents, left by an earlier step (TMATMUL_ACC, X resident in
//             L0C). Operands are read as stored (already in the operand
//             format when the kernel moved them there) and rounded to the
//             recipe's operand format (exact when narrower). The products'
//             order and fp32 rounding are sim/cube.h's, continued from the
//             starting value. Full tiles: an operand with embedded blocks is
//             an L0A/L0B buffer built by kZero + kCopy of the blocks, so the
//             zero products the device computes are computed too.
//  - kStore   out = Round(in0) from an accumulator (FIXPIPE / fixpipe-like
//             store): the one rounding where a result leaves the
//             accumulator, to out's format class (storage, output or fp32),
//             with the recipe's rounding. The destination is out's memory
//             (L1 when the result is next an operand, GM for the output or a
//             cross-core hand-off).
//  - kTranspose out = in0^T, exact (a layout convention, e.g. pto-kernels
//             takes U = L^T; pipe kHost = outside the kernel, not priced).
//  - kSync    no data: a set_flag / wait_flag between two pipes, a pipe
//             barrier, a cross-core flag (set or wait) or a vector <-> scalar
//             sync, as the kernel issues it. The executor skips it; the cost
//             model prices it.
//  - kCopy / kZero / kIdentity between memories are the kernel's moves
//    (TLOAD GM->L1, TMOV L1->L0A/L0B, TEXTRACT of one fractal, zero-fill of
//    an operand tile, UB<->GM); they are exact unless the destination's
//    format is narrower (then they round, as before).
//  - Vector steps (kLinComb, kForwardRow, kMask) are issued as the kernel
//    issues them; their results round to the out buffer's format class.
//  - kForwardRow, lane form (Step::row_reduce != kNone; PlanBuilder::
//    LaneRow): the row update of the Triton / tilelang solve_tril kernels,
//    which multiply a whole row of lanes into the working block and reduce
//    over the block's rows. On the w x w working block W = out (rows < row
//    already updated, rows >= row as initialised), with a = W[row, :]
//    (the lanes, read before the update) and every operation rounded to the
//    recipe's vector format:
//      p_k = a_k * W[k, j]                   k = 0 .. w-1 (zero lanes too)
//      S_j = reduce_k p_k                    in `row_reduce` order
//      W[row, j] = a_j + row_sign * S_j      j = 0 .. w-1 (the whole row)
//    row_sign = +1: FLA / Triton (b_a + tl.sum(b_a[:, None] * b_A, 0));
//    -1: tilelang (o[i, :] - reduce_sum(o * broadcast(o[i, :]), dim=0)).
//    Orders: sequential ((p_0 + p_1) + p_2) + ...; halving (pairwise tree:
//    p_k + p_{k+w/2}, then + w/4, ... as a warp's xor-shuffle reduction or
//    a halving vector reduction issues it).
//  - Every step records the pipe that issues it and the launch it belongs
//    to; the plan records its launches (including zero-fill launches) and
//    KernelFacts: the kernel's public source and how many work items
//    (chunks) one core holds at once.
#pragma once

#include <string>
#include <vector>

namespace trisim {

enum class BufferRole { kInput, kOutput, kTemp, kConstant, kAccumulator };

// Where a kernel keeps a buffer (NPU.md "Buffers per core"; kRegisters for
// GPU kernels). kNone: a math-level plan, no placement.
enum class Memory { kNone, kGM, kL1, kL0A, kL0B, kL0C, kUB, kRegisters };
const char* MemoryName(Memory memory);

// Which recipe field a buffer's contents are stored in. kDefault is the
// math-level rule: the input buffer in `input`, every other in `storage`.
// kFp32 is fixed by the kernel (e.g. an fp32 output staged in GM).
enum class FormatClass {
  kDefault,
  kInput,
  kStorage,
  kOutput,
  kOperand,
  kVector,
  kAccumulator,
  kFp32
};
const char* FormatClassName(FormatClass format);

struct Buffer {
  std::string name;
  int rows = 0;
  int cols = 0;
  BufferRole role = BufferRole::kTemp;
  Memory memory = Memory::kNone;               // kernel plans only
  FormatClass format = FormatClass::kDefault;  // kernel plans only
};

struct View {
  int buffer = -1;
  int row = 0;
  int col = 0;
  int rows = 0;
  int cols = 0;

  View Block(int r, int c, int nr, int nc) const;
  bool Overlaps(const View& other) const;
  bool Covers(const View& other) const;
};

// Structural masks for truncated Neumann and block decompositions.
struct Mask {
  enum class Kind { kNone, kBand, kBlockDiagonal } kind = Kind::kNone;
  // kBand: keep i - j <= width (and i >= j). kBlockDiagonal: keep the
  // width x width diagonal blocks.
  int width = 0;

  bool Keeps(int i, int j) const;
  std::string Name() const;  // "none", "band:3", "block:16"
};
// Parses "none", "band:W", "block:B"; throws InputError otherwise.
Mask ParseMask(const std::string& text);

enum class OpKind {
  kIdentity,
  kZero,
  kCopy,
  kLinComb,
  kMatMul,
  kMask,
  kForwardRow,
  // Kernel-level (see the header comment).
  kMmad,
  kStore,
  kTranspose,
  kSync
};
const char* OpName(OpKind op);

// The unit whose arithmetic an op needs (stage manifests' "unit"; the cost
// model's placement of the data-movement ops is its own lowering choice).
// kFixpipe: a kStore leaving the accumulator; kSync: a flag or barrier.
enum class OpUnit { kCube, kVector, kMove, kFixpipe, kSync };
OpUnit UnitOf(OpKind op);
const char* OpUnitName(OpUnit unit);  // "cube" | "vector" | "move" | ...

// Where a step sits among parallel copies (PlanBuilder::PushCopy): the same
// instructions emitted once per independent block (mxr's per-block mch,
// fla's per-block forward substitution, mbh's per-pair merges). One entry per
// enclosing copy scope, outermost first.
struct CopyPosition {
  int scope = -1;    // index into Plan::copy_scopes (one instance)
  int position = 0;  // the step's index among the steps of that instance
};

// One instance of a copy scope. Instances with the same family (same name,
// pushed inside the same enclosing instance) are copies of each other.
struct CopyScope {
  std::string family;  // e.g. "blk"
  int index = 0;       // which copy
  int parent = -1;     // enclosing instance, or -1
};
// The pipe that issues a step (NPU.md "Pipelines"): MTE2 GM->L1/UB, MTE1
// L1->L0A/L0B, M the cube, FIX the FIXPIPE (L0C->L1/GM), V the vector unit,
// MTE3 UB->GM, S the scalar unit. kHost: outside the kernel (input
// conventions, not priced). kNone: a math-level plan.
enum class KernelPipe { kNone, kMTE2, kMTE1, kM, kFIX, kV, kMTE3, kS, kHost };
const char* KernelPipeName(KernelPipe pipe);

// A kSync step.
struct Sync {
  enum class Kind {
    kSetFlag,        // set_flag(from, to, event)
    kWaitFlag,       // wait_flag(from, to, event)
    kBarrier,        // pipe_barrier(from) (PIPE_ALL: from = kNone)
    kCrossCoreSet,   // cube <-> vector cross-core flag, set (after its GM
                     // write: the hand-off data crosses GM)
    kCrossCoreWait,  // cross-core flag, wait (before the GM read)
    kVectorScalar,   // vector <-> scalar synchronisation (a scalar read of a
                     // vector result, or the reverse)
  } kind = Kind::kSetFlag;
  KernelPipe from = KernelPipe::kNone;
  KernelPipe to = KernelPipe::kNone;
  int event = 0;
};
const char* SyncKindName(Sync::Kind kind);

// One vector instruction of a vector step the kernel issues as several
// (kernel plans only; cost data, the executor ignores it): the lane form's
// row update is a chain of dependent instructions (Triton K1: extract,
// negate, multiply, transpose, the reduction's adds, add, insert; tilelang:
// copy, broadcast, fill, multiply, the reduction's levels, subtract), each
// waiting for the scalar unit on the device.
struct VectorIssue {
  std::string what;          // "tl.trans (1, 0, 2)", "reduce_sum level 16"
  int elements = 0;          // elements it covers (per copy of its step)
  bool mul = false;          // multiply class, else add class (NPU.md)
  bool scalar_sync = false;  // preceded by a vector <-> scalar sync
};

struct Step {
  OpKind op = OpKind::kCopy;
  std::string label;  // what the step is for: "power 2", "merge 32"
  View out;
  std::vector<View> in;
  std::vector<double> coef;  // kLinComb coefficients, one per input
  double sign = 1.0;         // kMatMul: +1 or -1 (exact in every format)
  Mask mask;                 // kMask
  int row = 0;               // kForwardRow
  // kForwardRow lane form (header comment); kNone: the math-level form.
  enum class RowReduce { kNone, kSequential, kHalving };
  RowReduce row_reduce = RowReduce::kNone;
  double row_sign = 1.0;             // lane form: +1 (a + S) or -1 (a - S)
  std::vector<CopyPosition> copies;  // enclosing copy scopes (builder)
  // Kernel-level fields (defaults for math-level plans).
  bool accumulate = false;  // kMmad: start from the accumulator's contents
  Sync sync;                // kSync
  KernelPipe pipe = KernelPipe::kNone;  // the pipe that issues the step
  int launch = 0;                       // index into Plan::launches
  // Issued once per core per launch (a prologue: constant tiles), not once
  // per work item.
  bool once_per_core = false;
  // Which vector core of the core group (1 cube + 2 vector cores on the
  // 910B; AscendC GetSubBlockIdx, tilelang's `vid`) issues a vector-side
  // step.
  int vector_core = 0;
  // The vector instructions the kernel issues for this step, in order (a
  // multi-instruction step records its scalar syncs here, since a kSync
  // step precedes a whole step); empty: one instruction over `out`, synced
  // when a kVectorScalar kSync step precedes it.
  std::vector<VectorIssue> issued;

  // Every region the step reads (kForwardRow also reads its own output,
  // kMmad with `accumulate` its accumulator).
  std::vector<View> Reads() const;
  // The region the step writes (kForwardRow: row `row`, columns 0..row-1;
  // kSync: none, buffer -1).
  View Writes() const;
  // Multiply-accumulate count (kMatMul, kMmad: as issued, zero products
  // included) or elementwise operation count (0 for kSync).
  long long Flops() const;
};

// The adds a reduction over the `rows` rows of a rows x cols tile issues, in
// `order` (Step::RowReduce): sequential rows - 1 adds of one row, halving
// log2(rows) levels of half the remaining rows each. One source op (tl.sum,
// reduce_sum): the first add waits for the scalar unit, the rest chain on
// the vector pipe.
std::vector<VectorIssue> ReductionIssues(Step::RowReduce order, int rows,
                                         int cols, const std::string& what);

// One kernel launch (a zero-fill of the output is a launch of its own when
// the host issues it, e.g. torch.zeros before the kernel).
struct Launch {
  std::string name;  // "tri_inv_rec_unroll", "zero-fill output"
  enum class Cores { kCube, kVector, kMixed, kGpu } cores = Cores::kCube;
  bool zero_fill = false;  // a memset-like launch (output zero-fill)
  // Programs a work item (chunk) takes: 1 for one program per chunk;
  // Triton's K1 takes many diagonal blocks per program (see the kernel).
  std::string note;  // how work items map onto programs and cores
  // Batching across work items (Triton K1: 38 diagonal blocks of many
  // chunks per vector instruction). batch > 1: the launch's steps are
  // copies of the copy family `batch_family` (PlanBuilder::PushCopy), and
  // the kernel gathers `batch` copies, from as many chunks as it takes, into
  // one unit of work: a step that reads GM issues once per copy (a block
  // pointer each), every other step once per unit over the bytes of all
  // `batch` copies. 1: a unit is one work item (chunk).
  std::string batch_family;
  int batch = 1;
  // Units (above) one grid program takes, one after another; each program
  // start costs the profile's sync.program_cycles (triton-ascend launches
  // one program per grid point, run in sequence on a core). 0: the kernel
  // loops over its items inside resident programs (no per-program cost).
  int units_per_program = 0;
};

// Structural facts of a kernel plan the cost model needs besides its steps.
struct KernelFacts {
  std::string name;     // "pto", "pto-resident", "triton-ascend", ...
  std::string source;   // "huawei-csl/pto-kernels
                        // csrc/kernel/kernel_tri_inv_rec_unroll.cpp v0.1.2"
  std::string summary;  // one line
  // Work items (chunks) one core holds at once, from the kernel's buffer
  // allocation: inputs loaded ahead (pto: up to 4 Y tiles in L1) vs the
  // chunks computed concurrently (pto: 1, one set of L1/L0 scratch tiles).
  int items_loaded_per_core = 1;
  int items_computed_per_core = 1;
  std::vector<std::string> settings;  // "order=fractal", named assumptions
};

struct Plan {
  std::string method;   // e.g. "neumann"
  std::string options;  // canonical option string, e.g. "order=3 ..."
  int chunk = 0;
  std::vector<Buffer> buffers;
  std::vector<Step> steps;
  int input = -1;   // the strictly lower L (C x C)
  int output = -1;  // X ~ (I + L)^-1 (C x C)
  // Kernel-level plans only (empty for a math-level plan): the kernel and
  // its launches. Step::launch indexes `launches`.
  KernelFacts kernel;
  std::vector<Launch> launches;
  bool IsKernelPlan() const { return !kernel.name.empty(); }

  std::vector<CopyScope> copy_scopes;  // recorded by PlanBuilder::PushCopy

  // The one definition of "which earlier steps produced what this step
  // reads": for read r of step s (Step::Reads() order), the latest steps
  // whose Writes() overlap it, newest first, back to one whose Writes()
  // covers it. Used by Dependencies() and by the cost model (sim/cost/).
  std::vector<int> Producers(int step, const View& read) const;
  // For each step, the earlier steps it depends on (read-after-write): the
  // union of Producers() over its reads, sorted.
  std::vector<std::vector<int>> Dependencies() const;
  // True when steps a != b are parallel copies by the builder's record: at
  // the outermost copy scope where their scope chains differ, both are in
  // instances of one family at the same position. Says nothing about
  // shapes or dependencies (the cost model checks those).
  bool SameCopyPosition(int a, int b) const;
  // Human-readable listing: one line per step with shapes and dependencies.
  std::string Describe() const;
  // Counts of steps per op kind and matmul flops, for summaries.
  int CountSteps(OpKind op) const;
  std::string ViewName(const View& view) const;  // "X[16:32, 0:16]"
};

// Emits steps into a plan. Builders ask it for buffers and add steps; it
// keeps names unique (scopes for nested methods, e.g. dn-split's inner).
class PlanBuilder {
 public:
  PlanBuilder(std::string method, std::string options, int chunk);

  View NewBuffer(const std::string& name, int rows, int cols,
                 BufferRole role = BufferRole::kTemp);
  // A constant identity of size n (one shared buffer per size).
  View Identity(int n);

  void PushScope(const std::string& prefix);
  void PopScope();
  // Marks the steps up to PopCopy as copy `index` of `family`: the same
  // instruction sequence on independent data (recorded in Step::copies; a
  // kernel issues such copies together). Does not change buffer names.
  void PushCopy(const std::string& family, int index);
  void PopCopy();

  void SetIdentity(View out, const std::string& label);
  void SetZero(View out, const std::string& label);
  void Copy(View out, View in, const std::string& label);
  void LinComb(View out, std::vector<double> coef, std::vector<View> in,
               const std::string& label);
  void MatMul(View out, std::vector<View> factors, double sign,
              const std::string& label);
  void ApplyMask(View out, View in, Mask mask, const std::string& label);
  void ForwardRow(View out, View l, int row, const std::string& label);
  // kForwardRow in the lane form (header comment) on the square block w.
  void LaneRow(View w, int row, Step::RowReduce order, double sign,
               const std::string& label);
  // Records the vector instructions the last added step issues
  // (Step::issued).
  void Issued(std::vector<VectorIssue> issued);

  // Kernel-level (see the header comment). A buffer with a memory space and
  // format class:
  View NewTile(const std::string& name, int rows, int cols, Memory memory,
               FormatClass format, BufferRole role = BufferRole::kTemp);
  // acc (+)= sum_p factors_{2p} factors_{2p+1}; acc an accumulator tile.
  void Mmad(View acc, std::vector<View> factors, bool accumulate,
            const std::string& label);
  // out = Round(acc) to out's format class (FIXPIPE).
  void Store(View out, View acc, const std::string& label);
  void Transpose(View out, View in, const std::string& label);
  void SetFlag(KernelPipe from, KernelPipe to, int event);
  void WaitFlag(KernelPipe from, KernelPipe to, int event);
  // set_flag immediately followed by wait_flag (the kernel's common pair).
  void SetWaitFlag(KernelPipe from, KernelPipe to, int event);
  void Barrier(KernelPipe pipe);
  void CrossCoreSet(KernelPipe from, KernelPipe to, int event);
  void CrossCoreWait(KernelPipe from, KernelPipe to, int event);
  void VectorScalarSync(const std::string& label);
  // The pipe of every following step (until changed): moves, Mmads, stores
  // set it themselves from their memories when this is kNone.
  void SetPipe(KernelPipe pipe) { pipe_ = pipe; }
  // Following steps are issued once per core (prologue) or per work item.
  void SetOncePerCore(bool once) { once_per_core_ = once; }
  // The vector core (Step::vector_core) of every following step.
  void SetVectorCore(int core) { vector_core_ = core; }
  // Starts a launch; following steps belong to it.
  int BeginLaunch(Launch launch);
  void SetKernel(KernelFacts facts);
  KernelFacts& Kernel() { return plan_.kernel; }

  Plan Finish(View input, View output);

 private:
  void Add(Step step);
  KernelPipe InferPipe(const Step& step) const;
  Plan plan_;
  std::vector<std::string> scopes_;
  std::vector<CopyPosition> copies_;  // open copy scopes, outermost first
  std::vector<std::pair<int, View>> identities_;  // size -> view
  KernelPipe pipe_ = KernelPipe::kNone;
  int launch_ = 0;
  bool once_per_core_ = false;
  int vector_core_ = 0;
};

}  // namespace trisim
