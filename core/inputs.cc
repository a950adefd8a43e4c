#include "core/inputs.h"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
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

// A float .npy with every value finite, as doubles. `what` names the file.
NpyArray ReadFloatNpy(const std::string& path, const std::string& what,
                      std::vector<double>* values) {
  NpyArray array = ReadNpy(path);
  if (array.dtype != NpyDType::kFloat32 && array.dtype != NpyDType::kFloat64 &&
      array.dtype != NpyDType::kFloat16 && array.dtype != NpyDType::kBFloat16) {
    throw InputError(what + " " + path +
                     ": expected a float dtype (float16/32/64), got " +
                     NpyDTypeName(array.dtype));
  }
  *values = ToDoubles(array);
  for (size_t i = 0; i < values->size(); ++i) {
    if (!std::isfinite((*values)[i])) {
      throw InputError(what + " " + path + ": non-finite value " +
                       std::to_string((*values)[i]) + " at flat index " +
                       std::to_string(i) + " (allowed: finite values)");
    }
  }
  return array;
}

std::string ShapeText(const std::vector<int64_t>& shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    text += (i ? ", " : "") + std::to_string(shape[i]);
  }
  return text + "]";
}

// A [rows, cols] table of doubles from .npy: [T] files become [T, 1].
struct Table {
  int64_t rows = 0;
  int64_t cols = 0;
  std::vector<double> values;  // row-major
  double At(int64_t r, int64_t c) const { return values[r * cols + c]; }
};

Table ReadTable(const std::string& path, const std::string& what) {
  Table t;
  const NpyArray array = ReadFloatNpy(path, what, &t.values);
  if (array.shape.size() != 1 && array.shape.size() != 2) {
    throw InputError(what + " " + path + ": expected shape [tokens] or " +
                     "[tokens, heads], got " + ShapeText(array.shape));
  }
  t.rows = array.shape[0];
  t.cols = array.shape.size() == 2 ? array.shape[1] : 1;
  if (t.rows < 1 || t.cols < 1) {
    throw InputError(what + " " + path + ": shape " + ShapeText(array.shape) +
                     " holds no gate values (allowed: at least 1 token and "
                     "1 head)");
  }
  return t;
}

// beta in [0, 1] (a sigmoid) unless `any_beta`; g <= 0 (a log-decay).
void CheckGateValues(const std::vector<double>& beta,
                     const std::string& beta_path, const std::vector<double>& g,
                     const std::string& g_path, bool any_beta) {
  for (size_t i = 0; i < beta.size() && !any_beta; ++i) {
    if (!(beta[i] >= 0.0 && beta[i] <= 1.0)) {
      throw InputError("beta " + beta_path + ": value " +
                       std::to_string(beta[i]) + " at flat index " +
                       std::to_string(i) +
                       " outside [0, 1] (allowed: [0, 1], or beta_range=any)");
    }
  }
  for (size_t i = 0; i < g.size(); ++i) {
    if (g[i] > 0.0) {
      throw InputError("g " + g_path + ": log-decay must be <= 0, got " +
                       std::to_string(g[i]) + " at flat index " +
                       std::to_string(i));
    }
  }
}

