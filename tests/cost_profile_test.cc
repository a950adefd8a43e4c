// Hardware profiles (sim/cost/profile.h): shipped files load; bad or missing
// keys fail with a message naming the key.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/status.h"
#include "sim/cost/profile.h"

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

TEST_CASE("profiles: every shipped profile loads", "[sim][cost][profile]") {
  const auto names = ShippedProfiles();
  REQUIRE(names.size() >= 2);
  for (const auto& name : names) {
    INFO(name);
    const HardwareProfile p = LoadProfile(name);
    // ascend-910b1 is a second name of the ascend-910b file.
    CHECK(p.name == (name == "ascend-910b1" ? "ascend-910b" : name));
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

TEST_CASE("profiles: errors name the key", "[sim][cost][profile]") {
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
    // Issue 9: the message names the value and the allowed range.
    CHECK(e.find("'paths.gm_to_l1.bytes_per_cycle' = 0: must be a number in "
                 "(0, ") != std::string::npos);
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

TEST_CASE("profiles: integers are read exactly, against explicit ranges",
          "[sim][cost][profile]") {
  // Issue 9 section 3: each of these crashed (SIGFPE, SIGSEGV), was silently
  // narrowed (4294967320 read as 24) or printed -nan.
  const std::string good = ShippedText("ascend-910b");
  struct Case {
    const char* from;
    const char* to;
    const char* key;
    const char* range;
  };
  const Case cases[] = {
      {"cube_cores = 24", "cube_cores = 4294967296", "'chip.cube_cores'",
       "= 4294967296: must be an integer in [1, 4096]"},
      {"cube_cores = 24", "cube_cores = 4294967320", "'chip.cube_cores'",
       "[1, 4096]"},
      {"vector_cores = 48", "vector_cores = 4294967296", "'chip.vector_cores'",
       "[1, 16384]"},
      {"repeat_bytes = 256", "repeat_bytes = 4294967296",
       "'vector.repeat_bytes'", "[32, 4096]"},
      {"repeat_bytes = 256", "repeat_bytes = 9223372036854775807",
       "'vector.repeat_bytes'", "[32, 4096]"},
      {"l0a = 65536", "l0a = 1", "'buffers.l0a'", "= 1: must be an integer in"},
      {"l0c = 131072", "l0c = 1", "'buffers.l0c'", "must be an integer in"},
      {"start_cycles = 167", "start_cycles = 1e308",
       "'paths.gm_to_l1.start_cycles'", "must be a number in [0, "},
      {"clock_mhz = 1850", "clock_mhz = nan", "'chip.clock_mhz'",
       "must be a number in (0, "},
      {"cube_cores = 24", "cube_cores = -24", "'chip.cube_cores'", "[1, 4096]"},
  };
  for (const Case& c : cases) {
    INFO(c.to);
    const std::string e = LoadError(Replace(good, c.from, c.to));
    CHECK(e.find(c.key) != std::string::npos);
    CHECK(e.find(c.range) != std::string::npos);
    CHECK(e.find('\n') == std::string::npos);  // one line
  }
}

TEST_CASE("profiles: provenance names read keys and a known kind",
          "[sim][cost][profile]") {
  const std::string good = ShippedText("ascend-910b");
  const HardwareProfile p = LoadProfile(kDefaultProfile);
  bool fitted = false;
  for (const auto& [key, text] : p.provenance) {
    if (text.rfind("fitted: ", 0) == 0) fitted = true;
  }
  CHECK(fitted);
  CHECK(LoadError(good + "\"chip.nope\" = \"guess\"\n")
            .find("names no profile key") != std::string::npos);
  CHECK(LoadError(Replace(good, "\"sync.launch_cycles\" = \"guess\"",
                          "\"sync.launch_cycles\" = \"hunch\""))
            .find("must be \"guess\"") != std::string::npos);
}

TEST_CASE("profiles: measured curves interpolate as msKPP does",
          "[sim][cost][profile]") {
  const HardwareProfile p = LoadProfile("ascend-910b2");
  CHECK(p.clock_mhz == 1800);
  CHECK(p.cube_cores == 24);
  // msKPP L0C_TO_GM_910b1: 1 KB at 20.78 B/cycle, 2 KB at 41.89.
  CHECK(p.curve_l0c_to_gm.Cycles(1024) == Approx(1024 / 20.78));
  CHECK(p.curve_l0c_to_gm.Cycles(2048) == Approx(2048 / 41.89));
  // 1.5 KB: bandwidth halfway, 31.335 B/cycle.
  CHECK(p.curve_l0c_to_gm.Cycles(1536) == Approx(1536 / 31.335));
  // Below the first point: the first point's cost (a latency floor).
  CHECK(p.curve_l0c_to_gm.Cycles(512) == Approx(1024 / 20.78));
  // ~50 cycles nearly flat from 1 to 10 KB (KERNELS.md section 5 reads
  // 80-90 for the same table; see sim/COST_MODEL.md section 1).
  CHECK(p.curve_l0c_to_gm.Cycles(10 * 1024) <
        1.1 * p.curve_l0c_to_gm.Cycles(1024));
  const std::string good = ShippedText("ascend-910b");
  CHECK(LoadError(Replace(good, "l0c_to_gm = [", "l0c_to_gm = [[0.5, 0], "))
            .find("'curves.l0c_to_gm'") != std::string::npos);
}

TEST_CASE("profiles: unknown name lists the shipped ones",
          "[sim][cost][profile]") {
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
