// Provenance of what trisim writes (issue 11 item 6): every oracle output
// gets a sidecar X.npy.json and every stage dump's manifest.json a
// "provenance" object saying which trisim, method, kernel and recipe (with
// every field's value) produced it, so a golden file is self-describing.
//
// Schema (keys in this order):
//   generator       "trisim" (the sidecar's owner mark: trisim overwrites a
//                   sidecar only when it carries this mark)
//   version         trisim's version (CMake PROJECT_VERSION)
//   command         "oracle", ...
//   method, method_options
//   kernel          {name, source}: "plan" is trisim's math-level plan
//                   (core/methods/); a device kernel names its public source
//                   (repository, path, version)
//   recipe          {name, fields: every recipe field and its value, as
//                   Recipe::ToToml writes them (the one field list), toml:
//                   the same as loadable TOML text}
//   input, seed     when the writer knows them (oracle: --in and --seed)
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "core/plan.h"
#include "sim/recipe.h"

namespace trisim {

struct Provenance {
  std::string command;
  std::string method;
  std::string method_options;
  std::string kernel = "plan";
  std::string kernel_source =
      "trisim math-level plan (core/methods/, one rounding per step)";
  Recipe recipe;
  std::string input;  // empty: not recorded
  bool has_seed = false;
  uint64_t seed = 0;

  // method, options and the default kernel from a plan.
  static Provenance ForPlan(const std::string& command, const Plan& plan,
                            const Recipe& recipe);
};

const char* TrisimVersion();

nlohmann::ordered_json ProvenanceJson(const Provenance& p);

// The sidecar of an output file: path + ".json".
std::string SidecarPath(const std::string& output);

// Throws InputError if `path` exists and is not a sidecar trisim wrote (no
// "generator": "trisim"), so a run refuses before writing anything.
void CheckSidecarWritable(const std::string& path);

// Writes `j` into `file`, the temporary a core/output_files.h Outputs gave
// for the sidecar `path` (named in the error). Throws InputError when it
// cannot be written.
void WriteSidecar(const std::string& file, const std::string& path,
                  const nlohmann::ordered_json& j);

}  // namespace trisim
