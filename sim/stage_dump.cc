#include "sim/stage_dump.h"

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/npy.h"
#include "core/status.h"
#include "quant/npy_codes.h"
#include "sim/provenance.h"

namespace trisim {

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;

namespace {

constexpr char kManifest[] = "manifest.json";
// Marks a manifest as trisim's: only such a manifest's "files" may be
// replaced by a later --force.
constexpr char kGenerator[] = "trisim stage dump";

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

// 32-bit patterns of fp32 scales, for quant::EncodeNpy.
std::vector<uint32_t> FloatBits(const std::vector<float>& values) {
  std::vector<uint32_t> bits;
  bits.reserve(values.size());
  for (float f : values) {
    uint32_t b;
    std::memcpy(&b, &f, sizeof b);
    bits.push_back(b);
  }
  return bits;
}

// Writes the files of one dump into an empty directory and keeps their names
// for the manifest ("files"), which is what a later --force may replace.
class DumpWriter {
 public:
  DumpWriter(const std::string& dir, const Plan& plan, const Recipe& recipe,
             const Executor& executor, const RunRecord& record,
             const std::vector<LayerStage>& layer)
      : dir_(dir),
        plan_(plan),
        recipe_(recipe),
        executor_(executor),
        record_(record),
        layer_(layer),
        current_(plan.buffers.size()) {}

  void Write() {
    Json manifest = Header();
    WriteInput(&manifest);
    Json steps = Json::array();
    size_t matmul_index = 0;
    for (size_t s = 0; s < plan_.steps.size(); ++s) {
      steps.push_back(StepJson(s, &matmul_index));
    }
    manifest["steps"] = steps;
    manifest["output"] = {{"buffer", plan_.buffers[plan_.output].name},
                          {"file", current_[plan_.output]},
                          {"format", FormatOf(plan_.output)}};
    if (!layer_.empty()) {
      // The layer steps, in the manifest form of compare's file sets.
      Json outputs = Json::array();
      for (const LayerStage& t : layer_) {
        const std::string file = "layer_" + t.name + ".npy";
        std::vector<double> v;
        v.reserve(static_cast<size_t>(t.values.size()));
        for (Eigen::Index i = 0; i < t.values.rows(); ++i) {
          for (Eigen::Index j = 0; j < t.values.cols(); ++j) {
            v.push_back(t.values(i, j));
          }
        }
        // In the format's dtype (bf16 as '<u2' bits), so this directory
        // is a compare --expected-outputs set as it stands.
        Put(file, quant::EncodeExactValues(
                      t.format, {t.values.rows(), t.values.cols()}, v));
        outputs.push_back({{"name", t.name},
                           {"file", file},
                           {"format", quant::FormatName(t.format)},
                           {"rows", t.values.rows()},
                           {"cols", t.values.cols()}});
      }
      manifest["outputs"] = outputs;
    }
    files_.push_back(kManifest);
    manifest["files"] = files_;
    std::ofstream out(fs::path(dir_) / kManifest);
    out << manifest.dump(1) << '\n';
    if (!out) throw InputError("--dump-stages: cannot write the manifest");
  }

 private:
  std::string FormatOf(int buffer) const {
    return recipe_.exact ? "fp64"
                         : quant::FormatName(executor_.BufferFormat(buffer));
  }

  void Put(const std::string& file, const NpyArray& array) {
    WriteNpy((fs::path(dir_) / file).string(), array);
    files_.push_back(file);
  }

