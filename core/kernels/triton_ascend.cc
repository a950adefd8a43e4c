// triton-ascend: the two-launch Triton solve_tril on Ascend,
// sgl-project/sgl-kernel-npu python/sgl_kernel_npu/sgl_kernel_npu/fla/
// solve_tril.py (tag 2026.08.21, f425bdf; the same file as huawei-csl/
// gdn-tri-inverse src/gdn_tri_inverse/triton_chunk_gdn/fla/solve_tril.py),
// as a kernel plan (KERNELS.md section 2). C = 16, 32, 64.
//
// K1 solve_tril_16x16_kernel_paral_v3 (vector only; LARGE_BLOCK_T = 1216:
// 76 diagonal 16 x 16 blocks per program in NTASKS = 2 groups of 38, all
// blocks of a group updated by the same whole-tensor fp32 operations):
//   b_A = A_blk.to(float32);  b_A = -b_A * is_lower
//   for i in 1..15:  b_a = -A[i, :] (the whole row, unmasked)
//                    b_a = b_a + tl.sum(b_a[:, :, None] * b_A, 0 after the
//                          3-D transpose);  b_A[i, :] = b_a (insert_slice)
//   b_A = where(diagonal, b_A + 1.0, b_A);  store Ad (fp32 when C > 16,
//   else the output dtype; torch.empty, no zero-fill).
// The row update is kForwardRow's lane form (core/plan.h); its lanes, the
// working row before the update, equal -A[i, :] for a strictly lower A
// (-a * 0 = -a for a = +-0). The diagonal +1 touches the diagonal only, so
// the off-diagonal signs of zero are kept (one 1 x 1 fp32 add per diagonal
// entry, recorded as copies of one vector op).
// K2 merge_16x16_to_{32x32,64x64}_inverse_kernel (one chunk per program,
// cube + vector): every tl.dot(..., input_precision="ieee") is an fp32 Mmad
// (operands fp32, fp32 accumulator); loads, upcasts, negations and the
// insert_slice assembly run on the vector side, so every cube <-> vector
// hand-off crosses GM with a cross-core flag. C = 32: Ai_21 =
// -dot(dot(Ai_22, A_21), Ai_11). C = 64: Ai_21 and Ai_43 likewise, then
// Ai_21_32 = -dot(dot([Ai_33 0; Ai_43 Ai_44], A[32:64, 0:32]),
// [Ai_11 0; Ai_21 Ai_22]) with full 32 x 32 operands (zero blocks included);
// the output Ai (torch.zeros_like, output dtype: a zero-fill launch) gets
// the blocks rounded with fp_downcast_rounding="rtne", and K2 stores zeros
// into its upper 32 x 32 block.
// Setting (open in the source): `reduce`, the order of the vector tl.sum
// over the 16 rows: sequential (row after row into one accumulator row,
// default) or halving (pairwise tree).
#include <string>

#include "core/kernels/all.h"
#include "core/kernels/row_reduce.h"
#include "core/status.h"

namespace trisim::kernels {
namespace {

constexpr int kBlock = 16;
// solve_tril_16x16_kernel_paral_v3 launch: LARGE_BLOCK_T = 1216 rows per
// program = 76 blocks, in NTASKS = 2 groups of N_BLOCKS = 38.
constexpr int kBlocksPerGroup = 38;
constexpr int kGroupsPerProgram = 2;

class TritonAscendEmitter {
 public:
  TritonAscendEmitter(PlanBuilder& b, int n, Step::RowReduce order)
      : b_(b), n_(n), order_(order) {}

