#include "core/inputs.h"

#include <sys/stat.h>

#include <cmath>
#include <cstdlib>
#include <map>
#include <sstream>
#include <vector>

#include "core/npy.h"
#include "core/random.h"
#include "core/status.h"

namespace trisim {

std::string DataDirectory() {
  if (const char* env = std::getenv("TRISIM_DATA")) return env;
  return TRISIM_DATA_DIR;
}

namespace {

bool FileExists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

double ParseNumber(const std::string& text, const std::string& what) {
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0' || !std::isfinite(value)) {
    throw InputError(what + ": expected a number, got '" + text + "'");
  }
  return value;
}

int ParseInt(const std::string& text, const std::string& what, int lo, int hi) {
  char* end = nullptr;
  const long value = std::strtol(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || value < lo || value > hi) {
    throw InputError(what + ": expected an integer in [" + std::to_string(lo) +
                     ", " + std::to_string(hi) + "], got '" + text + "'");
  }
  return static_cast<int>(value);
}

void RequireChunk(int chunk, const std::string& spec) {
  if (chunk < 1) {
    throw InputError("--input " + spec + ": needs --chunk (a positive size)");
  }
}

// A [rows, cols] table of doubles from .npy: [T] files become [T, 1].
struct Table {
  int64_t rows = 0;
  int64_t cols = 0;
  std::vector<double> values;  // row-major
  double At(int64_t r, int64_t c) const { return values[r * cols + c]; }
};

Table ReadTable(const std::string& path, const std::string& what) {
  const NpyArray array = ReadNpy(path);
  if (array.shape.size() != 1 && array.shape.size() != 2) {
    throw InputError(what + " " + path + ": expected shape [tokens] or " +
                     "[tokens, heads], got " +
                     std::to_string(array.shape.size()) + " dimensions");
  }
  if (array.dtype != NpyDType::kFloat32 && array.dtype != NpyDType::kFloat64 &&
      array.dtype != NpyDType::kFloat16) {
    throw InputError(what + " " + path + ": expected a float dtype, got " +
                     NpyDTypeName(array.dtype));
  }
  Table t;
  t.rows = array.shape[0];
  t.cols = array.shape.size() == 2 ? array.shape[1] : 1;
  t.values = ToDoubles(array);
  for (size_t i = 0; i < t.values.size(); ++i) {
    if (!std::isfinite(t.values[i])) {
      throw InputError(what + " " + path + ": non-finite value at flat index " +
                       std::to_string(i));
    }
  }
  return t;
}

// Gate values (beta, g) per token and head, with sequence starts.
struct Gates {
  Table beta;
  Table g;
  std::vector<int64_t> sequence_starts;  // ends with the token count
  std::string source;
};

Gates LoadGates(const std::string& beta_path, const std::string& g_path,
                const std::string& seqlens_path) {
  Gates gates;
  gates.beta = ReadTable(beta_path, "beta");
  gates.g = ReadTable(g_path, "g");
  if (gates.beta.rows != gates.g.rows || gates.beta.cols != gates.g.cols) {
    throw InputError("beta and g shapes differ: [" +
                     std::to_string(gates.beta.rows) + ", " +
                     std::to_string(gates.beta.cols) + "] vs [" +
                     std::to_string(gates.g.rows) + ", " +
                     std::to_string(gates.g.cols) + "]");
  }
  for (size_t i = 0; i < gates.g.values.size(); ++i) {
    if (gates.g.values[i] > 0.0) {
      throw InputError("g " + g_path + ": log-decay must be <= 0, got " +
                       std::to_string(gates.g.values[i]) + " at flat index " +
                       std::to_string(i));
    }
  }
  if (!seqlens_path.empty() && FileExists(seqlens_path)) {
    for (double v : ToDoubles(ReadNpy(seqlens_path))) {
      gates.sequence_starts.push_back(static_cast<int64_t>(v));
    }
  } else {
    gates.sequence_starts = {0, gates.beta.rows};
  }
  gates.source = beta_path;
  return gates;
}

Vec RandomUnit(Rng& rng, int dim) {
  Vec v(dim);
  for (int i = 0; i < dim; ++i) v[i] = rng.Normal();
  return v / v.norm();
}

// --- matrix-only generators ------------------------------------------------

class UniformSource : public InputSource {
 public:
  UniformSource(double scale, int chunk, uint64_t seed)
      : scale_(scale), chunk_(chunk), seed_(seed) {}
  std::string Name() const override {
    std::ostringstream os;
    os << "uniform:" << scale_;
    return os.str();
  }
  bool HasGdn() const override { return false; }
  int Chunk() const override { return chunk_; }
  ChunkSample Sample(long long index) const override {
    Rng rng(seed_, static_cast<uint64_t>(index));
    ChunkSample s;
    s.a = Mat::Zero(chunk_, chunk_);
    for (int i = 1; i < chunk_; ++i) {
      for (int j = 0; j < i; ++j) s.a(i, j) = scale_ * rng.Uniform();
    }
    return s;
  }

