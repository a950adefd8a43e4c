#include "sim/cube.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/status.h"
#include "quant/requant.h"
#include "quant/scale.h"

namespace trisim {

using quant::EventCounts;
using quant::Format;

namespace {

// Largest |q| of emulated int16: both balanced int8 pieces must fit s8.
constexpr int32_t kEmulatedInt16Max = 127 * 256 + 127;  // 32639

// RNE into fp32 of a double that is exact (x86 cvtsd2ss is IEEE RNE).
inline double Rne32(double x) { return static_cast<double>(static_cast<float>(x)); }

// Sum of doubles, exactly, rounded once to fp32 with nearest-even. Fast
// path: a plain double sum whose every addition was exact (TwoSum error 0).
double ExactSumRne32(const double* terms, int n) {
  double sum = 0.0;
  bool exact = true;
  bool finite = true;
  for (int i = 0; i < n; ++i) {
    const double t = terms[i];
    finite = finite && std::isfinite(t);
    const double s = sum + t;
    // Knuth's TwoSum: the rounding error of sum + t.
    const double bb = s - sum;
    const double err = (sum - (s - bb)) + (t - bb);
    if (err != 0.0) exact = false;
    sum = s;
  }
  if (!finite) return Rne32(sum);  // IEEE propagation of inf/NaN
  if (exact) return Rne32(sum);
  ExactSum acc;
  for (int i = 0; i < n; ++i) acc.Add(terms[i]);
  const quant::FloatRounding rne;  // nearest-even, IEEE overflow
  EventCounts ignored;  // accumulator roundings are not events
  return quant::DecodeFloat(
      quant::RoundToFloat(acc.Value(), Format::kFp32, rne, 0, &ignored),
      Format::kFp32);
}

// acc + p with one fp32 rounding; both fp32 values or p an exact product.
inline double FusedAddRne32(double acc, double p, bool p_is_fp32) {
  if (p_is_fp32 || !std::isfinite(p) || !std::isfinite(acc)) {
    // fp32 + fp32 in double is exact to 2*24+2 bits: one rounding to fp32 is
    // correct (the double rounding is innocuous, Figueroa 1995).
    return Rne32(acc + p);
  }
  const double terms[2] = {acc, p};
  return ExactSumRne32(terms, 2);
}

int64_t AccumulatorMin(Format f) { return quant::GetFormatInfo(f).min_int; }
int64_t AccumulatorMax(Format f) { return quant::GetFormatInfo(f).max_int; }

// Adds `add` into an integer accumulator of `format`, applying the overflow
// policy after the add.
inline int64_t AccumulateInt(int64_t acc, int64_t add, Format format,
                             quant::IntOverflow policy, EventCounts* events) {
  __int128 sum = static_cast<__int128>(acc) + add;
  const int64_t lo = AccumulatorMin(format);
  const int64_t hi = AccumulatorMax(format);
  if (sum >= lo && sum <= hi) return static_cast<int64_t>(sum);
  if (policy == quant::IntOverflow::kSaturate) {
    if (events) ++events->saturated;
    return sum < lo ? lo : hi;
  }
  if (events) ++events->wrapped;
  const int bits = quant::GetFormatInfo(format).storage_bits;
  const unsigned __int128 mask = (static_cast<unsigned __int128>(1) << bits) - 1;
  unsigned __int128 wrapped = static_cast<unsigned __int128>(sum) & mask;
  if (wrapped >> (bits - 1)) wrapped -= static_cast<unsigned __int128>(1) << bits;
  return static_cast<int64_t>(static_cast<__int128>(wrapped));
}

}  // namespace

CubeConfig CubeConfig::FromRecipe(const Recipe& recipe, uint64_t seed) {
  CubeConfig c;
  c.operand = recipe.operand;
  c.operand_scale = recipe.operand_scale;
  c.int16 = recipe.int16;
  c.accumulator = recipe.accumulator;
  c.order = recipe.order;
  c.accumulator_overflow = recipe.accumulator_overflow;
  c.scale_mantissa_bits = recipe.scale_mantissa_bits;
  c.rounder.rounding.mode = recipe.rounding;
  c.rounder.rounding.overflow = recipe.float_overflow;
  c.rounder.seed = seed;
  return c;
}

int32_t CubeConfig::QMax() const {
  if (operand == Format::kInt16 && int16 == Int16Cube::kEmulated) {
    return kEmulatedInt16Max;
  }
  return static_cast<int32_t>(quant::GetFormatInfo(operand).max_int);
}

int CubeConfig::FractalDepth() const {
  return 32 / (quant::GetFormatInfo(operand).storage_bits / 8);
}

CubeOperand PrepareOperand(const double* data, int rows, int cols, int stride,
                           const CubeConfig& config, uint64_t tensor,
                           EventCounts* events) {
  CubeOperand op;
  op.rows = rows;
  op.cols = cols;
  if (!config.Integer()) {
    op.values.resize(static_cast<size_t>(rows) * cols);
    for (int i = 0; i < rows; ++i) {
      for (int j = 0; j < cols; ++j) {
        const uint64_t index = static_cast<uint64_t>(i) * cols + j;
        op.values[index] = config.rounder.Round(data[i * stride + j],
                                                config.operand, tensor, index,
                                                events);
      }
    }
    return op;
  }
  // Integer: groups, scales from amax, then codes.
  int block_rows = rows, block_cols = cols;
  if (config.operand_scale.granularity == quant::Granularity::kBlock) {
    const int b = static_cast<int>(config.operand_scale.block);
    block_rows = std::min(b, rows);
    block_cols = std::min(b, cols);
    TRISIM_ASSERT(rows % block_rows == 0 && cols % block_cols == 0);
  }
  op.group_rows = block_rows;
  op.group_cols = block_cols;
  const int grid_rows = rows / block_rows;
  const int grid_cols = cols / block_cols;
  const int32_t qmax = config.QMax();
  quant::ScaleSpec spec;  // symmetric fp32 scale, full mantissa
  op.scales.resize(static_cast<size_t>(grid_rows) * grid_cols);
  for (int gi = 0; gi < grid_rows; ++gi) {
    for (int gj = 0; gj < grid_cols; ++gj) {
      double amax = 0.0;
      for (int i = gi * block_rows; i < (gi + 1) * block_rows; ++i) {
        for (int j = gj * block_cols; j < (gj + 1) * block_cols; ++j) {
          const double v = data[i * stride + j];
          if (std::isfinite(v)) amax = std::max(amax, std::abs(v));
        }
      }
      float scale;
      if (qmax == kEmulatedInt16Max) {
        // quant::ComputeScale's semantics with qmax = 32639: one fp32
        // division, clamped into [2^-126, 2^127].
        scale = static_cast<float>(amax) / static_cast<float>(qmax);
        if (!(scale >= 0x1p-126f)) scale = 0x1p-126f;
        scale = std::min(scale, 0x1p127f);
      } else {
        scale = quant::ComputeScale(-amax, amax, config.operand, spec).scale;
      }
      op.scales[gi * grid_cols + gj] = scale;
    }
  }
  const quant::IntRounding int_rounding{config.rounder.rounding.mode,
                                        quant::IntOverflow::kSaturate};
  op.codes.resize(static_cast<size_t>(rows) * cols);
  for (int i = 0; i < rows; ++i) {
    for (int j = 0; j < cols; ++j) {
      const uint64_t index = static_cast<uint64_t>(i) * cols + j;
      const double x = data[i * stride + j];
      const float s = op.ScaleAt(i, j);
      const float y = static_cast<float>(x) / s;  // the one fp32 division
      const uint64_t random =
          config.rounder.rounding.mode == quant::RoundingMode::kStochastic
              ? quant::StochasticBits(config.rounder.seed, tensor, index)
              : 0;
      quant::EventCounts ignored;
      int64_t q = quant::RoundToInt(static_cast<double>(y), config.operand,
                                    int_rounding, random,
                                    events ? events : &ignored);
      if (q > qmax || q < -qmax) {
        q = q > 0 ? qmax : -qmax;
        if (events) ++events->saturated;
      }
      op.codes[index] = static_cast<int32_t>(q);
    }
  }
  return op;
}

namespace {

void FloatMatMul(const std::vector<CubeTerm>& terms, double sign,
                 const CubeConfig& config, Format out_format, double* out,
                 int out_stride, uint64_t tensor, EventCounts* events) {
  const int m = terms[0].a->rows;
  const int n = terms[0].b->cols;
  const int k0 = config.FractalDepth();
  // Products of 16-bit operands (and hf32) are exact in fp32; fp32 x fp32
  // products are exact in double but not in fp32.
  const bool products_fit_fp32 = config.operand != Format::kFp32;
  std::vector<double> chunk(k0);
  for (int i = 0; i < m; ++i) {
    for (int j = 0; j < n; ++j) {
      double acc = 0.0;
      for (const CubeTerm& t : terms) {
        const int k_total = t.a->cols;
        const double* a_row = &t.a->values[static_cast<size_t>(i) * k_total];
        const double* b = t.b->values.data();
        if (config.order == AccumulationOrder::kSequential) {
          for (int k = 0; k < k_total; ++k) {
            acc = FusedAddRne32(acc, a_row[k] * b[k * n + j], products_fit_fp32);
          }
        } else {
          for (int k_start = 0; k_start < k_total; k_start += k0) {
            const int len = std::min(k0, k_total - k_start);
            for (int k = 0; k < len; ++k) {
              chunk[k] = a_row[k_start + k] * b[(k_start + k) * n + j];
            }
            acc = Rne32(acc + ExactSumRne32(chunk.data(), len));
          }
        }
      }
      const uint64_t index = static_cast<uint64_t>(i) * n + j;
      out[i * out_stride + j] =
          config.rounder.Round(sign * acc, out_format, tensor, index, events);
    }
  }
}

// The integer sum of one k-group for element (i, j).
int64_t KGroupSum(const CubeOperand& a, const CubeOperand& b, int i, int j,
                  int k_begin, int k_end, const CubeConfig& config,
                  EventCounts* events) {
  const int n = b.cols;
  const int32_t* a_row = &a.codes[static_cast<size_t>(i) * a.cols];
  const Format acc_format = config.accumulator;
  const auto policy = config.accumulator_overflow;
  if (config.operand == Format::kInt16 && config.int16 == Int16Cube::kEmulated) {
    int64_t hh = 0, hl = 0, lh = 0, ll = 0;
    for (int k = k_begin; k < k_end; ++k) {
      const int32_t qa = a_row[k];
      const int32_t qb = b.codes[static_cast<size_t>(k) * n + j];
      // Balanced split: lo in [-128, 127], hi = (q - lo) / 256.
      const int32_t a_lo = ((qa + 128) & 255) - 128, a_hi = (qa - a_lo) / 256;
      const int32_t b_lo = ((qb + 128) & 255) - 128, b_hi = (qb - b_lo) / 256;
      hh = AccumulateInt(hh, int64_t{a_hi} * b_hi, Format::kInt32, policy, events);
      hl = AccumulateInt(hl, int64_t{a_hi} * b_lo, Format::kInt32, policy, events);
      lh = AccumulateInt(lh, int64_t{a_lo} * b_hi, Format::kInt32, policy, events);
      ll = AccumulateInt(ll, int64_t{a_lo} * b_lo, Format::kInt32, policy, events);
    }
    return hh * 65536 + (hl + lh) * 256 + ll;
  }
  // When no partial sum can leave the accumulator's range, skip the
  // per-add check: the exact int64 sum is the accumulator's value.
  // Any code of the operand format (int8 admits -128) bounds the products.
  const int64_t code_max =
      -quant::GetFormatInfo(config.operand).min_int;
  const __int128 bound =
      static_cast<__int128>(code_max) * code_max * (k_end - k_begin);
  if (bound <= AccumulatorMax(acc_format)) {
    int64_t acc = 0;
    for (int k = k_begin; k < k_end; ++k) {
      acc += int64_t{a_row[k]} * b.codes[static_cast<size_t>(k) * n + j];
    }
    return acc;
  }
  int64_t acc = 0;
  for (int k = k_begin; k < k_end; ++k) {
    const int64_t product =
        int64_t{a_row[k]} * b.codes[static_cast<size_t>(k) * n + j];
    acc = AccumulateInt(acc, product, acc_format, policy, events);
  }
  return acc;
}

void IntMatMul(const std::vector<CubeTerm>& terms, double sign,
               const CubeConfig& config, Format out_format, double* out,
               int out_stride, uint64_t tensor, EventCounts* events) {
  const int m = terms[0].a->rows;
  const int n = terms[0].b->cols;
  int groups_per_element = 0;
  for (const CubeTerm& t : terms) {
    groups_per_element += t.a->cols / std::min(t.a->group_cols, t.b->group_rows);
  }
  for (int i = 0; i < m; ++i) {
    for (int j = 0; j < n; ++j) {
      const uint64_t index = static_cast<uint64_t>(i) * n + j;
      double sum = 0.0;  // +0, like the fp32 accumulator
      int partials = 0;
      double result = 0.0;
      for (const CubeTerm& t : terms) {
        const int g = std::min(t.a->group_cols, t.b->group_rows);
        for (int k = 0; k < t.a->cols; k += g) {
          const int64_t total = KGroupSum(*t.a, *t.b, i, j, k, k + g, config, events);
          const float product_scale = t.a->ScaleAt(i, k) * t.b->ScaleAt(k, j);
          const float d = quant::TruncateMantissa(product_scale,
                                                  config.scale_mantissa_bits);
          if (groups_per_element == 1) {
            // sign * (I * d) with IEEE sign rules: -0 when I = 0, sign < 0.
            quant::Exact value = ExactScaled(total, d);
            if (sign < 0) value.negative = !value.negative;
            result = config.rounder.Round(value, out_format, tensor, index,
                                          events);
          } else {
            // Stochastic bits of partial p of element `index`: a distinct
            // counter per (element, partial).
            const double p = config.rounder.Round(
                ExactScaled(total, d), Format::kFp32, tensor,
                index * groups_per_element + partials, events);
            sum = Rne32(sum + p);
            ++partials;
          }
        }
      }
      if (groups_per_element != 1) {
        result = config.rounder.Round(sign * sum, out_format, tensor, index,
                                      events);
      }
      out[i * out_stride + j] = result;
    }
  }
}

}  // namespace

bool CubeAccumulators(const std::vector<CubeTerm>& terms, double sign,
                      const CubeConfig& config, std::vector<int64_t>* integer,
                      std::vector<float>* scale) {
  if (!config.Integer() || terms.size() != 1) return false;
  const CubeOperand& a = *terms[0].a;
  const CubeOperand& b = *terms[0].b;
  if (std::min(a.group_cols, b.group_rows) != a.cols) return false;
  EventCounts ignored;
  integer->resize(static_cast<size_t>(a.rows) * b.cols);
  scale->resize(integer->size());
  for (int i = 0; i < a.rows; ++i) {
    for (int j = 0; j < b.cols; ++j) {
      const int64_t total = KGroupSum(a, b, i, j, 0, a.cols, config, &ignored);
      const size_t index = static_cast<size_t>(i) * b.cols + j;
      (*integer)[index] = sign < 0 ? -total : total;
      (*scale)[index] = quant::TruncateMantissa(
          a.ScaleAt(i, 0) * b.ScaleAt(0, j), config.scale_mantissa_bits);
    }
  }
  return true;
}

void CubeMatMul(const std::vector<CubeTerm>& terms, double sign,
                const CubeConfig& config, Format out_format, double* out,
                int out_stride, uint64_t tensor, EventCounts* events) {
  TRISIM_ASSERT(!terms.empty());
  for (const CubeTerm& t : terms) {
    TRISIM_ASSERT(t.a->cols == t.b->rows && t.a->rows == terms[0].a->rows &&
                  t.b->cols == terms[0].b->cols);
  }
  if (config.Integer()) {
    IntMatMul(terms, sign, config, out_format, out, out_stride, tensor, events);
  } else {
    FloatMatMul(terms, sign, config, out_format, out, out_stride, tensor, events);
  }
}

}  // namespace trisim
