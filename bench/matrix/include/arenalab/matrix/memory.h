// SPDX-License-Identifier: Apache-2.0
// A cell's memory over time (issue 24, part 3): peak, final and plateau RSS from its timeline
// and the classifier's growth verdict, so a configuration whose RSS keeps creeping is flagged.
#pragma once

#include <optional>

#include "arenalab/formats/matrix.h"
#include "arenalab/formats/timeline.h"

namespace arenalab::matrix {

// A cell's program starts with the cell: its RSS rises from exec while the allocator warms up
// (arenas, caches, per-thread heaps). With the allocator's books (or the program's live bytes)
// the classifier tells a warm-up from growth at any length; from RSS alone it can only see the
// warm-up end. It calls an approach to a bound once saturation_time_constants (3) of its time
// constants are in the window. The warm-up measured is the one that was called a leak,
// arena_retention x tbbmalloc's (time constant 2.0 s, fitted over a 10 s smoke run: bounded at
// 88.9 MiB); no other workload's was measured. A rise from the start that RSS alone calls
// growth in a shorter window than 3 x 2 s is "too short to tell". Milliseconds.
inline constexpr double kMinRssRiseWindowMs = 6000;

// Levels as formats/timeline_levels.h defines them (the exit-teardown sample left out of final
// and plateau; the plateau starts at the knee of the RSS evidence), the verdict of
// analysis::classify on every signal of the timeline without that teardown sample.
// `ends_with_teardown`: the last sample is the teardown one (timeline::ends_with_teardown of
// the file). Absent when the timeline has no RSS sample. Too short to tell: a growth verdict
// (leak, non-heap-growth) carried by RSS alone - no books, or books that stay flat - from an
// RSS that rose from the window's start to its end with no knee, in a window shorter than
// kMinRssRiseWindowMs, reads unresolved, its reason starting "too short to tell".
std::optional<MemoryOverTime> memory_over_time(const timeline::Timeline& tl,
                                               bool ends_with_teardown);

}  // namespace arenalab::matrix