  void Emit(View l, View x) {
    using P = KernelPipe;
    auto& facts = b_.Kernel();
    facts.items_loaded_per_core = 1;
    facts.items_computed_per_core = 1;
    const int nb = n_ / kBlock;
    // K1.
    Launch k1{"solve_tril_16x16_kernel_paral_v3", Launch::Cores::kVector, false,
              "76 diagonal blocks per program (LARGE_BLOCK_T = 1216), in 2 "
              "groups of 38 processed as one tensor; programs run one after "
              "another on each vector core"};
    // N_BLOCKS = 38 blocks (of as many chunks) per tensor op, NTASKS = 2
    // groups per program; a tl.load per block, one tl.store per group.
    k1.batch_family = "diagonal block";
    k1.batch = kBlocksPerGroup;
    k1.units_per_program = kGroupsPerProgram;
    b_.BeginLaunch(std::move(k1));
    const View ad = n_ == kBlock ? x
                                 : b_.NewTile("Ad", n_, kBlock, Memory::kGM,
                                              FormatClass::kFp32);
    const View one = b_.NewTile("one", 1, 1, Memory::kUB, FormatClass::kFp32,
                                BufferRole::kConstant);
    b_.SetOncePerCore(true);
    b_.SetIdentity(one, "1.0");
    b_.SetOncePerCore(false);
    for (int i = 0; i < nb; ++i) {
      const std::string s = std::to_string(i);
      b_.PushCopy("diagonal block", i);
      const View blk = b_.NewTile("b_A" + s, kBlock, kBlock, Memory::kUB,
                                  FormatClass::kFp32);
      b_.Copy(blk, l.Block(i * kBlock, i * kBlock, kBlock, kBlock),
              "load A block " + s + " .to(float32)");
      b_.SetWaitFlag(P::kMTE2, P::kV, 0);
      b_.VectorScalarSync("is_lower mask");
      b_.LinComb(blk, {-1.0}, {blk}, "b_A = -b_A * is_lower");
      for (int r = 1; r < kBlock; ++r) {
        b_.LaneRow(blk, r, order_, 1.0,
                   "b_a = b_a + tl.sum(b_a * b_A) row " + std::to_string(r));
        b_.Issued(RowIssues());
      }
      for (int r = 0; r < kBlock; ++r) {
        b_.PushCopy("diagonal entry", r);
        b_.LinComb(blk.Block(r, r, 1, 1), {1.0, 1.0},
                   {blk.Block(r, r, 1, 1), one},
                   "where(diagonal, b_A + 1.0, b_A)");
        b_.PopCopy();
      }
      b_.SetWaitFlag(P::kV, P::kMTE3, 0);
      b_.Copy(ad.Block(i * kBlock, 0, kBlock, kBlock), blk,
              n_ == kBlock ? "tl.store Ai (output dtype, rtne)"
                           : "tl.store Ad (fp32)");
      b_.PopCopy();
    }
    if (n_ == kBlock) return;

    // K2.
    b_.BeginLaunch({"zero-fill Ai (torch.zeros_like)", Launch::Cores::kVector,
                    true, "one memset of the output"});
    b_.SetPipe(P::kHost);
    b_.SetZero(x, "Ai = 0");
    b_.SetPipe(P::kNone);
    Launch k2{n_ == 32 ? "merge_16x16_to_32x32_inverse_kernel"
                       : "merge_16x16_to_64x64_inverse_kernel",
              Launch::Cores::kMixed, false,
              "one chunk per program (grid NT x B*H), programs one after "
              "another on each core"};
    k2.units_per_program = 1;
    b_.BeginLaunch(std::move(k2));
    const auto ai = [&](int i) {
      return ad.Block(i * kBlock, 0, kBlock, kBlock);
    };
    const auto a = [&](int i, int j, int size) {
      return l.Block(i * kBlock, j * kBlock, size, size);
    };
    const auto xb = [&](int i, int j, int size) {
      return x.Block(i * kBlock, j * kBlock, size, size);
    };
    // Vector loads (.to(float32)) of the inverted diagonal blocks and of A.
    std::vector<View> d(nb);
    for (int i = 0; i < nb; ++i) {
      d[i] = Up(ai(i), "Ai_" + std::to_string(i + 1) + std::to_string(i + 1));
    }
    if (n_ == 32) {
      const View t = CubeDot(d[1], Up(a(1, 0, 16), "A_21"), "dot(Ai_22, A_21)");
      const View ai21 = Neg(CubeDot(t, d[0], "dot(tmp, Ai_11)"), "Ai_21");
      Store(xb(0, 0, 16), d[0], "Ai_11");
      Store(xb(1, 1, 16), d[1], "Ai_22");
      Store(xb(1, 0, 16), ai21, "Ai_21");
      return;
    }
    const View t21 = CubeDot(d[1], Up(a(1, 0, 16), "A_21"), "dot(Ai_22, A_21)");
    const View ai21 = Neg(CubeDot(t21, d[0], "dot(tmp, Ai_11)"), "Ai_21");
    const View t43 = CubeDot(d[3], Up(a(3, 2, 16), "A_43"), "dot(Ai_44, A_43)");
    const View ai43 = Neg(CubeDot(t43, d[2], "dot(tmp, Ai_33)"), "Ai_43");
    const View ai22_32 = Assemble("Ai_22_32", d[2], d[3], ai43);
    const View t = CubeDot(ai22_32, Up(a(2, 0, 32), "A_21_32"),
                           "dot(Ai_22_32, A_21_32) (32 x 32)");
    const View ai11_32 = Assemble("Ai_11_32", d[0], d[1], ai21);
    const View ai21_32 =
        Neg(CubeDot(t, ai11_32, "dot(tmp, Ai_11_32) (32 x 32)"), "Ai_21_32");
    Store(xb(0, 0, 32), ai11_32, "Ai_11_32");
    Store(xb(2, 2, 32), ai22_32, "Ai_22_32");
    Store(xb(2, 0, 32), ai21_32, "Ai_21_32");
    const View zero =
        b_.NewTile("zero_block", 32, 32, Memory::kUB, FormatClass::kOutput);
    b_.VectorScalarSync("tl.zeros((32, 32))");
    b_.SetZero(zero, "tl.zeros((32, 32))");
    Store(xb(0, 2, 32), zero, "zero upper-right 32 x 32");
  }

