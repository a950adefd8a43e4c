#include "sim/compare.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>

#include "core/gdn.h"
#include "core/methods.h"
#include "core/plan.h"
#include "core/status.h"
#include "quant/npy_codes.h"

namespace trisim {

namespace {

struct Grid {
  int mantissa_bits, emin, emax;
};

Grid GridOf(const StorageFormat& format) {
  if (!format) return {52, -1022, 1023};  // IEEE binary64
  const quant::FormatInfo& info = quant::GetFormatInfo(*format);
  TRISIM_ASSERT(info.is_float);
  return {info.mantissa_bits, info.emin, info.emax};
}

bool EndsWith(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() &&
         s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

std::string Num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

}  // namespace

std::string StorageFormatName(const StorageFormat& format) {
  return format ? quant::FormatName(*format) : "fp64";
}

NpyDType StorageDType(const StorageFormat& format) {
  if (!format) return NpyDType::kFloat64;
  return quant::NpyDTypeFor(*format);
}

int64_t UlpPosition(double value, const StorageFormat& format) {
  TRISIM_ASSERT(!std::isnan(value));
  const Grid g = GridOf(format);
  const double a = std::fabs(value);
  const int64_t per_binade = int64_t{1} << g.mantissa_bits;
  int64_t magnitude;
  if (a == 0) {
    magnitude = 0;
  } else if (std::isinf(a)) {
    magnitude = (int64_t{g.emax} - g.emin + 2) * per_binade;
  } else {
    int ex;
    std::frexp(a, &ex);
    const int e = ex - 1;  // a in [2^e, 2^(e+1))
    // The fraction (< 2^m, exact in a double) and the binade offset are
    // added as integers: their sum exceeds 2^53 for fp64.
    double fraction;
    int64_t binade = 0;
    if (e < g.emin) {  // subnormal: multiples of 2^(emin - m)
      fraction = std::ldexp(a, g.mantissa_bits - g.emin);
    } else {
      fraction = std::ldexp(a, g.mantissa_bits - e) - per_binade;
      binade = (int64_t{e} - g.emin + 1) * per_binade;
    }
    if (fraction != std::floor(fraction) ||
        (e > g.emax && format.has_value())) {
      throw DataError("value " + Num(value) + " is not representable in " +
                      StorageFormatName(format));
    }
    magnitude = binade + static_cast<int64_t>(fraction);
  }
  return std::signbit(value) ? -magnitude : magnitude;
}

double UlpOf(double value, const StorageFormat& format) {
  const Grid g = GridOf(format);
  const double a = std::fabs(value);
  int e = g.emin;
  if (a != 0 && std::isfinite(a)) {
    int ex;
    std::frexp(a, &ex);
    e = std::max(ex - 1, g.emin);
  }
  return std::ldexp(1.0, e - g.mantissa_bits);
}

int UlpBin(int64_t ulp) {
  if (ulp <= 2) return static_cast<int>(std::max<int64_t>(ulp, 0));
  // (2^(k-2), 2^(k-1)] -> bin k
  int k = 2;
  uint64_t top = 2;
  while (static_cast<uint64_t>(ulp) > top && k < kUlpBins - 1) {
    top <<= 1;
    ++k;
  }
  return k;
}

std::string UlpBinLabel(int bin) {
  if (bin <= 2) return std::to_string(bin);
  const uint64_t hi = uint64_t{1} << (bin - 1);
  const uint64_t lo = (hi >> 1) + 1;
  return std::to_string(lo) + "-" + std::to_string(hi);
}

CompareReport Compare(const CompareData& data) {
  const int64_t count = data.count;
  const int64_t rows = data.rows ? data.rows : data.chunk;
  const int64_t cols = data.cols ? data.cols : data.chunk;
  const size_t total = static_cast<size_t>(count * rows * cols);
  if (data.device.size() != total || data.expected.size() != total ||
      (!data.reference.empty() && data.reference.size() != total) ||
      (!data.valid.empty() &&
       data.valid.size() != static_cast<size_t>(count))) {
    throw DataError("compare: device, expected and reference sizes differ");
  }
  CompareReport report;
  report.format = StorageFormatName(data.format);
  report.count = count;
  report.chunk = data.chunk;
  OracleComparison& o = report.oracle;
  ReferenceComparison& r = report.reference;
  r.present = !data.reference.empty();
  r.small_threshold =
      !data.format                           ? std::ldexp(1.0, -14)
      : *data.format == quant::Format::kFp16 ? std::ldexp(1.0, -11)
      : *data.format == quant::Format::kBf16 ? std::ldexp(1.0, -8)
                                             : std::ldexp(1.0, -14);
  const int b = data.block;
  const int64_t nbr = (rows + b - 1) / b, nbc = (cols + b - 1) / b;
  std::vector<BlockReport> blocks(static_cast<size_t>(count * nbr * nbc));
  o.matrices.resize(static_cast<size_t>(count));
  // Sums over the whole tensor (long double: 10^6 squares stay exact enough).
  long double diff2 = 0, ref2 = 0, dev2 = 0, dot = 0, oracle_diff2 = 0;
  long double ulp_sum = 0, ref_ulp_sum = 0;
  int64_t ulp_count = 0, normal = 0, rel_1e3 = 0, rel_1e2 = 0, over1 = 0,
          over32 = 0, finite = 0;
  bool worst_set = false;
  for (int64_t n = 0; n < count; ++n) {
    const int64_t vr = data.valid.empty() ? rows : data.valid[n];
    const int64_t vc = data.valid.empty() ? cols : data.valid[n];
    MatrixReport& m = o.matrices[n];
    long double m_diff2 = 0, m_ref2 = 0;
    bool m_nonfinite = false;
    for (int64_t i = 0; i < vr; ++i) {
      for (int64_t j = 0; j < vc; ++j) {
        const size_t k = static_cast<size_t>((n * rows + i) * cols + j);
        const double d = data.device[k], e = data.expected[k];
        ElementReport el;
        el.matrix = n;
        el.row = i;
        el.col = j;
        el.device = d;
        el.expected = e;
        el.reference = r.present ? data.reference[k] : NAN;
        ++o.elements;
        ++m.elements;
        int64_t ulp;
        bool same;
        if (std::isnan(d) || std::isnan(e)) {
          same = std::isnan(d) && std::isnan(e);
          ulp = same ? 0 : std::numeric_limits<int64_t>::max();
          if (std::isnan(d)) {
            ++o.nan;
            ++m.nan;
          }
        } else {
          const int64_t pd = UlpPosition(d, data.format);
          const int64_t pe = UlpPosition(e, data.format);
          // Positions lie within +-2^63 / 2, so the difference fits.
          ulp = pd > pe ? pd - pe : pe - pd;
          same = ulp == 0 && std::signbit(d) == std::signbit(e);
          ++o.histogram[UlpBin(ulp)];
          o.max_ulp = std::max(o.max_ulp, ulp);
          ulp_sum += ulp;
          ++ulp_count;
        }
        if (!std::isfinite(d)) {
          ++o.nonfinite;
          m_nonfinite = true;
        }
        el.ulp = ulp;
        if (same) {
          ++o.identical;
          ++m.identical;
        }
        m.max_ulp = std::max(m.max_ulp, ulp);
        if (!worst_set || ulp > o.worst.ulp) {
          o.worst = el;
          worst_set = true;
        }
        BlockReport& blk =
            blocks[static_cast<size_t>((n * nbr + i / b) * nbc + j / b)];
        ++blk.elements;
        if (!same) {
          ++blk.differing;
          if (blk.differing == 1 || ulp > blk.max_ulp) {
            blk.max_ulp = ulp;
            blk.worst = el;
          }
        }
        if (!r.present) continue;
        const double ref = data.reference[k];
        if (std::isfinite(e)) {
          oracle_diff2 += (long double)(e - ref) * (e - ref);
        }
        ref2 += (long double)ref * ref;
        m_ref2 += (long double)ref * ref;
        if (!std::isfinite(d)) continue;
        ++finite;
        const double diff = std::fabs(d - ref);
        diff2 += (long double)diff * diff;
        m_diff2 += (long double)diff * diff;
        dev2 += (long double)d * d;
        dot += (long double)d * ref;
        r.max_abs = std::max(r.max_abs, diff);
        if (std::fabs(ref) < r.small_threshold) {
          ++r.small_count;
          r.max_abs_small = std::max(r.max_abs_small, diff);
        } else {
          const double rel = diff / std::fabs(ref);
          r.max_rel = std::max(r.max_rel, rel);
          ++normal;
          rel_1e3 += rel < 1e-3;
          rel_1e2 += rel < 1e-2;
        }
        const double ref_ulps = diff / UlpOf(ref, data.format);
        ref_ulp_sum += ref_ulps;
        over1 += ref_ulps > 1;
        over32 += ref_ulps > 32;
        if (diff > 5e-5 + 0.1 * std::fabs(ref)) ++r.allclose_violations;
      }
    }
    if (r.present) {
      m.frob_rel = m_nonfinite ? INFINITY
                   : m_ref2 > 0
                       ? std::sqrt(static_cast<double>(m_diff2 / m_ref2))
                   : m_diff2 > 0 ? INFINITY
                                 : 0.0;
      r.frob_rel_max = std::max(r.frob_rel_max, m.frob_rel);
    }
  }
  o.mean_ulp = ulp_count ? static_cast<double>(ulp_sum / ulp_count) : 0.0;
  for (int64_t n = 0; n < count; ++n) {
    for (int64_t bi = 0; bi < nbr; ++bi) {
      for (int64_t bj = 0; bj < nbc; ++bj) {
        BlockReport blk =
            blocks[static_cast<size_t>((n * nbr + bi) * nbc + bj)];
        blk.matrix = n;
        blk.block_row = bi;
        blk.block_col = bj;
        if (blk.differing == 0) continue;
        const BlockReport& w = o.worst_block;
        if (w.matrix < 0 || blk.max_ulp > w.max_ulp ||
            (blk.max_ulp == w.max_ulp && blk.differing > w.differing)) {
          o.worst_block = blk;
        }
        o.blocks.push_back(blk);
      }
    }
  }
  if (r.present) {
    r.nonfinite = o.nonfinite;
    const int64_t all = o.elements;
    const double rms_ref = all ? std::sqrt(static_cast<double>(ref2 / all)) : 0;
    if (o.nonfinite) {
      r.frob_rel = r.fla_ratio = r.max_abs = r.max_rel = INFINITY;
      r.cosine = NAN;
    } else {
      r.frob_rel = ref2 > 0    ? std::sqrt(static_cast<double>(diff2 / ref2))
                   : diff2 > 0 ? INFINITY
                               : 0.0;
      r.fla_ratio =
          all ? std::sqrt(static_cast<double>(diff2 / all)) / (rms_ref + 1e-15)
              : 0.0;
      r.cosine = dev2 > 0 && ref2 > 0
                     ? static_cast<double>(dot / std::sqrt(dev2 * ref2))
                     : (dev2 == 0 && ref2 == 0 ? 1.0 : 0.0);
    }
    r.frac_rel_below_1e3 = normal ? static_cast<double>(rel_1e3) / normal : 1;
    r.frac_rel_below_1e2 = normal ? static_cast<double>(rel_1e2) / normal : 1;
    r.ulp_mean = finite ? static_cast<double>(ref_ulp_sum / finite) : 0;
    r.ulp_over_1 = finite ? static_cast<double>(over1) / finite : 0;
    r.ulp_over_32 = finite ? static_cast<double>(over32) / finite : 0;
    r.oracle_frob_rel =
        ref2 > 0 ? std::sqrt(static_cast<double>(oracle_diff2 / ref2)) : 0.0;
    r.error_ratio = r.oracle_frob_rel > 0 ? r.frob_rel / r.oracle_frob_rel
                    : r.frob_rel > 0      ? INFINITY
                                          : 1.0;
  }
  return report;
}

// --- Presets ---------------------------------------------------------------

namespace {

Check MakeCheck(const std::string& name, double value, const std::string& op,
                double limit, const std::string& source) {
  Check c{name, value, op, limit, false, source};
  if (op == "<") c.pass = value < limit;
  if (op == "<=") c.pass = value <= limit;
  if (op == ">") c.pass = value > limit;
  if (op == ">=") c.pass = value >= limit;
  if (op == "==") c.pass = value == limit;
  return c;
}

const char* kFlaSolveTril =
    "fla-org/flash-linear-attention tests/ops/test_solve_tril.py: "
    "assert_close('solve_tril', ..., 0.0001); ratio = get_err_ratio, "
    "fla/ops/utils/testing.py";
const char* kFlaOutput =
    "fla-org/flash-linear-attention tests/ops/test_gated_delta.py: "
    "assert_close('o', ref, tri, 0.005), 'ht' 0.005";
const char* kPto =
    "huawei-csl/pto-kernels tests/test_tri_inv_rec_unroll.py: frob_error <= "
    "ftol 1e-4 and np.allclose(atol=5e-5, rtol=0.1) (random inputs)";
const char* kMsprobeCompare =
    "Ascend mstt msprobe pytorch/api_accuracy_checker/compare/compare.py "
    "_compare_float_tensor and CompareConst (cosine 0.99, max abs 0.001, "
    "hundredth/thousandth ratios)";
const char* kMsprobeStandard =
    "Ascend mstt msprobe api_accuracy_checker/precision_standard/"
    "standard_config.py: _minmum_err 2^-11 fp16, 2^-8 bf16, 2^-14 fp32; "
    "ULP: fp32 mean < 64 or share(> 32 ulp) < 0.05, fp16/bf16 share(> 1 "
    "ulp) < 0.001";

}  // namespace

std::string PresetNames() {
  return "exact, fla, fla-output, msprobe, pto-kernels";
}

PresetResult EvaluatePreset(const std::string& preset,
                            const CompareReport& report,
                            const StorageFormat& format) {
  PresetResult result;
  result.preset = preset;
  const OracleComparison& o = report.oracle;
  const ReferenceComparison& r = report.reference;
  auto need_reference = [&] {
    if (!r.present) {
      throw InputError("--preset " + preset +
                       " judges against the fp64 reference, which needs the "
                       "inputs: give --in");
    }
  };
  auto& checks = result.checks;
  if (preset == "exact") {
    checks.push_back(MakeCheck(
        "bit_identical_rate", o.identical_rate(), "==", 1.0,
        "trisim: a kernel running the oracle's plan and recipe matches it bit "
        "for bit"));
  } else if (preset == "fla" || preset == "fla-output") {
    need_reference();
    checks.push_back(MakeCheck("fla_ratio", r.fla_ratio, "<",
                               preset == "fla" ? 1e-4 : 5e-3,
                               preset == "fla" ? kFlaSolveTril : kFlaOutput));
  } else if (preset == "pto-kernels") {
    need_reference();
    checks.push_back(MakeCheck("frob_rel", r.frob_rel, "<=", 1e-4, kPto));
    checks.push_back(MakeCheck("allclose_violations",
                               static_cast<double>(r.allclose_violations),
                               "==", 0, kPto));
  } else if (preset == "msprobe") {
    need_reference();
    const bool half = format && (*format == quant::Format::kFp16 ||
                                 *format == quant::Format::kBf16);
    checks.push_back(
        MakeCheck("cosine", r.cosine, ">=", 0.99, kMsprobeCompare));
    if (r.max_abs < 0.001) {
      result.note = "max abs error < 0.001: pass (msprobe skips the ratios)";
    } else if (half) {
      checks.push_back(MakeCheck("frac_rel_below_1e-2", r.frac_rel_below_1e2,
                                 ">", 0.99, kMsprobeCompare));
      if (!(r.frac_rel_below_1e3 > 0.999)) {
        result.note = "warning: share of relative errors < 1e-3 is " +
                      Num(r.frac_rel_below_1e3) +
                      " (msprobe: > 0.999 to pass clean)";
      }
    } else {
      checks.push_back(MakeCheck("frac_rel_below_1e-3", r.frac_rel_below_1e3,
                                 ">", 0.999, kMsprobeCompare));
    }
    checks.push_back(MakeCheck("max_abs_small", r.max_abs_small,
                               "<=", r.small_threshold, kMsprobeStandard));
    if (half) {
      checks.push_back(MakeCheck("ulp_share_over_1", r.ulp_over_1, "<", 0.001,
                                 kMsprobeStandard));
    } else if (!(r.ulp_mean < 64)) {
      checks.push_back(MakeCheck("ulp_share_over_32", r.ulp_over_32, "<", 0.05,
                                 kMsprobeStandard));
    }
  } else {
    throw InputError("--preset " + preset +
                     ": unknown; allowed: " + PresetNames());
  }
  for (const Check& c : checks) result.pass = result.pass && c.pass;
  return result;
}

// --- Layouts
// ------------------------------------------------------------------

ChunkLayout::Kind ParseLayoutKind(const std::string& name) {
  if (name == "ncc") return ChunkLayout::Kind::kNCC;
  if (name == "bthc") return ChunkLayout::Kind::kBTHC;
  if (name == "thc") return ChunkLayout::Kind::kTHC;
  throw InputError("--layout " + name +
                   ": allowed ncc ([n, C, C]), bthc "
                   "([B, T, H, C]), thc ([T, H, C] with --cu-seqlens)");
}

namespace {

std::string ShapeString(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    s += (i ? ", " : "") + std::to_string(shape[i]);
  }
  return s + "]";
}

bool PowerOfTwo(int64_t c) { return c >= 1 && c <= 1024 && !(c & (c - 1)); }

}  // namespace

Chunked ToChunks(const std::vector<double>& values,
                 const std::vector<int64_t>& shape, const ChunkLayout& layout,
                 const std::string& what) {
  Chunked out;
  auto fail = [&](const std::string& why) {
    throw DataError(what + ": shape " + ShapeString(shape) + " " + why);
  };
  auto put = [&](int64_t c, int valid, const std::string& label,
                 auto&& at) {  // at(i, j): stored element (row i, col j)
    const size_t base = out.values.size();
    out.values.resize(base + static_cast<size_t>(c * c), 0.0);
    for (int64_t i = 0; i < valid; ++i) {
      for (int64_t j = 0; j < c; ++j) {
        const double x = layout.upper ? at(j, i) : at(i, j);
        if (layout.upper && j >= valid) continue;
        out.values[base + static_cast<size_t>(i * c + j)] = x;
      }
    }
    out.valid.push_back(valid);
    out.labels.push_back(label);
    ++out.count;
  };
  using Kind = ChunkLayout::Kind;
  if (layout.kind == Kind::kNCC) {
    if (shape.size() != 2 && shape.size() != 3) {
      fail("does not match layout ncc: expected [C, C] or [n, C, C]");
    }
    const int64_t c = shape.back();
    if (shape[shape.size() - 2] != c || !PowerOfTwo(c)) {
      fail(
          "does not match layout ncc: matrices must be C x C, C a power of "
          "two <= 1024");
    }
    if (layout.chunk && layout.chunk != c) {
      fail("does not match --chunk " + std::to_string(layout.chunk));
    }
    out.chunk = c;
    const int64_t n = shape.size() == 3 ? shape[0] : 1;
    for (int64_t k = 0; k < n; ++k) {
      put(c, static_cast<int>(c), "n=" + std::to_string(k),
          [&](int64_t i, int64_t j) {
            return values[static_cast<size_t>((k * c + i) * c + j)];
          });
    }
    return out;
  }
  // [B, T, H, C] or [T, H, C]: row t of a chunk is token t, the last axis
  // the chunk's columns (FLA's A and solve_tril output layout).
  std::vector<int64_t> s = shape;
  if (layout.kind == Kind::kTHC) {
    if (s.size() == 4 && s[0] == 1) s.erase(s.begin());
    if (s.size() != 3) fail("does not match layout thc: expected [T, H, C]");
    s.insert(s.begin(), 1);
  } else if (s.size() != 4) {
    fail("does not match layout bthc: expected [B, T, H, C]");
  }
  const int64_t batches = s[0], tokens = s[1], heads = s[2], c = s[3];
  if (!PowerOfTwo(c))
    fail("has C = " + std::to_string(c) + ", not a power of two <= 1024");
  if (layout.chunk && layout.chunk != c) {
    fail("does not match --chunk " + std::to_string(layout.chunk));
  }
  out.chunk = c;
  std::vector<int64_t> cu = layout.cu_seqlens;
  if (layout.kind == Kind::kBTHC) {
    if (!cu.empty()) {
      throw InputError("--cu-seqlens goes with --layout thc, not bthc");
    }
    cu = {0, tokens};
  } else if (cu.empty()) {
    cu = {0, tokens};
  } else {
    if (cu.front() != 0 || cu.back() != tokens) {
      throw DataError("--cu-seqlens must start at 0 and end at T = " +
                      std::to_string(tokens) + " (" + what + ")");
    }
    for (size_t i = 1; i < cu.size(); ++i) {
      if (cu[i] < cu[i - 1]) {
        throw DataError("--cu-seqlens must be non-decreasing");
      }
    }
  }
  for (int64_t bb = 0; bb < batches; ++bb) {
    for (size_t seq = 0; seq + 1 < cu.size(); ++seq) {
      for (int64_t h = 0; h < heads; ++h) {
        for (int64_t t0 = cu[seq]; t0 < cu[seq + 1]; t0 += c) {
          const int valid =
              static_cast<int>(std::min<int64_t>(c, cu[seq + 1] - t0));
          const std::string label =
              (layout.kind == Kind::kBTHC ? "b=" + std::to_string(bb)
                                          : "seq=" + std::to_string(seq)) +
              " h=" + std::to_string(h) + " t=" + std::to_string(t0);
          put(c, valid, label, [&](int64_t i, int64_t j) {
            if (i >= valid) return 0.0;
            return values[static_cast<size_t>(
                ((bb * tokens + t0 + i) * heads + h) * c + j)];
          });
        }
      }
    }
  }
  return out;
}

NpyArray ReadTensorFile(const std::string& path, const std::string& bin_dtype,
                        const std::vector<int64_t>& bin_shape,
                        const std::string& what) {
  if (EndsWith(path, ".npy")) return ReadNpy(path);
  if (!EndsWith(path, ".bin")) {
    throw InputError(what + " " + path +
                     ": not a .npy or .bin file (raw .bin needs --dtype and "
                     "--shape)");
  }
  static const std::pair<const char*, NpyDType> kDTypes[] = {
      {"float16", NpyDType::kFloat16}, {"bfloat16", NpyDType::kUInt16},
      {"float32", NpyDType::kFloat32}, {"float64", NpyDType::kFloat64},
      {"uint16", NpyDType::kUInt16},   {"int16", NpyDType::kInt16}};
  const NpyDType* dtype = nullptr;
  for (const auto& entry : kDTypes) {
    if (bin_dtype == entry.first) dtype = &entry.second;
  }
  if (!dtype) {
    throw InputError(what + " " + path +
                     ": a raw .bin needs --dtype "
                     "float16|bfloat16|float32|float64|uint16|int16, got '" +
                     bin_dtype + "'");
  }
  if (bin_shape.empty()) {
    throw InputError(what + " " + path + ": a raw .bin needs --shape");
  }
  int64_t count = 1;
  for (int64_t d : bin_shape) {
    if (d < 1 || d > (int64_t{1} << 40) / count) {
      throw InputError("--shape " + ShapeString(bin_shape) +
                       ": dimensions must be >= 1, at most 2^40 elements");
    }
    count *= d;
  }
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) throw InputError(what + " " + path + ": cannot open");
  const int64_t size = static_cast<int64_t>(in.tellg());
  const int64_t want = count * static_cast<int64_t>(NpyItemSize(*dtype));
  if (size != want) {
    throw DataError(what + " " + path + ": holds " + std::to_string(size) +
                    " bytes, --shape " + ShapeString(bin_shape) + " of " +
                    bin_dtype + " needs " + std::to_string(want));
  }
  std::vector<uint8_t> bytes(static_cast<size_t>(size));
  in.seekg(0);
  in.read(reinterpret_cast<char*>(bytes.data()), size);
  return MakeNpy(*dtype, bin_shape, std::move(bytes));
}

