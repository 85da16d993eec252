// SPDX-License-Identifier: Apache-2.0
// budget.json (arenalab.budget/2), written by `arenalab budget`: the limit, how the target
// ended (exit, signal, kernel OOM kill), the group's and the target's peaks, the RSS timeline
// and the allocator's books at the last sample. Version 2 renamed exit.max_rss_bytes to
// exit.peak_rss_bytes; the reader accepts version 1 too.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "arenalab/core/result.h"
#include "arenalab/formats/json.h"
#include "arenalab/formats/run.h"

namespace arenalab::budget {

inline constexpr const char* kBudgetSchema = "arenalab.budget";
inline constexpr int kBudgetVersion = 2;

using Opt = std::optional<double>;
using OptU = std::optional<std::uint64_t>;

// The memory cgroup's own counters, read after the target ended (absent: not provided).
struct GroupRecord {
  OptU usage_at_end_bytes, peak_usage_bytes, oom_kill, oom, failcnt;
  bool operator==(const GroupRecord&) const = default;
};

// One point of the RSS timeline (t_ms non-decreasing).
struct RssPoint {
  double t_ms = 0;
  Opt rss, rss_anon, cgroup_usage;  // bytes
  bool operator==(const RssPoint&) const = default;
};

// The allocator's books at the last sample that carried them (bytes).
struct AllocatorView {
  double t_ms = 0;
  Opt allocated, active, resident, mapped, retained, live_bytes;
  std::map<std::string, double> gauges;
  bool operator==(const AllocatorView&) const = default;
};

// The runner's part when the target ran through it (stats mode).
struct RunnerInfo {
  std::string allocator;
  formats::Backend backend = formats::Backend::kUnknown;  // identified inside the target
  formats::RunMode mode = formats::RunMode::kStats;       // run_mode.h
  bool verified = false;
  bool operator==(const RunnerInfo&) const = default;
};

struct BudgetRecord {
  std::vector<std::string> command;
  std::uint64_t limit_bytes = 0;
  OptU effective_limit_bytes;  // as the kernel stored it
  std::string cgroup_version;  // "v1" | "v2"
  std::string cgroup_dir;
  bool cgroup_removed = false;
  std::int64_t pid = 0;
  runner::ExitRecord exit;
  std::string signal_name;  // "SIGKILL" when a signal ended it
  // "exit.before_exec": the target ended between fork and exec (killed there, e.g. by a limit
  // below what exec takes): the program never ran. Read from the kernel's PF_FORKNOEXEC
  // (ExitInfo::before_exec); absent in a file written before it was recorded.
  std::optional<bool> before_exec;
  double wall_ms = 0, user_ms = 0, sys_ms = 0;  // the target's, ms
  double exit_peak_rss_bytes = 0;               // "exit.peak_rss_bytes": ru_maxrss, bytes
  bool oom_killed = false;                      // SIGKILL with the group's oom_kill raised
  GroupRecord group;
  Opt peak_rss_bytes;  // max sampled RSS of the target, bytes
  double interval_ms = 0;
  std::vector<RssPoint> rss_timeline;
  std::optional<AllocatorView> allocator_at_last_sample;
  std::string allocator_note;
  std::vector<std::string> kernel_log;
  std::optional<std::string> kernel_log_error;
  std::string interrupted_by;  // "SIGINT" when arenalab was interrupted
  std::optional<RunnerInfo> runner;
  std::string timeline_file, budget_file, cgroup_timeline_file, run_file;
  std::vector<std::string> warnings;

  bool operator==(const BudgetRecord&) const = default;
};

nlohmann::json budget_to_json(const BudgetRecord& r);
Result<BudgetRecord> budget_from_json(const nlohmann::json& doc, const std::string& file);
Result<BudgetRecord> read_budget_json(const std::string& path);
Status write_budget_json(const std::string& path, const BudgetRecord& r);

}  // namespace arenalab::budget
