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
//  operand_split  none, or tf32x3 / bf16x3 (quant/split.h): each fp32
//              operand value is carried as hi + lo parts of `operand` (tf32 /
//              bf16) and a product term is three part products summed in
//              the fp32 accumulator (sim/cube.h).
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
// The field list (Recipe::ForEach below) is the one place a field is
// declared: its TOML key, type, allowed values, default and one-line doc.
// TOML read (ParseRecipeToml) and write (ToToml), the stage manifest's
// "recipe" object (RecipeFieldValues), `trisim recipes --show` and
// `trisim recipes --fields` (RecipeFieldsHelp), unknown-key rejection and the
// per-field checks all walk it.
//
// To add a field:
//   1. add the member (with its default) to Recipe below;
//   2. add one line `v(r.member, {"key", "one-line doc"});` to ForEach at the
//      position it should be written in (integers: `{..., min, max}` range);
//      a new enum type also needs one name table (core/names.h) and one
//      Encode/Decode overload pair in recipe.cc;
//   3. use it (executor, cube, cost model). Cross-field rules, if any, go in
//      ValidateRecipe.
//
// The GDN layer around T (sim/gdn_layer.h; ../shared/docs/DOMAIN.md section
// 1). A recipe with layer = false computes the layer exactly in fp64 around
// the simulated T (the inverse's own share of the error); layer = true
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

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "core/names.h"
#include "quant/format.h"
#include "quant/round.h"
#include "quant/scale.h"
#include "quant/split.h"

namespace trisim {

enum class AccumulationOrder { kSequential, kFractal };
inline constexpr EnumName<AccumulationOrder> kAccumulationOrderNames[] = {
    {AccumulationOrder::kSequential, "sequential"},
    {AccumulationOrder::kFractal, "fractal"}};
enum class Int16Cube { kEmulated, kNative };
enum class LayerExp { kDifference, kFactored };
inline constexpr EnumName<LayerExp> kLayerExpNames[] = {
    {LayerExp::kDifference, "difference"}, {LayerExp::kFactored, "factored"}};

// The layer fields (see above).
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
inline constexpr EnumName<Int16Cube> kInt16CubeNames[] = {
    {Int16Cube::kEmulated, "emulated"}, {Int16Cube::kNative, "native"}};

// How a field appears in the written forms (TOML, manifest JSON).
enum class FieldRole {
  kLabel,    // name: TOML and manifest
  kNote,     // description: TOML only (no effect on the numerics)
  kExact,    // exact: written when true, and then the settings are not
  kSetting,  // the numerics: written unless exact
};

// One field's declaration in the field list.
struct FieldInfo {
  const char* key;  // TOML key, manifest key
  const char* doc;  // one line, for `trisim recipes --fields`
  // Integers: the allowed range; for operand_scale, the block size's.
  int64_t min = 0, max = 0;
  FieldRole role = FieldRole::kSetting;
};

// A field's value as written: a TOML/JSON string, boolean or integer.
using FieldValue = std::variant<bool, int64_t, std::string>;

struct Recipe {
  std::string name;
  std::string description;
  // fp64: the reference, no rounding anywhere (formats below unused).
  bool exact = false;
  quant::Format input = quant::Format::kFp16;
  quant::Format operand = quant::Format::kFp16;
  quant::OperandSplit operand_split = quant::OperandSplit::kNone;
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

  // The field list: calls v(member, FieldInfo) for every field, in the order
  // they are written. What each field means for the executor:
  // sim/executor.h and sim/cube.h.
  template <class Visitor>
  void ForEach(Visitor&& v) {
    ForEachField(*this, v);
  }
  template <class Visitor>
  void ForEach(Visitor&& v) const {
    ForEachField(*this, v);
  }

  bool IntegerOperands() const { return !quant::IsFloat(operand); }
  // For reports: the split's name, or the operand format's.
  std::string OperandName() const;
  // One line per field, "key = value", in TOML syntax.
  std::string ToToml() const;

