#include "sim/cube.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "core/status.h"
#include "quant/requant.h"
#include "quant/round_simd.h"
#include "quant/scale.h"
#include "sim/cube_simd.h"

namespace trisim {

using quant::EventCounts;
using quant::Format;

namespace {

// Largest |q| of emulated int16: both balanced int8 pieces must fit s8.
constexpr int32_t kEmulatedInt16Max = 127 * 256 + 127;  // 32639

// RNE into fp32 of a double that is exact (x86 cvtsd2ss is IEEE RNE).
inline double Rne32(double x) {
  return static_cast<double>(static_cast<float>(x));
}

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
  EventCounts ignored;             // accumulator roundings are not events
  return quant::DecodeFloat(
      quant::RoundToFloat(acc.Value(), Format::kFp32, rne, 0, &ignored),
      Format::kFp32);
}

// Dequantisation of one k-group's integer total I: Round(sign * (I * d)),
// the exact product rounded once, d the fp32 product of the operand scales
// (TruncateMantissa'd). When the operand scales multiply past FLT_MAX, d is
// +inf, as the kernel's own fp32 arithmetic forms it (sa * sb: an fp32
// overflow, counted here as `overflowed`); the result is then IEEE's I * d,
// +-inf or NaN for I = 0, which the rounder counts as a non-finite value
// (the rule of quant::DequantizeToFloat, here with the executor's rounder
// and its stochastic-rounding streams). The fast paths leave such groups to
// this reference (FastIntMatMul).
double DequantRound(int64_t total, float d, bool negate,
                    const quant::Rounder& rounder, Format format,
                    uint64_t tensor, uint64_t index, EventCounts* events) {
  if (std::isfinite(d)) {
    quant::Exact value = ExactScaled(total, d);
    if (negate) value.negative = !value.negative;
    return rounder.Round(value, format, tensor, index, events);
  }
  if (events != nullptr) ++events->overflowed;
  const double v = static_cast<double>(total) * static_cast<double>(d);
  return rounder.Round(negate ? -v : v, format, tensor, index, events);
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
  const unsigned __int128 mask =
      (static_cast<unsigned __int128>(1) << bits) - 1;
  unsigned __int128 wrapped = static_cast<unsigned __int128>(sum) & mask;
  if (wrapped >> (bits - 1))
    wrapped -= static_cast<unsigned __int128>(1) << bits;
  return static_cast<int64_t>(static_cast<__int128>(wrapped));
}

// Integer operands: groups, and their scales from amax (see cube.h).
void ComputeOperandScales(const double* data, int rows, int cols, int stride,
                          const CubeConfig& config, CubeOperand* out,
                          bool fast = false) {
  CubeOperand& op = *out;
  const quant::GroupLayout layout =
      quant::MakeViewGroupLayout(config.operand_scale, rows, cols);
  op.group_rows = static_cast<int>(layout.group_rows);
  op.group_cols = static_cast<int>(layout.group_cols);
  // fast: the same max, SIMD (sim/cube_simd.h).
  op.scales = quant::GroupAmaxScales(data, stride, layout, config.QMax(),
                                     fast ? AbsMaxFinite : nullptr);
}

}  // namespace

CubeConfig CubeConfig::FromRecipe(const Recipe& recipe, uint64_t seed,
                                  bool scalar) {
  CubeConfig c;
  c.operand = recipe.operand;
  c.split = recipe.operand_split;
  c.operand_scale = recipe.operand_scale;
  c.int16 = recipe.int16;
  c.accumulator = recipe.accumulator;
  c.order = recipe.order;
  c.accumulator_overflow = recipe.accumulator_overflow;
  c.scale_mantissa_bits = recipe.scale_mantissa_bits;
  c.rounder.rounding.mode = recipe.rounding;
  c.rounder.rounding.overflow = recipe.float_overflow;
  c.rounder.seed = seed;
  c.rounder.scalar = scalar;
  c.scalar = scalar;
  return c;
}

int32_t CubeConfig::QMax() const {
  if (EmulatedInt16()) {
    return kEmulatedInt16Max;
  }
  return static_cast<int32_t>(quant::GetFormatInfo(operand).max_int);
}

int CubeConfig::FractalDepth() const {
  return 32 / (quant::GetFormatInfo(operand).storage_bits / 8);
}

