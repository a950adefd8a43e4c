// Cost model, precision (sim/cost/precision.h): what a recipe means for
// fractals, Mmads per product, bytes and FIXPIPE passes.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cstring>

#include "core/methods.h"
#include "core/status.h"
#include "sim/cost_model.h"
#include "tests/cost_test_helpers.h"

namespace trisim {
namespace {

using namespace cost_test;  // NOLINT: test helpers

TEST_CASE("precision: int16 emulation takes 4 int8 Mmads per product",
          "[sim][cost][precision]") {
  const Plan plan = ProductPlan(64, 1);
  const CostReport int8 = EstimateCost(plan, PipelinePrecisionFor("int8"),
                                       Chunks(1, 64), Default());
  const CostReport emu = EstimateCost(plan, PipelinePrecisionFor("int16-emu"),
                                      Chunks(1, 64), Default());
  CHECK(emu.steps[0].cycles[kM] == Approx(4 * int8.steps[0].cycles[kM]));
  // fp32 runs at a quarter of fp16's k per cycle: 16x16x4 vs 16x16x16.
  const CostReport fp16 = EstimateCost(plan, PipelinePrecisionFor("fp16"),
                                       Chunks(1, 64), Default());
  const CostReport fp32 = EstimateCost(plan, PipelinePrecisionFor("fp32"),
                                       Chunks(1, 64), Default());
  const double head = Default().mmad_start_cycles;
  CHECK(fp32.steps[0].cycles[kM] - head ==
        Approx(4 * (fp16.steps[0].cycles[kM] - head)));
  // Quantising FIXPIPE writes int8 at 64 B/cycle (NPU.md), the plain path
  // fp16 at 128 B/cycle: the same element rate.
  CHECK(int8.steps[0].cycles[kFix] > 0);
}

TEST_CASE("precision: recipe names", "[sim][cost][precision]") {
  for (const std::string& name : CostPrecisions()) {
    CHECK_NOTHROW(PipelinePrecisionFor(name));
  }
  CHECK_THROWS_AS(PipelinePrecisionFor("int3"), InputError);
  const PipelinePrecision fp64 = PipelinePrecisionFor("fp64");
  CHECK(fp64.cube == CubeDataType::kFp32);
  CHECK(fp64.operand_bytes == 4);
}

TEST_CASE("precision: byte counts follow the recipe's fields",
          "[sim][cost][precision]") {
  // COST_MODEL.md section 2: in = input, operand = operand, vector and
  // FIXPIPE out = storage (integer operands: requantised to the operand),
  // X = output.
  struct Row {
    const char* recipe;
    double in, operand, fix_out, vector, out;
    int accumulator;
  };
  const Row rows[] = {
      {"fp64", 4, 4, 4, 4, 4, 4},      {"fp32", 4, 4, 4, 4, 4, 4},
      {"hf32", 4, 4, 4, 4, 4, 4},      {"fp16", 2, 2, 2, 2, 2, 4},
      {"bf16", 2, 2, 2, 2, 2, 4},      {"fp16-acc32", 2, 2, 4, 4, 4, 4},
      {"int8", 2, 1, 1, 2, 2, 4},      {"int8-block16", 2, 1, 1, 2, 2, 4},
      {"int16-emu", 4, 2, 2, 4, 4, 4}, {"int16-acc64", 4, 2, 2, 4, 4, 8},
  };
  for (const Row& row : rows) {
    INFO(row.recipe);
    const PipelinePrecision p = PipelinePrecisionFor(row.recipe);
    CHECK(p.input_bytes == row.in);
    CHECK(p.operand_bytes == row.operand);
    CHECK(p.fixpipe_out_bytes == row.fix_out);
    CHECK(p.vector_bytes == row.vector);
    CHECK(p.output_bytes == row.out);
    CHECK(p.accumulator_bytes == row.accumulator);
  }
  CHECK(PipelinePrecisionFor("int8").fixpipe_quantises);
  CHECK_FALSE(PipelinePrecisionFor("fp16").fixpipe_quantises);
  CHECK(PipelinePrecisionFor("int8-block16").k_group == 16);
  CHECK(PipelinePrecisionFor("int16-emu").fixpipe_passes == 3);
  CHECK(PipelinePrecisionFor("int16-acc64").cube == CubeDataType::kInt16Native);
  // The output format is the recipe's: fp32 out costs twice fp16's bytes.
  Recipe out32 = LoadRecipe("fp16");
  out32.output = quant::Format::kFp32;
  CHECK(PipelinePrecisionFor(out32).output_bytes == 4);
}

}  // namespace
}  // namespace trisim
