// SPDX-License-Identifier: Apache-2.0
// "No verdict contradicts its own evidence table" (issue 19), as a check the tests run over
// every hand-made series and both corpora: the rows printed under a verdict must support it.
#pragma once

#include <string>

#include "arenalab/analysis/analysis.h"

namespace arenalab::analysis {

// Why c contradicts its evidence rows, or "" when it does not. The rules:
// - a held row (the program's own memory) that says leak makes the verdict leak (or
//   non-heap-growth when the growing part is the program's own mmap);
// - leak needs a leak row among held, the books, the program's own mmap (part of held: its
//   mappings leaking while the books only ever rose) or RSS; non-heap-growth one among RSS and
//   mmap;
// - stable, bounded and retention cannot sit over a held row whose shown trend (after its knee,
//   else the whole window) is rising - significant, its interval above zero and material -
//   unless that row explains why it is bounded anyway (a fitted asymptote, or troughs that do
//   not rise under few cycles);
// - stable cannot sit over any leak row of held or RSS (rss_anon, or rss: shared and file-backed
//   memory grow in rss alone).
inline std::string contradiction(const Classification& c) {
  const SeriesVerdict* held = nullptr;
  bool books_leak = false, mmap_leak = false, rss_leak = false;
  for (const auto& e : c.evidence) {
    if (e.signal == c.held_signal) held = &e.v;
    const bool leak = e.v.verdict == Verdict::kLeak;
    if ((e.signal == "live_bytes" || e.signal == "allocated") && leak) books_leak = true;
    if (e.signal == "mmap_bytes" && leak) mmap_leak = true;
    if ((e.signal == c.rss_signal || e.signal == "rss") && leak) rss_leak = true;
  }
  const bool held_leak = held && held->verdict == Verdict::kLeak;
  const std::string v = verdict_name(c.verdict);
  if (held_leak && c.verdict != Verdict::kLeak &&
      !(c.verdict == Verdict::kNonHeapGrowth && mmap_leak))
    return "held row says leak, verdict " + v;
  if (c.verdict == Verdict::kLeak && !held_leak && !books_leak && !mmap_leak && !rss_leak)
    return "verdict leak with no leak row";
  if (c.verdict == Verdict::kNonHeapGrowth && !rss_leak && !mmap_leak)
    return "verdict non-heap-growth with neither RSS nor mmap leaking";
  const bool settled = c.verdict == Verdict::kStable || c.verdict == Verdict::kBounded ||
                       c.verdict == Verdict::kRetention;
  if (settled && held) {
    const Trend& t = held->tail ? *held->tail : held->whole;
    const bool explained = held->verdict == Verdict::kBounded &&
                           (held->asymptote.has_value() || held->trough_rise.has_value());
    if (t.rising && !explained)
      return "verdict " + v + " over a held row rising at " + std::to_string(t.slope) +
             " B/s (row: " + verdict_name(held->verdict) + ")";
    if (books_leak) return "verdict " + v + " over a leaking books row";
  }
  if (c.verdict == Verdict::kStable && rss_leak) return "verdict stable over a leaking RSS row";
  return "";
}

}  // namespace arenalab::analysis
