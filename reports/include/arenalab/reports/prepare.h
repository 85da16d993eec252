// SPDX-License-Identifier: Apache-2.0
// Data preparation for the report: pure functions from the loaded inputs to the tables, heat
// maps, plot series and overlays that the HTML/Markdown writers and gnuplot render. No I/O.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "arenalab/reports/inputs.h"

namespace arenalab::reports {

// A matrix table for one workload (and thread count): its rows and the best cells.
struct WorkloadTable {
  std::string workload;
  int threads = 1;
  std::vector<matrix::Group> rows;  // in input order
  int best_time = -1;               // index of the lowest median time among usable rows, -1 none
  int best_rss = -1;                // index of the lowest median peak RSS among usable rows
};

// Groups rows by workload x threads (first-seen order) and marks the best cells among the
// usable ones (ran and verified: matrix::Group::usable).
std::vector<WorkloadTable> matrix_tables(const std::vector<matrix::Group>& rows);

enum class HeatMetric { kTime, kPeakRss };

// Workloads x configurations; value = the cell's median relative to the best usable cell of
// its workload (1.0 = best, higher = worse); empty with a label ("failed", "unverified",
// "absent") when the cell cannot be ranked.
struct Heatmap {
  std::vector<std::string> rows;     // "cache" or "cache (4 threads)"
  std::vector<std::string> columns;  // configurations, first-seen order
  std::vector<std::vector<Opt>> value;
  std::vector<std::vector<std::string>> label;
  double max_value = 1.0;  // largest finite value (colour range)
};
Heatmap heatmap(const std::vector<WorkloadTable>& tables, HeatMetric metric);

// x/y points for a plot.
struct XY {
  std::vector<double> x, y;
  bool empty() const { return x.empty(); }
};

// Scales a series (x: ms -> s, y: bytes -> MiB) and keeps at most max_points points: each
// bucket keeps its first point and its extreme points, so peaks and plateaus survive.
XY plot_points(const timeline::Series& s, std::size_t max_points = 1500);

// The signals drawn for a run, with their legend names.
struct SignalSpec {
  std::string signal, legend;
  // Address space, not memory (jemalloc's retained: unmapped virtual ranges it keeps): drawn on
  // its own axis, never on the memory axis beside RSS.
  bool address_space = false;
};
const std::vector<SignalSpec>& over_time_signals();

// The essentials of a verdict.json (arenalab.verdict/1): the verdict, and the slope of the
// decisive RSS signal over its stretch (after the knee when there is one).
struct VerdictSummary {
  std::string verdict, reason;
  std::string signal = "rss";  // the RSS signal the slope belongs to (rss or rss_anon)
  Opt confidence;
  Opt slope, slope_lo, slope_hi;  // bytes/s
  Opt knee_ms;
  Opt t0_ms, t1_ms;     // the stretch the slope was fitted on
  bool rising = false;  // the trend there is significant, above 0 and material
};
VerdictSummary verdict_summary(const verdict_file::Verdict& verdict);

// The fitted line, knee and verdict of a watch result, for drawing and the evidence table.
struct WatchOverlay {
  std::string verdict;  // leak | retention | bounded | non-heap-growth | stable | unresolved
  std::string signal;   // the series the slope belongs to
  Opt confidence;
  Opt slope_bytes_per_s, slope_lo, slope_hi;
  Opt knee_ms;
  XY fit;  // the fitted line over its window (s, MiB); empty if no slope was recorded
  // The line is the level the series holds (no rising trend: its slope is no finding), not
  // the slope: drawn flat, labelled as a level.
  bool fit_is_level = false;
  std::vector<std::pair<std::string, std::string>> evidence;  // label, formatted value
};
// The line follows the series it describes (issue 22 item 7): over the slope's stretch, a rising
// trend is drawn with its slope and the median intercept of the signal's samples there (robust
// to bursts, as Theil-Sen's own intercept); any other is drawn flat at their median, the level
// the verdict speaks of. Without a verdict the overlay is empty.
WatchOverlay watch_overlay(const std::optional<verdict_file::Verdict>& verdict,
                           const timeline::Timeline* tl);

// A budget run: the limit, the usage and how it ended.
struct BudgetView {
  Opt limit_bytes;
  Opt peak_bytes;
  Opt kill_ms;          // when the kill happened (last sample if the budget says killed)
  bool killed = false;  // killed by the OOM killer / the limit
  std::string outcome;  // one line: "killed by SIGKILL (OOM) at 3.2 s", "exit 0 under the limit"
};
BudgetView budget_view(const budget::BudgetRecord& budget, const timeline::Timeline* tl);

// Formatting shared by the writers.
std::string fmt_bytes(const Opt& bytes);                  // "512.0 MiB", "—" when absent
std::string fmt_ms(const Opt& ms);                        // "12.3 ms", "1.20 s"
std::string fmt_ratio(const Opt& r);                      // "1.23×"
std::string fmt_interval_bytes(const matrix::Figure& e);  // "[500.1 MiB – 530.2 MiB]"
std::string fmt_interval_ms(const matrix::Figure& e);
std::string fmt_rate(const Opt& bytes_per_s);  // "1.5 MiB/s", "-12.0 KiB/s"

}  // namespace arenalab::reports
