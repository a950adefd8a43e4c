#include "core/spec.h"

#include "core/status.h"

namespace trisim {

std::vector<std::string> SplitTopLevel(const std::string& text, char separator,
                                       const std::string& what) {
  std::vector<std::string> parts;
  std::string item;
  int depth = 0;
  auto push = [&] {
    if (item.empty()) {
      throw InputError(what + " '" + text + "': empty item (between '" +
                       std::string(1, separator) + "' separators)");
    }
    parts.push_back(item);
    item.clear();
  };
  for (char c : text) {
    if (c == '(') ++depth;
    if (c == ')' && --depth < 0) {
      throw InputError(what + " '" + text + "': unbalanced ')'");
    }
    if (c == separator && depth == 0) {
      push();
    } else {
      item += c;
    }
  }
  if (depth != 0) throw InputError(what + " '" + text + "': unclosed '('");
  push();
  return parts;
}

Spec ParseSpec(const std::string& text, const std::string& what) {
  auto fail = [&](const std::string& why) {
    throw InputError(what + " '" + text + "': " + why +
                     " (grammar: name[:key=value[/key=value...]], nested "
                     "specs in brackets: inner=(ns:iters=3))");
  };
  Spec spec;
  const size_t colon = text.find(':');
  spec.name = text.substr(0, colon);
  if (spec.name.empty()) fail("empty method name");
  if (spec.name.find_first_of("/()=") != std::string::npos) {
    fail("name '" + spec.name + "' contains one of / ( ) =");
  }
  if (colon == std::string::npos) return spec;
  const std::string rest = text.substr(colon + 1);
  if (rest.empty()) fail("no options after ':'");
  for (const std::string& option : SplitTopLevel(rest, '/', what)) {
    const size_t eq = option.find('=');
    if (eq == std::string::npos)
      fail("expected key=value, got '" + option + "'");
    const std::string key = option.substr(0, eq);
    std::string value = option.substr(eq + 1);
    if (key.empty()) fail("empty key in '" + option + "'");
    if (value.empty()) fail("empty value for " + key);
    if (value.front() == '(') {
      // SplitTopLevel balanced the brackets; the value must be exactly one
      // bracketed spec.
      if (value.back() != ')') fail("text after ')' in " + key);
      int depth = 0;
      for (size_t i = 0; i < value.size(); ++i) {
        if (value[i] == '(') ++depth;
        if (value[i] == ')' && --depth == 0 && i + 1 != value.size()) {
          fail("text after ')' in " + key);
        }
      }
      value = value.substr(1, value.size() - 2);
      if (value.empty()) fail("empty () for " + key);
    } else if (value.find_first_of("()") != std::string::npos) {
      fail("brackets must enclose the whole value of " + key);
    }
    for (const auto& [seen, unused] : spec.options) {
      if (seen == key) fail("key " + key + " given twice");
    }
    spec.options.emplace_back(key, value);
  }
  return spec;
}

std::string SpecValue(const std::string& value) {
  if (value.find_first_of(":/()") == std::string::npos) return value;
  return "(" + value + ")";
}

}  // namespace trisim
