// SPDX-License-Identifier: Apache-2.0
// A cell's memory over time (issue 24, part 3): peak, final and plateau RSS from its timeline
// and the classifier's growth verdict, so a configuration whose RSS keeps creeping is flagged.
#pragma once

#include <optional>

#include "arenalab/formats/matrix.h"
#include "arenalab/formats/timeline.h"

namespace arenalab::matrix {

// Levels as formats/timeline_levels.h defines them (the exit-teardown sample left out of final
// and plateau; the plateau starts at the knee of the RSS evidence), the verdict of
// analysis::classify on every signal of the timeline without that teardown sample.
// `ends_with_teardown`: the last sample is the teardown one (timeline::ends_with_teardown of
// the file). Absent when the timeline has no RSS sample.
std::optional<MemoryOverTime> memory_over_time(const timeline::Timeline& tl,
                                               bool ends_with_teardown);

}  // namespace arenalab::matrix
