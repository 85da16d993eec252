// SPDX-License-Identifier: Apache-2.0
// The live line's verdict (live.h; README "The live line").
#include "arenalab/analysis/live.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "arenalab/core/sizes.h"

namespace arenalab::analysis {

namespace {

bool is_growth(Verdict v) { return v == Verdict::kLeak || v == Verdict::kNonHeapGrowth; }

const SeriesVerdict* deciding(const Classification& c) {
  // The signal whose leak gave the classification its rate, else the signals the decision reads
  // first (what the program holds, RSS, the gap between them), else any that grows.
  for (const auto& e : c.evidence)
    if (e.v.verdict == Verdict::kLeak && c.rate > 0 && e.v.rate == c.rate) return &e.v;
  for (const std::string& name : {c.held_signal, c.rss_signal, std::string("gap")})
    for (const auto& e : c.evidence)
      if (!name.empty() && e.signal == name && e.v.verdict == Verdict::kLeak) return &e.v;
  for (const auto& e : c.evidence)
    if (e.v.verdict == Verdict::kLeak) return &e.v;
  return nullptr;
}

std::string seconds(double ms) {
  char b[32];
  std::snprintf(b, sizeof b, "%.0f s", std::floor(ms / 1000));
  return b;
}

}  // namespace

double growth_start_ms(const Classification& c) {
  if (!is_growth(c.verdict)) return 0;
  const SeriesVerdict* v = deciding(c);
  if (!v) return 0;  // no one signal grows (a decision across signals): from the start
  if (v->whole.onset_ms) return *v->whole.onset_ms;
  if (v->tail && v->tail->onset_ms) return *v->tail->onset_ms;
  // A knee where the growth sped up (a late onset, a step) starts it; a knee where it slowed
  // (a start-up, then a slower rise) does not: the series rose on both sides of it.
  if (v->tail && v->knee.found && !(v->knee.slope_before > v->knee.slope_after))
    return v->knee.t_ms;
  return 0;
}

double growth_span_ms(const Classification& c, double elapsed_ms) {
  if (!is_growth(c.verdict)) return 0;
  const SeriesVerdict* v = deciding(c);
  const double start = growth_start_ms(c);
  // Since the series' start: the line's whole age. Else on the timeline's own clock, from the
  // start to the last sample (under --pid that clock is the target's age, the line's the attach).
  if (!v || start <= 0) return elapsed_ms;
  return std::max(0.0, v->whole.t1_ms - start);
}

std::string LiveVerdict::show(const Classification& c, double elapsed_ms, double slack_ms) {
  if (last_ != c.verdict) since_ms_ = elapsed_ms;
  const bool settled = last_ == c.verdict && elapsed_ms - since_ms_ >= kSettleMs - slack_ms;
  const bool kept = claimed_ && last_ == c.verdict;  // a growth claim already shown stays
  last_ = c.verdict;
  claimed_ = false;
  char conf[16];
  std::snprintf(conf, sizeof conf, "%.2f", c.confidence);
  const std::string name(verdict_name(c.verdict));
  if (is_growth(c.verdict) && !kept) {
    const double span = growth_span_ms(c, elapsed_ms);
    if (span < warmup_ms_ - slack_ms) {
      const std::string n = seconds(span);
      return "growing " + (c.rate > 0 ? format_bytes(c.rate) + "/s " : std::string()) + "for " + n +
             " (a leak, or a warm-up longer than " + n + ")";
    }
  }
  if (!settled && !kept) return "unresolved (settling: " + name + ")";
  claimed_ = is_growth(c.verdict);
  return name + " (" + conf + ")";
}

}  // namespace arenalab::analysis
