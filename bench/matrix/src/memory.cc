// SPDX-License-Identifier: Apache-2.0
// memory_over_time: a cell's timeline through the levels and the classifier (memory.h).
#include "arenalab/matrix/memory.h"

#include <algorithm>

#include "arenalab/analysis/analysis.h"
#include "arenalab/analysis/verdict_json.h"
#include "arenalab/formats/timeline_levels.h"

namespace arenalab::matrix {

std::optional<MemoryOverTime> memory_over_time(const timeline::Timeline& tl,
                                               bool ends_with_teardown) {
  // The program's own series: the teardown sample (written after static destructors and
  // atexit handlers ran) would read as a release at the very end.
  timeline::Timeline own = tl;
  if (ends_with_teardown && own.samples.size() > 1) own.samples.pop_back();
  const auto c = analysis::classify(analysis::signals_from_timeline(own));
  std::optional<double> knee;
  for (const auto& e : c.evidence)
    if (e.signal == c.rss_signal && e.v.knee.found) knee = e.v.knee.t_ms;
  const timeline::Levels l = timeline::rss_levels(tl, knee, ends_with_teardown);
  if (!l.peak) return std::nullopt;
  MemoryOverTime m;
  m.peak_rss_bytes = l.peak->value;
  m.final_rss_bytes = l.final->value;
  m.plateau_rss_bytes = l.plateau->value;
  m.growth = analysis::verdict_name(c.verdict);
  m.growth_reason = c.reason;
  if (creeping(m.growth)) m.growth_rate = c.rate;
  m.samples = l.samples;
  m.duration_ms = l.duration_ms;
  return m;
}

}  // namespace arenalab::matrix
