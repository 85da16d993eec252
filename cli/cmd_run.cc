// SPDX-License-Identifier: Apache-2.0
// arenalab run [--allocator CFG] [--mode M] [--interval MS] [--sample-bytes N] [--out DIR] -- CMD:
// runs CMD under the interposer (its stdin/stdout/stderr untouched) and returns its exit status
// (128 + signal when killed); arenalab's own lines go to stderr.
#include <fmt/format.h>

#include <iostream>

#include "arenalab/core/sizes.h"
#include "arenalab/runner/runner.h"
#include "attach_pid.h"
#include "command.h"

namespace arenalab::cli {
namespace {

struct Options {
  runner::RunOptions run;
  std::string sample_bytes = "512K";
  bool quiet = false;
};

int run_command(Options& opt) {
  auto bytes = parse_size(opt.sample_bytes);
  if (!bytes || *bytes == 0) {
    print_error("run",
                "--sample-bytes: " + (bytes ? std::string("must be > 0") : bytes.error().message));
    return kExitUsage;
  }
  opt.run.sample_bytes = *bytes;
  if (opt.run.command.empty()) {
    print_error("run", "no command given (usage: arenalab run [options] -- CMD ARGS...)");
    return kExitUsage;
  }
  auto r = runner::run(opt.run);
  if (!r) {
    print_error("run", r.error().message);
    return kExitError;
  }
  if (!opt.quiet) {
    std::cerr << fmt::format("arenalab run: {} under {} ({}{}), {} samples in {}\n",
                             r->exit.describe(), opt.run.allocator, backend_name(r->id.backend),
                             r->verified ? ", verified" : ", NOT verified", r->samples, r->out_dir);
    for (const auto& w : r->warnings) std::cerr << "arenalab run: warning: " << w << "\n";
  }
  return r->exit.shell_status();
}

void setup(CLI::App& root, int& exit_code) {
  auto opt = std::make_shared<Options>();
  auto* cmd = root.add_subcommand(
      "run", "Run a command under the interposer: timeline.jsonl, heap profiles, run.json");
  cmd->add_option("--allocator", opt->run.allocator, "Allocator configuration (default glibc)");
  cmd->add_option("--allocators-file", opt->run.allocators_file, "Configurations file");
  cmd->add_option("--mode", opt->run.mode, "stats | count | sample | full (default stats)")
      ->check(CLI::IsMember({"stats", "count", "sample", "full"}));
  cmd->add_option("--interval", opt->run.interval_ms, "Sampling interval in ms (default 100)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--sample-bytes", opt->sample_bytes,
                  "sample mode: mean bytes between samples (default 512K)");
  cmd->add_option("--out", opt->run.out_dir, "Output directory (default ./arenalab-run-<pid>)");
  cmd->add_option("--heap-dump-every", opt->run.heap_dump_every,
                  "sample mode: heap profile every N intervals (default 10; 0: only at exit)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--jemalloc-prof-dump-every", opt->run.jemalloc_prof_dump_every,
                  "With jemalloc prof:true: mallctl prof.dump every N samples");
  cmd->add_flag("--trace-children", opt->run.trace_children,
                "Forked children write their own timeline.<pid>.jsonl");
  cmd->add_flag("--quiet,-q", opt->quiet, "No summary line on stderr");
  cmd->add_option("command", opt->run.command, "-- CMD ARGS...")->required();
  // --pid PID: a process already running instead of a command, no verdict (attach_pid.h).
  auto pid = add_pid_options(*cmd);
  cmd->callback([opt, pid, &exit_code] {
    exit_code = pid->given() ? run_pid("run", *pid,
                                       {opt->run.interval_ms, opt->run.out_dir, false, "", "leak",
                                        "", 0, opt->quiet})
                             : run_command(*opt);
  });
}

}  // namespace

ARENALAB_COMMAND(30, setup);

}  // namespace arenalab::cli
