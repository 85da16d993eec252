// SPDX-License-Identifier: Apache-2.0
// gnuplot plot specifications built from prepared data (private to the reports library).
#pragma once

#include <string>
#include <vector>

#include "arenalab/reports/prepare.h"
#include "arenalab/reports/report.h"

namespace arenalab::reports::detail {

// gnuplot double-quoted string literal.
std::string gq(const std::string& s);

PlotSpec heatmap_plot(const std::string& name, const Heatmap& h, HeatMetric metric);

// All runs of one workload (one colour per configuration, one dash per signal).
PlotSpec over_time_plot(const std::string& name, const std::string& workload,
                        const std::vector<const RunInput*>& runs);

// Latency of one workload per configuration as a tail plot from the summarized percentiles:
// x the latency (log), y the share of calls slower (log: 0.5 at p50, 0.01 at p99, 0.001 at
// p99.9); op "malloc"/"free" (ns, both on one plot) or "request" (ms). Empty script when no
// row reports it.
PlotSpec latency_plot(const std::string& name, const std::string& title_workload,
                      const std::vector<matrix::Group>& rows, bool requests);

// The CDF of one workload's malloc or free latency from the full merged histograms: one line
// per configuration, x the latency in ns (log), y the share of calls at or below it.
PlotSpec latency_cdf_plot(const std::string& name, const std::string& title_workload,
                          const LatencyCdf& cdf);

PlotSpec watch_plot(const std::string& name, const RunInput& run, const WatchOverlay& o);

PlotSpec budget_plot(const std::string& name, const RunInput& run, const BudgetView& b);

}  // namespace arenalab::reports::detail
