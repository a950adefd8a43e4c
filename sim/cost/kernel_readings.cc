#include "sim/cost/kernel_readings.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "core/status.h"

namespace trisim {
namespace {

constexpr int kCube = 0;  // core index of the group's cube core

// Appends instructions of one work item over named buffers.
class Stream {
 public:
  explicit Stream(KLaunch& launch) : l_(launch) {}

  int Buffer(const std::string& name, bool per_slot = false) {
    const auto it = ids_.find(name);
    if (it != ids_.end()) return it->second;
    l_.buffers.push_back(KBuffer{name, per_slot});
    return ids_[name] = static_cast<int>(l_.buffers.size()) - 1;
  }

  void Move(int core, KPath path, double bytes, std::vector<int> reads,
            std::vector<int> writes, std::string what) {
    KInstr in;
    in.kind = KInstr::Kind::kMove;
    in.core = core;
    in.path = path;
    in.bytes = bytes;
    in.reads = std::move(reads);
    in.writes = std::move(writes);
    in.what = std::move(what);
    l_.item.push_back(std::move(in));
  }

  void Mmad(int m, int n, int k, std::vector<int> reads,
            std::vector<int> writes, std::string what, bool int8 = false,
            bool fp32 = false) {
    KInstr in;
    in.kind = KInstr::Kind::kMmad;
    in.core = kCube;
    in.m = m;
    in.n = n;
    in.k = k;
    in.int8 = int8;
    in.fp32 = fp32;
    in.reads = std::move(reads);
    in.writes = std::move(writes);
    in.what = std::move(what);
    l_.item.push_back(std::move(in));
  }

