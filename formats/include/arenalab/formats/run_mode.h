// SPDX-License-Identifier: Apache-2.0
// What the interposer records, the run's mode: the closed set the runner passes to the
// interposer (detectors/preload protocol.h, whose Mode is this type) and run.json's `mode`
// carries by name. Owned here, header only (formats_names), so the interposer includes it
// without linking the formats library.
#pragma once

#include "arenalab/formats/named.h"

namespace arenalab::formats {

// docs/interposer.md "Modes".
enum class RunMode : unsigned char {
  kStats,   // no hooks: RSS and the allocator's own statistics
  kCount,   // exact live bytes and allocations of the malloc family, anonymous mmap bytes
  kSample,  // byte-sampled allocations with their stacks (heap profiles), mmap call sites
  kFull,    // count, plus a log of every event
};

// The names written in files and in ARENALAB_MODE.
inline constexpr Named<RunMode> kRunModeNames[] = {{RunMode::kStats, "stats"},
                                                   {RunMode::kCount, "count"},
                                                   {RunMode::kSample, "sample"},
                                                   {RunMode::kFull, "full"}};

constexpr const char* run_mode_name(RunMode m) { return name_of(m, kRunModeNames); }
// True and *out set when `name` (NUL-terminated, may be null) is a mode's name.
constexpr bool parse_run_mode(const char* name, RunMode* out) {
  return value_of(name, kRunModeNames, out);
}

}  // namespace arenalab::formats