 private:
  double scale_;
  int chunk_;
  uint64_t seed_;
};

class OnesSource : public InputSource {
 public:
  // block == 0: all ones; otherwise ones inside the diagonal blocks.
  OnesSource(int block, int chunk) : block_(block), chunk_(chunk) {}
  std::string Name() const override {
    return block_ ? "block-ones:" + std::to_string(block_) : "ones";
  }
  bool HasGdn() const override { return false; }
  int Chunk() const override { return chunk_; }
  ChunkSample Sample(long long) const override {
    ChunkSample s;
    s.a = Mat::Zero(chunk_, chunk_);
    for (int i = 1; i < chunk_; ++i) {
      for (int j = 0; j < i; ++j) {
        if (block_ == 0 || i / block_ == j / block_) s.a(i, j) = 1.0;
      }
    }
    return s;
  }

 private:
  int block_;
  int chunk_;
};

class NpySource : public InputSource {
 public:
  NpySource(const NpyMatrixSpec& spec, int chunk)
      : path_(spec.path), name_("npy:" + spec.Name()) {
    const std::string& path = spec.path;
    const NpyArray array = ReadNpy(path);
    if (array.dtype != NpyDType::kFloat16 &&
        array.dtype != NpyDType::kFloat32 &&
        array.dtype != NpyDType::kFloat64) {
      throw DataError("npy:" + path + ": expected float16/32/64, got " +
                      NpyDTypeName(array.dtype));
    }
    bool batched = false;
    matrices_ = NpyMatrices(array, spec, "npy:" + path, &batched);
    chunk_ = static_cast<int>(matrices_.front().rows());
    count_ = static_cast<long long>(matrices_.size());
    if (chunk != 0 && chunk_ != chunk) {
      throw InputError("npy:" + path + ": matrices are " +
                       std::to_string(chunk_) + " x " + std::to_string(chunk_) +
                       " but --chunk is " + std::to_string(chunk));
    }
  }
  std::string Name() const override { return name_; }
  bool HasGdn() const override { return false; }
  int Chunk() const override { return chunk_; }
  long long Available() const override { return count_; }
  ChunkSample Sample(long long index) const override {
    TRISIM_ASSERT(index >= 0 && index < count_);
    ChunkSample s;
    s.a = matrices_[index];
    return s;
  }

 private:
  std::string path_;
  std::string name_;
  int chunk_ = 0;
  long long count_ = 0;
  std::vector<Mat> matrices_;
};

// --- GDN generators --------------------------------------------------------

struct GdnParams {
  double rho = 0.5;
  int dirs = 1;
  int dk = 128;
  int dv = 128;
  bool random_state = true;
  std::string beta_path;
  std::string g_path;
};

class GdnSource : public InputSource {
 public:
  GdnSource(GdnParams params, int chunk, uint64_t seed)
      : p_(std::move(params)), chunk_(chunk), seed_(seed) {
    std::string seqlens;
    if (p_.beta_path.empty()) {
      const std::string dir = DataDirectory() + "/qwen3.5-0.8b";
      p_.beta_path = dir + "/beta.npy";
      p_.g_path = dir + "/g.npy";
      seqlens = dir + "/cu_seqlens.npy";
    }
    gates_ = LoadGates(p_.beta_path, p_.g_path, seqlens);
    // Chunk windows aligned to multiples of C inside each sequence, as a
    // chunked kernel sees them.
    for (size_t s = 0; s + 1 < gates_.sequence_starts.size(); ++s) {
      for (int64_t t = gates_.sequence_starts[s];
           t + chunk_ <= gates_.sequence_starts[s + 1]; t += chunk_) {
        windows_.push_back(t);
      }
    }
    if (windows_.empty()) {
      throw InputError("gdn: gate captures hold no full chunk of " +
                       std::to_string(chunk_) + " tokens");
    }
  }

