// SPDX-License-Identifier: Apache-2.0
// Views of the interposer's full-mode log (DIR/allocs.bin, every allocation and free with its
// call stack): live bytes by call site at the peak, temporary allocations (freed within a
// window), and allocation counts per site, as heaptrack and memray show them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "arenalab/core/result.h"
#include "arenalab/profilers/callsites.h"

namespace arenalab::profilers {

struct FullLogSite {
  std::vector<Frame> frames;  // the recorded stack, symbolized, innermost first
  std::size_t site = 0;       // first_user_frame
  std::uint64_t allocs = 0;
  std::uint64_t allocated_bytes = 0;  // requested sizes, summed
  std::uint64_t temporary = 0;        // allocations freed within the temporary window
  std::uint64_t peak_bytes = 0;       // live at the moment the whole program's live bytes peaked
  std::uint64_t end_bytes = 0;        // live when the log ends
  const Frame* site_frame() const { return site < frames.size() ? &frames[site] : nullptr; }
};

struct FullLogViews {
  std::string log_path;
  std::string mappings_from;  // the dump whose MAPPED_LIBRARIES symbolized the stacks
  double temporary_ms = 0;
  std::uint64_t allocs = 0, frees = 0, temporary = 0;
  std::uint64_t peak_bytes = 0;    // the program's live bytes at their peak
  double peak_t_ms = 0;            // when, ms after the first logged allocation
  std::vector<FullLogSite> sites;  // by peak_bytes, then allocs
};

// Reads DIR/allocs.bin (ARENALAB-FULL/2: 'S' stack, 'A' alloc, 'F' free, 'T' time records),
// puts the threads' records in time order and replays them. Stacks are symbolized with the
// mappings of the newest mmap.<n>.heap or heap.<n>.heap in DIR (full mode writes mmap dumps).
// Errors name the file and what was expected.
Result<FullLogViews> analyze_full_log(const std::string& dir, double temporary_ms = 10,
                                      const SiteFilter& filter = {});

// The three views as text: `top` rows each.
std::string full_log_text(const FullLogViews& views, int top);

// The sites as one-point series of their live bytes at the peak (for folded_stacks).
std::vector<CallsiteSeries> peak_series(const FullLogViews& views);

}  // namespace arenalab::profilers