// FLA varlen offsets: integer [N+1], 0 = s_0 < s_1 < ... < s_N = tokens.
std::vector<int64_t> ReadSeqlens(const std::string& path, int64_t tokens) {
  const NpyArray array = ReadNpy(path);
  const NpyDType d = array.dtype;
  if (d != NpyDType::kInt32 && d != NpyDType::kInt64 && d != NpyDType::kInt16 &&
      d != NpyDType::kUInt8 && d != NpyDType::kInt8 && d != NpyDType::kUInt16) {
    throw InputError("cu_seqlens " + path +
                     ": expected an integer dtype, got " + NpyDTypeName(d));
  }
  if (array.shape.size() != 1 || array.shape[0] < 2) {
    throw InputError("cu_seqlens " + path +
                     ": expected shape [N+1] with N >= 1, got " +
                     ShapeText(array.shape));
  }
  const std::vector<double> values = ToDoubles(array);
  std::vector<int64_t> starts;
  for (size_t i = 0; i < values.size(); ++i) {
    const int64_t v = static_cast<int64_t>(values[i]);
    const bool ok = i == 0 ? v == 0 : v > starts.back() && v <= tokens;
    if (!ok) {
      throw InputError(
          "cu_seqlens " + path + ": entry " + std::to_string(i) + " = " +
          std::to_string(v) +
          (i == 0 ? " (allowed: the first entry is 0)"
                  : " (allowed: strictly increasing, at most the token count " +
                        std::to_string(tokens) + ")"));
    }
    starts.push_back(v);
  }
  if (starts.back() != tokens) {
    throw InputError("cu_seqlens " + path + ": last entry " +
                     std::to_string(starts.back()) +
                     " differs from the token count " + std::to_string(tokens) +
                     " (allowed: it ends at T)");
  }
  return starts;
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
  CheckGateValues(gates.beta.values, beta_path, gates.g.values, g_path, false);
  if (!seqlens_path.empty() && FileExists(seqlens_path)) {
    gates.sequence_starts = ReadSeqlens(seqlens_path, gates.beta.rows);
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
  int seq = 0;       // tokens per sequence; 0: one chunk
  bool kda = false;  // per-channel gate g_td = g_t r_d (gate=kda)
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
    } else {
      // Captures ship their sequence offsets beside the gates (data/*/).
      const auto slash = p_.beta_path.rfind('/');
      const std::string beside =
          (slash == std::string::npos ? std::string(".")
                                      : p_.beta_path.substr(0, slash)) +
          "/cu_seqlens.npy";
      if (FileExists(beside)) seqlens = beside;
    }
    if (p_.seq == 0) p_.seq = chunk_;
    gates_ = LoadGates(p_.beta_path, p_.g_path, seqlens);
    // Windows of `seq` tokens starting at multiples of C inside each
    // sequence, as a chunked kernel sees them.
    for (size_t s = 0; s + 1 < gates_.sequence_starts.size(); ++s) {
      for (int64_t t = gates_.sequence_starts[s];
           t + p_.seq <= gates_.sequence_starts[s + 1]; t += chunk_) {
        windows_.push_back(t);
      }
    }
    if (windows_.empty()) {
      throw InputError("gdn: gate captures hold no sequence of " +
                       std::to_string(p_.seq) +
                       " tokens (seq=" + std::to_string(p_.seq) + ", chunk " +
                       std::to_string(chunk_) + ")");
    }
  }

  std::string Name() const override {
    std::ostringstream os;
    os << "gdn:rho=" << p_.rho << ",dirs=" << p_.dirs << ",dk=" << p_.dk
       << ",dv=" << p_.dv << ",state=" << (p_.random_state ? "random" : "zero");
    if (p_.seq != chunk_) os << ",seq=" << p_.seq;
    if (p_.kda) os << ",gate=kda";
    os << ",beta=" << p_.beta_path << ",g=" << p_.g_path;
    return os.str();
  }
  bool HasGdn() const override { return true; }
  int Chunk() const override { return chunk_; }
  bool Carry() const override { return p_.seq > chunk_; }
  long long PaddedTokens() const override {
    return 0;  // carry mode counts its sequences' padding
  }

  ChunkSample Sample(long long index) const override {
    if (Carry()) {
      SequenceSample seq = Sequence(index);
      ChunkSample s;
      s.a = BuildA(seq.chunks[0]);
      s.gdn = std::move(seq.chunks[0]);
      return s;
    }
    Rng rng(seed_, static_cast<uint64_t>(index));
    const int64_t head = rng.Below(gates_.beta.cols);
    const int64_t start = windows_[rng.Below(windows_.size())];
    const std::vector<Vec> directions = Directions(rng);
    const Vec rates = ChannelRates(rng);
    GdnChunk c = MakeChunk(rng, head, start, chunk_, directions, rates);
    c.state = InitialState(rng);
    ChunkSample s;
    s.a = BuildA(c);
    s.gdn = std::move(c);
    return s;
  }

  SequenceSample Sequence(long long index) const override {
    Rng rng(seed_, static_cast<uint64_t>(index));
    const int64_t head = rng.Below(gates_.beta.cols);
    const int64_t start = windows_[rng.Below(windows_.size())];
    const std::vector<Vec> directions = Directions(rng);
    const Vec rates = ChannelRates(rng);
    const Mat state = InitialState(rng);
    SequenceSample seq;
    for (int t = 0; t < p_.seq; t += chunk_) {
      const int len = std::min(chunk_, p_.seq - t);
      seq.chunks.push_back(
          MakeChunk(rng, head, start + t, len, directions, rates));
      seq.padded = chunk_ - len;
    }
    seq.chunks[0].state = state;
    return seq;
  }

 private:
  std::vector<Vec> Directions(Rng& rng) const {
    std::vector<Vec> directions;
    for (int d = 0; d < p_.dirs; ++d) {
      directions.push_back(RandomUnit(rng, p_.dk));
    }
    return directions;
  }

  // gate=kda: per-channel rates r_d ~ U[0, 2), drawn once per sample, so
  // the channels decay around the captured scalar gate (mean rate 1); no
  // public per-channel capture ships. Empty (no draw) for the scalar gate,
  // which keeps every scalar-gate sample as it was.
  Vec ChannelRates(Rng& rng) const {
    if (!p_.kda) return Vec();
    Vec rates(p_.dk);
    for (int d = 0; d < p_.dk; ++d) rates[d] = 2.0 * rng.Uniform();
    return rates;
  }

  Mat InitialState(Rng& rng) const {
    Mat state = Mat::Zero(p_.dk, p_.dv);
    if (p_.random_state) {
      const double scale = 1.0 / std::sqrt(p_.dk);
      for (int i = 0; i < p_.dk; ++i) {
        for (int j = 0; j < p_.dv; ++j) state(i, j) = scale * rng.Normal();
      }
    }
    return state;
  }

  // `len` tokens from `start`, zero-padded to C (as kernels pad a tail).
  GdnChunk MakeChunk(Rng& rng, int64_t head, int64_t start, int len,
                     const std::vector<Vec>& directions,
                     const Vec& rates) const {
    GdnChunk c;
    c.beta = Vec::Zero(chunk_);
    c.g = Vec::Zero(chunk_);
    for (int i = 0; i < len; ++i) {
      c.beta[i] = gates_.beta.At(start + i, head);
      c.g[i] = gates_.g.At(start + i, head);
    }
    if (p_.kda) {
      c.gk = c.g * rates.transpose();  // C x d_k, <= 0
      c.g = Vec();
    }
    c.k = Mat::Zero(chunk_, p_.dk);
    c.q = Mat::Zero(chunk_, p_.dk);
    c.v = Mat::Zero(chunk_, p_.dv);
    const double shared = std::sqrt(p_.rho);
    const double noise = std::sqrt(1.0 - p_.rho);
    for (int t = 0; t < len; ++t) {
      const Vec& dir = directions[p_.dirs == 1 ? 0 : rng.Below(p_.dirs)];
      const Vec key = shared * dir + noise * RandomUnit(rng, p_.dk);
      c.k.row(t) = key.transpose() / key.norm();
      c.q.row(t) = RandomUnit(rng, p_.dk).transpose() / std::sqrt(p_.dk);
      for (int j = 0; j < p_.dv; ++j) c.v(t, j) = rng.Normal();
    }
    c.state = Mat::Zero(p_.dk, p_.dv);
    return c;
  }

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
    } else if (key == "seq") {
      p.seq = ParseInt(value, what, 1, 1 << 20);
    } else if (key == "state") {
      if (value != "random" && value != "zero") {
        throw InputError(what + ": expected random or zero, got " + value);
      }
      p.random_state = value == "random";
    } else if (key == "beta") {
      p.beta_path = value;
    } else if (key == "g") {
      p.g_path = value;
    } else if (key == "gate") {
      if (value != "scalar" && value != "kda") {
        throw InputError(what +
                         ": expected scalar (one log-decay per token, Gated "
                         "DeltaNet) or kda (per channel, Kimi Linear), got " +
                         value);
      }
      p.kda = value == "kda";
    } else {
      throw InputError(
          "--input gdn: unknown key '" + key +
          "' (known: rho, dirs, dk, dv, seq, state, gate, beta, g)");
    }
  }
  if (p.beta_path.empty() != p.g_path.empty()) {
    throw InputError("--input gdn: give beta=PATH and g=PATH together");
  }
  return p;
}

