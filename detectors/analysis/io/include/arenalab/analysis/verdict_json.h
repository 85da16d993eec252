// SPDX-License-Identifier: Apache-2.0
// The bridge between files and the pure classifier: a timeline's signals in, verdict.json
// (schema arenalab.verdict/1, docs/architecture.md) out.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "arenalab/analysis/analysis.h"
#include "arenalab/formats/timeline.h"
#include "arenalab/formats/verdict.h"

namespace arenalab::analysis {

// Every signal of the timeline the classifier reads (absent figures stay empty).
Signals signals_from_timeline(const timeline::Timeline& tl);

// The classification as verdict.json's typed document (formats/verdict.h writes and reads it):
// slopes in bytes/s, times in ms, growth in % of level; a figure not computed is absent.
// A retention verdict carries its kind (retention: purgeable | fragmentation | unknown).
// Callers add the projection, run, tree, attach or fleet part before writing.
verdict_file::Verdict to_verdict(const Classification& c, const Options& o,
                                 const std::string& source = "");
verdict_file::SignalEvidence to_evidence(const SeriesVerdict& v);
// The same, as JSON (verdict_file::to_json of the above).
nlohmann::json to_json(const Classification& c, const Options& o, const std::string& source = "");
nlohmann::json to_json(const SeriesVerdict& v);

}  // namespace arenalab::analysis
