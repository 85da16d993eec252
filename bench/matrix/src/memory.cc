// SPDX-License-Identifier: Apache-2.0
// memory_over_time: a cell's timeline through the levels and the classifier; the judgement
// across configurations of the same workload (memory.h).
#include "arenalab/matrix/memory.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <tuple>

#include "arenalab/analysis/analysis.h"
#include "arenalab/analysis/verdict_json.h"
#include "arenalab/formats/growth_verdict.h"
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
  m.growth = c.verdict;
  m.growth_reason = c.reason;
  if (formats::creeping(m.growth)) m.growth_rate = c.rate;
  // The books the classifier weighed, for the judgement across configurations.
  for (const auto& e : c.evidence)
    if (!c.held_signal.empty() && e.signal == c.held_signal) {
      m.held_signal = c.held_signal;
      m.held_growth = e.v.verdict;
    }
  m.samples = l.samples;
  m.duration_ms = l.duration_ms;
  return m;
}

void judge_across_configurations(std::vector<Cell>& cells) {
  // What the cells with books of each workload (and thread count) say about the program's
  // held bytes, configurations in the order their cells appear.
  struct Books {
    std::vector<std::string> flat;  // configurations with a cell showing held bytes flat
    bool growing = false;           // some cell's held bytes grow, or RSS beyond them does
    int unclear = 0;                // cells whose held bytes the classifier could not tell
  };
  using Key = std::tuple<std::string, int>;
  std::map<Key, Books> books;
  for (auto& c : cells) {
    if (!c.memory) continue;
    c.memory->across_growth.reset();
    c.memory->across_reason.clear();
    const MemoryOverTime& m = *c.memory;
    if (did_not_run(c.status) || m.held_signal.empty()) continue;
    Books& b = books[{c.workload, c.threads}];
    // non-heap-growth: RSS grows beyond flat books, which may be the program's own memory
    // (thread stacks, mappings the books do not count): it speaks against, not for.
    using formats::GrowthVerdict;
    const auto held = m.held_growth;
    if (held == GrowthVerdict::kLeak || m.growth == GrowthVerdict::kNonHeapGrowth)
      b.growing = true;
    else if (held == GrowthVerdict::kStable || held == GrowthVerdict::kBounded ||
             held == GrowthVerdict::kRetention) {
      if (std::find(b.flat.begin(), b.flat.end(), c.configuration) == b.flat.end())
        b.flat.push_back(c.configuration);
    } else {
      ++b.unclear;  // unresolved: neither for nor against
    }
  }
  for (auto& c : cells) {
    if (!c.memory || did_not_run(c.status)) continue;
    MemoryOverTime& m = *c.memory;
    if (!m.held_signal.empty() || !formats::creeping(m.growth))
      continue;  // the cell's own books decide
    const auto it = books.find({c.workload, c.threads});
    if (it == books.end() || it->second.flat.empty() || it->second.growing) continue;
    const Books& b = it->second;
    std::string under;
    for (const auto& s : b.flat) under += (under.empty() ? "" : ", ") + s;
    m.across_growth = AcrossGrowth::kAllocatorGrowth;
    m.across_reason = fmt::format(
        "RSS grew but the program's held bytes are flat under {} (the same workload{}): "
        "allocator warm-up or retention, not a leak",
        under,
        b.unclear == 0 ? ""
                       : fmt::format("; {} other {} whose books could not tell", b.unclear,
                                     b.unclear == 1 ? "cell" : "cells"));
  }
}

}  // namespace arenalab::matrix