struct CapturedOptions {
  bool carry = false;
  bool l2norm = true;
  bool any_beta = false;
};

// Captured tensors in FLA's layout, flattened to [B*T, heads, d]; sequences
// from the batch rows or cu_seqlens.
class CapturedGdnSource : public InputSource {
 public:
  CapturedGdnSource(const std::string& dir, const CapturedOptions& opt,
                    int chunk, uint64_t seed)
      : dir_(dir), opt_(opt), chunk_(chunk), seed_(seed) {
    const std::string k_path = dir + "/k.npy";
    const NpyArray k = ReadFloatNpy(k_path, "npy-gdn k", &keys_);
    const size_t rank = k.shape.size();
    if (rank < 2 || rank > 4) {
      throw InputError("npy-gdn " + k_path + ": shape " + ShapeText(k.shape) +
                       " (allowed: [T, H, d_k], [B, T, H, d_k] or [T, d_k])");
    }
    batched_ = rank == 4;
    const int64_t batch = batched_ ? k.shape[0] : 1;
    const int64_t per_batch = k.shape[batched_ ? 1 : 0];
    heads_ = rank == 2 ? 1 : k.shape[rank - 2];
    dk_ = k.shape.back();
    if (batch < 1 || per_batch < 1 || heads_ < 1 || dk_ < 1) {
      throw InputError("npy-gdn " + k_path + ": shape " + ShapeText(k.shape) +
                       " is empty (allowed: every dimension >= 1)");
    }
    if (dk_ > 4096 || heads_ > 4096) {
      throw InputError("npy-gdn " + k_path + ": shape " + ShapeText(k.shape) +
                       " (allowed: H and d_k at most 4096)");
    }
    tokens_ = batch * per_batch;
    // Leading dimensions every per-token file shares with k.
    std::vector<int64_t> lead(k.shape.begin(),
                              k.shape.begin() + (batched_ ? 2 : 1));

    // beta and g give the value-head count HV.
    const std::string beta_path = dir + "/beta.npy";
    const std::string g_path = dir + "/g.npy";
    NpyArray beta = ReadFloatNpy(beta_path, "npy-gdn beta", &beta_);
    NpyArray g = ReadFloatNpy(g_path, "npy-gdn g", &g_);
    v_heads_ = GateHeads(beta, beta_path, lead);
    // g as beta ([.., T, HV]: one log-decay per token) or beta's shape +
    // [d_k] (Kimi Linear's KDA, fla/ops/kda: g [B, T, HV, K]).
    std::vector<int64_t> per_channel = beta.shape;
    per_channel.push_back(dk_);
    if (g.shape == per_channel) {
      per_channel_ = true;
    } else if (g.shape != beta.shape) {
      throw InputError("npy-gdn " + g_path + ": shape " + ShapeText(g.shape) +
                       " (allowed: beta's " + ShapeText(beta.shape) +
                       ", one log-decay per token, or " +
                       ShapeText(per_channel) + ", per channel as KDA)");
    }
    if (v_heads_ % heads_ != 0) {
      throw InputError("npy-gdn " + beta_path + ": " +
                       std::to_string(v_heads_) +
                       " value heads is not a multiple of k's " +
                       std::to_string(heads_) + " heads");
    }
    CheckGateValues(beta_, beta_path, g_, g_path, opt_.any_beta);

    std::vector<int64_t> want = lead;
    if (rank != 2) want.push_back(heads_);
    want.push_back(dk_);
    if (LoadOptional(dir + "/q.npy", "q", &queries_) && shape_ != want) {
      throw InputError("npy-gdn " + dir + "/q.npy: shape " + ShapeText(shape_) +
                       " differs from k's " + ShapeText(k.shape) +
                       " (allowed: k's shape)");
    }
    if (LoadOptional(dir + "/v.npy", "v", &values_)) {
      const bool ok =
          shape_.size() == rank &&
          std::equal(lead.begin(), lead.end(), shape_.begin()) &&
          (rank == 2 ? v_heads_ == 1 : shape_[rank - 2] == v_heads_) &&
          shape_.back() >= 1 && shape_.back() <= 4096;
      if (!ok) {
        std::vector<int64_t> allowed = lead;
        if (rank != 2) allowed.push_back(v_heads_);
        throw InputError("npy-gdn " + dir + "/v.npy: shape " +
                         ShapeText(shape_) +
                         " (allowed: " + ShapeText(allowed) +
                         " + [d_v], the value heads of beta/g)");
      }
      dv_ = shape_.back();
    }

    // Sequences.
    const std::string seqlens_path = dir + "/cu_seqlens.npy";
    if (FileExists(seqlens_path)) {
      if (batch != 1) {
        throw InputError("npy-gdn " + seqlens_path +
                         ": given with batch B = " + std::to_string(batch) +
                         " (allowed: B = 1, as FLA's varlen API)");
      }
      starts_ = ReadSeqlens(seqlens_path, tokens_);
      used_.push_back("cu_seqlens.npy");
    } else {
      for (int64_t b = 0; b <= batch; ++b) starts_.push_back(b * per_batch);
    }
    const int64_t sequences = static_cast<int64_t>(starts_.size()) - 1;

    const std::string state_path = dir + "/state.npy";
    if (FileExists(state_path)) {
      if (!opt_.carry) {
        notices_.push_back("npy-gdn " + state_path +
                           ": not used with carry=off (every chunk starts "
                           "from a zero state)");
      } else {
        ReadFloatNpy(state_path, "npy-gdn state", &state_);
        const NpyArray st = ReadNpy(state_path);
        const std::vector<int64_t> per_seq = {sequences, v_heads_, dk_, dv_};
        const std::vector<int64_t> single = {v_heads_, dk_, dv_};
        if (st.shape == single && sequences == 1) {
        } else if (st.shape != per_seq) {
          throw InputError("npy-gdn " + state_path + ": shape " +
                           ShapeText(st.shape) +
                           " (allowed: " + ShapeText(per_seq) +
                           (sequences == 1 ? " or " + ShapeText(single) : "") +
                           ", [N, HV, d_k, d_v])");
        }
        used_.push_back("state.npy");
      }
    }
    // Chunk windows, tails zero-padded.
    for (int64_t s = 0; s < sequences; ++s) {
      for (int64_t t = starts_[s]; t < starts_[s + 1]; t += chunk_) {
        windows_.push_back(
            {s, t,
             static_cast<int>(std::min<int64_t>(chunk_, starts_[s + 1] - t))});
        padded_ += chunk_ - windows_.back().len;
      }
    }
    // Files the reader does not use.
    const std::vector<std::string> known = {
        "k.npy", "q.npy",          "v.npy",    "beta.npy",
        "g.npy", "cu_seqlens.npy", "state.npy"};
    if (DIR* d = ::opendir(dir.c_str())) {
      std::vector<std::string> unused;
      while (const dirent* e = ::readdir(d)) {
        const std::string name = e->d_name;
        if (name == "." || name == "..") continue;
        if (std::find(known.begin(), known.end(), name) == known.end()) {
          unused.push_back(name);
        }
      }
      ::closedir(d);
      std::sort(unused.begin(), unused.end());
      for (const std::string& name : unused) {
        notices_.push_back("npy-gdn " + dir + "/" + name +
                           ": not used (the reader takes k, q, v, beta, g, "
                           "cu_seqlens, state .npy)");
      }
    }
    if (per_channel_) {
      notices_.push_back("npy-gdn " + g_path + ": shape " + ShapeText(g.shape) +
                         ": per-channel log-decay (KDA gates)");
    }
    if (padded_ > 0) {
      notices_.push_back("npy-gdn " + dir + ": " + std::to_string(padded_) +
                         " tokens of zero padding complete sequence tails "
                         "shorter than the chunk " +
                         std::to_string(chunk_) + " (as kernels pad)");
    }
  }

