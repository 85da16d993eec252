// SPDX-License-Identifier: Apache-2.0
// The RSS levels of a timeline that the matrix and check both report: peak, final (the last
// sample before the exit teardown) and plateau, one definition for both (issue 24).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "arenalab/formats/timeline.h"

namespace arenalab::timeline {

// A level in bytes with the interval it is read with.
struct Level {
  double value = 0, lo = 0, hi = 0;
};

struct Levels {
  // The highest RSS sample, the teardown sample included (it is the process's too).
  std::optional<Level> peak;
  // The last sample before the exit teardown (the interposer's "final" sample, written after
  // static destructors and atexit handlers may have freed what the program held, is left out;
  // a timeline of one sample keeps it); interval: min..max of the last three before it.
  // The interposer marks that sample "final": true (ends_with_teardown reads the mark).
  std::optional<Level> final;
  // The median RSS after the knee (at least 3 samples there), else over the second half of the
  // run, the teardown sample left out; interval: that window's 10th..90th percentile.
  std::optional<Level> plateau;
  std::size_t samples = 0;  // RSS samples, the teardown one included
  double duration_ms = 0;   // first to last RSS sample
};

// From an RSS series (t_ms ascending, bytes); `ends_with_teardown`: its last value is the exit
// teardown sample. Everything absent for an empty series.
Levels rss_levels(const std::vector<double>& t_ms, const std::vector<double>& rss,
                  std::optional<double> knee_ms, bool ends_with_teardown);

// From a timeline's "rss" samples (the purge probe's sample is not one of them);
// `ends_with_teardown`: its last sample is the exit-teardown one (see below).
Levels rss_levels(const Timeline& tl, std::optional<double> knee_ms, bool ends_with_teardown);

// Whether the timeline file's last sample is the interposer's exit-teardown sample: the line
// marked "final": true (the purge probe's "after_purge" line after it aside). The typed reader
// (timeline.h) keeps no such mark, so this reads the file's last lines. False for a file that
// cannot be read, a truncated one (a killed target writes no teardown sample) or one written
// by /proc sampling.
bool ends_with_teardown(const std::string& path);

}  // namespace arenalab::timeline
