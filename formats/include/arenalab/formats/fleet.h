// SPDX-License-Identifier: Apache-2.0
// The fleet document (arenalab.fleet/1), written by `classify --prometheus --json|--json-out`:
// the Prometheus server and queries asked, and one verdict.json document per series (each with
// its "fleet" part: labels, points, gaps). One writer and one reader.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "arenalab/core/result.h"
#include "arenalab/formats/json.h"
#include "arenalab/formats/verdict.h"

namespace arenalab::fleet_file {

inline constexpr std::string_view kSchema = "arenalab.fleet/1";

struct Document {
  std::string prometheus;                             // the server's URL
  std::string held_query, rss_query, resident_query;  // PromQL ("" when not asked)
  double range_s = 0, step_s = 0;
  std::vector<verdict_file::Verdict> series;  // worst first, as the table
  bool operator==(const Document&) const = default;
};

nlohmann::json to_json(const Document& d);
// Errors name `file` and the field, "f.json: series[2].confidence: expected ...".
Result<Document> parse_fleet(const nlohmann::json& doc, const std::string& file);
Result<Document> read_fleet(const std::string& path);
Status write_fleet(const std::string& path, const Document& d);

}  // namespace arenalab::fleet_file