  std::string Name() const override {
    std::string name = "npy-gdn:" + dir_;
    if (opt_.carry) name += ",carry=on";
    if (!opt_.l2norm) name += ",l2norm=off";
    if (opt_.any_beta) name += ",beta_range=any";
    return name;
  }
  bool HasGdn() const override { return true; }
  int Chunk() const override { return chunk_; }
  bool Carry() const override { return opt_.carry; }
  long long Available() const override {
    return opt_.carry ? (static_cast<long long>(starts_.size()) - 1) * v_heads_
                      : static_cast<long long>(windows_.size()) * v_heads_;
  }
  long long PaddedTokens() const override { return padded_ * v_heads_; }
  std::vector<std::string> Notices() const override { return notices_; }

  ChunkSample Sample(long long index) const override {
    TRISIM_ASSERT(index >= 0 && index < Available());
    if (opt_.carry) {
      SequenceSample seq = Sequence(index);
      ChunkSample s;
      s.a = BuildA(seq.chunks[0]);
      s.gdn = std::move(seq.chunks[0]);
      return s;
    }
    const int64_t head = index % v_heads_;
    const Window& w = windows_[index / v_heads_];
    Rng rng(seed_, static_cast<uint64_t>(index));
    GdnChunk c = MakeChunk(rng, head, w.start, w.len);
    ChunkSample s;
    s.a = BuildA(c);
    s.gdn = std::move(c);
    return s;
  }

