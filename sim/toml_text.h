// The one gate every TOML text passes before toml++ parses it (recipes,
// hardware profiles).
//
// Why: Debian's toml++ 3.3.0 reaches TOML_UNREACHABLE (undefined behaviour,
// a crash under sanitizers) on some non-ASCII code points where it expects
// whitespace, e.g. U+03FF or U+FE7F at the start of a line (libFuzzer
// findings in fuzz/regressions/recipe/toml-unreachable-crash-*). trisim's
// recipe and profile keys and values are all ASCII, so the files must be.
#pragma once

#include <string>

namespace trisim {

// Throws InputError "<what>: byte 0xCF at line 1, column 1 is not ASCII
// (recipe and profile files are ASCII)" for the first byte >= 0x80 or a NUL.
void CheckTomlText(const std::string& text, const std::string& what);

}  // namespace trisim
