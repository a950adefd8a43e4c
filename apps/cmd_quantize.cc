// `trisim quantize` and `trisim dequantize`: prepare bit-exact device inputs
// from .npy files and read device outputs back. All numerics live in quant/
// (semantics in quant/scale.h and quant/round.h); this file maps .npy dtypes
// and flags onto it. Every check runs before the first file is written, so a
// bad input leaves nothing behind.
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

#include "apps/cli_options.h"
#include "apps/commands.h"
#include "core/npy.h"
#include "core/output_files.h"
#include "core/status.h"
#include "quant/format.h"
#include "quant/npy_codes.h"
#include "quant/round.h"
#include "quant/scale.h"
#include "quant/tensor.h"

namespace trisim::app {
namespace {

using quant::Format;

using quant::EncodeNpy;
using quant::NpyDTypeFor;

template <typename T>
void Put(std::vector<uint8_t>* bytes, size_t i, T v) {
  std::memcpy(bytes->data() + i * sizeof(T), &v, sizeof(T));
}

// "S.npy" -> "S.<suffix>.npy" for the companion scale files.
std::string Companion(const std::string& path, const std::string& suffix) {
  const std::string stem =
      path.size() > 4 && path.compare(path.size() - 4, 4, ".npy") == 0
          ? path.substr(0, path.size() - 4)
          : path;
  return stem + "." + suffix + ".npy";
}

double MinNormalOf(NpyDType dtype) {
  switch (dtype) {
    case NpyDType::kFloat16:
      return 0x1p-14;
    case NpyDType::kBFloat16:
    case NpyDType::kFloat32:
      return 0x1p-126;
    case NpyDType::kFloat64:
      return 0x1p-1022;
    default:
      return 0;  // integers have no subnormals
  }
}

std::string Counts(const quant::EventCounts& e) {
  return "saturated=" + std::to_string(e.saturated) +
         " wrapped=" + std::to_string(e.wrapped) +
         " overflowed=" + std::to_string(e.overflowed) +
         " flushed_in=" + std::to_string(e.flushed_in) +
         " flushed_out=" + std::to_string(e.flushed_out) +
         " nonfinite_in=" + std::to_string(e.nonfinite_in) +
         " inexact=" + std::to_string(e.inexact);
}

quant::Subnormals ParseSubnormals(const std::string& s,
                                  const std::string& what) {
  if (s == "keep") return quant::Subnormals::kKeep;
  if (s == "flush") return quant::Subnormals::kFlush;
  throw InputError(what + ": '" + s + "' (allowed: keep, flush)");
}

// ---------------------------------------------------------------- quantize

struct QuantizeOptions {
  std::string in, out, format, rounding = "nearest-even", scale = "none",
                               scale_kind = "fp32";
  std::string scales_out, overflow = "default", subnormals_in = "keep",
                          subnormals_out = "keep";
  std::string nonfinite = "error", fixed_rounding = "double";
  int scale_mantissa_bits = 23;
  bool asymmetric = false, bf16_in = false, force = false;
  uint64_t seed = 0, tensor_id = 0;
  int threads = 1;
};

int RunQuantize(const QuantizeOptions& o) {
  quant::QuantizeOptions q;
  q.format = quant::ParseFormat(o.format);
  const quant::FormatInfo& f = quant::GetFormatInfo(q.format);
  q.rounding = quant::ParseRoundingMode(o.rounding);
  q.scale.grid = quant::ParseScaleGrid(o.scale);
  q.scale.kind = quant::ParseScaleKind(o.scale_kind);
  q.scale.mantissa_bits = o.scale_mantissa_bits;
  q.scale.asymmetric = o.asymmetric;
  if (o.fixed_rounding != "single" && o.fixed_rounding != "double") {
    throw InputError("--fixed-rounding: '" + o.fixed_rounding +
                     "' (allowed: single, double)");
  }
  q.scale.fixed_rounding = o.fixed_rounding == "single"
                               ? quant::FixedRounding::kSingle
                               : quant::FixedRounding::kDouble;
  if (o.overflow == "default") {
    // IEEE for floats, saturation for integers.
  } else if (f.is_float && o.overflow == "ieee") {
    q.float_overflow = quant::FloatOverflow::kIeee;
  } else if (o.overflow == "saturate") {
    q.float_overflow = quant::FloatOverflow::kSaturate;
    q.int_overflow = quant::IntOverflow::kSaturate;
  } else if (!f.is_float && o.overflow == "wrap") {
    q.int_overflow = quant::IntOverflow::kWrap;
  } else {
    throw InputError("--overflow: '" + o.overflow + "' for " + f.name +
                     " (allowed: " +
                     (f.is_float ? "ieee, saturate" : "saturate, wrap") + ")");
  }
  q.subnormals_out = ParseSubnormals(o.subnormals_out, "--subnormals-out");
  const bool flush_in = ParseSubnormals(o.subnormals_in, "--subnormals-in") ==
                        quant::Subnormals::kFlush;
  if (o.nonfinite != "error" && o.nonfinite != "saturate") {
    throw InputError("--nonfinite: '" + o.nonfinite +
                     "' (allowed: error, saturate)");
  }
  q.nonfinite = o.nonfinite == "error" ? quant::NonFinitePolicy::kError
                                       : quant::NonFinitePolicy::kSaturate;
  q.seed = o.seed;
  q.tensor_id = o.tensor_id;
  q.threads = o.threads;
  if (!o.scales_out.empty() &&
      q.scale.grid.granularity == quant::Granularity::kNone) {
    throw InputError("--scales-out: there are no scales with --scale none");
  }

  // Every output is declared (and its path checked) before any work; all
  // are published together at the end (core/output_files.h).
  Outputs outputs(o.force);
  const std::string out_file = outputs.File("OUT", o.out);
  std::string scales_file, multiplier_file, shift_file, zero_point_file;
  if (!o.scales_out.empty()) {
    scales_file = outputs.File("--scales-out", o.scales_out);
    if (q.scale.kind == quant::ScaleKind::kFixed) {
      multiplier_file =
          outputs.File("--scales-out", Companion(o.scales_out, "multiplier"));
      shift_file =
          outputs.File("--scales-out", Companion(o.scales_out, "shift"));
    }
    if (q.scale.asymmetric) {
      zero_point_file =
          outputs.File("--scales-out", Companion(o.scales_out, "zero_point"));
    }
  }

  NpyArray in = ReadNpy(o.in);
  if (o.bf16_in) in = AsBFloat16(std::move(in));
  if (flush_in) q.flush_inputs_below = MinNormalOf(in.dtype);
  int64_t rows, cols;
  quant::MatrixView(in.shape, &rows, &cols);
  const quant::QuantizedTensor t =
      quant::Quantize(ToDoubles(in), rows, cols, q);

  // Everything is computed; now write, then publish all outputs at once.
  WriteNpy(out_file, EncodeNpy(q.format, in.shape, t.ints, t.codes));
  if (!scales_file.empty()) {
    const std::vector<int64_t> grid = {t.layout.grid_rows, t.layout.grid_cols};
    std::vector<uint8_t> s(t.scales.size() * 4), m(t.scales.size() * 4),
        sh(t.scales.size() * 4), zp(t.scales.size() * 4);
    for (size_t g = 0; g < t.scales.size(); ++g) {
      Put(&s, g, t.scales[g].scale);
      Put(&m, g, t.scales[g].reciprocal.multiplier);
      Put(&sh, g, static_cast<int32_t>(t.scales[g].reciprocal.shift));
      Put(&zp, g, t.scales[g].zero_point);
    }
    WriteNpy(scales_file, MakeNpy(NpyDType::kFloat32, grid, std::move(s)));
    if (!multiplier_file.empty()) {
      WriteNpy(multiplier_file, MakeNpy(NpyDType::kInt32, grid, std::move(m)));
      WriteNpy(shift_file, MakeNpy(NpyDType::kInt32, grid, std::move(sh)));
    }
    if (!zero_point_file.empty()) {
      WriteNpy(zero_point_file, MakeNpy(NpyDType::kInt32, grid, std::move(zp)));
    }
  }
  outputs.Commit();
  std::printf("quantize: %zu values -> %s (%s, scale %s %s): %s\n",
              static_cast<size_t>(rows * cols), f.name,
              quant::RoundingModeName(q.rounding),
              quant::ScaleGridName(q.scale.grid).c_str(),
              quant::ScaleKindName(q.scale.kind), Counts(t.events).c_str());
  return 0;
}

// -------------------------------------------------------------- dequantize

struct DequantizeOptions {
  std::string in, out, in_format, to = "fp32", rounding = "nearest-even",
                                  scale = "none";
  std::string scales, zero_points, overflow = "ieee", subnormals_out = "keep";
  int scale_mantissa_bits = 23;
  bool force = false;
  uint64_t seed = 0, tensor_id = 0;
  int threads = 1;
};

// The input's format: given, or implied by the dtype.
Format InputFormat(const std::string& given, NpyDType dtype,
                   const std::string& path) {
  if (!given.empty()) return quant::ParseFormat(given, "--in-format");
  switch (dtype) {
    case NpyDType::kInt8:
      return Format::kInt8;
    case NpyDType::kUInt8:
      return Format::kUInt8;
    case NpyDType::kInt16:
      return Format::kInt16;
    case NpyDType::kInt32:
      return Format::kInt32;
    case NpyDType::kFloat16:
      return Format::kFp16;
    case NpyDType::kFloat32:
      return Format::kFp32;
    default:
      throw InputError(path + ": dtype " + NpyDTypeName(dtype) +
                       " needs --in-format (e.g. bf16 for uint16 bits, "
                       "e4m3/e5m2 for uint8 codes)");
  }
}

// Exact values of the input, checked against the declared format.
std::vector<double> InputValues(const NpyArray& in, Format f,
                                const std::string& path) {
  const NpyDType want = NpyDTypeFor(f);
  const bool ok = in.dtype == want ||
                  (f == Format::kBf16 && in.dtype == NpyDType::kUInt16) ||
                  (f == Format::kInt4 && in.dtype == NpyDType::kInt8);
  if (!ok) {
    throw DataError(path + ": dtype " + NpyDTypeName(in.dtype) +
                    " does not hold " + quant::FormatName(f) + " (expected " +
                    NpyDTypeName(want) + ")");
  }
  if (f == Format::kInt48 || f == Format::kInt64) {
    throw InputError(
        std::string("--in-format: ") + quant::FormatName(f) +
        " is wider than the dequantiser takes (allowed up to int32)");
  }
  std::vector<double> v =
      ToDoubles(in);  // codes for fp8/bf16/hf32/tf32, values otherwise
  const quant::FormatInfo& info = quant::GetFormatInfo(f);
  for (size_t i = 0; i < v.size(); ++i) {
    if (f == Format::kFp8E4M3 || f == Format::kFp8E5M2 || f == Format::kBf16 ||
        f == Format::kHf32 || f == Format::kTf32) {
      uint32_t code = static_cast<uint32_t>(v[i]);
      if (f == Format::kHf32 || f == Format::kTf32)
        std::memcpy(&code, in.bytes.data() + 4 * i, 4);
      v[i] = quant::DecodeFloat(code, f);
    } else if (!info.is_float && (v[i] < info.min_int || v[i] > info.max_int)) {
      throw DataError(path + ": element " + std::to_string(i) + " = " +
                      std::to_string(static_cast<int64_t>(v[i])) +
                      " is outside " + info.name + " [" +
                      std::to_string(info.min_int) + ", " +
                      std::to_string(info.max_int) + "]");
    }
  }
  return v;
}

int RunDequantize(const DequantizeOptions& o) {
  quant::DequantizeOptions d;
  d.out = quant::ParseFormat(o.to, "--to");
  if (!quant::IsFloat(d.out)) {
    throw InputError("--to: " + o.to +
                     " is not a float format (allowed: fp32, fp16, bf16, hf32, "
                     "e4m3, e5m2)");
  }
  d.rounding.mode = quant::ParseRoundingMode(o.rounding);
  d.rounding.subnormals_out =
      ParseSubnormals(o.subnormals_out, "--subnormals-out");
  if (o.overflow != "ieee" && o.overflow != "saturate") {
    throw InputError("--overflow: '" + o.overflow +
                     "' (allowed: ieee, saturate)");
  }
  d.rounding.overflow = o.overflow == "ieee" ? quant::FloatOverflow::kIeee
                                             : quant::FloatOverflow::kSaturate;
  d.scale_mantissa_bits = o.scale_mantissa_bits;
  d.seed = o.seed;
  d.tensor_id = o.tensor_id;
  d.threads = o.threads;
  const quant::ScaleGrid grid = quant::ParseScaleGrid(o.scale);
  const bool scaled = grid.granularity != quant::Granularity::kNone;
  if (scaled == o.scales.empty()) {
    throw InputError(scaled ? "--scales: required with --scale " + o.scale
                            : "--scales: given, but --scale is none");
  }

  Outputs outputs(o.force);
  const std::string out_file = outputs.File("OUT", o.out);
  const NpyArray in = ReadNpy(o.in);
  const Format in_format = InputFormat(o.in_format, in.dtype, o.in);
  const std::vector<double> q = InputValues(in, in_format, o.in);
  int64_t rows, cols;
  quant::MatrixView(in.shape, &rows, &cols);
  const quant::GroupLayout layout = quant::MakeGroupLayout(grid, rows, cols);

  std::vector<float> scales(layout.NumGroups(), 1.0f);
  std::vector<int32_t> zero_points;
  const std::string grid_shape = "[" + std::to_string(layout.grid_rows) + ", " +
                                 std::to_string(layout.grid_cols) + "]";
  if (scaled) {
    const NpyArray s = ReadNpy(o.scales);
    if (s.dtype != NpyDType::kFloat32 ||
        s.NumElements() != layout.NumGroups()) {
      throw DataError(o.scales + ": expected float32 scales of shape " +
                      grid_shape + " for --scale " + o.scale + ", got " +
                      NpyDTypeName(s.dtype) + " with " +
                      std::to_string(s.NumElements()) + " elements");
    }
    std::memcpy(scales.data(), s.bytes.data(), s.bytes.size());
  }
  if (!o.zero_points.empty()) {
    if (quant::IsFloat(in_format)) {
      throw InputError("--zero-points: apply to integer inputs only, not " +
                       std::string(quant::FormatName(in_format)));
    }
    const NpyArray z = ReadNpy(o.zero_points);
    if (z.dtype != NpyDType::kInt32 || z.NumElements() != layout.NumGroups()) {
      throw DataError(o.zero_points + ": expected int32 zero points of shape " +
                      grid_shape);
    }
    zero_points.resize(layout.NumGroups());
    std::memcpy(zero_points.data(), z.bytes.data(), z.bytes.size());
  }
  quant::EventCounts events;
  const std::vector<uint32_t> y =
      quant::Dequantize(q, layout, scales, zero_points, d, &events);
  WriteNpy(out_file, EncodeNpy(d.out, in.shape, {}, y));
  outputs.Commit();
  std::printf(
      "dequantize: %zu values %s -> %s (%s, scale %s, %d mantissa bits): %s\n",
      q.size(), quant::FormatName(in_format), quant::FormatName(d.out),
      quant::RoundingModeName(d.rounding.mode),
      quant::ScaleGridName(grid).c_str(), o.scale_mantissa_bits,
      Counts(events).c_str());
  return 0;
}

const char kSemantics[] =
    "\nSemantics (quant/scale.h): scale s per group from amax in fp32 (s = "
    "fp32(amax) / qmax,\n"
    "one fp32 rounding, optional mantissa truncation), applied as q = "
    "Round(fp32(x) / s) + zp:\n"
    "one fp32 division, then the chosen rounding, then saturation. Arrays are "
    "viewed as\n"
    "rows = prod(shape[:-1]) x cols = shape[-1]; scale files have shape "
    "[grid_rows, grid_cols].\n"
    "Outputs: ints as int8/int16/int32/int64 (int4 as int8), fp16 '<f2', bf16 "
    "'<u2' bits,\n"
    "e4m3/e5m2 uint8 codes, fp32/hf32/tf32 '<f4'.";

// --rounding and --scale, as quantize and dequantize both take them.
template <class Options>
void AddRoundingAndScaleOptions(CLI::App& app, Options& o) {
  app.add_option("--rounding", o.rounding,
                 "rounding mode: " + quant::AllRoundingModeNames())
      ->capture_default_str();
  app.add_option("--scale", o.scale,
                 "granularity: none, tensor, row, col, block:B")
      ->capture_default_str();
}

// The stochastic-rounding seed and tensor id, and the worker threads, as
// quantize and dequantize both take them.
template <class Options>
void AddSeedAndThreadOptions(CLI::App& app, Options& o) {
  AddSeedOption(app, &o.seed, "stochastic rounding seed");
  AddUint64Option(app, "--tensor-id", &o.tensor_id,
                  "stochastic rounding tensor id");
  AddThreadsOption(app, &o.threads,
                   "worker threads (results do not depend on it)",
                   /*resolve_zero=*/true);
}

}  // namespace

Command SetupQuantizeCommand(CLI::App& root) {
  auto o = std::make_shared<QuantizeOptions>();
  CLI::App* app = root.add_subcommand(
      "quantize",
      "Quantise a .npy array to a device number format, bit-exactly");
  app->footer(kSemantics);
  app->add_option(
         "IN", o->in,
         "input .npy (float16/32/64, int; bf16 as uint16 with --bf16-in)")
      ->required();
  app->add_option("OUT", o->out, "output .npy")->required();
  AddForceFlag(*app, &o->force);
  app->add_option("--format", o->format,
                  "target format: " + quant::AllFormatNames())
      ->required();
  AddRoundingAndScaleOptions(*app, *o);
  app->add_option("--scale-kind", o->scale_kind,
                  "fp32, pow2, or fixed (int32 accumulator input: multiply by "
                  "the TFLite "
                  "fixed-point reciprocal)")
      ->capture_default_str();
  app->add_option("--scale-mantissa-bits", o->scale_mantissa_bits,
                  "fp32 scale: fraction bits kept, truncating (device: 10)")
      ->capture_default_str();
  app->add_flag("--asymmetric", o->asymmetric,
                "asymmetric range with an int32 zero point");
  app->add_option("--fixed-rounding", o->fixed_rounding,
                  "fixed kind: single or double (gemmlowp) rounding")
      ->capture_default_str();
  app->add_option(
      "--scales-out", o->scales_out,
      "write scales (float32, [grid_rows, grid_cols]); fixed kind adds "
      "S.multiplier.npy and S.shift.npy, --asymmetric S.zero_point.npy "
      "(int32)");
  app->add_option("--overflow", o->overflow,
                  "floats: ieee (inf) or saturate; integers: saturate or wrap")
      ->capture_default_str();
  app->add_option("--subnormals-in", o->subnormals_in,
                  "keep or flush input subnormals")
      ->capture_default_str();
  app->add_option("--subnormals-out", o->subnormals_out,
                  "keep or flush subnormal results")
      ->capture_default_str();
  app->add_option(
         "--nonfinite", o->nonfinite,
         "NaN/inf into an integer format: error (names the first) or saturate "
         "(+-inf to max/min, NaN to 0)")
      ->capture_default_str();
  app->add_flag("--bf16-in", o->bf16_in,
                "read a uint16 input as raw bfloat16 bits");
  AddSeedAndThreadOptions(*app, *o);
  return Command{app, [o] { return RunQuantize(*o); }};
}

Command SetupDequantizeCommand(CLI::App& root) {
  auto o = std::make_shared<DequantizeOptions>();
  CLI::App* app = root.add_subcommand("dequantize",
                                      "Dequantise a .npy array: y = Round((q - "
                                      "zp) * s), exact product, one rounding");
  app->footer(kSemantics);
  app->add_option("IN", o->in, "input .npy of integers or float codes")
      ->required();
  app->add_option("OUT", o->out, "output .npy")->required();
  AddForceFlag(*app, &o->force);
  app->add_option("--in-format", o->in_format,
                  "input format (default from the dtype; needed for bf16, "
                  "e4m3, e5m2, int4, hf32)");
  app->add_option(
         "--to", o->to,
         "output float format: fp32, fp16, bf16, hf32, tf32, e4m3, e5m2")
      ->capture_default_str();
  AddRoundingAndScaleOptions(*app, *o);
  app->add_option("--scales", o->scales,
                  "float32 scales, shape [grid_rows, grid_cols]");
  app->add_option("--zero-points", o->zero_points,
                  "int32 zero points, same shape as --scales");
  app->add_option("--scale-mantissa-bits", o->scale_mantissa_bits,
                  "truncate scales to this many fraction bits first (Ascend "
                  "FIXPIPE: 10)")
      ->capture_default_str();
  app->add_option("--overflow", o->overflow, "ieee (inf) or saturate")
      ->capture_default_str();
  app->add_option("--subnormals-out", o->subnormals_out,
                  "keep or flush subnormal results")
      ->capture_default_str();
  AddSeedAndThreadOptions(*app, *o);
  return Command{app, [o] { return RunDequantize(*o); }};
}

}  // namespace trisim::app