  SequenceSample Sequence(long long index) const override {
    TRISIM_ASSERT(opt_.carry && index >= 0 && index < Available());
    const int64_t head = index % v_heads_;
    const int64_t seq = index / v_heads_;
    Rng rng(seed_, static_cast<uint64_t>(index));
    SequenceSample out;
    for (const Window& w : windows_) {
      if (w.sequence != seq) continue;
      out.chunks.push_back(MakeChunk(rng, head, w.start, w.len));
      out.padded = chunk_ - w.len;
    }
    if (!state_.empty()) {
      Mat& s0 = out.chunks[0].state;
      const size_t base =
          static_cast<size_t>(seq * v_heads_ + head) * dk_ * dv_;
      for (int64_t i = 0; i < dk_; ++i) {
        for (int64_t j = 0; j < dv_; ++j) s0(i, j) = state_[base + i * dv_ + j];
      }
    }
    return out;
  }

 private:
  struct Window {
    int64_t sequence;
    int64_t start;
    int len;
  };

  // HV from beta's shape: lead + [HV], or [T] for one head (unbatched).
  int64_t GateHeads(const NpyArray& a, const std::string& path,
                    const std::vector<int64_t>& lead) const {
    const auto& s = a.shape;
    if (!batched_ && s.size() == 1 && s[0] == lead[0]) return 1;
    if (s.size() == lead.size() + 1 &&
        std::equal(lead.begin(), lead.end(), s.begin()) && s.back() >= 1 &&
        s.back() <= 4096) {
      return s.back();
    }
    std::vector<int64_t> allowed = lead;
    allowed.push_back(heads_);
    throw InputError("npy-gdn " + path + ": shape " + ShapeText(s) +
                     " (allowed: " + ShapeText(allowed) +
                     " or a multiple of k's heads H = " +
                     std::to_string(heads_) + " in the last dimension)");
  }

