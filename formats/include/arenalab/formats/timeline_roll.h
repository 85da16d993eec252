// SPDX-License-Identifier: Apache-2.0
// A timeline that stays small however long the run (issue 25 part 3): rolling a timeline.jsonl
// in place keeps its recent window whole and thins the older part into a history whose size is
// bounded (Header::history). The file stays an arenalab.timeline/1 timeline, read by every
// reader as before: the history is made of the run's own sample lines, byte for byte.
//
// Who writes: the interposer appends sample lines (it never rolls, never allocates, never
// waits); the roll runs in arenalab's own process (the runner's tick, or anyone holding an
// old timeline). The two meet on the file with flock(2): the interposer appends under a shared
// lock it only tries (LOCK_NB: a line that finds the roll's exclusive lock waits in its buffer
// for the next tick) and checks that the file it locked is still the one under the name; the
// roll copies the lines appended while it thinned, under the exclusive lock, and swaps its new
// file in (renameat2 RENAME_EXCHANGE) before it lets go. No line is lost or doubled; a roll
// killed at any point leaves the old file or the new one, both whole, and at most a temporary
// file <name>.roll.<16 hex> that the next roll removes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "arenalab/core/result.h"
#include "arenalab/formats/timeline.h"

namespace arenalab::timeline {

struct RollOptions {
  // The last recent_ms of the run stay whole (every sample as written).
  double recent_ms = 3600e3;
  // The history before it: its first kHistoryHead samples, then time blocks of
  // min_block_ms x 2^k (aligned to multiples of their length, so that a block of a later roll
  // is a union of whole blocks of the earlier one), k the smallest that gives at most
  // max_blocks blocks; each keeps the rows `pick` chooses.
  std::size_t max_blocks = 512;
  double min_block_ms = 1024;
};

// The first sample lines of a run, kept whole in its history (the start baseline).
inline constexpr std::size_t kHistoryHead = 3;

// The rows of one time block to keep (samples in time order): indices, ascending.
using PickFn = std::function<std::vector<std::size_t>(const std::vector<Sample>&)>;

struct RollResult {
  bool rolled = false;
  std::string why_not;  // when not rolled: why (too short, nothing new to thin)
  std::uint64_t bytes_before = 0, bytes_after = 0;
  std::uint64_t lines_before = 0, lines_after = 0;  // sample lines in the file
  History history;                                  // the new header's
};

// Rolls the timeline at `path` (a regular file of this user, one link, reached without a
// symbolic link in its last component; its directory's other entries untouched but for an
// earlier roll's temporary files). Errors: the file cannot be read, is not a timeline, holds a
// damaged line before its last, or is not a plain file of ours; the file is then untouched.
// A block of the history that the roll leaves at the same length is copied as it was; one that
// grew (or holds new samples) is picked again from what it holds.
Result<RollResult> roll_timeline(const std::string& path, const RollOptions& o, const PickFn& pick);

}  // namespace arenalab::timeline
