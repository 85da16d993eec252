// SPDX-License-Identifier: Apache-2.0
// memory_over_time: a cell's timeline through the levels and the classifier (memory.h).
#include "arenalab/matrix/memory.h"

#include <algorithm>

#include <fmt/format.h>

#include "arenalab/analysis/analysis.h"
#include "arenalab/analysis/verdict_json.h"
#include "arenalab/formats/timeline_levels.h"

namespace arenalab::matrix {

namespace {

const analysis::SeriesVerdict* evidence(const analysis::Classification& c,
                                        const std::string& name) {
  for (const auto& e : c.evidence)
    if (e.signal == name) return &e.v;
  return nullptr;
}

// A growth verdict carried by RSS alone: no books at all (tbbmalloc, mimalloc: the stats-mode
// timeline has no live bytes, and no allocated bytes from such a backend), or books that do not
// grow while RSS does (non-heap-growth). Not when the books or the program's own mmap grow: then
// the allocator's own accounting backs the verdict, whatever the window.
bool carried_by_rss(const analysis::Classification& c) {
  if (c.verdict != analysis::Verdict::kLeak && c.verdict != analysis::Verdict::kNonHeapGrowth)
    return false;
  if (const auto* m = evidence(c, "mmap_bytes"); m && m->verdict == analysis::Verdict::kLeak)
    return false;
  if (c.held_signal.empty()) return true;
  const auto* held = evidence(c, c.held_signal);
  return c.verdict == analysis::Verdict::kNonHeapGrowth && held &&
         held->verdict != analysis::Verdict::kLeak;
}

// Why classification `c` of a cell's timeline is too short to tell (memory.h), or nothing.
std::optional<std::string> too_short_to_tell(const analysis::Classification& c) {
  if (!carried_by_rss(c)) return std::nullopt;
  const auto* rss = evidence(c, c.rss_signal);
  // Still rising from its start: the trend holds over the whole window, with no knee (no
  // change of regime, no plateau) anywhere in it.
  if (!rss || rss->knee.found || !rss->whole.rising) return std::nullopt;
  const double need_ms = kMinRssRiseWindowMs;
  if (rss->duration_ms >= need_ms) return std::nullopt;
  return fmt::format(
      "too short to tell: {} rose from the cell's start to its end without levelling off, over "
      "{:.1f} s; from RSS alone a warm-up this long cannot be told from growth (a window of {:.0f} "
      "s sees {:.0f} time constants of arena_retention x tbbmalloc's warm-up; docs/matrix.md "
      "\"Memory over "
      "time\"): run the workload longer, or watch it in count mode ({})",
      c.rss_signal, rss->duration_ms / 1000, need_ms / 1000,
      analysis::Options{}.saturation_time_constants, c.reason);
}

}  // namespace

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
  if (auto why = too_short_to_tell(c)) {
    m.growth = analysis::verdict_name(analysis::Verdict::kUnresolved);
    m.growth_reason = std::move(*why);
  }
  if (creeping(m.growth)) m.growth_rate = c.rate;
  m.samples = l.samples;
  m.duration_ms = l.duration_ms;
  return m;
}

}  // namespace arenalab::matrix