  GdnChunk MakeChunk(Rng& rng, int64_t head, int64_t start, int len) const {
    const int64_t ratio = v_heads_ / heads_;
    const int64_t key_head = head / ratio;  // repeat_interleave (Qwen3-Next)
    GdnChunk c;
    c.k = Mat::Zero(chunk_, dk_);
    c.q = Mat::Zero(chunk_, dk_);
    c.v = Mat::Zero(chunk_, dv_);
    c.beta = Vec::Zero(chunk_);
    if (per_channel_) {
      c.gk = Mat::Zero(chunk_, dk_);
    } else {
      c.g = Vec::Zero(chunk_);
    }
    for (int t = 0; t < len; ++t) {
      const int64_t token = start + t;
      c.beta[t] = beta_[token * v_heads_ + head];
      if (per_channel_) {
        for (int64_t d = 0; d < dk_; ++d) {
          c.gk(t, d) = g_[(token * v_heads_ + head) * dk_ + d];
        }
      } else {
        c.g[t] = g_[token * v_heads_ + head];
      }
      Vec key(dk_), query(dk_);
      for (int64_t i = 0; i < dk_; ++i) {
        key[i] = keys_[(token * heads_ + key_head) * dk_ + i];
        query[i] = queries_.empty()
                       ? rng.Normal()
                       : queries_[(token * heads_ + key_head) * dk_ + i];
      }
      if (opt_.l2norm) {
        // L2-normalised as kernels do (use_qk_l2norm_in_kernel).
        key /= std::max(key.norm(), 1e-300);
        query /= std::max(query.norm(), 1e-300);
      }
      c.k.row(t) = key.transpose();
      c.q.row(t) = query.transpose() / std::sqrt(static_cast<double>(dk_));
      for (int64_t j = 0; j < dv_; ++j) {
        c.v(t, j) = values_.empty()
                        ? rng.Normal()
                        : values_[(token * v_heads_ + head) * dv_ + j];
      }
    }
    c.state = Mat::Zero(dk_, dv_);
    return c;
  }

