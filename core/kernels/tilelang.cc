// tilelang: the tilelang-ascend solve_tril, huawei-csl/gdn-tri-inverse
// src/gdn_tri_inverse/tilelang_chunk_gdn/opt_gdn_solve_tril.py (d12ad04,
// copied there from tile-ai/tilelang-ascend examples/linear_attention_and_rnn
// /opt_gdn at 36bf582), as a kernel plan (KERNELS.md section 3). C = 32
// (solve_tril_ker), 64 (solve_tril_64_ker), 128 (solve_tril_128_ker); dtype
// (A and O) is the recipe's input / output format (float16 in the source),
// accum_dtype fp32 (the vector tiles).
//
// Diagonal 32 x 32 blocks (F = 32; at C = 32 the whole chunk) on a vector
// core, in fp32 UB tiles: o = A_blk (fp16 -> fp32); for i = 2..F-1:
//   o_row = o[i, :]; o_row_2d = broadcast; mul = o * o_row_2d;
//   red = reduce_sum(mul, dim=0); o[i, :] = o[i, :] - red
// (kForwardRow's lane form with sign -1: the lanes are the working row,
// A[i, :] before the update), then o = I - o, cast to dtype (o_ub_half) and
// copied to O in GM.
// C = 64: vector core vid solves O_vv, sets a cross-core flag; the cube
// loads A_10 (dtype) and O_00, O_11 from GM (dtype), gemm O_11 A_10 -> L0C
// -> FIXPIPE to O_10 in GM (dtype), reloads it, gemm (O_11 A_10) O_00 ->
// FIXPIPE to O_10 (dtype), cross-core flag; vector core 1 reloads it and
// writes O_10 = 0 - O_10 in dtype; vector core 0 zero-fills O_01.
// C = 128: the vector cores first write O_ij = 0 - A_ij (dtype) below the
// diagonal blocks and zeros above, then the four diagonal blocks (two per
// vector core); the cube forms O_10 = O_11 ((-A_10) O_00) and O_32 likewise
// through GM, then [O_20 O_21; O_30 O_31] = [O_22 0; O_32 O_33]
// ([-A_20 -A_21; -A_30 -A_31] [O_00 0; O_10 O_11]) with 64 x 64 gemms, every
// product leaving L0C by FIXPIPE to GM in dtype and reloaded.
// Setting (open in the source): `reduce`, the order of reduce_sum over
// dim 0: sequential (row after row, default) or halving (pairwise tree).
#include <string>

#include "core/kernels/all.h"
#include "core/kernels/row_reduce.h"
#include "core/status.h"

namespace trisim::kernels {
namespace {

constexpr int kF = 32;

class TilelangEmitter {
 public:
  TilelangEmitter(PlanBuilder& b, int n, Step::RowReduce order)
      : b_(b), n_(n), order_(order) {}

