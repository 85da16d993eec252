// SPDX-License-Identifier: Apache-2.0
// arenalab watch [run options] [--json FILE|-] [--fail-on leak|growth] [--limit SIZE] -- CMD:
// runs CMD under the interposer (count mode by default), prints a live line on stderr every few
// seconds (elapsed, RSS, live bytes, current verdict - shown once the live classifications have
// agreed on it for 3 s, "unresolved" until then, and a growth only once it has lasted 12 s,
// "growing" until then: analysis/live.h), then classifies the whole
// timeline, writes <out>/verdict.json and prints the verdict with its evidence (or the JSON to
// FILE; "-" for stdout, which the target shares: chosen explicitly, never by default).
// Exit: ended by the signal arenalab got, if one stopped it; else 3 leak or non-heap-growth
// (--fail-on growth: also retention and bounded growth), 4 unresolved; else the target's status
// as run gives it; 1 error, 2 usage.
#include <fmt/format.h>

#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>

#include "arenalab/analysis/timeline_signals.h"
#include "arenalab/analysis/verdict_json.h"
#include "arenalab/core/files.h"
#include "arenalab/core/sizes.h"
#include "arenalab/core/text.h"
#include "arenalab/formats/timeline.h"
#include "arenalab/runner/runner.h"
#include "attach_pid.h"
#include "classify_output.h"
#include "metrics_option.h"
#include "run_options.h"
#include "watch_tree.h"

