// dn-split: block-wise dynamic-range decomposition. With D the b x b diagonal
// blocks of L and Nb = L - D:
//   I + L = (I + D)(I + Xd Nb),  Xd = (I + D)^-1
//   (I + L)^-1 = (I + L2)^-1 Xd,  L2 = Xd Nb
// Xd comes from the inner method on each small block (bounded powers); L2 is
// block-strictly-lower (its b x b diagonal blocks are zero, L2^(C/b) = 0), so
// the outer inverse needs only log2(C/b) doubling rounds. With outer = mbh the
// doubling starts at b with X = I (the diagonal blocks of I + L2 are I).
#include <algorithm>

#include "core/methods/all.h"
#include "core/spec.h"
#include "core/status.h"

namespace trisim::methods {
namespace {

constexpr int kDefaultBlock = 16;
const char* const kDefaultInner = "mch";
const char* const kDefaultOuter = "mbh";

int Block(const MethodOptions& o, int n) {
  return o.block.value_or(std::min(kDefaultBlock, n));
}
// The nested specs: a method and its own options ("ns:iters=3").
MethodSpec Inner(const MethodOptions& o) {
  return NestedSpec(o.inner.value_or(kDefaultInner));
}
MethodSpec Outer(const MethodOptions& o) {
  return NestedSpec(o.outer.value_or(kDefaultOuter));
}

void Emit(PlanBuilder& b, const MethodOptions& options, View l, View x) {
  const int n = l.rows;
  const int s = Block(options, n);
  const MethodSpec inner = Inner(options);
  const MethodSpec outer = Outer(options);
  const MethodInfo& inner_method = FindMethod(inner.method);

  const View d = b.NewBuffer("D", n, n);
  const View nb = b.NewBuffer("Nb", n, n);
  const View xd = b.NewBuffer("Xd", n, n);
  const View l2 = b.NewBuffer("L2", n, n);
  const View xo = b.NewBuffer("Xo", n, n);
  Mask diagonal_blocks;
  diagonal_blocks.kind = Mask::Kind::kBlockDiagonal;
  diagonal_blocks.width = s;
  b.ApplyMask(d, l, diagonal_blocks, "D = diagonal blocks of L");
  b.LinComb(nb, {1.0, -1.0}, {l, d}, "Nb = L - D");
  if (s < n) b.SetZero(xd, "Xd = 0");
  for (int i = 0; i < n / s; ++i) {
    b.PushScope("inner" + std::to_string(i) + ".");
    b.PushCopy("inner", i);
    inner_method.emit(b, inner.options, d.Block(i * s, i * s, s, s),
                      xd.Block(i * s, i * s, s, s));
    b.PopCopy();
    b.PopScope();
  }
  b.MatMul(l2, {xd, nb}, 1.0, "L2 = Xd Nb");
  b.PushScope("outer.");
  if (outer.method == "mbh" && SetOptionKeys(outer.options).empty()) {
    // L2's b x b diagonal blocks are zero: doubling starts at b from X = I.
    b.SetIdentity(xo, "Xo = I");
    EmitBlockDoubling(b, l2, xo, s);
  } else {
    FindMethod(outer.method).emit(b, outer.options, l2, xo);
  }
  b.PopScope();
  b.MatMul(x, {xo, xd}, 1.0, "X = (I + L2)^-1 Xd");
}

void Validate(const MethodOptions& options, int n) {
  const int s = Block(options, n);
  if (s < 1 || s > n || (s & (s - 1)) != 0) {
    throw InputError("--block " + std::to_string(s) +
                     ": dn-split's block must be a power of two in [1, " +
                     std::to_string(n) + "]");
  }
  // The inner method inverts s x s blocks, the outer one the whole chunk.
  const std::pair<MethodSpec, int> parts[] = {{Inner(options), s},
                                              {Outer(options), n}};
  for (const auto& [spec, size] : parts) {
    if (spec.method == "dn-split") {
      throw InputError("--inner/--outer: dn-split cannot nest itself");
    }
    ValidateMethod(spec.method, spec.options, size);
  }
}

// A nested spec without options is written as its name alone.
std::string Describe(const MethodOptions& options, int n) {
  return "block=" + std::to_string(Block(options, n)) +
         " inner=" + SpecValue(MethodSpecText(Inner(options))) +
         " outer=" + SpecValue(MethodSpecText(Outer(options)));
}

}  // namespace

MethodInfo DnSplitMethod() {
  return {"dn-split",
          "block-wise decomposition (I+L)^-1 = (I + Xd Nb)^-1 Xd with an inner "
          "method on b x b blocks and an outer one on the rest",
          {{"block", std::to_string(kDefaultBlock),
            "block b (a power of two, 1..C)"},
           {"inner", kDefaultInner,
            "method spec for the b x b diagonal blocks, e.g. ns:iters=3"},
           {"outer", kDefaultOuter,
            "method spec for the block-strictly-lower rest, e.g. "
            "mbh:block=2"}},
          true,
          Emit,
          Validate,
          Describe};
}

}  // namespace trisim::methods
