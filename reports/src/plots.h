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

PlotSpec watch_plot(const std::string& name, const RunInput& run, const WatchOverlay& o);

PlotSpec budget_plot(const std::string& name, const RunInput& run, const BudgetView& b);

}  // namespace arenalab::reports::detail
