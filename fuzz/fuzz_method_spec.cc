// Fuzz target: `trisim recommend`'s lists and method specs (the one spec
// grammar: core/spec.h SplitTopLevel, core/methods.h ParseMethodSpec), then
// every parsed method validated and its plan built at every parsed chunk size,
// as recommend does before evaluating.
//
// Input: three lines, --methods, --chunks, --precisions (recipes are only
// looked up by name: files are the recipe target's job).
#include <cstddef>
#include <cstdint>
#include <exception>
#include <string>
#include <vector>

#include "core/methods.h"
#include "core/spec.h"
#include "core/status.h"
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
    std::vector<int> chunks;
    for (const std::string& item : SplitTopLevel(lines[1], ',', "--chunks")) {
      size_t used = 0;
      int chunk = 0;
      try {
        chunk = std::stoi(item, &used);
      } catch (const std::exception&) {
        throw InputError("--chunks: not an integer");
      }
      if (used != item.size()) throw InputError("--chunks: not an integer");
      chunks.push_back(chunk);
    }
    for (const std::string& name :
         SplitTopLevel(lines[2], ',', "--precisions")) {
      if (name.find('/') == std::string::npos &&
          name.find(".toml") == std::string::npos) {
        LoadRecipe(name);
      }
    }
    for (const std::string& text : SplitTopLevel(lines[0], ',', "--methods")) {
      const MethodSpec spec = ParseMethodSpec(text, "--methods");
      for (const int chunk : chunks) {
        // Plans above C = 256 are valid but slow to build; skip them.
        if (chunk > 256) continue;
        ValidateMethod(spec.method, spec.options, chunk);
        BuildPlan(spec.method, spec.options, chunk);
      }
    }
  });
  return 0;
}
