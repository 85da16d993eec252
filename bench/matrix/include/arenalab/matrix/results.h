// SPDX-License-Identifier: Apache-2.0
// The matrix's statistics over its results: per workload x configuration summaries and the
// terminal table. The results themselves (arenalab.matrix/1: plan, environment, cells,
// summaries; JSON and CSV) are a file format: formats/matrix.h.
#pragma once

#include <string>
#include <vector>

#include "arenalab/formats/matrix.h"
#include "arenalab/matrix/stats.h"

namespace arenalab::matrix {

// Per (workload, threads, configuration, metric) over ok cells; ratios against plan.baseline.
std::vector<Summary> summarize(const std::vector<Cell>& cells, const Plan& plan);

// The terminal table: one block per workload (and thread count), a row per configuration.
std::string render_table(const Results& results);

// Memory over time in a few lines: every workload x configuration whose RSS kept growing in
// some repeat (leak or non-heap-growth the judgement across configurations left standing;
// memory.h), every one whose RSS-only growth that judgement called the allocator's, with its
// reason, then the verdicts over all cells. Empty when no cell has a timeline.
std::string render_memory(const Results& results);

}  // namespace arenalab::matrix
