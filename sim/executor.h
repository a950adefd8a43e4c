// Runs a plan (core/plan.h) under a precision recipe (sim/recipe.h), step by
// step, bit-accurately: this is the one executor. It never looks at the
// method name, only at the typed steps.
//
// Buffer formats: the input L holds the recipe's input format; every other
// buffer its storage format. Step semantics per unit:
//  - kMatMul on the cube (sim/cube.h): operands rounded or quantised, fp32 or
//    integer accumulation, one conversion to the storage format.
//  - kLinComb, kForwardRow on the vector unit in the recipe's vector
//    precision V, unfused: every multiply and every add rounds to V, then the
//    result rounds to the storage format. kLinComb: v = c0 x0, v += c1 x1,
//    ... in order. kForwardRow (FLA's row update): for each j < r,
//    acc = -L[r,j]; acc -= L[r,k] N[k,j] for k = j+1 .. r-1 in order.
//  - kCopy, kMask, kIdentity, kZero: exact.
// Integer storage (int8/int16 intermediates, integer-operand recipes): every
// computed result is stored as q * s with a symmetric fp32 scale s per group
// of the written view (the recipe's operand_scale granularity) from the
// amax of its fp32 results. Cube results whose elements are one k-group
// leave the accumulator by requantisation, q = Round(I * fp32(d / s)), one
// rounding from the exact accumulator (FIXPIPE int32 -> int8/int16); others
// (several k-groups, vector results, copies from a float buffer) are
// quantised from their fp32 value, q = Round(fp32(fp32(x) / s)). Forward-
// substitution rows cannot be stored this way (each row would need its own
// scale): such plans are rejected.
// Under the fp64 recipe nothing rounds (the reference).
//
// Stochastic-rounding streams. Every rounding draws its bits from
// quant::StochasticBits(seed, tensor, index) (quant/round.h), seed = the
// sample's seed; the (tensor, index) pairs are fixed by the plan, never by
// the implementation (fast or scalar), the thread count or the SIMD width:
//   tensor ~0      loading A into the input format; index i * C + j
//   tensor ~0 - 1  X leaving in the output format;   index i * C + j
//   tensor 8s + u  plan step s, use u (kStepStreams = 8 per step):
//     u = 0  the step's result to its buffer's float format: index e, the
//            row-major element of the written view (kForwardRow: j)
//     u = 1  vector-unit roundings to the recipe's vector format V:
//            kLinComb term t < kMaxLinCombTerms = 3, element e:
//              x_t = V(in_t[e])        index 8e + t
//              c_t x_t -> V            index 8e + 3 + t
//              v = V(v + term)         index 8e + 6   (t >= 1)
//            kForwardRow element j, term k, point p < 4: (j r + k) 4 + p
//            kForwardRow lane form (w x w block), column j, e = j (2w + 1):
//              products p_k  e + k; reduction adds  e + w + (k or
//              half + k); the final add  e + 2w  (storage: u = 0, index j)
//     u = 2 + p  cube operand p < kStepOperandStreams = 5 of a kMatMul/kMmad
//            (sim/cube.h PrepareOperand's indices)
//     u = 7  quantisation into integer storage: index e
//   tensor 2^39 + 64 s + p  cube operands p = 5 .. 63 of step s (fla's
//            merges sum up to C/16 products: 2 C/16 operands)
//   The GDN layer (sim/gdn_layer.h) uses tensors from 2^40 upward.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "core/matrix.h"
#include "core/plan.h"
#include "quant/round.h"
#include "quant/rounder.h"
#include "sim/cube.h"
#include "sim/recipe.h"

namespace trisim {

// What one step produced, for range reports: max |x| shows where the powers
// of L grow; events show where a format ran out (saturations, overflows,
// accumulator wraps); non-finite counts show the damage.
struct StepStats {
  double max_abs = 0.0;
  long long nonfinite = 0;
  quant::EventCounts events;

  void Assimilate(const StepStats& other);
};

// Everything one run records besides X.
struct RunRecord {
  quant::EventCounts input_events;   // rounding A to the input format
  quant::EventCounts output_events;  // rounding X to the output format
  std::vector<StepStats> steps;      // one per plan step
  // With keep_buffers: every step's output buffer after the step (the whole
  // buffer, row-major), for --dump-stages.
  bool keep_buffers = false;
  std::vector<double> input_after_load;  // L in the input format
  std::vector<std::vector<double>> buffer_after_step;
  // With keep_buffers and integer storage: the scales each step stored its
  // output with (indexed by step; empty for steps that stored none).
  struct StoredScales {
    int group_rows = 0, group_cols = 0;
    std::vector<float> scales;  // (rows/group_rows) x (cols/group_cols)
    bool requantised = false;   // from the accumulator (FIXPIPE) or not
  };
  std::vector<StoredScales> stored_scales;
  // With keep_buffers: the cube operands of every matmul step, in order
  // (a0, b0, a1, b1, ...), as the cube saw them.
  std::vector<std::vector<CubeOperand>> operands;

