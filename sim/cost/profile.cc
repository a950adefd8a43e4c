#include "sim/cost/profile.h"

#include <toml++/toml.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>

#include "core/status.h"
#include "sim/toml_text.h"

#ifndef TRISIM_PROFILE_DIR
#error \
    "TRISIM_PROFILE_DIR must point at sim/profiles (set in sim/CMakeLists.txt)"
#endif

namespace trisim {

double TransferCurve::Cycles(double bytes) const {
  if (points.empty() || bytes <= 0) return 0.0;
  const double kb = bytes / 1024.0;
  if (kb <= points.front().first) {
    return points.front().first * 1024.0 / points.front().second;
  }
  if (kb >= points.back().first) return bytes / points.back().second;
  const auto hi = std::lower_bound(
      points.begin(), points.end(), kb,
      [](const std::pair<double, double>& p, double v) { return p.first < v; });
  const auto lo = hi - 1;
  const double t = (kb - lo->first) / (hi->first - lo->first);
  return bytes / (lo->second + t * (hi->second - lo->second));
}

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

  // A finite number in (0, max] (or [0, max] with allow_zero). The bounds
  // keep every later product and division finite.
  double Number(const std::string& key, bool allow_zero = false,
                double max = 1e7) {
    const toml::node& node = Node(key);
    if (!node.is_number()) Fail(key, "must be a number");
    const double value = *node.value<double>();
    if (!std::isfinite(value) || value > max ||
        !(value > 0.0 || (allow_zero && value == 0.0))) {
      std::ostringstream os;
      os << "= " << value << ": must be a number in "
         << (allow_zero ? "[" : "(") << "0, " << max << "]";
      Fail(key, os.str());
    }
    return value;
  }

  // An integer in [min, max], read exactly (toml++ value_exact: no wrap, no
  // narrowing, no float accepted), so 4294967296 or 4294967320 cannot
  // become 0 or 24 on the way to an int.
  long long Integer(const std::string& key, long long min, long long max) {
    const toml::node& node = Node(key);
    const std::optional<int64_t> value = node.value_exact<int64_t>();
    if (!node.is_integer() || !value) Fail(key, "must be an integer");
    if (*value < min || *value > max) {
      Fail(key, "= " + std::to_string(*value) + ": must be an integer in [" +
                    std::to_string(min) + ", " + std::to_string(max) + "]");
    }
    return *value;
  }

  // [[KB, bytes_per_cycle], ...], sizes increasing.
  TransferCurve Curve(const std::string& key) {
    const toml::node& node = Node(key);
    const toml::array* array = node.as_array();
    const char* what =
        "must be an array of [KB, bytes_per_cycle] pairs, KB increasing, "
        "both finite and > 0 (at most 4096 points)";
    if (array == nullptr || array->empty() || array->size() > 4096) {
      Fail(key, what);
    }
    TransferCurve curve;
    for (const toml::node& item : *array) {
      const toml::array* pair = item.as_array();
      if (pair == nullptr || pair->size() != 2) Fail(key, what);
      const auto kb = (*pair)[0].value<double>();
      const auto bw = (*pair)[1].value<double>();
      if (!kb || !bw || !std::isfinite(*kb) || !std::isfinite(*bw) ||
          *kb <= 0 || *bw <= 0 || *kb > 1e6 || *bw > 1e6 ||
          (!curve.points.empty() && *kb <= curve.points.back().first)) {
        Fail(key, what);
      }
      curve.points.emplace_back(*kb, *bw);
    }
    return curve;
  }

  // [provenance]: every entry names a key this reader read and says
  // "guess", "fitted: <figure>", "measured: <source>" or "derived: <how>".
  std::vector<std::pair<std::string, std::string>> Provenance() {
    std::vector<std::pair<std::string, std::string>> out;
    const toml::table* table = table_["provenance"].as_table();
    if (table == nullptr) Fail("provenance", "is missing");
    read_.insert("provenance");
    for (const auto& [name, node] : *table) {
      const std::string key(name.str());
      const std::string full = "provenance." + key;
      if (!node.is_string()) Fail(full, "must be a string");
      const std::string text = *node.value<std::string>();
      if (read_.count(key) == 0) Fail(full, "names no profile key");
      const bool ok = text == "guess" || text.rfind("fitted: ", 0) == 0 ||
                      text.rfind("measured: ", 0) == 0 ||
                      text.rfind("derived: ", 0) == 0;
      if (!ok) {
        Fail(full, "= \"" + text +
                       "\": must be \"guess\", \"fitted: <figure>\", "
                       "\"measured: <source>\" or \"derived: <how>\"");
      }
      out.emplace_back(key, text);
    }
    return out;
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
    return TransferPath{Number(key + ".bytes_per_cycle", false, 1e5),
                        Number(key + ".start_cycles", true, 1e6)};
  }

