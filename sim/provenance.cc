#include "sim/provenance.h"

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <variant>

#include "core/status.h"

#ifndef TRISIM_VERSION
#error "TRISIM_VERSION must be defined by the build (sim/CMakeLists.txt)"
#endif

namespace trisim {

using Json = nlohmann::ordered_json;

Provenance Provenance::ForPlan(const std::string& command, const Plan& plan,
                               const Recipe& recipe) {
  Provenance p;
  p.command = command;
  p.method = plan.method;
  p.method_options = plan.options;
  p.recipe = recipe;
  return p;
}

const char* TrisimVersion() { return TRISIM_VERSION; }

namespace {

// Every field of the recipe and its value, from the one field list
// (sim/recipe.h RecipeFieldValues).
Json RecipeFields(const Recipe& r) {
  Json fields = Json::object();
  for (const auto& [key, value] : RecipeFieldValues(r)) {
    std::visit([&, &key = key](const auto& v) { fields[key] = v; }, value);
  }
  return fields;
}

}  // namespace

Json ProvenanceJson(const Provenance& p) {
  Json j;
  j["generator"] = "trisim";
  j["version"] = TrisimVersion();
  j["command"] = p.command;
  j["method"] = p.method;
  j["method_options"] = p.method_options;
  j["kernel"] = {{"name", p.kernel}, {"source", p.kernel_source}};
  j["recipe"] = {{"name", p.recipe.name},
                 {"fields", RecipeFields(p.recipe)},
                 {"toml", p.recipe.ToToml()}};
  if (!p.input.empty()) j["input"] = p.input;
  if (p.has_seed) j["seed"] = p.seed;
  return j;
}

std::string SidecarPath(const std::string& output) { return output + ".json"; }

void CheckSidecarWritable(const std::string& path) {
  std::ifstream in(path);
  if (!in) return;  // absent (or unreadable: the write will say so)
  Json existing;
  try {
    in >> existing;
  } catch (const Json::exception&) {
    existing = Json();
  }
  if (!existing.is_object() || !existing.contains("generator") ||
      existing["generator"] != "trisim") {
    throw InputError(path +
                     ": exists and was not written by trisim (no "
                     "\"generator\": \"trisim\"); refusing to overwrite it "
                     "(move it away or choose another --out)");
  }
}

void WriteSidecar(const std::string& file, const std::string& path,
                  const Json& j) {
  std::ofstream out(file, std::ios::trunc);
  out << j.dump(2) << '\n';
  out.close();
  if (!out) throw InputError(path + ": cannot write the provenance sidecar");
}

}  // namespace trisim
