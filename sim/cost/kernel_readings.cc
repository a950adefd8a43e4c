#include "sim/cost/kernel_readings.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "core/status.h"

namespace trisim {
namespace {

constexpr int kCube = 0;     // core index of the group's cube core
constexpr int kVector0 = 1;  // its first vector core
constexpr int kVector1 = 2;
constexpr double kRepeat = 256;  // bytes per vector repeat (NPU.md)

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

  // A vector op over `bytes` of UB data.
  void Vector(int core, double bytes, bool mul, bool sync,
              std::vector<int> reads, std::vector<int> writes,
              std::string what) {
    KInstr in;
    in.kind = KInstr::Kind::kVector;
    in.core = core;
    in.repeats = std::max(1.0, std::ceil(bytes / kRepeat));
    in.mul = mul;
    in.scalar_sync = sync;
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

// ---------------------------------------------------------------------------
// Triton solve_tril (sgl-kernel-npu fla/solve_tril.py).

constexpr int kTritonBlocksPerProgram = 76;  // 2 tasks of 38 (KERNELS.md 2)

// K1, one program: per task, 38 strided 16 x 16 loads (one tl.load each),
// then the 15 substitution steps as whole-tensor fp32 ops over the 38
// blocks (extract a row slice, broadcast-multiply, 3-D transpose, reduce
// over 16, add, insert), each a dependent vector op synced with the scalar
// unit, then one strided store of the task's inverted blocks.
void TritonK1(Stream& s, int in_bytes, int out_bytes) {
  const int tasks = 2, blocks = kTritonBlocksPerProgram / tasks;
  const int gm_in = s.Buffer("GM.A"), gm_out = s.Buffer("GM.Ad");
  const int a = s.Buffer("UB.b_A"), row = s.Buffer("UB.b_a"),
            tmp = s.Buffer("UB.dot_tmp"), red = s.Buffer("UB.dot_product"),
            orig = s.Buffer("UB.local_ori_A");
  const double block32 = 16 * 16 * 4.0;  // one fp32 block
  for (int task = 0; task < tasks; ++task) {
    for (int b = 0; b < blocks; ++b) {
      s.Move(kVector0, KPath::kGmToUb, 16 * 16 * in_bytes, {gm_in}, {orig},
             "tl.load 16x16");
    }
    s.Vector(kVector0, blocks * block32, false, true, {orig}, {a},
             "cast + insert_slice");
    s.Vector(kVector0, blocks * block32, false, true, {a}, {orig},
             "tl.trans (1, 0, 2)");
    s.Vector(kVector0, blocks * block32, true, true, {a}, {a}, "-b_A * mask");
    for (int i = 1; i < 16; ++i) {
      s.Vector(kVector0, blocks * 16 * 4.0, false, true, {orig}, {row},
               "extract_slice row");
      s.Vector(kVector0, blocks * block32, true, true, {row, a}, {tmp},
               "b_a[:, :, None] * b_A");
      s.Vector(kVector0, blocks * block32, false, true, {tmp}, {tmp},
               "tl.trans (1, 0, 2)");
      for (int half = 8; half >= 1; half /= 2) {
        s.Vector(kVector0, blocks * half * 16 * 4.0, false, true, {tmp},
                 {half == 1 ? red : tmp}, "tl.sum axis 0");
      }
      s.Vector(kVector0, blocks * 16 * 4.0, false, true, {row, red}, {row},
               "b_a + dot");
      s.Vector(kVector0, blocks * 16 * 4.0, false, true, {row, a}, {a},
               "insert_slice row");
    }
    s.Vector(kVector0, blocks * block32, false, true, {a}, {a},
             "where diag + 1");
    s.Move(kVector0, KPath::kUbToGm, blocks * 16 * 16.0 * out_bytes, {a},
           {gm_out}, "tl.store Ad");
  }
}

// K2, one chunk per program: the merges of KERNELS.md section 2 (2 dots at
// C = 32, 6 at C = 64), fp32 ieee dots. Tensors live in UB: every dot's
// operands go UB -> GM -> L1 and its result L0C -> GM -> UB, with a
// cross-core flag each way (the hand-offs are the core changes below).
void TritonK2(Stream& s, int c, int in_bytes, int out_bytes) {
  const int gm_a = s.Buffer("GM.A"), gm_ad = s.Buffer("GM.Ad"),
            gm_ai = s.Buffer("GM.Ai"), gm_x = s.Buffer("GM.xfer");
  const int ub = s.Buffer("UB.tiles"), l1a = s.Buffer("L1.a"),
            l1b = s.Buffer("L1.b"), l0a = s.Buffer("L0A"),
            l0b = s.Buffer("L0B"), l0c = s.Buffer("L0C");
  const auto dot = [&](int n, const char* what) {
    const double bytes = 1.0 * n * n * 4;
    s.Move(kVector0, KPath::kUbToGm, 2 * bytes, {ub}, {gm_x},
           "operands UB -> GM");
    s.Move(kCube, KPath::kGmToL1, bytes, {gm_x}, {l1a}, "GM -> L1 (a)");
    s.Move(kCube, KPath::kGmToL1, bytes, {gm_x}, {l1b}, "GM -> L1 (b)");
    s.Move(kCube, KPath::kL1ToL0A, bytes, {l1a}, {l0a}, "L1 -> L0A");
    s.Move(kCube, KPath::kL1ToL0B, bytes, {l1b}, {l0b}, "L1 -> L0B");
    s.Mmad(n, n, n, {l0a, l0b}, {l0c}, what, false, true);
    s.Move(kCube, KPath::kL0cToGm, bytes, {l0c}, {gm_x}, "FIXPIPE -> GM");
    s.Move(kVector0, KPath::kGmToUb, bytes, {gm_x}, {ub}, "GM -> UB");
    s.Vector(kVector0, bytes, false, true, {ub}, {ub}, "negate / insert");
  };
  // Loads of the diagonal inverses (K1's output) and the blocks of A.
  s.Move(kVector0, KPath::kGmToUb, 1.0 * c * 16 * out_bytes, {gm_ad}, {ub},
         "load Ad blocks");
  s.Move(kVector0, KPath::kGmToUb, 1.0 * c * c * in_bytes, {gm_a}, {ub},
         "load A blocks");
  if (c >= 32) {
    dot(16, "tl.dot Ai_22 A_21");
    dot(16, "tl.dot tmp Ai_11");
  }
  if (c >= 64) {
    dot(16, "tl.dot Ai_44 A_43");
    dot(16, "tl.dot tmp Ai_33");
    for (int k = 0; k < 6; ++k) {
      s.Vector(kVector0, 32 * 32 * 4.0, false, true, {ub}, {ub},
               "insert_slice 32x32");
    }
    dot(32, "tl.dot Ai_22_32 A_21_32");
    dot(32, "tl.dot tmp Ai_11_32");
  }
  s.Move(kVector0, KPath::kUbToGm, 1.0 * c * c * out_bytes, {ub}, {gm_ai},
         "tl.store Ai");
}

// ---------------------------------------------------------------------------
// tilelang solve_tril (opt_gdn_solve_tril.py): 32 x 32 blocks solved row by
// row on the vector cores with full-width 32 x 32 fp32 tile ops, each
// dependent op synced with the scalar unit; merges on the cube through GM.

void TilelangBlock(Stream& s, int core, int index, int gm_a, int gm_o) {
  const std::string v = "V" + std::to_string(core) + ".";
  const int o = s.Buffer(v + "o_ub"), row = s.Buffer(v + "o_row_ub"),
            row2d = s.Buffer(v + "o_row_2d_ub"), mul = s.Buffer(v + "mul_ub"),
            red = s.Buffer(v + "red_ub"), half = s.Buffer(v + "o_ub_half"),
            i = s.Buffer(v + "i_ub");
  const double tile32 = 32 * 32 * 4.0;
  (void)index;
  s.Move(core, KPath::kGmToUb, 32 * 32 * 2.0, {gm_a}, {half}, "copy A -> UB");
  s.Move(core, KPath::kGmToUb, tile32, {}, {i}, "copy I -> UB");
  s.Vector(core, tile32, false, true, {}, {mul}, "fill mul_ub");
  s.Vector(core, tile32, false, true, {half}, {o}, "cast");
  for (int r = 2; r < 32; ++r) {
    s.Vector(core, 32 * 4.0, false, true, {o}, {row}, "copy row");
    s.Vector(core, tile32, false, true, {row}, {row2d}, "broadcast");
    s.Vector(core, 32 * 4.0, false, true, {}, {red}, "fill red_ub");
    s.Vector(core, tile32, true, true, {o, row2d}, {mul}, "mul");
    for (int h = 16; h >= 1; h /= 2) {
      s.Vector(core, h * 32 * 4.0, false, true, {mul}, {h == 1 ? red : mul},
               "reduce_sum dim 0");
    }
    s.Vector(core, 32 * 4.0, false, true, {o, red}, {o}, "sub row");
  }
  s.Vector(core, tile32, false, true, {i, o}, {o}, "I - (-B)");
  s.Vector(core, tile32, false, true, {o}, {half}, "cast fp16");
  s.Move(core, KPath::kUbToGm, 32 * 32 * 2.0, {half}, {gm_o}, "copy O -> GM");
}

// O_10 = -O_11 A_10 O_00 on the cube for one 32 x 32 pair (n = 32) or the
// 64 x 64 lower-left block (n = 64): two gemms through GM.
void TilelangMerge(Stream& s, int n, int gm_a, int gm_o, int neg_core) {
  const std::string c = "C" + std::to_string(n) + ".";
  const int a21 = s.Buffer(c + "a21_l1"), o11 = s.Buffer(c + "o11_l1"),
            o22 = s.Buffer(c + "o22_l1"), mult = s.Buffer(c + "mult_l1"),
            l0a = s.Buffer("L0A"), l0b = s.Buffer("L0B"),
            l0c1 = s.Buffer(c + "mult_l0"), l0c2 = s.Buffer(c + "final_l0");
  const double t16 = 1.0 * n * n * 2, t32 = 1.0 * n * n * 4;
  s.Move(kCube, KPath::kGmToL1, t16, {gm_a}, {a21}, "copy A21 -> L1");
  s.Move(kCube, KPath::kGmToL1, t16, {gm_o}, {o11}, "copy O11 -> L1");
  s.Move(kCube, KPath::kGmToL1, t16, {gm_o}, {o22}, "copy O22 -> L1");
  s.Move(kCube, KPath::kL1ToL0A, t16, {o22}, {l0a}, "L1 -> L0A");
  s.Move(kCube, KPath::kL1ToL0B, t16, {a21}, {l0b}, "L1 -> L0B");
  s.Mmad(n, n, n, {l0a, l0b}, {l0c1}, "gemm O22 A21");
  s.Move(kCube, KPath::kL0cToGm, t16, {l0c1}, {gm_o}, "FIXPIPE -> GM");
  s.Move(kCube, KPath::kGmToL1, t16, {gm_o}, {mult}, "copy mult -> L1");
  s.Move(kCube, KPath::kL1ToL0A, t16, {mult}, {l0a}, "L1 -> L0A");
  s.Move(kCube, KPath::kL1ToL0B, t16, {o11}, {l0b}, "L1 -> L0B");
  s.Mmad(n, n, n, {l0a, l0b}, {l0c2}, "gemm mult O11");
  s.Move(kCube, KPath::kL0cToGm, t16, {l0c2}, {gm_o}, "FIXPIPE -> GM");
  if (neg_core > 0) {  // vector core negates the block (cross-core flag)
    const std::string v = "V" + std::to_string(neg_core) + ".";
    const int half = s.Buffer(v + "o_ub_half");
    s.Move(neg_core, KPath::kGmToUb, t16, {gm_o}, {half}, "copy O10 -> UB");
    s.Vector(neg_core, t16, false, true, {half}, {half}, "negate");
    s.Move(neg_core, KPath::kUbToGm, t16, {half}, {gm_o}, "copy O10 -> GM");
  }
  (void)t32;
}

void Tilelang(Stream& s, int c) {
  const int gm_a = s.Buffer("GM.A"), gm_o = s.Buffer("GM.O");
  if (c == 32) {  // one chunk per vector core, no cube
    TilelangBlock(s, kVector0, 0, gm_a, gm_o);
    return;
  }
  // Diagonal 32 x 32 blocks: vector core v solves blocks v, v + 2, ...
  const int blocks = c / 32;
  for (int b = 0; b < blocks; ++b) {
    TilelangBlock(s, b % 2 == 0 ? kVector0 : kVector1, b, gm_a, gm_o);
  }
  if (c == 64) {
    TilelangMerge(s, 32, gm_a, gm_o, kVector1);
  } else {
    // C = 128: negate/zero the off-diagonal blocks on the vector cores
    // first, then O_10 and O_32 (two 32-merges), then the 64 x 64 block.
    for (int core : {kVector0, kVector1}) {
      const std::string v = "V" + std::to_string(core) + ".";
      const int half = s.Buffer(v + "o_ub_half");
      s.Move(core, KPath::kGmToUb, 32 * 96 * 2.0, {gm_a}, {half},
             "copy off-diagonal A");
      s.Vector(core, 32 * 96 * 2.0, false, true, {half}, {half}, "negate");
      s.Move(core, KPath::kUbToGm, 32 * 96 * 2.0, {half}, {gm_o},
             "copy -A, zeros -> GM");
    }
    TilelangMerge(s, 32, gm_a, gm_o, 0);
    TilelangMerge(s, 32, gm_a, gm_o, 0);
    TilelangMerge(s, 64, gm_a, gm_o, 0);
  }
}

}  // namespace

std::vector<std::string> KernelReadings() {
  return {"pto-mxr", "triton-solve-tril", "tilelang-solve-tril"};
}

std::vector<int> KernelChunks(const std::string& name) {
  if (name == "pto-mxr") {
    return {16, 32, 64, 128};
  }
  if (name == "triton-solve-tril") return {16, 32, 64};
  if (name == "tilelang-solve-tril") return {32, 64, 128};
  return {};
}

KernelProgram ReadKernel(const std::string& name, int chunk,
                         const KernelWorkload& w, int cube_cores,
                         int vector_cores) {
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
  } else if (name == "triton-solve-tril") {
    fill(w.output_bytes);
    KLaunch k1;
    k1.name = "K1 solve_tril_16x16";
    k1.items = CeilDiv(p.chunks * chunk / 16, kTritonBlocksPerProgram);
    k1.cores = vector_cores;
    k1.per_program_overhead = true;
    Stream s1(k1);
    TritonK1(s1, w.input_bytes, w.output_bytes);
    p.launches.push_back(std::move(k1));
    if (chunk > 16) {
      KLaunch k2;
      k2.name = "K2 merge";
      k2.items = p.chunks;
      k2.cores = cube_cores;
      k2.per_program_overhead = true;
      Stream s2(k2);
      TritonK2(s2, chunk, w.input_bytes, w.output_bytes);
      p.launches.push_back(std::move(k2));
    }
  } else {  // tilelang-solve-tril: fp16 out, one chunk per core group
    fill(2);
    KLaunch l;
    l.name = name;
    Stream s(l);
    Tilelang(s, chunk);
    if (chunk == 32) {  // each vector core takes a chunk
      l.items = p.chunks;
      l.cores = vector_cores;
    } else {
      l.items = p.chunks;
      l.cores = cube_cores;
    }
    p.launches.push_back(std::move(l));
  }
  return p;
}

}  // namespace trisim
