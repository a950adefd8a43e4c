// Name tables for enums: one table per enum, read both ways (value -> name
// for output, name -> value for input with an error listing the allowed
// names). Every enum a user can spell (recipe fields, method options, CLI
// flags) declares its names once, as an array of EnumName:
//
//   inline constexpr EnumName<IntOverflow> kIntOverflowNames[] = {
//       {IntOverflow::kWrap, "wrap"}, {IntOverflow::kSaturate, "saturate"}};
//   NameOf(kIntOverflowNames, IntOverflow::kWrap)        -> "wrap"
//   ParseName(kIntOverflowNames, "sat", "key 'x'")      -> InputError
//       "key 'x': unknown value 'sat' (allowed: wrap, saturate)"
#pragma once

#include <cstddef>
#include <string>

#include "core/status.h"

namespace trisim {

template <class Enum>
struct EnumName {
  Enum value;
  const char* name;
};

template <class Enum, size_t N>
const char* NameOf(const EnumName<Enum> (&table)[N], Enum value) {
  for (const EnumName<Enum>& e : table) {
    if (e.value == value) return e.name;
  }
  TRISIM_ASSERT(false);  // every enumerator has a row in its table
  return "";
}

// "a, b, c" (`separator` between names).
template <class Enum, size_t N>
std::string AllNames(const EnumName<Enum> (&table)[N],
                     const char* separator = ", ") {
  std::string names;
  for (const EnumName<Enum>& e : table) {
    if (!names.empty()) names += separator;
    names += e.name;
  }
  return names;
}

// Throws InputError "<what>: unknown value '<text>' (allowed: ...)".
template <class Enum, size_t N>
Enum ParseName(const EnumName<Enum> (&table)[N], const std::string& text,
               const std::string& what) {
  for (const EnumName<Enum>& e : table) {
    if (text == e.name) return e.value;
  }
  throw InputError(what + ": unknown value '" + text +
                   "' (allowed: " + AllNames(table) + ")");
}

}  // namespace trisim