 private:
  // Vector side: GM (any format) -> UB fp32 (.to(float32)).
  View Up(View src, const std::string& name) {
    const View ub = b_.NewTile(name + "_ub", src.rows, src.cols, Memory::kUB,
                               FormatClass::kFp32);
    b_.Copy(ub, src, "tl.load " + name + " .to(float32)");
    b_.SetWaitFlag(KernelPipe::kMTE2, KernelPipe::kV, 0);
    return ub;
  }

  // tl.dot(a, b, input_precision="ieee") with a, b in UB on the vector
  // side: GM workspace and a cross-core flag each way (fp32 throughout).
  View CubeDot(View a, View b, const std::string& what) {
    using P = KernelPipe;
    const int k = ++dots_;
    const std::string id = "dot" + std::to_string(k);
    const auto tile = [&](const std::string& name, View like, Memory memory) {
      return b_.NewTile(id + "_" + name, like.rows, like.cols, memory,
                        FormatClass::kFp32);
    };
    const View a_gm = tile("a_gm", a, Memory::kGM);
    const View b_gm = tile("b_gm", b, Memory::kGM);
    b_.SetWaitFlag(P::kV, P::kMTE3, 0);
    b_.Copy(a_gm, a, "workspace <- " + what + " lhs");
    b_.Copy(b_gm, b, "workspace <- " + what + " rhs");
    b_.CrossCoreSet(P::kMTE3, P::kMTE2, k);
    b_.CrossCoreWait(P::kMTE3, P::kMTE2, k);
    const View a_l1 = tile("a_l1", a, Memory::kL1);
    const View b_l1 = tile("b_l1", b, Memory::kL1);
    b_.Copy(a_l1, a_gm, "GM -> L1 lhs");
    b_.Copy(b_l1, b_gm, "GM -> L1 rhs");
    b_.SetWaitFlag(P::kMTE2, P::kMTE1, 0);
    const View a_l0 = tile("a_l0a", a, Memory::kL0A);
    const View b_l0 = tile("b_l0b", b, Memory::kL0B);
    b_.Copy(a_l0, a_l1, "L1 -> L0A");
    b_.Copy(b_l0, b_l1, "L1 -> L0B");
    b_.SetWaitFlag(P::kMTE1, P::kM, 0);
    const View c =
        b_.NewTile(id + "_l0c", a.rows, b.cols, Memory::kL0C,
                   FormatClass::kAccumulator, BufferRole::kAccumulator);
    b_.Mmad(c, {a_l0, b_l0}, false, what);
    b_.SetWaitFlag(P::kM, P::kFIX, 0);
    const View c_gm = b_.NewTile(id + "_out_gm", a.rows, b.cols, Memory::kGM,
                                 FormatClass::kFp32);
    b_.Store(c_gm, c, "FIXPIPE " + what + " -> GM (fp32)");
    b_.CrossCoreSet(P::kFIX, P::kMTE2, k);
    b_.CrossCoreWait(P::kFIX, P::kMTE2, k);
    const View out = tile("out_ub", c_gm, Memory::kUB);
    b_.Copy(out, c_gm, "GM -> UB " + what);
    b_.SetWaitFlag(P::kMTE2, P::kV, 0);
    return out;
  }