std::vector<double> StoredValues(NpyArray array, const StorageFormat& format,
                                 const std::string& what) {
  const bool bf16 = format && *format == quant::Format::kBf16;
  const NpyDType want = StorageDType(format);
  if (bf16 &&
      (array.dtype == NpyDType::kUInt16 || array.dtype == NpyDType::kInt16)) {
    array.dtype = NpyDType::kBFloat16;  // same bytes: bf16 bit patterns
  } else if (array.dtype != want) {
    throw DataError(
        what + ": dtype " + NpyDTypeName(array.dtype) +
        " does not match the oracle's output format " +
        StorageFormatName(format) + " (" +
        (bf16 ? std::string("uint16 or int16 bf16 bits") : NpyDTypeName(want)) +
        ")");
  }
  return ToDoubles(array);
}

}  // namespace trisim

namespace trisim {

namespace {

using Json = nlohmann::ordered_json;

Json NumOrNull(double x) { return std::isfinite(x) ? Json(x) : Json(); }

Json UlpOrNull(int64_t ulp) {
  return ulp == std::numeric_limits<int64_t>::max() ? Json() : Json(ulp);
}

Json ElementJson(const ElementReport& e,
                 const std::vector<std::string>& labels) {
  if (e.matrix < 0) return Json();
  Json j{{"matrix", e.matrix}, {"row", e.row}, {"col", e.col}};
  if (e.matrix < static_cast<int64_t>(labels.size())) {
    j["where"] = labels[e.matrix];
  }
  j["device"] = NumOrNull(e.device);
  j["expected"] = NumOrNull(e.expected);
  j["ulp"] = UlpOrNull(e.ulp);
  if (!std::isnan(e.reference)) j["reference"] = e.reference;
  return j;
}

const Json* Member(const Json& j, const char* key) {
  auto it = j.find(key);
  return it == j.end() ? nullptr : &*it;
}

}  // namespace

StageDivergence CompareStages(const std::string& dir, const OracleRun& run,
                              int sample) {
  namespace fs = std::filesystem;
  const Plan& plan = run.plan();
  StageDivergence out;
  out.steps_total = static_cast<int>(plan.steps.size());
  const std::string what = "--device-stages " + dir;
  std::ifstream in(fs::path(dir) / "manifest.json");
  if (!in) throw InputError(what + ": no manifest.json");
  Json manifest;
  try {
    in >> manifest;
  } catch (const std::exception& e) {
    throw DataError(what + "/manifest.json: not JSON (" + e.what() + ")");
  }
  const Json* steps = Member(manifest, "steps");
  if (!steps || !steps->is_array()) {
    throw DataError(what + "/manifest.json: no \"steps\" array");
  }
  if (steps->size() > plan.steps.size()) {
    throw DataError(what + "/manifest.json: " + std::to_string(steps->size()) +
                    " steps, the oracle's plan has " +
                    std::to_string(plan.steps.size()));
  }
  for (size_t s = 0; s < steps->size(); ++s) {
    const Json& js = (*steps)[s];
    const Step& step = plan.steps[s];
    const Json* name = Member(js, "name");
    const Json* output = Member(js, "output");
    const Json* file = output ? Member(*output, "file") : nullptr;
    if (!name || !name->is_string() || !file || !file->is_string()) {
      throw DataError(what + "/manifest.json: step " + std::to_string(s) +
                      " lacks \"name\" or \"output\".\"file\"");
    }
    if (name->get<std::string>() != step.label) {
      throw DataError(what + "/manifest.json: step " + std::to_string(s) +
                      " is '" + name->get<std::string>() +
                      "', the oracle's is '" + step.label + "'");
    }
    const Buffer& buffer = plan.buffers[step.out.buffer];
    const std::string path =
        (fs::path(dir) / file->get<std::string>()).string();
    NpyArray array = ReadNpy(path);
    if (array.shape != std::vector<int64_t>{buffer.rows, buffer.cols}) {
      throw DataError(path + ": shape " + ShapeString(array.shape) +
                      ", buffer " + buffer.name + " is " +
                      ShapeString({buffer.rows, buffer.cols}));
    }
    if (array.dtype == NpyDType::kUInt16 || array.dtype == NpyDType::kInt16) {
      array.dtype = NpyDType::kBFloat16;
    }
    const std::vector<double> device = ToDoubles(array);
    const std::vector<double>& expected = run.kept.buffer_after_step[s];
    const StorageFormat format =
        run.exact()
            ? StorageFormat()
            : StorageFormat(run.executor->BufferFormat(step.out.buffer));
    ++out.steps_compared;
    const View& v = step.out;
    for (int64_t i = v.row; i < v.row + v.rows; ++i) {
      for (int64_t j = v.col; j < v.col + v.cols; ++j) {
        const size_t k = static_cast<size_t>(i * buffer.cols + j);
        const double d = device[k], e = expected[k];
        if (d == e && std::signbit(d) == std::signbit(e)) continue;
        if (std::isnan(d) && std::isnan(e)) continue;
        int64_t ulp = std::numeric_limits<int64_t>::max();
        if (!std::isnan(d) && !std::isnan(e)) {
          try {
            ulp = std::abs(UlpPosition(d, format) - UlpPosition(e, format));
          } catch (const DataError&) {  // device value off the format's grid
          }
        }
        if (out.differing++ == 0) {
          out.first = {sample, i, j, d, e, ulp, NAN};
        }
        out.max_ulp = std::max(out.max_ulp, ulp);
      }
    }
    if (out.differing) {
      out.step = static_cast<int>(s);
      out.name = step.label;
      out.op = OpName(step.op);
      out.file = file->get<std::string>();
      break;
    }
  }
  return out;
}

Json CompareJson(const CompareReport& report,
                 const std::vector<PresetResult>& presets,
                 const StageDivergence* stages,
                 const std::vector<std::string>& labels) {
  const OracleComparison& o = report.oracle;
  const ReferenceComparison& r = report.reference;
  Json j;
  j["format"] = report.format;
  j["matrices"] = report.count;
  j["chunk"] = report.chunk;
  Json& jo = j["oracle"];
  jo["elements"] = o.elements;
  jo["identical"] = o.identical;
  jo["identical_rate"] = o.identical_rate();
  jo["nan"] = o.nan;
  jo["nonfinite"] = o.nonfinite;
  jo["max_ulp"] = UlpOrNull(o.max_ulp);
  jo["mean_ulp"] = o.mean_ulp;
  Json hist = Json::array();
  int last = 0;
  for (int b = 0; b < kUlpBins; ++b) {
    if (o.histogram[b]) last = b;
  }
  for (int b = 0; b <= last; ++b) {
    hist.push_back({{"ulp", UlpBinLabel(b)}, {"count", o.histogram[b]}});
  }
  jo["ulp_histogram"] = hist;
  jo["worst"] = ElementJson(o.worst, labels);
  if (o.worst_block.matrix >= 0) {
    const BlockReport& b = o.worst_block;
    jo["worst_block"] = {{"matrix", b.matrix},
                         {"block_row", b.block_row},
                         {"block_col", b.block_col},
                         {"max_ulp", UlpOrNull(b.max_ulp)},
                         {"differing", b.differing},
                         {"elements", b.elements},
                         {"worst", ElementJson(b.worst, labels)}};
  } else {
    jo["worst_block"] = Json();
  }
  if (r.present) {
    Json& jr = j["reference"];
    jr["frob_rel"] = NumOrNull(r.frob_rel);
    jr["frob_rel_max"] = NumOrNull(r.frob_rel_max);
    jr["fla_ratio"] = NumOrNull(r.fla_ratio);
    jr["cosine"] = NumOrNull(r.cosine);
    jr["max_abs"] = NumOrNull(r.max_abs);
    jr["max_rel"] = NumOrNull(r.max_rel);
    jr["small_threshold"] = r.small_threshold;
    jr["small_count"] = r.small_count;
    jr["max_abs_small"] = r.max_abs_small;
    jr["frac_rel_below_1e-3"] = r.frac_rel_below_1e3;
    jr["frac_rel_below_1e-2"] = r.frac_rel_below_1e2;
    jr["allclose_violations"] = r.allclose_violations;
    jr["ulp_mean"] = r.ulp_mean;
    jr["ulp_share_over_1"] = r.ulp_over_1;
    jr["ulp_share_over_32"] = r.ulp_over_32;
    jr["oracle_frob_rel"] = NumOrNull(r.oracle_frob_rel);
    jr["error_ratio"] = NumOrNull(r.error_ratio);
  } else {
    j["reference"] = Json();
  }
  if (stages) {
    Json js{{"steps_total", stages->steps_total},
            {"steps_compared", stages->steps_compared}};
    if (stages->step >= 0) {
      js["first_divergent"] = {{"step", stages->step},
                               {"name", stages->name},
                               {"op", stages->op},
                               {"file", stages->file},
                               {"differing", stages->differing},
                               {"max_ulp", UlpOrNull(stages->max_ulp)},
                               {"first", ElementJson(stages->first, {})}};
    } else {
      js["first_divergent"] = Json();
    }
    j["stages"] = js;
  }
  Json jp = Json::array();
  bool pass = true;
  for (const PresetResult& p : presets) {
    Json checks = Json::array();
    for (const Check& c : p.checks) {
      checks.push_back({{"name", c.name},
                        {"value", NumOrNull(c.value)},
                        {"op", c.op},
                        {"limit", c.limit},
                        {"pass", c.pass},
                        {"source", c.source}});
    }
    jp.push_back({{"preset", p.preset},
                  {"pass", p.pass},
                  {"note", p.note},
                  {"checks", checks}});
    pass = pass && p.pass;
  }
  j["presets"] = jp;
  j["pass"] = pass;
  return j;
}

}  // namespace trisim

