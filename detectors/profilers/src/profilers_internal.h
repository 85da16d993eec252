// SPDX-License-Identifier: Apache-2.0
// Private: the one contract every profiler adapter meets (one file per profiler:
// profiler_<name>.cc), and the helpers they share (profile_support.cc). run_profile validates
// the options, dispatches to the adapter, then classifies and explains what it collected.
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>
#include <vector>

#include "arenalab/allocators/registry.h"
#include "arenalab/core/files.h"
#include "arenalab/core/process.h"
#include "arenalab/core/result.h"
#include "arenalab/formats/timeline.h"
#include "arenalab/profilers/profile_run.h"
#include "arenalab/profilers/symbolize.h"
#include "arenalab/runner/runner.h"

namespace arenalab::profilers::detail {

// Adaptive cadence: dumps are written every kAdaptiveBaseS and thinned while the target runs.
// When more than kAdaptiveMaxDumps of the series are on disk, every dump whose sequence number
// is not a multiple of the (doubled) stride is deleted, so 32..64 evenly spaced dumps remain
// whatever the run's length. Files <prefix><seq>.heap of all prefixes are thinned together
// (the interposer's heap.N and mmap.N share N). The newest dump is never deleted (it may be
// the one being written).
class DumpThinner {
 public:
  // thin = false: only counts the dumps (a fixed --interval), for the progress lines.
  DumpThinner(std::string dir, std::vector<std::string> prefixes, long long since_ns, bool thin);
  // Thins what is on disk now; returns how many dumps of the series are kept.
  std::size_t poll();
  int stride() const { return stride_; }
  // The series is now the dumps named `prefix` (a later image of the target, after an exec).
  void set_series(std::string prefix) { prefixes_.insert(prefixes_.begin(), std::move(prefix)); }

