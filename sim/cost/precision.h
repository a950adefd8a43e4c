// Precision as far as the cost model is concerned (sim/COST_MODEL.md
// section 2): what a recipe (sim/recipe.h) means for fractals, Mmads per
// product, bytes per element on each path and FIXPIPE passes.
#pragma once

#include <string>
#include <vector>

#include "sim/recipe.h"

namespace trisim {

// Operand class of the cube: selects the fractal (profile [cube]) and how
// many Mmads one product takes.
enum class CubeDataType {
  kFp16,           // fp16 and bf16: 16x16x16
  kFp32,           // 16x16x4
  kHf32,           // fp32 with mantissa rounded to 10 bits: 16x16x8
  kInt8,           // 16x16x32, int32 accumulator
  kInt4,           // 16x16x64 (no recipe uses it yet)
  kInt16Emulated,  // int16 split into int8 halves: 4 int8 Mmads per product
  kInt16Native,    // hypothetical int16 cube (profile fractal_int16)
};
const char* CubeDataTypeName(CubeDataType operand);

struct PipelinePrecision {
  std::string recipe;
  CubeDataType cube = CubeDataType::kFp16;
  double input_bytes = 2;        // L as it arrives in GM
  double operand_bytes = 2;      // a cube operand element in L1/L0A/L0B
  int mmads_per_product = 1;     // int16 emulation: 4
  int k_group = 0;               // >0: per-block scales, one Mmad and one
                                 // FIXPIPE pass per k group of this width
  int accumulator_bytes = 4;     // an L0C element
  double fixpipe_out_bytes = 2;  // an intermediate leaving L0C
  bool fixpipe_quantises =
      false;  // requantises on the way out (FIX quant path)
  int fixpipe_passes =
      1;  // partial accumulators per output (int16 emulation: 3)
  double vector_bytes = 2;  // an element on the vector unit
  double output_bytes = 4;  // X written to GM (the benchmark's "fp32 out")
};

// The cost-relevant facts of a precision recipe (sim/recipe.h), derived
// from its fields; fp64 is priced as fp32.
PipelinePrecision PipelinePrecisionFor(const Recipe& recipe);
// The same for a built-in name or a recipe file (LoadRecipe).
PipelinePrecision PipelinePrecisionFor(const std::string& recipe_name);
std::vector<std::string> CostPrecisions();

}  // namespace trisim
