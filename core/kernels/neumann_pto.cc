// pto: a truncated-Neumann kernel for the Ascend cube in the style of
// huawei-csl/pto-kernels kernel_tri_inv_rec_unroll.cpp (KERNELS.md section
// 1): our proposal (issue 11 item 2; there is no public Neumann kernel,
// KERNELS.md section 6), written so a kernel author can build it from this
// file. pto-resident: the same with X kept in the fp32 accumulator across
// residual steps (the idea of pto-kernels PR #238).
//
// What it computes: the neumann method (core/methods/neumann.cc) with its
// options - series order N by Horner, an optional block:b mask, S residual
// steps in the method's form (richardson, newton, or product = newton's
// log-depth product form) - with every sum accumulated in L0C, so a value
// is rounded only where it leaves L0C (FIXPIPE). The method's math-level plan
// rounds every product and every vector sum instead; the bits differ.
//
// Cube only (the vector cores are idle); persistent launch, one program per
// cube core, each walking its chunks one after another.
//
// Tiles (C x C each; L1 in the recipe's storage format unless noted):
//   L_l1     the chunk's L (input format), TLOAD from GM; two slots, so the
//            next chunk's TLOAD runs during this chunk (items loaded ahead 2)
//   Ineg_l1  -I, TLOAD once per core from a host-built constant
//   I_l1     I = (-I)(-I), made once per core by Mmad + FIXPIPE
//   Lneg_l1  -L = (-I) L          (series)
//   Mneg_l1  -M = -L + (-I) I     (residual; M = I + L), the same L0C tile
//            continued after Lneg's FIXPIPE
//   X0_l1    the series X0 (Horner partials overwrite it)
//   X0m_l1   the masked series (block:b mask only)
//   R_l1     the residual R = I - M X (product form: P)
//   X_l1     the iterate's storage-format image (the next operand)
//   a_l0[2], b_l0[2]   L0A / L0B ping-pong pairs (operands)
//   c_l0[2]  L0C accumulators (fp32; c0 for R / P / series, c1 for X)
// No scratch tile is duplicated: one chunk is computed at a time per core.
//
// Per chunk (each "(+)=" is one full C x C x C Mmad, TMATMUL or TMATMUL_ACC;
// "-> T" a FIXPIPE L0C -> L1 in the storage format, "-> GM" L0C -> GM in the
// output format):
//   c0 = (-I) L -> Lneg           (only when N >= 1)
//   c0 += (-I) I -> Mneg          (only when S >= 1)
//   series, j = 1..N: c0 = I I; c0 += Lneg P_{j-1} -> X0   (P_0 = I)
//   mask block:b: a = 0 (zero-fill TMOV) + TEXTRACT of the diagonal b x b
//     blocks' 16 x 16 fractals of X0; c1 = a I -> X0m
//   residual step s = 1..S:
//     richardson / newton:  c0 = I I; c0 += Mneg X -> R
//       pto:          c1 = X I; c1 += Y R -> X   (Y = X0m, or X for newton)
//       pto-resident: c1 += Y R -> X             (c1 = X0m I before step 1)
//     product:  before step 1: c0 = I I; c0 += Mneg X0m -> P
//       pto:          c1 = X I; c1 += X P -> X
//       pto-resident: c1 += X P -> X             (c1 = X0m I before step 1)
//       then, unless s = S: c0 = P P -> P
//   The last FIXPIPE of X goes to GM in the output format instead of L1.
// Counts per Richardson step: 4 Mmads and 2 FIXPIPE passes (pto), 3 and 2
// (pto-resident); at N = 3, S = 8: 2 + 6 + 32 = 40 Mmads (pto).
// With no residual step the series (or the masked series) leaves to GM.
//
// Synchronisation (as pto-kernels issues it: a set_flag / wait_flag pair at
// every hand-off between pipes, events per resource): MTE1 -> M before each
// Mmad (its operands are in L0A/L0B, event = the L0 pair), M -> MTE1 after it
// (the pair may be overwritten), M -> FIX before a FIXPIPE (event = the L0C
// tile), FIX -> M after it (the L0C tile may be overwritten or continued),
// FIX -> MTE1 before a TMOV that reads an L1 tile a FIXPIPE wrote, MTE2 ->
// MTE1 after the TLOAD and MTE1 -> MTE2 when L's slot is free again. Every
// flag set in a chunk is waited in it (the chunk ends by draining them),
// except MTE1 -> MTE2, set at the end of a chunk and waited by the next
// chunk's TLOAD (the prologue sets it once).
//
// Formats: the recipe fixes them (core/kernels.h). Float operands (fp16,
// bf16, fp32, hf32) accumulate in fp32 as sim/cube.h says. Integer operands
// (int8, int16 emulated or native): every Mmad operand tile is quantised
// with the recipe's scale rule (operand_scale: amax of the tile, or of each
// b x b block, quant/scale.h), and the accumulator follows setting
// `int-sum=dequant-fp32`: each k-group's exact integer sum is dequantised by
// its scale product (10-bit FIXPIPE mantissa unless the recipe says
// otherwise) into an fp32 sum in L0C (sim/cube.h CubeMmad). On a 910B an
// int8 L0C holds int32 under one scale, so products with different scales
// cannot share it: this setting models a cube that dequantises per k-group
// (like block-scaled formats on newer cubes); on a 910B the same kernel
// needs one FIXPIPE dequant per product and the sums elsewhere - not
// modelled. Identity seeds are quantised too (I -> 127 x (1/127)), so their
// dequantised value is 1 only up to the scale's 10-bit mantissa.
#include <string>

