// SPDX-License-Identifier: Apache-2.0
// arenalab classify DIR|timeline.jsonl [--json] [--limit SIZE] (or --prometheus URL ...:
// cmd_classify_prometheus.cc): leak, retention, bounded,
// non-heap-growth, stable or unresolved, with the evidence per signal. Given a DIR of this
// user's (and no --no-write), writes DIR/verdict.json and says so on stderr (atomically, keeping
// the parts of one already there that it does not compute: watch's `run`, attach's `attach`, the
// fleet's `fleet`; another user's DIR, or a group- or world-writable one, only gets the verdict
// printed); a DIR of a --trace-children run (timeline.<pid>.jsonl beside timeline.jsonl)
// gets the tree's verdict as watch gave it, the worst process deciding the exit. Exit 0 no leak, 3
// leak or non-heap-growth, 4 unresolved.
#include <sys/stat.h>
#include <unistd.h>

#include <iostream>
#include <optional>

#include "arenalab/analysis/timeline_signals.h"
#include "arenalab/analysis/verdict_json.h"
#include "arenalab/core/files.h"
#include "arenalab/core/text.h"
#include "arenalab/formats/timeline.h"
#include "classify_output.h"
#include "classify_prometheus.h"
#include "watch_tree.h"

namespace arenalab::cli {
namespace {

struct Args {
  std::string path;
  bool json = false;
  bool no_write = false;
  std::string limit;
};

// DIR/verdict.json with the verdict part recomputed and the parts classify does not compute kept
// from the file already there: watch's `run` (command, allocator, exit, name), attach's `attach`,
// classify --prometheus's `fleet`. A verdict.json that cannot be read is left as it is (an error
// naming it): classify never replaces what it cannot keep. Written relative to the opened
// directory, through a temporary and a rename; one line on stderr says what was written (or that
// the file was already the same). Another user's directory (root re-reading a user's run, a
// user reading a shared one), or one other users can write in (OutputDir::open refuses to write
// there), is left untouched: the verdict is only printed, and the line returned says so.
Result<std::string> write_merged(const std::string& path, verdict_file::Verdict v) {
  if (struct stat ds{}; ::stat(path.c_str(), &ds) == 0) {
    if (ds.st_uid != ::geteuid())
      return path +
             " is another user's directory: verdict.json left as it is (the verdict is printed "
             "only)";
    if (ds.st_mode & (S_IWGRP | S_IWOTH))
      return path + " is writable by " + ((ds.st_mode & S_IWOTH) ? "every user" : "its group") +
             ": nothing written there (the verdict is printed only)";
  }
  auto dir = OutputDir::open(path, ExistingDir::kAccept);
  if (!dir) return dir.error();
  // Read relative to the directory opened and checked above, never by path again: a link
  // there (or one swapped in meanwhile) is refused, never followed.
  auto not_replaced = [](const Error& e) {
    return Error{e.message +
                 " (not replaced: classify keeps its run part; move it aside to write a new one)"};
  };
  auto text = dir->read_file("verdict.json", kMaxJsonFileBytes, "a JSON document");
  if (!text) return not_replaced(text.error());
  if (*text) {
    const std::string shown = dir->path() + "/verdict.json";
    Result<verdict_file::Verdict> old = make_error(printable(shown) + ": not valid JSON");
    try {
      old = verdict_file::parse_verdict(nlohmann::json::parse(**text), shown);
    } catch (const nlohmann::json::exception& e) {
      old = make_error(printable(shown) + ": not valid JSON: " + printable(e.what()));
    }
    if (!old) return not_replaced(old.error());
    if (!v.run) v.run = old->run;
    if (!v.attach) v.attach = old->attach;
    if (!v.fleet) v.fleet = old->fleet;
  }
  const std::string shown = dir->path() + "/verdict.json";
  const std::string doc = formats::document_text(verdict_file::to_json(v));
  if (*text && **text == doc) return shown + " unchanged";
  if (auto w = dir->write_file("verdict.json", doc); !w) return w.error();
  return "wrote " + shown +
         (*text ? " (replaced: the verdict recomputed, its run, attach and fleet parts kept; "
                  "--no-write only prints)"
                : "");
}

int run(const Args& a) {
  analysis::Options o;
  if (!a.limit.empty()) {
    auto l = parse_size(a.limit);
    if (!l) {
      print_error("classify", "--limit: " + l.error().message);
      return kExitUsage;
    }
    o.limit_bytes = static_cast<double>(*l);
  }
  struct stat st {};
  if (::stat(a.path.c_str(), &st) != 0) {
    print_error("classify", a.path + ": no such file or directory");
    return kExitError;
  }
  const bool dir = S_ISDIR(st.st_mode);
  const std::string tl_path = dir ? a.path + "/timeline.jsonl" : a.path;
  // A directory with no timeline: say what it is and where its verdicts are, not only that a
  // file is missing (`arenalab profile` under tcmalloc or heaptrack writes no timeline).
  if (struct stat ts{}; dir && ::lstat(tl_path.c_str(), &ts) != 0) {
    struct stat ps {};
    print_error("classify",
                ::lstat((a.path + "/profile.json").c_str(), &ps) == 0
                    ? a.path +
                          " is an `arenalab profile` directory with no timeline.jsonl (tcmalloc "
                          "and heaptrack write none): its call sites' verdicts are in " +
                          a.path + "/profile.json"
                    : a.path +
                          " has no timeline.jsonl: give a run, watch or attach directory, or a "
                          "timeline file");
    return kExitError;
  }
  // Streamed in one pass: a week of samples is never held whole (timeline_signals.h).
  auto tl = analysis::read_signals(tl_path);
  if (!tl) {
    print_error("classify", tl.error().message);
    return kExitError;
  }
  if (tl->samples == 0) {
    print_error("classify", tl_path + ": no samples after the header");
    return kExitError;
  }
  auto c = analysis::classify(tl->signals, o);
  // The books paced to their CPU cost into too few samples to judge: said, and RSS judged.
  const auto sparse = analysis::account_for_sparse_books(*tl, c, o);
  if (sparse) print_error("classify", "warning: " + *sparse);
  auto v = analysis::to_verdict(c, o, tl_path);
  add_projection(v, c, o);
  // A --trace-children run: the target alone is often a wrapper (sh -c) whose flat series would
  // hide a leaking child; judge every process's timeline and the tree as watch did.
  std::optional<TreeVerdict> tree;
  if (dir) {
    tree = judge_tree(a.path, tl->header, tl->samples, c, o);
    if (tree->processes.size() + tree->short_lived + tree->still_running.size() + tree->unreadable >
        1)
      v.tree = tree_part(*tree);
    else
      tree.reset();
  }
  if (dir && !a.no_write) {
    auto w = write_merged(a.path, v);
    if (!w) {
      print_error("classify", w.error().message);
      return kExitError;
    }
    print_error("classify", *w);
  }
  if (a.json)
    std::cout << formats::document_text(verdict_file::to_json(v));
  else
    std::cout << human_summary(c, tree, o);
  return verdict_exit_code(tree ? tree->processes.front().c.verdict : c.verdict);
}

void setup(CLI::App& root, int& exit_code) {
  auto a = std::make_shared<Args>();
  auto* cmd = root.add_subcommand(
      "classify",
      "Classify a run's timeline: leak | retention | bounded | non-heap-growth | stable | "
      "unresolved.\nExit: 0 no leak, 3 leak or non-heap-growth, 4 unresolved, 1 error, 2 usage.");
  cmd->add_option("path", a->path,
                  "A run directory (writes verdict.json there, if it is this user's) or a "
                  "timeline.jsonl");
  cmd->add_flag("--json", a->json, "Print the verdict as JSON (arenalab.verdict/1)");
  cmd->add_flag("--no-write", a->no_write,
                "Given a run directory, print the verdict only: write nothing there");
  cmd->add_option("--limit", a->limit, "Project the time until RSS reaches SIZE (512M, 2G)");
  // The fleet view: --prometheus URL classifies the series a Prometheus server has instead.
  auto p = std::make_shared<PrometheusArgs>();
  add_prometheus_options(cmd, *p);
  cmd->callback([a, p, &exit_code] {
    if (!p->url.empty()) {
      p->limit = a->limit;
      p->json = a->json;
      exit_code = run_classify_prometheus(*p);
    } else if (a->path.empty()) {
      print_error("classify", "give a run directory, a timeline.jsonl or --prometheus URL");
      exit_code = kExitUsage;
    } else {
      exit_code = run(*a);
    }
  });
}

}  // namespace

ARENALAB_COMMAND(45, "classify", setup);

}  // namespace arenalab::cli
