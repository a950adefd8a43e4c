#include "sim/recipe.h"

#include <toml++/toml.h>

#include <fstream>
#include <sstream>

#include "core/status.h"

namespace trisim {

using quant::Format;
using quant::Granularity;

const char* AccumulationOrderName(AccumulationOrder order) {
  return order == AccumulationOrder::kSequential ? "sequential" : "fractal";
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
// are modelled by hf32 (10-bit mantissa, the recipe's rounding, RNE) until the
// tf32 format (cvt.rna: ties away from zero) lands: they differ on ties only.
Recipe GpuLayerRecipe(Format dtype) {
  Recipe r;
  const std::string name = std::string("gpu-") + quant::FormatName(dtype);
  r.name = name;
  r.description = std::string("FLA GDN forward on an NVIDIA GPU, ") +
                  quant::FormatName(dtype) +
                  " q/k/v/T/W/U/O, fp32 gates/A/state, tf32 merges (use "
                  "with --method fla)";
  const Format op = dtype == Format::kFp32 ? Format::kHf32 : dtype;
  r.input = Format::kFp32;
  r.operand = Format::kHf32;
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
  // Whole-layer recipes (layer_* fields; sim/gdn_layer.h).
  for (const Format dtype : {Format::kBf16, Format::kFp16, Format::kFp32}) {
    all.push_back(GpuLayerRecipe(dtype));
  }
  for (const Format dtype : {Format::kFp16, Format::kBf16}) {
    all.push_back(AscendLayerRecipe(dtype));
  }
  return all;
}

std::vector<std::pair<std::string, Format>> LayerFormatFields(
    const LayerFormats& l) {
  return {{"layer_inputs", l.inputs},
          {"layer_gate", l.gate},
          {"layer_operand", l.operand},
          {"layer_wu", l.wu},
          {"layer_vn", l.vn},
          {"layer_state", l.state},
          {"layer_o", l.o}};
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
  if (r.scale_mantissa_bits < 0 || r.scale_mantissa_bits > 23) {
    fail("scale_mantissa_bits", "must be in [0, 23]");
  }
  if (r.layer.enabled) {
    if (r.IntegerOperands()) {
      fail("layer_*", "the layer simulation needs float cube operands");
    }
    for (const auto& [key, format] : LayerFormatFields(r.layer)) {
      if (!quant::IsFloat(format)) fail(key, "must be a float format");
      if (format == Format::kFp8E4M3 || format == Format::kFp8E5M2) {
        fail(key, "fp8 is not modelled in the layer");
      }
    }
  }
}

std::string Recipe::ToToml() const {
  std::ostringstream os;
  os << "name = \"" << name << "\"\n";
  os << "description = \"" << description << "\"\n";
  if (exact) {
    os << "exact = true\n";
    return os.str();
  }
  os << "input = \"" << quant::FormatName(input) << "\"\n";
  os << "operand = \"" << quant::FormatName(operand) << "\"\n";
  os << "operand_scale = \"" << quant::ScaleGridName(operand_scale) << "\"\n";
  os << "int16 = \"" << (int16 == Int16Cube::kEmulated ? "emulated" : "native")
     << "\"\n";
  os << "accumulator = \"" << quant::FormatName(accumulator) << "\"\n";
  os << "order = \"" << AccumulationOrderName(order) << "\"\n";
  os << "storage = \"" << quant::FormatName(storage) << "\"\n";
  os << "vector = \"" << quant::FormatName(vector) << "\"\n";
  os << "output = \"" << quant::FormatName(output) << "\"\n";
  os << "rounding = \"" << quant::RoundingModeName(rounding) << "\"\n";
  os << "accumulator_overflow = \""
     << (accumulator_overflow == quant::IntOverflow::kWrap ? "wrap"
                                                           : "saturate")
     << "\"\n";
  os << "float_overflow = \""
     << (float_overflow == quant::FloatOverflow::kIeee ? "ieee" : "saturate")
     << "\"\n";
  os << "scale_mantissa_bits = " << scale_mantissa_bits << "\n";
  if (layer.enabled) {
    for (const auto& [key, format] : LayerFormatFields(layer)) {
      os << key << " = \"" << quant::FormatName(format) << "\"\n";
    }
    os << "layer_exp = \""
       << (layer.exp == LayerExp::kDifference ? "difference" : "factored")
       << "\"\n";
  }
  return os.str();
}

Recipe ParseRecipeToml(const std::string& text, const std::string& origin) {
  toml::table table;
  try {
    table = toml::parse(text, origin);
  } catch (const toml::parse_error& e) {
    throw InputError("recipe " + origin + ": line " +
                     std::to_string(e.source().begin.line) + ": " +
                     std::string(e.description()));
  }
  Recipe r;
  // `base` starts from a built-in; every other key overrides one field.
  if (auto base = table["base"].value<std::string>()) {
    r = LoadRecipe(*base);
  }
  r.name = origin;
  for (const auto& [key_node, node] : table) {
    const std::string key(key_node.str());
    const std::string where = "recipe " + origin + ": line " +
                              std::to_string(node.source().begin.line) +
                              ": key '" + key + "'";
    auto text_value = [&]() -> std::string {
      if (auto v = node.value<std::string>()) return *v;
      throw InputError(where + ": expected a string");
    };
    // A two-way choice: true for `first`, false for `second`.
    auto choice = [&](const char* first, const char* second) -> bool {
      const std::string v = text_value();
      if (v != first && v != second) {
        throw InputError(where + ": expected " + first + " or " + second +
                         ", got '" + v + "'");
      }
      return v == first;
    };
    // The keys whose value is a number format.
    const std::pair<const char*, quant::Format*> format_keys[] = {
        {"input", &r.input},
        {"operand", &r.operand},
        {"accumulator", &r.accumulator},
        {"storage", &r.storage},
        {"vector", &r.vector},
        {"output", &r.output},
        {"layer_inputs", &r.layer.inputs},
        {"layer_gate", &r.layer.gate},
        {"layer_operand", &r.layer.operand},
        {"layer_wu", &r.layer.wu},
        {"layer_vn", &r.layer.vn},
        {"layer_state", &r.layer.state},
        {"layer_o", &r.layer.o}};
    quant::Format* format_field = nullptr;
    for (const auto& [name, field] : format_keys) {
      if (key == name) format_field = field;
    }
    // Any layer key switches the whole-layer simulation on.
    if (key.rfind("layer_", 0) == 0) r.layer.enabled = true;
    try {
      if (format_field != nullptr) {
        *format_field = quant::ParseFormat(text_value(), key);
      } else if (key == "base") {
        continue;
      } else if (key == "name") {
        r.name = text_value();
      } else if (key == "description") {
        r.description = text_value();
      } else if (key == "exact") {
        auto v = node.value<bool>();
        if (!v) throw InputError(where + ": expected true or false");
        r.exact = *v;
      } else if (key == "operand_scale") {
        r.operand_scale = quant::ParseScaleGrid(text_value(), key);
      } else if (key == "int16") {
        r.int16 = choice("emulated", "native") ? Int16Cube::kEmulated
                                               : Int16Cube::kNative;
      } else if (key == "order") {
        r.order = choice("sequential", "fractal")
                      ? AccumulationOrder::kSequential
                      : AccumulationOrder::kFractal;
      } else if (key == "rounding") {
        r.rounding = quant::ParseRoundingMode(text_value(), key);
      } else if (key == "accumulator_overflow") {
        r.accumulator_overflow = choice("wrap", "saturate")
                                     ? quant::IntOverflow::kWrap
                                     : quant::IntOverflow::kSaturate;
      } else if (key == "float_overflow") {
        r.float_overflow = choice("ieee", "saturate")
                               ? quant::FloatOverflow::kIeee
                               : quant::FloatOverflow::kSaturate;
      } else if (key == "layer_exp") {
        r.layer.exp = choice("difference", "factored") ? LayerExp::kDifference
                                                       : LayerExp::kFactored;
      } else if (key == "scale_mantissa_bits") {
        auto v = node.value<int64_t>();
        if (!v) throw InputError(where + ": expected an integer");
        r.scale_mantissa_bits = static_cast<int>(*v);
      } else {
        throw InputError(
            where +
            ": unknown key (known: base, name, description, "
            "exact, input, operand, operand_scale, int16, "
            "accumulator, order, storage, vector, output, rounding, "
            "accumulator_overflow, float_overflow, "
            "scale_mantissa_bits, layer_inputs, layer_gate, layer_operand, "
            "layer_wu, layer_vn, layer_state, layer_o, layer_exp)");
      }
    } catch (const InputError& e) {
      const std::string message = e.what();
      // Errors from the format/rounding parsers name only the key: add where.
      if (message.rfind("recipe ", 0) == 0) throw;
      throw InputError(where + ": " + message);
    }
  }
  ValidateRecipe(r, origin);
  return r;
}

Recipe LoadRecipe(const std::string& name_or_path) {
  for (const Recipe& r : BuiltinRecipes()) {
    if (r.name == name_or_path) return r;
  }
  const bool is_path =
      name_or_path.find('/') != std::string::npos ||
      (name_or_path.size() > 5 &&
       name_or_path.substr(name_or_path.size() - 5) == ".toml");
  if (!is_path) {
    std::string known;
    for (const Recipe& r : BuiltinRecipes()) {
      known += (known.empty() ? "" : ", ") + r.name;
    }
    throw InputError("--precision " + name_or_path +
                     ": unknown recipe (built in: " + known +
                     "; or a path to a .toml file)");
  }
  std::ifstream in(name_or_path);
  if (!in) {
    throw InputError("--precision: cannot read recipe file '" + name_or_path +
                     "'");
  }
  std::stringstream text;
  text << in.rdbuf();
  return ParseRecipeToml(text.str(), name_or_path);
}

}  // namespace trisim
