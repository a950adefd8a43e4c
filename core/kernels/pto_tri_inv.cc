// pto: huawei-csl/pto-kernels csrc/kernel/kernel_tri_inv_rec_unroll.cpp
// (v0.1.2), the matmul-only inversion on the Ascend cube, as the kernel
// issues it (KERNELS.md section 1), for mch, mxr and mbh; and pto-resident,
// the variant of pto-kernels PR #238 (merged 2026-09) that keeps X in the
// fp32 accumulator across the first phase's doubling levels.
//
// The kernel inverts (I + M) for the M it is given; its tests
// (tests/test_tri_inv_rec_unroll.py) pass an upper-triangular U, so for our
// strictly lower L the plan transposes on the host side (M = L^T, X =
// X_M^T; exact moves, pipe host) and runs the kernel on M verbatim. Every
// product is a full C x C x C Mmad; block-diagonal operands are L0A/L0B
// tiles zero-filled from the Zero tile (TMOV) and then given their diagonal
// fractals by TEXTRACT, so the device's zero products are computed too.
//
// Phase 1 (repeated squaring on the diagonal blocks of size b; b = 16 in
// v0.1.2, a knob since PR #238 / pto-kernels issue #242):
//   c0 = (-I) M -> FIXPIPE M_neg (L1)           c1 = D D -> FIXPIPE Y (L1)
//   c0 = D (-I); c0 += (-I)(-I) -> FIXPIPE X = I - D (L1)
//   for bs = 1; bs < b/2; bs *= 2:
//     c0 = X I                     (pto; pto-resident keeps c0 = X instead)
//     if bs < b/4: c1 = Y Y -> FIXPIPE Y
//     c0 += X Y_old -> FIXPIPE X   (Y_old: L0B loaded before Y was updated)
// Phase 2 (unrolled recursion, bs = b .. C/2):
//   LX = even b-blocks of X, RX = odd ones (zero-filled tiles + TEXTRACT)
//   c0 = I I; c1 = LX I; c0 += LX M_neg -> FIXPIPE Y = I - LX M (L1)
//   c1 += Y RX -> FIXPIPE X (L1), or in the last round TSTORE to GM (fp32)
// Without phase 2 (b >= C) the output is c0 stored to GM.
// Formats: L0A/L0B/L1 tiles in the recipe's storage format (the kernel's
// fp16 InputT), accumulators in the recipe's accumulator (fp32), the GM
// output in the recipe's output format (the kernel's fp32). The built-in
// recipe `pto-fp16` has exactly the published formats.
//
// Per method: mch = phase 1 with b = C; mxr = phase 1 with b = setting
// `block` (16 = v0.1.2), then phase 2; mbh = phase 2 from the method's
// --block b (>= 16: the kernel extracts 16 x 16 fractals), its b x b
// diagonal inverses from phase 1 (the only way the kernel has to make them).
//
// Sync and structure, transcribed from the source: every set_flag /
// wait_flag in InvertSingleTile, the prologue PrepareAuxiliaryMatrices
// (once per core: I, Zero tiles from -I by Mmad), the TLOAD of the chunk
// and the TSTORE of the output; launches: the host's zero-fill of the
// output (at::zeros_like), zero-fill and fill_diagonal_ of I_neg, the
// kernel. Work items: up to 4 chunks loaded ahead per core
// (NumTilesPerCubeIter = 4 when there are more than 2 x cores chunks), one
// computed at a time (one set of L1 scratch tiles).
#include <algorithm>
#include <string>

#include "core/kernels/all.h"
#include "core/status.h"

namespace trisim::kernels {
namespace {

constexpr int kFractal = 16;  // fp16 fractal (FractalSize in the source)

enum class Variant { kPto, kResident };

struct Tiles {
  View x_l1, i_l1, ineg_l1, mneg_l1, zero_l1, y_l1;
  View a[2], b[2], c[2];
};

class PtoEmitter {
 public:
  PtoEmitter(PlanBuilder& b, int n, int block, Variant variant)
      : b_(b), n_(n), block_(block), variant_(variant) {}