namespace trisim {

namespace {

// A (an array in the request's layout) as strictly lower chunk matrices.
OracleInputs InputsFromArray(NpyArray array, const Recipe& recipe,
                             const ChunkLayout& layout, const std::string& what,
                             Chunked* chunks) {
  if (layout.kind == ChunkLayout::Kind::kNCC && !layout.upper) {
    OracleInputs inputs =
        MatricesFromNpy(std::move(array), NpyMatrixSpec{}, recipe, what);
    chunks->count = static_cast<int64_t>(inputs.matrices.size());
    chunks->chunk = inputs.matrices.front().rows();
    chunks->valid.assign(static_cast<size_t>(chunks->count),
                         static_cast<int>(chunks->chunk));
    if (layout.chunk && layout.chunk != chunks->chunk) {
      throw DataError(what + ": matrices of " + std::to_string(chunks->chunk) +
                      " do not match --chunk " + std::to_string(layout.chunk));
    }
    return inputs;
  }
  if ((array.dtype == NpyDType::kUInt16 || array.dtype == NpyDType::kInt16) &&
      !recipe.exact && recipe.input == quant::Format::kBf16) {
    array.dtype = NpyDType::kBFloat16;
  } else if (array.dtype != NpyDType::kFloat16 &&
             array.dtype != NpyDType::kFloat32 &&
             array.dtype != NpyDType::kFloat64) {
    throw DataError(what +
                    ": expected float16, float32, float64 or (bf16 input) "
                    "uint16/int16 bf16 bits, got " +
                    NpyDTypeName(array.dtype));
  }
  *chunks = ToChunks(ToDoubles(array), array.shape, layout, what);
  OracleInputs inputs;
  inputs.batched = true;
  const int64_t c = chunks->chunk;
  for (int64_t n = 0; n < chunks->count; ++n) {
    Mat a(c, c);
    for (int64_t i = 0; i < c; ++i) {
      for (int64_t j = 0; j < c; ++j) {
        a(i, j) = chunks->values[static_cast<size_t>((n * c + i) * c + j)];
      }
    }
    const std::string matrix =
        what + " chunk " + chunks->labels[static_cast<size_t>(n)];
    CheckStrictlyLower(a, matrix.c_str());
    inputs.matrices.push_back(std::move(a));
  }
  return inputs;
}

}  // namespace

CompareOutcome RunCompareRequest(const CompareRequest& q) {
  if (!q.expected && !q.inputs && q.gdn_spec.empty()) {
    throw InputError(
        "compare: give the inputs (--in SPEC: the oracle computed from them) "
        "or an oracle output (--expected FILE)");
  }
  if (!q.device_stages.empty() && !q.inputs && q.gdn_spec.empty()) {
    throw InputError(
        "--device-stages needs --in: the oracle's stages are computed from "
        "the inputs");
  }
  if (!q.gdn_spec.empty() && q.layout.kind != ChunkLayout::Kind::kNCC) {
    throw InputError("--in npy-gdn: goes with --layout ncc");
  }
  const Recipe recipe = LoadRecipe(q.precision);
  const StorageFormat format =
      recipe.exact ? StorageFormat() : StorageFormat(recipe.output);
  // Validates the preset and the method before any work.
  if (q.preset != "exact" && q.preset != "fla" && q.preset != "fla-output" &&
      q.preset != "msprobe" && q.preset != "pto-kernels") {
    throw InputError("--preset " + q.preset +
                     ": unknown; allowed: " + PresetNames());
  }

  CompareOutcome out;
  const Chunked device = ToChunks(StoredValues(q.device, format, q.device_name),
                                  q.device.shape, q.layout, q.device_name);
  CompareData data;
  data.format = format;
  data.count = device.count;
  data.chunk = device.chunk;
  data.valid = device.valid;
  data.device = device.values;
  out.labels = device.labels;

  std::unique_ptr<OracleRun> run;
  if (q.inputs || !q.gdn_spec.empty()) {
    OracleInputs loaded;
    Chunked a_chunks;
    if (q.inputs) {
      loaded = InputsFromArray(*q.inputs, recipe, q.layout, q.inputs_name,
                               &a_chunks);
    } else {
      loaded = LoadOracleInputs(q.gdn_spec, recipe, q.gdn_chunk, true, q.seed);
      a_chunks.count = static_cast<int64_t>(loaded.matrices.size());
      a_chunks.chunk = loaded.matrices.front().rows();
      a_chunks.valid.assign(static_cast<size_t>(a_chunks.count),
                            static_cast<int>(a_chunks.chunk));
    }
    if (a_chunks.count != data.count || a_chunks.chunk != data.chunk ||
        a_chunks.valid != data.valid) {
      throw DataError(
          q.device_name + ": holds " + std::to_string(data.count) +
          " matrices of " + std::to_string(data.chunk) + ", the inputs give " +
          std::to_string(a_chunks.count) + " of " +
          std::to_string(a_chunks.chunk) +
          (a_chunks.valid != data.valid && a_chunks.count == data.count
               ? " (chunks of other lengths)"
               : ""));
    }
    const int count = static_cast<int>(loaded.matrices.size());
    if (!q.device_stages.empty() &&
        (q.stage_sample < 0 || q.stage_sample >= count)) {
      throw InputError("--stage-sample " + std::to_string(q.stage_sample) +
                       ": the input holds " + std::to_string(count) +
                       " matrices");
    }
    run = std::make_unique<OracleRun>(
        RunOracle(q.method, q.options, q.kernel, recipe, loaded.matrices,
                  q.seed, q.device_stages.empty() ? -1 : q.stage_sample));
    data.expected = run->values;
    const int c = static_cast<int>(data.chunk);
    data.reference.reserve(data.device.size());
    for (const Mat& a : loaded.matrices) {
      const Mat t = ForwardSubstitutionInverse(a);
      for (int i = 0; i < c; ++i) {
        for (int j = 0; j < c; ++j) data.reference.push_back(t(i, j));
      }
    }
    out.note = loaded.note;
  }
  if (q.expected) {
    const Chunked expected =
        ToChunks(StoredValues(*q.expected, format, q.expected_name),
                 q.expected->shape, q.layout, q.expected_name);
    if (expected.count != data.count || expected.chunk != data.chunk ||
        expected.valid != data.valid) {
      throw DataError(q.expected_name + ": " + std::to_string(expected.count) +
                      " matrices of " + std::to_string(expected.chunk) +
                      " do not match the device's " +
                      std::to_string(data.count) + " of " +
                      std::to_string(data.chunk));
    }
    data.expected = expected.values;
  }
  out.report = Compare(data);
  out.presets.push_back(EvaluatePreset(q.preset, out.report, format));
  if (!q.device_stages.empty()) {
    out.stages = std::make_unique<StageDivergence>(
        CompareStages(q.device_stages, *run, q.stage_sample));
  }
  for (const PresetResult& p : out.presets) out.pass = out.pass && p.pass;
  return out;
}

}  // namespace trisim

