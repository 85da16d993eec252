// SPDX-License-Identifier: Apache-2.0
// watch --trace-children: one verdict per process of the tree (each child's own
// timeline.<pid>.jsonl) and one for the tree, the worst first, so a wrapper (sh -c, a start
// script) cannot hide a leaking child behind its own flat series (issue 20 item 2).
#pragma once

#include <fmt/format.h>

#include <signal.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "arenalab/analysis/analysis.h"
#include "arenalab/analysis/timeline_signals.h"
#include "arenalab/core/process.h"
#include "arenalab/core/text.h"
#include "arenalab/formats/timeline.h"
#include "classify_output.h"

namespace arenalab::cli {

struct ProcessVerdict {
  std::int64_t pid = 0;
  std::vector<std::string> command;
  std::size_t samples = 0;
  analysis::Classification c;
  bool target = false;  // the process watch started (timeline.jsonl), not a child
};

struct TreeVerdict {
  std::vector<ProcessVerdict> processes;  // the worst first (the target first among equals)
  std::size_t short_lived = 0;            // children with too few samples to judge
  // Children with too few samples that still run (a daemon: its parent forked it and exited):
  // not short-lived; watch stops with the target, so they were not watched after it.
  std::vector<std::int64_t> still_running;
  std::size_t unreadable = 0;  // children whose timeline could not be read
};

// A child judged on fewer samples would only ever read "unresolved" (2 s at the default
// 100 ms interval: a shell's helpers, readlink, basename).
inline constexpr std::size_t kMinChildSamples = 20;

// How bad a verdict is for the tree: a leak anywhere is the tree's leak.
inline int severity(analysis::Verdict v) {
  switch (v) {
    case analysis::Verdict::kLeak:
      return 5;
    case analysis::Verdict::kNonHeapGrowth:
      return 4;
    case analysis::Verdict::kUnresolved:
      return 3;
    case analysis::Verdict::kRetention:
      return 2;
    case analysis::Verdict::kBounded:
      return 1;
    default:
      return 0;
  }
}

// A child's timeline.<pid>.jsonl in a run directory: its pid. Only a regular file, never a
// link or a FIFO a traced process made under that name (reading one would block the run).
inline std::optional<std::int64_t> child_timeline_pid(const std::filesystem::directory_entry& e) {
  const std::string n = e.path().filename().string();
  if (n.rfind("timeline.", 0) != 0 || n.size() <= 15 || n.substr(n.size() - 6) != ".jsonl")
    return std::nullopt;
  const std::string pid = n.substr(9, n.size() - 15);
  if (pid.empty() || pid.size() > 18 || pid.find_first_not_of("0123456789") != std::string::npos)
    return std::nullopt;
  std::error_code ec;
  if (e.symlink_status(ec).type() != std::filesystem::file_type::regular || ec) return std::nullopt;
  return std::stoll(pid);
}

// The target's classification plus every child timeline in `out_dir`, worst first (the
// target first among equals).
inline TreeVerdict judge_tree(const std::string& out_dir, const timeline::Header& target,
                              std::size_t target_samples, const analysis::Classification& target_c,
                              const analysis::Options& o) {
  TreeVerdict t;
  t.processes.push_back({target.pid, target.command, target_samples, target_c, true});
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(out_dir, ec)) {
    if (!child_timeline_pid(e)) continue;
    auto tl = analysis::read_signals(e.path().string());  // streamed, bounded memory
    if (!tl) {
      ++t.unreadable;
      continue;
    }
    if (tl->samples < kMinChildSamples) {
      // The same process still: running now, with the command line its timeline recorded.
      const auto p = static_cast<pid_t>(tl->header.pid);
      if (running_comm(p) && process_command(p) == tl->header.command)
        t.still_running.push_back(tl->header.pid);
      else
        ++t.short_lived;
      continue;
    }
    t.processes.push_back(
        {tl->header.pid, tl->header.command, tl->samples, analysis::classify(tl->signals, o)});
  }
  std::stable_sort(t.processes.begin(), t.processes.end(),
                   [](const ProcessVerdict& a, const ProcessVerdict& b) {
                     return severity(a.c.verdict) > severity(b.c.verdict);
                   });
  return t;
}

