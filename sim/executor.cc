#include "sim/executor.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/kernels.h"
#include "core/status.h"
#include "quant/scale.h"
#include "sim/arith.h"
#include "sim/cube.h"
#include "sim/fast_path.h"
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

Executor::Executor(const Plan& plan, const Recipe& recipe)
    : plan_(plan), recipe_(recipe) {
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
      if (integer != nullptr) {
        // FIXPIPE requantisation: q = Round(I * fp32(d / s)), the exact
        // product rounded once, saturated (quant::RequantizeFloatScale's
        // semantics, here for any accumulator width).
        const float m = (*dequant)[e] / s;
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

void Executor::RunRounded(const Step& step, size_t index, uint64_t seed,
                          StepStats* stats, RunRecord* record) {
  if (step.op == OpKind::kSync) return;  // no data
  auto out = Region(step.out);
  const Format storage = BufferFormat(step.out.buffer);
  const Format vector = recipe_.vector;
  Rounder rounder;
  rounder.rounding.mode = recipe_.rounding;
  rounder.rounding.overflow = recipe_.float_overflow;
  rounder.seed = seed;
  quant::EventCounts* events = &stats->events;
  // Stochastic-rounding streams: one tensor id per (step, use).
  const uint64_t tensor = static_cast<uint64_t>(index) * 8;
  // The fast path rounds bit-identically (quant/round_simd.h).
  const bool fast = !ScalarReference();
  auto to_vector = [&](double x, uint64_t i) {
    return fast ? rounder.RoundFast(x, vector, tensor + 1, i, events)
                : rounder.Round(x, vector, tensor + 1, i, events);
  };
  auto to_storage = [&](double x, uint64_t i) {
    return fast ? rounder.RoundFast(x, storage, tensor, i, events)
                : rounder.Round(x, storage, tensor, i, events);
  };

  switch (step.op) {
    case OpKind::kSync:
      break;
    case OpKind::kMmad: {
      // Kernel Mmad (sim/cube.h CubeMmad): operands rounded to the operand
      // format (exact when already narrower), fp32 accumulation continuing
      // from the accumulator when `accumulate`, nothing rounded on the way
      // out: the accumulator keeps fp32 values until a kStore.
      const CubeConfig config = CubeConfig::FromRecipe(recipe_, seed);
      std::vector<CubeOperand> operands;
      operands.reserve(step.in.size());
      for (size_t p = 0; p < step.in.size(); ++p) {
        const View& v = step.in[p];
        const RowMat& buffer = buffers_[v.buffer];
        operands.push_back(PrepareOperand(
            buffer.data() + static_cast<size_t>(v.row) * buffer.cols() + v.col,
            v.rows, v.cols, static_cast<int>(buffer.cols()), config,
            tensor + 2 + p, events));
      }
      std::vector<CubeTerm> terms;
      for (size_t p = 0; p + 1 < operands.size(); p += 2) {
        terms.push_back({&operands[p], &operands[p + 1]});
      }
      RowMat& acc = buffers_[step.out.buffer];
      double* base = acc.data() +
                     static_cast<size_t>(step.out.row) * acc.cols() +
                     step.out.col;
      const int stride = static_cast<int>(acc.cols());
      CubeMmad(terms, step.accumulate ? base : nullptr, stride, config, base,
               stride, tensor, events);
      if (record != nullptr && record->keep_buffers) {
        record->operands.push_back(std::move(operands));
      }
      break;
    }
    case OpKind::kStore: {
      // FIXPIPE: the one rounding out of the accumulator, to out's format.
      const auto in = Region(step.in[0]);
      RowMat result(out.rows(), out.cols());
      for (int i = 0; i < out.rows(); ++i) {
        for (int j = 0; j < out.cols(); ++j) {
          result(i, j) = to_storage(in(i, j), i * out.cols() + j);
        }
      }
      out = result;
      break;
    }
    case OpKind::kTranspose:
    case OpKind::kIdentity:
    case OpKind::kZero:
    case OpKind::kCopy:
    case OpKind::kMask:
      // Exact in every format: values move or become 0/1.
      RunExact(step);
      // A copy into a narrower buffer rounds (e.g. L in fp32, storage fp16);
      // into integer storage it quantises.
      if (step.op == OpKind::kCopy || step.op == OpKind::kMask ||
          step.op == OpKind::kTranspose) {
        if (!quant::IsFloat(storage) &&
            BufferFormat(step.in[0].buffer) != storage) {
          StoreInteger(step.out, RowMat(out), nullptr, nullptr, seed, tensor,
                       stats, record, index);
        } else if (BufferFormat(step.in[0].buffer) != storage) {
          for (int i = 0; i < out.rows(); ++i) {
            for (int j = 0; j < out.cols(); ++j) {
              out(i, j) = to_storage(out(i, j), i * out.cols() + j);
            }
          }
        }
      }
      break;
    case OpKind::kLinComb: {
      RowMat result(out.rows(), out.cols());
      if (fast && recipe_.rounding != quant::RoundingMode::kStochastic) {
        // Without stochastic bits the element indices do not matter and
        // event counts add up in any order: each rounding stage of the
        // element loop below runs once over the whole matrix.
        const int rows = out.rows(), cols = out.cols();
        const size_t total = static_cast<size_t>(rows) * cols;
        static thread_local std::vector<double> xs, vs;
        xs.resize(total);
        vs.resize(total);
        double* x = xs.data();
        double* v = vs.data();
        for (size_t t = 0; t < step.in.size(); ++t) {
          const auto in = Region(step.in[t]);
          for (int i = 0; i < rows; ++i) {
            for (int j = 0; j < cols; ++j)
              x[static_cast<size_t>(i) * cols + j] = in(i, j);
          }
          rounder.RoundValues(x, total, vector, tensor + 1, 0, 0, x, events);
          const double coef = step.coef[t];
          for (size_t e = 0; e < total; ++e) x[e] = coef * x[e];
          rounder.RoundValues(x, total, vector, tensor + 1, 0, 0,
                              t == 0 ? v : x, events);
          if (t == 0) continue;
          for (size_t e = 0; e < total; ++e) v[e] = v[e] + x[e];
          rounder.RoundValues(v, total, vector, tensor + 1, 0, 0, v, events);
        }
        if (quant::IsFloat(storage)) {
          rounder.RoundValues(v, total, storage, tensor, 0, 0, result.data(),
                              events);
        } else {
          std::copy(v, v + total, result.data());
        }
      } else if (fast) {
        // Row by row through the SIMD rounding: the same roundings with the
        // same stochastic indices as the element loop below.
        const size_t cols = static_cast<size_t>(out.cols());
        std::vector<double> x(cols), v(cols);
        for (int i = 0; i < out.rows(); ++i) {
          const uint64_t e0 = static_cast<uint64_t>(i) * cols;
          for (size_t t = 0; t < step.in.size(); ++t) {
            const auto in_row = Region(step.in[t]).row(i);
            for (size_t j = 0; j < cols; ++j) x[j] = in_row(j);
            rounder.RoundValues(x.data(), cols, vector, tensor + 1, e0 * 8 + t,
                                8, x.data(), events);
            for (size_t j = 0; j < cols; ++j) x[j] = step.coef[t] * x[j];
            rounder.RoundValues(x.data(), cols, vector, tensor + 1,
                                e0 * 8 + 3 + t, 8, t == 0 ? v.data() : x.data(),
                                events);
            if (t == 0) continue;
            for (size_t j = 0; j < cols; ++j) v[j] = v[j] + x[j];
            rounder.RoundValues(v.data(), cols, vector, tensor + 1, e0 * 8 + 6,
                                8, v.data(), events);
          }
          if (quant::IsFloat(storage)) {
            rounder.RoundValues(v.data(), cols, storage, tensor, e0, 1,
                                &result(i, 0), events);
          } else {
            for (size_t j = 0; j < cols; ++j) result(i, j) = v[j];
          }
        }
      }
      if (fast) {
        if (quant::IsFloat(storage)) {
          out = result;
        } else {
          StoreInteger(step.out, result, nullptr, nullptr, seed, tensor, stats,
                       record, index);
        }
        break;
      }
      for (int i = 0; i < out.rows(); ++i) {
        for (int j = 0; j < out.cols(); ++j) {
          const uint64_t e = static_cast<uint64_t>(i) * out.cols() + j;
          double v = 0.0;
          for (size_t t = 0; t < step.in.size(); ++t) {
            const double x = to_vector(Region(step.in[t])(i, j), e * 8 + t);
            const double term = to_vector(step.coef[t] * x, e * 8 + 3 + t);
            v = t == 0 ? term : to_vector(v + term, e * 8 + 6);
          }
          // Integer storage is quantised below, per group.
          result(i, j) = quant::IsFloat(storage) ? to_storage(v, e) : v;
        }
      }
      if (quant::IsFloat(storage)) {
        out = result;
      } else {
        StoreInteger(step.out, result, nullptr, nullptr, seed, tensor, stats,
                     record, index);
      }
      break;
    }
    case OpKind::kForwardRow: {
      const int r = step.row;
      if (step.row_reduce != Step::RowReduce::kNone) {
        // Lane form (core/plan.h): products, a reduction over the block's
        // rows in the named order, one add; every operation rounds to the
        // vector format, the row then to the block's format.
        const int w = out.cols();
        std::vector<double> lanes(w), p(w);
        for (int k = 0; k < w; ++k) lanes[k] = out(r, k);
        std::vector<double> row(w);
        for (int j = 0; j < w; ++j) {
          const uint64_t e = static_cast<uint64_t>(j) * (2 * w + 1);
          for (int k = 0; k < w; ++k) {
            p[k] = to_vector(lanes[k] * out(k, j), e + k);
          }
          if (step.row_reduce == Step::RowReduce::kSequential) {
            for (int k = 1; k < w; ++k) {
              p[0] = to_vector(p[0] + p[k], e + w + k);
            }
          } else {
            for (int half = w / 2; half >= 1; half /= 2) {
              for (int k = 0; k < half; ++k) {
                p[k] = to_vector(p[k] + p[k + half], e + w + half + k);
              }
            }
          }
          row[j] = to_vector(lanes[j] + step.row_sign * p[0], e + 2 * w);
        }
        for (int j = 0; j < w; ++j) out(r, j) = to_storage(row[j], j);
        break;
      }
      auto l = Region(step.in[0]);
      for (int j = 0; j < r; ++j) {
        // Stochastic bits: (row element j, term k, rounding point) -> index.
        auto at = [&](int k, int point) {
          return (static_cast<uint64_t>(j) * r + k) * 4 + point;
        };
        double acc = to_vector(-l(r, j), at(j, 0));
        for (int k = j + 1; k < r; ++k) {
          const double lk = to_vector(l(r, k), at(k, 1));
          const double product = to_vector(lk * out(k, j), at(k, 2));
          acc = to_vector(acc - product, at(k, 3));
        }
        out(r, j) = to_storage(acc, j);
      }
      break;
    }
    case OpKind::kMatMul: {
      const CubeConfig config = CubeConfig::FromRecipe(recipe_, seed);
      std::vector<CubeOperand> operands;
      operands.reserve(step.in.size());
      for (size_t p = 0; p < step.in.size(); ++p) {
        const View& v = step.in[p];
        const RowMat& buffer = buffers_[v.buffer];
        operands.push_back(PrepareOperand(
            buffer.data() + static_cast<size_t>(v.row) * buffer.cols() + v.col,
            v.rows, v.cols, static_cast<int>(buffer.cols()), config,
            tensor + 2 + p, events));
      }
      std::vector<CubeTerm> terms;
      for (size_t p = 0; p + 1 < operands.size(); p += 2) {
        terms.push_back({&operands[p], &operands[p + 1]});
      }
      // Computed into a temporary: the output may alias an input.
      RowMat result(out.rows(), out.cols());
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
      if (record != nullptr && record->keep_buffers) {
        record->operands.push_back(std::move(operands));
      }
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
  Rounder rounder;
  rounder.rounding.mode = recipe_.rounding;
  rounder.rounding.overflow = recipe_.float_overflow;
  rounder.seed = seed;
  const bool fast = !ScalarReference();

  // Load A in the input format.
  quant::EventCounts input_events;
  RowMat& input = buffers_[plan_.input];
  if (fast && !recipe_.exact) {
    // Row by row through the SIMD rounding, same indices as below.
    std::vector<double> row(l.cols());
    for (int i = 0; i < l.rows(); ++i) {
      for (int j = 0; j < l.cols(); ++j) row[j] = l(i, j);
      rounder.RoundValues(row.data(), row.size(), recipe_.input, ~uint64_t{0},
                          static_cast<uint64_t>(i) * l.cols(), 1, &input(i, 0),
                          &input_events);
    }
  }
  for (int i = 0; i < l.rows() && !(fast && !recipe_.exact); ++i) {
    for (int j = 0; j < l.cols(); ++j) {
      input(i, j) =
          recipe_.exact ? l(i, j)
          : fast ? rounder.RoundFast(l(i, j), recipe_.input, ~uint64_t{0},
                                     i * l.cols() + j, &input_events)
                 : rounder.Round(l(i, j), recipe_.input, ~uint64_t{0},
                                 i * l.cols() + j, &input_events);
    }
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
      RunRounded(step, s, seed, &here, record);
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

  // X leaves in the output format.
  const RowMat& x = buffers_[plan_.output];
  Mat result(x.rows(), x.cols());
  quant::EventCounts output_events;
  if (fast && !recipe_.exact) {
    std::vector<double> row(x.cols());
    for (int i = 0; i < x.rows(); ++i) {
      rounder.RoundValues(&x(i, 0), row.size(), recipe_.output,
                          ~uint64_t{0} - 1, static_cast<uint64_t>(i) * x.cols(),
                          1, row.data(), &output_events);
      for (int j = 0; j < x.cols(); ++j) result(i, j) = row[j];
    }
  }
  for (int i = 0; i < x.rows() && !(fast && !recipe_.exact); ++i) {
    for (int j = 0; j < x.cols(); ++j) {
      result(i, j) =
          recipe_.exact ? x(i, j)
          : fast ? rounder.RoundFast(x(i, j), recipe_.output, ~uint64_t{0} - 1,
                                     i * x.cols() + j, &output_events)
                 : rounder.Round(x(i, j), recipe_.output, ~uint64_t{0} - 1,
                                 i * x.cols() + j, &output_events);
    }
  }
  if (record != nullptr) {
    record->input_events.Assimilate(input_events);
    record->output_events.Assimilate(output_events);
  }
  return result;
}

Mat Executor::InputAsLoaded(const Mat& l, uint64_t seed) const {
  if (recipe_.exact) return l;
  Rounder rounder;
  rounder.rounding.mode = recipe_.rounding;
  rounder.rounding.overflow = recipe_.float_overflow;
  rounder.seed = seed;
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
