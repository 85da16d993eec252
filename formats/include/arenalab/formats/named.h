// SPDX-License-Identifier: Apache-2.0
// A closed set kept in a file by name: each value with the one name it is written as, in the
// order messages list them. A format defines one table per set and reads and writes the field
// through it (formats/json.h's enum_field). Header only and constexpr, without the standard
// library, so the interposer's headers may hold a table too (run_mode.h).
#pragma once

#include <cstddef>

namespace arenalab::formats {

template <typename E>
struct Named {
  E value;
  const char* name;
};

// The name of `v` in `table` ("?" if the table lacks it, which a complete table never does).
template <typename E, std::size_t N>
constexpr const char* name_of(E v, const Named<E> (&table)[N]) {
  for (const auto& n : table)
    if (n.value == v) return n.name;
  return "?";
}

// True and *out set when `name` (NUL-terminated, may be null) is one of `table`'s names.
template <typename E, std::size_t N>
constexpr bool value_of(const char* name, const Named<E> (&table)[N], E* out) {
  if (name == nullptr) return false;
  for (const auto& n : table) {
    const char* a = n.name;
    const char* b = name;
    while (*a && *a == *b) ++a, ++b;
    if (*a == 0 && *b == 0) {
      if (out) *out = n.value;
      return true;
    }
  }
  return false;
}

}  // namespace arenalab::formats
