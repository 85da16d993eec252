// SPDX-License-Identifier: Apache-2.0
// arenalab::attach: watch a process that is already running, without restarting it. Level
// "rss" injects nothing: it samples /proc/PID/{status,smaps_rollup} and the process's memory
// cgroup from outside into timeline.jsonl, and writes attach.json. Details: docs/attach.md.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "arenalab/analysis/analysis.h"
#include "arenalab/core/result.h"
#include "arenalab/formats/attach.h"

namespace arenalab::attach {

using attach_file::Ended;
using attach_file::Level;

// The target as found when attaching.
struct Target {
  pid_t pid = 0;
  std::string comm;                   // /proc/PID/comm
  std::vector<std::string> command;   // /proc/PID/cmdline
  std::string exe;                    // /proc/PID/exe ("" when unreadable)
  uid_t uid = 0;                      // real uid (Uid: in /proc/PID/status)
  std::uint64_t start_ticks = 0;      // field 22 of /proc/PID/stat: start, clock ticks after boot
  double started_s_ago = 0;           // how long the target has been running when looked at
  std::optional<std::string> cgroup;  // its memory cgroup's directory, when readable
  std::string cgroup_version;         // "v2" | "v1" | ""
  std::string cgroup_note;            // why there is none (for attach.json)
};

// Looks the pid up and checks that it may be read: one-line errors for a pid that does not
// exist (or is a zombie), and for one whose smaps_rollup is not ours to read (another user's
// process without CAP_SYS_PTRACE). Never signals the target.
Result<Target> inspect(pid_t pid);

// The memory cgroup directory of a process from the text of /proc/PID/cgroup and of our own
// /proc/self/mountinfo (pure, for tests): v2 when its group has memory.current (checked with
// `exists`), else the v1 memory hierarchy. Empty when neither is mounted here.
struct CgroupDir {
  std::string dir;
  std::string version;  // "v2" | "v1"
};
std::optional<CgroupDir> locate_cgroup(const std::string& proc_pid_cgroup,
                                       const std::string& self_mountinfo,
                                       const std::function<bool(const std::string&)>& exists);

struct Options {
  pid_t pid = 0;
  // kRss: nothing injected. kStats: libarenalab_agent.so is loaded into the target by ptrace
  // and its thread writes the allocator's books (docs/attach.md); refused where ptrace is not
  // permitted, for a static target, another mount namespace, or the interposer present.
  // kCount: the same agent also patches the GOT of every loaded object and counts live bytes
  // since the attach (live_bytes, live_allocs, mmap_bytes), putting every slot back at detach.
  // kSample: count's hooks, and allocations sampled as `--mode sample` samples them (mean
  // sample_bytes between samples): heap.<seq>.heap every heap_dump_every intervals and at
  // detach, and heap-sites.jsonl, for the call sites that grow since the attach.
  Level level = Level::kRss;
  std::uint64_t sample_bytes = 512 * 1024;
  int heap_dump_every = 10;  // level sample; 0: at detach only
  // Why the level is not the one asked for or defaulted to ("" none): kept in attach.json's
  // warnings (the CLI's default falls back from stats to rss with the reason).
  std::string level_note;
  std::string agent_path;     // empty: lib_dir()/libarenalab_agent.so
  double interval_ms = 1000;  // sampling period
  double duration_s = 0;      // stop after this long; 0: until interrupted or the target ends
  std::string out_dir;        // empty: ./arenalab-attach-<pid> (created)
  // Called after each sample with the timeline path (a valid prefix at every call).
  std::function<void(double elapsed_ms, const std::string& timeline_path)> on_sample;
  // Called once, when the level is in place and before the first sample (stats, count, sample:
  // the agent loaded; rss: the timeline begun), so that what is said names the level watched.
  std::function<void(Level level)> on_attached;
};

// Level stats: how the agent got in, and out.
struct Injection {
  std::string agent;             // the agent's path as loaded
  pid_t tid = 0;                 // the thread that ran dlopen and the start call
  long syscall = -1;             // the syscall it slept in when stopped (orig_rax); -1: user code
  long syscall_rax = 0;          // rax then (-514 ERESTARTNOHAND, ...), restored with it
  std::size_t xstate_bytes = 0;  // NT_X86_XSTATE as the kernel gave it, saved and restored
  std::uint32_t cpuid_xsave_max = 0;  // CPUID 0xD.0 ECX: the XSAVE area of every feature
  double stopped_ms = 0;              // from the first seize to the chosen thread's detach
  int threads_tried = 0;              // threads stopped and let go untouched (not at a safe point)
  bool final_seen = false;            // the agent wrote its final sample after the stop request
  double detach_ms = 0;               // stop request to final sample
};

struct Outcome {
  Level level = Level::kRss;
  std::optional<Injection> injection;
  Target target;
  std::string out_dir, timeline_path, record_path;
  std::size_t samples = 0;
  double attached_ms = 0;  // wall time from the first sample to the last
  // How sampling ended: --duration reached, interrupted (SIGINT/SIGTERM/SIGHUP to arenalab),
  // or vanished (the target exited, or its pid now names another process).
  Ended ended = Ended::kDuration;
  std::optional<int> signal;            // the signal arenalab received, when interrupted
  std::optional<double> vanished_at_s;  // seconds after attach when the target was found gone
  std::string vanished_utc;             // and the wall clock then (ISO 8601, UTC)
  std::vector<std::string> warnings;
};

// The refusal of an injection into a process whose agent is already sampling for another
// arenalab (the agent runs once): watch_pid's error message holds these words. The CLI's
// default level, not an explicit --mode, falls back to rss on it (docs/attach.md "Levels").
inline constexpr const char* kAgentBusy = "already has an arenalab agent sampling";

// The level's refusals (a static target, ptrace_scope, another namespace, the interposer
// already in it, ...) checked without touching the target: the CLI asks before it says
// anything, so a refusal is one line. watch_pid checks them again.
Status check_level(const Options& options);

// Samples the target every interval until --duration, a SIGINT/SIGTERM/SIGHUP to this process
// (handlers installed for the call, the previous ones restored after), or the target's end.
// Writes <out>/timeline.jsonl as it goes (flushed per sample, mode "rss", t_ms since the
// target started) and <out>/attach.json (arenalab.attach/1) at the end, on every one of
// those paths. Errors: inspect()'s refusals, an unwritable out dir.
Result<Outcome> watch_pid(const Options& options);

// The verdict on what was sampled: the classifier (detectors/analysis) on the timeline's
// signals, its reason ending with kRssLevelLimit, written to <out>/verdict.json
// (arenalab.verdict/1 with an "attach" object: pid, level, samples, ended). Errors: the
// timeline unreadable, verdict.json unwritable.
struct AttachVerdict {
  analysis::Classification classification;
  std::string verdict_path;
  // The allocator's books read in too few samples to judge (analysis::account_for_sparse_books):
  // the line that says so, printed as a warning under -q too.
  std::optional<std::string> warning;
};
Result<AttachVerdict> classify_outcome(const Outcome& outcome, const analysis::Options& options);

// What level rss can and cannot tell, one sentence (verdicts and docs quote it).
inline constexpr const char* kRssLevelLimit =
    "level rss reads the kernel's figures only: without the allocator's books it cannot tell "
    "a leak from memory the allocator retains (or from growth outside malloc)";
// The same for level stats.
inline constexpr const char* kStatsLevelLimit =
    "level stats reads the allocator's books and RSS, not call sites: it tells a leak from "
    "memory the allocator retains, not where the memory was allocated";
// The same for level count.
inline constexpr const char* kCountLevelLimit =
    "level count's live bytes are relative to the attach point: blocks allocated before it are "
    "not counted, and freeing them after it does not make live bytes fall (nor do frees inside "
    "the allocator's own library); no call sites";
// The same for level sample.
inline constexpr const char* kSampleLevelLimit =
    "level sample's live bytes and call sites are relative to the attach point: blocks "
    "allocated before it are not counted, and freeing them after it does not make live bytes "
    "fall (nor do frees inside the allocator's own library); a call site's growth is measured "
    "from the attach, by sampled allocations";

}  // namespace arenalab::attach
