#include "sim/recipe.h"

#include <toml++/toml.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/status.h"
#include "sim/toml_text.h"

namespace trisim {

using quant::Format;
using quant::Granularity;

const char* AccumulationOrderName(AccumulationOrder order) {
  return NameOf(kAccumulationOrderNames, order);
}

namespace {

Recipe FloatRecipe(const char* name, const char* description, Format operand,
                   Format storage) {
  Recipe r;
  r.name = name;
  r.description = description;
  r.input = storage;
  r.operand = operand;
  r.accumulator = Format::kFp32;
  r.storage = storage;
  r.vector = Format::kFp32;
  r.output = storage;
  return r;
}

Recipe IntRecipe(const char* name, const char* description, Format operand,
                 Granularity granularity, int block, Format accumulator,
                 Format storage) {
  Recipe r;
  r.name = name;
  r.description = description;
  r.input = storage;
  r.operand = operand;
  r.operand_scale = {granularity, block};
  r.accumulator = accumulator;
  r.storage = storage;
  r.vector = Format::kFp32;
  r.output = storage;
  return r;
}

// FLA's production GDN forward on a TF32-capable NVIDIA GPU
// (../shared/docs/KERNELS.md section 4; fla/ops/gated_delta_rule/chunk.py,
// chunk_delta_h.py, wy_fast.py, fla/ops/common/chunk_o.py,
// utils/solve_tril.py): q/k/v in `dtype`, g and beta in fp32, fp32
// accumulation, A in fp32 registers, diagonal 16 x 16 blocks by fp32 forward
// substitution, merges with tf32 operands (tl.dot input_precision tf32), T
// stored in the input dtype, W/U/Vn/O stored in the input dtype, the state in
// fp32 (the state enters the W S and Q S products in the operand dtype:
// h.to(w.dtype)). Undisclosed: the tensor cores' internal accumulation
// (modelled as IEEE fp32, one rounding per added product: order = sequential)
// and exp2's accuracy (modelled as a correctly rounded fp32 exp). TF32 operands
// round as cvt.rna.tf32.f32 (nearest, ties away from zero: quant tf32).
// With `--kernel fla-gpu` T follows FLA's fused kernel (core/kernels/
// fla_gpu.cc) bit for bit.
Recipe GpuLayerRecipe(Format dtype) {
  Recipe r;
  const std::string name = std::string("gpu-") + quant::FormatName(dtype);
  r.name = name;
  r.description = std::string("FLA GDN forward on an NVIDIA GPU, ") +
                  quant::FormatName(dtype) +
                  " q/k/v/T/W/U/O, fp32 gates/A/state, tf32 merges (use "
                  "with --method fla --kernel fla-gpu)";
  const Format op = dtype == Format::kFp32 ? Format::kTf32 : dtype;
  r.input = Format::kFp32;
  r.operand = Format::kTf32;
  r.accumulator = Format::kFp32;
  r.order = AccumulationOrder::kSequential;
  r.storage = Format::kFp32;
  r.vector = Format::kFp32;
  r.output = dtype;
  r.layer.enabled = true;
  r.layer.inputs = dtype;
  r.layer.gate = Format::kFp32;
  r.layer.operand = op;
  r.layer.wu = dtype;
  r.layer.vn = dtype;
  r.layer.state = Format::kFp32;
  r.layer.o = dtype;
  r.layer.exp = LayerExp::kDifference;
  return r;
}

// The FLA Triton kernels as ported to Ascend (MindSpeed / vllm-ascend
// chunk_delta_h.py, wy_fast.py follow FLA's precisions): `dtype` q/k/v and
// cube operands, fp32 accumulation in fractal order (NPU.md), A and the
// inverse's intermediates in `dtype`, fp32 gates and state.
Recipe AscendLayerRecipe(Format dtype) {
  Recipe r;
  r.name = std::string("ascend-") + quant::FormatName(dtype) + "-layer";
  r.description = std::string("GDN layer on the Ascend cube: ") +
                  quant::FormatName(dtype) +
                  " q/k/v, operands and intermediates, fp32 accumulate, "
                  "fp32 gates and state";
  r.input = dtype;
  r.operand = dtype;
  r.accumulator = Format::kFp32;
  r.order = AccumulationOrder::kFractal;
  r.storage = dtype;
  r.vector = Format::kFp32;
  r.output = dtype;
  r.layer.enabled = true;
  r.layer.inputs = dtype;
  r.layer.gate = Format::kFp32;
  r.layer.operand = dtype;
  r.layer.wu = dtype;
  r.layer.vn = dtype;
  r.layer.state = Format::kFp32;
  r.layer.o = dtype;
  return r;
}

std::vector<Recipe> MakeBuiltins() {
  std::vector<Recipe> all;
  Recipe fp64;
  fp64.name = "fp64";
  fp64.description = "exact reference: fp64 everywhere, no rounding";
  fp64.exact = true;
  fp64.input = fp64.operand = fp64.storage = fp64.vector = fp64.output =
      Format::kFp32;  // unused
  all.push_back(fp64);
  all.push_back(FloatRecipe("fp32",
                            "fp32 operands and intermediates, fp32 accumulate",
                            Format::kFp32, Format::kFp32));
  all.push_back(FloatRecipe(
      "hf32",
      "HF32 cube (operands rounded to a 10-bit mantissa), fp32 intermediates",
      Format::kHf32, Format::kFp32));
  all.push_back(FloatRecipe(
      "tf32",
      "NVIDIA TF32 operands (cvt.rna: nearest, ties away), fp32 intermediates",
      Format::kTf32, Format::kFp32));
  Recipe tf32x3 = FloatRecipe(
      "tf32x3",
      "fp32 operands split into tf32 hi + lo, 3 tf32 products per term "
      "(Triton tf32x3), fp32 intermediates",
      Format::kTf32, Format::kFp32);
  tf32x3.operand_split = quant::OperandSplit::kTf32x3;
  all.push_back(tf32x3);
  Recipe bf16x3 = FloatRecipe(
      "bf16x3",
      "fp32 operands split into bf16 hi + lo, 3 bf16 products per term "
      "(Triton bf16x3), fp32 intermediates",
      Format::kBf16, Format::kFp32);
  bf16x3.operand_split = quant::OperandSplit::kBf16x3;
  all.push_back(bf16x3);
  all.push_back(
      FloatRecipe("fp16", "fp16 operands, fp32 accumulate, fp16 intermediates",
                  Format::kFp16, Format::kFp16));
  Recipe acc32 =
      FloatRecipe("fp16-acc32",
                  "fp16 operands, fp32 accumulate, intermediates kept in fp32",
                  Format::kFp16, Format::kFp32);
  acc32.input = Format::kFp16;
  all.push_back(acc32);
  all.push_back(
      FloatRecipe("bf16", "bf16 operands, fp32 accumulate, bf16 intermediates",
                  Format::kBf16, Format::kBf16));
  all.push_back(IntRecipe(
      "int8",
      "int8 operands (per-tensor scale), int32 accumulate, fp16 intermediates",
      Format::kInt8, Granularity::kTensor, 0, Format::kInt32, Format::kFp16));
  all.push_back(IntRecipe(
      "int8-block16",
      "int8 operands with a scale per 16x16 block (block-wise dynamic range), "
      "int32 accumulate, fp16 intermediates",
      Format::kInt8, Granularity::kBlock, 16, Format::kInt32, Format::kFp16));
  Recipe emu = IntRecipe(
      "int16-emu",
      "int16 operands emulated on the int8 cube (4 Mmads per product), int32 "
      "accumulate per piece, fp32 intermediates",
      Format::kInt16, Granularity::kTensor, 0, Format::kInt32, Format::kFp32);
  emu.int16 = Int16Cube::kEmulated;
  // fp32 results: the dequant runs with a full fp32 scale (the 10-bit FIXPIPE
  // scale would cost 2^-11 relative, more than int16's resolution).
  emu.scale_mantissa_bits = 23;
  all.push_back(emu);
  Recipe native = IntRecipe(
      "int16-acc64",
      "hypothetical int16 cube with a 64-bit accumulator, fp32 intermediates",
      Format::kInt16, Granularity::kTensor, 0, Format::kInt64, Format::kFp32);
  native.int16 = Int16Cube::kNative;
  native.scale_mantissa_bits = 23;
  all.push_back(native);
  // The published pto-kernels tri_inv_rec_unroll formats (v0.1.2,
  // run_tri_inv_rec_unroll: half input and L1/L0 tiles, float L0C and
  // output): fp16 in and intermediates, fp32 accumulate, fp32 out.
  Recipe pto = FloatRecipe("pto-fp16",
                           "pto-kernels tri_inv_rec_unroll formats: fp16 "
                           "input and intermediates, fp32 accumulate, fp32 "
                           "output",
                           Format::kFp16, Format::kFp16);
  pto.output = Format::kFp32;
  all.push_back(pto);
  // The Triton solve_tril on Ascend as the papers' harness runs it
  // (sgl-kernel-npu fla/solve_tril.py; KERNELS.md section 5): fp16 A, fp32
  // substitution, ieee fp32 dots, fp32 intermediates (Ad) and output.
  Recipe triton = FloatRecipe("triton-ascend-fp16",
                              "Triton solve_tril on Ascend: fp16 input, fp32 "
                              "operands, intermediates and output",
                              Format::kFp32, Format::kFp32);
  triton.input = Format::kFp16;
  all.push_back(triton);
  // tilelang solve_tril (opt_gdn_solve_tril.py): dtype = float16 for A, O
  // and the cube operands, accum_dtype float for the vector tiles and L0C.
  Recipe tilelang = FloatRecipe("tilelang-fp16",
                                "tilelang solve_tril: fp16 A, operands and "
                                "output, fp32 vector tiles and accumulate",
                                Format::kFp16, Format::kFp16);
  all.push_back(tilelang);
  // Whole-layer recipes (layer fields; sim/gdn_layer.h).
  for (const Format dtype : {Format::kBf16, Format::kFp16, Format::kFp32}) {
    all.push_back(GpuLayerRecipe(dtype));
  }
  for (const Format dtype : {Format::kFp16, Format::kBf16}) {
    all.push_back(AscendLayerRecipe(dtype));
  }
  return all;
}

// A value against its field's declared range (integers, operand_scale's
// block); other types have no range.
template <class T>
void CheckRange(const T&, const FieldInfo&, const std::string&) {}
void CheckRange(int v, const FieldInfo& f, const std::string& what) {
  if (v < f.min || v > f.max) {
    throw InputError(what + ": " + std::to_string(v) + " is out of range [" +
                     std::to_string(f.min) + ", " + std::to_string(f.max) +
                     "]");
  }
}
void CheckRange(const quant::ScaleGrid& v, const FieldInfo& f,
                const std::string& what) {
  if (v.granularity == quant::Granularity::kBlock &&
      (v.block < f.min || v.block > f.max)) {
    throw InputError(what + ": block:" + std::to_string(v.block) +
                     ": block size out of range [" + std::to_string(f.min) +
                     ", " + std::to_string(f.max) + "]");
  }
}

bool IsVectorFormat(Format f) {
  return f == Format::kFp16 || f == Format::kFp32;
}

}  // namespace

const std::vector<Recipe>& BuiltinRecipes() {
  static const std::vector<Recipe> kBuiltins = MakeBuiltins();
  return kBuiltins;
}

void ValidateRecipe(const Recipe& r, const std::string& origin) {
  if (r.exact) return;
  auto fail = [&](const std::string& key, const std::string& why) {
    throw InputError("recipe " + origin + ": " + key + ": " + why);
  };
  if (!quant::IsFloat(r.input)) fail("input", "must be a float format");
  if (!quant::IsFloat(r.storage) && r.storage != Format::kInt8 &&
      r.storage != Format::kInt16) {
    fail("storage", "must be a float format, int8 or int16");
  }
  if (!quant::IsFloat(r.storage) && quant::IsFloat(r.operand)) {
    fail("storage", "integer intermediates need integer cube operands");
  }
  if (!quant::IsFloat(r.output)) fail("output", "must be a float format");
  if (!IsVectorFormat(r.vector)) {
    fail("vector", std::string("the vector unit computes in fp16 or fp32, "
                               "not ") +
                       quant::FormatName(r.vector));
  }
  const Format op = r.operand;
  const bool int_operand = !quant::IsFloat(op);
  if (int_operand) {
    if (op != Format::kInt4 && op != Format::kInt8 && op != Format::kInt16) {
      fail("operand", std::string("integer cube operands are int4, int8 or "
                                  "int16, not ") +
                          quant::FormatName(op));
    }
    if (r.accumulator != Format::kInt32 && r.accumulator != Format::kInt48 &&
        r.accumulator != Format::kInt64) {
      fail("accumulator",
           "integer operands accumulate in int32, int48 or int64");
    }
    if (op == Format::kInt16 && r.int16 == Int16Cube::kEmulated &&
        r.accumulator != Format::kInt32) {
      fail("accumulator",
           "emulated int16 runs on the int8 cube, whose "
           "accumulator is int32");
    }
    if (r.operand_scale.granularity != Granularity::kTensor &&
        r.operand_scale.granularity != Granularity::kBlock) {
      fail("operand_scale", "integer operands take a tensor or block:b scale");
    }
  } else {
    if (op == Format::kFp8E4M3 || op == Format::kFp8E5M2) {
      fail("operand", "fp8 cube operands are not modelled");
    }
    if (r.accumulator != Format::kFp32) {
      fail("accumulator", "float operands accumulate in fp32");
    }
  }
  if (r.operand_split != quant::OperandSplit::kNone &&
      r.operand != quant::GetSplitInfo(r.operand_split).part) {
    fail("operand_split",
         std::string(quant::OperandSplitName(r.operand_split)) +
             " splits into " +
             quant::FormatName(quant::GetSplitInfo(r.operand_split).part) +
             " parts: set operand = \"" +
             quant::FormatName(quant::GetSplitInfo(r.operand_split).part) +
             "\"");
  }
  if (r.layer.enabled) {
    if (r.IntegerOperands()) {
      fail("layer", "the layer simulation needs float cube operands");
    }
    const std::pair<const char*, Format> layer_formats[] = {
        {"layer_inputs", r.layer.inputs},
        {"layer_gate", r.layer.gate},
        {"layer_operand", r.layer.operand},
        {"layer_wu", r.layer.wu},
        {"layer_vn", r.layer.vn},
        {"layer_state", r.layer.state},
        {"layer_o", r.layer.o}};
    for (const auto& [key, format] : layer_formats) {
      if (!quant::IsFloat(format) || format == Format::kFp8E4M3 ||
          format == Format::kFp8E5M2) {
        fail(key, std::string("must be fp32, hf32, bf16 or fp16, not ") +
                      quant::FormatName(format));
      }
    }
  }
  // Per-field ranges, from the field list.
  r.ForEach([&](const auto& value, const FieldInfo& f) {
    CheckRange(value, f, "recipe " + origin + ": " + f.key);
  });
}

namespace {

// ---- Per-type codecs: how each field type is written and read. ----------
// Encode: the value as written (TOML, manifest JSON). Decode: from the text,
// boolean or integer a file holds (`what` names file, line and key in
// errors). Allowed: the accepted values, for help. CheckRange: a decoded or
// built-in value against the field's declared range.

FieldValue Encode(const std::string& v) { return v; }
FieldValue Encode(bool v) { return v; }
FieldValue Encode(int v) { return int64_t{v}; }
FieldValue Encode(quant::Format v) { return quant::FormatName(v); }
FieldValue Encode(const quant::ScaleGrid& v) { return quant::ScaleGridName(v); }
FieldValue Encode(quant::RoundingMode v) { return quant::RoundingModeName(v); }
FieldValue Encode(Int16Cube v) { return NameOf(kInt16CubeNames, v); }
FieldValue Encode(AccumulationOrder v) {
  return NameOf(kAccumulationOrderNames, v);
}
FieldValue Encode(quant::IntOverflow v) {
  return NameOf(quant::kIntOverflowNames, v);
}
FieldValue Encode(quant::OperandSplit v) { return quant::OperandSplitName(v); }
FieldValue Encode(LayerExp v) { return NameOf(kLayerExpNames, v); }
void Decode(const FieldValue& v, const FieldInfo&, const std::string& what,
            LayerExp& out);
FieldValue Encode(quant::FloatOverflow v) {
  return NameOf(quant::kFloatOverflowNames, v);
}

const std::string& Text(const FieldValue& v, const std::string& what) {
  if (const auto* text = std::get_if<std::string>(&v)) return *text;
  throw InputError(what + ": expected a string");
}

void Decode(const FieldValue& v, const FieldInfo&, const std::string& what,
            std::string& out) {
  out = Text(v, what);
}
void Decode(const FieldValue& v, const FieldInfo&, const std::string& what,
            bool& out) {
  if (const auto* b = std::get_if<bool>(&v)) {
    out = *b;
    return;
  }
  throw InputError(what + ": expected true or false");
}
void Decode(const FieldValue& v, const FieldInfo& f, const std::string& what,
            int& out) {
  const auto* i = std::get_if<int64_t>(&v);
  if (i == nullptr) throw InputError(what + ": expected an integer");
  // Range first: the int64 a file holds is never narrowed unchecked.
  if (*i < f.min || *i > f.max) {
    throw InputError(what + ": " + std::to_string(*i) + " is out of range [" +
                     std::to_string(f.min) + ", " + std::to_string(f.max) +
                     "]");
  }
  out = static_cast<int>(*i);
}
void Decode(const FieldValue& v, const FieldInfo&, const std::string& what,
            quant::Format& out) {
  out = quant::ParseFormat(Text(v, what), what);
}
void Decode(const FieldValue& v, const FieldInfo& f, const std::string& what,
            quant::ScaleGrid& out) {
  const std::string& text = Text(v, what);
  const quant::ScaleGrid grid = quant::ParseScaleGrid(text, what);
  CheckRange(grid, f, what);
  out = grid;
}
void Decode(const FieldValue& v, const FieldInfo&, const std::string& what,
            quant::RoundingMode& out) {
  out = quant::ParseRoundingMode(Text(v, what), what);
}
void Decode(const FieldValue& v, const FieldInfo&, const std::string& what,
            Int16Cube& out) {
  out = ParseName(kInt16CubeNames, Text(v, what), what);
}
void Decode(const FieldValue& v, const FieldInfo&, const std::string& what,
            AccumulationOrder& out) {
  out = ParseName(kAccumulationOrderNames, Text(v, what), what);
}
void Decode(const FieldValue& v, const FieldInfo&, const std::string& what,
            quant::IntOverflow& out) {
  out = ParseName(quant::kIntOverflowNames, Text(v, what), what);
}
void Decode(const FieldValue& v, const FieldInfo&, const std::string& what,
            quant::OperandSplit& out) {
  out = ParseName(quant::kOperandSplitNames, Text(v, what), what);
}
void Decode(const FieldValue& v, const FieldInfo&, const std::string& what,
            LayerExp& out) {
  out = ParseName(kLayerExpNames, Text(v, what), what);
}
void Decode(const FieldValue& v, const FieldInfo&, const std::string& what,
            quant::FloatOverflow& out) {
  out = ParseName(quant::kFloatOverflowNames, Text(v, what), what);
}

std::string Allowed(const std::string&, const FieldInfo&) { return "text"; }
std::string Allowed(bool, const FieldInfo&) { return "true | false"; }
std::string Allowed(int, const FieldInfo& f) {
  return std::to_string(f.min) + ".." + std::to_string(f.max);
}
std::string Allowed(quant::Format, const FieldInfo&) {
  return quant::AllFormatNames();
}
std::string Allowed(const quant::ScaleGrid&, const FieldInfo& f) {
  return "none | tensor | row | col | block:b (b in " + std::to_string(f.min) +
         ".." + std::to_string(f.max) + ")";
}
std::string Allowed(quant::RoundingMode, const FieldInfo&) {
  return quant::AllRoundingModeNames();
}
std::string Allowed(LayerExp, const FieldInfo&) {
  return AllNames(kLayerExpNames, " | ");
}
std::string Allowed(Int16Cube, const FieldInfo&) {
  return AllNames(kInt16CubeNames, " | ");
}
std::string Allowed(AccumulationOrder, const FieldInfo&) {
  return AllNames(kAccumulationOrderNames, " | ");
}
std::string Allowed(quant::IntOverflow, const FieldInfo&) {
  return AllNames(quant::kIntOverflowNames, " | ");
}
std::string Allowed(quant::OperandSplit, const FieldInfo&) {
  return AllNames(quant::kOperandSplitNames, " | ");
}
std::string Allowed(quant::FloatOverflow, const FieldInfo&) {
  return AllNames(quant::kFloatOverflowNames, " | ");
}

// Whether this field is written, given the recipe's `exact`; `stop` is set
// once the rest is not written (an exact recipe's settings).
bool Written(const FieldInfo& f, bool exact, bool manifest) {
  switch (f.role) {
    case FieldRole::kLabel:
      return true;
    case FieldRole::kNote:
      return !manifest;
    case FieldRole::kExact:
      return manifest || exact;
    case FieldRole::kSetting:
      return !exact;
  }
  return false;
}

// A TOML value as FieldValue; tables, arrays, floats and dates are errors.
FieldValue FromToml(const toml::node& node, const std::string& what) {
  if (auto s = node.value_exact<std::string>()) return *s;
  if (auto b = node.value_exact<bool>()) return *b;
  if (auto i = node.value_exact<int64_t>()) return *i;
  std::ostringstream type;
  type << node.type();
  throw InputError(what + ": expected a string, integer or boolean, got " +
                   type.str());
}

bool IsPath(const std::string& name_or_path) {
  return name_or_path.find('/') != std::string::npos ||
         (name_or_path.size() > 5 &&
          name_or_path.substr(name_or_path.size() - 5) == ".toml");
}

Recipe LoadRecipeChain(const std::string& name_or_path,
                       std::vector<std::string>& chain);

// `chain`: the files being read, outermost first (cycle detection).
Recipe ParseRecipeChain(const std::string& text, const std::string& origin,
                        std::vector<std::string>& chain) {
  CheckTomlText(text, "recipe " + origin);
  toml::table table;
  try {
    table = toml::parse(text, origin);
  } catch (const toml::parse_error& e) {
    throw InputError("recipe " + origin + ": line " +
                     std::to_string(e.source().begin.line) + ": " +
                     std::string(e.description()));
  }
  if (table.empty()) {
    throw InputError("recipe " + origin +
                     ": sets no keys (start from a built-in with "
                     "base = \"NAME\"; keys: `trisim recipes --fields`)");
  }
  auto where = [&](const std::string& key, const toml::node& node) {
    return "recipe " + origin + ": line " +
           std::to_string(node.source().begin.line) + ": key '" + key + "'";
  };
  Recipe r;
  // `base` starts from a built-in or another file; every other key
  // overrides one field.
  if (const toml::node* base = table.get("base")) {
    const std::string what = where("base", *base);
    const auto name = base->value_exact<std::string>();
    if (!name) {
      throw InputError(what +
                       ": expected a string (a built-in recipe name "
                       "or a .toml path)");
    }
    std::string target = *name;
    if (IsPath(target) && std::filesystem::path(target).is_relative()) {
      target = (std::filesystem::path(origin).parent_path() / target).string();
    }
    try {
      r = LoadRecipeChain(target, chain);
    } catch (const InputError& e) {
      throw InputError(what + ": " + e.what());
    }
  }
  r.name = origin;
  bool sets_settings = false;
  for (const auto& entry : table) {
    // Not a structured binding: the lambdas below capture `node`, which
    // C++17 (and clang 14) does not allow for a binding.
    const toml::node& node = entry.second;
    const std::string key(entry.first.str());
    if (key == "base") continue;
    const std::string what = where(key, node);
    bool known = false;
    r.ForEach([&](auto& value, const FieldInfo& f) {
      if (key != f.key) return;
      known = true;
      Decode(FromToml(node, what), f, what, value);
      if (f.role == FieldRole::kSetting) sets_settings = true;
    });
    if (!known) {
      std::string keys = "base";
      r.ForEach([&](const auto&, const FieldInfo& f) {
        keys += std::string(", ") + f.key;
      });
      throw InputError(what + ": unknown key (known: " + keys + ")");
    }
  }
  // An exact recipe ignores its settings: refuse rather than drop them.
  if (r.exact && sets_settings) {
    throw InputError("recipe " + origin +
                     ": exact (fp64, no rounding, e.g. base = \"fp64\") "
                     "ignores format keys; set exact = false to use them, or "
                     "set only name and description");
  }
  ValidateRecipe(r, origin);
  return r;
}

Recipe LoadRecipeChain(const std::string& name_or_path,
                       std::vector<std::string>& chain) {
  for (const Recipe& r : BuiltinRecipes()) {
    if (r.name == name_or_path) return r;
  }
  if (!IsPath(name_or_path)) {
    std::string known;
    for (const Recipe& r : BuiltinRecipes()) {
      known += (known.empty() ? "" : ", ") + r.name;
    }
    throw InputError("--precision " + name_or_path +
                     ": unknown recipe (built in: " + known +
                     "; or a path to a .toml file)");
  }
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_regular_file(name_or_path, ec)) {
    throw InputError("--precision: cannot read recipe file '" + name_or_path +
                     "'" +
                     (fs::exists(name_or_path, ec) ? " (not a regular file)"
                                                   : " (no such file)"));
  }
  const std::string id = fs::weakly_canonical(name_or_path, ec).string();
  if (std::find(chain.begin(), chain.end(), id) != chain.end()) {
    std::string cycle;
    for (const std::string& file : chain) cycle += file + " -> ";
    throw InputError("recipe " + name_or_path + ": base cycle: " + cycle + id);
  }
  std::ifstream in(name_or_path);
  std::stringstream text;
  text << in.rdbuf();
  if (!in) {
    throw InputError("--precision: cannot read recipe file '" + name_or_path +
                     "'");
  }
  chain.push_back(id);
  Recipe r = ParseRecipeChain(text.str(), name_or_path, chain);
  chain.pop_back();
  return r;
}

// TOML text of one value.
std::string TomlText(const FieldValue& v) {
  if (const auto* b = std::get_if<bool>(&v)) return *b ? "true" : "false";
  if (const auto* i = std::get_if<int64_t>(&v)) return std::to_string(*i);
  return "\"" + std::get<std::string>(v) + "\"";
}

}  // namespace

