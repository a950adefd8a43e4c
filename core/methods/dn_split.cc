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
#include "core/status.h"

namespace trisim::methods {
namespace {

constexpr int kDefaultBlock = 16;
const char* const kDefaultInner = "mch";
const char* const kDefaultOuter = "mbh";

int Block(const MethodOptions& o, int n) {
  return o.block.value_or(std::min(kDefaultBlock, n));
}
std::string Inner(const MethodOptions& o) {
  return o.inner.value_or(kDefaultInner);
}
std::string Outer(const MethodOptions& o) {
  return o.outer.value_or(kDefaultOuter);
}

void Emit(PlanBuilder& b, const MethodOptions& options, View l, View x) {
  const int n = l.rows;
  const int s = Block(options, n);
  const MethodInfo& inner = FindMethod(Inner(options));
  const std::string outer = Outer(options);

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
    inner.emit(b, MethodOptions{}, d.Block(i * s, i * s, s, s),
               xd.Block(i * s, i * s, s, s));
    b.PopCopy();
    b.PopScope();
  }
  b.MatMul(l2, {xd, nb}, 1.0, "L2 = Xd Nb");
  b.PushScope("outer.");
  if (outer == "mbh") {
    b.SetIdentity(xo, "Xo = I");
    EmitBlockDoubling(b, l2, xo, s);
  } else {
    FindMethod(outer).emit(b, MethodOptions{}, l2, xo);
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
  const std::pair<std::string, int> parts[] = {{Inner(options), s},
                                               {Outer(options), n}};
  for (const auto& [name, size] : parts) {
    const MethodInfo& m = FindMethod(name);
    if (std::string(m.name) == "dn-split") {
      throw InputError("--inner/--outer: dn-split cannot nest itself");
    }
    if (m.validate != nullptr) m.validate(MethodOptions{}, size);
  }
}

std::string Describe(const MethodOptions& options, int n) {
  return "block=" + std::to_string(Block(options, n)) +
         " inner=" + Inner(options) + " outer=" + Outer(options);
}

}  // namespace

MethodInfo DnSplitMethod() {
  return {"dn-split",
          "block-wise decomposition (I+L)^-1 = (I + Xd Nb)^-1 Xd with an inner "
          "method on b x b blocks and an outer one on the rest",
          {"block", "inner", "outer"},
          true,
          Emit,
          Validate,
          Describe};
}

}  // namespace trisim::methods
