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
  std::string allocator_backend, allocator_library;  // the allocator mapped in the target
  std::string timeline_file = "timeline.jsonl";      // relative to attach.json's directory
  std::vector<std::string> warnings;
  std::optional<double> duration_s;        // --duration, when given
  std::optional<std::int64_t> signal;      // the signal that interrupted arenalab
  std::optional<double> vanished_after_s;  // seconds after attach when the target was gone
  std::string vanished_utc;                // and the wall clock then (ISO 8601)
  std::optional<std::string> cgroup_dir;   // the target's memory cgroup, when readable
  std::string cgroup_version;              // "v2" | "v1" with cgroup_dir
  std::string cgroup_note;                 // why there is none, without cgroup_dir
  // Level stats: how the agent got in and out (thread, syscall it slept in, xstate bytes saved,
  // ms stopped, detach), as written; absent at level rss.
  std::optional<nlohmann::json> injection;

  bool operator==(const Record&) const = default;
};

nlohmann::json to_json(const Record& r);
// Errors name `file` and the field: "DIR/attach.json: samples: expected an integer >= 0, ...".
Result<Record> parse_attach(const nlohmann::json& doc, const std::string& file);
Result<Record> read_attach(const std::string& path);
Status write_attach(const std::string& path, const Record& r);

}  // namespace arenalab::attach_file
