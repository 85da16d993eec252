// SPDX-License-Identifier: Apache-2.0
// Loading check cells from matrix results, watch directories, verdicts and baseline files.
#include <algorithm>
#include <filesystem>
#include <map>
#include "arenalab/core/text.h"

#include "arenalab/check/check.h"
#include "arenalab/core/files.h"
#include "arenalab/reports/inputs.h"
#include "arenalab/reports/prepare.h"
#include "arenalab/formats/timeline.h"

namespace arenalab::check {
namespace fs = std::filesystem;
using nlohmann::json;
using reports::number_at;

std::string Cell::key() const {
  std::string k = workload + "/" + configuration;
  if (threads > 1) k += " x" + std::to_string(threads);
  if (kind == "watch") k += " [watch]";
  return k;
}

namespace {

std::string strip_wl(std::string name) { return name.rfind("wl_", 0) == 0 ? name.substr(3) : name; }

Result<json> read_json(const std::string& path) {
  auto doc = read_json_file(path);
  if (!doc) return doc.error();
  if (!doc->is_object()) return make_error(path + ": expected a JSON object");
  return doc;
}

double percentile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  const double pos = q * (v.size() - 1);
  const auto i = static_cast<std::size_t>(pos);
  if (i + 1 >= v.size()) return v.back();
  return v[i] + (pos - i) * (v[i + 1] - v[i]);
}

Metric from_values(const std::vector<double>& v) {
  Metric m;
  m.value = percentile(v, 0.5);
  m.lo = *std::min_element(v.begin(), v.end());
  m.hi = *std::max_element(v.begin(), v.end());
  return m;
}

// Matrix cell figures that feed the check metrics (workload --json keys, units in the name).
const std::map<std::string, std::vector<const char*>> kFigureKeys = {
    {kPlateauRss, {"plateau_rss_bytes", "steady_rss_bytes", "rss_plateau_bytes"}},
    {kRssAfterFrees,
     {"rss_after_frees_bytes", "rss_after_free_bytes", "rss_after_free", "final_rss_bytes"}},
};

const json* figures_of(const json& c) {
  if (c.contains("figures") && c["figures"].is_object()) return &c["figures"];
  if (c.contains("measurements") && c["measurements"].is_object()) return &c["measurements"];
  return nullptr;
}

Result<CellSet> load_matrix(const json& doc, const std::string& file) {
  auto m = reports::parse_matrix(doc, file);
  if (!m) return m.error();
  CellSet set;
  set.sources.push_back(file);
  std::map<std::string, std::map<std::string, std::vector<double>>> extra;  // key -> metric
  std::map<std::string, std::map<std::string, int>> verdicts;
  if (doc.contains("cells") && doc["cells"].is_array())
    for (const json& c : doc["cells"]) {
      if (!c.is_object()) continue;
      Cell probe;
      probe.workload = strip_wl(c.value("workload", ""));
      probe.configuration = c.value("configuration", c.value("allocator", ""));
      probe.threads = static_cast<int>(number_at(c, {"threads"}).value_or(1));
      probe.kind = "matrix";
      const std::string key = probe.key();
      if (const json* f = figures_of(c))
        for (const auto& [metric, names] : kFigureKeys) {
          if (metric == kRssAfterFrees && c.contains("rss_after_free_bytes")) continue;
          for (const char* n : names)
            if (f->contains(n) && (*f)[n].is_number()) {
              extra[key][metric].push_back((*f)[n].get<double>());
              break;
            }
        }
      if (c.contains("verdict")) {
        const json& v = c["verdict"];
        const std::string word = v.is_string() ? v.get<std::string>() : v.value("verdict", "");
        if (!word.empty()) ++verdicts[key][word];
      }
    }
  for (const auto& r : m->rows) {
    Cell cell;
    cell.kind = "matrix";
    cell.workload = strip_wl(r.workload);
    cell.configuration = r.configuration;
    cell.threads = r.threads;
    cell.source = file;
    cell.status = r.status == "partial" ? "ok" : r.status;
    cell.status_detail = r.status_detail;
    if (r.peak_rss.value)
      cell.metrics[kPeakRss] = {*r.peak_rss.value, r.peak_rss.lo, r.peak_rss.hi};
    if (r.rss_after_free.value)
      cell.metrics[kRssAfterFrees] = {*r.rss_after_free.value, r.rss_after_free.lo,
                                      r.rss_after_free.hi};
    for (const auto& [metric, vals] : extra[cell.key()])
      if (!vals.empty() && !cell.metrics.count(metric)) cell.metrics[metric] = from_values(vals);
    // The verdict most repeats agree on.
    int best = 0;
    for (const auto& [word, n] : verdicts[cell.key()])
      if (n > best) {
        best = n;
        cell.verdict = word;
      }
    set.cells.push_back(std::move(cell));
  }
  return set;
}

Result<CellSet> load_watch(const fs::path& dir) {
  Cell cell;
  cell.kind = "watch";
  cell.source = dir.string();
  json verdict, run;
  if (fs::exists(dir / "verdict.json")) {
    auto v = read_json((dir / "verdict.json").string());
    if (!v) return v.error();
    if (v->value("schema", "").rfind("arenalab.verdict/", 0) != 0)
      return make_error((dir / "verdict.json").string() +
                        ": expected \"schema\": \"arenalab.verdict/1\"");
    verdict = std::move(*v);
    cell.verdict = verdict.value("verdict", "");
  }
  if (fs::exists(dir / "run.json")) {
    auto r = read_json((dir / "run.json").string());
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
      cell.status = "unverified";
      cell.status_detail = "allocator identified as " + tl->header.allocator.backend;
    }
  }
  if (run.is_object()) {
    if (command.empty() && run.contains("command") && run["command"].is_array())
      for (const json& a : run["command"])
        if (a.is_string()) command.push_back(a);
    if (run.contains("allocator")) {
      const json& a = run["allocator"];
      const std::string name = a.is_string() ? a.get<std::string>() : a.value("name", "");
      if (!name.empty()) cell.configuration = name;
      if (a.is_object() && a.contains("verified") && a["verified"].is_boolean() && !a["verified"]) {
        cell.status = "unverified";
        cell.status_detail = a.value("mismatch", "allocator not verified");
      }
    }
    if (run.contains("workload") && run["workload"].is_string()) cell.workload = run["workload"];
  }
  if (cell.workload.empty()) cell.workload = reports::workload_name(command);
  if (cell.configuration.empty()) cell.configuration = "unknown";
  if (!verdict.is_object() && !tl)
    return make_error(dir.string() + ": expected a watch directory (verdict.json, timeline.jsonl)");