  void Emit(View l, View x) {
    using P = KernelPipe;
    auto& facts = b_.Kernel();
    facts.items_loaded_per_core = 4;
    facts.items_computed_per_core = 1;
    // Host side: launches before the kernel (torch_tri_inv_rec_unroll.h).
    b_.BeginLaunch({"zero-fill output (at::zeros_like)", Launch::Cores::kVector,
                    true, "one memset of the fp32 output"});
    b_.SetPipe(P::kHost);
    b_.SetZero(x, "M_inv = 0");
    const View ineg_gm =
        b_.NewTile("Ineg_gm", n_, n_, Memory::kGM, FormatClass::kStorage,
                   BufferRole::kConstant);
    b_.BeginLaunch({"zero-fill I_neg (at::zeros)", Launch::Cores::kVector, true,
                    "C x C fp16"});
    b_.SetZero(ineg_gm, "I_neg = 0");
    b_.BeginLaunch({"I_neg.fill_diagonal_(-1)", Launch::Cores::kVector, false,
                    "C entries"});
    b_.SetIdentity(ineg_gm, "I_neg = I");
    b_.LinComb(ineg_gm, {-1.0}, {ineg_gm}, "I_neg = -I");
    b_.BeginLaunch({"tri_inv_rec_unroll_fp16", Launch::Cores::kCube, false,
                    "persistent: one program per cube core, each walks its "
                    "chunks; up to 4 loaded ahead, one computed at a time"});
    const View m_gm =
        b_.NewTile("M_gm", n_, n_, Memory::kGM, FormatClass::kInput);
    b_.Transpose(m_gm, l, "M = L^T (the kernel's tests pass U = A^T)");
    b_.SetPipe(P::kNone);

    // Tiles (TASSIGN in TriInvRecUnrollKernel).
    const auto l1 = [&](const char* name) {
      return b_.NewTile(name, n_, n_, Memory::kL1, FormatClass::kStorage);
    };
    t_.i_l1 = l1("I_l1");
    t_.ineg_l1 = l1("Ineg_l1");
    t_.zero_l1 = l1("Zero_l1");
    t_.mneg_l1 = l1("Mneg_l1");
    t_.x_l1 = l1("X_l1");
    t_.y_l1 = l1("Y_l1");
    for (int k = 0; k < 2; ++k) {
      const std::string s = std::to_string(k);
      t_.a[k] = b_.NewTile("a_l0[" + s + "]", n_, n_, Memory::kL0A,
                           FormatClass::kStorage);
      t_.b[k] = b_.NewTile("b_l0[" + s + "]", n_, n_, Memory::kL0B,
                           FormatClass::kStorage);
      t_.c[k] = b_.NewTile("c_l0[" + s + "]", n_, n_, Memory::kL0C,
                           FormatClass::kAccumulator, BufferRole::kAccumulator);
    }

    // Prologue, once per core: TLOAD I_neg; PrepareAuxiliaryMatrices.
    b_.SetOncePerCore(true);
    b_.Copy(t_.ineg_l1, ineg_gm, "TLOAD I_neg");
    b_.SetWaitFlag(P::kMTE2, P::kMTE1, 0);
    b_.Copy(t_.a[0], t_.ineg_l1, "TMOV a0 = -I");
    b_.Copy(t_.b[0], t_.ineg_l1, "TMOV b0 = -I");
    b_.SetWaitFlag(P::kMTE1, P::kM, 0);
    b_.Mmad(t_.c[0], {t_.a[0], t_.b[0]}, false, "c0 = (-I)(-I) = I");
    b_.SetWaitFlag(P::kM, P::kFIX, 0);
    b_.Store(t_.i_l1, t_.c[0], "FIXPIPE I_l1");
    b_.SetWaitFlag(P::kFIX, P::kMTE1, 0);
    b_.Copy(t_.b[0], t_.i_l1, "TMOV b0 = I");
    b_.SetWaitFlag(P::kMTE1, P::kM, 0);
    b_.Mmad(t_.c[0], {t_.a[0], t_.b[0]}, true, "c0 += (-I) I = 0");
    b_.SetWaitFlag(P::kM, P::kFIX, 0);
    b_.Store(t_.zero_l1, t_.c[0], "FIXPIPE Zero_l1");
    b_.SetWaitFlag(P::kFIX, P::kMTE1, 0);
    b_.SetOncePerCore(false);

    // Per chunk (the main loop, tile_id 0: events e0 = 0, e1 = 4).
    b_.WaitFlag(P::kM, P::kMTE2, 0);
    b_.Copy(t_.y_l1, m_gm, "TLOAD Y_l1 = M");
    b_.SetFlag(P::kMTE2, P::kMTE1, 0);
    b_.WaitFlag(P::kFIX, P::kM, 0);
    b_.WaitFlag(P::kMTE2, P::kMTE1, 0);
    PhaseOne();
    const bool phase_two = block_ < n_;
    if (phase_two) PhaseTwo();
    b_.SetFlag(P::kM, P::kMTE2, 0);
    const View x_gm =
        b_.NewTile("Xm_gm", n_, n_, Memory::kGM, FormatClass::kOutput);
    b_.Store(x_gm, t_.c[phase_two ? 1 : 0], "TSTORE M_inv (fp32, L0C -> GM)");
    b_.SetFlag(P::kFIX, P::kM, 0);
    b_.SetPipe(P::kHost);
    b_.Transpose(x, x_gm, "X = M_inv^T");
    b_.SetPipe(P::kNone);
  }

