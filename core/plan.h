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

// The unit whose arithmetic an op needs (stage manifests' "unit"; the cost
// model's placement of the data-movement ops is its own lowering choice).
enum class OpUnit { kCube, kVector, kMove };
OpUnit UnitOf(OpKind op);
const char* OpUnitName(OpUnit unit);  // "cube" | "vector" | "move"

struct Step {
  OpKind op = OpKind::kCopy;
  std::string label;  // what the step is for: "power 2", "merge 32"
  View out;
  std::vector<View> in;
  std::vector<double> coef;  // kLinComb coefficients, one per input
  double sign = 1.0;         // kMatMul: +1 or -1 (exact in every format)
  Mask mask;                 // kMask
  int row = 0;               // kForwardRow

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

  // For each step, the earlier steps it depends on (read-after-write: the
  // latest writers of every region it reads, back to a write covering it).
  std::vector<std::vector<int>> Dependencies() const;
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
  std::vector<std::pair<int, View>> identities_;  // size -> view
};

}  // namespace trisim