#include "core/kernels/all.h"
#include "core/status.h"

namespace trisim::kernels {
namespace {

constexpr int kFractal = 16;

class NeumannEmitter {
 public:
  NeumannEmitter(PlanBuilder& b, const MethodOptions& o, int n, bool resident)
      : b_(b),
        n_(n),
        order_(o.order.value_or(3)),
        steps_(o.steps.value_or(8)),
        mask_(o.mask.value_or(Mask{})),
        form_(o.residual.value_or(ResidualForm::kRichardson)),
        resident_(resident) {}

  void Emit(View l, View x) {
    using P = KernelPipe;
    auto& facts = b_.Kernel();
    facts.items_loaded_per_core = 2;  // two L slots
    facts.items_computed_per_core = 1;
    b_.BeginLaunch({"neumann_pto", Launch::Cores::kCube, false,
                    "persistent: one program per cube core, each walks its "
                    "chunks; the next chunk's L loaded ahead, one computed "
                    "at a time; no output zero-fill (full tiles written)"});
    // Host: a constant -I in GM, built once (cached across calls).
    const View ineg_gm =
        b_.NewTile("Ineg_gm", n_, n_, Memory::kGM, FormatClass::kStorage,
                   BufferRole::kConstant);
    b_.SetPipe(P::kHost);
    b_.SetIdentity(ineg_gm, "I_neg = I (host, once)");
    b_.LinComb(ineg_gm, {-1.0}, {ineg_gm}, "I_neg = -I (host, once)");
    b_.SetPipe(P::kNone);

    const auto l1 = [&](const char* name, FormatClass f) {
      return b_.NewTile(name, n_, n_, Memory::kL1, f);
    };
    const View l_l1 = l1("L_l1", FormatClass::kInput);
    ineg_ = l1("Ineg_l1", FormatClass::kStorage);
    i_ = l1("I_l1", FormatClass::kStorage);
    for (int k = 0; k < 2; ++k) {
      const std::string s = std::to_string(k);
      a_[k] = b_.NewTile("a_l0[" + s + "]", n_, n_, Memory::kL0A,
                         FormatClass::kStorage);
      bb_[k] = b_.NewTile("b_l0[" + s + "]", n_, n_, Memory::kL0B,
                          FormatClass::kStorage);
      c_[k] = b_.NewTile("c_l0[" + s + "]", n_, n_, Memory::kL0C,
                         FormatClass::kAccumulator, BufferRole::kAccumulator);
    }

    // Prologue, once per core.
    b_.SetOncePerCore(true);
    b_.Copy(ineg_, ineg_gm, "TLOAD I_neg");
    b_.SetWaitFlag(P::kMTE2, P::kMTE1, kEvLoad);
    Product(0, ineg_, ineg_, false, "c0 = (-I)(-I) = I");
    Fix(i_, 0, "FIXPIPE I_l1");
    const bool masked = mask_.kind == Mask::Kind::kBlockDiagonal &&
                        mask_.width < n_ && order_ >= 1;
    if (masked) {  // a zero tile for zero-fill TMOVs: (-I)(-I) + (-I) I
      zero_ = l1("Zero_l1", FormatClass::kStorage);
      Product(1, ineg_, ineg_, false, "c1 = (-I)(-I)");
      Product(1, ineg_, i_, true, "c1 += (-I) I = 0");
      Fix(zero_, 1, "FIXPIPE Zero_l1");
    }
    Drain();
    b_.SetFlag(P::kMTE1, P::kMTE2, kEvLoad);  // L's slot is free
    b_.SetOncePerCore(false);

    // Per chunk.
    b_.WaitFlag(P::kMTE1, P::kMTE2, kEvLoad);
    b_.Copy(l_l1, l, "TLOAD L_l1 = L");
    b_.SetFlag(P::kMTE2, P::kMTE1, kEvLoad);
    load_pending_ = true;

    View lneg, mneg;
    if (order_ >= 1) {
      lneg = l1("Lneg_l1", FormatClass::kStorage);
      Product(0, ineg_, l_l1, false, "c0 = (-I) L");
      Fix(lneg, 0, "FIXPIPE Lneg_l1 = -L");
    }
    if (steps_ >= 1) {
      mneg = l1("Mneg_l1", FormatClass::kStorage);
      if (order_ < 1) Product(0, ineg_, l_l1, false, "c0 = (-I) L");
      Product(0, ineg_, i_, true, "c0 += (-I) I");
      Fix(mneg, 0, "FIXPIPE Mneg_l1 = -(I + L)");
    }
    if (load_pending_) {  // N = 0, S = 0: L is not read
      b_.WaitFlag(P::kMTE2, P::kMTE1, kEvLoad);
      load_pending_ = false;
    }
    b_.SetFlag(P::kMTE1, P::kMTE2, kEvLoad);  // L's slot is free

    const bool series_out = steps_ == 0 && !masked;
    // Series by Horner: X0 = I + (-L) X0, every level summed in L0C.
    View x0 = i_;
    if (order_ >= 1) {
      const View x0_l1 = l1("X0_l1", FormatClass::kStorage);
      for (int j = 1; j <= order_; ++j) {
        const std::string level = " (order " + std::to_string(j) + ")";
        Product(0, i_, i_, false, "c0 = I I" + level);
        Product(0, lneg, x0, true, "c0 += (-L) X0" + level);
        const bool last = j == order_ && series_out;
        Fix(last ? x : x0_l1, 0,
            last ? "FIXPIPE X = X0 (output)" : "FIXPIPE X0_l1" + level);
        x0 = x0_l1;
      }
    } else if (series_out) {
      Product(0, i_, i_, false, "c0 = I I (X0 = I)");
      Fix(x, 0, "FIXPIPE X = I (output)");
    }
    if (masked) {
      // block:b mask: zero-fill an L0A tile, TEXTRACT the diagonal blocks'
      // fractals of X0 into it, and store it through c1 = X0m I.
      const int k = NextPair();
      b_.Copy(a_[k], zero_, "TMOV a = 0 (zero-fill)");
      for (int blk = 0; blk < n_ / mask_.width; ++blk) {
        for (int fi = 0; fi < mask_.width / kFractal; ++fi) {
          for (int fj = 0; fj < mask_.width / kFractal; ++fj) {
            const int r = blk * mask_.width + fi * kFractal;
            const int c = blk * mask_.width + fj * kFractal;
            b_.Copy(a_[k].Block(r, c, kFractal, kFractal),
                    x0.Block(r, c, kFractal, kFractal),
                    "TEXTRACT mask fractal (" + std::to_string(r / 16) + "," +
                        std::to_string(c / 16) + ")");
          }
        }
      }
      b_.Copy(bb_[k], i_, "TMOV b = I");
      MmadFromPair(k, 1, false, "c1 = mask(X0) I");
      const View x0m = steps_ == 0 ? x : l1("X0m_l1", FormatClass::kStorage);
      Fix(x0m, 1,
          steps_ == 0 ? "FIXPIPE X = mask(X0) (output)" : "FIXPIPE X0m_l1");
      x0 = x0m;
    }
    if (steps_ >= 1) Residual(mneg, x0, x);
    Drain();
  }

