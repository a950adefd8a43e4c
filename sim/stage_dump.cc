#include "sim/stage_dump.h"

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/npy.h"
#include "core/status.h"
#include "quant/npy_codes.h"

namespace trisim {

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;

namespace {

const char* UnitOf(OpKind op) {
  switch (op) {
    case OpKind::kMatMul:
      return "cube";
    case OpKind::kLinComb:
    case OpKind::kForwardRow:
      return "vector";
    default:
      return "move";
  }
}

// The recipe's fields as written by its field list (sim/recipe.h).
Json RecipeJson(const Recipe& r) {
  Json j;
  for (const auto& [key, value] : RecipeFieldValues(r)) {
    std::visit([&, &key = key](const auto& v) { j[key] = v; }, value);
  }
  return j;
}

Json ViewJson(const Plan& plan, const View& v, const std::string& file) {
  return {{"buffer", plan.buffers[v.buffer].name},
          {"rows", {v.row, v.row + v.rows}},
          {"cols", {v.col, v.col + v.cols}},
          {"file", file}};
}

std::string StepFile(size_t step, const std::string& buffer) {
  char name[64];
  std::snprintf(name, sizeof name, "step_%04zu_", step);
  std::string safe = buffer;
  for (char& c : safe) {
    if (c == '#' || c == '/' || c == '.') c = '_';
  }
  return name + safe + ".npy";
}

}  // namespace

void WriteStageDump(const std::string& dir, const Plan& plan,
                    const Recipe& recipe, const Executor& executor,
                    const RunRecord& record) {
  TRISIM_ASSERT(record.keep_buffers);
  TRISIM_ASSERT(record.buffer_after_step.size() == plan.steps.size());
  const fs::path target(dir);
  std::error_code ec;
  if (fs::exists(target) && !fs::exists(target / "manifest.json") &&
      !fs::is_empty(target, ec)) {
    throw InputError("--dump-stages " + dir +
                     ": exists and is not a trisim stage dump; refusing to "
                     "overwrite it");
  }
  const fs::path partial = target.string() + ".partial";
  fs::remove_all(partial, ec);
  if (!fs::create_directories(partial, ec) || ec) {
    throw InputError("--dump-stages " + dir + ": cannot create " +
                     partial.string());
  }
  auto write = [&](const std::string& file, const NpyArray& array) {
    WriteNpy((partial / file).string(), array);
  };

  Json manifest;
  manifest["format_version"] = 1;
  manifest["method"] = plan.method;
  manifest["method_options"] = plan.options;
  manifest["chunk"] = plan.chunk;
  manifest["recipe"] = RecipeJson(recipe);
  manifest["note"] =
      "Buffer files are float64 holding the stored format's values exactly. "
      "Semantics of each op: sim/cube.h (matmul) and sim/executor.h.";
  Json buffers = Json::array();
  for (size_t b = 0; b < plan.buffers.size(); ++b) {
    buffers.push_back(
        {{"name", plan.buffers[b].name},
         {"rows", plan.buffers[b].rows},
         {"cols", plan.buffers[b].cols},
         {"format", recipe.exact ? "fp64"
                                 : quant::FormatName(executor.BufferFormat(
                                       static_cast<int>(b)))}});
  }
  manifest["buffers"] = buffers;

  // The file holding each buffer's current state as the steps go.
  std::vector<std::string> current(plan.buffers.size());
  const int n = plan.chunk;
  write("input_L.npy", FromDoubles(record.input_after_load, {n, n}));
  current[plan.input] = "input_L.npy";
  manifest["input"] = {{"buffer", plan.buffers[plan.input].name},
                       {"file", "input_L.npy"}};

  Json steps = Json::array();
  size_t matmul_index = 0;
  for (size_t s = 0; s < plan.steps.size(); ++s) {
    const Step& step = plan.steps[s];
    Json j;
    j["index"] = s;
    j["name"] = step.label;
    j["op"] = OpName(step.op);
    j["unit"] = UnitOf(step.op);
    Json inputs = Json::array();
    for (const View& v : step.Reads()) {
      inputs.push_back(ViewJson(plan, v, current[v.buffer]));
    }
    j["inputs"] = inputs;
    const Buffer& out_buffer = plan.buffers[step.out.buffer];
    const std::string out_file = StepFile(s, out_buffer.name);
    write(out_file, FromDoubles(record.buffer_after_step[s],
                                {out_buffer.rows, out_buffer.cols}));
    current[step.out.buffer] = out_file;
    j["output"] = ViewJson(plan, step.Writes(), out_file);
    j["output_format"] =
        recipe.exact
            ? "fp64"
            : quant::FormatName(executor.BufferFormat(step.out.buffer));
    if (s < record.stored_scales.size() &&
        !record.stored_scales[s].scales.empty()) {
      // Integer storage: the scales this step stored its output with.
      const auto& stored = record.stored_scales[s];
      std::vector<uint32_t> bits;
      for (float f : stored.scales) {
        uint32_t b;
        std::memcpy(&b, &f, sizeof b);
        bits.push_back(b);
      }
      char file[64];
      std::snprintf(file, sizeof file, "step_%04zu_out_scales.npy", s);
      write(file, quant::EncodeNpy(quant::Format::kFp32,
                                   {step.out.rows / stored.group_rows,
                                    step.out.cols / stored.group_cols},
                                   {}, bits));
      j["output_scales"] = {{"file", file},
                            {"group", {stored.group_rows, stored.group_cols}},
                            {"requantised", stored.requantised}};
    }
    switch (step.op) {
      case OpKind::kMatMul: {
        j["sign"] = step.sign;
        if (!recipe.exact) {
          j["operand_format"] = quant::FormatName(recipe.operand);
          j["accumulator"] = quant::FormatName(recipe.accumulator);
          j["order"] = AccumulationOrderName(recipe.order);
          j["scale_mantissa_bits"] = recipe.scale_mantissa_bits;
          j["accumulator_overflow"] =
              NameOf(quant::kIntOverflowNames, recipe.accumulator_overflow);
          if (recipe.IntegerOperands()) {
            TRISIM_ASSERT(matmul_index < record.operands.size());
            const auto& operands = record.operands[matmul_index];
            Json ops = Json::array();
            for (size_t k = 0; k < operands.size(); ++k) {
              const CubeOperand& op = operands[k];
              char stem[64];
              std::snprintf(stem, sizeof stem, "step_%04zu_op%zu", s, k);
              std::vector<int64_t> ints(op.codes.begin(), op.codes.end());
              write(std::string(stem) + "_codes.npy",
                    quant::EncodeNpy(quant::Format::kInt32, {op.rows, op.cols},
                                     ints, {}));
              const int64_t grid_rows = op.rows / op.group_rows;
              const int64_t grid_cols = op.cols / op.group_cols;
              std::vector<uint32_t> scale_codes;
              for (float f : op.scales) {
                uint32_t bits;
                std::memcpy(&bits, &f, sizeof bits);
                scale_codes.push_back(bits);
              }
              write(std::string(stem) + "_scales.npy",
                    quant::EncodeNpy(quant::Format::kFp32,
                                     {grid_rows, grid_cols}, {}, scale_codes));
              ops.push_back({{"codes", std::string(stem) + "_codes.npy"},
                             {"scales", std::string(stem) + "_scales.npy"},
                             {"group", {op.group_rows, op.group_cols}}});
            }
            j["operands"] = ops;
          }
        }
        ++matmul_index;
        break;
      }
      case OpKind::kLinComb:
        j["coef"] = step.coef;
        if (!recipe.exact) j["vector"] = quant::FormatName(recipe.vector);
        break;
      case OpKind::kForwardRow:
        j["row"] = step.row;
        if (!recipe.exact) j["vector"] = quant::FormatName(recipe.vector);
        break;
      case OpKind::kMask:
        j["mask"] = step.mask.Name();
        break;
      default:
        break;
    }
    if (!recipe.exact) {
      j["rounding"] = quant::RoundingModeName(recipe.rounding);
      j["float_overflow"] =
          NameOf(quant::kFloatOverflowNames, recipe.float_overflow);
    }
    steps.push_back(j);
  }
  manifest["steps"] = steps;
  manifest["output"] = {
      {"buffer", plan.buffers[plan.output].name},
      {"file", current[plan.output]},
      {"format", recipe.exact ? "fp64" : quant::FormatName(recipe.output)}};
  {
    std::ofstream out(partial / "manifest.json");
    out << manifest.dump(1) << '\n';
    if (!out)
      throw InputError("--dump-stages " + dir + ": cannot write manifest");
  }
  fs::remove_all(target, ec);
  fs::rename(partial, target, ec);
  if (ec) {
    throw InputError("--dump-stages " + dir + ": cannot rename " +
                     partial.string() + ": " + ec.message());
  }
}

}  // namespace trisim
