// fla-gpu: FLA's fused GPU kernel for the inverse, fla-org/flash-linear-
// attention fla/ops/gated_delta_rule/chunk_fwd.py,
// chunk_gated_delta_rule_fwd_kkt_solve_kernel (v0.5.2-47-gbc3b101, the
// same merge code as fla/ops/utils/solve_tril.py
// merge_16x16_to_64x64_inverse_kernel), as a kernel plan (KERNELS.md
// section 4). C = 64 (BT = 64, BC = 16: the fused kernel exists for that
// chunk only). One program per chunk, everything in registers:
//   1. A in fp32 registers (the fused kernel forms it from k; here loaded:
//      the recipe's input format, then .to(float32)).
//   2. Diagonal blocks: b_Ai = -b_A, then for rows i = 2..15
//        b_a = -A[i, :] masked to k < i
//        b_a = b_a + tl.sum(b_a[:, None] * b_Ai, 0);   b_Ai[i, :] = b_a
//      (the lane form of kForwardRow: its lanes are the working row, which
//      holds -A[i, :] before the update; the kernel's mask turns the lanes
//      at k >= i into +0 where the working row holds -0, a difference in
//      the sign of zero products only, washed out by step 3), then
//      b_Ai += m_I (an fp32 add of the identity over the block).
//   3. Merges with tl.dot(input_precision=SOLVE_TRIL_DOT_PRECISION: tf32
//      on GPUs with TF32, ieee otherwise; FLA_TRIL_PRECISION in
//      solve_tril.py also allows tf32x3): the recipe's operand format and
//      operand_split. The dot accumulates in fp32 registers; the tensor
//      core's internal accumulation is not public and is modelled as IEEE
//      fp32 (use a recipe with order = sequential, as the gpu-* recipes do).
//        Ai_{i,i-1} = -dot(dot(Ai_ii, A_{i,i-1}), Ai_{i-1,i-1})
//        Ai_{i,j}   = -dot(Ai_ii, sum_k dot(A_ik, Ai_kj))      (i - j >= 2)
//      The outer negation is an exact fp32 negate after the dot.
//   4. Every block stored with .to(A.dtype) (round to nearest even) into
//      the output allocated by torch.zeros(..., dtype=k.dtype) (a zero-fill
//      launch); the upper blocks stay +0.
// Settings (open in the public source):
//   reduce   order of tl.sum over the 16 rows: halving (the warp's
//            xor-shuffle tree with offsets 8, 4, 2, 1 when the 16 rows sit
//            in 16 lanes; default) or sequential (rows held by one thread).
//   dot_add  how `dot(a, b) + dot(c, d)` is compiled: accumulate (Triton's
//            CombineDotAddFPattern folds add(x, dot(a, b, 0)) into
//            dot(a, b, x): the second dot continues from the first's fp32
//            result; default) or separate (two dots, one fp32 add).
#include <string>

#include "core/kernels/all.h"
#include "core/kernels/row_reduce.h"
#include "core/status.h"