// watch --trace-children's live line: each child's timeline tailed as the target's is (only
// what was appended since the last line is read), classified again only when it grew, the
// worst shown; children under kMinChildSamples are not judged, as at the end.
class LiveTree {
 public:
  explicit LiveTree(std::string dir) : dir_(std::move(dir)) {}
  struct Worst {
    std::int64_t pid = 0;
    analysis::Classification c;
    std::optional<timeline::Sample> last;  // its latest sample, for the line's figures
  };
  std::optional<Worst> worst(const analysis::Options& o) {
    analysis::Options live = o;  // the children run: no release is final
    live.running = true;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(dir_, ec)) {
      const auto pid = child_timeline_pid(e);
      if (pid && !children_.count(*pid))
        children_[*pid].tail = std::make_unique<analysis::LiveSignals>(e.path().string());
    }
    std::optional<Worst> w;
    for (auto& [pid, child] : children_) {
      if (child.tail) {
        const std::size_t got = child.tail->poll();
        if (got > 0 && child.tail->samples() >= kMinChildSamples)
          child.c = analysis::classify(child.tail->signals(), live);
        if (child.tail->last()) child.last = child.tail->last();
        // A child that exited and wrote nothing since: its descriptor and rows are let go, its
        // last classification kept (a make -j or a test runner forks thousands).
        if (got == 0 && ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH)
          child.tail.reset();
      }
      if (child.c && (!w || severity(child.c->verdict) > severity(w->c.verdict)))
        w = Worst{pid, *child.c, child.last};
    }
    return w;
  }

 private:
  struct Child {
    std::unique_ptr<analysis::LiveSignals> tail;  // null once the child exited and was read
    std::optional<analysis::Classification> c;
    std::optional<timeline::Sample> last;
  };
  std::string dir_;
  std::map<std::int64_t, Child> children_;
};

inline std::string command_text(const std::vector<std::string>& command) {
  std::string s;
  for (const auto& a : command) s += (s.empty() ? "" : " ") + utf8_escaped(a);
  return s.size() > 80 ? s.substr(0, 77) + "..." : s;
}

inline std::string human_tree(const TreeVerdict& t) {
  const auto& worst = t.processes.front();
  std::string out =
      fmt::format("tree verdict: {} (pid {}: {})\n", analysis::verdict_name(worst.c.verdict),
                  worst.pid, command_text(worst.command));
  out += "processes (worst first):\n";
  for (const auto& p : t.processes)
    out += fmt::format("  pid {:<8} {:<15} {:.2f}  {:>5} samples  {}\n", p.pid,
                       analysis::verdict_name(p.c.verdict), p.c.confidence, p.samples,
                       command_text(p.command));
  if (t.short_lived > 0)
    out += fmt::format("  ({} short-lived processes, under {} samples, not judged)\n",
                       t.short_lived, kMinChildSamples);
  if (!t.still_running.empty()) {
    std::string pids;
    for (auto p : t.still_running) pids += (pids.empty() ? "" : ", ") + std::to_string(p);
    out += fmt::format(
        "  (still running when the target exited, under {} samples, not judged: pid {}; watch "
        "ends with the target: `arenalab watch --pid PID` follows one)\n",
        kMinChildSamples, pids);
  }
  if (t.unreadable > 0)
    out += fmt::format("  ({} child timelines could not be read)\n", t.unreadable);
  return out;
}

// What watch and classify print: the target's verdict and evidence, or under --trace-children
// the tree's verdict first (it sets the exit code), then the evidence of the process that set
// it. A wrapper (sh -c, a start script) is usually the target and flat: its table printed first
// under "verdict: stable" read as the answer although the exit code said leak.
inline std::string human_summary(const analysis::Classification& target_c,
                                 const std::optional<TreeVerdict>& t, const analysis::Options& o) {
  if (!t) return human_verdict(target_c, o);
  const auto& worst = t->processes.front();
  std::string out = human_tree(*t) + "\n";
  if (worst.target) {
    out += fmt::format("the target, pid {} (the tree's worst):\n", worst.pid);
  } else {
    out += fmt::format("the tree's worst, pid {} ({}; the target is listed above):\n", worst.pid,
                       command_text(worst.command));
  }
  return out + human_verdict(worst.c, o);
}

inline verdict_file::TreePart tree_part(const TreeVerdict& t) {
  verdict_file::TreePart part;
  for (const auto& p : t.processes)
    part.processes.push_back({p.pid, utf8_escaped(p.command), static_cast<std::int64_t>(p.samples),
                              p.c.verdict, p.c.confidence, p.c.reason});
  const auto& worst = t.processes.front();
  part.verdict = worst.c.verdict;
  part.confidence = worst.c.confidence;
  part.pid = worst.pid;
  part.short_lived = static_cast<std::int64_t>(t.short_lived);
  part.still_running = t.still_running;
  part.unreadable = static_cast<std::int64_t>(t.unreadable);
  return part;
}

}  // namespace arenalab::cli