  const Opt knee = reports::verdict_summary(verdict).knee_ms;
  if (tl) {
    const auto s = timeline::series(*tl, "rss");
    const TimelineMetrics tm = timeline_metrics(s.t_ms, s.value, knee);
    if (tm.plateau) cell.metrics[kPlateauRss] = *tm.plateau;
    if (tm.after_frees) cell.metrics[kRssAfterFrees] = *tm.after_frees;
    if (tm.peak) cell.metrics[kPeakRss] = *tm.peak;
  }
  if (auto p = number_at(run, {"peak_rss_bytes", "max_rss_bytes", "peak_rss"}))
    cell.metrics[kPeakRss] = Metric{*p, std::nullopt, std::nullopt};
  CellSet set;
  set.sources.push_back(cell.source);
  set.cells.push_back(std::move(cell));
  return set;
}

}  // namespace

TimelineMetrics timeline_metrics(const std::vector<double>& t_ms, const std::vector<double>& rss,
                                 Opt knee_ms) {
  TimelineMetrics m;
  if (rss.empty()) return m;
  std::vector<double> window;
  if (knee_ms)
    for (std::size_t i = 0; i < rss.size(); ++i)
      if (t_ms[i] >= *knee_ms) window.push_back(rss[i]);
  if (window.size() < 3) window.assign(rss.begin() + rss.size() / 2, rss.end());
  m.plateau = Metric{percentile(window, 0.5), percentile(window, 0.1), percentile(window, 0.9)};
  const std::vector<double> tail(rss.end() - std::min<std::size_t>(3, rss.size()), rss.end());
  m.after_frees = from_values(tail);
  m.peak = Metric{*std::max_element(rss.begin(), rss.end()), std::nullopt, std::nullopt};
  return m;
}

Result<CellSet> parse_baseline(const json& doc, const std::string& file) {
  CellSet set;
  set.sources.push_back(file);
  if (!doc.contains("cells") || !doc["cells"].is_array())
    return make_error(file + ": expected a \"cells\" array");
  for (const json& c : doc["cells"]) {
    if (!c.is_object() || !c.contains("workload") || !c.contains("configuration"))
      return make_error(file + ": each cell needs \"workload\" and \"configuration\"");
    Cell cell;
    cell.kind = c.value("kind", "matrix");
    cell.workload = c["workload"];
    cell.configuration = c["configuration"];
    cell.threads = c.value("threads", 1);
    cell.status = c.value("status", "ok");
    cell.status_detail = c.value("status_detail", "");
    cell.verdict = c.value("verdict", "");
    cell.source = c.value("source", file);
    if (c.contains("metrics") && c["metrics"].is_object())
      for (const auto& [name, m] : c["metrics"].items()) {
        if (!m.is_object() || !m.contains("value") || !m["value"].is_number())
          return make_error(file + ": metric \"" + name + "\" of " + cell.key() +
                            " needs a numeric \"value\"");
        Metric metric{m["value"].get<double>(), number_at(m, {"lo"}), number_at(m, {"hi"})};
        cell.metrics[name] = metric;
      }
    for (const Cell& have : set.cells)
      if (have.key() == cell.key()) return make_error(file + ": " + cell.key() + " appears twice");
    set.cells.push_back(std::move(cell));
  }
  return set;
}

json baseline_json(const CellSet& set) {
  json cells = json::array();
  for (const Cell& c : set.cells) {
    json j = {{"kind", c.kind},       {"workload", c.workload}, {"configuration", c.configuration},
              {"threads", c.threads}, {"status", c.status},     {"source", c.source}};
    if (!c.status_detail.empty()) j["status_detail"] = c.status_detail;
    if (!c.verdict.empty()) j["verdict"] = c.verdict;
    json metrics = json::object();
    for (const auto& [name, m] : c.metrics) {
      json mj = {{"value", m.value}, {"unit", "bytes"}};
      if (m.lo) mj["lo"] = *m.lo;
      if (m.hi) mj["hi"] = *m.hi;
      metrics[name] = mj;
    }
    j["metrics"] = metrics;
    cells.push_back(j);
  }
  return {{"schema", "arenalab.baseline/1"}, {"sources", set.sources}, {"cells", cells}};
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
  auto doc = read_json(path);
  if (!doc) return doc.error();
  const std::string schema = doc->value("schema", "");
  if (schema.rfind("arenalab.matrix/", 0) == 0) return load_matrix(*doc, path);
  if (schema.rfind("arenalab.baseline/", 0) == 0) return parse_baseline(*doc, path);
  if (schema.rfind("arenalab.verdict/", 0) == 0)
    return load_watch(p.parent_path().empty() ? "." : p.parent_path());
  return make_error(path +
                    ": expected schema arenalab.matrix/1, arenalab.verdict/1 or "
                    "arenalab.baseline/1, found \"" +
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
