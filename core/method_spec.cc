#include "core/method_spec.h"

#include <exception>
#include <sstream>

#include "core/plan.h"
#include "core/status.h"

namespace trisim {

std::vector<std::string> SplitList(const std::string& text, char sep) {
  std::vector<std::string> parts;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, sep)) {
    if (!item.empty()) parts.push_back(item);
  }
  return parts;
}

std::pair<std::string, MethodOptions> ParseMethodSpec(const std::string& spec) {
  const auto colon = spec.find(':');
  const std::string name = spec.substr(0, colon);
  MethodOptions o;
  if (colon == std::string::npos) return {name, o};
  for (const std::string& kv : SplitList(spec.substr(colon + 1), '/')) {
    const auto eq = kv.find('=');
    if (eq == std::string::npos) {
      throw InputError("--methods " + spec + ": expected key=value, got '" +
                       kv + "'");
    }
    const std::string key = kv.substr(0, eq), value = kv.substr(eq + 1);
    auto number = [&]() {
      try {
        size_t used = 0;
        const int v = std::stoi(value, &used);
        if (used == value.size()) return v;
      } catch (const std::exception&) {
      }
      throw InputError("--methods " + spec + ": " + key +
                       " expects an integer");
    };
    if (key == "order")
      o.order = number();
    else if (key == "steps")
      o.steps = number();
    else if (key == "block")
      o.block = number();
    else if (key == "iters")
      o.iters = number();
    else if (key == "mask")
      o.mask = ParseMask(value);
    else if (key == "residual")
      o.residual = ParseResidualForm(value);
    else if (key == "inner")
      o.inner = value;
    else if (key == "outer")
      o.outer = value;
    else
      throw InputError("--methods " + spec + ": unknown option '" + key + "'");
  }
  return {name, o};
}

std::vector<int> ParseChunkList(const std::string& text) {
  std::vector<int> chunks;
  for (const std::string& item : SplitList(text, ',')) {
    try {
      chunks.push_back(std::stoi(item));
    } catch (const std::exception&) {
      throw InputError("--chunks: '" + item + "' is not an integer");
    }
  }
  return chunks;
}

}  // namespace trisim
