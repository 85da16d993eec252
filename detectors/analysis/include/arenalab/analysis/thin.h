// SPDX-License-Identifier: Apache-2.0
// The classifier's input at any run length (issue 25 part 3): a streaming reduction of a run's
// samples to a bounded set of real sample rows that keeps what the classifier reads - every
// block's median, quartiles and minimum, the peaks and troughs of each cycle, the first samples.
#pragma once

#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

#include "arenalab/analysis/analysis.h"

namespace arenalab::analysis {

// The signals of one sample, by position (Signals' members); NaN: not measured.
enum SignalIndex : std::size_t {
  kRssIdx,
  kRssAnonIdx,
  kLiveBytesIdx,
  kAllocatedIdx,
  kActiveIdx,
  kResidentIdx,
  kMappedIdx,
  kRetainedIdx,
  kMmapBytesIdx,
  kRssFileIdx,
  kRssShmemIdx,
  kVmSizeIdx,
  kSignalCount
};

struct SignalRow {
  double t_ms = 0;
  std::array<double, kSignalCount> v;
  SignalRow() { v.fill(std::numeric_limits<double>::quiet_NaN()); }
};

// The rows of `rows` (time order) that hold some signal's minimum, lower quartile, median, upper
// quartile or maximum, or those of held (books + own mmap) and the gap (RSS - held): indices,
// ascending (ties: the earliest row). What SignalThinner keeps of each micro-block, and what a
// rolled timeline keeps of each of its history's time blocks (analysis/timeline_signals.h).
std::vector<std::size_t> pick_rows(const std::vector<SignalRow>& rows);

// Keeps at most about `max_rows` of the rows it is given, in time order, whatever their number.
// While fewer rows came, it keeps them all: the classifier then sees exactly the run (every test
// and the recorded corpus are far below the bound). Beyond it, the run is cut into micro-blocks
// of equal numbers of rows (doubling as the run grows); each micro-block keeps the rows that hold
// its minimum, lower quartile, median, upper quartile and maximum of every signal, and of the two
// the decision derives (held = books + own mmap, the gap RSS - held), so that a block of the
// classifier (>= 1/40 of the window, many micro-blocks) keeps its median, quartiles and minimum
// up to a micro-block's rank step, each cycle its trough and peak, and the series its spread.
// The first three rows (the start baseline) are kept whole; the micro-block being filled gives
// its picks too.
// Memory: O(max_rows); time: O(1) amortised per row plus a selection per micro-block.
class SignalThinner {
 public:
  // 32768 rows: about 0.3 s of classify; 1/40 of a window holds >= 800 kept rows.
  static constexpr std::size_t kDefaultMaxRows = 32768;
  explicit SignalThinner(std::size_t max_rows = kDefaultMaxRows);

  // Rows come in time order (a timeline's order).
  void add(const SignalRow& row);

  // The kept rows as the classifier's signals (backend, program and purge left empty).
  Signals signals() const;
  std::size_t rows_seen() const { return seen_; }
  std::size_t rows_kept() const;
  std::size_t block_rows() const { return block_rows_; }  // rows per micro-block now

 private:
  struct Kept {
    std::uint64_t seq;  // the row's position in the run
    SignalRow row;
  };
  template <typename F>
  void for_each_kept(F&& f) const;  // every kept row once, in time order
  void close_block();
  void compact();
  // The rows of [b, e) that hold some signal's order statistics, in time order, into out.
  static void pick(const std::vector<Kept>& in, std::size_t b, std::size_t e,
                   std::vector<Kept>& out);

  std::size_t max_rows_;
  std::size_t block_rows_ = 1;
  std::uint64_t seen_ = 0;
  std::vector<Kept> head_;           // the first rows, always kept
  std::vector<Kept> kept_;           // the closed micro-blocks' picks
  std::vector<std::size_t> starts_;  // where each closed micro-block starts in kept_
  std::vector<Kept> open_;           // the micro-block being filled, whole
};

}  // namespace arenalab::analysis
