// SPDX-License-Identifier: Apache-2.0
// arenalab check: memory regressions between a committed baseline and new results, for CI.
// A cell is one workload x configuration (x threads) of a matrix or one watch run; its metrics
// are bytes with the interval they were recorded with. Rules (issue 11):
//  - verdict turns into leak or non-heap-growth                        -> regression (fails)
//  - plateau RSS, RSS after frees or peak RSS above baseline x (1 + tolerance) AND outside both
//    intervals (result point above the baseline interval, baseline point below the result's)
//                                                                      -> regression (fails)
//  - a latency figure (malloc_p99_ns, free_p99_ns, request_p99_ms: any metric in ns or ms) by
//    the same rule with its own, wider latency tolerance: a p99 moves with the CPU, its clock
//    and the load far more than bytes do between machines (docs/ci.md "Latency")
//  - the mirror image of either                                        -> improvement (reported)
//  - a cell in the results only whose verdict is leak or non-heap-growth  -> regression (fails)
//  - a cell or metric present on one side only, or a failed/unverified cell -> missing (reported;
//    fails only with strict)
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "arenalab/core/result.h"
#include "arenalab/formats/baseline.h"
#include "arenalab/formats/timeline.h"

namespace arenalab::check {

// Metric, Cell, CellSet, Status, Kind and the metric names: the baseline format
// (formats/baseline.h), which is also the model every loaded result is compared in.

// Loads a results.json (or its matrix directory), a watch directory (verdict.json + run.json +
// timeline.jsonl), a verdict.json, or a baseline file (arenalab.baseline/2 or /1). Errors name the
// file and what was expected.
Result<CellSet> load_cells(const std::string& path);
Result<CellSet> load_cells(const std::vector<std::string>& paths);

// Summary of the watch evidence in a timeline, for cells built from watch directories
// (formats/timeline_levels.h, the same levels the matrix reports): plateau = median RSS after
// the knee (else over the second half of the run), interval the 10th..90th percentile of that
// window; after frees = the last sample before the exit teardown (the interposer's "final"
// sample, written after static destructors and atexit handlers ran, is left out), interval
// min..max of the last three before it; peak = the highest sample. Values are bytes; absent
// when the timeline has no RSS. `ends_with_teardown`: rss.back() is the teardown sample.
struct TimelineMetrics {
  std::optional<Metric> plateau, after_frees, peak;
};
TimelineMetrics timeline_metrics(const std::vector<double>& t_ms, const std::vector<double>& rss,
                                 Opt knee_ms, bool ends_with_teardown = false);
TimelineMetrics timeline_metrics(const timeline::Timeline& tl, Opt knee_ms,
                                 bool ends_with_teardown);

enum class Outcome { kPass, kRegression, kImprovement, kChanged, kMissing };
const char* outcome_name(Outcome o);  // PASS, FAIL, IMPROVED, CHANGED, MISSING

struct Finding {
  std::string key, workload, configuration, kind;
  std::string metric;  // "verdict", a metric name, or "cell"
  Outcome outcome = Outcome::kPass;
  std::string baseline, result;  // formatted values ("" if absent)
  std::string change;            // "+23.4%", "retention -> leak"
  std::string message;           // one line: why
  bool fails = false;
};

struct CheckOptions {
  double tolerance_pct = 10.0;  // bytes: allowed rise, % of the baseline
  bool strict = false;          // missing cells and metrics fail too
  // Latency figures: allowed rise, % of the baseline (100: a p99 must more than double). The
  // default and why: docs/ci.md "Latency".
  double latency_tolerance_pct = 100.0;
};

// Whether a metric is a latency (its unit, named by its suffix: _ns or _ms), judged with
// latency_tolerance_pct rather than tolerance_pct.
bool latency_metric(const std::string& name);

struct CheckReport {
  std::vector<Finding> findings;
  CheckOptions options;
  int regressions = 0, improvements = 0, missing = 0, changed = 0, passed = 0;
  bool failed() const;
};

CheckReport compare(const CellSet& baseline, const CellSet& results, const CheckOptions& options);

std::string terminal_table(const CheckReport& r);
std::string junit_xml(const CheckReport& r);  // one testcase per workload x configuration x metric
std::string markdown(const CheckReport& r);

}  // namespace arenalab::check
