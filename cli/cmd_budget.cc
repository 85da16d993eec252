// SPDX-License-Identifier: Apache-2.0
// arenalab budget --limit SIZE [--out DIR] [--json] [--interval MS] [--duration S] -- CMD...: run
// CMD in a fresh memory cgroup with that limit and report how it ended (arenalab::budget does
// the work).
#include <fmt/format.h>

#include <cstdint>
#include <iostream>
#include <limits>
#include <memory>

#include "arenalab/budget/budget.h"
#include "arenalab/core/sizes.h"
#include "command.h"
#include "run_options.h"

namespace arenalab::cli {
namespace {

struct Options {
  std::string limit;
  TargetFlags target;
  bool json = false;
  bool external = false;
  bool exit_zero = false;
  bool trace_children = false;
  std::vector<std::string> command;
};

int run(const Options& o) {
  auto limit = parse_size(o.limit);
  if (!limit) {
    print_error("budget", "--limit: " + limit.error().message);
    return kExitUsage;
  }
  if (*limit < 4096) {
    print_error("budget", "--limit " + o.limit + " is below one page (4K)");
    return kExitUsage;
  }
  // The kernel keeps a memory limit as a signed 64-bit byte count (at most 8 EiB); more is not
  // a limit it can store (nor one budget.json can hold).
  if (*limit > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
    print_error("budget", "--limit " + o.limit +
                              " is above the largest memory limit the kernel stores (8 EiB, "
                              "9223372036854775807 bytes)");
    return kExitUsage;
  }
  runner::RunOptions ro;  // the shared flags' checks; budget takes what applies to it
  if (auto bad = apply_target_flags(o.target, ro)) {
    print_error("budget", *bad);
    return kExitUsage;
  }
  if (o.command.empty()) {
    print_error("budget", "no command given (arenalab budget --limit SIZE -- CMD ARGS...)");
    return kExitUsage;
  }
  budget::BudgetOptions bo;
  bo.command = o.command;
  bo.limit_bytes = *limit;
  bo.out_dir = ro.out_dir;
  bo.out_existing = ro.out_existing;
  bo.interval_ms = ro.interval_ms;
  bo.allocator = ro.allocator;
  bo.allocators_file = ro.allocators_file;
  bo.external = o.external;
  bo.stop = ro.stop;
  bo.trace_children = o.trace_children;
  auto r = budget::run_budget(bo);
  if (!r) {
    print_error("budget", r.error().message);
    return kExitError;
  }
  if (o.json)
    std::cout << formats::document_text(budget::budget_to_json(budget::record(*r)));
  else
    std::cout << budget::describe(*r);
  std::cout.flush();
  if (!r->cgroup_removed) {
    print_error("budget", "the cgroup " + r->cgroup_dir + " could not be removed");
    return kExitError;
  }
  // Stopped by a signal: end by it, as a shell expects (budget.json is written).
  if (r->interrupted_by) return exit_by_signal(*r->interrupted_by);
  // The target's own status (137 for the kernel's OOM kill); --exit-zero: 0 once measured.
  return o.exit_zero ? kExitOk : target_status(r->exit, bo.stop);
}

void setup(CLI::App& root, int& exit_code) {
  auto o = std::make_shared<Options>();
  auto* cmd = root.add_subcommand(
      "budget",
      "Run CMD in a fresh memory cgroup with a limit; report exit/signal, kernel OOM kill, peak "
      "usage, the RSS timeline");
  cmd->add_option("--limit", o->limit, "Memory limit of the group (512M, 2G, bytes)")->required();
  add_target_flags(cmd, o->target, "arenalab-budget");
  cmd->add_flag("--json", o->json, "Print budget.json instead of the summary");
  cmd->add_flag("--external", o->external,
                "No interposer in the target: sample from outside only (procfs + cgroup)");
  cmd->add_flag("--trace-children", o->trace_children,
                "Forked children write their own timeline.<pid>.jsonl (not with --external)");
  cmd->add_flag("--exit-zero", o->exit_zero,
                "Exit 0 once measured, whatever the target's status (the old behaviour)");
  cmd->add_option("command", o->command, "-- CMD ARGS...");
  cmd->footer(
      "Exit: the target's status (137 when the kernel OOM-killed it; 0 with --exit-zero, or when "
      "it ended on the --duration stop signal), 1 error (no usable cgroup, cannot run CMD), 2 "
      "usage. SIGINT, SIGTERM, SIGHUP, SIGQUIT to arenalab go to the target (SIGKILL after "
      "--grace); budget.json is written, the group removed, then arenalab ends by that signal.");
  cmd->callback([o, &exit_code] { exit_code = run(*o); });
}

}  // namespace

ARENALAB_COMMAND(90, "budget", setup);

}  // namespace arenalab::cli