  View Neg(View v, const std::string& name) {
    const View out = b_.NewTile(name + "_ub", v.rows, v.cols, Memory::kUB,
                                FormatClass::kFp32);
    b_.VectorScalarSync(name);
    b_.LinComb(out, {-1.0}, {v}, name + " = -dot(...)");
    return out;
  }

  // [d0 0; off d1] by tl.zeros + al.insert_slice (fp32, UB).
  View Assemble(const std::string& name, View d0, View d1, View off) {
    const View out = b_.NewTile(name + "_ub", 2 * kBlock, 2 * kBlock,
                                Memory::kUB, FormatClass::kFp32);
    b_.VectorScalarSync(name + " = tl.zeros");
    b_.SetZero(out, name + " = tl.zeros");
    b_.VectorScalarSync("insert_slice (0, 0)");
    b_.Copy(out.Block(0, 0, kBlock, kBlock), d0, "insert_slice (0, 0)");
    b_.VectorScalarSync("insert_slice (16, 16)");
    b_.Copy(out.Block(kBlock, kBlock, kBlock, kBlock), d1,
            "insert_slice (16, 16)");
    b_.VectorScalarSync("insert_slice (16, 0)");
    b_.Copy(out.Block(kBlock, 0, kBlock, kBlock), off, "insert_slice (16, 0)");
    return out;
  }

  void Store(View dst, View src, const std::string& name) {
    b_.SetWaitFlag(KernelPipe::kV, KernelPipe::kMTE3, 0);
    b_.Copy(dst, src, "tl.store " + name + " (output dtype, rtne)");
  }

  // The vector instructions of one K1 row step, in source order, per
  // 16 x 16 block (each a separate tensor op over the group, waiting for the
  // scalar unit): -al.extract_slice (extract, negate), b_a[:, :, None] *
  // b_A, tl.trans (1, 0, 2), tl.sum over the 16 rows, b_a + dot_product,
  // al.insert_slice of the row into b_A.
  std::vector<VectorIssue> RowIssues() const {
    const int row = kBlock, blk = kBlock * kBlock;
    std::vector<VectorIssue> v = {{"al.extract_slice row", row, false, true},
                                  {"negate", row, true, true},
                                  {"b_a[:, :, None] * b_A", blk, true, true},
                                  {"tl.trans (1, 0, 2)", blk, false, true}};
    for (VectorIssue& add : ReductionIssues(order_, kBlock, kBlock, "tl.sum"))
      v.push_back(add);
    v.push_back({"b_a + dot_product", row, false, true});
    v.push_back({"al.insert_slice row", row, false, true});
    return v;
  }

  int dots_ = 0;
  PlanBuilder& b_;
  const int n_;
  const Step::RowReduce order_;
};

}  // namespace

std::vector<KernelInfo> TritonAscendKernels() {
  return {{"fla",
           "triton-ascend",
           "Triton solve_tril on Ascend: K1 fp32 vector forward substitution "
           "on 16x16 diagonal blocks (76 per program), K2 merges with ieee "
           "fp32 dots through GM and cross-core flags; fp32 output",
           {"sgl-project/sgl-kernel-npu",
            "python/sgl_kernel_npu/sgl_kernel_npu/fla/solve_tril.py",
            "2026.08.21 (f425bdf)"},
           {16, 32, 64},
           {{"operand",
             {"fp32"},
             "tl.dot(..., input_precision=\"ieee\"): fp32 operands"},
            {"vector", {"fp32"}, "K1 and the assembly compute in fp32"},
            {"accumulator", {"fp32"}, "the dots accumulate in fp32"}},
           {RowReduceSetting(
               "sequential",
               "tl.sum over the 16 rows of the (16, 38, 16) product tensor: "
               "row after row into one accumulator row (how a vector unit "
               "reduces a non-last axis); the compiled order is not public")},
           "triton-ascend-fp16",
           EmitWithRowReduce<TritonAscendEmitter>,
           nullptr}};
}

}  // namespace trisim::kernels
