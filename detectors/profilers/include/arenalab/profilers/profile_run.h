// SPDX-License-Identifier: Apache-2.0
// `arenalab profile`: runs a command under one heap profiler with time-based dumps, turns the
// dumps into per-call-site live-bytes series, classifies them, and runs the profiler's own
// tools (jeprof, google-pprof, heaptrack_print) with their text output saved beside the dumps.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "arenalab/core/process.h"
#include "arenalab/core/result.h"
#include "arenalab/formats/profile.h"
#include "arenalab/profilers/callsites.h"
#include "arenalab/profilers/full_log.h"

namespace arenalab::profilers {

// The profilers `arenalab profile` runs, one adapter each (src/profiler_<name>.cc).
enum class Profiler : std::uint8_t { kJemalloc, kTcmalloc, kHeaptrack, kInterposer };

inline constexpr Profiler kAllProfilers[] = {Profiler::kJemalloc, Profiler::kTcmalloc,
                                             Profiler::kHeaptrack, Profiler::kInterposer};

// "jemalloc", "tcmalloc", "heaptrack", "interposer".
const char* profiler_name(Profiler p);
// The inverse of profiler_name; nullopt for anything else.
std::optional<Profiler> parse_profiler(std::string_view name);

// What run_profile reports while the target runs (about every 100-250 ms).
struct ProfileProgress {
  double elapsed_ms = 0;  // since the target started
  std::size_t dumps = 0;  // dumps on disk so far (after thinning)
  std::uint64_t rss = 0;  // the target's RSS, bytes (0: not measured, e.g. heaptrack)
  double interval_s = 0;  // the spacing of the dumps kept so far
};

struct ProfileOptions {
  Profiler profiler = Profiler::kJemalloc;
  std::vector<std::string> command;  // CMD ARGS...
  // Dump cadence in seconds. 0: adaptive: dumps every kAdaptiveBaseS, thinned as the run goes
  // (every other one deleted, the spacing doubled) to keep 32..64 evenly spaced dumps, so a
  // run of any length gets the 24+ dumps the slope analysis needs (heaptrack: the replay
  // interval is the traced run's duration / 48, the span of its own trace).
  double interval_s = 0;
  std::function<void(const ProfileProgress&)> on_progress;  // optional
  // --skip: regular expressions (ECMAScript) of functions that are not the call site either,
  // beside the allocator machinery and the built-in allocation wrappers (is_wrapper_frame).
  std::vector<std::string> skip;
  int lg_sample = 19;           // jemalloc lg_prof_sample (mean 2^N bytes between samples)
  std::string out_dir;          // empty: ./arenalab-profile-<pid>
  std::string allocators_file;  // empty: the shipped configurations
  bool run_tools = true;        // run jeprof / pprof / heaptrack_print afterwards
  // --at: also a flame graph of the live bytes at the regular dump nearest to this many seconds
  // after the start (DIR/live-at.folded, DIR/live-at.svg).
  std::optional<double> at_s;
  // Keep the target's stdout off ours (it is copied to stderr after the run), so that a
  // machine-readable report on stdout stays parseable.
  bool target_stdout_to_stderr = false;
  // --max-output (the interposer only, sample and full modes): bytes its output files may take
  // (runner.h RunOptions::max_output); 0: no cap.
  std::uint64_t max_output = 0;
};

inline constexpr double kAdaptiveBaseS = 0.1;  // adaptive cadence: the first spacing
inline constexpr int kAdaptiveMaxDumps = 64;   // adaptive cadence: thinned above this many
// Fewer dumps than this and the slope analysis cannot call anything (8 blocks of 3).
inline constexpr int kDumpsNeeded = 24;

// A follow-up command of the profiler's own tooling, with where its output was saved.
struct ToolCommand {
  std::string purpose;      // "live heap at the last dump", "growth first -> last", ...
  std::string command;      // exactly as a user would type it
  std::string output_path;  // "" when not run
  bool ran = false;
  int status = -1;  // exit status when ran
  // Why it failed, when it did (a non-zero status, or no output): the tail of its stderr, or
  // "not installed" / "wrote nothing". "" when it worked.
  std::string error;
};

struct ProfileReport {
  Profiler profiler = Profiler::kJemalloc;
  std::vector<std::string> command;
  std::string out_dir;
  std::string cadence;  // how dumps were triggered, honestly labelled
  ExitInfo exit;
  std::vector<std::string> dumps;         // files of the series, in time order
  std::vector<double> dump_t_ms;          // their times (ms since the target started)
  std::vector<CallsiteSeries> callsites;  // ranked
  // The state at exit, after the program's teardown (its atexit handlers and destructors may
  // free what it held): kept out of the series so that teardown does not end them, and shown
  // as "unfreed at exit" (CallsiteSeries::bytes_at_exit). "" when there was none (the target
  // was killed, or called _exit). For heaptrack: its trace, whose last state this is.
  std::string exit_dump;
  std::vector<ToolCommand> tools;
  // RSS of the target at the first and last sample while it ran (0: not measured, e.g. under
  // heaptrack, whose pid is its launcher script).
  std::uint64_t rss_first = 0;
  std::uint64_t rss_last = 0;
  // The interposer's count of anonymous mmap(2) the program made itself (timeline.jsonl
  // "mmap_bytes"), classified like a call site; absent when not measured.
  bool mmap_measured = false;
  SeriesVerdict mmap_verdict;
  double mmap_bytes_now = 0;
  // interposer: its mmap.<seq>.heap dumps (call stacks of the program's own anonymous mmap),
  // whose sites are in `callsites` with source "mmap".
  std::vector<std::string> mmap_dumps;
  // The target's anonymous RSS while it ran (RssAnon; VmRSS where the kernel lacks it),
  // classified like a call site and set against the growth the profile accounts for (its call
  // sites, heap and mmap). `outside` says that memory grows outside the books this profiler
  // keeps: a heap dump does not reveal it. Not measured under heaptrack (its pid is a script).
  struct OutsideGrowth {
    bool measured = false;
    std::string signal;  // "rss_anon" or "rss"
    SeriesVerdict verdict;
    double grew_bytes = 0;            // last sample - first sample
    double accounted_grew_bytes = 0;  // the call sites' live bytes, last dump - first dump
    bool outside = false;
    std::string explanation;  // one sentence for the report ("" when not outside)
  } outside;
  std::vector<std::string> notes;  // what the reader must know (e.g. heap profilers miss mmap)
  // An attach's profile (profile_attached_dumps): how the process was watched, said in place of
  // its exit (it runs on); "" for a profiled command.
  std::string attached;
};

Result<ProfileReport> run_profile(const ProfileOptions& options);

// `profile --profiler interposer --full`: the target under the interposer's full mode (every
// allocation and free with its call stack, DIR/allocs.bin), then exactly what `arenalab
// analyze DIR` does (analyze_full_log, full_log_text, write_full_log_graphs): live bytes by
// site at the peak, temporaries, counts, the peak flame graph (and options.at_s's). Full mode
// writes no heap dumps: there is no series and no verdict. options: command, out_dir, skip,
// at_s, allocators_file, on_progress, target_stdout_to_stderr.
struct FullProfile {
  std::vector<std::string> command;
  std::string out_dir;
  ExitInfo exit;
  FullLogViews views;
  std::string graphs;              // write_full_log_graphs' lines
  std::vector<std::string> notes;  // the runner's warnings
};
Result<FullProfile> run_full_profile(const ProfileOptions& options, double temporary_ms = 10);
std::string full_profile_text(const FullProfile& profile, int top);

// The note for a sampled site that grew by 1 MiB or more on fewer than 64 sampled allocations
// at the last dump (a step-shaped series): which site, and the --lg-sample that would give it
// about 200 samples (below `lg_sample`). "" when no site is so.
std::string few_samples_note(const ProfileReport& report, int lg_sample);

// The call sites of the heap dumps an attach at level sample left in `dir` (heap.<seq>.heap,
// written by the agent with the interposer's writer since `since_ns`, CLOCK_REALTIME ns: dump
// times count from it), classified and ranked as run_profile does. `attached` says how the
// process was watched (the report's first line). Errors: a malformed dump.
Result<ProfileReport> profile_attached_dumps(const std::string& dir,
                                             const std::vector<std::string>& command,
                                             const std::string& attached, long long since_ns,
                                             const std::vector<std::string>& skip = {});

// Parses dumps written earlier (any mix of jemalloc heap_v2 / gperftools files), timed by
// their modification times relative to `t0_ns` (CLOCK_REALTIME ns; 0: the first dump's).
Result<std::vector<TimedDump>> load_dumps(const std::vector<std::string>& paths,
                                          long long t0_ns = 0);

// The report as profile.json holds it (formats/profile.h); `top` limits the call sites listed.
profile_file::Profile to_profile_file(const ProfileReport& report, int top);
// to_profile_file as JSON text (schema arenalab.profile/1).
std::string report_json(const ProfileReport& report, int top);
// The report as text for a terminal; `frames` frames of each stack from the site outward (a
// row whose site reads like another's also shows its caller).
std::string report_text(const ProfileReport& report, int top, int frames = 1);

}  // namespace arenalab::profilers
