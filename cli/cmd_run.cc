// SPDX-License-Identifier: Apache-2.0
// arenalab run [--allocator CFG] [--mode M] [--interval MS] [--out DIR] [--duration S] ... -- CMD:
// runs CMD under the interposer (its stdin/stdout/stderr untouched) and returns its exit status
// (128 + signal when killed); arenalab's own lines go to stderr.
#include <fmt/format.h>

#include <iostream>

#include "arenalab/core/sizes.h"
#include "arenalab/runner/runner.h"
#include "attach_pid.h"
#include "command.h"
#include "metrics_option.h"
#include "run_options.h"

namespace arenalab::cli {
namespace {

struct Options {
  runner::RunOptions run;
  TargetFlags target;
  InterposerFlags interposer;
  bool quiet = false;
  std::string metrics;  // --metrics ADDR:PORT
};

int run_command(Options& opt) {
  for (auto bad :
       {apply_target_flags(opt.target, opt.run), apply_interposer_flags(opt.interposer, opt.run)}) {
    if (bad) {
      print_error("run", *bad);
      return kExitUsage;
    }
  }
  if (opt.run.command.empty()) {
    print_error("run", "no command given (usage: arenalab run [options] -- CMD ARGS...)");
    return kExitUsage;
  }
  std::shared_ptr<fleet::Exporter> metrics;  // --metrics: /metrics while the target runs
  if (!opt.metrics.empty() && !(metrics = serve_metrics("run", opt.run, opt.metrics, {})))
    return kExitError;
  auto r = runner::run(opt.run);
  if (!r) {
    print_error("run", r.error().message);
    return kExitError;
  }
  if (!opt.quiet) {
    if (const auto line = stop_line(r->exit, opt.run.stop); !line.empty())
      std::cerr << "arenalab run: " << line << "\n";
    std::cerr << fmt::format("arenalab run: {} under {} ({}{}), {} samples in {}\n",
                             r->exit.describe(), opt.run.allocator, backend_name(r->id.backend),
                             r->verified ? ", verified" : ", NOT verified", r->samples, r->out_dir);
  }
  // Warnings print under -q too: they say what the run's files cover, not progress.
  for (const auto& w : r->warnings) std::cerr << "arenalab run: warning: " << w << "\n";
  // Stopped by a signal: say so the way a shell understands (after run.json is written).
  if (const auto sig = r->exit.stop.received_signal) return exit_by_signal(*sig);
  return target_status(r->exit, opt.run.stop);
}

void setup(CLI::App& root, int& exit_code) {
  auto opt = std::make_shared<Options>();
  auto* cmd = root.add_subcommand(
      "run", "Run a command under the interposer: timeline.jsonl, heap profiles, run.json");
  add_target_flags(cmd, opt->target, "arenalab-run");
  add_interposer_flags(cmd, opt->interposer, "stats");
  cmd->add_flag("--quiet,-q", opt->quiet, "No summary line on stderr (warnings still print)");
  cmd->add_option("--metrics", opt->metrics,
                  "Serve Prometheus metrics on ADDR:PORT/metrics while CMD runs (docs/fleet.md)");
  cmd->add_option("command", opt->run.command, "-- CMD ARGS...")->required();
  cmd->footer(
      "Exit: the target's status (128+N when signal N ended it; 0 when it ended on the "
      "--duration stop signal), 1 error, 2 usage. SIGINT, SIGTERM, SIGHUP, SIGQUIT to arenalab "
      "go to the target; run.json is written, then arenalab ends by that signal.");
  // --pid PID: a process already running instead of a command, no verdict (attach_pid.h).
  auto pid = add_pid_options(*cmd);
  cmd->callback([opt, pid, &exit_code] {
    if (!pid->given()) {
      exit_code = run_command(*opt);
      return;
    }
    if (auto bad = apply_target_flags(opt->target, opt->run)) {
      print_error("run", *bad);
      exit_code = kExitUsage;
      return;
    }
    exit_code =
        run_pid("run", *pid,
                {opt->run.interval_ms, opt->run.out_dir, false, "", "leak", "", 0, opt->quiet});
  });
}

}  // namespace

ARENALAB_COMMAND(30, "run", setup);

}  // namespace arenalab::cli
