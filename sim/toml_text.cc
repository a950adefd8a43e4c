#include "sim/toml_text.h"

#include <cstdio>

#include "core/status.h"

namespace trisim {

void CheckTomlText(const std::string& text, const std::string& what) {
  long long line = 1, column = 1;
  for (const char ch : text) {
    const auto byte = static_cast<unsigned char>(ch);
    if (byte >= 0x80 || byte == 0) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "0x%02X", byte);
      throw InputError(what + ": byte " + hex + " at line " +
                       std::to_string(line) + ", column " +
                       std::to_string(column) +
                       " is not ASCII (recipe and profile files are ASCII)");
    }
    if (ch == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
}

}  // namespace trisim
