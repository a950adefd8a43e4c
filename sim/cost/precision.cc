#include "sim/cost/precision.h"

#include "core/status.h"
#include "quant/split.h"

namespace trisim {

// ---------------------------------------------------------------------------
// Precision recipes as the cost model sees them. The one place that maps a
// recipe name to pipeline facts; later derived from the quant recipe struct.

namespace {

double Bytes(quant::Format f) {
  return quant::GetFormatInfo(f).storage_bits / 8.0;
}

}  // namespace

PipelinePrecision PipelinePrecisionFor(const Recipe& recipe) {
  using quant::Format;
  PipelinePrecision p;
  p.recipe = recipe.name;
  if (recipe.exact) {
    // The cube has no fp64: the reference recipe is priced as fp32, the
    // closest a device kernel can get. Everything is 4 bytes.
    p.cube = CubeDataType::kFp32;
    p.input_bytes = p.operand_bytes = p.fixpipe_out_bytes = p.vector_bytes = 4;
    p.output_bytes = 4;
    return p;
  }
  p.input_bytes = Bytes(recipe.input);
  p.operand_bytes = Bytes(recipe.operand);
  p.output_bytes = Bytes(recipe.output);
  // Vector-side data is the stored intermediates (the unit computes in
  // `vector` precision, but moves and UB space follow the storage format).
  p.vector_bytes = Bytes(recipe.storage);
  p.fixpipe_out_bytes = Bytes(recipe.storage);
  switch (recipe.operand) {
    case Format::kFp32:
      p.cube = CubeDataType::kFp32;
      break;
    case Format::kHf32:
    case Format::kTf32:  // the same 19-bit operand, priced as hf32
      p.cube = CubeDataType::kHf32;
      break;
    case Format::kFp16:
    case Format::kBf16:
      p.cube = CubeDataType::kFp16;
      break;  // same fractal
    case Format::kInt8:
      p.cube = CubeDataType::kInt8;
      break;
    case Format::kInt4:
      p.cube = CubeDataType::kInt4;
      break;
    case Format::kInt16:
      if (recipe.int16 == Int16Cube::kEmulated) {
        // int16 on an int8 cube (NPU.md: Mmad takes no int16): 4 int8 Mmads
        // per product (schoolbook; Karatsuba's 3-Mmad form needs a 9-bit
        // operand hi + lo that no int8 Mmad takes). hi*hi, hi*lo + lo*hi and
        // lo*lo need different shifts: 3 accumulators, 3 FIXPIPE passes.
        p.cube = CubeDataType::kInt16Emulated;
        p.mmads_per_product = 4;
        p.fixpipe_passes = 3;
      } else {
        p.cube = CubeDataType::kInt16Native;  // profile fractal_int16
      }
      break;
    default:
      throw InputError("recipe " + recipe.name + ": operand " +
                       quant::FormatName(recipe.operand) +
                       " has no cube fractal in the cost model");
  }
  // Split operands (quant/split.h): three part Mmads per product term, all
  // accumulated in L0C (operand traffic for the lo parts is not priced).
  if (recipe.operand_split != quant::OperandSplit::kNone) {
    p.mmads_per_product = quant::kSplitProducts;
  }
  if (recipe.IntegerOperands()) {
    p.accumulator_bytes = recipe.accumulator == Format::kInt32 ? 4 : 8;
    // Integer intermediates feed the next matmul: priced as requantised to
    // the operand format on the way out of L0C (FIXPIPE's quant path, 64
    // B/cycle), the cheapest way a kernel gets them back to the cube. The
    // numeric model stores them in `storage` and quantises per use with a
    // scale from amax (sim/cube.h): same data, ideal scales.
    p.fixpipe_quantises = true;
    p.fixpipe_out_bytes = Bytes(recipe.operand);
    // Per-block scales: products of different k blocks carry different
    // scales, so each k block is its own Mmad and FIXPIPE pass.
    if (recipe.operand_scale.granularity == quant::Granularity::kBlock) {
      p.k_group = static_cast<int>(recipe.operand_scale.block);
    }
  }
  return p;
}

PipelinePrecision PipelinePrecisionFor(const std::string& recipe_name) {
  return PipelinePrecisionFor(LoadRecipe(recipe_name));
}

std::vector<std::string> CostPrecisions() {
  std::vector<std::string> names;
  for (const Recipe& r : BuiltinRecipes()) names.push_back(r.name);
  return names;
}

const char* CubeDataTypeName(CubeDataType operand) {
  switch (operand) {
    case CubeDataType::kFp16:
      return "fp16";
    case CubeDataType::kFp32:
      return "fp32";
    case CubeDataType::kHf32:
      return "hf32";
    case CubeDataType::kInt8:
      return "int8";
    case CubeDataType::kInt4:
      return "int4";
    case CubeDataType::kInt16Emulated:
      return "int16-emulated";
    case CubeDataType::kInt16Native:
      return "int16";
  }
  return "?";
}

}  // namespace trisim