  std::string Name() const override {
    std::ostringstream os;
    os << "gdn:rho=" << p_.rho << ",dirs=" << p_.dirs << ",dk=" << p_.dk
       << ",dv=" << p_.dv << ",state=" << (p_.random_state ? "random" : "zero")
       << ",beta=" << p_.beta_path << ",g=" << p_.g_path;
    return os.str();
  }
  bool HasGdn() const override { return true; }
  int Chunk() const override { return chunk_; }

  ChunkSample Sample(long long index) const override {
    Rng rng(seed_, static_cast<uint64_t>(index));
    GdnChunk c;
    const int64_t head = rng.Below(gates_.beta.cols);
    const int64_t start = windows_[rng.Below(windows_.size())];
    c.beta.resize(chunk_);
    c.g.resize(chunk_);
    for (int i = 0; i < chunk_; ++i) {
      c.beta[i] = gates_.beta.At(start + i, head);
      c.g[i] = gates_.g.At(start + i, head);
    }
    std::vector<Vec> directions;
    for (int d = 0; d < p_.dirs; ++d)
      directions.push_back(RandomUnit(rng, p_.dk));
    c.k.resize(chunk_, p_.dk);
    c.q.resize(chunk_, p_.dk);
    c.v.resize(chunk_, p_.dv);
    const double shared = std::sqrt(p_.rho);
    const double noise = std::sqrt(1.0 - p_.rho);
    for (int t = 0; t < chunk_; ++t) {
      const Vec& dir = directions[p_.dirs == 1 ? 0 : rng.Below(p_.dirs)];
      const Vec key = shared * dir + noise * RandomUnit(rng, p_.dk);
      c.k.row(t) = key.transpose() / key.norm();
      c.q.row(t) = RandomUnit(rng, p_.dk).transpose() / std::sqrt(p_.dk);
      for (int j = 0; j < p_.dv; ++j) c.v(t, j) = rng.Normal();
    }
    c.state = Mat::Zero(p_.dk, p_.dv);
    if (p_.random_state) {
      const double scale = 1.0 / std::sqrt(p_.dk);
      for (int i = 0; i < p_.dk; ++i) {
        for (int j = 0; j < p_.dv; ++j) c.state(i, j) = scale * rng.Normal();
      }
    }
    ChunkSample s;
    s.a = BuildA(c);
    s.gdn = std::move(c);
    return s;
  }

 private:
  GdnParams p_;
  int chunk_;
  uint64_t seed_;
  Gates gates_;
  std::vector<int64_t> windows_;
};

GdnParams ParseGdnParams(const std::string& body) {
  GdnParams p;
  std::stringstream ss(body);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (item.empty()) continue;
    const auto eq = item.find('=');
    if (eq == std::string::npos) {
      throw InputError("--input gdn: expected key=value, got '" + item + "'");
    }
    const std::string key = item.substr(0, eq);
    const std::string value = item.substr(eq + 1);
    const std::string what = "--input gdn " + key;
    if (key == "rho") {
      p.rho = ParseNumber(value, what);
      if (p.rho < 0.0 || p.rho > 1.0) {
        throw InputError(what + ": must be in [0, 1], got " + value);
      }
    } else if (key == "dirs") {
      p.dirs = ParseInt(value, what, 1, 4096);
    } else if (key == "dk") {
      p.dk = ParseInt(value, what, 1, 4096);
    } else if (key == "dv") {
      p.dv = ParseInt(value, what, 1, 4096);
    } else if (key == "state") {
      if (value != "random" && value != "zero") {
        throw InputError(what + ": expected random or zero, got " + value);
      }
      p.random_state = value == "random";
    } else if (key == "beta") {
      p.beta_path = value;
    } else if (key == "g") {
      p.g_path = value;
    } else {
      throw InputError("--input gdn: unknown key '" + key +
                       "' (known: rho, dirs, dk, dv, state, beta, g)");
    }
  }
  if (p.beta_path.empty() != p.g_path.empty()) {
    throw InputError("--input gdn: give beta=PATH and g=PATH together");
  }
  return p;
}