 private:
  static constexpr int e0 = 0, e1 = 4;

  // TEXTRACT of the 16 x 16 fractals of the diagonal blocks of size `bs`
  // with block index parity `parity` (0 even, 1 odd, -1 both) from src into
  // dst (CopyOddOrEvenBlocksL1ToL0 / CopyDiagonalFractalsL1ToL0). A block
  // covering the whole tile is one TMOV (PR #238's CopyDiagonalBlocks).
  void CopyBlocks(View dst, View src, int bs, int parity,
                  const std::string& what) {
    if (bs >= n_) {
      b_.Copy(dst, src, "TMOV " + what);
      return;
    }
    for (int blk = 0; blk < n_ / bs; ++blk) {
      if (parity >= 0 && blk % 2 != parity) continue;
      for (int i = 0; i < bs / kFractal; ++i) {
        for (int j = 0; j < bs / kFractal; ++j) {
          const int r = blk * bs + i * kFractal, c = blk * bs + j * kFractal;
          b_.Copy(dst.Block(r, c, kFractal, kFractal),
                  src.Block(r, c, kFractal, kFractal),
                  "TEXTRACT " + what + " fractal (" + std::to_string(r / 16) +
                      "," + std::to_string(c / 16) + ")");
        }
      }
    }
  }

  void PhaseOne() {
    using P = KernelPipe;
    const auto& t = t_;
    b_.Copy(t.b[0], t.y_l1, "TMOV b0 = M");
    b_.Copy(t.a[0], t.ineg_l1, "TMOV a0 = -I");
    b_.SetFlag(P::kMTE1, P::kM, e0);
    b_.Copy(t.a[1], t.zero_l1, "TMOV a1 = 0 (zero-fill)");
    b_.Copy(t.b[1], t.zero_l1, "TMOV b1 = 0 (zero-fill)");
    b_.SetWaitFlag(P::kMTE1, P::kM, e1);
    b_.SetWaitFlag(P::kM, P::kMTE1, e1);
    CopyBlocks(t.a[1], t.y_l1, block_, -1, "a1 = diag blocks of M");
    CopyBlocks(t.b[1], t.y_l1, block_, -1, "b1 = diag blocks of M");
    b_.SetFlag(P::kMTE1, P::kM, e1);
    b_.WaitFlag(P::kMTE1, P::kM, e0);
    b_.Mmad(t.c[0], {t.a[0], t.b[0]}, false, "c0 = (-I) M");
    b_.SetFlag(P::kM, P::kFIX, e0);
    b_.SetFlag(P::kM, P::kMTE1, e0);
    b_.WaitFlag(P::kM, P::kFIX, e0);
    b_.Store(t.mneg_l1, t.c[0], "FIXPIPE M_neg_l1 = -M");
    b_.SetFlag(P::kFIX, P::kM, e0);
    b_.WaitFlag(P::kMTE1, P::kM, e1);
    b_.SetFlag(P::kMTE1, P::kM, e1);
    b_.Mmad(t.c[1], {t.a[1], t.b[1]}, false, "c1 = D D");
    b_.SetWaitFlag(P::kM, P::kFIX, e1);
    b_.Store(t.y_l1, t.c[1], "FIXPIPE Y_l1 = D^2");
    b_.SetWaitFlag(P::kFIX, P::kM, e1);
    b_.WaitFlag(P::kM, P::kMTE1, e0);
    b_.Copy(t.b[0], t.ineg_l1, "TMOV b0 = -I");
    b_.Copy(t.a[0], t.ineg_l1, "TMOV a0 = -I");
    b_.SetFlag(P::kMTE1, P::kM, e0);
    b_.WaitFlag(P::kMTE1, P::kM, e0);
    b_.WaitFlag(P::kFIX, P::kM, e0);
    b_.WaitFlag(P::kMTE1, P::kM, e1);
    b_.Mmad(t.c[0], {t.a[1], t.b[0]}, false, "c0 = D (-I)");
    b_.SetWaitFlag(P::kM, P::kFIX, e0);
    b_.SetWaitFlag(P::kFIX, P::kM, e0);
    b_.Mmad(t.c[0], {t.a[0], t.b[0]}, true, "c0 += (-I)(-I): I - D");
    b_.SetWaitFlag(P::kM, P::kFIX, e1);
    b_.Store(t.x_l1, t.c[0], "FIXPIPE X_l1 = I - D");
    b_.SetFlag(P::kFIX, P::kM, e0);
    b_.SetFlag(P::kM, P::kMTE1, e0);
    b_.SetFlag(P::kFIX, P::kMTE1, e0);
    b_.SetFlag(P::kFIX, P::kM, e1);
    b_.SetFlag(P::kM, P::kMTE1, e1);
    b_.SetFlag(P::kFIX, P::kMTE1, e1);
    for (int bs = 1; bs < block_ / 2; bs *= 2) {
      const std::string level = " (level " + std::to_string(bs) + ")";
      b_.WaitFlag(P::kM, P::kMTE1, e0);
      b_.Copy(t.b[0], t.i_l1, "TMOV b0 = I" + level);
      b_.WaitFlag(P::kFIX, P::kMTE1, e0);
      b_.Copy(t.a[0], t.x_l1, "TMOV a0 = X" + level);
      b_.SetFlag(P::kMTE1, P::kM, e0);
      b_.WaitFlag(P::kFIX, P::kMTE1, e1);
      b_.Copy(t.b[1], t.y_l1, "TMOV b1 = Y" + level);
      b_.SetFlag(P::kMTE1, P::kM, e1);
      b_.WaitFlag(P::kFIX, P::kM, e0);
      b_.WaitFlag(P::kMTE1, P::kM, e0);
      if (variant_ == Variant::kPto) {
        b_.Mmad(t.c[0], {t.a[0], t.b[0]}, false, "c0 = X I" + level);
        b_.SetWaitFlag(P::kM, P::kFIX, e0);
        b_.SetWaitFlag(P::kFIX, P::kM, e0);
      }
      if (bs < block_ / 4) {
        b_.WaitFlag(P::kM, P::kMTE1, e1);
        b_.Copy(t.a[1], t.y_l1, "TMOV a1 = Y" + level);
        b_.WaitFlag(P::kMTE1, P::kM, e1);
        b_.SetFlag(P::kMTE1, P::kM, e1);
        b_.WaitFlag(P::kMTE1, P::kM, e1);
        b_.WaitFlag(P::kFIX, P::kM, e1);
        b_.Mmad(t.c[1], {t.a[1], t.b[1]}, false, "c1 = Y Y" + level);
        b_.SetFlag(P::kM, P::kMTE1, e1);
        b_.SetFlag(P::kM, P::kFIX, e1);
        b_.SetFlag(P::kMTE1, P::kM, e1);
        b_.WaitFlag(P::kM, P::kFIX, e1);
        b_.Store(t.y_l1, t.c[1], "FIXPIPE Y_l1 = Y^2" + level);
        b_.SetFlag(P::kFIX, P::kM, e1);
      }
      b_.SetFlag(P::kFIX, P::kMTE1, e1);
      b_.WaitFlag(P::kMTE1, P::kM, e1);
      b_.Mmad(t.c[0], {t.a[0], t.b[1]}, true, "c0 += X Y" + level);
      b_.SetFlag(P::kM, P::kMTE1, e0);
      b_.SetFlag(P::kM, P::kFIX, e0);
      b_.WaitFlag(P::kM, P::kFIX, e0);
      b_.Store(t.x_l1, t.c[0], "FIXPIPE X_l1 = X + X Y" + level);
      b_.SetFlag(P::kFIX, P::kM, e0);
      b_.SetFlag(P::kFIX, P::kMTE1, e0);
    }
    b_.WaitFlag(P::kFIX, P::kMTE1, e1);
    b_.WaitFlag(P::kM, P::kMTE1, e1);
    b_.WaitFlag(P::kFIX, P::kM, e1);
    b_.WaitFlag(P::kFIX, P::kMTE1, e0);
    b_.WaitFlag(P::kM, P::kMTE1, e0);
    b_.WaitFlag(P::kFIX, P::kM, e0);
  }