  void Emit(View l, View x) {
    using P = KernelPipe;
    auto& facts = b_.Kernel();
    facts.items_loaded_per_core = 1;
    facts.items_computed_per_core = 1;
    b_.BeginLaunch({n_ == 32   ? "solve_tril_ker"
                    : n_ == 64 ? "solve_tril_64_ker"
                               : "solve_tril_128_ker",
                    n_ == 32 ? Launch::Cores::kVector : Launch::Cores::kMixed,
                    false,
                    "one chunk per (1 cube + 2 vector) core group; manual "
                    "synchronisation, no double buffering"});
    const View eye = b_.NewTile("I_ub", kF, kF, Memory::kUB, FormatClass::kFp32,
                                BufferRole::kConstant);
    b_.SetOncePerCore(true);
    b_.SetIdentity(eye, "T.copy(I, i_ub)");
    b_.SetOncePerCore(false);
    eye_ = eye;
    const auto o = [&](int i, int j, int size) {
      return x.Block(i * kF, j * kF, size, size);
    };
    const auto a = [&](int i, int j, int size) {
      return l.Block(i * kF, j * kF, size, size);
    };
    if (n_ == 32) {
      Diagonal(o(0, 0, kF), a(0, 0, kF), 0);
      return;
    }
    if (n_ == 64) {
      for (int v = 0; v < 2; ++v) {
        b_.PushCopy("vector core", v);
        b_.SetVectorCore(v);
        Diagonal(o(v, v, kF), a(v, v, kF), v);
        b_.CrossCoreSet(P::kMTE3, P::kMTE2, 0);
        b_.PopCopy();
      }
      b_.SetVectorCore(0);
      Zero(o(0, 1, kF), "O_01 = 0");
      // Cube.
      const View a21 = LoadL1(a(1, 0, kF), "a21_l1");
      b_.CrossCoreWait(P::kMTE3, P::kMTE2, 0);
      const View o11 = LoadL1(o(0, 0, kF), "o11_l1");
      const View o22 = LoadL1(o(1, 1, kF), "o22_l1");
      Gemm(o22, a21, o(1, 0, kF), "O_11 A_10");
      const View mult = LoadL1(o(1, 0, kF), "mult_l1");
      Gemm(mult, o11, o(1, 0, kF), "(O_11 A_10) O_00");
      b_.CrossCoreSet(P::kFIX, P::kMTE2, 1);
      // Vector core 1: O_10 = 0 - O_10 (dtype).
      b_.CrossCoreWait(P::kFIX, P::kMTE2, 1);
      const View src = o(1, 0, kF);
      b_.SetVectorCore(1);
      Negate(src, src, "O_10 = 0 - O_11 A_10 O_00");
      b_.SetVectorCore(0);
      return;
    }
    // C = 128: off-diagonal -A and upper zeros (two vector cores).
    // Split over the two vector cores as the source does (vid 0: block
    // row 1 and the fat row 2, vid 1: rows 3 and 3's fat row).
    Negate(o(1, 0, kF), a(1, 0, kF), "O_10 = 0 - A_10");
    b_.SetVectorCore(1);
    Negate(o(3, 2, kF), a(3, 2, kF), "O_32 = 0 - A_32");
    b_.SetVectorCore(0);
    const View a2 = a(2, 0, 2 * kF).Block(0, 0, kF, 2 * kF);
    const View a3 = a(2, 0, 2 * kF).Block(kF, 0, kF, 2 * kF);
    const View o2 = o(2, 0, 2 * kF).Block(0, 0, kF, 2 * kF);
    const View o3 = o(2, 0, 2 * kF).Block(kF, 0, kF, 2 * kF);
    Negate(o2, a2, "[O_20 O_21] = 0 - [A_20 A_21]");
    b_.SetVectorCore(1);
    Negate(o3, a3, "[O_30 O_31] = 0 - [A_30 A_31]");
    b_.SetVectorCore(0);
    Zero(o(0, 1, kF), "O_01 = 0");
    b_.SetVectorCore(1);
    Zero(o(2, 3, kF), "O_23 = 0");
    b_.SetVectorCore(0);
    Zero(x.Block(0, 2 * kF, kF, 2 * kF), "[O_02 O_03] = 0");
    b_.SetVectorCore(1);
    Zero(x.Block(kF, 2 * kF, kF, 2 * kF), "[O_12 O_13] = 0");
    b_.SetVectorCore(0);
    b_.CrossCoreSet(P::kMTE3, P::kMTE2, 2);
    for (int ii = 0; ii < 2; ++ii) {
      for (int v = 0; v < 2; ++v) {
        b_.PushCopy("vector core", v);
        b_.SetVectorCore(v);
        const int d = ii * 2 + v;
        Diagonal(o(d, d, kF), a(d, d, kF), d);
        b_.CrossCoreSet(P::kMTE3, P::kMTE2, ii);
        b_.PopCopy();
      }
    }
    b_.SetVectorCore(0);
    // Cube.
    b_.CrossCoreWait(P::kMTE3, P::kMTE2, 2);
    const View a21_l = LoadL1(o(2, 0, 2 * kF), "a21_l_l1");
    View a21_s = LoadL1(o(1, 0, kF), "a21_s_l1");
    for (int ii = 0; ii < 2; ++ii) {
      b_.CrossCoreWait(P::kMTE3, P::kMTE2, ii);
      const View o11 = LoadL1(o(2 * ii, 2 * ii, kF), "o11_s_l1");
      const View dst = o(2 * ii + 1, 2 * ii, kF);
      Gemm(a21_s, o11, dst, "-A O (small)");
      const View o22 = LoadL1(o(2 * ii + 1, 2 * ii + 1, kF), "o22_s_l1");
      const View mult = LoadL1(dst, "mult_s_l1");
      Gemm(o22, mult, dst, "O (-A O) (small)");
      if (ii == 0) a21_s = LoadL1(o(3, 2, kF), "a21_s_l1");
    }
    const View o11_l = LoadL1(o(0, 0, 2 * kF), "o11_l_l1");
    Gemm(a21_l, o11_l, o(2, 0, 2 * kF), "-A O (64 x 64)");
    const View o22_l = LoadL1(o(2, 2, 2 * kF), "o22_l_l1");
    const View mult_l = LoadL1(o(2, 0, 2 * kF), "mult_l_l1");
    Gemm(o22_l, mult_l, o(2, 0, 2 * kF), "O (-A O) (64 x 64)");
  }