CubeOperand PrepareOperandReference(const double* data, int rows, int cols,
                                    int stride, const CubeConfig& config,
                                    uint64_t tensor, EventCounts* events) {
  CubeOperand op;
  op.rows = rows;
  op.cols = cols;
  if (config.split != quant::OperandSplit::kNone) {
    // fp32 register first, then the parts (quant/split.h). Stochastic bits:
    // hi at index, lo at rows*cols + index, both of this tensor.
    const uint64_t size = static_cast<uint64_t>(rows) * cols;
    op.values.resize(size);
    op.lo.resize(size);
    EventCounts ignored;
    EventCounts* ev = events ? events : &ignored;
    for (int i = 0; i < rows; ++i) {
      for (int j = 0; j < cols; ++j) {
        const uint64_t index = static_cast<uint64_t>(i) * cols + j;
        const double x32 = config.rounder.Round(
            data[i * stride + j], Format::kFp32, tensor, index, events);
        const quant::SplitParts parts = quant::SplitFp32(
            x32, config.split, config.rounder.rounding,
            config.rounder.RandomBits(tensor, index),
            config.rounder.RandomBits(tensor, size + index), ev);
        op.values[index] = parts.hi;
        op.lo[index] = parts.lo;
      }
    }
    return op;
  }
  if (!config.Integer()) {
    op.values.resize(static_cast<size_t>(rows) * cols);
    for (int i = 0; i < rows; ++i) {
      for (int j = 0; j < cols; ++j) {
        const uint64_t index = static_cast<uint64_t>(i) * cols + j;
        op.values[index] = config.rounder.Round(
            data[i * stride + j], config.operand, tensor, index, events);
      }
    }
    return op;
  }
  ComputeOperandScales(data, rows, cols, stride, config, &op);
  const int32_t qmax = config.QMax();
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
      int64_t q =
          quant::RoundToInt(static_cast<double>(y), config.operand,
                            int_rounding, random, events ? events : &ignored);
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

// Adds sum_k a_row[k] * b[k*n + j] over k < k_total into an fp32
// accumulator value in the configured order (see cube.h).
double AccumulateDot(double acc, const double* a_row, const double* b, int n,
                     int j, int k_total, const CubeConfig& config,
                     bool products_fit_fp32, std::vector<double>* chunk) {
  if (config.order == AccumulationOrder::kSequential) {
    for (int k = 0; k < k_total; ++k) {
      acc = FusedAddRne32(acc, a_row[k] * b[static_cast<size_t>(k) * n + j],
                          products_fit_fp32);
    }
    return acc;
  }
  const int k0 = static_cast<int>(chunk->size());
  for (int k_start = 0; k_start < k_total; k_start += k0) {
    const int len = std::min(k0, k_total - k_start);
    for (int k = 0; k < len; ++k) {
      (*chunk)[k] =
          a_row[k_start + k] * b[static_cast<size_t>(k_start + k) * n + j];
    }
    acc = Rne32(acc + ExactSumRne32(chunk->data(), len));
  }
  return acc;
}

// With `init` (kernel Mmad continuing an accumulator) the accumulator starts
// from init[i * init_stride + j] instead of +0 and is returned unrounded (an
// fp32 value) in out; sign must then be +1.
void FloatMatMul(const std::vector<CubeTerm>& terms, double sign,
                 const CubeConfig& config, Format out_format, double* out,
                 int out_stride, uint64_t tensor, EventCounts* events,
                 const double* init = nullptr, int init_stride = 0,
                 bool keep_accumulator = false) {
  const int m = terms[0].a->rows;
  const int n = terms[0].b->cols;
  const int k0 = config.FractalDepth();
  // Products of 16-bit operands (and hf32/tf32, and split parts) are exact
  // in fp32; fp32 x fp32 products are exact in double but not in fp32.
  const bool products_fit_fp32 = config.operand != Format::kFp32;
  const bool split = config.split != quant::OperandSplit::kNone;
  std::vector<double> chunk(k0);
  for (int i = 0; i < m; ++i) {
    for (int j = 0; j < n; ++j) {
      double acc = init != nullptr ? init[i * init_stride + j] : 0.0;
      for (const CubeTerm& t : terms) {
        const int k_total = t.a->cols;
        const size_t row = static_cast<size_t>(i) * k_total;
        if (!split) {
          acc = AccumulateDot(acc, &t.a->values[row], t.b->values.data(), n, j,
                              k_total, config, products_fit_fp32, &chunk);
          continue;
        }
        // Triton's three dots of one split term (quant/split.h).
        const double* a_parts[2] = {&t.a->values[row], &t.a->lo[row]};
        const double* b_parts[2] = {t.b->values.data(), t.b->lo.data()};
        double dot = 0.0;
        for (int p = 0; p < quant::kSplitProducts; ++p) {
          const quant::SplitProduct& prod = quant::kSplitProductOrder[p];
          if (p == quant::kSplitNanMaskAfter && std::isnan(dot)) dot = 0.0;
          dot = AccumulateDot(dot, a_parts[prod.a_part], b_parts[prod.b_part],
                              n, j, k_total, config, products_fit_fp32, &chunk);
        }
        acc = Rne32(dot + acc);
      }
      const uint64_t index = static_cast<uint64_t>(i) * n + j;
      out[i * out_stride + j] =
          keep_accumulator ? acc
                           : config.rounder.Round(sign * acc, out_format,
                                                  tensor, index, events);
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
  if (config.EmulatedInt16()) {
    int64_t hh = 0, hl = 0, lh = 0, ll = 0;
    for (int k = k_begin; k < k_end; ++k) {
      const int32_t qa = a_row[k];
      const int32_t qb = b.codes[static_cast<size_t>(k) * n + j];
      // Balanced split: lo in [-128, 127], hi = (q - lo) / 256.
      const int32_t a_lo = ((qa + 128) & 255) - 128, a_hi = (qa - a_lo) / 256;
      const int32_t b_lo = ((qb + 128) & 255) - 128, b_hi = (qb - b_lo) / 256;
      hh = AccumulateInt(hh, int64_t{a_hi} * b_hi, Format::kInt32, policy,
                         events);
      hl = AccumulateInt(hl, int64_t{a_hi} * b_lo, Format::kInt32, policy,
                         events);
      lh = AccumulateInt(lh, int64_t{a_lo} * b_hi, Format::kInt32, policy,
                         events);
      ll = AccumulateInt(ll, int64_t{a_lo} * b_lo, Format::kInt32, policy,
                         events);
    }
    return hh * 65536 + (hl + lh) * 256 + ll;
  }
  // When no partial sum can leave the accumulator's range, skip the
  // per-add check: the exact int64 sum is the accumulator's value.
  // Any code of the operand format (int8 admits -128) bounds the products.
  const int64_t code_max = -quant::GetFormatInfo(config.operand).min_int;
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
    groups_per_element +=
        t.a->cols / std::min(t.a->group_cols, t.b->group_rows);
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
          const int64_t total =
              KGroupSum(*t.a, *t.b, i, j, k, k + g, config, events);
          const float product_scale = t.a->ScaleAt(i, k) * t.b->ScaleAt(k, j);
          const float d = quant::TruncateMantissa(product_scale,
                                                  config.scale_mantissa_bits);
          if (groups_per_element == 1) {
            // sign * (I * d) with IEEE sign rules: -0 when I = 0, sign < 0.
            result = DequantRound(total, d, sign < 0, config.rounder,
                                  out_format, tensor, index, events);
          } else {
            // Stochastic bits of partial p of element `index`: a distinct
            // counter per (element, partial).
            const double p = DequantRound(
                total, d, false, config.rounder, Format::kFp32, tensor,
                index * groups_per_element + partials, events);
            sum = Rne32(sum + p);
            ++partials;
          }
        }
      }
      if (groups_per_element != 1) {
        result =
            config.rounder.Round(sign * sum, out_format, tensor, index, events);
      }
      out[i * out_stride + j] = result;
    }
  }
}

}  // namespace

