// The one grammar for "name with options" specs, used for method specs
// everywhere (--inner, --outer, recommend --methods, later sweep files and
// recipe method specs):
//
//   spec    := name [ ":" option { "/" option } ]
//   option  := key "=" value
//   value   := text without "/" "(" ")" | "(" spec ")"
//
// Brackets hold a nested spec whose own options use "/" too:
//   dn-split:block=16/inner=(ns:iters=3)/outer=mbh
// A bracketed value is returned without its brackets; the caller parses it
// again (ParseSpec on the value). Keys are returned as written: the caller
// decides which it accepts (core/methods.h ParseMethodSpec takes the method
// options plus any keys its caller declares).
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace trisim {

struct Spec {
  std::string name;
  // (key, value) in the order written; values of nested specs without their
  // outer brackets.
  std::vector<std::pair<std::string, std::string>> options;
};

// Throws InputError "<what> <text>: ..." naming the problem (empty name,
// missing '=', empty key or value, repeated key, unbalanced brackets).
Spec ParseSpec(const std::string& text, const std::string& what);

// Splits at `separator` outside brackets; empty items are errors (named with
// `what`): "a,b:x=(c,d)" -> {"a", "b:x=(c,d)"}.
std::vector<std::string> SplitTopLevel(const std::string& text, char separator,
                                       const std::string& what);

// A value as it must be written inside a spec: bracketed if it contains
// ':' '/' '(' or ')' (a nested spec with options).
std::string SpecValue(const std::string& value);

}  // namespace trisim
