// Hardware profiles (sim/profile.h): shipped files load; bad or missing keys
// fail with a message naming the key.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/status.h"
#include "sim/profile.h"

namespace trisim {
namespace {

namespace fs = std::filesystem;

std::string ShippedText(const std::string& name) {
  std::ifstream in(std::string(TRISIM_SOURCE_DIR) + "/sim/profiles/" + name +
                   ".toml");
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Writes `text` to a temporary profile file and loads it; returns the
// InputError message ("" if it loaded).
std::string LoadError(const std::string& text) {
  const fs::path path =
      fs::temp_directory_path() /
      ("trisim_profile_test_" + std::to_string(::getpid()) + ".toml");
  {
    std::ofstream out(path);
    out << text;
  }
  std::string message;
  try {
    LoadProfileFile(path.string());
  } catch (const InputError& e) {
    message = e.what();
  }
  fs::remove(path);
  return message;
}

std::string Replace(std::string text, const std::string& from,
                    const std::string& to) {
  const auto at = text.find(from);
  REQUIRE(at != std::string::npos);
  return text.replace(at, from.size(), to);
}

TEST_CASE("profiles: every shipped profile loads") {
  const auto names = ShippedProfiles();
  REQUIRE(names.size() >= 2);
  for (const auto& name : names) {
    INFO(name);
    const HardwareProfile p = LoadProfile(name);
    CHECK(p.name == name);
    CHECK(p.vector_cores % p.cube_cores == 0);
  }
  // The default follows NPU.md's 910B1 row: 24 cube, 48 vector, 1850 MHz.
  const HardwareProfile d = LoadProfile(kDefaultProfile);
  CHECK(d.cube_cores == 24);
  CHECK(d.vector_cores == 48);
  CHECK(d.clock_mhz == 1850);
  // A shipped profile can also be given as a path.
  const std::string path =
      std::string(TRISIM_SOURCE_DIR) + "/sim/profiles/ascend-910b3.toml";
  CHECK(LoadProfile(path).cube_cores == 20);
}

TEST_CASE("profiles: errors name the key") {
  const std::string good = ShippedText("ascend-910b");
  REQUIRE(LoadError(good).empty());

  SECTION("missing key") {
    const std::string e =
        LoadError(Replace(good, "mmad_start_cycles = 2", "# removed"));
    CHECK(e.find("'cube.mmad_start_cycles' is missing") != std::string::npos);
  }
  SECTION("wrong type") {
    const std::string e =
        LoadError(Replace(good, "clock_mhz = 1850", "clock_mhz = \"fast\""));
    CHECK(e.find("'chip.clock_mhz' must be a number") != std::string::npos);
    const std::string f = LoadError(
        Replace(good, "fractal_int8 = [16, 16, 32]", "fractal_int8 = 16"));
    CHECK(f.find("'cube.fractal_int8'") != std::string::npos);
    const std::string g =
        LoadError(Replace(good, "cube_cores = 24", "cube_cores = 24.5"));
    CHECK(g.find("'chip.cube_cores' must be an integer") != std::string::npos);
  }
  SECTION("out of range") {
    const std::string e = LoadError(
        Replace(good, "bytes_per_cycle = 168", "bytes_per_cycle = 0"));
    CHECK(e.find("'paths.gm_to_l1.bytes_per_cycle' must be > 0") !=
          std::string::npos);
    const std::string f =
        LoadError(Replace(good, "vector_cores = 48", "vector_cores = 50"));
    CHECK(f.find("'chip.vector_cores'") != std::string::npos);
  }
  SECTION("unknown key") {
    const std::string e = LoadError(
        good + "\n[vector.exp]\nlatency = 12\ncycles_per_repeat = 4\n");
    CHECK(e.find("'vector.exp.") != std::string::npos);
    CHECK(e.find("is not a profile key") != std::string::npos);
  }
  SECTION("not TOML") {
    const std::string e = LoadError("name = \n");
    CHECK(e.find("line 1") != std::string::npos);
  }
}

TEST_CASE("profiles: unknown name lists the shipped ones") {
  try {
    LoadProfile("ascend-999");
    FAIL("no error");
  } catch (const InputError& e) {
    const std::string message = e.what();
    CHECK(message.find("--profile ascend-999") != std::string::npos);
    CHECK(message.find("ascend-910b") != std::string::npos);
  }
}

}  // namespace
}  // namespace trisim