  void PhaseTwo() {
    using P = KernelPipe;
    const auto& t = t_;
    b_.Copy(t.b[1], t.mneg_l1, "TMOV b1 = M_neg");
    b_.Copy(t.a[0], t.i_l1, "TMOV a0 = I");
    b_.SetFlag(P::kFIX, P::kM, e1);
    b_.SetFlag(P::kM, P::kMTE1, e1);
    b_.SetFlag(P::kM, P::kMTE1, e0);
    b_.SetFlag(P::kFIX, P::kMTE1, e1);
    b_.SetFlag(P::kFIX, P::kM, e0);
    for (int bs = block_; bs < n_; bs *= 2) {
      const std::string round = " (merge " + std::to_string(2 * bs) + ")";
      b_.WaitFlag(P::kM, P::kMTE1, e0);
      b_.Copy(t.a[1], t.zero_l1, "TMOV a1 = 0 (zero-fill)" + round);
      b_.WaitFlag(P::kM, P::kMTE1, e1);
      b_.Copy(t.b[0], t.i_l1, "TMOV b0 = I" + round);
      b_.SetFlag(P::kMTE1, P::kM, e0);
      b_.WaitFlag(P::kFIX, P::kMTE1, e1);
      CopyBlocks(t.a[1], t.x_l1, bs, 0, "a1 = LX (even blocks)" + round);
      b_.SetFlag(P::kMTE1, P::kM, e1);
      b_.WaitFlag(P::kMTE1, P::kM, e0);
      b_.WaitFlag(P::kFIX, P::kM, e0);
      b_.Mmad(t.c[0], {t.a[0], t.b[0]}, false, "c0 = I I" + round);
      b_.WaitFlag(P::kMTE1, P::kM, e1);
      b_.WaitFlag(P::kFIX, P::kM, e1);
      b_.Mmad(t.c[1], {t.a[1], t.b[0]}, false, "c1 = LX I" + round);
      b_.SetFlag(P::kM, P::kMTE1, e1);
      b_.Mmad(t.c[0], {t.a[1], t.b[1]}, true, "c0 += LX M_neg" + round);
      b_.SetFlag(P::kM, P::kFIX, e0);
      b_.SetFlag(P::kM, P::kMTE1, e0);
      b_.WaitFlag(P::kM, P::kFIX, e0);
      b_.Store(t.y_l1, t.c[0], "FIXPIPE Y_l1 = I - LX M" + round);
      b_.SetFlag(P::kFIX, P::kMTE1, e0);
      b_.SetFlag(P::kFIX, P::kM, e0);
      b_.WaitFlag(P::kM, P::kMTE1, e1);
      b_.Copy(t.b[0], t.zero_l1, "TMOV b0 = 0 (zero-fill)" + round);
      CopyBlocks(t.b[0], t.x_l1, bs, 1, "b0 = RX (odd blocks)" + round);
      b_.WaitFlag(P::kM, P::kMTE1, e0);
      b_.WaitFlag(P::kFIX, P::kMTE1, e0);
      b_.Copy(t.a[1], t.y_l1, "TMOV a1 = Y" + round);
      b_.SetFlag(P::kMTE1, P::kM, e0);
      b_.WaitFlag(P::kMTE1, P::kM, e0);
      b_.Mmad(t.c[1], {t.a[1], t.b[0]}, true, "c1 += Y RX" + round);
      b_.SetFlag(P::kM, P::kMTE1, e0);
      b_.SetFlag(P::kM, P::kMTE1, e1);
      b_.SetWaitFlag(P::kM, P::kFIX, e0);
      if (bs < n_ / 2) {
        b_.Store(t.x_l1, t.c[1], "FIXPIPE X_l1" + round);
        b_.SetFlag(P::kFIX, P::kM, e1);
      }
      b_.SetFlag(P::kFIX, P::kMTE1, e1);
    }
    b_.WaitFlag(P::kM, P::kMTE1, e0);
    b_.WaitFlag(P::kM, P::kMTE1, e1);
    b_.WaitFlag(P::kFIX, P::kM, e0);
    b_.WaitFlag(P::kFIX, P::kMTE1, e1);
  }