 private:
  // One diagonal block by a vector core: fp32 forward substitution, then
  // I - o, cast to dtype, copy to O.
  void Diagonal(View out, View a, int v) {
    using P = KernelPipe;
    const std::string s = std::to_string(v);
    const View half =
        b_.NewTile("o_ub_half" + s, kF, kF, Memory::kUB, FormatClass::kInput);
    b_.Copy(half, a, "T.copy(A block, o_ub_half)");
    b_.SetWaitFlag(P::kMTE2, P::kV, 0);
    const View ub =
        b_.NewTile("o_ub" + s, kF, kF, Memory::kUB, FormatClass::kFp32);
    b_.VectorScalarSync("T.copy(o_ub_half, o_ub)");
    b_.Copy(ub, half, "T.copy(o_ub_half, o_ub) (to fp32)");
    for (int r = 2; r < kF; ++r) {
      b_.LaneRow(ub, r, order_, -1.0,
                 "o[i] = o[i] - reduce_sum(o * broadcast(o[i]), dim=0) row " +
                     std::to_string(r));
      b_.Issued(RowIssues());
    }
    b_.VectorScalarSync("o = I - o");
    b_.LinComb(ub, {1.0, -1.0}, {eye_, ub}, "o = I - o");
    const View out_half =
        b_.NewTile("o_out_half" + s, kF, kF, Memory::kUB, FormatClass::kOutput);
    b_.VectorScalarSync("T.copy(o_ub, o_ub_half)");
    b_.Copy(out_half, ub, "T.copy(o_ub, o_ub_half) (to dtype)");
    b_.SetWaitFlag(P::kV, P::kMTE3, 0);
    b_.Copy(out, out_half, "T.copy(o_ub_half, O block)");
  }

  void Zero(View dst, const std::string& what) { Negate(dst, View{}, what); }
  // Vector: dst = 0 - src (dtype tiles; exact), or dst = 0 (src.buffer < 0).
  void Negate(View dst, View src, const std::string& what) {
    using P = KernelPipe;
    const int k = ++tiles_;
    const View zero = b_.NewTile("zero_half" + std::to_string(k), dst.rows,
                                 dst.cols, Memory::kUB, FormatClass::kOutput);
    b_.SetZero(zero, "T.tile.fill(zero, 0.0)");
    if (src.buffer < 0) {
      b_.SetWaitFlag(P::kV, P::kMTE3, 0);
      b_.Copy(dst, zero, what);
      return;
    }
    const View t = b_.NewTile("sub_half" + std::to_string(k), dst.rows,
                              dst.cols, Memory::kUB, FormatClass::kOutput);
    b_.Copy(t, src, "T.copy(GM, ub_half)");
    b_.SetWaitFlag(P::kMTE2, P::kV, 0);
    b_.VectorScalarSync(what);
    b_.LinComb(t, {1.0, -1.0}, {zero, t}, what);
    b_.SetWaitFlag(P::kV, P::kMTE3, 0);
    b_.Copy(dst, t, "T.copy(ub_half, GM)");
  }