 private:
  static constexpr int kEvLoad = 2;

  void Residual(View mneg, View x0, View out) {
    View x = x0;
    const View r_l1 =
        b_.NewTile(form_ == ResidualForm::kProduct ? "P_l1" : "R_l1", n_, n_,
                   Memory::kL1, FormatClass::kStorage);
    const View x_l1 =
        b_.NewTile("X_l1", n_, n_, Memory::kL1, FormatClass::kStorage);
    const auto residual = [&](View xs, const std::string& what) {
      Product(0, i_, i_, false, "c0 = I I" + what);
      Product(0, mneg, xs, true, "c0 += (-M) X" + what);
      Fix(r_l1, 0, "FIXPIPE R_l1 = I - M X" + what);
    };
    if (resident_) Product(1, x0, i_, false, "c1 = X0 I (X resident)");
    const bool product = form_ == ResidualForm::kProduct;
    if (product) residual(x0, " (P = I - M X0)");
    for (int s = 1; s <= steps_; ++s) {
      const std::string what = " (step " + std::to_string(s) + ")";
      if (!product) residual(x, what);
      const View y = form_ == ResidualForm::kRichardson ? x0 : x;
      if (!resident_) Product(1, x, i_, false, "c1 = X I" + what);
      Product(1, y, r_l1, true,
              (form_ == ResidualForm::kRichardson ? "c1 += X0 R"
               : product                          ? "c1 += X P"
                                                  : "c1 += X R") +
                  what);
      const bool last = s == steps_;
      Fix(last ? out : x_l1, 1,
          last ? "FIXPIPE X (output)" + what : "FIXPIPE X_l1" + what);
      x = x_l1;
      if (product && !last) {
        Product(0, r_l1, r_l1, false, "c0 = P P" + what);
        Fix(r_l1, 0, "FIXPIPE P_l1 = P P" + what);
      }
    }
  }