 private:
  std::string dir_;
  std::vector<std::string> prefixes_;
  long long since_ns_;
  bool thin_;
  int stride_ = 1;
};

// One profile being taken: what the adapter reads and what it fills in.
struct ProfileRun {
  const ProfileOptions& options;
  ProfileReport& report;  // profiler, command and out_dir are set before the adapter runs
  std::string binary;     // absolute path of the target program
  bool adaptive = false;  // options.interval_s == 0: thin as the run goes (DumpThinner)
  double interval_s = 0;  // the dump spacing asked of the profiler (adaptive: kAdaptiveBaseS)
  DumpThinner* thinner = nullptr;  // set by an adapter while the target runs (counts, thins)
  // The target's anonymous RSS while it ran (ms since it started), for the outside-heap check;
  // empty when not measured. rss_signal: "rss_anon" or "rss".
  timeline::Series rss;
  std::string rss_signal;
  long long since_ns = 0;  // CLOCK_REALTIME when the target was started: dump times count from it
  Symbolizer symbolizer;   // shared by the heap and mmap dumps (its caches)
  SiteFilter filter;       // what is not the call site (built-in wrappers, --skip)
  // report.out_dir, opened and checked once (prepare_run): arenalab's own outputs (flame graphs,
  // the tools' output) are written relative to it, never by a path looked up again.
  OutputDir out;
};

// Called by spawn_and_poll and run_with_runner at every poll: thins the dumps (when a thinner
// is set) and passes the progress to options.on_progress.
void poll_progress(ProfileRun& run, double elapsed_ms, std::uint64_t rss);

// The cadence as the report states it: "every 0.15 s", or for an adaptive run "every 0.1 s,
// thinned as the run went to every 0.4 s (at most 64 kept)".
std::string cadence_text(const ProfileRun& run);

// The adapter contract. Each one runs the target under its profiler and fills in
// report.cadence, exit, dumps, dump_t_ms, callsites (not yet classified), tools (when
// options.run_tools) and the notes only it can give; for the interposer also mmap_*. When its
// last dump (or snapshot) was taken at exit, after teardown, it sets report.exit_dump and
// leaves that dump as the last point of every series and of dumps/dump_t_ms: run_profile
// moves it out of the series (into bytes_at_exit) before classifying.
// Errors: the profiler is not installed or not configured, the target could not start, a dump
// is malformed.
Status run_jemalloc(ProfileRun& run);
Status run_tcmalloc(ProfileRun& run);
Status run_heaptrack(ProfileRun& run);
Status run_interposer(ProfileRun& run);

// --- shared by the adapters (profile_support.cc) ---

// File times come from the kernel's coarse clock, which may lag CLOCK_REALTIME by a tick.
inline constexpr long long kMtimeSlackNs = 50'000'000;

long long realtime_ns();  // CLOCK_REALTIME in ns, the clock file times are on
long long mtime_ns(const std::string& path);

// Files in `dir` whose names start with `prefix` and end with `suffix`, in write order. Only
// files written since `since_ns` count: a reused --out DIR keeps older runs' dumps.
// numbered_only: the middle must be one number (the interposer's heap.<seq>.heap, not a traced
// child's heap.<pid>.<seq>.heap).
std::vector<std::string> dump_files(const std::string& dir, const std::string& prefix,
                                    const std::string& suffix, long long since_ns,
                                    bool numbered_only = false);

std::string shell_quote(const std::string& s);
std::string join_command(const std::vector<std::string>& argv);
// find_program (core/process.h), made absolute and canonical ("" if not found).
std::string which(const std::string& program);

// The named allocator configuration, available on this machine.
Result<Configuration> configuration(const ProfileOptions& options, const std::string& name);

// Runs one tool command; its stdout goes to `name` in `out` (written atomically).
void run_tool(ToolCommand& tool, const std::vector<std::string>& argv, const OutputDir& out,
              const std::string& name);
// jeprof / google-pprof on the first and last dumps: of the heap, or (kMmap) of the
// interposer's mmap.<seq>.heap dumps, written to <tool>.mmap.* in `out`.
void pprof_tools(ProfileReport& report, const OutputDir& out, const std::string& tool,
                 const std::string& binary, const std::vector<std::string>& dumps,
                 SiteSource source = SiteSource::kHeap);

// Starts `spec` itself (setting run.since_ns) and waits for it; every poll (about every interval,
// 0.1..2.5 s) runs `on_poll(pid)` and, when `sample_rss`, records the target's RSS into
// run.report.rss_* and run.rss. Copies a captured stdout to stderr afterwards.
// SIGINT, SIGTERM, SIGHUP and SIGQUIT to arenalab meanwhile are passed on to the target (to
// `signal_targets`' answer when given: see StopPolicy) and waited for, as run and watch do
// (SIGKILL 10 s after); the exit's stop.received_signal names the first.
Result<ExitInfo> spawn_and_poll(ProfileRun& run, const SpawnSpec& spec, bool sample_rss,
                                const std::function<void(pid_t)>& on_poll = {},
                                std::function<std::vector<pid_t>(pid_t)> signal_targets = {});

// Runs the target through arenalab's runner (the interposer first in LD_PRELOAD; command,
// output and out_dir filled in here), setting run.since_ns and recording RSS while it runs;
// afterwards reads its timeline into run.rss and, when measured, the program's own mmap bytes
// into report.mmap_*. Copies a captured stdout to stderr afterwards.
Result<runner::RunResult> run_with_runner(ProfileRun& run, runner::RunOptions& ro);

// Parses the dumps at `paths` (timed from run.since_ns) and appends their call sites to
// report.callsites marked `source`; the heap dumps' times go to report.dump_t_ms. When the
// target was ended by a signal (a stop passed on, the OOM killer), a last dump it was killed
// while writing is left out with a note, and `paths` loses it; any other bad dump is an error.
Status add_dump_callsites(ProfileRun& run, std::vector<std::string>& paths, SiteSource source);

// Moves the dump taken at exit (the last point of every heap series, and of the mmap series
// when `mmap_at_exit`) out of the series into CallsiteSeries::bytes_at_exit, and out of
// report.dumps / dump_t_ms / mmap_dumps; records `exit_dump` in the report.
void split_exit_dump(ProfileRun& run, const std::string& exit_dump, bool mmap_at_exit = false);

}  // namespace arenalab::profilers::detail
