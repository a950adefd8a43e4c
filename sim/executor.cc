#include "sim/executor.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/kernels.h"
#include "core/status.h"
#include "quant/round_simd.h"
#include "quant/scale.h"
#include "sim/arith.h"
#include "sim/cube.h"
#include "sim/recipe_fit.h"

namespace trisim {

using quant::Format;

void StepStats::Assimilate(const StepStats& other) {
  max_abs = std::max(max_abs, other.max_abs);
  nonfinite += other.nonfinite;
  events.Assimilate(other.events);
}

void RunRecord::Assimilate(const RunRecord& other) {
  input_events.Assimilate(other.input_events);
  output_events.Assimilate(other.output_events);
  if (steps.size() < other.steps.size()) steps.resize(other.steps.size());
  for (size_t s = 0; s < other.steps.size(); ++s) {
    steps[s].Assimilate(other.steps[s]);
  }
}

void CheckKernelRecipe(const Plan& plan, const Recipe& recipe) {
  if (!plan.IsKernelPlan() || recipe.exact) return;
  const KernelInfo& info = FindKernel(plan.method, plan.kernel.name);
  for (const KernelRequirement& req : info.requirements) {
    const std::string field = req.field;
    quant::Format value;
    if (field == "input") {
      value = recipe.input;
    } else if (field == "operand") {
      value = recipe.operand;
    } else if (field == "storage") {
      value = recipe.storage;
    } else if (field == "output") {
      value = recipe.output;
    } else if (field == "vector") {
      value = recipe.vector;
    } else if (field == "accumulator") {
      value = recipe.accumulator;
    } else {
      TRISIM_ASSERT(false && "unknown recipe field in a kernel requirement");
      return;
    }
    const std::string name = quant::FormatName(value);
    if (std::find(req.allowed.begin(), req.allowed.end(), name) ==
        req.allowed.end()) {
      std::string allowed;
      for (const auto& a : req.allowed) {
        allowed += (allowed.empty() ? "" : ", ") + a;
      }
      throw InputError("recipe " + recipe.name + " cannot run kernel " +
                       plan.kernel.name + " of " + plan.method + ": " + field +
                       " = " + name + " (the kernel allows " + allowed + ": " +
                       req.why + ")");
    }
  }
}

Executor::Executor(const Plan& plan, const Recipe& recipe, ExecOptions options)
    : plan_(plan), recipe_(recipe), options_(options) {
  ValidateRecipe(recipe_, recipe_.name);
  CheckRecipeFitsPlan(recipe_, plan_);  // block sizes, integer storage
  CheckKernelRecipe(plan_, recipe_);
  // Float operands accumulate in fp32; integer operands in an integer
  // accumulator whose Mmads dequantise each k-group into an fp32 sum
  // (sim/cube.h CubeMmad; only kernels that allow integer operands get
  // here, CheckKernelRecipe).
  if (!recipe_.exact && plan_.CountSteps(OpKind::kMmad) > 0 &&
      !recipe_.IntegerOperands() &&
      recipe_.accumulator != quant::Format::kFp32) {
    throw InputError("recipe " + recipe_.name + " cannot run kernel " +
                     plan_.kernel.name + " of " + plan_.method +
                     ": its Mmads need float operands and an fp32 "
                     "accumulator, got operand " +
                     quant::FormatName(recipe_.operand) + ", accumulator " +
                     quant::FormatName(recipe_.accumulator));
  }
  if (!recipe_.exact && plan_.IsKernelPlan()) {
    for (size_t b = 0; b < plan_.buffers.size(); ++b) {
      // An integer accumulator holds the fp32 dequantised sums (CubeMmad).
      if (plan_.buffers[b].format == FormatClass::kAccumulator &&
          recipe_.IntegerOperands()) {
        continue;
      }
      if (!quant::IsFloat(BufferFormat(static_cast<int>(b)))) {
        throw InputError("recipe " + recipe_.name + " cannot run kernel " +
                         plan_.kernel.name + " of " + plan_.method +
                         ": buffer " + plan_.buffers[b].name + " would be " +
                         quant::FormatName(BufferFormat(static_cast<int>(b))) +
                         "; kernel plans store float formats only");
      }
    }
  }
  // The stream layout of executor.h holds these many inputs per step.
  for (const Step& step : plan_.steps) {
    if (step.op == OpKind::kLinComb) {
      TRISIM_ASSERT(step.in.size() <= kMaxLinCombTerms);
    }
    if (step.op == OpKind::kMatMul || step.op == OpKind::kMmad) {
      TRISIM_ASSERT(step.in.size() <= kMaxCubeOperands);
    }
  }
  operands_.resize(plan_.steps.size());
  operand_events_.resize(plan_.steps.size());
  reuse_.resize(plan_.steps.size());
  for (size_t s = 0; s < plan_.steps.size(); ++s) {
    const Step& step = plan_.steps[s];
    if (step.op != OpKind::kMatMul && step.op != OpKind::kMmad) continue;
    reuse_[s].resize(step.in.size());
    for (size_t p = 0; p < step.in.size(); ++p) {
      const View& v = step.in[p];
      // The latest earlier step reading the same view, if no step from it
      // on (itself included: it writes after reading) wrote over the view.
      for (size_t e = s; e-- > 0;) {
        const View written = plan_.steps[e].Writes();
        const bool overwritten = written.buffer >= 0 && written.Overlaps(v);
        const std::vector<OperandRef>& earlier = reuse_[e];
        for (size_t q = 0; q < earlier.size() && !overwritten; ++q) {
          const View& u = plan_.steps[e].in[q];
          if (u.buffer == v.buffer && u.row == v.row && u.col == v.col &&
              u.rows == v.rows && u.cols == v.cols) {
            // The prepared one (earlier may itself be a reuse).
            reuse_[s][p] =
                earlier[q].step >= 0
                    ? earlier[q]
                    : OperandRef{static_cast<int>(e), static_cast<int>(q)};
            break;
          }
        }
        if (overwritten || reuse_[s][p].step >= 0) break;
      }
    }
  }
  buffers_.reserve(plan.buffers.size());
  for (const Buffer& b : plan.buffers) {
    buffers_.push_back(RowMat::Zero(b.rows, b.cols));
  }
}

Format Executor::BufferFormat(int buffer) const {
  switch (plan_.buffers[buffer].format) {
    case FormatClass::kDefault:
      break;
    case FormatClass::kInput:
      return recipe_.input;
    case FormatClass::kStorage:
      return recipe_.storage;
    case FormatClass::kOutput:
      return recipe_.output;
    case FormatClass::kOperand:
      return recipe_.operand;
    case FormatClass::kVector:
      return recipe_.vector;
    case FormatClass::kAccumulator:
      return recipe_.accumulator;
    case FormatClass::kFp32:
      return Format::kFp32;
  }
  return buffer == plan_.input ? recipe_.input : recipe_.storage;
}

std::optional<Format> Executor::HeldFormat(int buffer) const {
  if (recipe_.exact) return std::nullopt;
  // An integer accumulator holds the fp32 dequantised sums (CubeMmad).
  if (plan_.buffers[buffer].format == FormatClass::kAccumulator &&
      recipe_.IntegerOperands()) {
    return Format::kFp32;
  }
  const Format format = BufferFormat(buffer);
  if (!quant::IsFloat(format)) return std::nullopt;
  return format;
}

Eigen::Block<Executor::RowMat> Executor::Region(const View& v) {
  return buffers_[v.buffer].block(v.row, v.col, v.rows, v.cols);
}

void Executor::RunExact(const Step& step) {
  if (step.op == OpKind::kSync) return;
  auto out = Region(step.out);
  switch (step.op) {
    case OpKind::kSync:
      break;
    case OpKind::kMmad: {
      RowMat acc = step.accumulate ? RowMat(out)
                                   : RowMat::Zero(step.out.rows, step.out.cols);
      for (size_t p = 0; p + 1 < step.in.size(); p += 2) {
        acc.noalias() += Region(step.in[p]) * Region(step.in[p + 1]);
      }
      out = acc;
      break;
    }
    case OpKind::kStore:
      out = Region(step.in[0]).eval();
      break;
    case OpKind::kTranspose:
      out = Region(step.in[0]).transpose().eval();
      break;
    case OpKind::kIdentity:
      out.setIdentity();
      break;
    case OpKind::kZero:
      out.setZero();
      break;
    case OpKind::kCopy:
      out = Region(step.in[0]).eval();
      break;
    case OpKind::kLinComb: {
      RowMat sum = step.coef[0] * Region(step.in[0]);
      for (size_t i = 1; i < step.in.size(); ++i) {
        sum += step.coef[i] * Region(step.in[i]);
      }
      out = sum;
      break;
    }
    case OpKind::kMatMul: {
      RowMat acc = RowMat::Zero(step.out.rows, step.out.cols);
      for (size_t p = 0; p + 1 < step.in.size(); p += 2) {
        acc.noalias() += Region(step.in[p]) * Region(step.in[p + 1]);
      }
      out = step.sign * acc;
      break;
    }
    case OpKind::kMask: {
      RowMat masked = Region(step.in[0]);
      for (int i = 0; i < masked.rows(); ++i) {
        for (int j = 0; j < masked.cols(); ++j) {
          if (!step.mask.Keeps(i, j)) masked(i, j) = 0.0;
        }
      }
      out = masked;
      break;
    }
    case OpKind::kForwardRow: {
      const int r = step.row;
      if (step.row_reduce != Step::RowReduce::kNone) {
        const Eigen::RowVectorXd lanes = out.row(r);
        const Eigen::RowVectorXd sums = lanes * out;
        out.row(r) = lanes + step.row_sign * sums;
        break;
      }
      auto lrow = Region(step.in[0]).row(r);
      for (int j = 0; j < r; ++j) {
        double sum = -lrow(j);
        for (int k = j + 1; k < r; ++k) sum -= lrow(k) * out(k, j);
        out(r, j) = sum;
      }
      break;
    }
  }
}

void Executor::StoreInteger(const View& out, const RowMat& values,
                            const std::vector<int64_t>* integer,
                            const std::vector<float>* dequant, uint64_t seed,
                            uint64_t tensor, StepStats* stats,
                            RunRecord* record, size_t step_index) {
  const quant::Format storage = BufferFormat(out.buffer);
  const quant::FormatInfo& info = quant::GetFormatInfo(storage);
  const quant::GroupLayout layout =
      quant::MakeViewGroupLayout(recipe_.operand_scale, out.rows, out.cols);
  const int group_rows = static_cast<int>(layout.group_rows);
  const int group_cols = static_cast<int>(layout.group_cols);
  const int grid_cols = static_cast<int>(layout.grid_cols);
  std::vector<float> scales = quant::GroupAmaxScales(
      values.data(), values.cols(), layout, static_cast<double>(info.max_int));
  const quant::IntRounding rounding{recipe_.rounding,
                                    quant::IntOverflow::kSaturate};
  auto region = Region(out);
  for (int i = 0; i < out.rows; ++i) {
    for (int j = 0; j < out.cols; ++j) {
      const size_t e = static_cast<size_t>(i) * out.cols + j;
      const float s = scales[(i / group_rows) * grid_cols + j / group_cols];
      const uint64_t random =
          recipe_.rounding == quant::RoundingMode::kStochastic
              ? quant::StochasticBits(seed, tensor + 7, e)
              : 0;
      int64_t q;
      // FIXPIPE requantisation: q = Round(I * fp32(d / s)), the exact
      // product rounded once, saturated (quant::RequantizeFloatScale's
      // semantics, here for any accumulator width). The multiplier m
      // overflows fp32 only in an all-zero group: otherwise s >= |I d| / qmax
      // (amax, or the 2^-126 floor above it), so m <= qmax / |I|; with amax
      // 0, s = 2^-126 (quant/scale.h) and m = inf once d > ~4, where every
      // I d rounding to 0 means I = 0. Such an element takes the vector-unit
      // formula below, which gives that exact 0.
      const float m = integer != nullptr ? (*dequant)[e] / s : 0.0f;
      if (integer != nullptr && std::isfinite(m)) {
        q = quant::RoundToInt(ExactScaled((*integer)[e], m), storage, rounding,
                              random, &stats->events);
      } else {
        // Vector-unit quantisation: q = Round(fp32(fp32(x) / s)).
        const float y = static_cast<float>(values(i, j)) / s;
        q = quant::RoundToInt(static_cast<double>(y), storage, rounding, random,
                              &stats->events);
      }
      TRISIM_ASSERT(q >= info.min_int && q <= info.max_int);
      region(i, j) = static_cast<double>(q) * s;
    }
  }
  if (record != nullptr && record->keep_buffers) {
    if (record->stored_scales.size() <= step_index) {
      record->stored_scales.resize(step_index + 1);
    }
    record->stored_scales[step_index] = {group_rows, group_cols,
                                         std::move(scales), integer != nullptr};
  }
}

void Executor::RoundView(const View& v, std::optional<Format> held,
                         Format format, uint64_t tensor, uint64_t index0,
                         uint64_t index_step, const quant::Rounder& rounder,
                         double* out, quant::EventCounts* events) {
  const RowMat& buffer = buffers_[v.buffer];
  const size_t cols = static_cast<size_t>(v.cols);
  auto round = [&](const double* x, size_t n, uint64_t first, double* y) {
    rounder.RoundHeldValues(x, n, held, format, tensor, first, index_step, y,
                            events);
  };
  if (v.col == 0 && v.cols == buffer.cols()) {
    // Whole rows: one contiguous call (the same indices, fewer dispatches).
    round(buffer.data() + static_cast<size_t>(v.row) * cols, cols * v.rows,
          index0, out);
    return;
  }
  for (int i = 0; i < v.rows; ++i) {
    const double* row =
        buffer.data() + static_cast<size_t>(v.row + i) * buffer.cols() + v.col;
    round(row, cols, index0 + i * cols * index_step, out + i * cols);
  }
}

static_assert(kMaxLinCombTerms <= quant::kLinCombMaxTerms,
              "FusedLinComb passes every kLinComb term to one call");

bool Executor::FusedLinComb(const Step& step, const quant::Rounder& rounder,
                            double* v, quant::EventCounts* events) const {
  const Format vector = recipe_.vector;
  const size_t terms = step.in.size();
  bool whole_rows = true;
  for (const View& in : step.in) {
    const std::optional<Format> held = HeldFormat(in.buffer);
    if (!held || !quant::RoundingIsIdentity(*held, vector, rounder.rounding)) {
      return false;
    }
    whole_rows =
        whole_rows && in.col == 0 && in.cols == buffers_[in.buffer].cols();
  }
  quant::EventCounts mine;
  const double* x[kMaxLinCombTerms];
  auto row = [&](int i, size_t n) {
    for (size_t t = 0; t < terms; ++t) {
      const View& in = step.in[t];
      const RowMat& buffer = buffers_[in.buffer];
      x[t] = buffer.data() + static_cast<size_t>(in.row + i) * buffer.cols() +
             in.col;
    }
    return rounder.LinCombValues(x, step.coef.data(), terms, n, vector,
                                 v + static_cast<size_t>(i) * step.out.cols,
                                 &mine);
  };
  if (whole_rows) {  // contiguous: one call over the whole view
    if (!row(0, static_cast<size_t>(step.out.rows) * step.out.cols)) {
      return false;
    }
  } else {
    for (int i = 0; i < step.out.rows; ++i) {
      if (!row(i, static_cast<size_t>(step.out.cols))) return false;
    }
  }
  events->Assimilate(mine);
  return true;
}

void Executor::WriteView(const View& v, const double* values) {
  RowMat& buffer = buffers_[v.buffer];
  if (v.col == 0 && v.cols == buffer.cols()) {
    std::copy(values, values + static_cast<size_t>(v.rows) * v.cols,
              buffer.data() + static_cast<size_t>(v.row) * v.cols);
    return;
  }
  for (int i = 0; i < v.rows; ++i) {
    std::copy(
        values + static_cast<size_t>(i) * v.cols,
        values + static_cast<size_t>(i + 1) * v.cols,
        buffer.data() + static_cast<size_t>(v.row + i) * buffer.cols() + v.col);
  }
}

namespace {

// Operand p's stream of the step whose first id is `tensor` (executor.h).
uint64_t OperandStream(uint64_t tensor, size_t p) {
  if (p < kStepOperandStreams) return tensor + 2 + p;
  return kExtraOperandStreams + tensor / kStepStreams * 64 + p;
}

}  // namespace

void Executor::PrepareOperands(const Step& step, size_t index,
                               const CubeConfig& config, uint64_t tensor,
                               quant::EventCounts* events) {
  std::vector<CubeOperand>& operands = operands_[index];
  operands.resize(step.in.size());
  operand_events_[index].resize(step.in.size());
  // Reuse needs the same rounding whatever the stream: not stochastic. The
  // scalar reference always prepares (it is the specification).
  const bool reuse = !options_.scalar && config.rounder.rounding.mode !=
                                             quant::RoundingMode::kStochastic;
  std::vector<const CubeOperand*>& prepared = prepared_;  // reused
  prepared.resize(step.in.size());
  for (size_t p = 0; p < step.in.size(); ++p) {
    const OperandRef ref = reuse_[index][p];
    if (reuse && ref.step >= 0) {
      prepared[p] = &operands_[ref.step][ref.operand];
      events->Assimilate(operand_events_[ref.step][ref.operand]);
      continue;
    }
    const View& v = step.in[p];
    const RowMat& buffer = buffers_[v.buffer];
    quant::EventCounts& mine = operand_events_[index][p];
    mine = {};
    PrepareOperandInto(
        buffer.data() + static_cast<size_t>(v.row) * buffer.cols() + v.col,
        v.rows, v.cols, static_cast<int>(buffer.cols()), config,
        OperandStream(tensor, p), &mine, HeldFormat(v.buffer), &operands[p]);
    events->Assimilate(mine);
    prepared[p] = &operands[p];
  }
  terms_.clear();
  for (size_t p = 0; p + 1 < prepared.size(); p += 2) {
    terms_.push_back({prepared[p], prepared[p + 1]});
  }
}

void Executor::RecordOperands(RunRecord* record) const {
  std::vector<CubeOperand> seen;  // a0, b0, a1, b1, ... as the cube saw them
  for (const CubeTerm& t : terms_) {
    seen.push_back(*t.a);
    seen.push_back(*t.b);
  }
  record->operands.push_back(std::move(seen));
}

void Executor::RunRounded(const Step& step, size_t index,
                          const quant::Rounder& rounder,
                          const CubeConfig& config, StepStats* stats,
                          RunRecord* record) {
  if (step.op == OpKind::kSync) return;  // no data
  auto out = Region(step.out);
  const Format storage = BufferFormat(step.out.buffer);
  const Format vector = recipe_.vector;
  const uint64_t seed = rounder.seed;
  quant::EventCounts* events = &stats->events;
  // Stochastic-rounding streams: executor.h's layout.
  const uint64_t tensor = static_cast<uint64_t>(index) * kStepStreams;
  const size_t total = static_cast<size_t>(step.out.rows) * step.out.cols;

  switch (step.op) {
    case OpKind::kSync:
      break;
    case OpKind::kMmad: {
      // Kernel Mmad (sim/cube.h CubeMmad): operands rounded to the operand
      // format (exact when already narrower), fp32 accumulation continuing
      // from the accumulator when `accumulate`, nothing rounded on the way
      // out: the accumulator keeps fp32 values until a kStore.
      PrepareOperands(step, index, config, tensor, events);
      RowMat& acc = buffers_[step.out.buffer];
      double* base = acc.data() +
                     static_cast<size_t>(step.out.row) * acc.cols() +
                     step.out.col;
      const int stride = static_cast<int>(acc.cols());
      CubeMmad(terms_, step.accumulate ? base : nullptr, stride, config, base,
               stride, tensor, events);
      if (record != nullptr && record->keep_buffers) RecordOperands(record);
      break;
    }
    case OpKind::kStore:
      // FIXPIPE: the one rounding out of the accumulator, to out's format.
      scratch_x_.resize(total);
      RoundView(step.in[0], HeldFormat(step.in[0].buffer), storage, tensor, 0,
                1, rounder, scratch_x_.data(), events);
      WriteView(step.out, scratch_x_.data());
      break;
    case OpKind::kTranspose:
    case OpKind::kIdentity:
    case OpKind::kZero:
    case OpKind::kCopy:
    case OpKind::kMask:
      // Exact in every format: values move or become 0/1.
      RunExact(step);
      // A copy into a narrower buffer rounds (e.g. L in fp32, storage fp16);
      // into integer storage it quantises.
      if ((step.op == OpKind::kCopy || step.op == OpKind::kMask ||
           step.op == OpKind::kTranspose) &&
          BufferFormat(step.in[0].buffer) != storage) {
        if (!quant::IsFloat(storage)) {
          StoreInteger(step.out, RowMat(out), nullptr, nullptr, seed, tensor,
                       stats, record, index);
        } else {
          scratch_x_.resize(total);
          // out holds the source's values until rounded.
          RoundView(step.out, HeldFormat(step.in[0].buffer), storage, tensor, 0,
                    1, rounder, scratch_x_.data(), events);
          WriteView(step.out, scratch_x_.data());
        }
      }
      break;
    case OpKind::kLinComb: {
      // v = c0 x0, v += c1 x1, ... per element e, every multiply and add
      // rounded to V, each rounding stage over the whole view at once with
      // the indices of executor.h (8e + t, 8e + 3 + t, 8e + 6).
      TRISIM_ASSERT(step.in.size() <= kMaxLinCombTerms);
      scratch_x_.resize(total);
      scratch_v_.resize(total);
      double* x = scratch_x_.data();
      double* v = scratch_v_.data();
      const bool fused = FusedLinComb(step, rounder, v, events);
      for (size_t t = 0; t < step.in.size() && !fused; ++t) {
        RoundView(step.in[t], HeldFormat(step.in[t].buffer), vector, tensor + 1,
                  t, 8, rounder, x, events);
        const double coef = step.coef[t];
        if (coef != 1.0) {  // 1 x = x exactly (NaN payloads and -0 too)
          for (size_t e = 0; e < total; ++e) x[e] = coef * x[e];
        }
        if (coef == 1.0 || coef == -1.0) {
          // x holds values of V, and so does +-x.
          rounder.RoundHeldValues(x, total, vector, vector, tensor + 1, 3 + t,
                                  8, t == 0 ? v : x, events);
        } else {
          rounder.RoundValues(x, total, vector, tensor + 1, 3 + t, 8,
                              t == 0 ? v : x, events);
        }
        if (t == 0) continue;
        for (size_t e = 0; e < total; ++e) v[e] = v[e] + x[e];
        rounder.RoundValues(v, total, vector, tensor + 1, 6, 8, v, events);
      }
      if (quant::IsFloat(storage)) {
        rounder.RoundHeldValues(v, total, vector, storage, tensor, 0, 1, v,
                                events);
        WriteView(step.out, v);
      } else {
        // Integer storage is quantised per group.
        StoreInteger(step.out,
                     Eigen::Map<const RowMat>(v, step.out.rows, step.out.cols),
                     nullptr, nullptr, seed, tensor, stats, record, index);
      }
      break;
    }
    case OpKind::kForwardRow: {
      const int r = step.row;
      if (step.row_reduce != Step::RowReduce::kNone) {
        // Lane form (core/plan.h): products, a reduction over the block's
        // rows in the named order, one add; every operation rounds to the
        // vector format, the row then to the block's format. Column j's
        // operations use indices e + ... with e = j (2w + 1); each rounding
        // stage runs over all w columns at once (index step 2w + 1), the
        // same operations in the same order per column.
        const int w = out.cols();
        const size_t wz = static_cast<size_t>(w);
        const uint64_t stride = 2 * static_cast<uint64_t>(w) + 1;
        scratch_x_.resize(wz * wz);     // products p_k of every column
        scratch_v_.resize(2 * wz);      // lanes, then the row
        double* p = scratch_x_.data();  // p[k w + j]
        double* lanes = scratch_v_.data();
        double* row = lanes + wz;
        for (int k = 0; k < w; ++k) lanes[k] = out(r, k);
        for (int k = 0; k < w; ++k) {
          double* pk = p + k * wz;
          for (int j = 0; j < w; ++j) pk[j] = lanes[k] * out(k, j);
          rounder.RoundValues(pk, wz, vector, tensor + 1, k, stride, pk,
                              events);
        }
        if (step.row_reduce == Step::RowReduce::kSequential) {
          for (int k = 1; k < w; ++k) {
            const double* pk = p + k * wz;
            for (int j = 0; j < w; ++j) p[j] = p[j] + pk[j];
            rounder.RoundValues(p, wz, vector, tensor + 1, w + k, stride, p,
                                events);
          }
        } else {
          for (int half = w / 2; half >= 1; half /= 2) {
            for (int k = 0; k < half; ++k) {
              double* pk = p + k * wz;
              const double* ph = p + (k + half) * wz;
              for (int j = 0; j < w; ++j) pk[j] = pk[j] + ph[j];
              rounder.RoundValues(pk, wz, vector, tensor + 1, w + half + k,
                                  stride, pk, events);
            }
          }
        }
        for (int j = 0; j < w; ++j) row[j] = lanes[j] + step.row_sign * p[j];
        rounder.RoundValues(row, wz, vector, tensor + 1, 2 * wz, stride, row,
                            events);
        rounder.RoundValues(row, wz, storage, tensor, 0, 1, row, events);
        for (int j = 0; j < w; ++j) out(r, j) = row[j];
        break;
      }
      // Row element j: acc = V(-L[r,j]) (index (j r + j) 4), then for k =
      // j+1 .. r-1 in order lk = V(L[r,k]), product = V(lk N[k,j]), acc =
      // V(acc - product) (indices (j r + k) 4 + 1, 2, 3); N[r,j] = S(acc)
      // (index j). Step k updates the prefix j < k of the row at once
      // (index step 4 r): each element sees its k in the same order.
      auto l = Region(step.in[0]);
      const size_t rz = static_cast<size_t>(r);
      scratch_x_.resize(3 * rz);
      double* acc = scratch_x_.data();
      double* lk = acc + rz;
      double* product = lk + rz;
      const uint64_t stride = 4 * rz;
      for (int j = 0; j < r; ++j) acc[j] = -l(r, j);
      rounder.RoundValues(acc, rz, vector, tensor + 1, 0, stride + 4, acc,
                          events);
      for (int k = 1; k < r; ++k) {
        const size_t n = static_cast<size_t>(k);  // elements j < k
        const uint64_t first = 4 * static_cast<uint64_t>(k);
        std::fill(lk, lk + n, l(r, k));
        rounder.RoundValues(lk, n, vector, tensor + 1, first + 1, stride, lk,
                            events);
        for (int j = 0; j < k; ++j) product[j] = lk[j] * out(k, j);
        rounder.RoundValues(product, n, vector, tensor + 1, first + 2, stride,
                            product, events);
        for (int j = 0; j < k; ++j) acc[j] = acc[j] - product[j];
        rounder.RoundValues(acc, n, vector, tensor + 1, first + 3, stride, acc,
                            events);
      }
      rounder.RoundValues(acc, rz, storage, tensor, 0, 1, acc, events);
      for (int j = 0; j < r; ++j) out(r, j) = acc[j];
      break;
    }
    case OpKind::kMatMul: {
      PrepareOperands(step, index, config, tensor, events);
      const std::vector<CubeTerm>& terms = terms_;
      // Computed into scratch: the output may alias an input.
      RowMat& result = scratch_result_;
      result.resize(out.rows(), out.cols());
      if (quant::IsFloat(storage)) {
        CubeMatMul(terms, step.sign, config, storage, result.data(),
                   static_cast<int>(result.cols()), tensor, events);
        out = result;
      } else {
        // Integer storage: the fp32 results give each group's amax; single
        // k-group elements then requantise from the exact accumulator.
        CubeMatMul(terms, step.sign, config, quant::Format::kFp32,
                   result.data(), static_cast<int>(result.cols()), tensor,
                   events);
        std::vector<int64_t> integer;
        std::vector<float> dequant;
        const bool requant = IntegerAccumulatorsForRequant(
            terms, step.sign, config, &integer, &dequant);
        StoreInteger(step.out, result, requant ? &integer : nullptr,
                     requant ? &dequant : nullptr, seed, tensor, stats, record,
                     index);
      }
      if (record != nullptr && record->keep_buffers) RecordOperands(record);
      break;
    }
  }
}

Mat Executor::Run(const Mat& l, uint64_t seed, RunRecord* record) {
  TRISIM_ASSERT(l.rows() == plan_.chunk && l.cols() == plan_.chunk);
  if (record != nullptr) {
    if (record->steps.size() < plan_.steps.size()) {
      record->steps.resize(plan_.steps.size());
    }
    record->buffer_after_step.clear();
    record->operands.clear();
  }
  const quant::Rounder rounder = MakeRounder(seed);
  const CubeConfig config =
      CubeConfig::FromRecipe(recipe_, seed, options_.scalar);

  // Load A in the input format (tensor ~0, index i * C + j).
  quant::EventCounts input_events;
  RowMat& input = buffers_[plan_.input];
  input = l;  // row-major copy
  if (!recipe_.exact) {
    rounder.RoundValues(input.data(), static_cast<size_t>(input.size()),
                        recipe_.input, ~uint64_t{0}, 0, 1, input.data(),
                        &input_events);
  }

  if (record != nullptr && record->keep_buffers) {
    record->input_after_load.assign(input.data(), input.data() + input.size());
  }

  for (size_t s = 0; s < plan_.steps.size(); ++s) {
    const Step& step = plan_.steps[s];
    StepStats here;
    if (recipe_.exact) {
      RunExact(step);
    } else {
      RunRounded(step, s, rounder, config, &here, record);
    }
    if (record != nullptr && step.op == OpKind::kSync) {
      record->steps[s].Assimilate(here);
      if (record->keep_buffers) record->buffer_after_step.emplace_back();
    } else if (record != nullptr) {
      const View written = step.Writes();
      auto region = Region(written);
      // Local accumulators (max is exact: any order gives the same value).
      double max_abs = here.max_abs;
      int64_t nonfinite = 0;
      for (int i = 0; i < region.rows(); ++i) {
        for (int j = 0; j < region.cols(); ++j) {
          const double v = region(i, j);
          const double a = std::abs(v);
          if (a <= std::numeric_limits<double>::max()) {  // finite
            max_abs = std::max(max_abs, a);
          } else {
            ++nonfinite;
          }
        }
      }
      here.max_abs = max_abs;
      here.nonfinite += nonfinite;
      record->steps[s].Assimilate(here);
      if (record->keep_buffers) {
        const RowMat& b = buffers_[step.out.buffer];
        record->buffer_after_step.emplace_back(b.data(), b.data() + b.size());
      }
    }
  }

  // X leaves in the output format (tensor ~0 - 1, index i * C + j).
  const RowMat& x = buffers_[plan_.output];
  RowMat rounded = x;
  quant::EventCounts output_events;
  if (!recipe_.exact) {
    rounder.RoundValues(rounded.data(), static_cast<size_t>(rounded.size()),
                        recipe_.output, ~uint64_t{0} - 1, 0, 1, rounded.data(),
                        &output_events);
  }
  Mat result = rounded;
  if (record != nullptr) {
    record->input_events.Assimilate(input_events);
    record->output_events.Assimilate(output_events);
  }
  return result;
}

quant::Rounder Executor::MakeRounder(uint64_t seed) const {
  quant::Rounder rounder;
  rounder.rounding.mode = recipe_.rounding;
  rounder.rounding.overflow = recipe_.float_overflow;
  rounder.seed = seed;
  rounder.scalar = options_.scalar;
  return rounder;
}

Mat Executor::InputAsLoaded(const Mat& l, uint64_t seed) const {
  if (recipe_.exact) return l;
  const quant::Rounder rounder = MakeRounder(seed);
  quant::EventCounts ignored;
  Mat a(l.rows(), l.cols());
  for (int i = 0; i < l.rows(); ++i) {
    for (int j = 0; j < l.cols(); ++j) {
      // Tensor ~0 and index i * C + j, as Run's load (bit-identical paths).
      a(i, j) =
          rounder.Round(l(i, j), recipe_.input, ~uint64_t{0},
                        static_cast<uint64_t>(i) * l.cols() + j, &ignored);
    }
  }
  return a;
}

}  // namespace trisim
