#include "quant/tensor.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <sstream>
#include <thread>

#include "core/status.h"
#include "core/threads.h"

namespace trisim::quant {
namespace {

std::string Number(double v) {
  std::ostringstream s;
  s.precision(17);
  s << v;
  return s.str();
}

// Runs body(row_begin, row_end, events) over contiguous row chunks, one per
// thread, and merges the counts in chunk order (deterministic).
void ForRowChunks(
    int64_t rows, int threads,
    const std::function<void(int64_t, int64_t, EventCounts*)>& body,
    EventCounts* events) {
  const int64_t n = std::clamp<int64_t>(threads, 1, std::max<int64_t>(rows, 1));
  std::vector<EventCounts> counts(n);
  std::vector<std::thread> pool;
  // An exception escaping a std::thread is std::terminate: keep the first
  // (by chunk) and rethrow it after the join (core/threads.h).
  ParallelErrors errors;
  auto guarded = [&](int64_t t, int64_t begin, int64_t end) {
    try {
      body(begin, end, &counts[t]);
    } catch (...) {
      errors.Capture(t);
    }
  };
  for (int64_t t = 0; t < n; ++t) {
    const int64_t begin = rows * t / n, end = rows * (t + 1) / n;
    if (t + 1 == n) {
      guarded(t, begin, end);  // the calling thread takes the last chunk
    } else {
      pool.emplace_back(guarded, t, begin, end);
    }
  }
  for (std::thread& th : pool) th.join();
  errors.Rethrow();
  for (const EventCounts& c : counts) events->Assimilate(c);
}

void CheckOptions(const QuantizeOptions& o) {
  const FormatInfo& f = GetFormatInfo(o.format);
  if (o.scale.asymmetric && f.is_float) {
    throw InputError(std::string("--asymmetric: float format ") + f.name +
                     " takes symmetric scales only");
  }
  if (o.scale.asymmetric && f.storage_bits > 32) {
    throw InputError(
        std::string("--asymmetric: zero points are int32; format ") + f.name +
        " is wider (allowed: int4, int8, uint8, int16, int32)");
  }
  if (o.scale.kind == ScaleKind::kFixed) {
    if (f.is_float || f.storage_bits > 32) {
      throw InputError(
          std::string("--scale-kind fixed: requantises to an integer format of "
                      "at most 32 bits, not ") +
          f.name);
    }
    if (o.scale.grid.granularity == Granularity::kNone) {
      throw InputError(
          "--scale-kind fixed: needs a scale granularity (tensor, row, col, "
          "block:B)");
    }
  }
  if (o.scale.mantissa_bits < 0 || o.scale.mantissa_bits > 23) {
    throw InputError(
        "--scale-mantissa-bits: " + std::to_string(o.scale.mantissa_bits) +
        " is outside [0, 23]");
  }
  if (o.threads < 1) throw InputError("threads: must be >= 1");
}

}  // namespace

QuantizedTensor Quantize(const std::vector<double>& x, int64_t rows,
                         int64_t cols, const QuantizeOptions& o) {
  CheckOptions(o);
  TRISIM_ASSERT(static_cast<int64_t>(x.size()) == rows * cols);
  const FormatInfo& f = GetFormatInfo(o.format);
  QuantizedTensor out;
  out.format = o.format;
  out.layout = MakeGroupLayout(o.scale.grid, rows, cols);
  const GroupLayout& l = out.layout;

  // Input validation first, so bad input fails before any work is done.
  for (size_t i = 0; i < x.size(); ++i) {
    if (!f.is_float && !std::isfinite(x[i]) &&
        o.nonfinite == NonFinitePolicy::kError) {
      throw InputError("input element " + std::to_string(i) + " is " +
                       Number(x[i]) + "; integer format " + f.name +
                       " cannot hold it (use --nonfinite saturate to clamp)");
    }
    if (o.scale.kind == ScaleKind::kFixed &&
        !(std::isfinite(x[i]) && x[i] == std::trunc(x[i]) &&
          x[i] >= -2147483648.0 && x[i] <= 2147483647.0)) {
      throw InputError("input element " + std::to_string(i) + " is " +
                       Number(x[i]) +
                       "; --scale-kind fixed needs int32 accumulator values");
    }
  }

  auto flushes = [&](double v) {
    return v != 0 && std::abs(v) < o.flush_inputs_below;
  };
  auto read = [&](size_t i) {  // input subnormal policy
    return flushes(x[i]) ? std::copysign(0.0, x[i]) : x[i];
  };

  // Pass 1: per-group finite min and max, then the scales.
  const bool scaled = o.scale.grid.granularity != Granularity::kNone;
  if (scaled) {
    const int64_t groups = l.NumGroups();
    std::vector<double> lo(groups, std::numeric_limits<double>::infinity());
    std::vector<double> hi(groups, -std::numeric_limits<double>::infinity());
    for (int64_t i = 0; i < rows; ++i) {
      for (int64_t j = 0; j < cols; ++j) {
        const double v = read(static_cast<size_t>(i * cols + j));
        if (!std::isfinite(v)) continue;
        const int64_t g = l.GroupOf(i, j);
        lo[g] = std::min(lo[g], v);
        hi[g] = std::max(hi[g], v);
      }
    }
    out.scales.resize(groups);
    for (int64_t g = 0; g < groups; ++g) {
      if (lo[g] > hi[g]) lo[g] = hi[g] = 0;  // no finite value in the group
      out.scales[g] = ComputeScale(lo[g], hi[g], o.format, o.scale);
    }
  }

  // Pass 2: elementwise.
  if (f.is_float) {
    out.codes.resize(x.size());
  } else {
    out.ints.resize(x.size());
  }
  const FloatRounding float_rounding{o.rounding, o.subnormals_out,
                                     o.float_overflow};
  const IntRounding int_rounding{o.rounding, o.int_overflow};
  auto body = [&](int64_t row_begin, int64_t row_end, EventCounts* ev) {
    for (int64_t i = row_begin; i < row_end; ++i) {
      for (int64_t j = 0; j < cols; ++j) {
        const size_t idx = static_cast<size_t>(i * cols + j);
        if (flushes(x[idx])) ++ev->flushed_in;
        double v = read(idx);
        const uint64_t random = o.rounding == RoundingMode::kStochastic
                                    ? StochasticBits(o.seed, o.tensor_id, idx)
                                    : 0;
        const GroupScale* s = scaled ? &out.scales[l.GroupOf(i, j)] : nullptr;
        if (s != nullptr && o.scale.kind == ScaleKind::kFixed) {
          out.ints[idx] = RequantizeFixed(static_cast<int32_t>(v),
                                          s->reciprocal, o.scale.fixed_rounding,
                                          s->zero_point, o.format, ev);
          continue;
        }
        if (s != nullptr && std::isfinite(v)) {
          // The documented fp32 step: fp32(x) / s, one fp32 rounding.
          v = static_cast<double>(static_cast<float>(v) / s->scale);
        }
        if (f.is_float) {
          out.codes[idx] =
              RoundToFloat(v, o.format, float_rounding, random, ev);
        } else if (s != nullptr && s->zero_point != 0 && std::isfinite(v)) {
          // Round into int64, add the zero point, then range-limit.
          EventCounts local;
          int64_t q = RoundToInt(v, Format::kInt64, IntRounding{o.rounding},
                                 random, &local);
          ev->inexact += local.inexact;
          q = std::clamp<int64_t>(q, -(int64_t{1} << 40), int64_t{1} << 40);
          out.ints[idx] = RoundToInt(ExactFromInt(q + s->zero_point), o.format,
                                     int_rounding, 0, ev);
        } else {
          out.ints[idx] = RoundToInt(v, o.format, int_rounding, random, ev);
        }
      }
    }
  };
  ForRowChunks(rows, o.threads, body, &out.events);
  return out;
}

std::vector<uint32_t> Dequantize(const std::vector<double>& q,
                                 const GroupLayout& l,
                                 const std::vector<float>& scales,
                                 const std::vector<int32_t>& zero_points,
                                 const DequantizeOptions& o,
                                 EventCounts* events) {
  TRISIM_ASSERT(GetFormatInfo(o.out).is_float);
  TRISIM_ASSERT(static_cast<int64_t>(q.size()) == l.rows * l.cols);
  TRISIM_ASSERT(static_cast<int64_t>(scales.size()) == l.NumGroups());
  TRISIM_ASSERT(zero_points.empty() ||
                static_cast<int64_t>(zero_points.size()) == l.NumGroups());
  if (o.scale_mantissa_bits < 0 || o.scale_mantissa_bits > 23) {
    throw InputError(
        "--scale-mantissa-bits: " + std::to_string(o.scale_mantissa_bits) +
        " is outside [0, 23]");
  }
  std::vector<float> s(scales.size());
  for (size_t g = 0; g < scales.size(); ++g) {
    if (!std::isfinite(scales[g]) || scales[g] == 0) {
      throw InputError("scale " + std::to_string(g) + " is " +
                       Number(scales[g]) + " (allowed: finite and non-zero)");
    }
    s[g] = TruncateMantissa(scales[g], o.scale_mantissa_bits);
  }
  for (int64_t i = 0; i < l.rows; ++i) {
    for (int64_t j = 0; j < l.cols; ++j) {
      const size_t idx = static_cast<size_t>(i * l.cols + j);
      const double v = q[idx];
      if (!std::isfinite(v)) {
        if (!zero_points.empty()) {
          throw InputError("input element " + std::to_string(idx) + " is " +
                           Number(v) +
                           "; zero points apply to integer inputs only");
        }
        continue;
      }
      // The exact product needs (q - zp) within 40 significant bits (every
      // int32 minus an int32 zero point, every fp32 value).
      const double centred =
          zero_points.empty() ? v : v - zero_points[l.GroupOf(i, j)];
      if (ExactFromDouble(centred).mantissa >= (uint64_t{1} << 40)) {
        throw InputError("input element " + std::to_string(idx) + " is " +
                         Number(v) +
                         " (allowed: values of formats up to int32 / fp32)");
      }
    }
  }
  std::vector<uint32_t> y(q.size());
  auto body = [&](int64_t row_begin, int64_t row_end, EventCounts* ev) {
    for (int64_t i = row_begin; i < row_end; ++i) {
      for (int64_t j = 0; j < l.cols; ++j) {
        const size_t idx = static_cast<size_t>(i * l.cols + j);
        const int64_t g = l.GroupOf(i, j);
        const uint64_t random = o.rounding.mode == RoundingMode::kStochastic
                                    ? StochasticBits(o.seed, o.tensor_id, idx)
                                    : 0;
        if (!std::isfinite(q[idx])) {
          y[idx] = RoundToFloat(q[idx] * s[g], o.out, o.rounding, random, ev);
          continue;
        }
        const double centred =
            zero_points.empty() ? q[idx] : q[idx] - zero_points[g];
        y[idx] = RoundToFloat(
            ExactProduct(ExactFromDouble(centred), ExactFromDouble(s[g])),
            o.out, o.rounding, random, ev);
      }
    }
  };
  ForRowChunks(l.rows, o.threads, body, events);
  return y;
}

}  // namespace trisim::quant
