// SPDX-License-Identifier: Apache-2.0
// A timeline's signals for the classifier at any run length (issue 25 part 3): the file streamed
// once through SignalThinner (thin.h), never held whole; and the same, following a running
// target's timeline for watch's live verdict.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "arenalab/analysis/analysis.h"
#include "arenalab/analysis/live.h"
#include "arenalab/analysis/thin.h"
#include "arenalab/core/result.h"
#include "arenalab/formats/timeline.h"
#include "arenalab/formats/timeline_roll.h"

namespace arenalab::analysis {

// The row of a sample (absent figures NaN).
SignalRow signal_row(const timeline::Sample& s);

struct TimelineSignals {
  Signals signals;  // what classify reads; equal to signals_from_timeline(read_timeline)
                    // while the run has at most max_rows samples
  timeline::Header header;
  std::size_t samples = 0;      // samples the run wrote (the purge probe apart): the sample lines
                                // of the file, or of a rolled one those after its history plus
                                // the samples its history stands for
  std::size_t lines = 0;        // sample lines in the file (the purge probe apart)
  std::size_t kept = 0;         // rows the signals hold (== lines up to max_rows)
  std::size_t books_lines = 0;  // sample lines that carry the allocator's books (`alloc`)
  std::size_t rss_lines = 0;    // sample lines that carry RSS (`rss` or `rss_anon`)
  bool truncated = false;       // the last line was cut (a killed target)
  std::optional<timeline::Sample> last;  // the final sample (the purge probe apart)
};

// Reads a timeline.jsonl in one pass and bounded memory (read_timeline's checks and messages).
Result<TimelineSignals> read_signals(const std::string& path,
                                     std::size_t max_rows = SignalThinner::kDefaultMaxRows);

// The allocator's books too sparse to judge (docs/attach.md, "Books read in few samples"):
// arenalab's samplers pace the books to their CPU cost (StatsPacer, allocators/backend.h: glibc's
// mallinfo2 walks every free chunk under each arena's lock), so a heap of many free chunks gets
// them in few of the samples that have RSS. When what the program holds is the books
// (`allocated`) and they had too few blocks to judge while RSS was judged, returns the one line
// that says so, with the counts (a warning: it says what the verdict covers); and when the
// verdict is unresolved on that account, replaces it with the verdict on RSS alone, as level
// rss gives it, its reason saying why and what RSS alone cannot tell (the evidence table keeps
// every row). Otherwise nullopt and c untouched. The decision logic is classify's: this only
// chooses which signals it is given.
std::optional<std::string> account_for_sparse_books(const TimelineSignals& tl, Classification& c,
                                                    const Options& o = {});

// Rolls a timeline in place (formats/timeline_roll.h: its recent window whole, its older part
// a bounded history) with the classifier's picks: of each time block of the history, the rows
// that hold every signal's order statistics (pick_rows, what SignalThinner keeps).
Result<timeline::RollResult> roll_timeline(const std::string& path,
                                           const timeline::RollOptions& o = {});

// watch's live verdict: the samples appended since the last poll go into the thinner, so one
// poll costs what was written since, and signals() at most max_rows rows, however long the run.
class LiveSignals {
 public:
  // 4096 rows: a live classification of a few tens of milliseconds at any run length.
  static constexpr std::size_t kDefaultMaxRows = 4096;
  explicit LiveSignals(std::string timeline_path, std::size_t max_rows = kDefaultMaxRows)
      : tail_(std::move(timeline_path)), max_rows_(max_rows), thin_(max_rows) {}
  std::size_t poll();  // new samples read
  Signals signals() const;
  std::size_t samples() const { return thin_.rows_seen(); }
  const std::optional<timeline::Sample>& last() const { return last_; }

 private:
  timeline::TimelineTail tail_;
  std::size_t max_rows_;
  SignalThinner thin_;
  std::optional<timeline::Sample> last_;
};

// The live line replayed on a saved timeline (bm_verdict --live, the live-line test): the
// samples go in order into a thinner of LiveSignals' size; at every every_ms of the samples' own
// time the rows so far are classified and shown through LiveVerdict, as watch's line would show
// them at that age (its slack: half of watch's 500 ms tick).
struct LiveLine {
  double t_ms = 0;
  Verdict verdict = Verdict::kUnresolved;  // the classification's
  double growth_span_ms = 0;   // growth_span_ms of that classification at the line's age
  std::string shown;           // what the line says
  std::string reason;          // the classification's
  bool claims_growth = false;  // the line shows leak or non-heap-growth outright
};
Result<std::vector<LiveLine>> replay_live(const std::string& path, double every_ms,
                                          const Options& o = {},
                                          double warmup_ms = LiveVerdict::kWarmupMs,
                                          std::size_t max_rows = LiveSignals::kDefaultMaxRows);

}  // namespace arenalab::analysis