  int NextPair() {
    using P = KernelPipe;
    const int k = pair_;
    pair_ = 1 - pair_;
    if (pair_busy_[k]) {  // the last Mmad reading this pair is done
      b_.WaitFlag(P::kM, P::kMTE1, k);
      pair_busy_[k] = false;
    }
    if (fix_pending_) {  // the L1 tile a FIXPIPE wrote is complete
      b_.WaitFlag(P::kFIX, P::kMTE1, 0);
      fix_pending_ = false;
    }
    if (load_pending_) {  // L is in L1
      b_.WaitFlag(P::kMTE2, P::kMTE1, kEvLoad);
      load_pending_ = false;
    }
    return k;
  }

  // acc c[j] (+)= a b: TMOV a, b into the next L0 pair, then the Mmad.
  void Product(int j, View a, View b, bool accumulate,
               const std::string& label) {
    const int k = NextPair();
    b_.Copy(a_[k], a, "TMOV a for " + label);
    b_.Copy(bb_[k], b, "TMOV b for " + label);
    MmadFromPair(k, j, accumulate, label);
  }

  void MmadFromPair(int k, int j, bool accumulate, const std::string& label) {
    using P = KernelPipe;
    b_.SetWaitFlag(P::kMTE1, P::kM, k);
    if (acc_busy_[j]) {  // the FIXPIPE reading c[j] is done
      b_.WaitFlag(P::kFIX, P::kM, j);
      acc_busy_[j] = false;
    }
    b_.Mmad(c_[j], {a_[k], bb_[k]}, accumulate, label);
    b_.SetFlag(P::kM, P::kMTE1, k);
    pair_busy_[k] = true;
  }

  void Fix(View dst, int j, const std::string& label) {
    using P = KernelPipe;
    b_.SetWaitFlag(P::kM, P::kFIX, j);
    b_.Store(dst, c_[j], label);
    b_.SetFlag(P::kFIX, P::kM, j);
    acc_busy_[j] = true;
    if (!fix_pending_) {
      b_.SetFlag(P::kFIX, P::kMTE1, 0);
      fix_pending_ = true;
    }
  }

