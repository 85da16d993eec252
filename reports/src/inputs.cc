// SPDX-License-Identifier: Apache-2.0
// Loading result directories for the report: matrix, run and budget files through their one
// reader in formats/ (errors name the file and the field); verdict and profile documents as
// JSON (their formats belong to the analysis and profiler layers).
#include "arenalab/reports/inputs.h"
#include "arenalab/core/text.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <tuple>

#include "arenalab/core/files.h"
#include "arenalab/formats/json.h"

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

}  // namespace

Result<MatrixInput> parse_matrix(const json& doc, const std::string& file) {
  auto results = matrix::results_from_json(doc, file);
  if (!results) return results.error();
  MatrixInput m;
  m.file = file;
  m.baseline = results->plan.baseline;
  m.rows = matrix::groups(*results);
  if (m.rows.empty()) return make_error(file + ": no cells recorded yet");
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
    auto run = runner::read_run_json((dir / "run.json").string());
    if (!run) return run.error();
    r.run = std::move(*run);
  }
  if (fs::exists(dir / "timeline.jsonl")) {
    auto tl = timeline::read_timeline((dir / "timeline.jsonl").string());
    if (!tl) return tl.error();
    r.timeline = std::move(*tl);
  }
  if (fs::exists(dir / "verdict.json")) {
    const std::string path = (dir / "verdict.json").string();
    auto j = formats::read_json_document(path);
    if (!j) return j.error();
    if (j->value("schema", "").rfind("arenalab.verdict/", 0) != 0)
      return make_error(path + ": expected \"schema\": \"arenalab.verdict/1\", found \"" +
                        j->value("schema", "") + "\"");
    r.verdict = std::move(*j);
    if (r.kind.empty()) r.kind = "watch";
  }
  if (fs::exists(dir / "budget.json")) {
    auto b = budget::read_budget_json((dir / "budget.json").string());
    if (!b) return b.error();
    r.budget = std::move(*b);
    r.kind = "budget";
  }
  if (r.kind.empty()) r.kind = "run";
  std::vector<std::string> command;
  if (r.timeline) command = r.timeline->header.command;
  if (command.empty() && r.run) command = r.run->command;
  if (command.empty() && r.budget) command = r.budget->command;
  r.workload = runner::workload_name(command);
  if (r.run) r.configuration = r.run->configuration;
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
      auto j = formats::read_json_document(f.string());
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
      auto doc = formats::read_json_document(file);
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