namespace trisim::kernels {
namespace {

constexpr int kBlock = 16;  // BC in the kernel

void EmitFlaGpu(PlanBuilder& b, const MethodOptions&,
                const std::vector<std::string>& settings, View l, View x) {
  const int n = l.rows;
  const int nb = n / kBlock;
  const Step::RowReduce order = RowReduceOf(settings[0]);
  const bool accumulate = settings[1] == "accumulate";
  auto& facts = b.Kernel();
  facts.items_loaded_per_core = 1;
  facts.items_computed_per_core = 1;

  b.BeginLaunch({"zero-fill output (torch.zeros, dtype=k.dtype)",
                 Launch::Cores::kGpu, true, "one memset of the output"});
  b.SetPipe(KernelPipe::kHost);
  b.SetZero(x, "A_inv = 0");
  b.SetPipe(KernelPipe::kNone);
  b.BeginLaunch({"chunk_gated_delta_rule_fwd_kkt_solve_kernel",
                 Launch::Cores::kGpu, false,
                 "grid (NT, B*HV): one program per chunk (num_warps 1-4 by "
                 "autotune)"});

  const auto reg = [&](const std::string& name, int rows, int cols) {
    return b.NewTile(name, rows, cols, Memory::kRegisters, FormatClass::kFp32);
  };
  const View a = reg("b_A", n, n);
  b.Copy(a, l, "b_A (fp32 registers)");
  const View eye = reg("m_I", kBlock, kBlock);
  b.SetOncePerCore(true);
  b.SetIdentity(eye, "m_I");
  b.SetOncePerCore(false);

  // Blocks of the inverse, in fp32 registers: ai[i][j], j <= i.
  std::vector<std::vector<View>> ai(nb, std::vector<View>(nb));
  for (int i = 0; i < nb; ++i) {
    const std::string s = std::to_string(i);
    ai[i][i] = reg("b_Ai" + s + s, kBlock, kBlock);
    b.PushCopy("diagonal block", i);
    b.LinComb(ai[i][i], {-1.0},
              {a.Block(i * kBlock, i * kBlock, kBlock, kBlock)},
              "b_Ai" + s + s + " = -b_A" + s + s);
    for (int r = 2; r < kBlock; ++r) {
      b.LaneRow(ai[i][i], r, order, 1.0,
                "b_a = b_a + sum(b_a[:, None] * b_Ai" + s + s + ", 0) row " +
                    std::to_string(r));
    }
    b.LinComb(ai[i][i], {1.0, 1.0}, {ai[i][i], eye},
              "b_Ai" + s + s + " += m_I");
    b.PopCopy();
  }

  const auto acc = [&](const std::string& name) {
    return b.NewTile(name, kBlock, kBlock, Memory::kRegisters,
                     FormatClass::kAccumulator, BufferRole::kAccumulator);
  };
  const auto blk = [&](int i, int j) {
    return a.Block(i * kBlock, j * kBlock, kBlock, kBlock);
  };
  for (int d = 1; d < nb; ++d) {
    for (int i = d; i < nb; ++i) {
      const int j = i - d;
      const std::string name = "b_Ai" + std::to_string(i) + std::to_string(j);
      ai[i][j] = reg(name, kBlock, kBlock);
      const View inner = reg(name + "_inner", kBlock, kBlock);
      const View outer = reg(name + "_outer", kBlock, kBlock);
      const View c0 = acc(name + "_acc0");
      const View c1 = acc(name + "_acc1");
      if (d == 1) {
        b.Mmad(c0, {ai[i][i], blk(i, j)}, false,
               "dot(b_Ai" + std::to_string(i) + std::to_string(i) + ", b_A" +
                   std::to_string(i) + std::to_string(j) + ")");
        b.Store(inner, c0, name + " inner (fp32)");
      } else if (accumulate) {
        for (int k = j; k < i; ++k) {
          b.Mmad(c0, {blk(i, k), ai[k][j]}, k > j,
                 (k > j ? "+ dot(b_A" : "dot(b_A") + std::to_string(i) +
                     std::to_string(k) + ", b_Ai" + std::to_string(k) +
                     std::to_string(j) + ")");
        }
        b.Store(inner, c0, name + " inner sum (fp32)");
      } else {
        for (int k = j; k < i; ++k) {
          const View part =
              reg(name + "_part" + std::to_string(k), kBlock, kBlock);
          b.Mmad(c0, {blk(i, k), ai[k][j]}, false,
                 "dot(b_A" + std::to_string(i) + std::to_string(k) + ", b_Ai" +
                     std::to_string(k) + std::to_string(j) + ")");
          b.Store(part, c0, name + " part (fp32)");
          if (k == j) {
            b.Copy(inner, part, name + " sum = first dot");
          } else {
            b.LinComb(inner, {1.0, 1.0}, {inner, part},
                      name + " sum += dot (fp32 add)");
          }
        }
      }
      if (d == 1) {
        b.Mmad(c1, {inner, ai[j][j]}, false, name + " outer dot");
      } else {
        b.Mmad(c1, {ai[i][i], inner}, false, name + " outer dot");
      }
      b.Store(outer, c1, name + " outer (fp32)");
      b.LinComb(ai[i][j], {-1.0}, {outer}, name + " = -dot(...)");
    }
  }
  for (int i = 0; i < nb; ++i) {
    for (int j = 0; j <= i; ++j) {
      b.Copy(x.Block(i * kBlock, j * kBlock, kBlock, kBlock), ai[i][j],
             "tl.store b_Ai" + std::to_string(i) + std::to_string(j) +
                 ".to(A.dtype)");
    }
  }
}

}  // namespace

std::vector<KernelInfo> FlaGpuKernels() {
  return {{"fla",
           "fla-gpu",
           "FLA's fused GPU kernel (C = 64): fp32 forward substitution on the "
           "16x16 diagonal blocks, tl.dot merges in the recipe's operand "
           "format (fp32 / tf32 / tf32x3), inverse stored in the output "
           "(input) dtype",
           {"fla-org/flash-linear-attention",
            "fla/ops/gated_delta_rule/chunk_fwd.py "
            "(chunk_gated_delta_rule_fwd_kkt_solve_kernel; merges as "
            "fla/ops/utils/solve_tril.py)",
            "v0.5.2-47-gbc3b101"},
           {64},
           {{"operand",
             {"fp32", "tf32"},
             "tl.dot input_precision ieee (fp32), tf32 or tf32x3 (operand "
             "tf32 with operand_split = tf32x3)"},
            {"vector",
             {"fp32"},
             "the diagonal blocks are solved in fp32 registers"},
            {"accumulator", {"fp32"}, "tl.dot accumulates in fp32"}},
           {RowReduceSetting(
                "halving",
                "tl.sum over the 16 rows: a warp xor-shuffle tree (offsets 8, "
                "4, 2, 1) when the rows sit in 16 lanes; the layout is chosen "
                "by the compiler"),
            {"dot_add",
             "accumulate",
             {"accumulate", "separate"},
             "dot(a, b) + dot(c, d): Triton's CombineDotAddFPattern folds the "
             "add into the second dot's accumulator"}},
           "gpu-fp32",
           EmitFlaGpu,
           nullptr}};
}

}  // namespace trisim::kernels
