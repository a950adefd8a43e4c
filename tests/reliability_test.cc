// Issue 9, the library side of each fault kind: exit-code classes
// (core/status.h), the thread bound and exceptions in parallel code
// (core/threads.h), sizes a .npy header claims (core/npy.h), outputs
// published all or none (core/output_files.h), and recipe x plan fit
// (sim/recipe_fit.h). tests/reliability_cli_test.py drives the same through
// the command line.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/methods.h"
#include "core/npy.h"
#include "core/output_files.h"
#include "core/status.h"
#include "core/threads.h"
#include "sim/recipe.h"
#include "sim/recipe_fit.h"

namespace fs = std::filesystem;
using namespace trisim;

namespace {

// A fresh empty directory for one test case.
std::string FreshDir(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("trisim_rel_test_" + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir.string();
}

void WriteBytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

std::string ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::vector<std::string> Names(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) {
    names.push_back(e.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace

TEST_CASE("exit codes by exception kind", "[core][status][reliability]") {
  CHECK(ExitCodeOf(DataError("x")) == ExitCode::kBadData);
  CHECK(ExitCodeOf(InputError("x")) == ExitCode::kUsage);
  CHECK(ExitCodeOf(CheckFailed("x")) == ExitCode::kCheckFailed);
  CHECK(ExitCodeOf(std::runtime_error("x")) == ExitCode::kInternal);
  CHECK(static_cast<int>(ExitCode::kBadData) == 1);
  CHECK(static_cast<int>(ExitCode::kUsage) == 2);
  CHECK(static_cast<int>(ExitCode::kCheckFailed) == 3);
}

TEST_CASE("thread counts have one bound", "[core][threads][reliability]") {
  const int max = MaxThreads();
  CHECK(max == 4 * AvailableCores());
  CHECK(CheckThreads(0) == AvailableCores());
  CHECK(CheckThreads(1) == 1);
  CHECK(CheckThreads(max) == max);
  for (int64_t bad : {int64_t{-1}, int64_t{max} + 1, int64_t{100000},
                      int64_t{2147483647}, INT64_MIN}) {
    try {
      CheckThreads(bad);
      FAIL("accepted " << bad);
    } catch (const InputError& e) {
      const std::string what = e.what();
      CHECK(what.find("--threads " + std::to_string(bad)) == 0);
      CHECK(what.size() < 100);  // a readable range, not 309 digits
    }
  }
  CHECK_THROWS_AS(CheckThreads(0, "--threads", false), InputError);
}

TEST_CASE("ParallelErrors rethrows the first by index",
          "[core][threads][reliability]") {
  ParallelErrors errors;
  errors.Rethrow();  // nothing failed: no-op
  CHECK_FALSE(errors.Failed());
  for (int i : {5, 2, 7}) {
    try {
      throw InputError("sample " + std::to_string(i));
    } catch (...) {
      errors.Capture(i);
    }
  }
  CHECK(errors.Failed());
  try {
    errors.Rethrow();
    FAIL("no rethrow");
  } catch (const InputError& e) {
    CHECK(std::string(e.what()) == "sample 2");
  }
}

TEST_CASE("npy: declared sizes are checked against the file",
          "[core][npy][reliability]") {
  const std::string dir = FreshDir("npy");
  // A v2 prefix claiming a 2^31-1 byte header, and nothing else.
  const std::string header = dir + "/header.npy";
  WriteBytes(header, std::string("\x93NUMPY\x02\x00\xff\xff\xff\x7f", 12));
  // A valid header claiming 2^28 float64 values, then 8 bytes.
  const std::string shape = dir + "/shape.npy";
  const std::string dict =
      "{'descr':'<f8','fortran_order':False,'shape':(268435456,)}\n";
  std::string bytes("\x93NUMPY\x01\x00", 8);
  bytes += static_cast<char>(dict.size());  // header length, little-endian
  bytes += '\0';
  WriteBytes(shape, bytes + dict + std::string(8, '\0'));
  for (const std::string& path : {header, shape}) {
    try {
      ReadNpy(path);
      FAIL("read " << path);
    } catch (const DataError& e) {  // bad data (exit 1), not bad_alloc
      CHECK(std::string(e.what()).find(path) == 0);
      CHECK(std::string(e.what()).find("truncated") != std::string::npos);
    }
  }
  // A missing file is a path (usage), not bad data.
  try {
    ReadNpy(dir + "/missing.npy");
    FAIL("read a missing file");
  } catch (const DataError&) {
    FAIL("a missing file is not bad data");
  } catch (const InputError& e) {
    CHECK(std::string(e.what()).find("missing.npy") != std::string::npos);
  }
}

TEST_CASE("outputs are published all or none", "[core][outputs][reliability]") {
  const std::string dir = FreshDir("outputs");
  SECTION("nothing appears without Commit") {
    {
      Outputs outputs(/*force=*/false);
      WriteBytes(outputs.File("--out", dir + "/a.npy"), "a");
      WriteBytes(outputs.Directory("--dump-stages", dir + "/d/", false,
                                   [](const std::string&) {
                                     return std::vector<std::string>{};
                                   }) +
                     "/f",
                 "f");
    }
    CHECK(Names(dir).empty());  // temporaries removed too
  }
  SECTION("Commit publishes every output") {
    Outputs outputs(/*force=*/false);
    WriteBytes(outputs.File("--out", dir + "/a.npy"), "a");
    WriteBytes(outputs.Directory("--dump-stages", dir + "/d/", false,
                                 [](const std::string&) {
                                   return std::vector<std::string>{};
                                 }) +
                   "/f",
               "f");
    outputs.Commit();
    CHECK(Names(dir) == std::vector<std::string>{"a.npy", "d"});
    CHECK(Names(dir + "/d") == std::vector<std::string>{"f"});
  }
  SECTION("bad paths are refused before any work") {
    Outputs outputs(/*force=*/false);
    CHECK_THROWS_AS(outputs.File("--out", ""), InputError);
    CHECK_THROWS_AS(outputs.File("--out", dir), InputError);
    CHECK_THROWS_AS(outputs.File("--out", dir + "/no/such/a.npy"), InputError);
    WriteBytes(dir + "/file", "x");
    const auto none = [](const std::string&) {
      return std::vector<std::string>{};
    };
    CHECK_THROWS_AS(
        outputs.Directory("--dump-stages", dir + "/file", true, none),
        InputError);
    // Non-empty and not trisim's: refused even with force.
    CHECK_THROWS_AS(outputs.Directory("--dump-stages", dir, true, none),
                    InputError);
    CHECK(Names(dir) == std::vector<std::string>{"file"});
  }
  SECTION("force replaces only the files the old manifest lists") {
    fs::create_directories(dir + "/d");
    WriteBytes(dir + "/d/old", "old");
    WriteBytes(dir + "/d/same", "old");
    WriteBytes(dir + "/d/user", "user");
    const auto owned = [](const std::string&) {
      return std::vector<std::string>{"old", "same"};
    };
    {
      Outputs outputs(/*force=*/false);
      CHECK_THROWS_AS(
          outputs.Directory("--dump-stages", dir + "/d", false, owned),
          InputError);  // no --force
    }
    Outputs outputs(/*force=*/false);
    const std::string temp =
        outputs.Directory("--dump-stages", dir + "/d", true, owned);
    WriteBytes(temp + "/same", "new");
    WriteBytes(temp + "/added", "new");
    outputs.Commit();
    CHECK(Names(dir + "/d") ==
          std::vector<std::string>{"added", "same", "user"});
    std::ifstream same(dir + "/d/same");
    std::string text;
    same >> text;
    CHECK(text == "new");
  }
  SECTION("a new file never replaces one trisim did not write") {
    fs::create_directories(dir + "/d");
    WriteBytes(dir + "/d/old", "old");
    WriteBytes(dir + "/d/user", "user");
    Outputs outputs(/*force=*/false);
    const std::string temp = outputs.Directory(
        "--dump-stages", dir + "/d", true,
        [](const std::string&) { return std::vector<std::string>{"old"}; });
    WriteBytes(temp + "/user", "new");
    CHECK_THROWS_AS(outputs.Commit(), InputError);
    std::ifstream user(dir + "/d/user");
    std::string text;
    user >> text;
    CHECK(text == "user");
  }
  SECTION("a file output never replaces an existing file unless force") {
    WriteBytes(dir + "/x.npy", "user");
    fs::create_symlink(dir + "/nowhere", dir + "/link.npy");  // dangling
    {
      Outputs outputs(/*force=*/false);
      try {
        outputs.File("--out", dir + "/x.npy");
        FAIL("an existing --out file was accepted");
      } catch (const InputError& e) {
        CHECK(std::string(e.what()) ==
              "--out " + dir +
                  "/x.npy: exists; refusing to "
                  "overwrite it (--force replaces it)");
      }
      CHECK_THROWS_AS(outputs.File("--trace", dir + "/link.npy"), InputError);
    }
    {
      // A file that appears after the declaration: Commit() refuses and
      // takes back the outputs it had already published (all or none).
      Outputs outputs(/*force=*/false);
      WriteBytes(outputs.File("--out", dir + "/a.npy"), "a");
      WriteBytes(outputs.File("--scales-out", dir + "/late.npy"), "b");
      WriteBytes(dir + "/late.npy", "user");
      CHECK_THROWS_AS(outputs.Commit(), InputError);
    }
    CHECK(Names(dir) ==
          std::vector<std::string>{"late.npy", "link.npy", "x.npy"});
    CHECK(ReadBytes(dir + "/late.npy") == "user");
    CHECK(ReadBytes(dir + "/x.npy") == "user");
    Outputs outputs(/*force=*/true);
    WriteBytes(outputs.File("--out", dir + "/x.npy"), "new");
    outputs.Commit();
    CHECK(ReadBytes(dir + "/x.npy") == "new");
  }
  CHECK(WithoutTrailingSlash("stages//") == "stages");
  CHECK(WithoutTrailingSlash("/") == "/");
  fs::remove_all(dir);
}

TEST_CASE("operand scale blocks must fit the plan",
          "[sim][recipe_fit][reliability]") {
  Recipe recipe = LoadRecipe("int8-block16");
  const Plan plan = BuildPlan("mxr", MethodOptions{}, 64);
  CheckRecipeFitsPlan(recipe, plan);
  for (int64_t block : {int64_t{3}, int64_t{13}, int64_t{24},
                        int64_t{4294967296}, int64_t{2048}}) {
    recipe.operand_scale.block = block;
    CHECK_THROWS_AS(CheckRecipeAlone(recipe), InputError);
    CHECK_THROWS_AS(CheckRecipeFitsPlan(recipe, plan), InputError);
  }
  for (int64_t block : {1, 2, 16, 64, 1024}) {
    recipe.operand_scale.block = block;
    CHECK_NOTHROW(CheckRecipeFitsPlan(recipe, plan));
  }
  // Integer storage cannot hold forward-substitution rows (fla).
  Recipe storage = LoadRecipe("int8");
  storage.storage = quant::Format::kInt8;
  CHECK_THROWS_AS(CheckRecipeFitsPlan(storage, BuildPlan("fla", {}, 32)),
                  InputError);
}
