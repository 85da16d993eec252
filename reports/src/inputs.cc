// SPDX-License-Identifier: Apache-2.0
// Loading result directories for the report. Readers are tolerant of optional fields (absent
// stays absent) and strict about the schema line and JSON syntax (errors name the file).
#include "arenalab/reports/inputs.h"
#include "arenalab/core/text.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <tuple>

#include "arenalab/allocators/backend.h"
#include "arenalab/core/files.h"

namespace arenalab::reports {
namespace fs = std::filesystem;
using nlohmann::json;

Opt number_at(const json& obj, std::initializer_list<const char*> keys) {
  if (!obj.is_object()) return std::nullopt;
  for (const char* k : keys) {
    auto it = obj.find(k);
    if (it != obj.end() && it->is_number()) return it->get<double>();
  }
  return std::nullopt;
}

namespace {

std::string string_at(const json& obj, std::initializer_list<const char*> keys) {
  if (!obj.is_object()) return {};
  for (const char* k : keys) {
    auto it = obj.find(k);
    if (it != obj.end() && it->is_string()) return it->get<std::string>();
  }
  return {};
}

Result<json> read_json(const std::string& path, const std::string& schema_prefix) {
  auto parsed = read_json_file(path);
  if (!parsed) return parsed.error();
  json doc = std::move(*parsed);
  if (!doc.is_object()) return make_error(path + ": expected a JSON object");
  const std::string schema = doc.value("schema", "");
  if (!schema_prefix.empty() && schema.rfind(schema_prefix, 0) != 0)
    return make_error(path + ": expected \"schema\": \"" + schema_prefix + "1\", found \"" +
                      schema + "\"");
  return doc;
}

double median_of(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// A metric object of a summary: {"median","min","max","interval":[lo,hi] | {"lo","hi"},
// "ci_lo","ci_hi","ratio"}; or a bare number.
void read_metric(const json& m, Estimate* e, Opt* ratio) {
  if (m.is_number()) {
    e->value = m.get<double>();
    return;
  }
  if (!m.is_object()) return;
  if (auto v = number_at(m, {"median", "value", "mean"})) e->value = v;
  Opt lo, hi;
  if (m.contains("interval")) {
    const json& iv = m["interval"];
    if (iv.is_array() && iv.size() == 2 && iv[0].is_number() && iv[1].is_number()) {
      lo = iv[0].get<double>();
      hi = iv[1].get<double>();
    } else if (iv.is_object()) {
      lo = number_at(iv, {"lo", "low", "lower"});
      hi = number_at(iv, {"hi", "high", "upper"});
    }
  }
  if (!lo) lo = number_at(m, {"ci_low", "ci_lo", "lo", "interval_lo"});
  if (!hi) hi = number_at(m, {"ci_high", "ci_hi", "hi", "interval_hi"});
  if (!lo) lo = number_at(m, {"min"});
  if (!hi) hi = number_at(m, {"max"});
  if (lo) e->lo = lo;
  if (hi) e->hi = hi;
  if (auto r = number_at(m, {"ratio", "ratio_to_baseline"})) *ratio = r;
}

// One summary entry per metric (arenalab.matrix/1 as written by the matrix):
// {"metric": "wall_ms", "value": {median, min, max, ci_low, ci_high}, "ratio_to_baseline": {...}}.
void read_summary_entry(const json& s, Estimate* e, Opt* ratio) {
  Opt unused;
  read_metric(s.contains("value") ? s["value"] : json(), e, &unused);
  if (s.contains("ratio_to_baseline")) {
    const json& r = s["ratio_to_baseline"];
    *ratio = r.is_number() ? Opt(r.get<double>()) : number_at(r, {"median", "value"});
  }
}

const json* metric_in(const json& obj, std::initializer_list<const char*> keys) {
  for (const char* k : keys) {
    if (obj.contains(k)) return &obj[k];
    if (obj.contains("metrics") && obj["metrics"].is_object() && obj["metrics"].contains(k))
      return &obj["metrics"][k];
    if (obj.contains("figures") && obj["figures"].is_object() && obj["figures"].contains(k))
      return &obj["figures"][k];
  }
  return nullptr;
}

constexpr std::initializer_list<const char*> kTimeKeys = {"wall_ms", "time_ms", "elapsed_ms",
                                                          "median_ms"};
constexpr std::initializer_list<const char*> kRssKeys = {"peak_rss_bytes", "peak_rss",
                                                         "max_rss_bytes", "rss_peak_bytes"};
constexpr std::initializer_list<const char*> kAfterFreeKeys = {"rss_after_free_bytes",
                                                               "rss_after_frees_bytes"};

bool is_one_of(const std::string& s, std::initializer_list<const char*> keys) {
  for (const char* k : keys)
    if (s == k) return true;
  return false;
}

bool cell_failed(const json& c, std::string* why) {
  const std::string status = string_at(c, {"status"});
  if (status == "failed" || status == "error" || status == "crashed" || status == "timeout") {
    *why = string_at(c, {"message", "error", "reason", "detail"});
    if (why->empty()) *why = status;
    return true;
  }
  Opt code = number_at(c, {"exit_code"});
  Opt sig = number_at(c, {"signal"});
  if (c.contains("exit") && c["exit"].is_object()) {
    if (!code) code = number_at(c["exit"], {"code", "exit_code"});
    if (!sig) sig = number_at(c["exit"], {"signal"});
  }
  if (sig) {
    *why = "killed by signal " + std::to_string(static_cast<int>(*sig));
    return true;
  }
  if (code && *code != 0) {
    *why = "exit " + std::to_string(static_cast<int>(*code));
    return true;
  }
  return false;
}

bool cell_unverified(const json& c, std::string* why) {
  bool verified = true;
  if (c.contains("verified") && c["verified"].is_boolean()) verified = c["verified"];
  if (c.contains("allocator") && c["allocator"].is_object() &&
      c["allocator"].contains("verified") && c["allocator"]["verified"].is_boolean())
    verified = c["allocator"]["verified"];
  if (c.value("status", "") == "unverified") verified = false;
  if (!verified) {
    *why = string_at(c, {"mismatch", "verification", "reason"});
    if (why->empty()) *why = "allocator not verified";
  }
  return !verified;
}

using Key = std::tuple<std::string, std::string, int>;

}  // namespace

std::string workload_name(const std::vector<std::string>& command) {
  if (command.empty()) return "unknown";
  std::string name = fs::path(command[0]).filename().string();
  if (name.rfind("wl_", 0) == 0) {
    name = name.substr(3);
    const auto dash = name.rfind('-');
    if (dash != std::string::npos && backend_from_name(name.substr(dash + 1)) != Backend::kUnknown)
      name = name.substr(0, dash);
  }
  return name;
}

Result<MatrixInput> parse_matrix(const json& doc, const std::string& file) {
  MatrixInput m;
  m.file = file;
  m.baseline = string_at(doc, {"baseline", "baseline_configuration"});
  if (m.baseline.empty() && doc.contains("plan")) m.baseline = string_at(doc["plan"], {"baseline"});
  std::vector<Key> order;
  std::map<Key, MatrixRow> rows;
  std::map<Key, std::vector<double>> times, rsses, after_frees;
  auto row_for = [&](const json& c) -> MatrixRow& {
    Key k{string_at(c, {"workload"}), string_at(c, {"configuration", "allocator"}),
          static_cast<int>(number_at(c, {"threads"}).value_or(1))};
    auto [it, fresh] = rows.try_emplace(k);
    if (fresh) {
      order.push_back(k);
      it->second.workload = std::get<0>(k);
      it->second.configuration = std::get<1>(k);
      it->second.threads = std::get<2>(k);
    }
    return it->second;
  };
  if (doc.contains("cells") && doc["cells"].is_array()) {
    for (const json& c : doc["cells"]) {
      if (!c.is_object()) continue;
      MatrixRow& r = row_for(c);
      Key k{r.workload, r.configuration, r.threads};
      ++r.repeats;
      std::string why;
      if (cell_failed(c, &why)) {
        ++r.failed_repeats;
        r.status_detail = why;
        continue;
      }
      if (cell_unverified(c, &why)) {
        r.status = "unverified";
        r.status_detail = why;
      }
      if (const json* t = metric_in(c, kTimeKeys); t && t->is_number())
        times[k].push_back(t->get<double>());
      if (const json* p = metric_in(c, kRssKeys); p && p->is_number())
        rsses[k].push_back(p->get<double>());
      if (const json* p = metric_in(c, kAfterFreeKeys); p && p->is_number())
        after_frees[k].push_back(p->get<double>());
    }
  }
  // Figures from the repeats: median and the min..max range.
  for (auto& [k, r] : rows) {
    if (r.failed_repeats == r.repeats && r.repeats > 0)
      r.status = "failed";
    else if (r.failed_repeats > 0 && r.status == "ok")
      r.status = "partial";
    for (auto [vals, est] : {std::pair{&times[k], &r.time_ms}, std::pair{&rsses[k], &r.peak_rss},
                             std::pair{&after_frees[k], &r.rss_after_free}}) {
      if (vals->empty()) continue;
      est->value = median_of(*vals);
      est->lo = *std::min_element(vals->begin(), vals->end());
      est->hi = *std::max_element(vals->begin(), vals->end());
    }
  }
  // Recorded summaries win: their interval is the one the matrix computed.
  for (const char* key : {"summaries", "summary", "configurations"}) {
    if (!doc.contains(key) || !doc[key].is_array()) continue;
    for (const json& s : doc[key]) {
      if (!s.is_object() || string_at(s, {"workload"}).empty()) continue;
      MatrixRow& r = row_for(s);
      if (s.contains("metric") && s["metric"].is_string()) {
        const std::string metric = s["metric"];
        Opt unused;
        if (is_one_of(metric, kTimeKeys)) read_summary_entry(s, &r.time_ms, &r.time_ratio);
        if (is_one_of(metric, kRssKeys)) read_summary_entry(s, &r.peak_rss, &r.rss_ratio);
        if (is_one_of(metric, kAfterFreeKeys)) read_summary_entry(s, &r.rss_after_free, &unused);
        continue;
      }
      if (const json* t = metric_in(s, kTimeKeys)) read_metric(*t, &r.time_ms, &r.time_ratio);
      if (const json* p = metric_in(s, kRssKeys)) read_metric(*p, &r.peak_rss, &r.rss_ratio);
      if (auto n = number_at(s, {"repeats", "n"}); n && r.repeats == 0)
        r.repeats = static_cast<int>(*n);
      std::string why;
      if (r.status == "ok" && cell_unverified(s, &why)) {
        r.status = "unverified";
        r.status_detail = why;
      }
    }
  }
  if (order.empty())
    return make_error(file + ": no \"cells\" or \"summaries\" with a \"workload\" field");
  // Ratios not recorded: median over the baseline configuration's median, same workload and
  // threads, when that baseline cell is usable.
  for (auto& [k, r] : rows) {
    auto b = rows.find(Key{std::get<0>(k), m.baseline, std::get<2>(k)});
    if (m.baseline.empty() || b == rows.end() || b->second.status == "failed" ||
        r.status == "failed")
      continue;
    if (!r.time_ratio && r.time_ms.value && b->second.time_ms.value.value_or(0) > 0)
      r.time_ratio = *r.time_ms.value / *b->second.time_ms.value;
    if (!r.rss_ratio && r.peak_rss.value && b->second.peak_rss.value.value_or(0) > 0)
      r.rss_ratio = *r.peak_rss.value / *b->second.peak_rss.value;
  }
  for (const Key& k : order) m.rows.push_back(rows[k]);
  return m;
}

std::vector<Callsite> parse_callsites(const json& doc) {
  std::vector<Callsite> out;
  const json* arr = nullptr;
  for (const char* k : {"callsites", "top", "sites", "top_growing"})
    if (doc.contains(k) && doc[k].is_array()) {
      arr = &doc[k];
      break;
    }
  if (!arr) return out;
  for (const json& c : *arr) {
    if (!c.is_object()) continue;
    Callsite s;
    if (c.contains("frames") && c["frames"].is_array()) {
      for (const json& f : c["frames"]) {
        std::string name =
            f.is_string() ? f.get<std::string>() : string_at(f, {"function", "name"});
        if (name.empty()) continue;
        if (!s.site.empty()) s.site += " < ";
        s.site += name;
      }
    }
    // arenalab.profile/1: "site" {function, file, line} and "stack" (strings, innermost first).
    if (s.site.empty() && c.contains("site") && c["site"].is_object()) {
      const json& f = c["site"];
      s.site = string_at(f, {"function", "name"});
      const std::string file = string_at(f, {"file"});
      if (!file.empty())
        s.site += " (" + fs::path(file).filename().string() +
                  (number_at(f, {"line"}).value_or(0) > 0
                       ? ":" + std::to_string(static_cast<long>(*number_at(f, {"line"})))
                       : "") +
                  ")";
    }
    if (s.site.empty() && c.contains("stack") && c["stack"].is_array())
      for (const json& f : c["stack"])
        if (f.is_string()) s.site += (s.site.empty() ? "" : " < ") + f.get<std::string>();
    if (s.site.empty()) s.site = string_at(c, {"site", "function", "name", "stack", "location"});
    s.verdict = string_at(c, {"verdict"});
    if (s.site.empty()) s.site = "(unknown site)";
    if (const std::string source = string_at(c, {"source"}); !source.empty() && source != "heap")
      s.site = "[" + source + "] " + s.site;
    s.growth_bytes = number_at(c, {"growth_bytes", "growth", "delta_bytes"});
    s.start_bytes = number_at(c, {"start_bytes", "first_bytes", "bytes_start"});
    s.end_bytes =
        number_at(c, {"end_bytes", "last_bytes", "bytes_end", "bytes_now", "live_bytes", "bytes"});
    // A live-bytes series per dump: growth from the first to the last.
    if (c.contains("live_bytes") && c["live_bytes"].is_array() && !c["live_bytes"].empty() &&
        c["live_bytes"].front().is_number() && c["live_bytes"].back().is_number()) {
      if (!s.start_bytes) s.start_bytes = c["live_bytes"].front().get<double>();
      if (!s.end_bytes) s.end_bytes = c["live_bytes"].back().get<double>();
    }
    s.slope_bytes_per_s = number_at(c, {"slope_bytes_per_s", "slope"});
    if (!s.growth_bytes && s.start_bytes && s.end_bytes)
      s.growth_bytes = *s.end_bytes - *s.start_bytes;
    out.push_back(std::move(s));
  }
  std::stable_sort(out.begin(), out.end(), [](const Callsite& a, const Callsite& b) {
    return a.growth_bytes.value_or(-1e300) > b.growth_bytes.value_or(-1e300);
  });
  return out;
}

namespace {

// A run-like directory: run.json and/or timeline.jsonl, plus verdict.json / budget.json.
Result<RunInput> load_run_dir(const fs::path& dir, const std::string& kind_hint) {
  RunInput r;
  r.dir = dir.string();
  r.kind = kind_hint;
  if (fs::exists(dir / "run.json")) {
    auto j = read_json((dir / "run.json").string(), "arenalab.run/");
    if (!j) return j.error();
    r.run = std::move(*j);
  }
  if (fs::exists(dir / "timeline.jsonl")) {
    auto tl = timeline::read_timeline((dir / "timeline.jsonl").string());
    if (!tl) return tl.error();
    r.timeline = std::move(*tl);
  }
  if (fs::exists(dir / "verdict.json")) {
    auto j = read_json((dir / "verdict.json").string(), "arenalab.verdict/");
    if (!j) return j.error();
    r.verdict = std::move(*j);
    if (r.kind.empty()) r.kind = "watch";
  }
  if (fs::exists(dir / "budget.json")) {
    auto j = read_json((dir / "budget.json").string(), "arenalab.budget/");
    if (!j) return j.error();
    r.budget = std::move(*j);
    r.kind = "budget";
  }
  if (r.kind.empty()) r.kind = "run";
  std::vector<std::string> command;
  if (r.timeline) command = r.timeline->header.command;
  if (command.empty() && r.run.is_object() && r.run.contains("command") &&
      r.run["command"].is_array())
    for (const json& a : r.run["command"])
      if (a.is_string()) command.push_back(a);
  r.workload = workload_name(command);
  if (r.run.is_object()) {
    r.workload =
        string_at(r.run, {"workload"}).empty() ? r.workload : string_at(r.run, {"workload"});
    const json& a = r.run.contains("allocator") ? r.run["allocator"] : json();
    r.configuration =
        a.is_string() ? a.get<std::string>() : string_at(a, {"name", "configuration"});
    if (r.configuration.empty()) r.configuration = string_at(r.run, {"configuration"});
  }
  if (r.configuration.empty() && r.timeline) r.configuration = r.timeline->header.allocator.name;
  if (r.configuration.empty()) r.configuration = "unknown";
  return r;
}

bool has_any(const fs::path& dir, std::initializer_list<const char*> names) {
  for (const char* n : names)
    if (fs::exists(dir / n)) return true;
  return false;
}

Status load_profile_dir(const fs::path& dir, ProfileInput* p) {
  p->dir = dir.string();
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir)) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    if (f.extension() == ".svg") p->svgs.push_back(f.string());
    if (f.extension() == ".json" && f.filename() != "run.json") {
      auto j = read_json(f.string(), "");
      if (!j) return j.error();
      if (p->profiler.empty()) p->profiler = string_at(*j, {"profiler"});
      auto sites = parse_callsites(*j);
      if (!sites.empty() && p->callsites.empty()) p->callsites = std::move(sites);
      if (j->contains("outside_heap") && (*j)["outside_heap"].is_object() && p->outside.empty())
        p->outside = string_at((*j)["outside_heap"], {"explanation"});
      if (j->contains("notes") && (*j)["notes"].is_array() && p->notes.empty())
        for (const auto& n : (*j)["notes"])
          if (n.is_string()) p->notes.push_back(n.get<std::string>());
    }
  }
  return Ok{};
}

}  // namespace

