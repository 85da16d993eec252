// SPDX-License-Identifier: Apache-2.0
// "Which allocator should I run?": per workload (and thread count) and overall, the
// configurations on the Pareto front of time, peak RSS and (when measured) p99 latency, decided
// with the matrix's own intervals so that overlapping intervals read "indistinguishable".
#pragma once

#include <string>
#include <vector>

#include "arenalab/formats/matrix.h"

namespace arenalab::matrix {

// The axes a recommendation may compare, all lower-is-better, in display order. An axis enters
// a scope only when every eligible configuration there measured it.
// request_p99_ms: a server's (or program's) own request latency, where reported.
// time_per_op_ns: 1e9 / throughput, in place of wall_ms for a cell run with --duration (its
// wall time is the duration it was given, not a measure of speed).
inline const std::vector<std::string> kRecommendAxes = {
    "wall_ms", "time_per_op_ns", "peak_rss_bytes", "malloc_p99_ns", "request_p99_ms"};
// Overall only, when some workloads rank wall_ms and others time_per_op_ns (a matrix --duration
// mixing workloads that take it with workloads that do not): each workload's own time axis,
// compared as ratios (recommend() says so in the overall's notes).
inline constexpr const char* kMixedTimeAxis = "time";

// How configuration A compares with B on one axis: A's repeat-paired ratio A_i / B_i
// (stats.h paired_ratio: both ran in the same repeat, back to back, on the same node) with its
// order-statistic interval; A is clearly better when the whole interval is below 1, clearly
// worse when it is above 1, indistinguishable otherwise. Without a pair (no common repeat) the
// two median intervals are compared instead (disjoint: decided; overlapping: indistinguishable).
// A dominates B when it is clearly better on one axis and clearly worse on none; the front is
// every eligible configuration nothing dominates. Overall, the ratio of repeat i is the
// geometric mean over the workload scopes of A_i / B_i, so every workload weighs the same.
//
// Eligible: at least one ok cell in the scope (overall: in every scope); the others are listed
// as excluded with why. pre: results.cells and results.plan as the matrix wrote them.
Recommendation recommend(const Results& results);

// The terminal answer, a few lines: overall first, then one line per workload scope.
std::string render_recommendation(const Recommendation& recommendation,
                                  const std::string& baseline);

}  // namespace arenalab::matrix