bool IntegerAccumulatorsForRequant(const std::vector<CubeTerm>& terms,
                                   double sign, const CubeConfig& config,
                                   std::vector<int64_t>* integer,
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
      // An overflowed scale product (DequantRound) has no exact
      // requantisation: the caller stores the fp32 results instead.
      if (!std::isfinite((*scale)[index])) return false;
    }
  }
  return true;
}

namespace {
// Sequential fp32 accumulation on the SIMD kernel (defined below); with
// `init`, continuing that accumulator and leaving it unrounded in out.
bool FastSequentialMatMul(const std::vector<CubeTerm>& terms, double sign,
                          const CubeConfig& config, Format out_format,
                          double* out, int out_stride, uint64_t tensor,
                          EventCounts* events, const double* init,
                          int init_stride);
}  // namespace

void CubeMmad(const std::vector<CubeTerm>& terms, const double* init,
              int init_stride, const CubeConfig& config, double* acc,
              int acc_stride, uint64_t tensor, EventCounts* events) {
  TRISIM_ASSERT(!terms.empty());
  for (const CubeTerm& t : terms) {
    TRISIM_ASSERT(t.a->cols == t.b->rows && t.a->rows == terms[0].a->rows &&
                  t.b->cols == terms[0].b->cols);
  }
  if (config.Integer()) {
    TRISIM_ASSERT(events != nullptr);
    const int m = terms[0].a->rows;
    const int n = terms[0].b->cols;
    int groups_per_element = 0;
    for (const CubeTerm& t : terms) {
      groups_per_element +=
          t.a->cols / std::min(t.a->group_cols, t.b->group_rows);
    }
    // Computed into a temporary: acc may alias init.
    std::vector<double> result(static_cast<size_t>(m) * n);
    for (int i = 0; i < m; ++i) {
      for (int j = 0; j < n; ++j) {
        const uint64_t index = static_cast<uint64_t>(i) * n + j;
        double sum = init != nullptr ? init[i * init_stride + j] : 0.0;
        int partials = 0;
        for (const CubeTerm& t : terms) {
          const int g = std::min(t.a->group_cols, t.b->group_rows);
          for (int k = 0; k < t.a->cols; k += g) {
            const int64_t total =
                KGroupSum(*t.a, *t.b, i, j, k, k + g, config, events);
            const float d =
                quant::TruncateMantissa(t.a->ScaleAt(i, k) * t.b->ScaleAt(k, j),
                                        config.scale_mantissa_bits);
            const double p = DequantRound(
                total, d, false, config.rounder, Format::kFp32, tensor,
                index * groups_per_element + partials, events);
            sum = Rne32(sum + p);
            ++partials;
          }
        }
        result[index] = sum;
      }
    }
    for (int i = 0; i < m; ++i) {
      for (int j = 0; j < n; ++j) {
        acc[i * acc_stride + j] = result[static_cast<size_t>(i) * n + j];
      }
    }
    return;
  }
  TRISIM_ASSERT(config.accumulator == Format::kFp32);
  // The accumulator starts at +0 without init: the fast path's init is a
  // zero accumulator then (its values are +0, as the reference's).
  if (!config.scalar) {
    static thread_local std::vector<double> zeros;  // no per-call allocation
    const double* start = init;
    int start_stride = init_stride;
    if (start == nullptr) {
      zeros.assign(static_cast<size_t>(terms[0].b->cols), 0.0);
      start = zeros.data();
      start_stride = 0;
    }
    if (FastSequentialMatMul(terms, 1.0, config, Format::kFp32, acc, acc_stride,
                             0, nullptr, start, start_stride)) {
      return;
    }
  }
  FloatMatMul(terms, 1.0, config, Format::kFp32, acc, acc_stride, 0, nullptr,
              init, init_stride, /*keep_accumulator=*/true);
}