std::string Recipe::OperandName() const {
  if (operand_split != quant::OperandSplit::kNone) {
    return quant::OperandSplitName(operand_split);
  }
  return quant::FormatName(operand);
}

std::string Recipe::ToToml() const {
  std::ostringstream os;
  ForEach([&](const auto& value, const FieldInfo& f) {
    if (Written(f, exact, /*manifest=*/false)) {
      os << f.key << " = " << TomlText(Encode(value)) << "\n";
    }
  });
  return os.str();
}

std::vector<std::pair<std::string, FieldValue>> RecipeFieldValues(
    const Recipe& recipe) {
  std::vector<std::pair<std::string, FieldValue>> values;
  recipe.ForEach([&](const auto& value, const FieldInfo& f) {
    if (Written(f, recipe.exact, /*manifest=*/true)) {
      values.emplace_back(f.key, Encode(value));
    }
  });
  return values;
}

std::string RecipeFieldsHelp() {
  std::ostringstream os;
  os << "Recipe file keys (TOML). `base = \"NAME\"` (a built-in or a .toml "
        "path,\nrelative to the file) starts from that recipe; every other "
        "key overrides\none field. Defaults are those of a recipe without "
        "base.\n";
  const Recipe defaults;
  defaults.ForEach([&](const auto& value, const FieldInfo& f) {
    os << "\n  " << f.key << " = " << TomlText(Encode(value)) << "\n      "
       << f.doc << "\n      allowed: " << Allowed(value, f) << "\n";
  });
  return os.str();
}

Recipe ParseRecipeToml(const std::string& text, const std::string& origin) {
  std::vector<std::string> chain;
  std::error_code ec;
  if (std::filesystem::is_regular_file(origin, ec)) {
    chain.push_back(std::filesystem::weakly_canonical(origin, ec).string());
  }
  return ParseRecipeChain(text, origin, chain);
}

Recipe LoadRecipe(const std::string& name_or_path) {
  std::vector<std::string> chain;
  return LoadRecipeChain(name_or_path, chain);
}

}  // namespace trisim