 private:
  template <class Self, class Visitor>
  static void ForEachField(Self& r, Visitor& v) {
    using R = FieldRole;
    v(r.name,
      {"name", "recipe name (a file's defaults to its path)", 0, 0, R::kLabel});
    v(r.description,
      {"description", "one line for `trisim recipes`", 0, 0, R::kNote});
    v(r.exact,
      {"exact",
       "fp64 reference: no rounding anywhere; the other fields are unused", 0,
       0, R::kExact});
    v(r.input, {"input",
                "A (= L) as the kernel receives it: the fp64 input is rounded "
                "to it once (a float format)"});
    // Integer operands are quantised per operand view with a symmetric fp32
    // scale from amax (quant/scale.h); the block is bounded by the largest
    // chunk (1024); whether it fits a plan is checked with the plan.
    v(r.operand, {"operand",
                  "cube operand format: floats are rounded to it, "
                  "int4/int8/int16 quantised per operand_scale"});
    // Split operands (quant/split.h): the part format is `operand`.
    v(r.operand_split,
      {"operand_split",
       "fp32 operands as hi + lo parts, 3 part products per term: none | "
       "tf32x3 (operand tf32) | bf16x3 (operand bf16)"});
    v(r.operand_scale,
      {"operand_scale", "integer operands' scale granularity: tensor | block:b",
       1, 1024});
    // Emulated: each value split into two balanced int8 pieces, 4 int8
    // Mmads per product, recombined exactly.
    v(r.int16, {"int16",
                "int16 operands on the int8 cube (emulated) or a hypothetical "
                "int16 cube (native)"});
    v(r.accumulator,
      {"accumulator",
       "fp32 for float operands; int32, int48 or int64 for integer ones"});
    v(r.order, {"order", "fp32 accumulation order (sim/cube.h)"});
    // Integer results leave the accumulator through a dequant scale
    // (FIXPIPE int32 -> fp16/fp32), or with int8/int16 storage are
    // requantised with a per-group scale (sim/executor.h).
    v(r.storage, {"storage",
                  "format of every intermediate buffer and of X before output "
                  "(a float, or int8/int16 with integer operands)"});
    v(r.vector, {"vector",
                 "vector-unit precision (fp16 | fp32): every multiply and add "
                 "rounds to it"});
    v(r.output, {"output", "format X is written in (a float format)"});
    // The device's FIXPIPE rounding is not public (DOMAIN.md).
    v(r.rounding, {"rounding", "every float rounding and quantisation"});
    v(r.accumulator_overflow,
      {"accumulator_overflow", "integer accumulator out of range"});
    v(r.float_overflow,
      {"float_overflow", "ieee (to inf) | saturate (to max finite)"});
    // The Ascend FIXPIPE keeps 10: 1 sign, 8 exponent, 10 mantissa (NPU.md).
    v(r.scale_mantissa_bits,
      {"scale_mantissa_bits", "fraction bits the dequant scale keeps", 0, 23});
    // The GDN layer around T (sim/gdn_layer.h lists every rounding).
    v(r.layer.enabled,
      {"layer",
       "simulate the whole GDN chunk in the layer_* formats (false: exact "
       "fp64 layer around the simulated T)"});
    v(r.layer.inputs, {"layer_inputs", "q, k, v as the kernel receives them"});
    v(r.layer.gate,
      {"layer_gate", "beta, g, the cumulative gate G and every exp factor"});
    v(r.layer.operand,
      {"layer_operand", "cube operand format of the layer matmuls"});
    v(r.layer.wu, {"layer_wu", "W and U as stored"});
    v(r.layer.vn, {"layer_vn", "Vn = U - W S as stored"});
    v(r.layer.state, {"layer_state", "the state carried between chunks"});
    v(r.layer.o, {"layer_o", "O as written"});
    v(r.layer.exp,
      {"layer_exp",
       "difference: exp(G_i - G_j) per entry after the matmul (FLA); "
       "factored: exp(G_i), exp(-G_j) on the operands (can overflow)"});
  }
};

const char* AccumulationOrderName(AccumulationOrder order);

// The built-in recipes, in listing order.
const std::vector<Recipe>& BuiltinRecipes();

// A built-in name, or a path to a TOML file (anything containing '/' or
// ending in .toml). Throws InputError naming the recipe, and for files the
// key and line of the problem.
Recipe LoadRecipe(const std::string& name_or_path);

// Parses TOML text (`origin` names it in errors; a relative `base` path is
// resolved against origin's directory).
//  - `base = "NAME"` (a built-in or another file) starts from that recipe;
//    every other key overrides one field. A base chain that returns to a
//    file already in it is an error.
//  - An exact recipe (exact = true, e.g. base = "fp64") takes only name and
//    description: format keys would be ignored, so they are an error unless
//    the file also sets exact = false (then the formats are its own).
//  - Unknown keys, wrong types and out-of-range values are errors naming the
//    file, line, key, value and what is allowed.
Recipe ParseRecipeToml(const std::string& text, const std::string& origin);

// Throws InputError if the fields do not fit together (e.g. a vector unit in
// int8, int8 operands with an fp32 accumulator).
void ValidateRecipe(const Recipe& recipe, const std::string& origin);

// The manifest's "recipe" object: (key, value) in field-list order (name,
// exact, then the settings unless exact).
std::vector<std::pair<std::string, FieldValue>> RecipeFieldValues(
    const Recipe& recipe);

// A table of every field: key, allowed values, default, doc.
std::string RecipeFieldsHelp();

}  // namespace trisim
