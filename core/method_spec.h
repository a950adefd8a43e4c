// Method specs and comma lists as `trisim recommend` reads them (--methods,
// --chunks, --precisions). Pure string parsing, below apps/ so the fuzzers
// (fuzz/fuzz_method_spec.cc) and the command share one implementation.
//
//   spec  = name[:key=value[/key=value...]]   e.g. "neumann:order=5/steps=4"
//   list  = item[,item...]                    empty items are skipped
//
// Keys are the method flags without dashes: order, steps, block, iters (int),
// mask (none|band:w|block:b), residual (richardson|newton), inner, outer
// (method names). Whether an option applies to the method and its range are
// checked later by ValidateMethod (core/methods.h).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "core/methods.h"

namespace trisim {

// Splits `text` at `sep`, dropping empty items ("a,,b," -> {"a", "b"}).
std::vector<std::string> SplitList(const std::string& text, char sep);

// "neumann:order=5/steps=4" -> {"neumann", options}. Throws InputError naming
// the spec for a missing '=', a non-integer value of an integer key, or an
// unknown key.
std::pair<std::string, MethodOptions> ParseMethodSpec(const std::string& spec);

// "32,64,128" -> {32, 64, 128}. Throws InputError naming an item that is not
// an integer. Ranges are checked by ValidateMethod.
std::vector<int> ParseChunkList(const std::string& text);

}  // namespace trisim