  Json Header() const {
    Json manifest;
    manifest["format_version"] = 1;
    manifest["generator"] = kGenerator;
    manifest["method"] = plan_.method;
    manifest["method_options"] = plan_.options;
    manifest["chunk"] = plan_.chunk;
    if (plan_.IsKernelPlan()) {
      manifest["kernel"] = {{"name", plan_.kernel.name},
                            {"source", plan_.kernel.source},
                            {"settings", plan_.kernel.settings}};
    }
    manifest["recipe"] = RecipeJson(recipe_);
    // What produced this dump (sim/provenance.h).
    manifest["provenance"] = ProvenanceJson(
        Provenance::ForPlan("oracle --dump-stages", plan_, recipe_));
    manifest["note"] =
        "Buffer files are float64 holding the stored format's values exactly. "
        "Semantics of each op: sim/cube.h (matmul) and sim/executor.h.";
    Json buffers = Json::array();
    for (size_t b = 0; b < plan_.buffers.size(); ++b) {
      buffers.push_back({{"name", plan_.buffers[b].name},
                         {"rows", plan_.buffers[b].rows},
                         {"cols", plan_.buffers[b].cols},
                         {"format", FormatOf(static_cast<int>(b))}});
    }
    if (plan_.IsKernelPlan()) {
      for (size_t b = 0; b < plan_.buffers.size(); ++b) {
        buffers[b]["memory"] = MemoryName(plan_.buffers[b].memory);
      }
    }
    manifest["buffers"] = buffers;
    return manifest;
  }

  void WriteInput(Json* manifest) {
    const int n = plan_.chunk;
    Put("input_L.npy", FromDoubles(record_.input_after_load, {n, n}));
    current_[plan_.input] = "input_L.npy";
    (*manifest)["input"] = {{"buffer", plan_.buffers[plan_.input].name},
                            {"file", "input_L.npy"}};
  }

  Json StepJson(size_t s, size_t* matmul_index) {
    const Step& step = plan_.steps[s];
    Json j;
    j["index"] = s;
    j["name"] = step.label;
    j["op"] = OpName(step.op);
    j["unit"] = OpUnitName(UnitOf(step.op));
    if (step.pipe != KernelPipe::kNone) j["pipe"] = KernelPipeName(step.pipe);
    if (step.op == OpKind::kSync) {
      j["sync"] = {{"kind", SyncKindName(step.sync.kind)},
                   {"from", KernelPipeName(step.sync.from)},
                   {"to", KernelPipeName(step.sync.to)},
                   {"event", step.sync.event}};
      return j;
    }
    Json inputs = Json::array();
    for (const View& v : step.Reads()) {
      inputs.push_back(ViewJson(plan_, v, current_[v.buffer]));
    }
    j["inputs"] = inputs;
    const Buffer& out_buffer = plan_.buffers[step.out.buffer];
    const std::string out_file = StepFile(s, out_buffer.name);
    Put(out_file, FromDoubles(record_.buffer_after_step[s],
                              {out_buffer.rows, out_buffer.cols}));
    current_[step.out.buffer] = out_file;
    j["output"] = ViewJson(plan_, step.Writes(), out_file);
    j["output_format"] = FormatOf(step.out.buffer);
    if (s < record_.stored_scales.size() &&
        !record_.stored_scales[s].scales.empty()) {
      j["output_scales"] = StoredScales(s);
    }
    OpDetails(s, &j);
    if (step.op == OpKind::kMmad) ++*matmul_index;
    if (step.op == OpKind::kMatMul) {
      if (!recipe_.exact && recipe_.IntegerOperands()) {
        j["operands"] = Operands(s, *matmul_index);
      }
      ++*matmul_index;
    }
    if (!recipe_.exact) {
      j["rounding"] = quant::RoundingModeName(recipe_.rounding);
      j["float_overflow"] =
          NameOf(quant::kFloatOverflowNames, recipe_.float_overflow);
    }
    return j;
  }

  // Integer storage: the scales step s stored its output with.
  Json StoredScales(size_t s) {
    const Step& step = plan_.steps[s];
    const auto& stored = record_.stored_scales[s];
    char file[64];
    std::snprintf(file, sizeof file, "step_%04zu_out_scales.npy", s);
    Put(file, quant::EncodeNpy(quant::Format::kFp32,
                               {step.out.rows / stored.group_rows,
                                step.out.cols / stored.group_cols},
                               {}, FloatBits(stored.scales)));
    return {{"file", file},
            {"group", {stored.group_rows, stored.group_cols}},
            {"requantised", stored.requantised}};
  }