void CubeMatMulReference(const std::vector<CubeTerm>& terms, double sign,
                         const CubeConfig& config, Format out_format,
                         double* out, int out_stride, uint64_t tensor,
                         EventCounts* events) {
  TRISIM_ASSERT(!terms.empty());
  for (const CubeTerm& t : terms) {
    TRISIM_ASSERT(t.a->cols == t.b->rows && t.a->rows == terms[0].a->rows &&
                  t.b->cols == terms[0].b->cols);
  }
  if (config.Integer()) {
    IntMatMul(terms, sign, config, out_format, out, out_stride, tensor, events);
  } else {
    FloatMatMul(terms, sign, config, out_format, out, out_stride, tensor,
                events);
  }
}

// ------------------------------------------------------------- fast path
// Bit-identical to the reference above (tests/cube_simd_test.cc); each
// Fast* returns false, having done nothing, where it does not apply, and the
// caller runs the reference.
namespace {

bool FastIntMatMul(const std::vector<CubeTerm>& terms, double sign,
                   const CubeConfig& config, Format out_format, double* out,
                   int out_stride, uint64_t tensor, EventCounts* events) {
  if (config.rounder.rounding.mode == quant::RoundingMode::kStochastic) {
    return false;
  }
  const bool emulated = config.EmulatedInt16();
  if (!emulated && config.QMax() > 127) return false;
  const int m = terms[0].a->rows;
  const int n = terms[0].b->cols;
  int groups_per_element = 0;
  for (const CubeTerm& t : terms) {
    const int g = std::min(t.a->group_cols, t.b->group_rows);
    // |totals| < 2^39 for ScaledRoundToOdd: 32639^2 g < 2^39 for g <= 512.
    if (g > 65536 || (emulated && g > 512)) return false;
    // No partial sum can leave the accumulator: the reference adds exactly.
    // Any code of the format (int8 admits -128), as the reference's bound.
    const __int128 qmax =
        emulated ? 128 : -quant::GetFormatInfo(config.operand).min_int;
    const __int128 bound = qmax * qmax * g;
    const int64_t acc_max = emulated ? AccumulatorMax(Format::kInt32)
                                     : AccumulatorMax(config.accumulator);
    if (bound > acc_max || bound > INT32_MAX) return false;
    groups_per_element += t.a->cols / g;
  }
  // A dequantisation scale that overflows fp32 goes to the reference, so
  // every target behaves as it does (the FMA round-to-odd would carry the
  // inf through where the scalar paths stop).
  for (const CubeTerm& t : terms) {
    const int g = std::min(t.a->group_cols, t.b->group_rows);
    for (int k = 0; k < t.a->cols; k += g) {
      for (int i = 0; i < m; i += t.a->group_rows) {
        for (int j = 0; j < n; j += t.b->group_cols) {
          const float d =
              quant::TruncateMantissa(t.a->ScaleAt(i, k) * t.b->ScaleAt(k, j),
                                      config.scale_mantissa_bits);
          if (!std::isfinite(d)) return false;
        }
      }
    }
  }
  // Codes split into int8 pieces (lo = the code itself unless emulated),
  // by PrepareOperandInto (a reused operand is split once) or here; any
  // code outside int16 sends the call to the reference.
  struct Scratch {
    std::vector<int32_t> ll, hh, hl, lh;
    std::vector<double> values, sum, row;
    std::vector<int8_t> a_lo, a_hi, b_lo, b_hi;
  };
  static thread_local Scratch scratch;
  Scratch& s = scratch;
  struct Pieces {
    const int8_t* lo = nullptr;
    const int8_t* hi = nullptr;
  };
  auto pieces = [&](const CubeOperand& op, std::vector<int8_t>* lo,
                    std::vector<int8_t>* hi, Pieces* p) {
    if (op.HasPieces(emulated)) {
      *p = {op.code_lo.data(), op.code_hi.data()};
      return true;
    }
    // Not emulated: int8 codes, l = q (the lo piece of |q| <= 127).
    const size_t size = op.codes.size();
    lo->resize(size);
    if (emulated) hi->resize(size);
    *p = {lo->data(), emulated ? hi->data() : nullptr};
    return SplitCodes(op.codes.data(), size, lo->data(),
                      emulated ? hi->data() : nullptr);
  };
  Pieces pa, pb;
  if (terms.size() == 1) {
    // The common case: split once, before any output is written.
    if (!pieces(*terms[0].a, &s.a_lo, &s.a_hi, &pa) ||
        !pieces(*terms[0].b, &s.b_lo, &s.b_hi, &pb)) {
      return false;
    }
  } else {
    for (const CubeTerm& t : terms) {
      for (int32_t q : t.a->codes)
        if (q < -32768 || q > 32767) return false;
      for (int32_t q : t.b->codes)
        if (q < -32768 || q > 32767) return false;
    }
  }

  const size_t mn = static_cast<size_t>(m) * n;
  s.ll.resize(mn);
  s.values.resize(mn);
  if (emulated) {
    s.hh.resize(mn);
    s.hl.resize(mn);
    s.lh.resize(mn);
  }
  if (groups_per_element != 1) s.sum.assign(mn, 0.0);
  s.row.resize(n);
  int32_t* ll = s.ll.data();
  double* values = s.values.data();
  int partials = 0;
  for (const CubeTerm& t : terms) {
    const int k_total = t.a->cols;
    const int g = std::min(t.a->group_cols, t.b->group_rows);
    if (terms.size() != 1) {
      pieces(*t.a, &s.a_lo, &s.a_hi, &pa);
      pieces(*t.b, &s.b_lo, &s.b_hi, &pb);
    }
    for (int k = 0; k < k_total; k += g) {
      const int8_t* alo = pa.lo + k;
      const int8_t* blo = pb.lo + static_cast<size_t>(k) * n;
      Int8MatMul(alo, k_total, blo, n, ll, n, m, n, g);
      if (emulated) {
        // The four int8 Mmads of one product, each with its own int32
        // accumulator (sim/cube.h Int16Cube::kEmulated).
        const int8_t* ahi = pa.hi + k;
        const int8_t* bhi = pb.hi + static_cast<size_t>(k) * n;
        Int8MatMul(ahi, k_total, bhi, n, s.hh.data(), n, m, n, g);
        Int8MatMul(ahi, k_total, blo, n, s.hl.data(), n, m, n, g);
        Int8MatMul(alo, k_total, bhi, n, s.lh.data(), n, m, n, g);
      }
      // Dequant: total * d, one rounding. When |total| < 2^29 the product
      // with d (<= 24 significant bits) has <= 53 bits: the double product
      // is exact, as ScaledRoundToOdd's. sign * (I * d) keeps IEEE signs
      // (-0 for I = 0, sign < 0): I * (-d) is that product, exactly.
      const bool negate = groups_per_element == 1 && sign < 0;
      // Elements [f, f + len) of one scale d: SIMD, then the rare totals of
      // 2^29 or more (int16 products reach them) by the exact scalar path,
      // looked for row by row.
      const int32_t* hh = s.hh.data();
      const int32_t* hl = s.hl.data();
      const int32_t* lh = s.lh.data();
      auto dequant = [&](size_t f, size_t len, float d) {
        const double dd =
            negate ? -static_cast<double>(d) : static_cast<double>(d);
        auto simd = [&](size_t g, size_t count) {
          return emulated ? ScaleEmulatedCodes(ll + g, hh + g, hl + g, lh + g,
                                               count, dd, values + g)
                          : ScaleCodes(ll + g, count, dd, values + g);
        };
        if (simd(f, len)) return;
        const size_t row = static_cast<size_t>(n);
        for (size_t g = f; g < f + len; g += row) {
          const size_t count = std::min(row, f + len - g);
          if (len > row && simd(g, count)) continue;
          for (size_t e = g; e < g + count; ++e) {
            const int64_t v =
                emulated ? EmulatedTotal(ll[e], hh[e], hl[e], lh[e]) : ll[e];
            if (v < (int64_t{1} << 29) && v > -(int64_t{1} << 29)) continue;
            // Round-to-odd keeps the later rounding single; it is
            // symmetric, so negating after it is exact.
            bool exact;
            values[e] = ScaledRoundToOdd(v, d, &exact);
            if (negate) values[e] = -values[e];
          }
        }
      };
      auto scale = [&](int i, int j) {
        return quant::TruncateMantissa(t.a->ScaleAt(i, k) * t.b->ScaleAt(k, j),
                                       config.scale_mantissa_bits);
      };
      const int group_cols = t.b->group_cols;
      if (t.a->group_rows >= m && group_cols >= n) {
        dequant(0, mn, scale(0, 0));  // one scale: one call
      } else {
        for (int i = 0; i < m; ++i) {
          for (int j0 = 0; j0 < n; j0 += group_cols) {
            const int j1 = std::min(n, j0 + group_cols);
            dequant(static_cast<size_t>(i) * n + j0,
                    static_cast<size_t>(j1 - j0), scale(i, j0));
          }
        }
      }
      if (groups_per_element == 1 && out_stride == n) {
        // Contiguous: one call, the same indices.
        config.rounder.RoundValues(values, mn, out_format, tensor, 0, 1, out,
                                   events);
      } else if (groups_per_element == 1) {
        for (int i = 0; i < m; ++i) {
          config.rounder.RoundValues(
              values + static_cast<size_t>(i) * n, n, out_format, tensor,
              static_cast<uint64_t>(i) * n, 1,
              out + static_cast<size_t>(i) * out_stride, events);
        }
      } else {
        // Partial p of element `index` (fp32), then sum = RNE32(sum + p).
        config.rounder.RoundValues(values, mn, Format::kFp32, tensor, 0, 0,
                                   values, events);
        for (size_t e = 0; e < mn; ++e) {
          s.sum[e] = Rne32(s.sum[e] + values[e]);  // from +0, as the reference
        }
        ++partials;
      }
    }
  }
  if (groups_per_element != 1) {
    double* row = s.row.data();
    for (int i = 0; i < m; ++i) {
      for (int j = 0; j < n; ++j)
        row[j] = sign * s.sum[static_cast<size_t>(i) * n + j];
      config.rounder.RoundValues(
          row, n, out_format, tensor, static_cast<uint64_t>(i) * n, 1,
          out + static_cast<size_t>(i) * out_stride, events);
    }
  }
  return true;
}

// Span of significant bits of a fractal segment: top exponent minus the
// exponent of the lowest set bit over its non-zero values (kNoSpan if all
// are zero). Products of two segments are then multiples of 2^(Ua + Ub)
// below 2^(Ta + Tb + 2), so k0 of them and every partial sum are exact in
// double when spanA + spanB + 2 + log2(k0) <= 53.
constexpr int kNoSpan = -100000;

// The accumulator (m x n fp32, row-major) leaves in out_format: out[i][j] =
// Round(sign * acc[i][j]), element index i * n + j (stride out_stride).
void RoundAccumulator(const float* acc, int m, int n, double sign,
                      const CubeConfig& config, Format out_format, double* out,
                      int out_stride, uint64_t tensor, EventCounts* events) {
  if (out_stride == n) {  // contiguous: one call, the same indices
    const size_t mn = static_cast<size_t>(m) * n;
    for (size_t e = 0; e < mn; ++e) out[e] = sign * acc[e];
    config.rounder.RoundValues(out, mn, out_format, tensor, 0, 1, out, events);
    return;
  }
  std::vector<double> row(n);
  for (int i = 0; i < m; ++i) {
    for (int j = 0; j < n; ++j)
      row[j] = sign * acc[static_cast<size_t>(i) * n + j];
    config.rounder.RoundValues(
        row.data(), n, out_format, tensor, static_cast<uint64_t>(i) * n, 1,
        out + static_cast<size_t>(i) * out_stride, events);
  }
}

bool FastFloatMatMul(const std::vector<CubeTerm>& terms, double sign,
                     const CubeConfig& config, Format out_format, double* out,
                     int out_stride, uint64_t tensor, EventCounts* events) {
  if (config.order != AccumulationOrder::kFractal) return false;
  // Split operands run the reference (three dots per term).
  if (config.split != quant::OperandSplit::kNone) return false;
  // Exponents of every operand value (SIMD); a non-finite value (IEEE
  // propagation in the reference) or a double subnormal (never in these
  // formats, but it would break the bound) sends the call to the reference.
  struct Exponents {
    std::vector<int16_t> top, low;
  };
  static thread_local std::vector<Exponents> exps;
  if (exps.size() < 2 * terms.size()) exps.resize(2 * terms.size());
  for (size_t p = 0; p < terms.size(); ++p) {
    const CubeOperand* ops[2] = {terms[p].a, terms[p].b};
    for (int o = 0; o < 2; ++o) {
      Exponents& e = exps[2 * p + o];
      const size_t size = ops[o]->values.size();
      e.top.resize(size);
      e.low.resize(size);
      if (!SpanExponents(ops[o]->values.data(), size, e.top.data(),
                         e.low.data())) {
        return false;
      }
    }
  }
  const int m = terms[0].a->rows;
  const int n = terms[0].b->cols;
  const int k0 = config.FractalDepth();
  int log2_k0 = 0;
  while ((1 << log2_k0) < k0) ++log2_k0;
  const int limit = 51 - log2_k0;
  // Scratch reused across calls (no allocation on the hot path).
  struct Scratch {
    std::vector<float> acc;
    std::vector<double> chunk;
    std::vector<int16_t> col_top, col_low;
    std::vector<int> b_width;
  };
  static thread_local Scratch scratch;
  std::vector<float>& acc = scratch.acc;
  acc.assign(static_cast<size_t>(m) * n, 0.0f);
  std::vector<double>& chunk = scratch.chunk;
  chunk.resize(k0);
  std::vector<int16_t>& col_top = scratch.col_top;
  std::vector<int16_t>& col_low = scratch.col_low;
  col_top.resize(n);
  col_low.resize(n);
  // Span width of a segment: top exponent minus the lowest bit's exponent
  // over its non-zero values (kNoSpan if all are zero).
  auto width = [](int top, int low) { return top < low ? kNoSpan : top - low; };
  // The width over a whole operand bounds every segment's (a segment's top
  // is at most the operand's, its low at least the operand's).
  auto operand_width = [&](const Exponents& e) {
    int16_t top = kSpanNoTop, low = kSpanNoLow;
    for (size_t i = 0; i < e.top.size(); ++i) {  // vectorised by -O3
      top = std::max(top, e.top[i]);
      low = std::min(low, e.low[i]);
    }
    return width(top, low);
  };
  for (size_t p = 0; p < terms.size(); ++p) {
    const CubeTerm& t = terms[p];
    const int k_total = t.a->cols;
    const int fractals = (k_total + k0 - 1) / k0;
    const double* a = t.a->values.data();
    const double* b = t.b->values.data();
    const Exponents& ea = exps[2 * p];
    const Exponents& eb = exps[2 * p + 1];
    const int wa_all = operand_width(ea), wb_all = operand_width(eb);
    if (wa_all == kNoSpan || wb_all == kNoSpan || wa_all + wb_all <= limit) {
      // Every row's every fractal sum is exact in double.
      FractalMatUpdate(a, k_total, b, n, acc.data(), n, m, n, k_total, k0);
      continue;
    }
    std::vector<int>& b_width = scratch.b_width;
    b_width.assign(fractals, kNoSpan);
    for (int f = 0; f < fractals; ++f) {
      std::fill(col_top.begin(), col_top.end(), kSpanNoTop);
      std::fill(col_low.begin(), col_low.end(), kSpanNoLow);
      for (int k = f * k0; k < std::min(k_total, (f + 1) * k0); ++k) {
        const int16_t* top = eb.top.data() + static_cast<size_t>(k) * n;
        const int16_t* low = eb.low.data() + static_cast<size_t>(k) * n;
        for (int j = 0; j < n; ++j) {
          col_top[j] = std::max(col_top[j], top[j]);
          col_low[j] = std::min(col_low[j], low[j]);
        }
      }
      for (int j = 0; j < n; ++j) {
        b_width[f] = std::max(b_width[f], width(col_top[j], col_low[j]));
      }
    }
    auto row_ok = [&](int i) {
      for (int f = 0; f < fractals; ++f) {
        int16_t top = kSpanNoTop, low = kSpanNoLow;
        const size_t base = static_cast<size_t>(i) * k_total;
        for (int k = f * k0; k < std::min(k_total, (f + 1) * k0); ++k) {
          top = std::max(top, ea.top[base + k]);
          low = std::min(low, ea.low[base + k]);
        }
        const int wa = width(top, low);
        if (wa != kNoSpan && b_width[f] != kNoSpan && wa + b_width[f] > limit) {
          return false;
        }
      }
      return true;
    };
    int i = 0;
    while (i < m) {
      int run = i;
      while (run < m && row_ok(run)) ++run;
      if (run > i) {
        FractalMatUpdate(a + static_cast<size_t>(i) * k_total, k_total, b, n,
                         acc.data() + static_cast<size_t>(i) * n, n, run - i, n,
                         k_total, k0);
        i = run;
        continue;
      }
      // A row whose sums may not be exact in double: the reference's
      // exact accumulation, element by element.
      const double* a_row = a + static_cast<size_t>(i) * k_total;
      for (int j = 0; j < n; ++j) {
        double value = acc[static_cast<size_t>(i) * n + j];
        for (int k_start = 0; k_start < k_total; k_start += k0) {
          const int len = std::min(k0, k_total - k_start);
          for (int k = 0; k < len; ++k) {
            chunk[k] = a_row[k_start + k] *
                       b[static_cast<size_t>(k_start + k) * n + j];
          }
          value = Rne32(value + ExactSumRne32(chunk.data(), len));
        }
        acc[static_cast<size_t>(i) * n + j] = static_cast<float>(value);
      }
      ++i;
    }
  }
  RoundAccumulator(acc.data(), m, n, sign, config, out_format, out, out_stride,
                   tensor, events);
  return true;
}

// Sequential order with operands whose products are exact in fp32 (16-bit
// formats, hf32, tf32): acc = RNE32(acc + a*b) per k as in FloatMatMul, by
// the SIMD kernel (sim/cube_simd.h SequentialMatUpdate), which turns the
// loops (k inside a block of output columns) while every element still adds
// its products in k order, so the bits are the same. Non-finite operand
// values (IEEE propagation, NaN payloads) take the reference.
bool FastSequentialMatMul(const std::vector<CubeTerm>& terms, double sign,
                          const CubeConfig& config, Format out_format,
                          double* out, int out_stride, uint64_t tensor,
                          EventCounts* events, const double* init,
                          int init_stride) {
  // Split operands (quant/split.h) take the reference path.
  if (config.order != AccumulationOrder::kSequential ||
      config.split != quant::OperandSplit::kNone ||
      !quant::IsFloat(config.operand)) {
    return false;
  }
  // The kernel's precondition: products of at most 24 significant bits.
  const quant::FormatInfo& info = quant::GetFormatInfo(config.operand);
  if (2 * (info.mantissa_bits + 1) > 24) return false;
  for (const CubeTerm& t : terms) {
    for (const CubeOperand* op : {t.a, t.b}) {
      if (!quant::AllFinite(op->values.data(), op->values.size())) {
        return false;
      }
    }
  }
  const int m = terms[0].a->rows;
  const int n = terms[0].b->cols;
  static thread_local std::vector<float> acc;
  acc.assign(static_cast<size_t>(m) * n, 0.0f);
  if (init != nullptr) {
    // A kernel Mmad continuing an accumulator: it holds fp32 values (else,
    // or non-finite: the reference).
    for (int i = 0; i < m; ++i) {
      const double* row = init + static_cast<size_t>(i) * init_stride;
      float* a = acc.data() + static_cast<size_t>(i) * n;
      if (!quant::AllFinite(row, n)) return false;
      for (int j = 0; j < n; ++j) {
        a[j] = static_cast<float>(row[j]);
        if (static_cast<double>(a[j]) != row[j]) return false;
      }
    }
  }
  for (const CubeTerm& t : terms) {
    const int k_total = t.a->cols;
    SequentialMatUpdate(t.a->values.data(), k_total, t.b->values.data(), n,
                        acc.data(), n, m, n, k_total);
  }
  if (init != nullptr) {  // the accumulator stays unrounded (fp32 values)
    for (int i = 0; i < m; ++i) {
      for (int j = 0; j < n; ++j) {
        out[static_cast<size_t>(i) * out_stride + j] =
            acc[static_cast<size_t>(i) * n + j];
      }
    }
    return true;
  }
  RoundAccumulator(acc.data(), m, n, sign, config, out_format, out, out_stride,
                   tensor, events);
  return true;
}

}  // namespace

