// SPDX-License-Identifier: Apache-2.0
// verdict.json (schema arenalab.verdict/1): its one reader. The analysis layer writes it
// (detectors/analysis/io, analysis::to_json; the cli adds the projection fields); reports and
// check read it here, typed, instead of looking keys up. Absent figures stay absent.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "arenalab/core/result.h"
#include "arenalab/formats/json.h"

namespace arenalab::verdict_file {

inline constexpr std::string_view kSchema = "arenalab.verdict/1";

// A slope fitted over a stretch of one signal ("trend", "after_knee"). Times in ms since the
// target started; slopes in bytes/s. A figure the analysis could not compute (NaN, written as
// null) is absent.
struct Trend {
  std::optional<double> t0_ms, t1_ms;
  std::int64_t blocks = 0;  // blocks the stretch was cut into for the test
  std::optional<double> block_ms;
  std::optional<double> slope_bytes_per_s;
  std::optional<double> slope_lo, slope_hi;  // "slope_interval_bytes_per_s": [lo, hi]
  std::optional<double> p_median, p_min;     // the trend test's p-values
  std::optional<double> growth_pct;
  bool rising = false;
};

// The change point of a signal ("knee").
struct Knee {
  bool found = false;
  std::optional<double> t_ms;
  std::optional<double> slope_before_bytes_per_s, slope_after_bytes_per_s;
  std::optional<double> tail_fraction, sse_ratio;
};

// The evidence of one signal (an entry of "signals"). Verdicts are the classifier's names:
// leak | retention | bounded | non-heap-growth | stable | unresolved.
struct SignalEvidence {
  std::string verdict, reason;
  std::optional<double> confidence;
  std::int64_t samples = 0;  // 0: nothing below was written
  std::optional<double> duration_ms;
  std::optional<double> start_level_bytes, level_bytes;
  std::optional<double> growth_pct, oscillation_pct;
  std::optional<double> period_ms;
  std::optional<Trend> trend;       // over the whole series
  std::optional<Knee> knee;         // written with the trend
  std::optional<Trend> after_knee;  // the stretch after the knee, when one was found
  std::optional<double> time_to_limit_s;
};

// When the growth reaches the memory limit ("projection", added by the cli).
struct Projection {
  double limit_bytes = 0;
  std::string limit_source;    // where the limit came from ("--limit", "cgroup memory.max", ...)
  double time_to_limit_s = 0;  // <= 0: already at or above the limit
};

// Why the allocator keeps memory ("retention", written with the retention verdict only).
struct Retention {
  std::string kind;                            // purgeable | fragmentation | unknown
  double kept_bytes = 0;                       // RSS's rise the program no longer holds
  std::string why, fix;                        // the figures that decided; what to change
  std::optional<double> fragmented_bytes;      // active - allocated at the end (jemalloc)
  std::optional<double> purgeable_bytes;       // resident - active at the end (jemalloc)
  std::optional<double> purge_returned_bytes;  // RSS given back by the purge probe
};

struct Verdict {
  std::string verdict;    // the whole run's verdict (names as in SignalEvidence)
  double confidence = 0;  // [0, 1]
  std::string reason;
  std::string held_signal;  // the signal for what the program holds ("live_bytes", ...)
  std::string rss_signal;   // the decisive RSS signal ("rss" or "rss_anon")
  std::string source;       // where the series came from ("" when not recorded)
  std::optional<double> limit_bytes;
  std::optional<double> time_to_limit_s;
  // The growth rate the projection uses, bytes per second / hour / day (cli).
  std::optional<double> rate_bytes_per_s, rate_bytes_per_hour, rate_bytes_per_day;
  std::optional<Projection> projection;
  std::optional<Retention> retention;             // retention only
  std::map<std::string, SignalEvidence> signals;  // by signal name

  // The evidence of the decisive RSS signal: rss_signal's, else "rss"'s; null when neither.
  const SignalEvidence* rss_evidence() const;
  // That signal's knee time when a knee was found.
  std::optional<double> knee_ms() const;
};

// Reads a parsed verdict document; errors name `file` and the field, e.g.
// "DIR/verdict.json: signals.rss.knee.t_ms: expected a number, found \"x\"".
Result<Verdict> parse_verdict(const nlohmann::json& doc, const std::string& file);
Result<Verdict> read_verdict(const std::string& path);

}  // namespace arenalab::verdict_file
