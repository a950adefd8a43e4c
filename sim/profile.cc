#include "sim/profile.h"

#include <toml++/toml.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <set>
#include <sstream>

#include "core/status.h"

#ifndef TRISIM_PROFILE_DIR
#error \
    "TRISIM_PROFILE_DIR must point at sim/profiles (set in sim/CMakeLists.txt)"
#endif

namespace trisim {
namespace {

namespace fs = std::filesystem;

// Reads typed values by dotted key and remembers which keys it read, so that
// leftover (misspelt) keys can be reported by name too.
class ProfileReader {
 public:
  ProfileReader(const toml::table& table, std::string file)
      : table_(table), file_(std::move(file)) {}

  std::string String(const std::string& key) {
    const toml::node& node = Node(key);
    if (!node.is_string()) Fail(key, "must be a string");
    return *node.value<std::string>();
  }

  // A number > 0 (or >= 0 with allow_zero).
  double Number(const std::string& key, bool allow_zero = false) {
    const toml::node& node = Node(key);
    if (!node.is_number()) Fail(key, "must be a number");
    const double value = *node.value<double>();
    if (!(value > 0.0 || (allow_zero && value == 0.0)) ||
        !std::isfinite(value)) {
      Fail(key, allow_zero ? "must be >= 0" : "must be > 0");
    }
    return value;
  }

  long long Integer(const std::string& key) {
    const toml::node& node = Node(key);
    if (!node.is_integer()) Fail(key, "must be an integer");
    const long long value = *node.value<int64_t>();
    if (value <= 0) Fail(key, "must be > 0");
    return value;
  }

  Fractal ReadFractal(const std::string& key) {
    const toml::node& node = Node(key);
    const toml::array* array = node.as_array();
    if (array == nullptr || array->size() != 3) {
      Fail(key, "must be an array [m0, n0, k0] of three positive integers");
    }
    int dims[3];
    for (size_t i = 0; i < 3; ++i) {
      const auto value = (*array)[i].value_exact<int64_t>();
      if (!value || *value <= 0 || *value > 1024) {
        Fail(key, "must be an array [m0, n0, k0] of three positive integers");
      }
      dims[i] = static_cast<int>(*value);
    }
    return Fractal{dims[0], dims[1], dims[2]};
  }

  TransferPath Path(const std::string& key) {
    return TransferPath{Number(key + ".bytes_per_cycle"),
                        Number(key + ".start_cycles", true)};
  }

  VectorOpClass VectorOp(const std::string& key) {
    return VectorOpClass{Number(key + ".latency"),
                         Number(key + ".cycles_per_repeat")};
  }

  // Throws for the first key in the file that nothing read.
  void RejectUnknownKeys() const { Walk(table_, ""); }

  [[noreturn]] void Fail(const std::string& key,
                         const std::string& what) const {
    throw InputError("profile " + file_ + ": key '" + key + "' " + what);
  }

 private:
  const toml::node& Node(const std::string& key) {
    read_.insert(key);
    const toml::node* node = table_.at_path(key).node();
    if (node == nullptr) Fail(key, "is missing");
    return *node;
  }

  void Walk(const toml::table& table, const std::string& prefix) const {
    for (const auto& [name, node] : table) {
      const std::string key = prefix + std::string(name.str());
      if (read_.count(key)) continue;
      if (const toml::table* sub = node.as_table()) {
        Walk(*sub, key + ".");
      } else {
        Fail(key, "is not a profile key (misspelt?)");
      }
    }
  }

  const toml::table& table_;
  std::string file_;
  std::set<std::string> read_;
};

}  // namespace

HardwareProfile LoadProfileFile(const std::string& path) {
  toml::table table;
  try {
    table = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    std::ostringstream os;
    os << "profile " << path << ": " << e.description() << " (line "
       << e.source().begin.line << ')';
    throw InputError(os.str());
  }
  ProfileReader r(table, path);
  HardwareProfile p;
  p.source = path;
  p.name = r.String("name");
  p.description = r.String("description");

  p.clock_mhz = r.Number("chip.clock_mhz");
  p.cube_cores = static_cast<int>(r.Integer("chip.cube_cores"));
  p.vector_cores = static_cast<int>(r.Integer("chip.vector_cores"));
  if (p.vector_cores % p.cube_cores != 0) {
    r.Fail("chip.vector_cores",
           "must be a multiple of chip.cube_cores (cores are grouped as 1 "
           "cube : n vector)");
  }
  p.gm_bytes_per_cycle = r.Number("chip.gm_bytes_per_cycle");

  p.fractal_fp16 = r.ReadFractal("cube.fractal_fp16");
  p.fractal_int8 = r.ReadFractal("cube.fractal_int8");
  p.fractal_int4 = r.ReadFractal("cube.fractal_int4");
  p.fractal_fp32 = r.ReadFractal("cube.fractal_fp32");
  p.fractal_hf32 = r.ReadFractal("cube.fractal_hf32");
  p.fractal_int16 = r.ReadFractal("cube.fractal_int16");
  p.mmad_cycles_per_fractal = r.Number("cube.mmad_cycles_per_fractal");
  p.mmad_start_cycles = r.Number("cube.mmad_start_cycles", true);

  p.gm_to_l1 = r.Path("paths.gm_to_l1");
  p.l1_to_l0a = r.Path("paths.l1_to_l0a");
  p.l1_to_l0b = r.Path("paths.l1_to_l0b");
  p.fixpipe_gm = r.Path("paths.fixpipe_gm");
  p.fixpipe_l1 = r.Path("paths.fixpipe_l1");
  p.fixpipe_quant_bytes_per_cycle =
      r.Number("paths.fixpipe_quant_bytes_per_cycle");
  p.gm_to_ub = r.Path("paths.gm_to_ub");
  p.ub_to_gm = r.Path("paths.ub_to_gm");

  p.cross_core_flag_cycles = r.Number("sync.cross_core_flag_cycles", true);

  p.vector_repeat_bytes = static_cast<int>(r.Integer("vector.repeat_bytes"));
  p.vector_add = r.VectorOp("vector.add");
  p.vector_mul = r.VectorOp("vector.mul");

  p.l1_bytes = r.Integer("buffers.l1");
  p.l0a_bytes = r.Integer("buffers.l0a");
  p.l0b_bytes = r.Integer("buffers.l0b");
  p.l0c_bytes = r.Integer("buffers.l0c");
  p.ub_bytes = r.Integer("buffers.ub");

  r.RejectUnknownKeys();
  return p;
}

std::vector<std::string> ShippedProfiles() {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(TRISIM_PROFILE_DIR, ec)) {
    if (entry.path().extension() == ".toml") {
      names.push_back(entry.path().stem().string());
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

HardwareProfile LoadProfile(const std::string& name_or_path) {
  const fs::path shipped =
      fs::path(TRISIM_PROFILE_DIR) / (name_or_path + ".toml");
  std::error_code ec;
  if (name_or_path.find('/') == std::string::npos &&
      fs::is_regular_file(shipped, ec)) {
    return LoadProfileFile(shipped.string());
  }
  if (fs::is_regular_file(name_or_path, ec)) {
    return LoadProfileFile(name_or_path);
  }
  std::string known;
  for (const auto& name : ShippedProfiles()) {
    known += (known.empty() ? "" : ", ") + name;
  }
  throw InputError("--profile " + name_or_path +
                   ": neither a shipped profile (" + known +
                   ") nor a readable file");
}

}  // namespace trisim