  // Waits every flag still set, so the next chunk starts clean.
  void Drain() {
    using P = KernelPipe;
    for (int k = 0; k < 2; ++k) {
      if (pair_busy_[k]) b_.WaitFlag(P::kM, P::kMTE1, k);
      if (acc_busy_[k]) b_.WaitFlag(P::kFIX, P::kM, k);
      pair_busy_[k] = acc_busy_[k] = false;
    }
    if (fix_pending_) b_.WaitFlag(P::kFIX, P::kMTE1, 0);
    fix_pending_ = false;
    pair_ = 0;
  }

  PlanBuilder& b_;
  const int n_;
  const int order_;
  const int steps_;
  const Mask mask_;
  const ResidualForm form_;
  const bool resident_;
  View ineg_, i_, zero_;
  View a_[2], bb_[2], c_[2];
  int pair_ = 0;
  bool pair_busy_[2] = {false, false};
  bool acc_busy_[2] = {false, false};
  bool fix_pending_ = false;
  bool load_pending_ = false;
};

void EmitPto(PlanBuilder& b, const MethodOptions& o,
             const std::vector<std::string>&, View l, View x) {
  NeumannEmitter(b, o, l.rows, false).Emit(l, x);
}
void EmitResident(PlanBuilder& b, const MethodOptions& o,
                  const std::vector<std::string>&, View l, View x) {
  NeumannEmitter(b, o, l.rows, true).Emit(l, x);
}

void Validate(const MethodOptions& o, int n) {
  const Mask mask = o.mask.value_or(Mask{});
  if (mask.kind == Mask::Kind::kBand) {
    throw InputError("--mask " + mask.Name() +
                     ": neumann's pto kernel masks by extracting 16 x 16 "
                     "fractals on the cube; a band mask needs vector "
                     "elementwise work it does not issue (use none or "
                     "block:b with b >= 16)");
  }
  if (mask.kind == Mask::Kind::kBlockDiagonal &&
      (mask.width < kFractal || mask.width % kFractal != 0)) {
    throw InputError("--mask " + mask.Name() +
                     ": neumann's pto kernel extracts 16 x 16 fractals; "
                     "the block must be a multiple of 16 (16.." +
                     std::to_string(n) + ")");
  }
}

const KernelSource kOurs{"trisim (our design)", "core/kernels/neumann_pto.cc",
                         "in the style of pto-kernels v0.1.2"};

std::vector<KernelRequirement> Requirements() {
  return {
      {"operand",
       {"fp16", "bf16", "fp32", "hf32", "int8", "int16"},
       "cube Mmads: float operands accumulate in fp32, int8/int16 by the "
       "int-sum setting"},
      {"storage",
       {"fp16", "bf16", "fp32", "hf32"},
       "L1 tiles hold a float format (integer operands are quantised from "
       "them)"},
  };
}

KernelSetting IntSumSetting() {
  return {"int-sum",
          "dequant-fp32",
          {"dequant-fp32"},
          "integer operands: each k-group's integer sum is dequantised "
          "into an fp32 sum in L0C (a 910B L0C holds int32 under one "
          "scale; see core/kernels/neumann_pto.cc)"};
}

}  // namespace

std::vector<KernelInfo> NeumannPtoKernels() {
  const std::vector<int> chunks = {16, 32, 64, 128};
  return {
      {"neumann",
       "pto",
       "our cube kernel in pto-kernels' style: Horner series, block mask by "
       "fractal extract, residual steps with every sum in L0C (4 Mmads, 2 "
       "FIXPIPE per Richardson step)",
       kOurs,
       chunks,
       Requirements(),
       {IntSumSetting()},
       "pto-fp16",
       EmitPto,
       Validate},
      {"neumann",
       "pto-resident",
       "as pto, X kept in the fp32 accumulator across residual steps (3 "
       "Mmads, 2 FIXPIPE per step)",
       kOurs,
       chunks,
       Requirements(),
       {IntSumSetting()},
       "pto-fp16",
       EmitResident,
       Validate},
  };
}

}  // namespace trisim::kernels
