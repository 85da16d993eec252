// SPDX-License-Identifier: Apache-2.0
// The bridge between files and the pure classifier: a timeline's signals in, verdict.json
// (schema arenalab.verdict/1, docs/architecture.md) out.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "arenalab/analysis/analysis.h"
#include "arenalab/formats/timeline.h"

namespace arenalab::analysis {

// Every signal of the timeline the classifier reads (absent figures stay empty).
Signals signals_from_timeline(const timeline::Timeline& tl);

// verdict.json: {"schema":"arenalab.verdict/1","verdict","confidence","reason","held_signal",
// "rss_signal","time_to_limit_s"?,"limit_bytes"?,"source"?,"retention"?:{"kind","kept_bytes",
// "why","fix","fragmented_bytes"?,"purgeable_bytes"?,"purge_returned_bytes"?},
// "signals":{name:{...evidence}}}.
// Slopes are bytes/s, times ms, growth in % of level; a figure not computed is absent.
nlohmann::json to_json(const Classification& c, const Options& o, const std::string& source = "");
nlohmann::json to_json(const SeriesVerdict& v);

}  // namespace arenalab::analysis