// Captured chunk tensors: chunks of C tokens of every head.
class CapturedGdnSource : public InputSource {
 public:
  CapturedGdnSource(const std::string& dir, int chunk, uint64_t seed)
      : dir_(dir), chunk_(chunk), seed_(seed) {
    const NpyArray k = ReadNpy(dir + "/k.npy");
    if (k.shape.size() != 2 && k.shape.size() != 3) {
      throw InputError("npy-gdn:" + dir + "/k.npy: expected [T, d_k] or " +
                       "[T, H, d_k]");
    }
    tokens_ = k.shape[0];
    heads_ = k.shape.size() == 3 ? k.shape[1] : 1;
    dk_ = static_cast<int>(k.shape.back());
    keys_ = ToDoubles(k);
    gates_ = LoadGates(dir + "/beta.npy", dir + "/g.npy", "");
    if (gates_.beta.rows != tokens_ || gates_.beta.cols != heads_) {
      throw InputError("npy-gdn:" + dir + ": beta/g shape [" +
                       std::to_string(gates_.beta.rows) + ", " +
                       std::to_string(gates_.beta.cols) +
                       "] does not match k's tokens and heads [" +
                       std::to_string(tokens_) + ", " + std::to_string(heads_) +
                       "]");
    }
    LoadOptional(dir + "/v.npy", "v", &values_, &dv_);
    int dq = dk_;
    LoadOptional(dir + "/q.npy", "q", &queries_, &dq);
    if (dq != dk_) {
      throw InputError("npy-gdn:" + dir + "/q.npy: last dimension " +
                       std::to_string(dq) + " differs from k's " +
                       std::to_string(dk_));
    }
    for (const std::vector<double>* v : {&keys_, &values_, &queries_}) {
      for (double x : *v) {
        if (!std::isfinite(x)) {
          throw InputError("npy-gdn:" + dir + ": non-finite value in k/v/q");
        }
      }
    }
    if (tokens_ < chunk_) {
      throw InputError("npy-gdn:" + dir + ": " + std::to_string(tokens_) +
                       " tokens, fewer than one chunk of " +
                       std::to_string(chunk_));
    }
  }

  std::string Name() const override { return "npy-gdn:" + dir_; }
  bool HasGdn() const override { return true; }
  int Chunk() const override { return chunk_; }
  long long Available() const override { return (tokens_ / chunk_) * heads_; }

  ChunkSample Sample(long long index) const override {
    TRISIM_ASSERT(index >= 0 && index < Available());
    const int64_t head = index % heads_;
    const int64_t start = (index / heads_) * chunk_;
    Rng rng(seed_, static_cast<uint64_t>(index));
    GdnChunk c;
    c.k.resize(chunk_, dk_);
    c.q.resize(chunk_, dk_);
    c.v.resize(chunk_, dv_);
    c.beta.resize(chunk_);
    c.g.resize(chunk_);
    for (int t = 0; t < chunk_; ++t) {
      const int64_t token = start + t;
      c.beta[t] = gates_.beta.At(token, head);
      c.g[t] = gates_.g.At(token, head);
      Vec key(dk_), query(dk_);
      for (int i = 0; i < dk_; ++i) {
        key[i] = keys_[(token * heads_ + head) * dk_ + i];
        query[i] = queries_.empty()
                       ? rng.Normal()
                       : queries_[(token * heads_ + head) * dk_ + i];
      }
      // L2-normalised as kernels do (use_qk_l2norm_in_kernel); q / sqrt(d_k).
      c.k.row(t) = key.transpose() / std::max(key.norm(), 1e-300);
      c.q.row(t) =
          query.transpose() / std::max(query.norm(), 1e-300) / std::sqrt(dk_);
      for (int j = 0; j < dv_; ++j) {
        c.v(t, j) = values_.empty()
                        ? rng.Normal()
                        : values_[(token * heads_ + head) * dv_ + j];
      }
    }
    c.state = Mat::Zero(dk_, dv_);
    ChunkSample s;
    s.a = BuildA(c);
    s.gdn = std::move(c);
    return s;
  }

 private:
  void LoadOptional(const std::string& path, const std::string& name,
                    std::vector<double>* values, int* dim) {
    if (!FileExists(path)) return;
    const NpyArray a = ReadNpy(path);
    const bool ok =
        (a.shape.size() == 2 && heads_ == 1 && a.shape[0] == tokens_) ||
        (a.shape.size() == 3 && a.shape[0] == tokens_ && a.shape[1] == heads_);
    if (!ok) {
      throw InputError("npy-gdn:" + path + ": expected [T, d] or [T, H, d] " +
                       "matching k's T = " + std::to_string(tokens_) +
                       " and H = " + std::to_string(heads_) + " (" + name +
                       ")");
    }
    *dim = static_cast<int>(a.shape.back());
    *values = ToDoubles(a);
  }

