// SPDX-License-Identifier: Apache-2.0
// Loading check cells from matrix results, watch directories, verdicts and baseline files,
// each through its one reader in formats/.
#include <algorithm>
#include <filesystem>

#include "arenalab/check/check.h"
#include "arenalab/core/text.h"
#include "arenalab/formats/baseline.h"
#include "arenalab/formats/json.h"
#include "arenalab/formats/matrix.h"
#include "arenalab/formats/run.h"
#include "arenalab/formats/timeline.h"
#include "arenalab/formats/timeline_levels.h"
#include "arenalab/formats/verdict.h"

namespace arenalab::check {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::string strip_wl(std::string name) { return name.rfind("wl_", 0) == 0 ? name.substr(3) : name; }

Result<CellSet> load_matrix(const json& doc, const std::string& file) {
  auto results = matrix::results_from_json(doc, file);
  if (!results) return results.error();
  CellSet set;
  set.sources.push_back(file);
  for (const matrix::Group& g : matrix::groups(*results)) {
    Cell cell;
    cell.kind = Kind::kMatrix;
    cell.workload = strip_wl(g.workload);
    cell.configuration = g.configuration;
    cell.threads = g.threads;
    cell.source = file;
    // A partial group (some repeats failed) is compared on the repeats that ran.
    cell.status = g.status == matrix::GroupStatus::kFailed       ? Status::kFailed
                  : g.status == matrix::GroupStatus::kUnverified ? Status::kUnverified
                                                                 : Status::kOk;
    cell.status_detail = g.status_detail;
    if (const auto& f = g.peak_rss_bytes; f.value) cell.metrics[kPeakRss] = {*f.value, f.lo, f.hi};
    if (const auto& f = g.rss_after_free_bytes; f.value)
      cell.metrics[kRssAfterFrees] = {*f.value, f.lo, f.hi};
    // Tail latency joins the compared figures (issue 24): the p99s, where the workload timed
    // its calls or reported request latency, with the interval the matrix recorded.
    for (const char* name : {"malloc_p99_ns", "free_p99_ns", "request_p99_ms"})
      if (const auto it = g.latency.find(name); it != g.latency.end() && it->second.value)
        cell.metrics[name] = {*it->second.value, it->second.lo, it->second.hi};
    set.cells.push_back(std::move(cell));
  }
  return set;
}

Result<CellSet> load_watch(const fs::path& dir) {
  Cell cell;
  cell.kind = Kind::kWatch;
  cell.source = dir.string();
  std::optional<verdict_file::Verdict> verdict;
  if (fs::exists(dir / "verdict.json")) {
    auto v = verdict_file::read_verdict((dir / "verdict.json").string());
    if (!v) return v.error();
    verdict = std::move(*v);
    cell.verdict = verdict->verdict;
  }
  std::optional<runner::RunRecord> run;
  if (fs::exists(dir / "run.json")) {
    auto r = runner::read_run_json((dir / "run.json").string());
    if (!r) return r.error();
    run = std::move(*r);
  }
  std::vector<std::string> command;
  std::optional<timeline::Timeline> tl;
  if (fs::exists(dir / "timeline.jsonl")) {
    auto t = timeline::read_timeline((dir / "timeline.jsonl").string());
    if (!t) return t.error();
    tl = std::move(*t);
    command = tl->header.command;
    cell.configuration = tl->header.allocator.name;
    if (!tl->header.allocator.verified) {
      cell.status = Status::kUnverified;
      cell.status_detail = std::string("allocator identified as ") +
                           formats::backend_name(tl->header.allocator.backend);
    }
  }
  if (run) {
    if (command.empty()) command = run->command;
    cell.configuration = run->configuration;
    if (!run->verified) {
      cell.status = Status::kUnverified;
      cell.status_detail = run->mismatch.empty() ? "allocator not verified" : run->mismatch;
    }
  }
  // --name names the cell; else the program's name (two python services would collide).
  cell.workload =
      verdict && !verdict->name().empty() ? verdict->name() : runner::workload_name(command);
  if (cell.configuration.empty()) cell.configuration = "unknown";
  if (!verdict && !tl)
    return make_error(dir.string() + ": expected a watch directory (verdict.json, timeline.jsonl)");

  if (tl) {
    const TimelineMetrics tm =
        timeline_metrics(*tl, verdict ? verdict->knee_ms() : std::nullopt,
                         timeline::ends_with_teardown((dir / "timeline.jsonl").string()));
    if (tm.plateau) cell.metrics[kPlateauRss] = *tm.plateau;
    if (tm.after_frees) cell.metrics[kRssAfterFrees] = *tm.after_frees;
    if (tm.peak) cell.metrics[kPeakRss] = *tm.peak;
  }
  // Peak and plateau from one source, so peak >= plateau always: the timeline's highest RSS
  // sample when there is a timeline (ru_maxrss counts other pages: the exec'ing parent's
  // high-water mark, children waited for), run.json's rusage peak only without one.
  if (run && !cell.metrics.count(kPeakRss))
    cell.metrics[kPeakRss] = Metric{run->peak_rss_bytes, std::nullopt, std::nullopt};
  CellSet set;
  set.sources.push_back(cell.source);
  set.cells.push_back(std::move(cell));
  return set;
}

}  // namespace

