// npy: spec keys (core/inputs.h): parsing, every form, above=check|ignore,
// and the one-line errors.
#include <catch2/catch.hpp>
#include <string>

#include "core/inputs.h"
#include "core/status.h"

namespace trisim {
namespace {

Mat SampleA() {
  Mat a = Mat::Zero(4, 4);
  int v = 1;
  for (int i = 1; i < 4; ++i) {
    for (int j = 0; j < i; ++j) a(i, j) = 0.25 * v++;
  }
  a(2, 1) = 0.0;  // a zero inside the lower part stays a (signed) zero
  return a;
}

std::string ErrorOf(const Mat& stored, const std::string& body) {
  try {
    NpyMatrixToA(stored, ParseNpyMatrixSpec(body), "m");
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

TEST_CASE("npy forms: keys parse from the end, paths may hold commas",
          "[core][npy][forms]") {
  NpyMatrixSpec s = ParseNpyMatrixSpec("dir,x/a.npy,form=upper,above=ignore");
  CHECK(s.path == "dir,x/a.npy");
  CHECK(s.form == NpyForm::kUpper);
  CHECK(s.above == NpyAbove::kIgnore);
  CHECK(s.Name() == "dir,x/a.npy,form=upper,above=ignore");
  s = ParseNpyMatrixSpec("a.npy");
  CHECK(s.form == NpyForm::kLower);
  CHECK(s.above == NpyAbove::kCheck);
  CHECK(s.Name() == "a.npy");
  CHECK(ParseNpyMatrixSpec("a.npy,above=check,form=minus-a").form ==
        NpyForm::kMinusA);
  CHECK_THROWS_WITH(ParseNpyMatrixSpec("a.npy,form=diag"),
                    Catch::Contains("lower|upper|i-plus-a|minus-a"));
  CHECK_THROWS_WITH(ParseNpyMatrixSpec("a.npy,above=yes"),
                    Catch::Contains("check|ignore"));
  CHECK_THROWS_WITH(ParseNpyMatrixSpec("a.npy,form=upper,form=lower"),
                    Catch::Contains("twice"));
  CHECK_THROWS_WITH(ParseNpyMatrixSpec(",form=upper"),
                    Catch::Contains("no file path"));
}

TEST_CASE("npy forms: every form gives back A, bit for bit",
          "[core][npy][forms]") {
  const Mat a = SampleA();
  const Mat eye = Mat::Identity(4, 4);
  struct Case {
    const char* body;
    Mat stored;
  } cases[] = {{"f", a},
               {"f,form=upper", a.transpose()},
               {"f,form=i-plus-a", eye + a},
               {"f,form=minus-a", -a}};
  for (const Case& c : cases) {
    INFO(c.body);
    const Mat got = NpyMatrixToA(c.stored, ParseNpyMatrixSpec(c.body), "m");
    for (int i = 0; i < 4; ++i) {
      for (int j = 0; j < 4; ++j) {
        CHECK(got(i, j) == a(i, j));
        if (i <= j) CHECK(!std::signbit(got(i, j)));  // +0 above
      }
    }
  }
  // minus-a: A is the exact negation of the file (a +0 there is -0 in A).
  Mat minus = -a;
  minus(2, 1) = 0.0;
  const Mat got =
      NpyMatrixToA(minus, ParseNpyMatrixSpec("f,form=minus-a"), "m");
  CHECK(std::signbit(got(2, 1)));
}

TEST_CASE("npy forms: above=check refuses, above=ignore drops stale entries",
          "[core][npy][forms]") {
  const Mat a = SampleA();
  Mat stale = a;
  stale(0, 3) = 9.0;
  stale(1, 1) = -1.0;
  CHECK(ErrorOf(stale, "f").find("(0, 3) = 9") != std::string::npos);
  CHECK(ErrorOf(stale, "f").find("above=ignore") != std::string::npos);
  const Mat got =
      NpyMatrixToA(stale, ParseNpyMatrixSpec("f,above=ignore"), "m");
  CHECK(got == a);
  // upper: the stale part is below the file's diagonal; reported in the
  // file's coordinates.
  Mat upper = a.transpose();
  upper(3, 0) = 2.0;
  CHECK(ErrorOf(upper, "f,form=upper").find("(3, 0) = 2") != std::string::npos);
  CHECK(NpyMatrixToA(upper, ParseNpyMatrixSpec("f,form=upper,above=ignore"),
                     "m") == a);
  // i-plus-a needs exactly 1 on the diagonal unless ignored.
  Mat ipa = Mat::Identity(4, 4) + a;
  ipa(2, 2) = 1.0 + 1e-9;
  CHECK(ErrorOf(ipa, "f,form=i-plus-a").find("1 on the diagonal") !=
        std::string::npos);
  CHECK(NpyMatrixToA(ipa, ParseNpyMatrixSpec("f,form=i-plus-a,above=ignore"),
                     "m") == a);
  // A lower file read as i-plus-a fails on the diagonal: never guessed.
  CHECK(!ErrorOf(a, "f,form=i-plus-a").empty());
  // Non-finite values in A's part are refused even with above=ignore.
  Mat nan = a;
  nan(3, 0) = NAN;
  CHECK(ErrorOf(nan, "f,above=ignore").find("non-finite") != std::string::npos);
}

}  // namespace
}  // namespace trisim