  std::string dir_;
  int chunk_;
  uint64_t seed_;
  int64_t tokens_ = 0;
  int64_t heads_ = 1;
  int dk_ = 0;
  int dv_ = 128;
  std::vector<double> keys_, values_, queries_;
  Gates gates_;
};

}  // namespace

std::vector<Mat> NpyMatrices(const NpyArray& array, const NpyMatrixSpec& spec,
                             const std::string& what, bool* batched) {
  const auto& shape = array.shape;
  if (shape.size() != 2 && shape.size() != 3) {
    throw DataError(what + ": expected shape [C, C] or [n, C, C], got " +
                    std::to_string(shape.size()) + " dimensions");
  }
  const int64_t c = shape.back();
  const int64_t rows = shape[shape.size() - 2];
  if (rows != c || c < 1 || c > 1024 || (c & (c - 1))) {
    throw DataError(what + ": matrices are " + std::to_string(rows) + " x " +
                    std::to_string(c) + ", expected " +
                    (rows != c ? "square: " : "") +
                    "C x C with C a power of two <= 1024");
  }
  const int64_t count = shape.size() == 3 ? shape[0] : 1;
  if (count < 1) {
    throw DataError(what + ": holds no matrices (shape [0, " +
                    std::to_string(c) + ", " + std::to_string(c) +
                    "]); give at least one");
  }
  *batched = shape.size() == 3;
  const std::vector<double> values = ToDoubles(array);
  std::vector<Mat> matrices;
  matrices.reserve(static_cast<size_t>(count));
  for (int64_t n = 0; n < count; ++n) {
    Mat a(c, c);
    for (int64_t i = 0; i < c; ++i) {
      for (int64_t j = 0; j < c; ++j) a(i, j) = values[(n * c + i) * c + j];
    }
    matrices.push_back(
        NpyMatrixToA(a, spec, what + " matrix " + std::to_string(n)));
  }
  return matrices;
}

std::unique_ptr<InputSource> MakeInputSource(const std::string& spec, int chunk,
                                             uint64_t seed) {
  const auto colon = spec.find(':');
  const std::string kind = spec.substr(0, colon);
  const std::string body =
      colon == std::string::npos ? "" : spec.substr(colon + 1);
  const bool has_body = colon != std::string::npos;

  if (kind == "uniform") {
    RequireChunk(chunk, spec);
    const double scale = has_body ? ParseNumber(body, "--input " + spec) : 0.1;
    if (!(scale > 0.0)) {
      throw InputError("--input " + spec + ": scale must be > 0");
    }
    return std::make_unique<UniformSource>(scale, chunk, seed);
  }
  if (kind == "ones" && !has_body) {
    RequireChunk(chunk, spec);
    return std::make_unique<OnesSource>(0, chunk);
  }
  if (kind == "block-ones") {
    RequireChunk(chunk, spec);
    const int block =
        has_body ? ParseInt(body, "--input " + spec, 1, 1 << 20) : 16;
    if (chunk % block != 0) {
      throw InputError("--input " + spec + ": block " + std::to_string(block) +
                       " does not divide the chunk " + std::to_string(chunk));
    }
    return std::make_unique<OnesSource>(block, chunk);
  }
  if (kind == "gdn") {
    RequireChunk(chunk, spec);
    return std::make_unique<GdnSource>(ParseGdnParams(body), chunk, seed);
  }
  if (kind == "npy" && has_body) {
    return std::make_unique<NpySource>(ParseNpyMatrixSpec(body), chunk);
  }
  if (kind == "npy-gdn" && has_body) {
    RequireChunk(chunk, spec);
    return std::make_unique<CapturedGdnSource>(body, chunk, seed);
  }
  throw InputError("--input: unknown input '" + spec +
                   "' (known: uniform[:s], ones, block-ones[:b], "
                   "gdn[:key=value,...], npy:PATH[,form=,above=], "
                   "npy-gdn:DIR)");
}

// --- npy: matrix forms -------------------------------------------------------

