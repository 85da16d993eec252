// SPDX-License-Identifier: Apache-2.0
// arenalab watch [run options] [--json] [--fail-on leak|growth] [--limit SIZE] -- CMD: runs CMD
// under the interposer (count mode by default), prints a live line on stderr every few seconds
// (elapsed, RSS, live bytes, current verdict), then classifies the whole timeline, writes
// <out>/verdict.json and prints the verdict with its evidence.
// Exit: ended by the signal arenalab got, if one stopped it; else 3 leak or non-heap-growth
// (--fail-on growth: also retention and bounded growth), 4 unresolved; else the target's status
// as run gives it; 1 error, 2 usage.
#include <fmt/format.h>

#include <iostream>
#include <optional>

#include "arenalab/analysis/verdict_json.h"
#include "arenalab/core/files.h"
#include "arenalab/core/sizes.h"
#include "arenalab/core/text.h"
#include "arenalab/formats/timeline.h"
#include "arenalab/runner/runner.h"
#include "classify_output.h"
#include "run_options.h"
#include "watch_tree.h"

namespace arenalab::cli {
namespace {

struct Args {
  runner::RunOptions run;
  TargetFlags target;
  InterposerFlags interposer;
  bool json = false;
  std::string fail_on = "leak";
  std::string limit;
  double live_every_s = 3;
  bool quiet = false;
};

std::string last_figure(const timeline::Timeline& tl, const char* name) {
  const auto s = timeline::series(tl, name);
  return s.empty() ? std::string("-") : format_bytes(s.value.back());
}

int run_watch(Args& a) {
  analysis::Options o;
  if (!a.limit.empty()) {
    auto l = parse_size(a.limit);
    if (!l) {
      print_error("watch", "--limit: " + l.error().message);
      return kExitUsage;
    }
    o.limit_bytes = static_cast<double>(*l);
  }
  for (auto bad :
       {apply_target_flags(a.target, a.run), apply_interposer_flags(a.interposer, a.run)}) {
    if (bad) {
      print_error("watch", *bad);
      return kExitUsage;
    }
  }
  if (a.run.command.empty()) {
    print_error("watch", "no command given (usage: arenalab watch [options] -- CMD ARGS...)");
    return kExitUsage;
  }
  // The live line: re-read the timeline (a valid prefix at every flush) and classify it.
  double next_live_ms = a.live_every_s * 1000;
  a.run.tick_ms = 500;
  if (!a.quiet && a.live_every_s > 0) {
    a.run.on_tick = [&](const runner::RunProgress& p) {
      if (p.elapsed_ms < next_live_ms) return;
      next_live_ms += a.live_every_s * 1000;
      auto tl = timeline::read_timeline(p.timeline_path);
      if (!tl || tl->samples.empty()) return;
      const auto c = analysis::classify(analysis::signals_from_timeline(*tl), o);
      // The program's own gauges (arenalab_gauge_set), beside RSS: e.g. an off-heap store's
      // bytes in use. Gauges are published as byte counts.
      std::string gauges;
      for (const auto& [name, value] : tl->samples.back().gauges)
        gauges += fmt::format("  {} {}", name, format_bytes(value));
      std::cerr << fmt::format(
          "arenalab watch: {:6.1f} s  RSS {:>10}  live {:>10}  verdict {} ({:.2f}){}\n",
          p.elapsed_ms / 1000, last_figure(*tl, "rss"), last_figure(*tl, "live_bytes"),
          analysis::verdict_name(c.verdict), c.confidence, gauges);
    };
  }
  auto r = runner::run(a.run);
  if (!r) {
    print_error("watch", r.error().message);
    return kExitError;
  }
  auto tl = timeline::read_timeline(r->timeline_path);
  if (!tl) {
    // No verdict; the target's status is still said (and is in run.json).
    print_error("watch", tl.error().message + " (no verdict; the target: " + r->exit.describe() +
                             ", run.json in " + r->out_dir + ")");
    if (const auto sig = r->exit.stop.received_signal) return exit_by_signal(*sig);
    return kExitError;
  }
  const auto c = analysis::classify(analysis::signals_from_timeline(*tl), o);
  auto j = analysis::to_json(c, o, r->timeline_path);
  // --trace-children: a verdict per process and the tree's (the worst); it sets the exit code.
  std::optional<TreeVerdict> tree;
  if (a.run.trace_children) {
    tree = judge_tree(r->out_dir, *tl, c, o);
    j["tree"] = tree_json(*tree);
  }
  const analysis::Verdict verdict = tree ? tree->processes.front().c.verdict : c.verdict;
  j["run"] = {{"command", utf8_escaped(a.run.command)},
              {"allocator", a.run.allocator},
              {"backend", backend_name(r->id.backend)},
              {"verified", r->verified},
              {"exit", r->exit.describe()},
              {"samples", tl->samples.size()},
              {"out_dir", r->out_dir}};
  if (const auto line = stop_line(r->exit, a.run.stop); !line.empty()) j["run"]["stop"] = line;
  // The runner made and checked the directory; written relative to it, never through a link.
  auto dir = OutputDir::open(r->out_dir, ExistingDir::kAccept);
  if (dir) {
    if (auto w = dir->write_file(
            "verdict.json", j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
        !w)
      dir = w.error();
  }
  if (!dir) {
    print_error("watch", dir.error().message);
    return kExitError;
  }
  if (!a.quiet) {
    if (const auto line = stop_line(r->exit, a.run.stop); !line.empty())
      std::cerr << "arenalab watch: " << line << "\n";
    std::cerr << fmt::format("arenalab watch: {} under {} ({}{}), {} samples in {}\n",
                             r->exit.describe(), a.run.allocator, backend_name(r->id.backend),
                             r->verified ? ", verified" : ", NOT verified", tl->samples.size(),
                             r->out_dir);
    for (const auto& w : r->warnings) std::cerr << "arenalab watch: warning: " << w << "\n";
  }
  if (a.json)
    std::cout << j.dump(2) << "\n";
  else
    std::cout << human_verdict(c, o) << (tree ? human_tree(*tree) : std::string());
  // arenalab stopped by a signal ends by it (verdict.json is written); otherwise the verdict's
  // codes (3 leak, 4 unresolved) come before the target's own status (README "Exit status").
  if (const auto sig = r->exit.stop.received_signal) return exit_by_signal(*sig);
  int code = verdict_exit_code(verdict);
  if (a.fail_on == "growth" &&
      (verdict == analysis::Verdict::kRetention || verdict == analysis::Verdict::kBounded))
    code = kExitLeak;
  if (code != kExitOk) return code;
  return target_status(r->exit, a.run.stop);
}

void setup(CLI::App& root, int& exit_code) {
  auto a = std::make_shared<Args>();
  auto* cmd = root.add_subcommand(
      "watch",
      "Run a command and tell a leak from retention, a bounded cache, growth outside malloc.\n"
      "Exit: 3 leak or non-heap-growth, 4 unresolved, else the target's status (0 when it "
      "ended on the --duration stop signal), 1 error, 2 usage; stopped by SIGINT, SIGTERM, "
      "SIGHUP or SIGQUIT (passed on to the target): verdict.json written, then ends by it.");
  add_target_flags(cmd, a->target, "arenalab-run");
  add_interposer_flags(cmd, a->interposer, "count");
  cmd->add_flag("--json", a->json, "Print the verdict as JSON (arenalab.verdict/1)");
  cmd->add_option("--fail-on", a->fail_on,
                  "leak (default): exit 3 on leak or non-heap-growth; growth: also on retention "
                  "and bounded growth")
      ->check(CLI::IsMember({"leak", "growth"}));
  cmd->add_option("--limit", a->limit, "Project the time until RSS reaches SIZE (512M, 2G)");
  cmd->add_option("--live-every", a->live_every_s,
                  "Seconds between live lines on stderr (default 3; 0: none)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_flag("--quiet,-q", a->quiet, "No live lines or summary on stderr");
  cmd->add_option("command", a->run.command, "-- CMD ARGS...")->required();
  cmd->callback([a, &exit_code] { exit_code = run_watch(*a); });
}

}  // namespace

ARENALAB_COMMAND(40, setup);

}  // namespace arenalab::cli
