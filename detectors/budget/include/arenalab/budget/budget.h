// SPDX-License-Identifier: Apache-2.0
// `arenalab budget`: run a command in a fresh memory cgroup with a limit, sample it, and say
// how it ended: exit or signal, kernel OOM kill or not, peak usage, the RSS timeline, and the
// allocator's view at the last sample. Writes <out>/timeline.jsonl and <out>/budget.json.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "arenalab/budget/cgroup.h"
#include "arenalab/core/files.h"
#include "arenalab/core/process.h"
#include "arenalab/core/result.h"
#include "arenalab/formats/budget.h"
#include "arenalab/formats/timeline.h"

namespace arenalab::budget {

struct BudgetOptions {
  std::vector<std::string> command;  // CMD ARGS...
  std::uint64_t limit_bytes = 0;
  std::string out_dir;       // empty: ./arenalab-budget-<pid> (created)
  double interval_ms = 100;  // sampling period
  // Where the runner (arenalab::runner) is built, the target runs through it in stats mode
  // under this allocator configuration, so the timeline carries the allocator's books.
  std::string allocator = "glibc";
  std::string allocators_file;  // empty: the default configurations file
  bool external = false;        // sample only from outside (no interposer in the target)
  bool trace_children = false;  // through the runner: children write timeline.<pid>.jsonl
  // An existing out_dir with files in it (core/files.h); the command line refuses it unless
  // --force.
  ExistingDir out_existing = ExistingDir::kAccept;
  // Signals to arenalab passed on to the target, --duration, grace (core/process.h). Without
  // forwarding, a signal kills the target at once.
  StopPolicy stop;
};

struct BudgetResult {
  std::vector<std::string> command;
  std::uint64_t limit_bytes = 0;
  double interval_ms = 0;                              // requested sampling period
  std::optional<std::uint64_t> effective_limit_bytes;  // as the kernel stored it
  CgroupVersion cgroup_version = CgroupVersion::kV1;
  std::string cgroup_dir;  // the group used (removed afterwards)
  bool cgroup_removed = false;
  pid_t pid = 0;
  ExitInfo exit;
  GroupUsage usage;  // read after the target ended, before the group was removed
  // Killed by SIGKILL with the group's oom_kill counter raised: the kernel OOM killer.
  bool oom_killed = false;
  std::vector<std::string> kernel_log;  // dmesg lines about this pid's OOM kill
  std::optional<std::string> kernel_log_error;
  std::optional<int> interrupted_by;  // SIGINT/SIGTERM/SIGHUP/SIGQUIT received by arenalab
  std::vector<timeline::Sample> samples;
  std::optional<double> peak_rss;  // max sampled RSS of the target, bytes
  // The allocator's books at the last sample that carried them; absent when not measured.
  std::optional<timeline::Sample> allocator_view;
  std::string allocator_view_note;  // why it is absent, or where it came from
  std::string allocator;            // configuration, when run through the runner
  formats::Backend allocator_backend = formats::Backend::kUnknown;  // identified inside the target
  bool allocator_verified = false;
  // timeline_path: the runner's in-process timeline, or the external one (--external);
  // cgroup_timeline_path: the external samples (target RSS + group usage).
  std::string out_dir, timeline_path, cgroup_timeline_path, budget_json_path, run_json_path;
  std::vector<std::string> warnings;
};

// Runs the command. Errors (no usable cgroup, cannot create it, cannot run the command, cannot
// write the out dir) are one line; the group is removed on every path, including SIGINT /
// SIGTERM / SIGHUP / SIGQUIT received meanwhile (passed on to the target under
// options.stop.forward_signals, else SIGKILL; the target is reaped, then the group removed).
Result<BudgetResult> run_budget(const BudgetOptions& options);

// The budget.json record (arenalab.budget/2, formats/budget.h) of a run.
BudgetRecord record(const BudgetResult& r);

// A few human lines (what `arenalab budget` prints).
std::string describe(const BudgetResult& r);

}  // namespace arenalab::budget