namespace {
TimelineMetrics from_levels(const timeline::Levels& l) {
  TimelineMetrics m;
  if (l.plateau) m.plateau = Metric{l.plateau->value, l.plateau->lo, l.plateau->hi};
  if (l.final) m.after_frees = Metric{l.final->value, l.final->lo, l.final->hi};
  if (l.peak) m.peak = Metric{l.peak->value, std::nullopt, std::nullopt};
  return m;
}
}  // namespace

TimelineMetrics timeline_metrics(const std::vector<double>& t_ms, const std::vector<double>& rss,
                                 Opt knee_ms, bool ends_with_teardown) {
  return from_levels(timeline::rss_levels(t_ms, rss, knee_ms, ends_with_teardown));
}

TimelineMetrics timeline_metrics(const timeline::Timeline& tl, Opt knee_ms,
                                 bool ends_with_teardown) {
  return from_levels(timeline::rss_levels(tl, knee_ms, ends_with_teardown));
}

Result<CellSet> load_cells(const std::string& path) {
  fs::path p(path);
  std::error_code ec;
  if (!fs::exists(p, ec)) return make_error(path + ": no such file or directory");
  if (fs::is_directory(p)) {
    if (fs::exists(p / "results.json")) return load_cells((p / "results.json").string());
    if (fs::exists(p / "verdict.json") || fs::exists(p / "timeline.jsonl")) return load_watch(p);
    return make_error(path +
                      ": expected a matrix directory (results.json) or a watch directory "
                      "(verdict.json)");
  }
  auto doc = formats::read_json_document(path);
  if (!doc) return doc.error();
  const std::string schema = formats::schema_of(*doc);
  if (schema.rfind("arenalab.matrix/", 0) == 0) return load_matrix(*doc, path);
  if (schema.rfind("arenalab.baseline/", 0) == 0) return parse_baseline(*doc, path);
  if (schema.rfind("arenalab.verdict/", 0) == 0)
    return load_watch(p.parent_path().empty() ? "." : p.parent_path());
  return make_error(path +
                    ": expected schema arenalab.matrix/1, arenalab.verdict/1 or "
                    "arenalab.baseline/2, found \"" +
                    schema + "\"");
}

Result<CellSet> load_cells(const std::vector<std::string>& paths) {
  CellSet all;
  for (const auto& p : paths) {
    auto s = load_cells(p);
    if (!s) return s.error();
    for (auto& c : s->cells) {
      for (const auto& have : all.cells)
        if (have.key() == c.key())
          return make_error(p + ": " + c.key() + " also comes from " + have.source +
                            " (one result per workload x configuration)");
      all.cells.push_back(std::move(c));
    }
    for (auto& src : s->sources) all.sources.push_back(std::move(src));
  }
  return all;
}

}  // namespace arenalab::check
