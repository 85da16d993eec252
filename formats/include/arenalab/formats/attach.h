// SPDX-License-Identifier: Apache-2.0
// attach.json (arenalab.attach/1), written by `watch|run --pid` (detectors/attach) beside its
// timeline: which process was watched, at which level, how sampling ended, and why figures are
// missing. One writer and one reader; absent figures stay absent.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "arenalab/core/result.h"
#include "arenalab/formats/json.h"

namespace arenalab::attach_file {

inline constexpr std::string_view kSchema = "arenalab.attach/1";

// The level a running process is watched at (`watch|run --pid --mode`): rss reads /proc and
// injects nothing; stats loads the agent, which writes the allocator's books; count has the
// agent also patch the GOT slots of the malloc family and count live bytes since the attach.
enum class Level { kRss, kStats, kCount, kSample };
const char* level_name(Level level);  // "rss", "stats", "count", "sample"
std::optional<Level> parse_level(std::string_view name);

// How sampling ended: --duration reached, arenalab interrupted (SIGINT/SIGTERM/SIGHUP), or the
// target gone (it exited, or its pid now names another process).
enum class Ended { kDuration, kInterrupted, kVanished };
const char* ended_name(Ended ended);  // "duration", "interrupted", "vanished"
std::optional<Ended> parse_ended(std::string_view name);

// The "level" and "ended" fields of an object (attach.json, verdict.json's attach part); throw
// formats::FormatError naming the field and the names expected.
Level read_level(const formats::Obj& o);
Ended read_ended(const formats::Obj& o);

// Level stats and above: how the agent got in and out ("injection"), as detectors/attach
// measured it.
struct Injection {
  std::string agent;                 // the agent's path as loaded
  std::int64_t thread = 0;           // the thread that ran dlopen and the start call
  std::int64_t syscall = -1;         // the syscall it slept in when stopped; -1: user code
  std::int64_t syscall_rax = 0;      // rax then (-514 ERESTARTNOHAND, ...), restored with it
  std::int64_t xstate_bytes = 0;     // NT_X86_XSTATE as the kernel gave it, saved and restored
  std::int64_t cpuid_xsave_max = 0;  // CPUID 0xD.0 ECX
  double stopped_ms = 0;             // from the first seize to the chosen thread's detach
  std::int64_t threads_tried = 0;    // threads stopped and let go untouched
  bool final_sample = false;         // the agent wrote its final sample after the stop request
  double detach_ms = 0;              // stop request to final sample
  bool operator==(const Injection&) const = default;
};

struct Record {
  Level level = Level::kRss;
  std::string cannot_tell;  // what this level cannot tell, one sentence
  std::int64_t pid = 0;
  std::string comm;                  // /proc/PID/comm
  std::vector<std::string> command;  // /proc/PID/cmdline
  std::string exe;                   // "" when unreadable
  std::int64_t uid = 0;              // the target's real uid
  double target_running_s_at_attach = 0;
  double interval_ms = 0;
  double attached_ms = 0;  // first sample to last
  std::int64_t samples = 0;
  Ended ended = Ended::kDuration;
  bool target_signalled = false;  // always false: attaching never signals the target
  // The allocator mapped in the target (its header's identification; from outside a hint by
  // library name).
  formats::Backend allocator_backend = formats::Backend::kUnknown;
  std::string allocator_library;
  std::string timeline_file = "timeline.jsonl";  // relative to attach.json's directory
  std::vector<std::string> warnings;
  std::optional<double> duration_s;        // --duration, when given
  std::optional<std::int64_t> signal;      // the signal that interrupted arenalab
  std::optional<double> vanished_after_s;  // seconds after attach when the target was gone
  std::string vanished_utc;                // and the wall clock then (ISO 8601)
  std::optional<std::string> cgroup_dir;   // the target's memory cgroup, when readable
  std::string cgroup_version;              // "v2" | "v1" with cgroup_dir
  std::string cgroup_note;                 // why there is none, without cgroup_dir
  // Level stats and above: how the agent got in and out; absent at level rss.
  std::optional<Injection> injection;

  bool operator==(const Record&) const = default;
};

nlohmann::json to_json(const Record& r);
// Errors name `file` and the field: "DIR/attach.json: samples: expected an integer >= 0, ...".
Result<Record> parse_attach(const nlohmann::json& doc, const std::string& file);
Result<Record> read_attach(const std::string& path);
Status write_attach(const std::string& path, const Record& r);

}  // namespace arenalab::attach_file
