// SPDX-License-Identifier: Apache-2.0
// The validating JSON view and the document helpers shared by every format (json.h).
#include "arenalab/formats/json.h"

#include <cmath>
#include <limits>

#include "arenalab/core/files.h"
#include "arenalab/core/text.h"

namespace arenalab::formats {

std::string number_text(double v) {
  std::string s = json(v).dump();
  if (s.size() > 2 && s.compare(s.size() - 2, 2, ".0") == 0) s.resize(s.size() - 2);
  return s;
}

std::string describe_type(const json& v) {
  switch (v.type()) {
    case json::value_t::null:
      return "null";
    case json::value_t::object:
      return "an object";
    case json::value_t::array:
      return "an array";
    case json::value_t::string: {
      std::string s = v.get<std::string>();
      if (s.size() > 40) s = s.substr(0, 37) + "...";
      return "the string \"" + printable(s) + "\"";
    }
    case json::value_t::boolean:
      return v.get<bool>() ? "true" : "false";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
    case json::value_t::number_float:
      return v.is_number_float() ? number_text(v.get<double>()) : v.dump();
    default:
      return "an unsupported value";
  }
}

namespace {

std::string text(double v) { return number_text(v); }
std::string text(std::int64_t v) { return std::to_string(v); }

std::string range_text(double min, double max) {
  if (min == -kInf && max == kInf) return "a finite number";
  if (max == kInf) return "a number >= " + text(min);
  if (min == -kInf) return "a number <= " + text(max);
  return "a number in [" + text(min) + ", " + text(max) + "]";
}

}  // namespace

Obj::Obj(const json& j, std::string path) : j_(&j), path_(std::move(path)) {
  if (!j.is_object())
    throw FormatError((path_.empty() ? std::string("the document") : path_) +
                      ": expected an object, found " + describe_type(j));
}

std::string Obj::path_of(const std::string& key) const {
  return path_.empty() ? key : path_ + "." + key;
}

void Obj::fail(const std::string& key, const std::string& expected, const json& found) const {
  throw FormatError(path_of(key) + ": expected " + expected + ", found " + describe_type(found));
}

bool Obj::has(const char* key) const {
  auto it = j_->find(key);
  return it != j_->end() && !it->is_null();
}

const json& Obj::at(const char* key) const {
  auto it = j_->find(key);
  if (it == j_->end()) throw FormatError(path_of(key) + ": missing (required)");
  return *it;
}

std::string Obj::str(const char* key) const {
  const json& v = at(key);
  if (!v.is_string()) fail(key, "a string", v);
  return v.get<std::string>();
}

std::string Obj::str_or(const char* key, const std::string& absent) const {
  return has(key) ? str(key) : absent;
}

double Obj::num(const char* key, double min, double max) const {
  const json& v = at(key);
  if (!v.is_number()) fail(key, range_text(min, max), v);
  const double d = v.get<double>();
  if (!std::isfinite(d) || d < min || d > max) fail(key, range_text(min, max), v);
  return d;
}

std::optional<double> Obj::opt_num(const char* key, double min, double max) const {
  if (!has(key)) return std::nullopt;
  return num(key, min, max);
}

std::int64_t Obj::integer(const char* key, std::int64_t min, std::int64_t max) const {
  const json& v = at(key);
  // Bounds as wide as an int or wider are "no upper bound" to a reader of the message.
  const std::string expected = max >= std::numeric_limits<int>::max()
                                   ? "an integer >= " + text(min)
                                   : "an integer in [" + text(min) + ", " + text(max) + "]";
  if (!v.is_number()) fail(key, expected, v);
  const double d = v.get<double>();
  if (!std::isfinite(d) || d != std::floor(d) || d < static_cast<double>(min) ||
      d > static_cast<double>(max))
    fail(key, expected, v);
  return v.is_number_float() ? static_cast<std::int64_t>(d) : v.get<std::int64_t>();
}

std::optional<std::int64_t> Obj::opt_integer(const char* key, std::int64_t min,
                                             std::int64_t max) const {
  if (!has(key)) return std::nullopt;
  return integer(key, min, max);
}

bool Obj::boolean(const char* key) const {
  const json& v = at(key);
  if (!v.is_boolean()) fail(key, "true or false", v);
  return v.get<bool>();
}

bool Obj::bool_or(const char* key, bool absent) const { return has(key) ? boolean(key) : absent; }

Obj Obj::obj(const char* key) const {
  const json& v = at(key);
  if (!v.is_object()) fail(key, "an object", v);
  return Obj(v, path_of(key));
}

std::optional<Obj> Obj::opt_obj(const char* key) const {
  if (!has(key)) return std::nullopt;
  return obj(key);
}

const json& Obj::array(const char* key) const {
  const json& v = at(key);
  if (!v.is_array()) fail(key, "an array", v);
  return v;
}

const json* Obj::opt_array(const char* key) const {
  if (!has(key)) return nullptr;
  return &array(key);
}

Obj Obj::element(const char* key, std::size_t i) const {
  const json& a = array(key);
  const std::string p = path_of(key) + "[" + std::to_string(i) + "]";
  if (i >= a.size()) throw FormatError(p + ": missing");
  if (!a[i].is_object())
    throw FormatError(p + ": expected an object, found " + describe_type(a[i]));
  return Obj(a[i], p);
}

std::vector<std::string> Obj::strings(const char* key) const {
  std::vector<std::string> out;
  const json* a = opt_array(key);
  if (!a) return out;
  for (std::size_t i = 0; i < a->size(); ++i) {
    if (!(*a)[i].is_string())
      throw FormatError(path_of(key) + "[" + std::to_string(i) + "]: expected a string, found " +
                        describe_type((*a)[i]));
    out.push_back((*a)[i].get<std::string>());
  }
  return out;
}

std::map<std::string, std::string> Obj::string_map(const char* key) const {
  std::map<std::string, std::string> out;
  const auto o = opt_obj(key);
  if (!o) return out;
  for (const auto& [k, v] : o->raw().items()) out[k] = o->str(k.c_str());
  return out;
}

std::map<std::string, double> Obj::number_map(const char* key) const {
  std::map<std::string, double> out;
  const auto o = opt_obj(key);
  if (!o) return out;
  for (const auto& [k, v] : o->raw().items()) out[k] = o->num(k.c_str());
  return out;
}

GrowthVerdict growth_verdict(const Obj& o, const char* key) {
  const std::string name = o.str(key);
  if (const auto v = parse_verdict(name)) return *v;
  std::string expected;
  for (std::size_t i = 0; i < kAllGrowthVerdicts.size(); ++i)
    expected += std::string(i == 0                               ? ""
                            : i + 1 == kAllGrowthVerdicts.size() ? " or "
                                                                 : ", ") +
                verdict_name(kAllGrowthVerdicts[i]);
  throw FormatError(o.path_of(key) + ": expected " + expected + ", found " +
                    describe_type(o.raw().at(key)));
}

std::string names_text(const std::vector<const char*>& names) {
  std::string text;
  for (std::size_t i = 0; i < names.size(); ++i)
    text += std::string(i == 0 ? "" : i + 1 == names.size() ? " or " : ", ") + names[i];
  return text;
}

std::optional<GrowthVerdict> opt_growth_verdict(const Obj& o, const char* key) {
  if (!o.has(key)) return std::nullopt;
  return growth_verdict(o, key);
}

Backend backend_field(const Obj& o, const char* key) {
  if (!o.has(key)) return Backend::kUnknown;
  const std::string name = o.str(key);
  const Backend b = backend_from_name(name);
  if (b != Backend::kUnknown || name.empty() || name == backend_name(Backend::kUnknown)) return b;
  std::string expected;
  for (Backend known : kAllBackends) expected += std::string(backend_name(known)) + ", ";
  throw FormatError(o.path_of(key) + ": expected " + expected.substr(0, expected.size() - 2) +
                    " or unknown, found " + describe_type(o.raw().at(key)));
}

std::string schema_of(const json& doc) {
  if (!doc.is_object()) return "";
  const auto it = doc.find("schema");
  return it != doc.end() && it->is_string() ? it->get<std::string>() : "";
}

int schema_version(const json& doc, const std::string& name, int min_version, int max_version) {
  const std::string expected =
      "expected \"schema\": \"" + name + "/" + std::to_string(max_version) + "\"" +
      (min_version < max_version ? " (or /" + std::to_string(min_version) + ")" : "");
  if (!doc.is_object()) throw FormatError(expected + ", found " + describe_type(doc));
  auto it = doc.find("schema");
  if (it == doc.end() || !it->is_string())
    throw FormatError(expected + ", found " +
                      (it == doc.end() ? std::string("no schema") : describe_type(*it)));
  const std::string s = it->get<std::string>();
  const std::string prefix = name + "/";
  if (s.rfind(prefix, 0) == 0) {
    const std::string v = s.substr(prefix.size());
    if (!v.empty() && v.size() < 4 && v.find_first_not_of("0123456789") == std::string::npos) {
      const int n = std::stoi(v);
      if (n >= min_version && n <= max_version) return n;
    }
  }
  throw FormatError(expected + ", found \"" +
                    printable(s.size() > 60 ? s.substr(0, 57) + "..." : s) + "\"");
}

Result<json> read_json_document(const std::string& path) {
  auto doc = read_json_file(path);
  if (!doc) return doc.error();
  if (!doc->is_object())
    return make_error(printable(path) + ": expected a JSON object, found " + describe_type(*doc));
  return doc;
}

std::string document_text(const json& doc) {
  // Invalid UTF-8 in a string (a command line, a label) is replaced, never a throw.
  return doc.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

Status write_document(const std::string& path, const json& doc) {
  return write_file_atomic(path, document_text(doc));
}

}  // namespace arenalab::formats
