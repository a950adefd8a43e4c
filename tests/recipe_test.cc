// Recipe files (sim/recipe.h): the field list drives TOML read and write, the
// manifest fields and the help; malformed files are one-line errors naming
// file, key, value and what is allowed (issue 9 section 5).
#include "sim/recipe.h"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <string>

#include "core/status.h"
#include "sim/cost/profile.h"

namespace trisim {
namespace {

namespace fs = std::filesystem;

// A fresh directory under the system temp dir, removed at scope exit.
struct TempDir {
  fs::path path;
  TempDir() {
    path = fs::temp_directory_path() /
           ("trisim_recipe_test_" + std::to_string(::getpid()));
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string Write(const std::string& name, const std::string& text) const {
    const fs::path file = path / name;
    fs::create_directories(file.parent_path());
    std::ofstream(file) << text;
    return file.string();
  }
};

TEST_CASE("every field round-trips through TOML and the manifest values",
          "[sim][recipe]") {
  for (const Recipe& builtin : BuiltinRecipes()) {
    INFO(builtin.name);
    const std::string toml = builtin.ToToml();
    const Recipe again = ParseRecipeToml(toml, "again.toml");
    CHECK(again.ToToml() == toml);
    // The manifest holds name, exact and (unless exact) every setting, each
    // key once, in the field list's order.
    const auto values = RecipeFieldValues(builtin);
    REQUIRE(values.size() >= 2);
    CHECK(values[0].first == "name");
    CHECK(values[1].first == "exact");
    // 16 inverse fields (with operand_split) + 9 layer fields (layer,
    // layer_inputs ... layer_exp).
    CHECK(values.size() == (builtin.exact ? 2u : 25u));
  }
  const std::string help = RecipeFieldsHelp();
  Recipe().ForEach([&](const auto&, const FieldInfo& f) {
    CHECK(help.find(std::string("  ") + f.key + " = ") != std::string::npos);
  });
}

TEST_CASE("recipe integers out of range are errors, not wrapped",
          "[sim][recipe]") {
  CHECK_THROWS_WITH(
      ParseRecipeToml("scale_mantissa_bits = 4294967306\n", "f.toml"),
      Catch::Contains("f.toml") && Catch::Contains("scale_mantissa_bits") &&
          Catch::Contains("4294967306") && Catch::Contains("[0, 23]"));
  CHECK_THROWS_WITH(
      ParseRecipeToml("scale_mantissa_bits = -4294967286\n", "f.toml"),
      Catch::Contains("-4294967286") && Catch::Contains("[0, 23]"));
  CHECK_THROWS_WITH(ParseRecipeToml("scale_mantissa_bits = 10.0\n", "f.toml"),
                    Catch::Contains("scale_mantissa_bits"));
  CHECK(ParseRecipeToml("scale_mantissa_bits = 23\n", "f.toml")
            .scale_mantissa_bits == 23);
}

TEST_CASE("operand_scale block sizes are range-checked", "[sim][recipe]") {
  const std::string base = "base = \"int8\"\noperand_scale = ";
  CHECK_THROWS_WITH(ParseRecipeToml(base + "\"block:4294967296\"\n", "f.toml"),
                    Catch::Contains("operand_scale") &&
                        Catch::Contains("4294967296") &&
                        Catch::Contains("1024"));
  CHECK_THROWS_WITH(ParseRecipeToml(base + "\"block:0\"\n", "f.toml"),
                    Catch::Contains("operand_scale"));
  CHECK_THROWS_WITH(ParseRecipeToml(base + "\"block:x\"\n", "f.toml"),
                    Catch::Contains("operand_scale"));
  CHECK(ParseRecipeToml(base + "\"block:1024\"\n", "f.toml")
            .operand_scale.block == 1024);
}

TEST_CASE("recipe base: type, self-reference, cycles, relative paths",
          "[sim][recipe]") {
  TempDir dir;
  CHECK_THROWS_WITH(
      ParseRecipeToml("base = 3\n", "f.toml"),
      Catch::Contains("'base'") && Catch::Contains("expected a string"));
  const std::string self = dir.Write("self.toml", "base = \"self.toml\"\n");
  CHECK_THROWS_WITH(LoadRecipe(self), Catch::Contains("base cycle"));
  const std::string a = dir.Write("a.toml", "base = \"b.toml\"\n");
  dir.Write("b.toml", "base = \"./a.toml\"\n");
  CHECK_THROWS_WITH(LoadRecipe(a), Catch::Contains("base cycle"));
  // A relative base is found next to the file naming it, wherever the
  // current directory is.
  dir.Write("sub/parent.toml", "base = \"int8\"\nscale_mantissa_bits = 7\n");
  const std::string child =
      dir.Write("sub/child.toml", "base = \"parent.toml\"\nname = \"c\"\n");
  const Recipe r = LoadRecipe(child);
  CHECK(r.name == "c");
  CHECK(r.scale_mantissa_bits == 7);
  CHECK(r.operand == quant::Format::kInt8);
  // A diamond (two files sharing a base) is not a cycle.
  dir.Write("d.toml", "base = \"sub/parent.toml\"\n");
  CHECK(LoadRecipe(dir.Write("e.toml", "base = \"d.toml\"\n"))
            .scale_mantissa_bits == 7);
}

TEST_CASE("a directory or an empty file is not a recipe", "[sim][recipe]") {
  TempDir dir;
  CHECK_THROWS_WITH(LoadRecipe(dir.path.string() + "/"),
                    Catch::Contains("not a regular file"));
  const std::string empty = dir.Write("empty.toml", "");
  CHECK_THROWS_WITH(LoadRecipe(empty), Catch::Contains("empty.toml") &&
                                           Catch::Contains("sets no keys"));
  const std::string comments = dir.Write("c.toml", "# only a comment\n");
  CHECK_THROWS_WITH(LoadRecipe(comments), Catch::Contains("sets no keys"));
}

TEST_CASE("an exact base refuses format overrides instead of dropping them",
          "[sim][recipe]") {
  CHECK_THROWS_WITH(
      ParseRecipeToml("base = \"fp64\"\nstorage = \"fp16\"\n", "f.toml"),
      Catch::Contains("f.toml") && Catch::Contains("exact"));
  const Recipe named =
      ParseRecipeToml("base = \"fp64\"\nname = \"ref\"\n", "f.toml");
  CHECK(named.exact);
  CHECK(named.name == "ref");
  // exact = false makes the formats the file's own.
  const Recipe own = ParseRecipeToml(
      "base = \"fp64\"\nexact = false\nstorage = \"fp16\"\n", "f.toml");
  CHECK(!own.exact);
  CHECK(own.storage == quant::Format::kFp16);
}

TEST_CASE("enum keys list their allowed values", "[sim][recipe]") {
  CHECK_THROWS_WITH(
      ParseRecipeToml("accumulator_overflow = \"clip\"\n", "f.toml"),
      Catch::Contains("accumulator_overflow") && Catch::Contains("'clip'") &&
          Catch::Contains("wrap, saturate"));
  CHECK_THROWS_WITH(ParseRecipeToml("int16 = \"fast\"\n", "f.toml"),
                    Catch::Contains("emulated, native"));
  CHECK_THROWS_WITH(ParseRecipeToml("input = [1, 2]\n", "f.toml"),
                    Catch::Contains("'input'") && Catch::Contains("array"));
}

// libFuzzer found inputs on which Debian's toml++ 3.3.0 reaches
// TOML_UNREACHABLE (fuzz/regressions/recipe/toml-unreachable-crash-*): every
// TOML text is checked for ASCII before toml++ sees it (sim/toml_text.h).
TEST_CASE("non-ASCII recipe and profile text is refused before parsing",
          "[sim][recipe]") {
  const std::string crash1 = "\xcf\xbf'";
  const std::string crash2("\xef\xb9\xbf\0\0\0\x08", 7);
  for (const std::string& text : {crash1, crash2}) {
    try {
      ParseRecipeToml(text, "x.toml");
      FAIL("accepted non-ASCII text");
    } catch (const InputError& e) {
      const std::string message = e.what();
      CHECK(message.find("recipe x.toml") != std::string::npos);
      CHECK(message.find("not ASCII") != std::string::npos);
      CHECK(message.find("line 1, column 1") != std::string::npos);
    }
  }
  const std::string path = "trisim_nonascii_profile_test.toml";
  {
    std::ofstream out(path, std::ios::binary);
    out << "[chip]\nname = \"x\"\n" << crash1;
  }
  try {
    LoadProfileFile(path);
    FAIL("accepted a non-ASCII profile");
  } catch (const InputError& e) {
    CHECK(std::string(e.what()).find("line 3, column 1") != std::string::npos);
  }
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace trisim
