// SPDX-License-Identifier: Apache-2.0
// Views of the interposer's full-mode log (DIR/allocs.bin, every allocation and free with its
// call stack): live bytes by call site at the peak, temporary allocations (freed within a
// window), and allocation counts per site, as heaptrack and memray show them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "arenalab/core/files.h"
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
  std::uint64_t at_bytes = 0;         // live at FullLogViews::at_t_ms (when asked for)
  const Frame* site_frame() const { return site < frames.size() ? &frames[site] : nullptr; }
};

struct FullLogViews {
  std::string log_path;
  std::string mappings_from;  // the dump whose MAPPED_LIBRARIES symbolized the stacks
  double temporary_ms = 0;
  std::uint64_t allocs = 0, frees = 0, temporary = 0;
  std::uint64_t peak_bytes = 0;      // the program's live bytes at their peak
  double peak_t_ms = 0;              // when, ms after the first logged allocation
  std::optional<double> at_t_ms;     // the chosen time (ms after the first record), when asked
  std::uint64_t at_total_bytes = 0;  // the program's live bytes then
  std::vector<FullLogSite> sites;    // by peak_bytes, then allocs
};

// Reads DIR/allocs.bin (ARENALAB-FULL/2: 'S' stack, 'A' alloc, 'F' free, 'T' time records),
// puts the threads' records in time order and replays them. Stacks are symbolized with the
// mappings of the newest mmap.<n>.heap or heap.<n>.heap in DIR (full mode writes mmap dumps).
// Errors name the file and what was expected.
// at_ms: also the live bytes by site at that many ms after the first record (FullLogSite::
// at_bytes; a time past the end gives the state at the end).
Result<FullLogViews> analyze_full_log(const std::string& dir, double temporary_ms = 10,
                                      const SiteFilter& filter = {},
                                      std::optional<double> at_ms = std::nullopt);

// The three views as text: `top` rows each.
std::string full_log_text(const FullLogViews& views, int top);

// The sites live at the peak as one-point series of their live bytes then (for folded_stacks,
// which draws nothing of a site with none).
std::vector<CallsiteSeries> peak_series(const FullLogViews& views);
// The same at the chosen time (at_bytes).
std::vector<CallsiteSeries> at_series(const FullLogViews& views);

// The flame graphs of the views in `dir` (written relative to its fd): peak.folded + peak.svg,
// and with a chosen time live-at.folded + live-at.svg (click a frame to zoom). Returns the lines
// that name them, for the text after full_log_text. `arenalab analyze` and `arenalab profile
// --full` both end here.
Result<std::string> write_full_log_graphs(const FullLogViews& views, const OutputDir& dir);

}  // namespace arenalab::profilers