  PlanBuilder& b_;
  const int n_;
  const int block_;
  const Variant variant_;
  Tiles t_;
};

int SettingBlock(const std::vector<std::string>& settings, int n) {
  const int block = settings.empty() ? kFractal : std::stoi(settings[0]);
  return std::min(block, n);
}

void EmitMxr(PlanBuilder& b, const MethodOptions&,
             const std::vector<std::string>& settings, View l, View x) {
  PtoEmitter(b, l.rows, SettingBlock(settings, l.rows), Variant::kPto)
      .Emit(l, x);
}
void EmitMxrResident(PlanBuilder& b, const MethodOptions&,
                     const std::vector<std::string>& settings, View l, View x) {
  PtoEmitter(b, l.rows, SettingBlock(settings, l.rows), Variant::kResident)
      .Emit(l, x);
}
void EmitMch(PlanBuilder& b, const MethodOptions&,
             const std::vector<std::string>&, View l, View x) {
  PtoEmitter(b, l.rows, l.rows, Variant::kPto).Emit(l, x);
}
void EmitMchResident(PlanBuilder& b, const MethodOptions&,
                     const std::vector<std::string>&, View l, View x) {
  PtoEmitter(b, l.rows, l.rows, Variant::kResident).Emit(l, x);
}
void EmitMbh(PlanBuilder& b, const MethodOptions& options,
             const std::vector<std::string>&, View l, View x) {
  PtoEmitter(b, l.rows, options.block.value_or(1), Variant::kPto).Emit(l, x);
}
void EmitMbhResident(PlanBuilder& b, const MethodOptions& options,
                     const std::vector<std::string>&, View l, View x) {
  PtoEmitter(b, l.rows, options.block.value_or(1), Variant::kResident)
      .Emit(l, x);
}

void ValidateMbh(const MethodOptions& options, int n) {
  const int block = options.block.value_or(1);
  if (block < kFractal) {
    throw InputError("--block " + std::to_string(block) +
                     ": mbh's pto kernel starts its second phase from blocks "
                     "of at least 16 (it extracts 16 x 16 fp16 fractals); "
                     "use --block 16.." +
                     std::to_string(n));
  }
}

const KernelSource kV012{"huawei-csl/pto-kernels",
                         "csrc/kernel/kernel_tri_inv_rec_unroll.cpp", "v0.1.2"};
const KernelSource kPr238{"huawei-csl/pto-kernels",
                          "csrc/kernel/kernel_tri_inv_rec_unroll.cpp",
                          "PR #238 (accumulator reuse)"};

std::vector<KernelRequirement> PtoRequirements() {
  return {
      {"operand",
       {"fp16", "bf16", "fp32", "hf32"},
       "Mmads with a float operand and an fp32 accumulator"},
      {"storage",
       {"fp16", "bf16", "fp32", "hf32"},
       "L1/L0 tiles hold a float format (the kernel's InputT)"},
  };
}

KernelSetting BlockSetting() {
  return {"block",
          "16",
          {"16", "32", "64", "128"},
          "phase 1's doubling block (v0.1.2: 16, the fp16 fractal; a knob "
          "since pto-kernels PR #238 / issue #242); capped at C"};
}

}  // namespace

std::vector<KernelInfo> PtoTriInvKernels() {
  const std::vector<int> chunks = {16, 32, 64, 128};
  return {
      {"mch",
       "pto",
       "pto-kernels tri_inv_rec_unroll phase 1 with block C: full C x C "
       "Mmads, sums in L0C, FIXPIPE fp16 to L1, fp32 out",
       kV012,
       chunks,
       PtoRequirements(),
       {},
       "pto-fp16",
       EmitMch,
       nullptr},
      {"mch",
       "pto-resident",
       "as pto, X kept in the fp32 accumulator across doubling levels",
       kPr238,
       chunks,
       PtoRequirements(),
       {},
       "pto-fp16",
       EmitMchResident,
       nullptr},
      {"mbh",
       "pto",
       "pto-kernels tri_inv_rec_unroll phase 2 (unrolled recursion) from "
       "--block b >= 16, diagonal blocks by its phase 1",
       kV012,
       chunks,
       PtoRequirements(),
       {},
       "pto-fp16",
       EmitMbh,
       ValidateMbh},
      {"mbh",
       "pto-resident",
       "as pto, X kept in the fp32 accumulator across phase-1 levels",
       kPr238,
       chunks,
       PtoRequirements(),
       {},
       "pto-fp16",
       EmitMbhResident,
       ValidateMbh},
      {"mxr",
       "pto",
       "pto-kernels tri_inv_rec_unroll: 16x16 diagonal blocks by repeated "
       "squaring, then unrolled recursion; full C x C Mmads, sums in L0C",
       kV012,
       chunks,
       PtoRequirements(),
       {BlockSetting()},
       "pto-fp16",
       EmitMxr,
       nullptr},
      {"mxr",
       "pto-resident",
       "as pto, X kept in the fp32 accumulator across doubling levels "
       "(pto-kernels PR #238)",
       kPr238,
       chunks,
       PtoRequirements(),
       {BlockSetting()},
       "pto-fp16",
       EmitMxrResident,
       nullptr},
  };
}

std::vector<KernelInfo> AllKernelInfos() {
  std::vector<KernelInfo> all;
  for (KernelInfo& k : PtoTriInvKernels()) all.push_back(std::move(k));
  for (KernelInfo& k : FlaGpuKernels()) all.push_back(std::move(k));
  for (KernelInfo& k : TritonAscendKernels()) all.push_back(std::move(k));
  for (KernelInfo& k : TilelangKernels()) all.push_back(std::move(k));
  for (KernelInfo& k : NeumannPtoKernels()) all.push_back(std::move(k));
  return all;
}

}  // namespace trisim::kernels
