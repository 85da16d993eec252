// SPDX-License-Identifier: Apache-2.0
// The fleet view, reading side: range queries against a Prometheus server's HTTP API, the series
// of the held and RSS queries matched by their labels, and each matched target classified with
// the pure classifier (detectors/analysis). Method and flags: docs/fleet.md.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "arenalab/analysis/analysis.h"
#include "arenalab/core/result.h"
#include "arenalab/fleet/http.h"
#include "arenalab/formats/prometheus.h"
#include "arenalab/formats/verdict.h"

namespace arenalab::fleet {

// A Prometheus duration ("15s", "6h", "1h30m", "500ms", "2d"), in seconds.
Result<double> parse_duration(std::string_view text);

// The PromQL of each signal; an empty string is a signal not asked for.
struct Queries {
  std::string held;      // what the program holds (allocated / live bytes)
  std::string rss;       // resident set (or a container's working set)
  std::string resident;  // the allocator's resident footprint, where the exporter has one
  // A restart marker: the process' start time (process_start_time_seconds: a restart changes
  // it) or any counter of the process (a *_total: a restart resets it). Empty: none.
  std::string restarts;
};

// Presets for common exporters: redis, jvm, go, process, cadvisor, arenalab. `selector` is
// PromQL label matchers, with or without braces ({job="x"} or job="x"), added to every metric.
Result<Queries> preset(std::string_view name, std::string_view selector);
std::vector<std::string> preset_names();

struct Window {
  double start_s = 0, end_s = 0;  // seconds since the epoch
  double step_s = 15;
};

// One range query: GET <base>/api/v1/query_range. Errors: the server cannot be reached, it
// answers an error (its errorType and text), or the body is not a range-query response.
Result<prometheus::RangeResult> query_range(const std::string& base_url, const std::string& promql,
                                            const Window& w, double timeout_s = 30);

// The series of one target (pod, instance, process) after matching; absent signals empty.
struct Target {
  prometheus::Labels key;  // the labels it was matched on
  std::optional<prometheus::RangeSeries> held, rss, resident;
  std::optional<prometheus::RangeSeries> restarts;  // the marker's series (Queries::restarts)
};

// Matches the series of each query on `by` (label names; empty: every label but __name__, as
// Prometheus' own one-to-one vector matching does). Two series of one query with the same key
// are an Error (aggregate them, or name more labels in --by). A target's held series without
// an RSS series, or the reverse, is still a target: it is classified on what it has.
// A marker series alone is not a target.
Result<std::vector<Target>> match(const std::vector<prometheus::RangeSeries>& held,
                                  const std::vector<prometheus::RangeSeries>& rss,
                                  const std::vector<prometheus::RangeSeries>& resident,
                                  const std::vector<std::string>& by,
                                  const std::vector<prometheus::RangeSeries>& restarts = {});

// When the process behind a marker series restarted: the times (seconds since the epoch) of
// the first point of each new life. A counter (a name ending in _total) restarts where it
// resets; any other series is a start time, which a restart moves past the middle of the time
// between the old start and the last point of the old life (a start time derived from the
// uptime jitters by a second between scrapes: not a restart).
std::vector<double> restart_times(const prometheus::RangeSeries& marker);

// One row of the fleet table.
struct Row {
  std::string name;  // the key as label=value pairs, "{instance="a:9121", job="redis"}"
  prometheus::Labels key;
  analysis::Classification c;
  // The verdict as shown (verdict_file::shown_of). With the allocator's view (a held series) it
  // is the classifier's verdict. On RSS alone, growth cannot be told apart from growth outside
  // malloc, nor a plateau from retention: growth (the classifier's leak), plateau (bounded),
  // stable, unresolved; never retention.
  verdict_file::Shown shown = verdict_file::Shown::kUnresolved;
  bool rss_only = false;
  std::optional<double> rate_bytes_per_day;  // slope of the deciding signal, when it grows
  std::size_t samples = 0;                   // points of the deciding series
  std::size_t missing = 0;                   // holes in the deciding series, in steps
  std::size_t non_finite = 0;                // NaN / Inf values (skipped by the classifier)
  std::size_t resets = 0;                    // counter resets corrected (series named *_total)
  // Restarts inside the window (from the marker): each life is classified on its own and the
  // verdict is what the lives say together (classify_target).
  std::size_t restarts = 0;
  std::optional<double> restart_every_s;  // the median time between restarts (2 or more)
};

// Classifies one target: held -> Signals::allocated (an exporter reports the allocator's or the
// runtime's books; arenalab_live_bytes, the interposer's count, -> live_bytes), rss -> rss,
// resident -> resident; times in ms from the window's start.
// Counters (a __name__ ending in _total) are made monotonic first
// (prometheus::without_counter_resets).
//
// A target whose marker shows restarts inside the window (a supervisor restarting a service the
// OOM killer ended) is judged life by life: a restart cuts every series, and a gauge that grows
// in every life falls back at each restart, which over the whole window reads as a bounded
// sawtooth. Each life is classified on its own; a life that reads unresolved (too short to
// tell) contradicts nothing. When the other lives agree, that is the verdict (a leak in every
// life is a leak the restarts hide, and the reason says so, with how often it restarts; its rate
// is the median life's); when no life can be told, or lives disagree, it is unresolved, naming
// the restarts and what each life read.
Row classify_target(const Target& t, const analysis::Options& o, double step_s);

// Severity: leak, non-heap-growth, growth, unresolved, retention, plateau/bounded, stable; leaks
// by rate per day, fastest first.
int severity(const Row& r);
void sort_by_severity(std::vector<Row>& rows);

// "{a="x", b="y"}" of a label set (without __name__).
std::string label_text(const prometheus::Labels& l);

}  // namespace arenalab::fleet
