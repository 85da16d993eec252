// SPDX-License-Identifier: Apache-2.0
// workloads.json: one reader and one writer (workloads.h).
#include "arenalab/formats/workloads.h"

#include <cstdlib>

namespace arenalab::workloads_file {
using formats::describe_type;
using formats::FormatError;
using formats::json;
using formats::Obj;

Status check_ready(const std::string& ready) {
  if (ready.rfind("unix:", 0) == 0 && ready.size() > 5) return Ok{};
  if (ready.rfind("tcp:", 0) == 0) {
    const auto colon = ready.rfind(':');
    const std::string port = ready.substr(colon + 1);
    char* end = nullptr;
    const long p = std::strtol(port.c_str(), &end, 10);
    if (colon > 4 && !port.empty() && *end == '\0' && p >= 1 && p <= 65535) return Ok{};
  }
  return make_error("expected tcp:HOST:PORT or unix:PATH, found '" + ready + "'");
}

namespace {

// "command" and "driver": a string, or an array of strings whose first is not empty.
CommandLine command_line(const Obj& o, const char* key) {
  const json& v = o.raw().at(key);
  CommandLine c;
  if (v.is_string()) {
    c.is_text = true;
    c.text = v.get<std::string>();
    return c;
  }
  const std::string expected = "expected a string or a non-empty array of strings";
  if (!v.is_array())
    throw FormatError(o.path_of(key) + ": " + expected + ", found " + describe_type(v));
  c.words = o.strings(key);
  if (c.words.empty() || c.words[0].empty())
    throw FormatError(o.path_of(key) + ": " + expected + " (the program first), found " +
                      (c.words.empty() ? std::string("[]") : std::string("an empty program")));
  return c;
}

std::vector<Entry> parse(const json& doc) {
  if (doc.contains("schema")) formats::schema_version(doc, "arenalab.workloads", 1, 1);
  const Obj top(doc, "");
  const json& list = top.array("workloads");
  std::vector<Entry> out;
  for (std::size_t i = 0; i < list.size(); ++i) {
    const Obj w = top.element("workloads", i);
    Entry e;
    e.name = w.str("name");
    if (e.name.empty())
      throw FormatError(w.path_of("name") + ": expected a non-empty string, found the string \"\"");
    if (w.has("category")) e.category = w.str("category");
    e.description = w.str_or("description");
    e.program = w.str_or("program");
    e.link_variants = w.strings("link_variants");
    e.takes_duration = w.bool_or("takes_duration", false);
    if (w.has("command")) e.command = command_line(w, "command");
    if (w.has("driver")) {
      if (!e.command)
        throw FormatError(w.path_of("driver") + ": expected only with a \"command\" (a server)");
      e.driver = command_line(w, "driver");
      e.ready = w.str_or("ready");
      if (auto st = check_ready(e.ready); !st)
        throw FormatError(w.path_of("ready") + ": " + st.error().message);
    }
    out.push_back(std::move(e));
  }
  return out;
}

json command_json(const CommandLine& c) { return c.is_text ? json(c.text) : json(c.words); }

}  // namespace

json to_json(const Entry& e) {
  json j = {{"name", e.name}};
  if (e.category) j["category"] = *e.category;
  formats::put(j, "description", e.description);
  formats::put(j, "program", e.program);
  if (!e.link_variants.empty()) j["link_variants"] = e.link_variants;
  if (e.takes_duration) j["takes_duration"] = true;
  if (e.command) j["command"] = command_json(*e.command);
  if (e.driver) j["driver"] = command_json(*e.driver);
  formats::put(j, "ready", e.ready);
  return j;
}

json to_json(const std::vector<Entry>& entries) {
  json list = json::array();
  for (const auto& e : entries) list.push_back(to_json(e));
  return {{"schema", std::string(kSchema)}, {"workloads", list}};
}

Status write_workloads(const std::string& path, const std::vector<Entry>& entries) {
  return formats::write_document(path, to_json(entries));
}

Result<std::vector<Entry>> parse_workloads(const json& doc, const std::string& file) {
  return formats::parse_document<std::vector<Entry>>(doc, file, parse);
}

Result<std::vector<Entry>> read_workloads(const std::string& path) {
  return formats::read_document<std::vector<Entry>>(path, parse);
}

}  // namespace arenalab::workloads_file
