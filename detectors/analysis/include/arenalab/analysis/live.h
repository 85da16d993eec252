// SPDX-License-Identifier: Apache-2.0
// The live line's verdict (watch, attach): what a classification of the run so far may claim
// while the run goes on (README "The live line"). Pure: a classification and the target's age
// in, the text of the line's verdict out.
#pragma once

#include <optional>
#include <string>

#include "arenalab/analysis/analysis.h"

namespace arenalab::analysis {

// Where the growth a growth verdict (leak, non-heap-growth) rests on began, on the timeline's
// clock: the onset of its deciding signal's drift, or the knee where its rise sped up (a late
// onset, a step); else 0, the series' start - a knee where the rise slowed (a start-up, then a
// slower rise) keeps the growth going since the start. 0 for any other verdict.
double growth_start_ms(const Classification& c);

// How long that growth has lasted at the line's age elapsed_ms (the target's age under watch,
// the time since the attach under --pid): elapsed_ms when it began with the series, else from
// growth_start_ms to the deciding signal's last sample. 0 for any other verdict.
double growth_span_ms(const Classification& c, double elapsed_ms);

// The live line's verdict with hysteresis. Any verdict is shown once every live classification
// over the last kSettleMs agreed on it (at least two), "unresolved (settling: X)" until then.
// A growth verdict is claimed only once the growth it rests on has lasted kWarmupMs: before,
// nothing in the data tells a leak from a warm-up that is still going on (a cache filling for
// longer than the run so far), and the line says "growing R/s for N s (a leak, or a warm-up
// longer than N s)". A claim, once shown, stays while the classification keeps it (the span of
// a leak can shrink when a later knee is found beneath it; the claim is not withdrawn for that).
class LiveVerdict {
 public:
  static constexpr double kSettleMs = 3000;
  // Issue 19: a 1 MiB/s leak is called leak and stays leak within 15 s; the live line comes
  // every 3 s by default and may come one line late (LivePace defers a line whose CPU is over
  // its share): 15 - 3 = 12 s is the longest warm-up the line can wait out and still be in time.
  static constexpr double kWarmupMs = 12000;
  // warmup_ms: the growth a claim needs (0: any growth settled for kSettleMs is claimed, the
  // line before this rule; bm_verdict --live compares the two).
  explicit LiveVerdict(double warmup_ms = kWarmupMs) : warmup_ms_(warmup_ms) {}
  // elapsed_ms: the target's age now; slack_ms: how late a tick may come (half a tick).
  std::string show(const Classification& c, double elapsed_ms, double slack_ms);
  // Whether the last line claimed c's growth verdict (leak, non-heap-growth) outright.
  bool claims_growth() const { return claimed_; }

 private:
  double warmup_ms_;
  std::optional<Verdict> last_;
  double since_ms_ = 0;  // when the live verdict last changed
  bool claimed_ = false;
};

}  // namespace arenalab::analysis