  bool LoadOptional(const std::string& path, const std::string& name,
                    std::vector<double>* values) {
    if (!FileExists(path)) return false;
    shape_ = ReadFloatNpy(path, "npy-gdn " + name, values).shape;
    return true;
  }

  std::string dir_;
  CapturedOptions opt_;
  int chunk_;
  uint64_t seed_;
  bool batched_ = false;
  bool per_channel_ = false;  // g [.., T, HV, d_k] (KDA)
  int64_t tokens_ = 0;
  int64_t heads_ = 1;
  int64_t v_heads_ = 1;
  int64_t dk_ = 0;
  int64_t dv_ = 128;
  std::vector<int64_t> shape_;  // of the last optional file read
  std::vector<double> keys_, values_, queries_, beta_, g_, state_;
  std::vector<int64_t> starts_;
  std::vector<Window> windows_;
  long long padded_ = 0;  // per value head
  std::vector<std::string> used_, notices_;
};

CapturedOptions ParseCapturedOptions(const std::string& body,
                                     std::string* dir) {
  CapturedOptions opt;
  std::stringstream ss(body);
  std::string item;
  std::getline(ss, *dir, ',');
  while (std::getline(ss, item, ',')) {
    const auto eq = item.find('=');
    const std::string key = item.substr(0, eq);
    const std::string value =
        eq == std::string::npos ? "" : item.substr(eq + 1);
    auto onoff = [&](const char* on, const char* off) {
      if (value != on && value != off) {
        throw InputError("--input npy-gdn " + key + ": expected " + on +
                         " or " + off + ", got '" + value + "'");
      }
      return value == on;
    };
    if (key == "carry") {
      opt.carry = onoff("on", "off");
    } else if (key == "l2norm") {
      opt.l2norm = onoff("on", "off");
    } else if (key == "beta_range") {
      opt.any_beta = onoff("any", "unit");
    } else {
      throw InputError("--input npy-gdn: unknown key '" + item +
                       "' (known: carry=on|off, l2norm=on|off, "
                       "beta_range=unit|any)");
    }
  }
  return opt;
}

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

SequenceSample InputSource::Sequence(long long) const {
  TRISIM_ASSERT(false && "Sequence() on an input without carry mode");
  return {};
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
    std::string dir;
    const CapturedOptions opt = ParseCapturedOptions(body, &dir);
    return std::make_unique<CapturedGdnSource>(dir, opt, chunk, seed);
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