  // Integer cube operands of matmul number `matmul`: codes and scales files.
  Json Operands(size_t s, size_t matmul) {
    TRISIM_ASSERT(matmul < record_.operands.size());
    const auto& operands = record_.operands[matmul];
    Json ops = Json::array();
    for (size_t k = 0; k < operands.size(); ++k) {
      const CubeOperand& op = operands[k];
      char stem[64];
      std::snprintf(stem, sizeof stem, "step_%04zu_op%zu", s, k);
      const std::string codes = std::string(stem) + "_codes.npy";
      const std::string scales = std::string(stem) + "_scales.npy";
      const std::vector<int64_t> ints(op.codes.begin(), op.codes.end());
      Put(codes, quant::EncodeNpy(quant::Format::kInt32, {op.rows, op.cols},
                                  ints, {}));
      Put(scales,
          quant::EncodeNpy(quant::Format::kFp32,
                           {op.rows / op.group_rows, op.cols / op.group_cols},
                           {}, FloatBits(op.scales)));
      ops.push_back({{"codes", codes},
                     {"scales", scales},
                     {"group", {op.group_rows, op.group_cols}}});
    }
    return ops;
  }

  // The per-op fields of the manifest (README "Stage dumps").
  void OpDetails(size_t s, Json* j) const {
    const Step& step = plan_.steps[s];
    switch (step.op) {
      case OpKind::kMatMul:
        (*j)["sign"] = step.sign;
        if (recipe_.exact) break;
        (*j)["operand_format"] = recipe_.OperandName();
        (*j)["accumulator"] = quant::FormatName(recipe_.accumulator);
        (*j)["order"] = AccumulationOrderName(recipe_.order);
        (*j)["scale_mantissa_bits"] = recipe_.scale_mantissa_bits;
        (*j)["accumulator_overflow"] =
            NameOf(quant::kIntOverflowNames, recipe_.accumulator_overflow);
        break;
      case OpKind::kMmad:
        (*j)["accumulate"] = step.accumulate;
        if (recipe_.exact) break;
        (*j)["operand_format"] = recipe_.OperandName();
        (*j)["accumulator"] = quant::FormatName(recipe_.accumulator);
        (*j)["order"] = AccumulationOrderName(recipe_.order);
        break;
      case OpKind::kLinComb:
        (*j)["coef"] = step.coef;
        if (!recipe_.exact) (*j)["vector"] = quant::FormatName(recipe_.vector);
        break;
      case OpKind::kForwardRow:
        (*j)["row"] = step.row;
        if (step.row_reduce != Step::RowReduce::kNone) {  // lane form
          (*j)["reduce"] = step.row_reduce == Step::RowReduce::kHalving
                               ? "halving"
                               : "sequential";
          (*j)["row_sign"] = step.row_sign;
        }
        if (!recipe_.exact) (*j)["vector"] = quant::FormatName(recipe_.vector);
        break;
      case OpKind::kMask:
        (*j)["mask"] = step.mask.Name();
        break;
      default:
        break;
    }
  }

  const std::string dir_;
  const Plan& plan_;
  const Recipe& recipe_;
  const Executor& executor_;
  const RunRecord& record_;
  const std::vector<LayerStage>& layer_;
  std::vector<std::string> current_;  // file holding each buffer's state
  std::vector<std::string> files_;    // every file written, in order
};

}  // namespace

std::vector<std::string> StageDumpFiles(const std::string& dir) {
  std::ifstream in(fs::path(dir) / kManifest);
  if (!in) return {};
  const Json manifest = Json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (!manifest.is_object() || manifest.value("generator", "") != kGenerator ||
      !manifest.contains("files") || !manifest["files"].is_array()) {
    return {};
  }
  std::vector<std::string> files;
  for (const Json& f : manifest["files"]) {
    // Plain names only: a manifest cannot claim files outside its directory.
    if (!f.is_string()) return {};
    const std::string name = f.get<std::string>();
    if (name.empty() || name.find('/') != std::string::npos || name == "." ||
        name == "..") {
      return {};
    }
    files.push_back(name);
  }
  return files;
}

void WriteStageDump(const std::string& dir, const Plan& plan,
                    const Recipe& recipe, const Executor& executor,
                    const RunRecord& record,
                    const std::vector<LayerStage>& layer) {
  TRISIM_ASSERT(record.keep_buffers);
  TRISIM_ASSERT(record.buffer_after_step.size() == plan.steps.size());
  DumpWriter(dir, plan, recipe, executor, record, layer).Write();
}

}  // namespace trisim
