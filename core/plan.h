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
//  - Units: kMatMul and kForwardRow name the unit a kernel would use
//    (cube vs vector); kLinComb/kMask/kCopy/kIdentity/kZero run on the vector
//    unit.
#pragma once

#include <string>
#include <vector>

namespace trisim {

enum class BufferRole { kInput, kOutput, kTemp, kConstant };

struct Buffer {
  std::string name;
  int rows = 0;
  int cols = 0;
  BufferRole role = BufferRole::kTemp;
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
  kForwardRow
};
const char* OpName(OpKind op);

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

struct Step {
  OpKind op = OpKind::kCopy;
  std::string label;  // what the step is for: "power 2", "merge 32"
  View out;
  std::vector<View> in;
  std::vector<double> coef;  // kLinComb coefficients, one per input
  double sign = 1.0;         // kMatMul: +1 or -1 (exact in every format)
  Mask mask;                 // kMask
  int row = 0;               // kForwardRow
  std::vector<CopyPosition> copies;  // enclosing copy scopes (builder)

  // Every region the step reads (kForwardRow also reads its own output).
  std::vector<View> Reads() const;
  // The region the step writes (kForwardRow: row `row`, columns 0..row-1).
  View Writes() const;
  // Multiply-accumulate count (kMatMul) or elementwise operation count.
  long long Flops() const;
};

struct Plan {
  std::string method;   // e.g. "neumann"
  std::string options;  // canonical option string, e.g. "order=3 ..."
  int chunk = 0;
  std::vector<Buffer> buffers;
  std::vector<Step> steps;
  int input = -1;   // the strictly lower L (C x C)
  int output = -1;  // X ~ (I + L)^-1 (C x C)

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

  Plan Finish(View input, View output);

 private:
  void Add(Step step);
  Plan plan_;
  std::vector<std::string> scopes_;
  std::vector<CopyPosition> copies_;  // open copy scopes, outermost first
  std::vector<std::pair<int, View>> identities_;  // size -> view
};

}  // namespace trisim