  // Cube: GM (dtype) -> L1 tile.
  View LoadL1(View src, const std::string& name) {
    const View t = b_.NewTile(name + std::to_string(++tiles_), src.rows,
                              src.cols, Memory::kL1, FormatClass::kOutput);
    b_.Copy(t, src, "T.copy(GM, " + name + ")");
    return t;
  }

  // T.gemm_v0(a, b, l0c, init=True); T.copy(l0c, dst): FIXPIPE to GM in
  // dtype; then set/wait fix -> mte2 before the next reload.
  void Gemm(View a, View b, View dst, const std::string& what) {
    using P = KernelPipe;
    const int k = ++tiles_;
    const std::string id = std::to_string(k);
    const View a0 = b_.NewTile("l0a_" + id, a.rows, a.cols, Memory::kL0A,
                               FormatClass::kOutput);
    const View b0 = b_.NewTile("l0b_" + id, b.rows, b.cols, Memory::kL0B,
                               FormatClass::kOutput);
    b_.Copy(a0, a, "L1 -> L0A");
    b_.Copy(b0, b, "L1 -> L0B");
    b_.SetWaitFlag(P::kMTE1, P::kM, 0);
    const View c =
        b_.NewTile("l0c_" + id, a.rows, b.cols, Memory::kL0C,
                   FormatClass::kAccumulator, BufferRole::kAccumulator);
    b_.Mmad(c, {a0, b0}, false, "gemm_v0 " + what);
    b_.SetWaitFlag(P::kM, P::kFIX, 0);
    b_.Store(dst, c, "FIXPIPE " + what + " -> GM (dtype)");
    b_.SetWaitFlag(P::kFIX, P::kMTE2, 0);
  }

  // The vector instructions of one row step, in source order, each waiting
  // for the scalar unit (tilelang-ascend's manual synchronisation): T.copy
  // of o[i, :] into o_row, broadcast to o_row_2d (32 x 32), fill red_ub,
  // mul_ub = o * o_row_2d, reduce_sum over dim 0, o[i, :] - red_ub.
  std::vector<VectorIssue> RowIssues() const {
    std::vector<VectorIssue> v = {{"T.copy(o[i, :], o_row)", kF, false, true},
                                  {"broadcast o_row_2d", kF * kF, false, true},
                                  {"fill red_ub", kF, false, true},
                                  {"o * o_row_2d", kF * kF, true, true}};
    for (VectorIssue& add : ReductionIssues(order_, kF, kF, "reduce_sum"))
      v.push_back(add);
    v.push_back({"o[i, :] - red_ub", kF, false, true});
    return v;
  }

  View eye_;
  int tiles_ = 0;
  PlanBuilder& b_;
  const int n_;
  const Step::RowReduce order_;
};

}  // namespace

std::vector<KernelInfo> TilelangKernels() {
  return {{"fla",
           "tilelang",
           "tilelang-ascend solve_tril: 32x32 diagonal blocks by fp32 vector "
           "rows, cube merges through GM (FIXPIPE -> GM -> reload) with "
           "cross-core flags; dtype (fp16) output",
           {"huawei-csl/gdn-tri-inverse",
            "src/gdn_tri_inverse/tilelang_chunk_gdn/opt_gdn_solve_tril.py "
            "(from tile-ai/tilelang-ascend 36bf582)",
            "d12ad04"},
           {32, 64, 128},
           {{"operand",
             {"fp16", "bf16"},
             "gemm_v0 on dtype L1 tiles (float16 in the source)"},
            {"vector", {"fp32"}, "the diagonal blocks are solved in fp32"},
            {"accumulator", {"fp32"}, "accum_dtype float (L0C)"}},
           {RowReduceSetting(
               "sequential",
               "reduce_sum(mul, dim=0) over the 32 rows: row after row (how a "
               "vector unit reduces a non-last axis); the compiled order is "
               "not public")},
           "tilelang-fp16",
           EmitWithRowReduce<TilelangEmitter>,
           nullptr}};
}

}  // namespace trisim::kernels
