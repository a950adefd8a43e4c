// The one method-spec grammar (core/spec.h) and nested method options
// (core/methods.h): dn-split's --inner/--outer with their own options, mxr's
// first-phase block, the option field list behind flags and specs.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "core/gdn.h"
#include "core/inputs.h"
#include "core/methods.h"
#include "core/spec.h"
#include "core/status.h"
#include "sim/executor.h"
#include "sim/recipe.h"

namespace trisim {
namespace {

double RelFrob(const Mat& ref, const Mat& got) {
  return (got - ref).norm() / ref.norm();
}

// fp64 error of a method spec against the long-double reference at C = 64.
double Fp64Error(const std::string& spec_text) {
  const MethodSpec spec = ParseMethodSpec(spec_text, "test");
  const Plan plan = BuildPlan(spec.method, spec.options, 64);
  const Mat l = MakeInputSource("uniform:0.1", 64, 7)->Sample(0).a;
  return RelFrob(ForwardSubstitutionInverse(l),
                 Executor(plan, LoadRecipe("fp64")).Run(l));
}

TEST_CASE("spec grammar: options, nesting and malformed specs",
          "[core][spec]") {
  const Spec s =
      ParseSpec("dn-split:block=16/inner=(ns:iters=3)/outer=mbh", "--methods");
  CHECK(s.name == "dn-split");
  REQUIRE(s.options.size() == 3);
  CHECK(s.options[0] ==
        std::make_pair(std::string("block"), std::string("16")));
  CHECK(s.options[1].second == "ns:iters=3");
  CHECK(s.options[2].second == "mbh");
  // Deeper nesting keeps its inner brackets for the next level.
  CHECK(ParseSpec("a:x=(b:y=(c:z=1)/w=2)", "t").options[0].second ==
        "b:y=(c:z=1)/w=2");
  CHECK(ParseSpec("mxr", "t").options.empty());
  for (const char* bad :
       {"", ":a=1", "m:", "m:a", "m:=1", "m:a=", "m:a=1/a=2", "m:a=(b",
        "m:a=b)", "m:a=(b)c", "m:a=()", "m:a=b(c)"}) {
    INFO(bad);
    CHECK_THROWS_AS(ParseSpec(bad, "--methods"), InputError);
  }
  CHECK_THROWS_WITH(
      ParseSpec("m:a", "--methods"),
      Catch::Contains("--methods 'm:a'") && Catch::Contains("key=value"));
  CHECK(SplitTopLevel("mxr,dn-split:inner=(ns:iters=3),vcs", ',', "t") ==
        std::vector<std::string>{"mxr", "dn-split:inner=(ns:iters=3)", "vcs"});
  CHECK_THROWS_AS(SplitTopLevel("mxr,,vcs", ',', "t"), InputError);
}

TEST_CASE("method specs parse every option and print back canonically",
          "[core][spec]") {
  const MethodSpec n = ParseMethodSpec(
      "neumann:residual=newton/order=5/mask=band:3/steps=4", "--methods");
  CHECK(n.method == "neumann");
  CHECK(*n.options.order == 5);
  CHECK(*n.options.steps == 4);
  CHECK(n.options.mask->Name() == "band:3");
  CHECK(*n.options.residual == ResidualForm::kNewton);
  // Field-list order, not the order written.
  CHECK(MethodSpecText(n) ==
        "neumann:order=5/mask=band:3/steps=4/residual=newton");
  const MethodSpec d =
      ParseMethodSpec("dn-split:inner=(ns:iters=3)/outer=mbh", "t");
  CHECK(*d.options.inner == "ns:iters=3");
  CHECK(MethodSpecText(d) == "dn-split:inner=(ns:iters=3)/outer=mbh");
  CHECK(MethodSpecText(ParseMethodSpec(MethodSpecText(d), "t")) ==
        MethodSpecText(d));

  CHECK_THROWS_WITH(ParseMethodSpec("neumann:order=x", "--methods"),
                    Catch::Contains("order expects an integer"));
  CHECK_THROWS_WITH(ParseMethodSpec("neumann:colour=red", "--methods"),
                    Catch::Contains("unknown option 'colour'"));
  CHECK_THROWS_WITH(ParseMethodSpec("qr", "--methods"),
                    Catch::Contains("unknown method 'qr'"));
  CHECK_THROWS_WITH(ParseMethodSpec("dn-split:inner=(qr:x=1)", "--methods"),
                    Catch::Contains("unknown method 'qr'"));
  CHECK_THROWS_WITH(ParseMethodSpec("neumann:order=99999999999", "t"),
                    Catch::Contains("expects an integer"));

  // Keys the caller declares come back unparsed (e.g. a recipe's kernel=).
  std::vector<std::pair<std::string, std::string>> extra;
  const MethodSpec k =
      ParseMethodSpec("mxr:kernel=fla-ref/block=32", "t", {"kernel"}, &extra);
  CHECK(*k.options.block == 32);
  REQUIRE(extra.size() == 1);
  CHECK(extra[0].second == "fla-ref");
  CHECK_THROWS_WITH(ParseMethodSpec("mxr:kernel=x", "t"),
                    Catch::Contains("unknown option 'kernel'"));
}

TEST_CASE("dn-split's inner and outer methods take their own options",
          "[core][spec]") {
  // ns inverts a 16 x 16 block exactly after 4 iterations (residual
  // L^(2^k), L^16 = 0), not after 2.
  CHECK(Fp64Error("dn-split:inner=(ns:iters=4)") <= 1e-13);
  CHECK(Fp64Error("dn-split:inner=(ns:iters=2)") > 1e-8);
  CHECK(Fp64Error("dn-split:block=8/outer=(mbh:block=2)") <= 1e-13);
  CHECK(Fp64Error("dn-split:outer=(neumann:order=3/steps=2)") <= 1e-13);

  const MethodSpec d = ParseMethodSpec("dn-split:inner=(ns:iters=3)", "t");
  CHECK(BuildPlan(d.method, d.options, 64).options ==
        "block=16 inner=(ns:iters=3) outer=mbh");
  // Without nested options the description is unchanged.
  CHECK(BuildPlan("dn-split", {}, 64).options ==
        "block=16 inner=mch outer=mbh");
  // Nested options are checked against the nested method and its size.
  const MethodSpec bad = ParseMethodSpec("dn-split:inner=(ns:order=3)", "t");
  CHECK_THROWS_WITH(BuildPlan(bad.method, bad.options, 64),
                    Catch::Contains("--order does not apply to method 'ns'"));
  const MethodSpec big =
      ParseMethodSpec("dn-split:block=8/inner=(mbh:block=16)", "t");
  CHECK_THROWS_WITH(BuildPlan(big.method, big.options, 64),
                    Catch::Contains("--block 16"));
  CHECK_THROWS_WITH(
      BuildPlan("dn-split",
                ParseMethodSpec("dn-split:outer=dn-split", "t").options, 64),
      Catch::Contains("cannot nest"));
}

TEST_CASE("mxr's first-phase block: 16..C/2, default 16", "[core][spec]") {
  CHECK(Fp64Error("mxr:block=32") <= 1e-12);
  CHECK(BuildPlan("mxr", ParseMethodSpec("mxr:block=32", "t").options, 64)
            .options == "block=32");
  CHECK(BuildPlan("mxr", {}, 64).options == "block=16");
  // A larger first phase means fewer doubling rounds.
  CHECK(BuildPlan("mxr", ParseMethodSpec("mxr:block=32", "t").options, 64)
            .CountSteps(OpKind::kMatMul) !=
        BuildPlan("mxr", {}, 64).CountSteps(OpKind::kMatMul));
  for (const char* bad : {"mxr:block=8", "mxr:block=64", "mxr:block=24"}) {
    INFO(bad);
    CHECK_THROWS_WITH(BuildPlan("mxr", ParseMethodSpec(bad, "t").options, 64),
                      Catch::Contains("--block") && Catch::Contains("mxr") &&
                          Catch::Contains("C/2 = 32"));
  }
}

TEST_CASE("every option in the field list is taken by some method",
          "[core][spec]") {
  MethodOptions().ForEach([&](const auto&, const OptionField& f) {
    bool taken = false;
    for (const MethodInfo& m : AllMethods()) {
      for (const MethodOption& o : m.options) {
        taken = taken || o.key == std::string(f.key);
      }
    }
    INFO(f.key);
    CHECK(taken);
  });
  // And every option a method declares is in the field list.
  for (const MethodInfo& m : AllMethods()) {
    for (const MethodOption& o : m.options) {
      MethodOptions set;
      std::string error;
      try {
        SetMethodOption(set, o.key, "1", "t");
      } catch (const InputError& e) {
        error = e.what();  // "1" is not a valid mask, form or spec
      }
      INFO(m.name << " " << o.key << ": " << error);
      CHECK(error.find("unknown option") == std::string::npos);
    }
  }
}

}  // namespace
}  // namespace trisim
