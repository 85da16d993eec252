// SPDX-License-Identifier: Apache-2.0
// `arenalab watch|run --pid PID`: the branch of both subcommands that watches a process already
// running (detectors/attach: level rss, nothing injected; stats, the default where permitted, an
// agent injected by ptrace; count, the agent's hooks on the GOT), instead of starting a command.
#pragma once

#include <fmt/format.h>

#include <chrono>
#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include "arenalab/analysis/analysis.h"
#include "arenalab/analysis/timeline_signals.h"
#include "arenalab/analysis/verdict_json.h"
#include "arenalab/attach/attach.h"
#include "arenalab/core/files.h"
#include "arenalab/core/sizes.h"
#include "arenalab/core/text.h"
#include "arenalab/formats/attach.h"
#include "arenalab/formats/profile.h"
#include "arenalab/formats/timeline.h"
#include "arenalab/profilers/profile_run.h"
#include "classify_output.h"
#include "command.h"
#include "run_options.h"

namespace arenalab::cli {

struct PidOptions {
  long long pid = 0;
  double duration_s = 0;
  CLI::App* cmd = nullptr;
  bool given() const { return cmd && cmd->count("--pid") > 0; }
};

// Adds --pid (and --duration, unless the subcommand has its own) to a subcommand whose
// positional "command" is then no longer required. Call after the subcommand's own options.
inline std::shared_ptr<PidOptions> add_pid_options(CLI::App& cmd) {
  auto p = std::make_shared<PidOptions>();
  p->cmd = &cmd;
  auto* pid = cmd.add_option(
      "--pid", p->pid,
      "Watch this running process instead of starting one, at --mode rss (nothing injected), "
      "stats (an agent thread reads the allocator's books), count (the agent also counts live "
      "bytes since the attach) or sample (and samples call sites since the attach: "
      "--sample-bytes, --heap-dump-every); default: stats where ptrace and the target permit "
      "it, else rss, saying why (docs/attach.md)");
  if (auto* command = cmd.get_option_no_throw("command")) {
    command->required(false);
    pid->excludes(command);
  }
  // --mode rss exists for --pid only: the command's own check (stats|count|sample|full) gives way
  // to one that also takes rss, and rss without --pid stays a usage error.
  if (auto* mode = cmd.get_option_no_throw("--mode")) {
    if (auto* v = mode->get_validator(0)) v->active(false);
    mode->check(CLI::IsMember({"rss", "stats", "count", "sample", "full"}));
    cmd.parse_complete_callback([p, mode] {
      if (!p->given() && mode->count() > 0 && mode->as<std::string>() == "rss")
        throw CLI::ValidationError("--mode", "rss applies with --pid only (a running process)");
    });
  }
  if (!cmd.get_option_no_throw("--duration"))
    cmd.add_option("--duration", p->duration_s, "With --pid: stop sampling after S seconds")
        ->check(CLI::PositiveNumber);
  return p;
}

// What of the subcommand's own options applies to an attach.
struct PidRun {
  double interval_ms = 100;
  std::string out_dir;
  bool verdict = true;  // watch: classify and print; run: only the files
  std::string json;     // "" none; "-" stdout; else a file
  std::string fail_on = "leak";
  std::string limit;
  double live_every_s = 3;
  bool quiet = false;
};

inline int run_pid(const std::string& sub, const PidOptions& p, const PidRun& r) {
  // The options that make sense for a running process; any other one given is refused.
  static const char* kApplies[] = {
      "--pid",     "--duration",     "--interval",       "--out",   "--json",
      "--fail-on", "--limit",        "--live-every",     "--quiet", "--help",
      "--mode",    "--sample-bytes", "--heap-dump-every"};
  for (const CLI::Option* o : p.cmd->get_options()) {
    if (o->count() == 0 || o->get_name().empty() || o->get_name() == "command") continue;
    bool ok = false;
    for (const char* name : kApplies) ok = ok || o->check_name(name);
    if (!ok) {
      print_error(sub, o->get_name() +
                           " does not apply with --pid (the running process keeps "
                           "its allocator: docs/attach.md)");
      return kExitUsage;
    }
  }
  // The level: --mode as given, else the highest that works (chosen below, once the pid is
  // known to exist). full is the interposer's alone: a running process cannot take it.
  std::optional<attach::Level> level;
  if (const auto* m = p.cmd->get_option_no_throw("--mode"); m && m->count() > 0) {
    level = attach_file::parse_level(m->as<std::string>());
    if (!level) {
      print_error(sub, "--mode " + m->as<std::string>() +
                           " does not apply with --pid: a running process is watched at level "
                           "rss, stats, count or sample; docs/attach.md");
      return kExitUsage;
    }
  }
  // Level sample's own options, read by name (they belong to the subcommand's sample mode).
  std::uint64_t sample_bytes = 512 * 1024;
  int heap_dump_every = 10;
  for (const char* name : {"--sample-bytes", "--heap-dump-every"}) {
    const auto* o = p.cmd->get_option_no_throw(name);
    if (!o || o->count() == 0) continue;
    if (level != attach::Level::kSample) {
      print_error(sub, std::string(name) + " applies with --pid at --mode sample only");
      return kExitUsage;
    }
    if (std::string(name) == "--sample-bytes") {
      auto b = parse_size(o->as<std::string>());
      if (!b || *b == 0) {
        print_error(sub, "--sample-bytes " + o->as<std::string>() + ": expected a size > 0");
        return kExitUsage;
      }
      sample_bytes = *b;
    } else {
      heap_dump_every = o->as<int>();
    }
  }
  if (p.pid <= 0 || p.pid > 0x7fffffff) {
    print_error(sub, fmt::format("--pid {}: expected a process id", p.pid));
    return kExitUsage;
  }
  analysis::Options o;
  if (!r.limit.empty()) {
    auto l = parse_size(r.limit);
    if (!l) {
      print_error(sub, "--limit: " + l.error().message);
      return kExitUsage;
    }
    o.limit_bytes = static_cast<double>(*l);
  }
  attach::Options a;
  a.pid = static_cast<pid_t>(p.pid);
  a.level = level.value_or(attach::Level::kStats);
  a.sample_bytes = sample_bytes;
  a.heap_dump_every = heap_dump_every;
  a.interval_ms = r.interval_ms;
  // --duration may belong to the subcommand itself (a run's duration): read it by name.
  if (const auto* d = p.cmd->get_option_no_throw("--duration"); d && d->count() > 0) {
    const auto s = parse_seconds(d->as<std::string>());
    if (!s || *s <= 0) {
      print_error(sub,
                  "--duration " + d->as<std::string>() + ": expected seconds (or 90s, 5m, 2h)");
      return kExitUsage;
    }
    a.duration_s = *s;
  }
  a.out_dir = r.out_dir;
  // The live line, as under watch CMD: each one reads only what the sampler (or the agent) has
  // appended since the last (LiveSignals), classifies the bounded set of rows kept so far, and
  // shows the verdict once settled (LiveVerdict): a line costs what was written since the last
  // one, however long the attach has run.
  LivePace pace(r.live_every_s * 1000);  // later when a line's CPU is more than its share
  LiveVerdict live;
  // The target is running while the line is shown: no release is final (README "The live line").
  analysis::Options live_o = o;
  live_o.running = true;
  std::unique_ptr<analysis::LiveSignals> tail;
  if (r.verdict && !r.quiet && r.live_every_s > 0) {
    a.on_sample = [&](double elapsed_ms, const std::string& path) {
      if (!pace.due(elapsed_ms)) return;
      std::optional<analysis::Classification> c;
      {
        LivePace::Line line(pace, elapsed_ms);
        if (!tail) tail = std::make_unique<analysis::LiveSignals>(path);
        tail->poll();
        if (!tail->last()) return;
        c = analysis::classify(tail->signals(), live_o);
      }
      const timeline::Sample& s = *tail->last();
      // Level count: the live bytes since the attach too.
      const std::string held =
          s.live_bytes ? fmt::format("  live {:>10}", format_bytes(*s.live_bytes)) : "";
      std::cerr << fmt::format("arenalab {}: {:6.1f} s  RSS {:>10}  anon {:>10}{}  verdict {}\n",
                               sub, elapsed_ms / 1000, s.rss ? format_bytes(*s.rss) : "-",
                               s.rss_anon ? format_bytes(*s.rss_anon) : "-", held,
                               live.show(*c, elapsed_ms, 0.5 * r.interval_ms));
    };
  }
  // The refusals first, as one line, before anything is written.
  if (const auto bad = json_file_problem(r.json)) {
    print_error(sub, *bad);
    return kExitError;
  }
  auto target = attach::inspect(a.pid);
  if (!target) {
    print_error(sub, target.error().message);
    return kExitError;
  }
  if (auto st = attach::check_level(a); !st) {
    if (level) {
      print_error(sub, st.error().message);
      return kExitError;
    }
    // No --mode: stats where it is permitted, else rss with the reason in one line (and in
    // attach.json's warnings).
    a.level = attach::Level::kRss;
    a.level_note = "level rss (nothing injected), not stats: " + st.error().message;
    if (!r.quiet) std::cerr << "arenalab " << sub << ": " << a.level_note << "\n";
  }
  // Said once the level is in place (watch_pid's on_attached), never before: a default stats
  // that meets another arenalab's agent while injecting is watched at rss (below).
  if (!r.quiet)
    a.on_attached = [&](attach::Level level) {
      std::cerr << fmt::format(
          "arenalab {}: attaching to pid {} ({}, running for {}; {}); Ctrl-C stops sampling, "
          "the process runs on\n",
          sub, p.pid, target->comm, duration(target->started_s_ago),
          level == attach::Level::kRss ? "level rss, nothing injected"
          : level == attach::Level::kStats
              ? "level stats: an agent thread reads the allocator's books"
          : level == attach::Level::kCount
              ? "level count: the agent counts live bytes since the attach"
              : fmt::format("level sample: the agent counts live bytes and samples call sites "
                            "since the attach, one sample per {} on average",
                            format_bytes(static_cast<double>(sample_bytes))));
    };
  // The dumps of level sample are timed by their files' modification times from here.
  const long long since_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                                 std::chrono::system_clock::now().time_since_epoch())
                                 .count();
  auto out = attach::watch_pid(a);
  // No --mode, and another arenalab's agent samples the target (found only while injecting:
  // the agent stays loaded, idle, after a detach): the highest level that works is rss, which
  // needs no agent in the target; said in one line, kept in attach.json's warnings. An
  // explicit --mode stays refused.
  if (!out && !level && a.level != attach::Level::kRss &&
      out.error().message.find(attach::kAgentBusy) != std::string::npos) {
    a.level = attach::Level::kRss;
    a.level_note = "level rss (nothing injected), not stats: " + out.error().message;
    if (!r.quiet) std::cerr << "arenalab " << sub << ": " << a.level_note << "\n";
    out = attach::watch_pid(a);
  }
  if (!out) {
    print_error(sub, out.error().message);
    return kExitError;
  }
  // A target that vanished (the OOM killer ends leaking services) still gets its verdict on the
  // samples taken: the one line says it vanished, and the exit code follows watch's rule, the
  // verdict's 3 and 4 first, then the target's status, unknown here: 1.
  const bool vanished = out->ended == attach::Ended::kVanished;
  if (vanished) {
    print_error(sub, fmt::format("pid {} ({}) vanished {:.1f} s after attach, at {}; its {} "
                                 "samples are in {}",
                                 p.pid, out->target.comm, *out->vanished_at_s, out->vanished_utc,
                                 out->samples, out->out_dir));
    if (!r.verdict) return kExitError;
  } else if (!r.quiet) {
    std::cerr << fmt::format("arenalab {}: pid {} ({}) sampled {} times over {}, {}; files in {}\n",
                             sub, p.pid, out->target.comm, out->samples,
                             duration(out->attached_ms / 1000),
                             out->ended == attach::Ended::kDuration
                                 ? "--duration reached"
                                 : "stopped by signal " + std::to_string(out->signal.value_or(0)),
                             out->out_dir);
    if (const auto& i = out->injection)
      std::cerr << fmt::format(
          "arenalab {}: agent {} loaded through thread {} (stopped {:.1f} ms, {} XSAVE bytes "
          "kept); {}\n",
          sub, i->agent, i->tid, i->stopped_ms, i->xstate_bytes,
          i->final_seen
              ? fmt::format("its sampler ended {:.0f} ms after the stop request", i->detach_ms)
              : std::string("no final sample seen"));
    for (const auto& w : out->warnings)
      if (w != a.level_note) std::cerr << "arenalab " << sub << ": warning: " << w << "\n";
  }
  if (!r.verdict) return kExitOk;
  auto v = attach::classify_outcome(*out, o);
  if (!v) {
    print_error(sub, v.error().message);
    return kExitError;
  }
  const auto& c = v->classification;
  // Under -q too: it says what the verdict covers.
  if (v->warning) std::cerr << "arenalab " << sub << ": warning: " << *v->warning << "\n";
  // Machine output where it was asked (as watch does): a file of its own, or stdout for "-".
  if (!r.json.empty()) {
    // The verdict.json just written, through its reader and writer (formats/verdict.h).
    auto verdict = verdict_file::read_verdict(v->verdict_path);
    if (!verdict) {
      print_error(sub, verdict.error().message);
      return kExitError;
    }
    if (r.json == "-") {
      std::cout << formats::document_text(verdict_file::to_json(*verdict));
    } else if (auto w = verdict_file::write_verdict(r.json, *verdict); !w) {
      print_error(sub, w.error().message);
      return kExitError;
    }
  }
  if (r.json != "-") std::cout << human_verdict(c, o);
  // Level sample: the call sites that grew since the attach, from the agent's heap dumps, as
  // `arenalab profile --profiler interposer` reports them; profile.json beside them.
  if (out->level == attach::Level::kSample) {
    auto prof = profilers::profile_attached_dumps(
        out->out_dir, out->target.command,
        fmt::format("pid {} attached at level sample; call sites and their bytes count from the "
                    "attach: blocks allocated before it are not in them",
                    p.pid),
        since_ns);
    if (!prof) {
      print_error(sub, prof.error().message);
      return kExitError;
    }
    prof->cadence = fmt::format(
        "the attach agent's sampling (mean {} between samples), a heap_v2 dump every "
        "{} intervals of {} ms and at detach",
        format_bytes(static_cast<double>(sample_bytes)), heap_dump_every, r.interval_ms);
    // Relative to the directory opened and checked here (the attach made it), as profile does.
    Status w = Ok{};
    auto dir = OutputDir::open(out->out_dir, ExistingDir::kAccept);
    if (!dir) w = dir.error();
    if (w)
      w = dir->write_file("profile.json",
                          profile_file::to_json(profilers::to_profile_file(*prof, 10)));
    if (!w) {
      print_error(sub, w.error().message);
      return kExitError;
    }
    if (r.json != "-") std::cout << "\n" << profilers::report_text(*prof, 5);
  }
  int code = verdict_exit_code(c.verdict);
  if (r.fail_on == "growth" &&
      (c.verdict == analysis::Verdict::kRetention || c.verdict == analysis::Verdict::kBounded))
    code = kExitLeak;
  if (vanished && code == kExitOk) return kExitError;
  return code;
}

}  // namespace arenalab::cli
