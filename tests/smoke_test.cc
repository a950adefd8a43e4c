#include <catch2/catch.hpp>

#include "core/status.h"

TEST_CASE("InputError carries its message") {
  trisim::InputError e("bad --chunk: 7");
  CHECK(std::string(e.what()) == "bad --chunk: 7");
}
