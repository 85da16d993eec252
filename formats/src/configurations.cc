// SPDX-License-Identifier: Apache-2.0
// allocators.json: one reader and one writer (configurations.h).
#include "arenalab/formats/configurations.h"

#include <set>

namespace arenalab::configurations_file {
using formats::FormatError;
using formats::json;

namespace {

constexpr const char* kBackends = "glibc|jemalloc|mimalloc|tcmalloc|tbbmalloc";

std::vector<Entry> parse(const json& doc) {
  if (doc.contains("schema")) formats::schema_version(doc, "arenalab.allocators", 1, 1);
  if (!doc.is_object() || !doc.contains("configurations") || !doc["configurations"].is_array())
    throw FormatError("expected an object with a \"configurations\" array");
  std::vector<Entry> out;
  std::set<std::string> names;
  std::size_t index = 0;
  for (const auto& entry : doc["configurations"]) {
    const std::string where = "configurations[" + std::to_string(index++) + "]";
    if (!entry.is_object()) throw FormatError(where + ": expected an object");
    Entry c;
    if (!entry.contains("name") || !entry["name"].is_string() ||
        entry["name"].get<std::string>().empty())
      throw FormatError(where + ": missing \"name\" (a non-empty string)");
    c.name = entry["name"].get<std::string>();
    const std::string who = where + " (" + printable(c.name) + ")";
    if (!names.insert(c.name).second)
      throw FormatError(where + ": duplicate name '" + printable(c.name) + "'");
    if (!entry.contains("backend") || !entry["backend"].is_string())
      throw FormatError(who + ": missing \"backend\" (" + kBackends + ")");
    const std::string backend = entry["backend"].get<std::string>();
    c.backend = formats::backend_from_name(backend);
    if (c.backend == formats::Backend::kUnknown)
      throw FormatError(who + ": unknown backend '" + printable(backend) + "' (expected " +
                        kBackends + ")");
    if (entry.contains("preload")) {
      if (!entry["preload"].is_string()) throw FormatError(who + ": \"preload\" must be a string");
      c.preload = entry["preload"].get<std::string>();
    }
    if (entry.contains("env")) {
      if (!entry["env"].is_object()) throw FormatError(who + ": \"env\" must be an object");
      for (const auto& [k, v] : entry["env"].items()) {
        if (!v.is_string()) throw FormatError(who + ": env." + printable(k) + " must be a string");
        c.env.emplace_back(k, v.get<std::string>());
      }
    }
    if (entry.contains("description")) {
      if (!entry["description"].is_string())
        throw FormatError(who + ": \"description\" must be a string");
      c.description = entry["description"].get<std::string>();
    }
    out.push_back(std::move(c));
  }
  if (out.empty()) throw FormatError("no configurations");
  return out;
}

}  // namespace

json to_json(const Entry& e) {
  json env = json::object();
  for (const auto& [k, v] : e.env) env[k] = v;
  return {{"name", e.name},
          {"backend", formats::backend_name(e.backend)},
          {"preload", e.preload},
          {"env", env},
          {"description", e.description}};
}

json to_json(const std::vector<Entry>& entries) {
  json list = json::array();
  for (const auto& e : entries) list.push_back(to_json(e));
  return {{"schema", std::string(kSchema)}, {"configurations", list}};
}

json listing_to_json(const std::string& file, const std::vector<Listed>& listed) {
  json list = json::array();
  for (const Listed& l : listed) {
    json row = to_json(l.entry);
    row["library"] = l.library;
    row["available"] = l.available;
    if (l.probed)
      row["identified"] = {{"backend", formats::backend_name(l.identified_backend)},
                           {"library", l.identified_library}};
    row["verified"] = l.verified;
    formats::put(row, "version", l.version);
    formats::put(row, "problem", l.problem);
    list.push_back(std::move(row));
  }
  return {{"schema", std::string(kSchema)}, {"file", file}, {"configurations", list}};
}

Status write_configurations(const std::string& path, const std::vector<Entry>& entries) {
  return formats::write_document(path, to_json(entries));
}

Result<std::vector<Entry>> parse_configurations(const json& doc, const std::string& file) {
  return formats::parse_document<std::vector<Entry>>(doc, file, parse);
}

Result<std::vector<Entry>> read_configurations(const std::string& path) {
  auto doc = read_json_file(path);  // "cannot read F: ...", "F: not valid JSON: ..."
  if (!doc) return make_error("allocator configurations: " + doc.error().message);
  return parse_configurations(*doc, path);
}

Result<ProbeLine> parse_probe_line(std::string_view text, const std::string& what) {
  json doc;
  try {
    doc = json::parse(text);
  } catch (const json::exception& e) {  // parse_error, and out_of_range for a number too large
    return make_error(printable(what) + " printed no identification: " + printable(e.what()));
  }
  return formats::parse_document<ProbeLine>(doc, what, [](const json& d) {
    if (!d.is_object()) throw FormatError("expected an object");
    ProbeLine p;
    auto text_of = [&](const char* key) {
      if (!d.contains(key) || !d[key].is_string())
        throw FormatError(std::string("\"") + key + "\" must be a string");
      return d[key].get<std::string>();
    };
    const std::string backend = text_of("backend");
    p.backend = formats::backend_from_name(backend);
    if (p.backend == formats::Backend::kUnknown && backend != "unknown")
      throw FormatError("unknown backend '" + printable(backend) + "' (expected " + kBackends +
                        "|unknown)");
    p.library = text_of("library");
    p.version = text_of("version");
    if (!d.contains("stats_interface") || !d["stats_interface"].is_boolean())
      throw FormatError("\"stats_interface\" must be true or false");
    p.stats_interface = d["stats_interface"].get<bool>();
    return p;
  });
}

}  // namespace arenalab::configurations_file
