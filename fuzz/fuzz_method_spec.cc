// Fuzz target: `trisim recommend`'s lists and method specs
// (core/method_spec.h), then every parsed method validated and its plan
// built at every parsed chunk size, as recommend does before evaluating.
//
// Input: three lines, --methods, --chunks, --precisions (recipes are only
// looked up by name: files are the recipe target's job).
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/method_spec.h"
#include "core/methods.h"
#include "fuzz/fuzz_common.h"
#include "sim/recipe.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace trisim;
  const std::string text(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> lines;
  size_t begin = 0;
  while (lines.size() < 3) {
    const size_t end = text.find('\n', begin);
    lines.push_back(
        text.substr(begin, end == std::string::npos ? end : end - begin));
    if (end == std::string::npos) break;
    begin = end + 1;
  }
  lines.resize(3);
  fuzz::ExpectOnlyInputErrors([&] {
    const std::vector<int> chunks = ParseChunkList(lines[1]);
    for (const std::string& name : SplitList(lines[2], ',')) {
      if (name.find('/') == std::string::npos &&
          name.find(".toml") == std::string::npos) {
        LoadRecipe(name);
      }
    }
    for (const std::string& spec : SplitList(lines[0], ',')) {
      const auto [method, options] = ParseMethodSpec(spec);
      for (const int chunk : chunks) {
        // Plans above C = 256 are valid but slow to build; skip them.
        if (chunk > 256) continue;
        BuildPlan(method, options, chunk);
      }
    }
  });
  return 0;
}
