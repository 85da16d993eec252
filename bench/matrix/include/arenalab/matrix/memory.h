// SPDX-License-Identifier: Apache-2.0
// A cell's memory over time (issue 24, part 3): peak, final and plateau RSS from its timeline
// and the classifier's growth verdict, so a configuration whose RSS keeps creeping is flagged.
#pragma once

#include <optional>
#include <vector>

#include "arenalab/formats/matrix.h"
#include "arenalab/formats/timeline.h"

namespace arenalab::matrix {

// Levels as formats/timeline_levels.h defines them (the exit-teardown sample left out of final
// and plateau; the plateau starts at the knee of the RSS evidence), the verdict of
// analysis::classify on every signal of the timeline without that teardown sample, and the
// books it weighed (held_signal and that signal's own verdict; empty without books).
// `ends_with_teardown`: the last sample is the teardown one (timeline::ends_with_teardown of
// the file). Absent when the timeline has no RSS sample.
std::optional<MemoryOverTime> memory_over_time(const timeline::Timeline& tl,
                                               bool ends_with_teardown);

// The judgement across configurations (docs/matrix.md "Memory over time"). A leak is the
// program's; the matrix runs the same program under several allocators, and only some keep
// books. A cell whose growth verdict RSS alone carries (no books, creeping) gets
// across_growth kAllocatorGrowth when the same workload (and thread count) has cells with
// books under which the program's held bytes are flat (held verdict stable, bounded or
// retention) and none under which they grow (held verdict leak) or RSS grows beyond flat books
// (non-heap-growth: that may be the program's own memory). Cells whose books the classifier
// could not tell (unresolved) count neither way; the reason says how many. Otherwise - no
// sibling with books, or one whose held bytes grow - the cell's own verdict stands. Recomputed
// from scratch on every call (earlier judgements dropped first); cells that did not run
// neither receive nor give evidence.
void judge_across_configurations(std::vector<Cell>& cells);

}  // namespace arenalab::matrix