namespace {

struct FormName {
  NpyForm form;
  const char* name;
};
constexpr FormName kFormNames[] = {{NpyForm::kLower, "lower"},
                                   {NpyForm::kUpper, "upper"},
                                   {NpyForm::kIPlusA, "i-plus-a"},
                                   {NpyForm::kMinusA, "minus-a"}};

std::string AllFormNames() {
  std::string names;
  for (const FormName& f : kFormNames) {
    names += (names.empty() ? "" : "|") + std::string(f.name);
  }
  return names;
}

std::string Entry(Eigen::Index i, Eigen::Index j, double v) {
  std::ostringstream os;
  os.precision(17);
  os << "(" << i << ", " << j << ") = " << v;
  return os.str();
}

}  // namespace

const char* NpyFormName(NpyForm form) {
  for (const FormName& f : kFormNames) {
    if (f.form == form) return f.name;
  }
  TRISIM_ASSERT(false);
  return "";
}

std::string NpyMatrixSpec::Name() const {
  std::string name = path;
  if (form != NpyForm::kLower)
    name += std::string(",form=") + NpyFormName(form);
  if (above != NpyAbove::kCheck) name += ",above=ignore";
  return name;
}

NpyMatrixSpec ParseNpyMatrixSpec(const std::string& body) {
  NpyMatrixSpec spec;
  std::string rest = body;
  bool seen_form = false, seen_above = false;
  // Keys are peeled off the end: ",form=..." and ",above=...", each once.
  while (true) {
    const auto comma = rest.rfind(',');
    if (comma == std::string::npos) break;
    const std::string item = rest.substr(comma + 1);
    const auto eq = item.find('=');
    const std::string key = item.substr(0, eq);
    if (eq == std::string::npos || (key != "form" && key != "above")) break;
    const std::string value = item.substr(eq + 1);
    const std::string what = "--input npy:" + body + ": " + key;
    if (key == "form") {
      if (seen_form) throw InputError(what + " given twice");
      seen_form = true;
      bool found = false;
      for (const FormName& f : kFormNames) {
        if (value == f.name) {
          spec.form = f.form;
          found = true;
        }
      }
      if (!found) {
        throw InputError(what + "=" + value +
                         ": unknown form (allowed: " + AllFormNames() + ")");
      }
    } else {
      if (seen_above) throw InputError(what + " given twice");
      seen_above = true;
      if (value != "check" && value != "ignore") {
        throw InputError(what + "=" + value +
                         ": unknown value (allowed: check|ignore)");
      }
      spec.above = value == "check" ? NpyAbove::kCheck : NpyAbove::kIgnore;
    }
    rest = rest.substr(0, comma);
  }
  if (rest.empty()) {
    throw InputError("--input npy:" + body + ": no file path before the keys");
  }
  spec.path = rest;
  return spec;
}

Mat NpyMatrixToA(const Mat& stored, const NpyMatrixSpec& spec,
                 const std::string& what) {
  const Eigen::Index c = stored.rows();
  TRISIM_ASSERT(stored.cols() == c);
  const char* form = NpyFormName(spec.form);
  Mat a = Mat::Zero(c, c);
  for (Eigen::Index i = 0; i < c; ++i) {
    for (Eigen::Index j = 0; j < c; ++j) {
      // The file's entry at A's position (i, j): transposed for upper.
      const bool upper = spec.form == NpyForm::kUpper;
      const Eigen::Index fi = upper ? j : i, fj = upper ? i : j;
      const double v = stored(fi, fj);
      if (i > j) {  // A's strictly lower part
        if (!std::isfinite(v)) {
          throw DataError(what + ": non-finite entry " + Entry(fi, fj, v));
        }
        a(i, j) = spec.form == NpyForm::kMinusA ? -v : v;
        continue;
      }
      if (spec.above == NpyAbove::kIgnore) continue;
      const double want = spec.form == NpyForm::kIPlusA && i == j ? 1.0 : 0.0;
      if (v != want) {
        const std::string hint =
            " (stale values there: add ,above=ignore; other layouts: form=" +
            AllFormNames() + ")";
        if (spec.form == NpyForm::kLower) {
          throw DataError(what + ": not strictly lower: entry " +
                          Entry(fi, fj, v) + " is on or above the diagonal" +
                          hint);
        }
        throw DataError(
            what + ": form=" + form + " expects " +
            (want == 1.0 ? "1 on the diagonal" : "0 outside A's lower part") +
            ", got " + Entry(fi, fj, v) + hint);
      }
    }
  }
  return a;
}

}  // namespace trisim
