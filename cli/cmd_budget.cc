// SPDX-License-Identifier: Apache-2.0
// arenalab budget --limit SIZE [--out DIR] [--json] [--interval MS] -- CMD...: run CMD in a
// fresh memory cgroup with that limit and report how it ended (arenalab::budget does the work).
#include <fmt/format.h>

#include <iostream>
#include <memory>

#include "arenalab/budget/budget.h"
#include "arenalab/core/sizes.h"
#include "command.h"

namespace arenalab::cli {
namespace {

struct Options {
  std::string limit;
  std::string out;
  bool json = false;
  double interval_ms = 100;
  std::string allocator = "glibc";
  std::string allocators_file;
  bool external = false;
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
  if (o.command.empty()) {
    print_error("budget", "no command given (arenalab budget --limit SIZE -- CMD ARGS...)");
    return kExitUsage;
  }
  budget::BudgetOptions bo;
  bo.command = o.command;
  bo.limit_bytes = *limit;
  bo.out_dir = o.out;
  bo.interval_ms = o.interval_ms;
  bo.allocator = o.allocator;
  bo.allocators_file = o.allocators_file;
  bo.external = o.external;
  auto r = budget::run_budget(bo);
  if (!r) {
    print_error("budget", r.error().message);
    return kExitError;
  }
  if (o.json)
    std::cout << budget::budget_to_json(budget::record(*r)).dump(2) << "\n";
  else
    std::cout << budget::describe(*r);
  std::cout.flush();
  if (!r->cgroup_removed) {
    print_error("budget", "the cgroup " + r->cgroup_dir + " could not be removed");
    return kExitError;
  }
  // Interrupted: the shell's convention for "ended by this signal".
  if (r->interrupted_by) return 128 + *r->interrupted_by;
  // Otherwise the measurement succeeded whatever the target did; budget.json says how it ended.
  return kExitOk;
}

void setup(CLI::App& root, int& exit_code) {
  auto o = std::make_shared<Options>();
  auto* cmd = root.add_subcommand(
      "budget",
      "Run CMD in a fresh memory cgroup with a limit; report exit/signal, kernel OOM kill, peak "
      "usage, the RSS timeline");
  cmd->add_option("--limit", o->limit, "Memory limit of the group (512M, 2G, bytes)")->required();
  cmd->add_option("--out", o->out, "Output directory (default ./arenalab-budget-<pid>)");
  cmd->add_flag("--json", o->json, "Print budget.json instead of the summary");
  cmd->add_option("--interval", o->interval_ms, "Sampling interval in ms (default 100)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--allocator", o->allocator,
                  "Allocator configuration the target runs under (default glibc)");
  cmd->add_option("--allocators-file", o->allocators_file, "Another configurations file");
  cmd->add_flag("--external", o->external,
                "No interposer in the target: sample from outside only (procfs + cgroup)");
  cmd->add_option("command", o->command, "-- CMD ARGS...");
  cmd->footer(
      "Exit: 0 when measured (the target's own status is in the report), 1 error (no usable "
      "cgroup, cannot run CMD), 2 usage, 128+N when arenalab got signal N (the target is killed "
      "and the group removed).");
  cmd->callback([o, &exit_code] { exit_code = run(*o); });
}

}  // namespace

ARENALAB_COMMAND(90, setup);

}  // namespace arenalab::cli