namespace arenalab::cli {
namespace {

struct Args {
  runner::RunOptions run;
  TargetFlags target;
  InterposerFlags interposer;
  std::string json;  // "" none; "-" stdout; else a file
  std::string fail_on = "leak";
  std::string limit;
  double live_every_s = 3;
  bool quiet = false;
  std::string metrics;  // --metrics ADDR:PORT
  std::string name;     // --name: the cell `arenalab check` compares ("": the program's name)
};

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
  // The live line: read what the target appended since the last one (never the whole file
  // again), classify the bounded set of rows kept so far (LiveSignals: a few tens of ms at any
  // run length), and show its verdict once settled (LiveVerdict). With --metrics the exporter
  // has done both (it runs first at each tick, classifying once per line: below): the line
  // shows its last verdict and sample, so the rows are read and classified once, not twice.
  LivePace pace(a.live_every_s * 1000);  // later when a line's CPU is more than its share
  LiveVerdict live;
  // The target is running while the line is shown: no release is final (README "The live line").
  analysis::Options live_o = o;
  live_o.running = true;
  // With --metrics, the exporter may serve the same classification at two lines (it defers a
  // classification that would take more than its CPU share): a repeat is shown as it was and
  // never counts toward settling, which asks two classifications 3 s apart to agree.
  std::uint64_t shown_classification = 0;
  std::string shown;
  std::unique_ptr<analysis::LiveSignals> tail;
  std::unique_ptr<LiveTree> children;        // --trace-children: the children's timelines
  std::string shown_whose;                   // whose verdict the last line showed
  std::shared_ptr<fleet::Exporter> metrics;  // --metrics: /metrics while the target runs
  a.run.tick_ms = 500;
  if (!a.quiet && a.live_every_s > 0) {
    a.run.on_tick = [&](const runner::RunProgress& p) {
      if (!pace.due(p.elapsed_ms)) return;
      std::optional<analysis::Classification> c;
      std::optional<timeline::Sample> sample;
      bool repeat = false;
      std::string whose = "verdict";
      {
        LivePace::Line line(pace, p.elapsed_ms);
        if (metrics) {
          auto latest = metrics->latest();
          if (!latest) return;
          repeat = shown_classification == latest->classification;
          shown_classification = latest->classification;
          c = std::move(latest->verdict);
          sample = std::move(latest->last);
        } else {
          if (!tail) tail = std::make_unique<analysis::LiveSignals>(p.timeline_path);
          tail->poll();
          if (!tail->last()) return;
          c = analysis::classify(tail->signals(), live_o);
          sample = *tail->last();
        }
        // --trace-children: the worst of the target and its children so far, as at the end.
        if (a.run.trace_children) {
          if (!children) {
            const auto dir = std::filesystem::path(p.timeline_path).parent_path();
            children = std::make_unique<LiveTree>(dir.empty() ? "." : dir.string());
          }
          if (auto w = children->worst(live_o);
              w && severity(w->c.verdict) > severity(c->verdict)) {
            c = std::move(w->c);
            if (w->last) sample = std::move(w->last);  // the figures of the process shown
            whose = fmt::format("tree verdict (pid {})", w->pid);
          } else {
            whose = "tree verdict (target)";
          }
          // The exporter's repeat is the target's: a line that shows another process than the
          // last one classified anew (never the last one's text under another label).
          if (whose != shown_whose) repeat = false;
          shown_whose = whose;
        }
      }
      if (!repeat) shown = live.show(*c, p.elapsed_ms, 0.5 * a.run.tick_ms);
      // The program's own gauges (arenalab_gauge_set), beside RSS: e.g. an off-heap store's
      // bytes in use. Gauges are published as byte counts.
      const timeline::Sample& last = *sample;
      std::string gauges;
      for (const auto& [name, value] : last.gauges)
        gauges += fmt::format("  {} {}", name, format_bytes(value));
      auto figure = [](const timeline::Opt& v) { return v ? format_bytes(*v) : std::string("-"); };
      std::cerr << fmt::format("arenalab watch: {:6.1f} s  RSS {:>10}  live {:>10}  {} {}{}\n",
                               p.elapsed_ms / 1000, figure(last.rss), figure(last.live_bytes),
                               whose, shown, gauges);
    };
  }
  if (const auto bad = json_file_problem(a.json)) {
    print_error("watch", *bad);
    return kExitError;
  }
  // The exporter's update runs before the live line at each tick (serve_metrics chains it first)
  // and, with the line on, classifies once per line: one classification per line, as without
  // --metrics, not one a tick.
  const double line_every_ms = !a.quiet && a.live_every_s > 0 ? a.live_every_s * 1000 : 0;
  if (!a.metrics.empty() && !(metrics = serve_metrics("watch", a.run, a.metrics, o, line_every_ms)))
    return kExitError;
  auto r = runner::run(a.run);
  if (!r) {
    print_error("watch", r.error().message);
    return kExitError;
  }
  auto tl = analysis::read_signals(r->timeline_path);  // streamed: bounded memory
  if (!tl) {
    // No verdict; the target's status is still said (and is in run.json), and why there is no
    // timeline when the runner knows (a setuid/setgid or static target).
    std::string why = tl.error().message;
    for (const auto& w : r->warnings)
      if (w.rfind("setuid/setgid target", 0) == 0 || w.rfind("target bypassed", 0) == 0) why = w;
    print_error("watch", why + " (no verdict; the target: " + r->exit.describe() +
                             ", run.json in " + r->out_dir + ")");
    if (const auto sig = r->exit.stop.received_signal) return exit_by_signal(*sig);
    return kExitError;
  }
  auto c = analysis::classify(tl->signals, o);
  // The books paced to their CPU cost into too few samples to judge: said (a warning, below),
  // and RSS judged.
  if (auto sparse = analysis::account_for_sparse_books(*tl, c, o))
    r->warnings.push_back(std::move(*sparse));
  auto v = analysis::to_verdict(c, o, r->timeline_path);
  add_projection(v, c, o);
  // --trace-children: a verdict per process and the tree's (the worst); it sets the exit code.
  std::optional<TreeVerdict> tree;
  if (a.run.trace_children) {
    tree = judge_tree(r->out_dir, tl->header, tl->samples, c, o);
    v.tree = tree_part(*tree);
  }
  const analysis::Verdict verdict = tree ? tree->processes.front().c.verdict : c.verdict;
  v.run = verdict_file::RunPart{utf8_escaped(a.run.command),
                                a.run.allocator,
                                r->id.backend,
                                r->verified,
                                r->exit.describe(),
                                static_cast<std::int64_t>(tl->samples),
                                r->out_dir,
                                stop_line(r->exit, a.run.stop),
                                a.name};
  const std::string doc = formats::document_text(verdict_file::to_json(v));
  // The runner made and checked the directory; written relative to it, never through a link.
  auto dir = OutputDir::open(r->out_dir, ExistingDir::kAccept);
  if (dir) {
    if (auto w = dir->write_file("verdict.json", doc); !w) dir = w.error();
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
                             r->verified ? ", verified" : ", NOT verified", tl->samples,
                             r->out_dir);
  }
  // Warnings print under -q too: they say what the verdict covers (children that ran unwatched,
  // a target that bypassed the interposer), not progress.
  for (const auto& w : r->warnings) std::cerr << "arenalab watch: warning: " << w << "\n";
  // Machine output goes where it was asked: a file of its own, or stdout when "-" was chosen.
  if (a.json == "-") {
    std::cout << doc;
  } else {
    if (!a.json.empty()) {
      if (auto w = write_file_atomic(a.json, doc); !w) {
        print_error("watch", w.error().message);
        return kExitError;
      }
    }
    std::cout << human_summary(c, tree, o);
  }
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
  cmd->add_option("--json", a->json,
                  "Write the verdict as JSON (arenalab.verdict/1) to FILE; '-' for stdout (shared "
                  "with the target's own output)");
  cmd->add_option("--fail-on", a->fail_on,
                  "leak (default): exit 3 on leak or non-heap-growth; growth: also on retention "
                  "and bounded growth")
      ->check(CLI::IsMember({"leak", "growth"}));
  cmd->add_option("--limit", a->limit, "Project the time until RSS reaches SIZE (512M, 2G)");
  cmd->add_option("--live-every", a->live_every_s,
                  "Seconds between live lines on stderr (default 3; 0: none); longer while a "
                  "line's classification costs more than 0.5 % of a core")
      ->check(CLI::NonNegativeNumber);
  cmd->add_flag("--quiet,-q", a->quiet,
                "No live lines or summary on stderr (warnings still print)");
  cmd->add_option("--metrics", a->metrics,
                  "Serve Prometheus metrics on ADDR:PORT/metrics while CMD runs (docs/fleet.md)");
  cmd->add_option("--name", a->name,
                  "Name of this run as a cell of `arenalab check` (default: the program's name; "
                  "two services of one interpreter need names of their own)")
      ->check([](const std::string& n) {
        return !n.empty() && n.find_first_of("/ \t\n") == std::string::npos
                   ? std::string()
                   : std::string("--name: one word without '/'");
      });
  cmd->add_option("command", a->run.command, "-- CMD ARGS...")->required();
  // --pid PID: a process already running instead of a command (attach_pid.h).
  auto pid = add_pid_options(*cmd);
  cmd->callback([a, pid, &exit_code] {
    if (!pid->given()) {
      exit_code = run_watch(*a);
      return;
    }
    if (auto bad = apply_target_flags(a->target, a->run)) {
      print_error("watch", *bad);
      exit_code = kExitUsage;
      return;
    }
    if (!a->name.empty()) {
      print_error("watch", "--name names a command's run; it is not supported with --pid");
      exit_code = kExitUsage;
      return;
    }
    exit_code = run_pid("watch", *pid,
                        {a->run.interval_ms, a->run.out_dir, true, a->json, a->fail_on, a->limit,
                         a->live_every_s, a->quiet});
  });
}

}  // namespace

ARENALAB_COMMAND(40, "watch", setup);

}  // namespace arenalab::cli