 private:
  KLaunch& l_;
  std::map<std::string, int> ids_;
};

long long CeilDiv(long long a, long long b) { return (a + b - 1) / b; }

KLaunch ZeroFill(double bytes) {
  KLaunch fill;
  fill.name = "zero-fill";
  fill.zero_fill_bytes = bytes;
  return fill;
}

// ---------------------------------------------------------------------------
// pto-mxr (kernel_tri_inv_rec_unroll.cpp), one chunk per work item.

struct CubeTiles {
  int gm_in, y, x, m_neg, i, i_neg, zero, a0, a1, b0, b1, c0, c1, gm_out;
};

CubeTiles CubeSetup(Stream& s) {
  CubeTiles t;
  t.gm_in = s.Buffer("GM.L", true);
  t.y = s.Buffer("L1.Y", true);  // Y_l1_tile[NumTilesPerCubeIter]
  t.x = s.Buffer("L1.X");
  t.m_neg = s.Buffer("L1.M_neg");
  t.i = s.Buffer("L1.I");
  t.i_neg = s.Buffer("L1.I_neg");
  t.zero = s.Buffer("L1.Zero");
  t.a0 = s.Buffer("L0A.0");
  t.a1 = s.Buffer("L0A.1");
  t.b0 = s.Buffer("L0B.0");
  t.b1 = s.Buffer("L0B.1");
  t.c0 = s.Buffer("L0C.0");
  t.c1 = s.Buffer("L0C.1");
  t.gm_out = s.Buffer("GM.X", true);
  return t;
}

void Mxr(Stream& s, int c, int in_bytes) {
  const CubeTiles t = CubeSetup(s);
  const double tile = 1.0 * c * c * 2;  // fp16 operand tile
  const double frac = 16 * 16 * 2;      // one fractal extract
  const auto mte1a = [&](int from, int to, const char* what) {
    s.Move(kCube, KPath::kL1ToL0A, tile, {from}, {to}, what);
  };
  const auto mte1b = [&](int from, int to, const char* what) {
    s.Move(kCube, KPath::kL1ToL0B, tile, {from}, {to}, what);
  };
  const auto mmad = [&](std::vector<int> r, int out, const char* what) {
    s.Mmad(c, c, c, std::move(r), {out}, what);
  };
  const auto fix = [&](int from, int to, const char* what) {
    s.Move(kCube, KPath::kL0cToL1, tile, {from}, {to}, what);
  };
  s.Move(kCube, KPath::kGmToL1, 1.0 * c * c * in_bytes, {t.gm_in}, {t.y},
         "TLOAD L -> L1.Y");
  mte1b(t.y, t.b0, "TMOV M -> L0B");
  mte1a(t.i_neg, t.a0, "TMOV -I -> L0A");
  mte1a(t.zero, t.a1, "TMOV 0 -> L0A");
  mte1b(t.zero, t.b1, "TMOV 0 -> L0B");
  for (int f = 0; f < c / 16; ++f) {
    s.Move(kCube, KPath::kL1ToL0A, frac, {t.y}, {t.a1}, "TEXTRACT diag");
  }
  for (int f = 0; f < c / 16; ++f) {
    s.Move(kCube, KPath::kL1ToL0B, frac, {t.y}, {t.b1}, "TEXTRACT diag");
  }
  mmad({t.a0, t.b0}, t.c0, "TMATMUL -M");
  fix(t.c0, t.m_neg, "FIXPIPE -> L1.M_neg");
  mmad({t.a1, t.b1}, t.c1, "TMATMUL diag(M)^2");
  fix(t.c1, t.y, "FIXPIPE -> L1.Y");
  mte1b(t.i_neg, t.b0, "TMOV -I -> L0B");
  mte1a(t.i_neg, t.a0, "TMOV -I -> L0A");
  mmad({t.a1, t.b0}, t.c0, "TMATMUL -diag(M)");
  mmad({t.c0, t.a0, t.b0}, t.c0, "TMATMUL_ACC I - diag(M)");
  fix(t.c0, t.x, "FIXPIPE -> L1.X");
  for (int bs = 1; bs < 8; bs *= 2) {  // repeated squaring on 16 x 16 blocks
    mte1b(t.i, t.b0, "TMOV I -> L0B");
    mte1a(t.x, t.a0, "TMOV X -> L0A");
    mte1b(t.y, t.b1, "TMOV Y -> L0B");
    mmad({t.a0, t.b0}, t.c0, "TMATMUL X I");
    if (bs < 4) {
      mte1a(t.y, t.a1, "TMOV Y -> L0A");
      mmad({t.a1, t.b1}, t.c1, "TMATMUL Y Y");
      fix(t.c1, t.y, "FIXPIPE -> L1.Y");
    }
    mmad({t.c0, t.a0, t.b1}, t.c0, "TMATMUL_ACC X + X Y");
    fix(t.c0, t.x, "FIXPIPE -> L1.X");
  }
  mte1b(t.m_neg, t.b1, "TMOV -M -> L0B");
  mte1a(t.i, t.a0, "TMOV I -> L0A");
  int final_c = t.c0;
  for (int bs = 16; bs < c; bs *= 2) {  // unrolled recursion (merges)
    const int extracts = (bs / 16) * (bs / 16) * (c / bs) / 2;
    mte1a(t.zero, t.a1, "TMOV 0 -> L0A");
    mte1b(t.i, t.b0, "TMOV I -> L0B");
    for (int e = 0; e < extracts; ++e) {
      s.Move(kCube, KPath::kL1ToL0A, frac, {t.x}, {t.a1}, "TEXTRACT even");
    }
    mmad({t.a0, t.b0}, t.c0, "TMATMUL I");
    mmad({t.a1, t.b0}, t.c1, "TMATMUL LX");
    mmad({t.c0, t.a1, t.b1}, t.c0, "TMATMUL_ACC LX (-M) + I");
    fix(t.c0, t.y, "FIXPIPE -> L1.Y");
    mte1b(t.zero, t.b0, "TMOV 0 -> L0B");
    for (int e = 0; e < extracts; ++e) {
      s.Move(kCube, KPath::kL1ToL0B, frac, {t.x}, {t.b0}, "TEXTRACT odd");
    }
    mte1a(t.y, t.a1, "TMOV Y -> L0A");
    mmad({t.c1, t.a1, t.b0}, t.c1, "TMATMUL_ACC Y RX + LX");
    if (bs < c / 2) fix(t.c1, t.x, "FIXPIPE -> L1.X");
    final_c = t.c1;
  }
  s.Move(kCube, KPath::kL0cToGm, 1.0 * c * c * 4, {final_c}, {t.gm_out},
         "TSTORE X (fp32) -> GM");
}

}  // namespace

bool PlanForReading(const std::string& name, std::string* method,
                    std::string* kernel) {
  if (name != "triton-solve-tril" && name != "tilelang-solve-tril") {
    return false;
  }
  *method = "fla";
  *kernel = name == "triton-solve-tril" ? "triton-ascend" : "tilelang";
  return true;
}

std::vector<std::string> KernelReadings() { return {"pto-mxr"}; }

std::vector<int> KernelChunks(const std::string& name) {
  if (name == "pto-mxr") {
    return {16, 32, 64, 128};
  }
  return {};
}

KernelProgram ReadKernel(const std::string& name, int chunk,
                         const KernelWorkload& w, int cube_cores,
                         int /*vector_cores*/) {
  const std::vector<int> chunks = KernelChunks(name);
  if (chunks.empty()) {
    std::string known;
    for (const auto& k : KernelReadings())
      known += (known.empty() ? "" : ", ") + k;
    throw InputError("--kernel " + name + ": unknown kernel (known: " + known +
                     ")");
  }
  if (std::find(chunks.begin(), chunks.end(), chunk) == chunks.end()) {
    std::string allowed;
    for (int c : chunks) {
      allowed += (allowed.empty() ? "" : ", ") + std::to_string(c);
    }
    throw InputError("--kernel " + name + " --chunk " + std::to_string(chunk) +
                     ": the kernel supports C in {" + allowed + "}");
  }
  if (w.batch < 1 || w.heads < 1 || w.seq < 1) {
    throw InputError("kernel workload: batch, heads and seq must be >= 1");
  }
  KernelProgram p;
  p.name = name;
  p.chunk = chunk;
  p.chunks = w.batch * w.heads * CeilDiv(w.seq, chunk);
  const double elements = 1.0 * p.chunks * chunk * chunk;
  const auto fill = [&](int out_bytes) {
    if (w.zero_fill) p.launches.push_back(ZeroFill(elements * out_bytes));
  };
  if (name == "pto-mxr") {
    fill(4);  // the kernel writes fp32
    KLaunch l;
    l.name = name;
    // NumTilesPerCubeIter = 4 when there are more than 2 tiles per core.
    l.slots = p.chunks > 2LL * cube_cores ? 4 : p.chunks > cube_cores ? 2 : 1;
    l.items = p.chunks;
    l.cores = cube_cores;
    Stream s(l);
    Mxr(s, chunk, w.input_bytes);
    p.launches.push_back(std::move(l));
  }
  return p;
}

}  // namespace trisim