  void Assimilate(const RunRecord& other);  // merges counts and stats
};

// A kernel plan (core/kernels.h) refuses a recipe outside its requirements:
// throws InputError naming the field, its value and what the kernel allows.
// Math-level plans and the fp64 recipe always pass.
void CheckKernelRecipe(const Plan& plan, const Recipe& recipe);

// Per-step stream ids and their limits (layout above).
inline constexpr uint64_t kStepStreams = 8;
inline constexpr size_t kMaxLinCombTerms = 3;
inline constexpr size_t kStepOperandStreams = 5;
inline constexpr size_t kMaxCubeOperands = 64;
inline constexpr uint64_t kExtraOperandStreams = uint64_t{1} << 39;

// How the executor computes (never what): both settings give bit-identical
// results and event counts.
struct ExecOptions {
  // Run the scalar reference (sim/cube.h *Reference, quant::RoundToFloat)
  // instead of the SIMD fast path: `trisim error --scalar`, bench, tests.
  bool scalar = false;
};

class Executor {
 public:
  // Throws InputError if the recipe cannot run the plan (sim/recipe_fit.h,
  // kernel requirements) or a step exceeds the stream layout above.
  Executor(const Plan& plan, const Recipe& recipe, ExecOptions options = {});

  // Runs the plan on the strictly lower `l` (C x C, checked by the caller)
  // and returns X in the recipe's output format (as doubles). `seed` keys
  // stochastic rounding. If `record` is non-null it is filled (merged with
  // what it holds).
  Mat Run(const Mat& l, uint64_t seed = 0, RunRecord* record = nullptr);

  // A as Run loads it: `l` rounded to the recipe's input format with the
  // same rounding, seed and element indices (unchanged under fp64). For the
  // "rounded" error reference (sim/evaluate.h).
  Mat InputAsLoaded(const Mat& l, uint64_t seed) const;

  const Plan& plan() const { return plan_; }
  const Recipe& recipe() const { return recipe_; }
  const ExecOptions& options() const { return options_; }
  // The format a buffer is stored in under this recipe.
  quant::Format BufferFormat(int buffer) const;

 private:
  using RowMat =
      Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  Eigen::Block<RowMat> Region(const View& v);

  void RunExact(const Step& step);
  void RunRounded(const Step& step, size_t index, const quant::Rounder& rounder,
                  const CubeConfig& config, StepStats* stats,
                  RunRecord* record);
  // The cube operands of kMatMul/kMmad step `index` (tensor ids 8s + 2 + p)
  // into operands_[index], and their (a, b) pairs into terms_.
  void PrepareOperands(const Step& step, size_t index, const CubeConfig& config,
                       uint64_t tensor, quant::EventCounts* events);
  // Appends the operands of terms_ to record->operands (keep_buffers).
  void RecordOperands(RunRecord* record) const;
  // The float format every value of `buffer` is a value of (its storage
  // format; fp32 for an accumulator holding dequantised integer sums), or
  // none (integer storage, the fp64 recipe): rounding from it into a format
  // that holds it is a copy (quant::Rounder::RoundHeldValues).
  std::optional<quant::Format> HeldFormat(int buffer) const;
  // The rounder of one run: the recipe's rounding, `seed`, options_.scalar.
  quant::Rounder MakeRounder(uint64_t seed) const;
  // The one rounding of a view: out[e] = rounder.Round(v[e], format,
  // tensor, index0 + e * index_step) for the row-major element
  // e = i * v.cols + j of the view; out is row-major, view-shaped scratch.
  // `held`: the format the view's values are values of (HeldFormat of the
  // buffer they came from), or none.
  void RoundView(const View& v, std::optional<quant::Format> held,
                 quant::Format format, uint64_t tensor, uint64_t index0,
                 uint64_t index_step, const quant::Rounder& rounder,
                 double* out, quant::EventCounts* events);
  // A kLinComb's v (row-major, out-shaped) in one pass
  // (quant::Rounder::LinCombValues) when every input buffer holds values of
  // V; false when that does not cover the step (nothing counted, v to be
  // discarded): the values and events are the per-stage path's either way.
  bool FusedLinComb(const Step& step, const quant::Rounder& rounder, double* v,
                    quant::EventCounts* events) const;
  // Writes `values` (row-major, view-shaped) into the view.
  void WriteView(const View& v, const double* values);
  // Integer storage: stores `values` (the step's results before storage
  // rounding, row-major over `out`) as q * s, s per group of the written
  // view from its amax; with `integer`/`dequant` (single k-group cube
  // results) q is requantised from the exact accumulator.
  void StoreInteger(const View& out, const RowMat& values,
                    const std::vector<int64_t>* integer,
                    const std::vector<float>* dequant, uint64_t seed,
                    uint64_t tensor, StepStats* stats, RunRecord* record,
                    size_t step_index);

  Plan plan_;  // owned: callers may pass a temporary
  Recipe recipe_;
  ExecOptions options_;
  // Reused across steps and runs: no allocation on the hot path once every
  // step has run once.
  std::vector<double> scratch_x_, scratch_v_;  // kLinComb, kStore, copies
  RowMat scratch_result_;                      // kMatMul (out may alias in)
  std::vector<std::vector<CubeOperand>> operands_;  // per step
  std::vector<CubeTerm> terms_;
  std::vector<const CubeOperand*> prepared_;  // a step's operands, in order
  // Plan-time: operand p of step s reads the same view as operand
  // reuse_[s][p] = (s', p') of an earlier step, unwritten in between (a
  // straight-line plan: L in every power step, X0 in every residual step).
  // Under a deterministic rounding mode that operand is the same, so the
  // fast path takes it (and its events) instead of preparing it again.
  struct OperandRef {
    int step = -1;
    int operand = -1;
  };
  std::vector<std::vector<OperandRef>> reuse_;
  std::vector<std::vector<quant::EventCounts>> operand_events_;  // per (s, p)
  std::vector<RowMat> buffers_;
};

}  // namespace trisim