namespace trisim {

std::vector<NamedComparison> CompareOutputSets(const std::string& device_dir,
                                               const std::string& expected_dir,
                                               const std::string& preset) {
  namespace fs = std::filesystem;
  auto read_manifest = [](const std::string& dir, const std::string& flag,
                          bool required) -> std::optional<Json> {
    if (!fs::is_directory(dir)) {
      throw InputError(flag + " " + dir + ": not a directory");
    }
    std::ifstream in(fs::path(dir) / "manifest.json");
    if (!in) {
      if (required) throw DataError(flag + " " + dir + ": no manifest.json");
      return std::nullopt;
    }
    Json j;
    try {
      in >> j;
    } catch (const std::exception& e) {
      throw DataError(flag + " " + dir + "/manifest.json: not JSON (" +
                      e.what() + ")");
    }
    const Json* outputs = Member(j, "outputs");
    if (!outputs || !outputs->is_array()) {
      throw DataError(flag + " " + dir +
                      "/manifest.json: no \"outputs\" array");
    }
    for (const Json& o : *outputs) {
      const Json* name = Member(o, "name");
      const Json* file = Member(o, "file");
      if (!name || !name->is_string() || !file || !file->is_string()) {
        throw DataError(flag + " " + dir +
                        "/manifest.json: every output needs \"name\" and "
                        "\"file\"");
      }
    }
    return *outputs;
  };
  const Json expected =
      *read_manifest(expected_dir, "--expected-outputs", true);
  const std::optional<Json> device =
      read_manifest(device_dir, "--device-outputs", false);
  std::vector<NamedComparison> out;
  for (const Json& e : expected) {
    NamedComparison nc;
    nc.name = e["name"].get<std::string>();
    const Json* format_json = Member(e, "format");
    const std::string format_name = format_json && format_json->is_string()
                                        ? format_json->get<std::string>()
                                        : "fp64";
    const StorageFormat format =
        format_name == "fp64"
            ? StorageFormat()
            : StorageFormat(quant::ParseFormat(
                  format_name, "--expected-outputs " + nc.name + " format"));
    nc.format = StorageFormatName(format);
    std::string device_file = nc.name + ".npy";
    if (device) {
      bool found = false;
      for (const Json& d : *device) {
        if (d["name"] == e["name"]) {
          device_file = d["file"].get<std::string>();
          found = true;
        }
      }
      if (!found) {
        throw DataError("--device-outputs " + device_dir +
                        ": its manifest has no output '" + nc.name + "'");
      }
    }
    const std::string dpath = (fs::path(device_dir) / device_file).string();
    const std::string epath =
        (fs::path(expected_dir) / e["file"].get<std::string>()).string();
    if (!fs::exists(dpath)) {
      throw DataError("--device-outputs " + device_dir + ": no " + device_file +
                      " for output '" + nc.name + "'");
    }
    const NpyArray dev = ReadNpy(dpath);
    const NpyArray exp = ReadNpy(epath);
    if (dev.shape != exp.shape) {
      throw DataError(dpath + ": shape " + ShapeString(dev.shape) +
                      ", expected " + ShapeString(exp.shape));
    }
    CompareData data;
    data.format = format;
    const auto& shape = exp.shape;
    data.cols = shape.empty() ? 1 : shape.back();
    data.rows = shape.size() >= 2 ? shape[shape.size() - 2] : 1;
    data.count = 1;
    for (size_t i = 0; i + 2 < shape.size(); ++i) data.count *= shape[i];
    data.chunk = data.rows;
    data.device = StoredValues(dev, format, dpath);
    data.expected = StoredValues(exp, format, epath);
    if (const Json* ref = Member(e, "reference"); ref && ref->is_string()) {
      const std::string rpath =
          (fs::path(expected_dir) / ref->get<std::string>()).string();
      const NpyArray r = ReadNpy(rpath);
      if (r.shape != shape) {
        throw DataError(rpath + ": shape " + ShapeString(r.shape) +
                        ", the output is " + ShapeString(shape));
      }
      data.reference = ToDoubles(r);
    }
    nc.report = Compare(data);
    nc.preset = EvaluatePreset(preset, nc.report, format);
    out.push_back(std::move(nc));
  }
  return out;
}

}  // namespace trisim