CubeOperand PrepareOperand(const double* data, int rows, int cols, int stride,
                           const CubeConfig& config, uint64_t tensor,
                           EventCounts* events) {
  CubeOperand op;
  PrepareOperandInto(data, rows, cols, stride, config, tensor, events,
                     std::nullopt, &op);
  return op;
}

void PrepareOperandInto(const double* data, int rows, int cols, int stride,
                        const CubeConfig& config, uint64_t tensor,
                        EventCounts* events, std::optional<Format> held,
                        CubeOperand* out) {
  if (config.scalar || config.split != quant::OperandSplit::kNone) {
    *out = PrepareOperandReference(data, rows, cols, stride, config, tensor,
                                   events);
    return;
  }
  CubeOperand& op = *out;
  op.rows = rows;
  op.cols = cols;
  if (!config.Integer()) {
    op.values.resize(static_cast<size_t>(rows) * cols);
    // Values already in a format the operand format holds are copied.
    auto round = [&](const double* x, size_t n, uint64_t index0, double* y) {
      config.rounder.RoundHeldValues(x, n, held, config.operand, tensor, index0,
                                     1, y, events);
    };
    if (stride == cols) {  // contiguous: one call, the same indices
      round(data, op.values.size(), 0, op.values.data());
      return;
    }
    for (int i = 0; i < rows; ++i) {
      round(data + static_cast<size_t>(i) * stride, cols,
            static_cast<uint64_t>(i) * cols,
            op.values.data() + static_cast<size_t>(i) * cols);
    }
    return;
  }
  const quant::RoundingMode mode = config.rounder.rounding.mode;
  if (mode == quant::RoundingMode::kStochastic) {
    *out = PrepareOperandReference(data, rows, cols, stride, config, tensor,
                                   events);
    return;
  }
  ComputeOperandScales(data, rows, cols, stride, config, &op, /*fast=*/true);
  EventCounts ignored;
  EventCounts* ev = events ? events : &ignored;
  op.codes.resize(static_cast<size_t>(rows) * cols);
  if (op.group_rows == rows && op.group_cols == cols && stride == cols) {
    // One scale over contiguous values: one call (the same codes).
    QuantizeCodes(data, op.codes.size(), op.scales[0], config.operand, mode,
                  config.QMax(), op.codes.data(), ev);
  } else {
    // Row segments of one scale group, quantised by the SIMD kernel.
    const int grid_cols = op.group_cols > 0 ? cols / op.group_cols : 0;
    for (int i = 0; i < rows; ++i) {
      for (int gj = 0; gj < grid_cols; ++gj) {
        const int j = gj * op.group_cols;
        QuantizeCodes(data + static_cast<size_t>(i) * stride + j, op.group_cols,
                      op.ScaleAt(i, j), config.operand, mode, config.QMax(),
                      op.codes.data() + static_cast<size_t>(i) * cols + j, ev);
      }
    }
  }
  // The int8 pieces, once per prepared operand (a reused operand, e.g. L in
  // every power step, is not split again by FastIntMatMul).
  const bool emulated = config.EmulatedInt16();
  if (!emulated && config.QMax() > 127) {  // no int8 cube product
    op.code_lo.clear();
    op.code_hi.clear();
    return;
  }
  op.code_lo.resize(op.codes.size());
  op.code_hi.resize(emulated ? op.codes.size() : 0);
  if (!SplitCodes(op.codes.data(), op.codes.size(), op.code_lo.data(),
                  emulated ? op.code_hi.data() : nullptr)) {
    op.code_lo.clear();  // FastIntMatMul then finds the code out of range
    op.code_hi.clear();
  }
}

void CubeMatMul(const std::vector<CubeTerm>& terms, double sign,
                const CubeConfig& config, Format out_format, double* out,
                int out_stride, uint64_t tensor, EventCounts* events) {
  TRISIM_ASSERT(!terms.empty());
  for (const CubeTerm& t : terms) {
    TRISIM_ASSERT(t.a->cols == t.b->rows && t.a->rows == terms[0].a->rows &&
                  t.b->cols == terms[0].b->cols);
  }
  if (!config.scalar) {
    const bool done =
        config.Integer()
            ? FastIntMatMul(terms, sign, config, out_format, out, out_stride,
                            tensor, events)
            : FastFloatMatMul(terms, sign, config, out_format, out, out_stride,
                              tensor, events) ||
                  FastSequentialMatMul(terms, sign, config, out_format, out,
                                       out_stride, tensor, events, nullptr, 0);
    if (done) return;
  }
  CubeMatMulReference(terms, sign, config, out_format, out, out_stride, tensor,
                      events);
}

}  // namespace trisim