Result<Inputs> load_inputs(const std::vector<std::string>& paths) {
  Inputs in;
  for (const std::string& arg : paths) {
    fs::path path(arg);
    std::error_code ec;
    if (!fs::exists(path, ec)) return make_error(arg + ": no such file or directory");
    if (fs::is_regular_file(path) && path.filename() == "results.json") path = path.parent_path();
    if (!fs::is_directory(path))
      return make_error(arg +
                        ": expected a result directory (run, watch, matrix, profile, "
                        "budget) or a results.json");
    bool recognised = false;
    if (fs::exists(path / "results.json")) {
      recognised = true;
      const std::string file = (path / "results.json").string();
      auto doc = read_json(file, "arenalab.matrix/");
      if (!doc) return doc.error();
      auto m = parse_matrix(*doc, file);
      if (!m) return m.error();
      m->dir = path.string();
      in.matrices.push_back(std::move(*m));
      // Cells recorded with --timeline: their run directories, one per workload x
      // configuration x threads (the first repeat found).
      std::map<std::string, bool> seen;
      std::vector<fs::path> cell_dirs;
      for (auto it = fs::recursive_directory_iterator(path, ec);
           it != fs::recursive_directory_iterator(); it.increment(ec)) {
        if (ec) break;
        if (it.depth() > 3) it.disable_recursion_pending();
        if (it->is_directory() && fs::exists(it->path() / "timeline.jsonl"))
          cell_dirs.push_back(it->path());
      }
      std::sort(cell_dirs.begin(), cell_dirs.end());
      for (const auto& d : cell_dirs) {
        auto r = load_run_dir(d, "matrix-cell");
        if (!r) {
          in.warnings.push_back(r.error().message);
          continue;
        }
        const std::string key = r->workload + "\x1f" + r->configuration;
        if (seen[key]) continue;
        seen[key] = true;
        in.runs.push_back(std::move(*r));
      }
    }
    if (has_any(path, {"run.json", "timeline.jsonl", "verdict.json", "budget.json"})) {
      recognised = true;
      auto r = load_run_dir(path, "");
      if (!r) return r.error();
      in.runs.push_back(std::move(*r));
    }
    bool profile_like = false;
    for (const auto& e : fs::directory_iterator(path, ec)) {
      const auto n = e.path().filename().string();
      if (e.path().extension() == ".svg" || n == "profile.json" ||
          n.find(".heap") != std::string::npos)
        profile_like = true;
    }
    if (profile_like) {
      ProfileInput p;
      auto st = load_profile_dir(path, &p);
      if (!st) return st.error();
      // Verdict call sites (watch with --mode sample) appear with the watch; a profile directory
      // without a table or a graph adds nothing.
      if (!p.callsites.empty() || !p.svgs.empty()) {
        recognised = true;
        in.profiles.push_back(std::move(p));
      } else if (!recognised) {
        in.warnings.push_back(arg + ": heap dumps but no call-site table or call-graph SVG");
        recognised = true;
      }
    }
    if (!recognised)
      return make_error(arg +
                        ": no results.json, run.json, timeline.jsonl, verdict.json, "
                        "budget.json or profile output found");
  }
  return in;
}

}  // namespace arenalab::reports
