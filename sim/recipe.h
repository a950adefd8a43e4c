// Precision recipes: how a kernel stores, multiplies, accumulates and rounds.
// A recipe plus a plan determines the device result bit for bit
// (../shared/docs/DOMAIN.md section 3). Built-ins are listed by
// `trisim recipes`; users load their own from TOML (README "Recipes").
//
// What each field means for the executor (sim/executor.h):
//  input       A (= L) as the kernel receives it: the fp64 input is rounded
//              to it once. A float format.
//  operand     cube operand format. Float operands: every operand element is
//              rounded to it (exact when the storage format is narrower).
//              Integer operands (int4/int8/int16): quantised per operand view
//              with a symmetric fp32 scale from amax (quant/scale.h),
//              granularity `operand_scale`.
//  int16       int16 operands on an int8 cube (emulated: each value split into
//              two balanced int8 pieces, 4 int8 Mmads per product, recombined
//              exactly) or on a hypothetical int16 cube (native).
//  accumulator fp32 for float operands; int32/int48/int64 for integers.
//  order       fp32 accumulation order (sim/cube.h): sequential | fractal.
//  storage     format of every intermediate buffer and of X before output.
//              A float format (integer results then leave the accumulator
//              through a dequant scale, FIXPIPE int32 -> fp16/fp32), or, with
//              integer operands, int8/int16: results are requantised with a
//              per-group scale (FIXPIPE int32 -> int8/int16; sim/executor.h).
//  vector      precision of vector-unit steps (fp16 | fp32): every multiply
//              and add rounds to it, then the result rounds to `storage`.
//  output      format X is written in.
//  rounding    every float rounding and quantisation (default nearest-even;
//              the device's FIXPIPE rounding is not public, DOMAIN.md).
//  accumulator_overflow   integer accumulator out of range: wrap | saturate.
//  float_overflow         ieee (to inf) | saturate (to max finite).
//  scale_mantissa_bits    fraction bits the dequant scale keeps (the Ascend
//              FIXPIPE keeps 10: 1 sign, 8 exponent, 10 mantissa; NPU.md).
//
// The GDN layer around T (sim/gdn_layer.h; ../shared/docs/DOMAIN.md section
// 1). A recipe with no layer_* key computes the layer exactly in fp64 around
// the simulated T (the inverse's own share of the error); any layer_* key
// simulates the whole chunk. Then `input` is A as stored before the inverse
// and `output` is T as stored before W and U; the layer's cube products use
// the same accumulator, order and rounding as the inverse's.
//  layer_inputs   q, k, v as the kernel receives them.
//  layer_gate     beta, g, the cumulative gate G and every exp factor (the
//                 vector unit's gate arithmetic; fp32 in FLA).
//  layer_operand  cube operand format of the layer matmuls (bf16/fp16 for
//                 16-bit kernels; tf32/hf32 for fp32 ones).
//  layer_wu       W and U as stored.
//  layer_vn       Vn = U - W S as stored (the O matmul reads it).
//  layer_state    the state carried from chunk to chunk.
//  layer_o        O as written.
//  layer_exp      difference: A = (beta K K^T) (.) exp(G_i - G_j), the exp
//                 factor formed per entry after the matmul (FLA);
//                 factored: exp(G_i) and exp(-G_j) applied to the operands
//                 before one matmul (can overflow: exp(-G) > fp32 max once
//                 -G > 88.7).
#pragma once

#include <string>
#include <vector>

#include "quant/format.h"
#include "quant/round.h"
#include "quant/scale.h"

namespace trisim {

enum class AccumulationOrder { kSequential, kFractal };
enum class LayerExp { kDifference, kFactored };

// The layer_* fields (see above).
struct LayerFormats {
  bool enabled = false;
  quant::Format inputs = quant::Format::kBf16;
  quant::Format gate = quant::Format::kFp32;
  quant::Format operand = quant::Format::kBf16;
  quant::Format wu = quant::Format::kBf16;
  quant::Format vn = quant::Format::kBf16;
  quant::Format state = quant::Format::kFp32;
  quant::Format o = quant::Format::kBf16;
  LayerExp exp = LayerExp::kDifference;
};
enum class Int16Cube { kEmulated, kNative };

struct Recipe {
  std::string name;
  std::string description;
  // fp64: the reference, no rounding anywhere (formats below unused).
  bool exact = false;
  quant::Format input = quant::Format::kFp16;
  quant::Format operand = quant::Format::kFp16;
  quant::ScaleGrid operand_scale{quant::Granularity::kTensor, 0};
  Int16Cube int16 = Int16Cube::kEmulated;
  quant::Format accumulator = quant::Format::kFp32;
  AccumulationOrder order = AccumulationOrder::kFractal;
  quant::Format storage = quant::Format::kFp16;
  quant::Format vector = quant::Format::kFp32;
  quant::Format output = quant::Format::kFp16;
  quant::RoundingMode rounding = quant::RoundingMode::kNearestEven;
  quant::IntOverflow accumulator_overflow = quant::IntOverflow::kWrap;
  quant::FloatOverflow float_overflow = quant::FloatOverflow::kIeee;
  int scale_mantissa_bits = 10;
  LayerFormats layer;

  bool IntegerOperands() const { return !quant::IsFloat(operand); }
  // One line per field, "key = value", in TOML syntax.
  std::string ToToml() const;
};

const char* AccumulationOrderName(AccumulationOrder order);

// The built-in recipes, in listing order.
const std::vector<Recipe>& BuiltinRecipes();

// A built-in name, or a path to a TOML file (anything containing '/' or
// ending in .toml). Throws InputError naming the recipe, and for files the
// key and line of the problem.
Recipe LoadRecipe(const std::string& name_or_path);

// Parses TOML text (`origin` names it in errors).
Recipe ParseRecipeToml(const std::string& text, const std::string& origin);

// Throws InputError if the fields do not fit together (e.g. a vector unit in
// int8, int8 operands with an fp32 accumulator).
void ValidateRecipe(const Recipe& recipe, const std::string& origin);

}  // namespace trisim
