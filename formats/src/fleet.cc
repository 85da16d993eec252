// SPDX-License-Identifier: Apache-2.0
// The fleet document: one writer and one reader (fleet.h); each series is read by verdict.h's
// reader, so a series is checked exactly as a verdict.json file is.
#include "arenalab/formats/fleet.h"

namespace arenalab::fleet_file {
using formats::FormatError;
using formats::json;
using formats::Obj;

namespace {

Document parse(const json& doc) {
  formats::schema_version(doc, "arenalab.fleet", 1, 1);
  const Obj o(doc, "");
  Document d;
  d.prometheus = o.str("prometheus");
  const Obj q = o.obj("queries");
  d.held_query = q.str_or("held");
  d.rss_query = q.str_or("rss");
  d.resident_query = q.str_or("resident");
  d.range_s = o.num("range_s", 0);
  d.step_s = o.num("step_s", 0);
  const json& series = o.array("series");
  for (std::size_t i = 0; i < series.size(); ++i) {
    const std::string path = "series[" + std::to_string(i) + "]";
    // The verdict reader's message starts "<file>: "; here the file is the series' path.
    auto v = verdict_file::parse_verdict(series[i], path);
    if (!v) throw FormatError(v.error().message);
    d.series.push_back(std::move(*v));
  }
  return d;
}

}  // namespace

json to_json(const Document& d) {
  json j = {
      {"schema", std::string(kSchema)},
      {"prometheus", d.prometheus},
      {"queries", {{"held", d.held_query}, {"rss", d.rss_query}, {"resident", d.resident_query}}},
      {"range_s", d.range_s},
      {"step_s", d.step_s},
      {"series", json::array()}};
  for (const auto& v : d.series) j["series"].push_back(verdict_file::to_json(v));
  return j;
}

Result<Document> parse_fleet(const json& doc, const std::string& file) {
  return formats::parse_document<Document>(doc, file, parse);
}

Result<Document> read_fleet(const std::string& path) {
  return formats::read_document<Document>(path, parse);
}

Status write_fleet(const std::string& path, const Document& d) {
  return formats::write_document(path, to_json(d));
}

}  // namespace arenalab::fleet_file
