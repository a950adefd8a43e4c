// core/plan: the one definition of "which earlier step produced what this
// step reads" (Plan::Producers, used by the executor's dependency listing
// and by the cost model alike), parallel copies from the builder's record
// (not from label text), and the one op -> unit answer.
#include "core/plan.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "core/methods.h"

namespace trisim {
namespace {

using Ints = std::vector<int>;

TEST_CASE("Producers: newest overlapping writers back to a covering one",
          "[core][plan]") {
  PlanBuilder b("test", "", 4);
  const View l = b.NewBuffer("L", 4, 4, BufferRole::kInput);
  const View x = b.NewBuffer("X", 4, 4, BufferRole::kOutput);
  const View y = b.NewBuffer("Y", 4, 4);
  b.SetZero(x, "zero");                                          // 0: covers X
  b.Copy(x.Block(0, 0, 2, 4), l.Block(0, 0, 2, 4), "top");       // 1
  b.Copy(x.Block(2, 0, 2, 4), l.Block(2, 0, 2, 4), "bottom");    // 2
  b.Copy(y, x, "read all");                                      // 3
  b.Copy(y.Block(0, 0, 2, 2), x.Block(0, 0, 2, 2), "read top");  // 4
  b.Copy(x, l, "overwrite");                                     // 5
  b.Copy(y, x, "read again");                                    // 6
  const Plan p = b.Finish(l, x);

  // Neither half covers X alone, so the zero-fill under them still counts.
  CHECK(p.Producers(3, x) == Ints{2, 1, 0});
  // The top half covers the top-left 2 x 2 read: the search stops there.
  CHECK(p.Producers(4, x.Block(0, 0, 2, 2)) == Ints{1});
  // A full overwrite hides everything before it.
  CHECK(p.Producers(6, x) == Ints{5});
  // Nothing wrote L: the input has no producer. Empty reads have none.
  CHECK(p.Producers(1, l.Block(0, 0, 2, 4)).empty());
  CHECK(p.Producers(3, x.Block(0, 0, 0, 4)).empty());

  // Dependencies() is the union over each step's reads, sorted.
  const std::vector<Ints> deps = p.Dependencies();
  CHECK(deps[3] == Ints{0, 1, 2});
  CHECK(deps[4] == Ints{1});
  CHECK(deps[6] == Ints{5});
  // Step 4 writes part of Y after step 3 wrote all of it, but only reads
  // count: no write-after-write edge.
  CHECK(deps[5].empty());
}

TEST_CASE("Producers: a forward-substitution row reads the rows above it",
          "[core][plan]") {
  PlanBuilder b("test", "", 4);
  const View l = b.NewBuffer("L", 4, 4, BufferRole::kInput);
  const View x = b.NewBuffer("X", 4, 4, BufferRole::kOutput);
  b.SetIdentity(x, "identity");                              // 0
  for (int r = 1; r < 4; ++r) b.ForwardRow(x, l, r, "row");  // 1, 2, 3
  const Plan p = b.Finish(l, x);
  const std::vector<Ints> deps = p.Dependencies();
  // Row r reads X's rows 0..r-1 (its own row too): every earlier row step
  // and the identity under them.
  CHECK(deps[1] == Ints{0});
  CHECK(deps[2] == Ints{0, 1});
  CHECK(deps[3] == Ints{0, 1, 2});
}

TEST_CASE("SameCopyPosition: from the builder's scopes, not labels",
          "[core][plan]") {
  PlanBuilder b("test", "", 8);
  const View l = b.NewBuffer("L", 8, 8, BufferRole::kInput);
  const View x = b.NewBuffer("X", 8, 8, BufferRole::kOutput);
  for (int blk = 0; blk < 2; ++blk) {
    b.PushCopy("blk", blk);
    const View d = x.Block(4 * blk, 4 * blk, 4, 4);
    // Labels differ between the copies on purpose: they must not matter.
    b.Copy(d, l.Block(4 * blk, 4 * blk, 4, 4), "load " + std::to_string(blk));
    b.SetIdentity(d, blk == 0 ? "identity" : "eye");
    b.PopCopy();
  }
  b.Copy(x, l, "after");  // step 4, outside every copy scope
  const Plan p = b.Finish(l, x);
  CHECK(p.SameCopyPosition(0, 2));
  CHECK(p.SameCopyPosition(1, 3));
  CHECK_FALSE(p.SameCopyPosition(0, 3));  // different positions
  CHECK_FALSE(p.SameCopyPosition(0, 1));  // the same instance
  CHECK_FALSE(p.SameCopyPosition(0, 0));
  CHECK_FALSE(p.SameCopyPosition(0, 4));  // not in a copy scope
}

TEST_CASE("SameCopyPosition: nested copies and different families",
          "[core][plan]") {
  PlanBuilder b("test", "", 8);
  const View l = b.NewBuffer("L", 8, 8, BufferRole::kInput);
  const View x = b.NewBuffer("X", 8, 8, BufferRole::kOutput);
  for (int outer = 0; outer < 2; ++outer) {
    b.PushCopy("pair", outer);
    for (int inner = 0; inner < 2; ++inner) {
      b.PushCopy("blk", inner);
      b.Copy(x.Block(4 * outer + 2 * inner, 0, 2, 2), l.Block(0, 0, 2, 2),
             "load");
      b.PopCopy();
    }
    b.PopCopy();
  }
  b.PushCopy("other", 0);
  b.Copy(x.Block(0, 4, 2, 2), l.Block(0, 0, 2, 2), "load");  // step 4
  b.PopCopy();
  b.PushCopy("other", 1);
  b.Copy(x.Block(2, 4, 2, 2), l.Block(0, 0, 2, 2), "load");  // step 5
  b.PopCopy();
  const Plan p = b.Finish(l, x);
  // Steps 0, 1 (pair 0: blk 0, 1) and 2, 3 (pair 1). Copies differ at the
  // outermost level where their chains differ.
  CHECK(p.SameCopyPosition(0, 1));        // blk 0 vs blk 1 inside pair 0
  CHECK(p.SameCopyPosition(0, 2));        // pair 0 vs pair 1, same position
  CHECK_FALSE(p.SameCopyPosition(0, 3));  // pair 0 pos 0 vs pair 1 pos 1
  CHECK(p.SameCopyPosition(4, 5));
  CHECK_FALSE(p.SameCopyPosition(0, 4));  // families differ
}

TEST_CASE("built-in plans: copies found structurally, dependencies acyclic",
          "[core][plan]") {
  for (const std::string method : {"fla", "mxr", "mbh", "neumann"}) {
    const Plan p = BuildPlan(method, MethodOptions{}, 64);
    const std::vector<Ints> deps = p.Dependencies();
    int copies = 0;
    for (size_t s = 0; s < p.steps.size(); ++s) {
      for (int d : deps[s]) CHECK(d < static_cast<int>(s));
      if (!p.steps[s].copies.empty()) ++copies;
    }
    INFO(method);
    if (method != "neumann") CHECK(copies > 0);  // per-block phases
  }
}

TEST_CASE("UnitOf: one answer per op", "[core][plan]") {
  CHECK(UnitOf(OpKind::kMatMul) == OpUnit::kCube);
  CHECK(UnitOf(OpKind::kMmad) == OpUnit::kCube);
  CHECK(UnitOf(OpKind::kStore) == OpUnit::kFixpipe);
  CHECK(UnitOf(OpKind::kSync) == OpUnit::kSync);
  CHECK(UnitOf(OpKind::kMask) == OpUnit::kVector);
  CHECK(UnitOf(OpKind::kForwardRow) == OpUnit::kVector);
  CHECK(UnitOf(OpKind::kLinComb) == OpUnit::kVector);
  CHECK(UnitOf(OpKind::kCopy) == OpUnit::kMove);
  CHECK(UnitOf(OpKind::kTranspose) == OpUnit::kMove);
  CHECK(std::string(OpUnitName(OpUnit::kFixpipe)) == "fixpipe");
  CHECK(std::string(OpUnitName(OpUnit::kCube)) == "cube");
}

}  // namespace
}  // namespace trisim
