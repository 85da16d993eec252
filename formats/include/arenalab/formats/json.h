// SPDX-License-Identifier: Apache-2.0
// The JSON plumbing every format of this library shares: one `put` for optional fields, a
// validating view of an object (types, finiteness, ranges; errors name the key's path), the
// schema line with its version, and reading/writing a document (errors name the file).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "arenalab/core/result.h"
#include "arenalab/core/text.h"
#include "arenalab/formats/allocator_backend.h"
#include "arenalab/formats/growth_verdict.h"
#include "arenalab/formats/named.h"

namespace arenalab::formats {

using nlohmann::json;

inline constexpr double kInf = std::numeric_limits<double>::infinity();

// Writes `key` only when the value is present: absent stays absent, never 0 or "".
template <typename T>
void put(json& j, const char* key, const std::optional<T>& v) {
  if (v) j[key] = *v;
}
inline void put(json& j, const char* key, const std::string& v) {
  if (!v.empty()) j[key] = v;
}

// Thrown by the readers' field accessors; the document readers turn it into one line
// "<file>: <path>: expected ..., found ...".
struct FormatError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A read view of one JSON object at `path` (for messages: "cells[3].identified"). Every getter
// checks the type; numbers must be finite and inside [min, max]; a null counts as absent for
// the optional getters and as the wrong type for the required ones. Failures throw FormatError.
class Obj {
 public:
  // pre: none; throws when `j` is not an object.
  Obj(const json& j, std::string path);

  bool has(const char* key) const;  // present and not null
  const json& raw() const { return *j_; }
  const std::string& path() const { return path_; }
  std::string path_of(const std::string& key) const;

  std::string str(const char* key) const;
  std::string str_or(const char* key, const std::string& absent = "") const;
  double num(const char* key, double min = -kInf, double max = kInf) const;
  std::optional<double> opt_num(const char* key, double min = -kInf, double max = kInf) const;
  // Integers: numbers without a fractional part inside [min, max].
  std::int64_t integer(const char* key, std::int64_t min, std::int64_t max) const;
  std::optional<std::int64_t> opt_integer(const char* key, std::int64_t min,
                                          std::int64_t max) const;
  bool boolean(const char* key) const;
  bool bool_or(const char* key, bool absent) const;
  Obj obj(const char* key) const;
  std::optional<Obj> opt_obj(const char* key) const;
  // The elements of an array field (required); each is checked by the caller.
  const json& array(const char* key) const;
  const json* opt_array(const char* key) const;
  std::vector<std::string> strings(const char* key) const;               // absent: empty
  std::map<std::string, std::string> string_map(const char* key) const;  // absent: empty
  std::map<std::string, double> number_map(const char* key) const;       // absent: empty
  // The object at index i of the array field `key` (for messages: "cells[3]").
  Obj element(const char* key, std::size_t i) const;

 private:
  const json& at(const char* key) const;
  [[noreturn]] void fail(const std::string& key, const std::string& expected,
                         const json& found) const;
  const json* j_;
  std::string path_;
};

std::string describe_type(const json& v);

// "a, b or c": the names of a table, for messages.
std::string names_text(const std::vector<const char*>& names);

// The value named by the field `key` (required); any other text, or another type, throws
// FormatError naming the field and the names: "<path>.key: expected a, b or c, found \"x\"".
template <typename E, std::size_t N>
E enum_field(const Obj& o, const char* key, const Named<E> (&table)[N]) {
  const json* v = o.has(key) ? &o.raw().at(key) : nullptr;
  if (v && v->is_string())
    for (const auto& n : table)
      if (v->get_ref<const std::string&>() == n.name) return n.value;
  std::vector<const char*> names;
  for (const auto& n : table) names.push_back(n.name);
  throw FormatError(o.path_of(key) + ": expected " + names_text(names) + ", found " +
                    (v ? describe_type(*v) : std::string("nothing (required)")));
}
// The same for an optional field: absent (or null) is nullopt.
template <typename E, std::size_t N>
std::optional<E> opt_enum_field(const Obj& o, const char* key, const Named<E> (&table)[N]) {
  if (!o.has(key)) return std::nullopt;
  return enum_field(o, key, table);
}

// A growth verdict field (growth_verdict.h's names): `key` required, or absent (or null) for
// the optional one. Throws FormatError: "<path>.verdict: expected leak, retention, bounded,
// non-heap-growth, stable or unresolved, found \"x\"".
GrowthVerdict growth_verdict(const Obj& o, const char* key);
std::optional<GrowthVerdict> opt_growth_verdict(const Obj& o, const char* key);

// An allocator backend field (allocator_backend.h's names). Absent (or null), "unknown" and ""
// are Backend::kUnknown: the files write "unknown" for a malloc of none of the five (and the
// matrix's procfs timelines wrote "" before this enum). Any other text throws FormatError:
// "<path>.backend: expected glibc, jemalloc, mimalloc, tcmalloc, tbbmalloc or unknown, found
// \"ptmalloc\"". The writers write backend_name(b).
Backend backend_field(const Obj& o, const char* key);

// A number in its shortest round-trip spelling, without a trailing ".0" ("80", "1.5", "1e+20").
std::string number_text(double v);

// "the string \"x\"", "-1", "null", "an object" ...: what a value is, for messages.
std::string describe_type(const json& v);

// The version of a "<name>/<N>" schema line, checked against [min_version, max_version].
// Throws FormatError: `expected "schema": "arenalab.run/2" (or /1), found "..."`.
int schema_version(const json& doc, const std::string& name, int min_version, int max_version);

// A document's "schema" line ("arenalab.matrix/1"); "" when it has none or it is not a string.
// For a consumer that takes several formats and hands each to its reader (check's inputs).
std::string schema_of(const json& doc);

// Parses a file with `parse` (which may throw FormatError or json::exception). Errors come back
// as one line naming the file: "<path>: cells[2].wall_ms: expected a number >= 0, found -1".
template <typename T>
Result<T> read_document(const std::string& path, const std::function<T(const json&)>& parse);
Result<json> read_json_document(const std::string& path);  // the parsed file, an object

// The same for a document already parsed (`file` names it in messages).
template <typename T>
Result<T> parse_document(const json& doc, const std::string& file,
                         const std::function<T(const json&)>& parse) {
  try {
    return parse(doc);
  } catch (const FormatError& e) {
    return make_error(printable(file) + ": " + printable(e.what()));
  } catch (const json::exception& e) {
    return make_error(printable(file) + ": " + printable(e.what()));
  }
}

template <typename T>
Result<T> read_document(const std::string& path, const std::function<T(const json&)>& parse) {
  auto doc = read_json_document(path);
  if (!doc) return doc.error();
  return parse_document<T>(*doc, path, parse);
}

// The text of a document as every writer spells it: indented by 2, one trailing newline, invalid
// UTF-8 in a string (a command line, a label) replaced, never a throw. For a writer that holds
// its own directory handle (the runner's output directory) or prints to stdout (--json).
std::string document_text(const json& doc);
// Writes document_text(doc) via a temporary file and rename.
Status write_document(const std::string& path, const json& doc);

}  // namespace arenalab::formats
