// SPDX-License-Identifier: Apache-2.0
// verdict.json (schema arenalab.verdict/1): its one writer and one reader. The analysis layer
// fills a Verdict from its classification (detectors/analysis/io, analysis::to_verdict); the
// cli adds the projection, the run, the process tree or the fleet labels; attach adds its
// part. Reports and check read it here, typed. Absent figures stay absent (never 0).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "arenalab/core/result.h"
#include "arenalab/formats/attach.h"
#include "arenalab/formats/growth_verdict.h"
#include "arenalab/formats/json.h"
#include "arenalab/formats/retention_kind.h"

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
  // Where a drift beneath registered cycles starts, when the trend was read from that onset
  // (slope and growth_pct are then the rate after it and the growth from it); else absent.
  std::optional<double> onset_ms;
  bool operator==(const Trend&) const = default;
};

// The change point of a signal ("knee").
struct Knee {
  bool found = false;
  std::optional<double> t_ms;
  std::optional<double> slope_before_bytes_per_s, slope_after_bytes_per_s;
  std::optional<double> tail_fraction, sse_ratio;
  bool operator==(const Knee&) const = default;
};

// Signals that are described but never judged (issue 22 item 8): jemalloc's "retained" is
// unmapped address space, not memory, and "gap" is derived (RSS minus what is held). What such
// a signal is ("unmapped address space (not memory)"), or "" for a signal that is judged.
std::string_view unjudged_what(std::string_view signal);

// The evidence of one signal (an entry of "signals"). Verdicts are formats::GrowthVerdict,
// written by name (leak | retention | bounded | non-heap-growth | stable | unresolved). An
// unjudged signal (unjudged_what) has neither verdict nor confidence: the writer leaves them
// out and writes "judged": false and "what" in their place; the reader leaves them empty, also
// when an older file carried one.
struct SignalEvidence {
  std::optional<formats::GrowthVerdict> verdict;  // empty: an unjudged signal
  std::string reason;
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
  bool operator==(const SignalEvidence&) const = default;
};

// When the growth reaches the memory limit ("projection", added by the cli).
struct Projection {
  double limit_bytes = 0;
  std::string limit_source;    // where the limit came from ("--limit", "cgroup memory.max", ...)
  double time_to_limit_s = 0;  // <= 0: already at or above the limit
  bool operator==(const Projection&) const = default;
};

// The run behind a `watch` verdict ("run").
struct RunPart {
  std::vector<std::string> command;                       // as run, invalid UTF-8 escaped
  std::string allocator;                                  // the configuration
  formats::Backend backend = formats::Backend::kUnknown;  // the backend identified inside
  bool verified = false;
  std::string exit;  // the target's end, in words ("exit 0", "killed by SIGKILL")
  std::int64_t samples = 0;
  std::string out_dir;
  std::string stop;  // how it was stopped (--duration, a signal), "" when it ended itself
  std::string name;  // watch --name: the cell check compares ("": none, the program's name)
  bool operator==(const RunPart&) const = default;
};

// The process attached to (`watch --pid`, "attach").
struct AttachPart {
  std::int64_t pid = 0;
  std::vector<std::string> command;
  attach_file::Level level = attach_file::Level::kRss;
  std::int64_t samples = 0;
  attach_file::Ended ended = attach_file::Ended::kDuration;
  double attached_ms = 0;
  std::string out_dir;
  bool operator==(const AttachPart&) const = default;
};

// One process of a --trace-children tree.
struct TreeProcess {
  std::int64_t pid = 0;
  std::vector<std::string> command;
  std::int64_t samples = 0;
  formats::GrowthVerdict verdict = formats::GrowthVerdict::kUnresolved;
  double confidence = 0;
  std::string reason;
  bool operator==(const TreeProcess&) const = default;
};

// The process tree's verdict ("tree"): the worst process first.
struct TreePart {
  formats::GrowthVerdict verdict = formats::GrowthVerdict::kUnresolved;
  double confidence = 0;
  std::int64_t pid = 0;  // the worst process
  std::vector<TreeProcess> processes;
  std::int64_t short_lived = 0;  // children with too few samples to judge
  std::int64_t unreadable = 0;   // child timelines that could not be read
  // Children with too few samples still running when it was judged (a daemon), by pid; written
  // only when there are some.
  std::vector<std::int64_t> still_running;
  bool operator==(const TreePart&) const = default;
};

// The verdict as the fleet table shows a series (FleetPart::shown). With the allocator's view
// (a held series) it is the classifier's verdict. On RSS alone, growth cannot be told apart
// from growth outside malloc, nor a plateau from retention: the classifier's leak shows as
// "growth", its bounded as "plateau".
enum class Shown {
  kLeak,
  kRetention,
  kBounded,
  kNonHeapGrowth,
  kStable,
  kUnresolved,
  kGrowth,   // RSS alone: the classifier's leak
  kPlateau,  // RSS alone: the classifier's bounded
};
// The growth verdict's name, "growth", "plateau".
const char* shown_name(Shown s);
std::optional<Shown> parse_shown(std::string_view name);
// How the table shows `v`, on RSS alone (rss_only) or with the allocator's view.
Shown shown_of(formats::GrowthVerdict v, bool rss_only);

// A Prometheus series' part (`classify --prometheus --out`, "fleet").
struct FleetPart {
  std::map<std::string, std::string> labels;
  Shown shown = Shown::kUnresolved;  // the verdict as the table shows it
  bool rss_only = false;
  std::int64_t points = 0, missing_points = 0, non_finite = 0, counter_resets = 0;
  std::optional<double> rate_bytes_per_day;
  bool operator==(const FleetPart&) const = default;
};

// Why the allocator keeps memory ("retention", written with the retention verdict only).
struct Retention {
  formats::RetentionKind kind = formats::RetentionKind::kUnknown;  // retention_kind.h
  double kept_bytes = 0;                       // RSS's rise the program no longer holds
  std::string why, fix;                        // the figures that decided; what to change
  std::optional<double> fragmented_bytes;      // active - allocated at the end (jemalloc)
  std::optional<double> purgeable_bytes;       // resident - active at the end (jemalloc)
  std::optional<double> purge_returned_bytes;  // RSS given back by the purge probe
  bool operator==(const Retention&) const = default;
};

struct Verdict {
  formats::GrowthVerdict verdict = formats::GrowthVerdict::kUnresolved;  // the whole run's
  double confidence = 0;                                                 // [0, 1]
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
  std::optional<RunPart> run;
  std::optional<AttachPart> attach;
  std::optional<TreePart> tree;
  std::optional<FleetPart> fleet;

  bool operator==(const Verdict&) const = default;

  // The evidence of the decisive RSS signal: rss_signal's, else "rss"'s; null when neither.
  const SignalEvidence* rss_evidence() const;
  // watch --name, "" when none was given.
  std::string name() const { return run ? run->name : std::string(); }
  // That signal's knee time when a knee was found.
  std::optional<double> knee_ms() const;
};

// The document (the writer's one spelling of every key).
nlohmann::json to_json(const Verdict& v);
// Written via a temporary file and rename.
Status write_verdict(const std::string& path, const Verdict& v);

// Reads a parsed verdict document; errors name `file` and the field, e.g.
// "DIR/verdict.json: signals.rss.knee.t_ms: expected a number, found \"x\"".
Result<Verdict> parse_verdict(const nlohmann::json& doc, const std::string& file);
Result<Verdict> read_verdict(const std::string& path);

}  // namespace arenalab::verdict_file