  VectorOpClass VectorOp(const std::string& key) {
    return VectorOpClass{Number(key + ".latency", false, 1e5),
                         Number(key + ".cycles_per_repeat", false, 1e5)};
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
      if (read_.count(key) || key == "provenance") continue;
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
  std::string text;
  {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw InputError("profile " + path + ": cannot read the file");
    std::ostringstream content;
    content << in.rdbuf();
    text = content.str();
  }
  CheckTomlText(text, "profile " + path);
  toml::table table;
  try {
    table = toml::parse(text, path);
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

  p.clock_mhz = r.Number("chip.clock_mhz", false, 1e5);
  p.cube_cores = static_cast<int>(r.Integer("chip.cube_cores", 1, 4096));
  p.vector_cores =
      static_cast<int>(r.Integer("chip.vector_cores", 1, 4 * 4096));
  if (p.vector_cores % p.cube_cores != 0) {
    r.Fail("chip.vector_cores",
           "must be a multiple of chip.cube_cores (cores are grouped as 1 "
           "cube : n vector)");
  }
  p.gm_bytes_per_cycle = r.Number("chip.gm_bytes_per_cycle", false, 1e6);

  p.fractal_fp16 = r.ReadFractal("cube.fractal_fp16");
  p.fractal_int8 = r.ReadFractal("cube.fractal_int8");
  p.fractal_int4 = r.ReadFractal("cube.fractal_int4");
  p.fractal_fp32 = r.ReadFractal("cube.fractal_fp32");
  p.fractal_hf32 = r.ReadFractal("cube.fractal_hf32");
  p.fractal_int16 = r.ReadFractal("cube.fractal_int16");
  p.mmad_cycles_per_fractal =
      r.Number("cube.mmad_cycles_per_fractal", false, 1e4);
  p.mmad_start_cycles = r.Number("cube.mmad_start_cycles", true, 1e5);

  p.gm_to_l1 = r.Path("paths.gm_to_l1");
  p.l1_to_l0a = r.Path("paths.l1_to_l0a");
  p.l1_to_l0b = r.Path("paths.l1_to_l0b");
  p.fixpipe_gm = r.Path("paths.fixpipe_gm");
  p.fixpipe_l1 = r.Path("paths.fixpipe_l1");
  p.fixpipe_quant_bytes_per_cycle =
      r.Number("paths.fixpipe_quant_bytes_per_cycle", false, 1e5);
  p.gm_to_ub = r.Path("paths.gm_to_ub");
  p.ub_to_gm = r.Path("paths.ub_to_gm");

  p.cross_core_flag_cycles = r.Number("sync.cross_core_flag_cycles", true, 1e6);
  p.kernel_cross_core_cycles =
      r.Number("sync.kernel_cross_core_cycles", true, 1e6);
  p.flag_cycles = r.Number("sync.flag_cycles", true, 1e6);
  p.vector_scalar_sync_cycles =
      r.Number("sync.vector_scalar_sync_cycles", true, 1e6);
  p.launch_cycles = r.Number("sync.launch_cycles", true, 1e8);
  p.program_cycles = r.Number("sync.program_cycles", true, 1e8);

  p.curve_gm_to_l1 = r.Curve("curves.gm_to_l1");
  p.curve_l1_to_l0a = r.Curve("curves.l1_to_l0a");
  p.curve_l1_to_l0b = r.Curve("curves.l1_to_l0b");
  p.curve_l0c_to_gm = r.Curve("curves.l0c_to_gm");
  p.curve_l0c_to_l1 = r.Curve("curves.l0c_to_l1");
  p.curve_gm_to_ub = r.Curve("curves.gm_to_ub");
  p.curve_ub_to_gm = r.Curve("curves.ub_to_gm");
  p.curve_ub_to_ub = r.Curve("curves.ub_to_ub");

  // 32 B is the smallest vector block; above 4 KB no 910B-class unit.
  p.vector_repeat_bytes =
      static_cast<int>(r.Integer("vector.repeat_bytes", 32, 4096));
  p.vector_add = r.VectorOp("vector.add");
  p.vector_mul = r.VectorOp("vector.mul");

  // At least one 16 x 16 fp32 fractal per half buffer (the model tiles to
  // halves); at most 1 GiB.
  constexpr long long kMinBuffer = 2 * 16 * 16 * 4, kMaxBuffer = 1LL << 30;
  p.l1_bytes = r.Integer("buffers.l1", kMinBuffer, kMaxBuffer);
  p.l0a_bytes = r.Integer("buffers.l0a", kMinBuffer, kMaxBuffer);
  p.l0b_bytes = r.Integer("buffers.l0b", kMinBuffer, kMaxBuffer);
  p.l0c_bytes = r.Integer("buffers.l0c", kMinBuffer, kMaxBuffer);
  p.ub_bytes = r.Integer("buffers.ub", kMinBuffer, kMaxBuffer);

  p.provenance = r.Provenance();
  r.RejectUnknownKeys();
  return p;
}

// Shipped names that are another file's: the 910B1 is shipped as
// ascend-910b (the default, a name kept from the first profiles).
constexpr std::pair<const char*, const char*> kAliases[] = {
    {"ascend-910b1", "ascend-910b"}};

std::vector<std::string> ShippedProfiles() {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(TRISIM_PROFILE_DIR, ec)) {
    if (entry.path().extension() == ".toml") {
      names.push_back(entry.path().stem().string());
    }
  }
  for (const auto& alias : kAliases) names.push_back(alias.first);
  std::sort(names.begin(), names.end());
  return names;
}

HardwareProfile LoadProfile(const std::string& name_or_path) {
  std::string file = name_or_path;
  for (const auto& [alias, target] : kAliases) {
    if (name_or_path == alias) file = target;
  }
  const fs::path shipped = fs::path(TRISIM_PROFILE_DIR) / (file + ".toml");
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
