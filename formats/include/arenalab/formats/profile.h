// SPDX-License-Identifier: Apache-2.0
// profile.json (schema arenalab.profile/1), written by `arenalab profile` beside its dumps: the
// call sites with their live-bytes series and verdicts, the profiler's tool commands, and what
// grows outside the profile. One writer and one reader; absent figures stay absent (never 0).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "arenalab/core/result.h"
#include "arenalab/formats/growth_verdict.h"

namespace arenalab::profile_file {

inline constexpr std::string_view kSchema = "arenalab.profile/1";

// The first frame outside the allocator of a call site ("site" in the file).
struct Frame {
  std::string function;  // "" when unknown
  std::string file;      // "" without debug info
  int line = 0;
  std::string module;         // path of the mapped object
  std::uint64_t address = 0;  // written as "0x..." hex
};

// What a call site's bytes are: malloc/new from a heap profile, or anonymous mmap(2) the
// program made itself (the interposer's mmap.<seq>.heap dumps). Written "heap" or "mmap".
enum class SiteSource : std::uint8_t { kHeap, kMmap };
const char* source_name(SiteSource source);

// One call site. Verdicts are formats::GrowthVerdict, written by name (a call site's series gets
// leak | bounded | stable | unresolved).
struct Callsite {
  SiteSource source = SiteSource::kHeap;
  formats::GrowthVerdict verdict = formats::GrowthVerdict::kUnresolved;
  std::optional<double> slope_bytes_per_s;  // absent when unresolved or not finite
  double bytes_now = 0;                     // live bytes at the last dump of the series
  std::string method;                       // the classifier that produced the verdict
  std::string reason;                       // one line: why
  std::optional<Frame> site;                // absent when every frame is allocator/runtime
  std::vector<std::string> stack;           // every frame described, innermost first
  std::vector<double> t_ms;                 // dump times, ms since the target started
  std::vector<double> live_bytes;           // one per t_ms
  // Live bytes in the dump taken at exit, after the program's teardown (not in the series);
  // absent when there was no such dump.
  std::optional<double> bytes_at_exit;
};

// A follow-up command of the profiler's own tooling.
struct Tool {
  std::string purpose;
  std::string command;  // exactly as a user would type it
  bool ran = false;
  std::optional<int> status;  // exit status when ran
  std::string output;         // where its stdout was saved ("" when not saved)
  std::string error;          // why it failed (its stderr's tail), "" when it worked
};

// The program's own anonymous mmap bytes (interposer only), classified like a call site.
struct MmapSummary {
  formats::GrowthVerdict verdict = formats::GrowthVerdict::kUnresolved;
  std::optional<double> slope_bytes_per_s;
  double bytes_now = 0;
  std::string reason;
};

// Anonymous RSS set against the growth the call sites account for ("outside_heap").
struct OutsideHeap {
  std::string signal;  // rss_anon | rss
  formats::GrowthVerdict verdict = formats::GrowthVerdict::kUnresolved;
  std::optional<double> slope_bytes_per_s;
  double grew_bytes = 0;            // last sample - first sample
  double accounted_grew_bytes = 0;  // the call sites' live bytes, last dump - first dump
  bool outside = false;
  std::string explanation;  // "" unless outside
};

struct Profile {
  std::string profiler;  // jemalloc | tcmalloc | heaptrack | interposer
  std::vector<std::string> command;
  std::string out_dir;
  std::string cadence;  // how dumps were triggered
  std::string exit;     // "exit 0", "killed by SIGKILL"
  std::vector<std::string> dumps;
  std::vector<double> dump_t_ms;        // one per dump (heaptrack: per snapshot)
  std::vector<std::string> mmap_dumps;  // interposer: mmap.<seq>.heap
  std::string exit_dump;                // the dump taken at exit, after teardown ("" when none)
  int growing_callsites = 0;            // call sites with verdict leak (all, not only listed)
  std::vector<Callsite> callsites;      // ranked; may be cut to the top N
  std::vector<Tool> tools;
  std::optional<MmapSummary> mmap;
  std::optional<std::uint64_t> rss_first, rss_last;  // bytes, while it ran
  std::optional<OutsideHeap> outside_heap;
  std::vector<std::string> notes;
};

// The file's text: one JSON object, indented, ending in a newline.
std::string to_json(const Profile& profile);
// Writes `path` atomically (temp + rename).
Status write_profile(const std::string& path, const Profile& profile);

// Reads a profile.json. Errors name `source` (the file) and what was expected, e.g.
// "DIR/profile.json: callsites[3].live_bytes: expected an array of numbers".
Result<Profile> parse_profile(std::string_view text, const std::string& source);
Result<Profile> read_profile(const std::string& path);

}  // namespace arenalab::profile_file
