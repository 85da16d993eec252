// SPDX-License-Identifier: Apache-2.0
// Loading result directories for the report: every file (results.json, run.json, timeline.jsonl,
// verdict.json, budget.json, profile.json) through its one reader in formats/; errors name the
// file and the field.
#include "arenalab/reports/inputs.h"
#include "arenalab/core/text.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <optional>
#include <string_view>
#include <tuple>

#include "arenalab/core/files.h"
#include "arenalab/formats/json.h"
#include "arenalab/profilers/flamegraph.h"

namespace arenalab::reports {
namespace fs = std::filesystem;
using nlohmann::json;

std::vector<LatencyCdf> latency_cdfs(const std::vector<matrix::Cell>& cells) {
  std::vector<LatencyCdf> out;
  // Merged counts by upper bound per entry and series, then flattened in order.
  std::vector<std::vector<std::map<double, double>>> merged;
  for (const matrix::Cell& c : cells) {
    if (c.status != matrix::CellStatus::kOk) continue;
    for (const auto& op : workload::kLatencyOps) {
      const auto buckets = workload::latency_histogram(c.measurements, op);
      if (buckets.empty()) continue;
      auto it = std::find_if(out.begin(), out.end(), [&](const LatencyCdf& d) {
        return d.workload == c.workload && d.threads == c.threads && d.op == op;
      });
      if (it == out.end()) {
        out.push_back({c.workload, op, c.threads, {}});
        merged.emplace_back();
        it = out.end() - 1;
      }
      auto& series = it->series;
      auto& counts = merged[static_cast<std::size_t>(it - out.begin())];
      auto s = std::find_if(series.begin(), series.end(), [&](const LatencyCdf::Series& x) {
        return x.configuration == c.configuration;
      });
      if (s == series.end()) {
        series.push_back({c.configuration, {}, 0, 0});
        counts.emplace_back();
        s = series.end() - 1;
      }
      auto& m = counts[static_cast<std::size_t>(s - series.begin())];
      for (const auto& b : buckets) m[b.upper_ns] += b.count;
      ++s->cells;
    }
  }
  for (std::size_t i = 0; i < out.size(); ++i)
    for (std::size_t k = 0; k < out[i].series.size(); ++k) {
      auto& s = out[i].series[k];
      for (const auto& [upper, count] : merged[i][k]) {
        s.buckets.push_back({upper, count});
        s.samples += count;
      }
    }
  return out;
}

Result<MatrixInput> parse_matrix(const json& doc, const std::string& file) {
  auto results = matrix::results_from_json(doc, file);
  if (!results) return results.error();
  MatrixInput m;
  m.file = file;
  m.baseline = results->plan.baseline;
  m.rows = matrix::groups(*results);
  if (m.rows.empty()) return make_error(file + ": no cells recorded yet");
  m.recommendation = results->recommendation;
  m.cdfs = latency_cdfs(results->cells);
  // Node types: the cells of each CPU model on their own. Their figures are the medians of the
  // cells with min..max and ratios of medians (the recorded summaries mix the types).
  std::map<std::string, matrix::Results> by_cpu;
  std::map<std::string, std::map<std::string, int>> hosts;
  for (const matrix::Cell& c : results->cells) {
    if (c.node_host.empty()) continue;
    matrix::Results& t = by_cpu[c.node_cpu_model];
    t.plan = results->plan;
    t.cells.push_back(c);
    ++hosts[c.node_cpu_model][c.node_host];
  }
  if (by_cpu.size() >= 2)
    for (const auto& [cpu, t] : by_cpu)
      m.node_types.push_back({cpu, hosts[cpu], matrix::groups(t)});
  return m;
}

std::vector<Callsite> profile_callsites(const profile_file::Profile& profile) {
  std::vector<Callsite> out;
  for (const profile_file::Callsite& c : profile.callsites) {
    Callsite s;
    // The first frame outside the allocator, as `arenalab profile` prints it: "function
    // (file:line)", "function in module", "0x<address> in module" when it has no symbol; a
    // stack with no such frame is "(allocator/runtime only)" with its outermost frame (never
    // the allocator's own frames, which are raw addresses where the terminal showed a name).
    if (c.site) {
      s.site = c.site->function;
      if (s.site.empty()) s.site = fmt::format("0x{:x}", c.site->address);
      if (!c.site->file.empty())
        s.site += " (" + fs::path(c.site->file).filename().string() +
                  (c.site->line > 0 ? ":" + std::to_string(c.site->line) : "") + ")";
      else if (!c.site->module.empty())
        s.site += " in " + fs::path(c.site->module).filename().string();
    } else if (!c.stack.empty()) {
      s.site = "(allocator/runtime only) " + c.stack.back();
    }
    if (s.site.empty()) s.site = "(unknown site)";
    if (c.source != profile_file::SiteSource::kHeap)
      s.site = "[" + std::string(profile_file::source_name(c.source)) + "] " + s.site;
    s.verdict = c.verdict;
    // Growth over the profiled interval: first dump of the series to the last.
    s.end_bytes = c.bytes_now;
    if (!c.live_bytes.empty()) {
      s.start_bytes = c.live_bytes.front();
      s.growth_bytes = *s.end_bytes - *s.start_bytes;
    }
    s.slope_bytes_per_s = c.slope_bytes_per_s;
    out.push_back(std::move(s));
  }
  std::stable_sort(out.begin(), out.end(), [](const Callsite& a, const Callsite& b) {
    return a.growth_bytes.value_or(-1e300) > b.growth_bytes.value_or(-1e300);
  });
  return out;
}

const char* run_kind_name(RunKind k) {
  switch (k) {
    case RunKind::kRun:
      return "run";
    case RunKind::kWatch:
      return "watch";
    case RunKind::kBudget:
      return "budget";
    case RunKind::kMatrixCell:
      return "matrix-cell";
  }
  return "run";
}

namespace {

// A run-like directory: run.json and/or timeline.jsonl, plus verdict.json / budget.json.
// `cell`: a matrix cell's directory (a kMatrixCell unless it holds a budget).
Result<RunInput> load_run_dir(const fs::path& dir, bool cell) {
  RunInput r;
  r.dir = dir.string();
  std::optional<RunKind> kind;
  if (cell) kind = RunKind::kMatrixCell;
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
    auto v = verdict_file::read_verdict((dir / "verdict.json").string());
    if (!v) return v.error();
    r.verdict = std::move(*v);
    if (!kind) kind = RunKind::kWatch;
  }
  if (fs::exists(dir / "budget.json")) {
    auto b = budget::read_budget_json((dir / "budget.json").string());
    if (!b) return b.error();
    r.budget = std::move(*b);
    kind = RunKind::kBudget;
  }
  r.kind = kind.value_or(RunKind::kRun);
  std::vector<std::string> command;
  if (r.timeline) command = r.timeline->header.command;
  if (command.empty() && r.run) command = r.run->command;
  if (command.empty() && r.budget) command = r.budget->command;
  r.workload = runner::workload_name(command);
  if (r.run) r.configuration = r.run->configuration;
  if (r.configuration.empty() && r.timeline) r.configuration = r.timeline->header.allocator.name;
  if (r.configuration.empty()) r.configuration = "unknown";
  r.allocator = r.allocator_short = r.configuration;
  if (r.run && !r.run->verified) {
    const std::string found = formats::backend_name(r.run->identified_backend);
    r.allocator = found + " (NOT verified; asked for " + r.configuration + ")";
    r.allocator_short = found + " (NOT verified)";
  }
  for (const std::string& arg : command) {
    const bool plain = !arg.empty() && arg.find_first_not_of(
                                           "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                           "0123456789_-./=:,+@%") == std::string::npos;
    std::string quoted = "'";
    for (char c : arg) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
    r.command += (r.command.empty() ? "" : " ") + (plain ? arg : quoted + "'");
  }
  return r;
}

bool has_any(const fs::path& dir, std::initializer_list<const char*> names) {
  for (const char* n : names)
    if (fs::exists(dir / n)) return true;
  return false;
}

// The inverse of core's markup_escape (the five entities it writes).
std::string markup_unescape(std::string_view s) {
  static const std::pair<std::string_view, char> kEntities[] = {
      {"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}};
  std::string out;
  for (std::size_t i = 0; i < s.size();) {
    bool done = false;
    for (const auto& [entity, c] : kEntities)
      if (s.substr(i, entity.size()) == entity) {
        out += c;
        i += entity.size();
        done = true;
        break;
      }
    if (!done) out += s[i++];
  }
  return out;
}

// Redraws <stem>.svg from <stem>.folded with flamegraph_svg: the title is the SVG's (its first
// 15 px text), the red frames are those drawn red in it (data-n of a frame whose rect is
// rgb(220,40,30)); an SVG that is not arenalab's flame graph is left to the call graphs.
std::optional<FlameGraph> redraw_flamegraph(const fs::path& svg_path) {
  fs::path folded_path = svg_path;
  folded_path.replace_extension(".folded");
  if (!fs::exists(folded_path)) return std::nullopt;
  auto svg = read_file(svg_path.string());
  auto folded = read_file(folded_path.string());
  if (!svg || !folded || svg->find("class=\"arenalab-flamegraph\"") == std::string::npos)
    return std::nullopt;
  std::string title = svg_path.filename().string();
  const std::string title_open = "font-size=\"15\">";
  if (auto a = svg->find(title_open); a != std::string::npos)
    if (auto b = svg->find("</text>", a); b != std::string::npos)
      title = markup_unescape(
          std::string_view(*svg).substr(a + title_open.size(), b - a - title_open.size()));
  std::vector<std::string> hot;
  for (std::size_t at = svg->find("<g class=\"fg\""); at != std::string::npos;
       at = svg->find("<g class=\"fg\"", at + 1)) {
    const auto end = svg->find("</g>", at);
    const std::string_view g = std::string_view(*svg).substr(at, end - at);
    if (g.find("fill=\"rgb(220,40,30)\"") == std::string_view::npos) continue;
    const auto n = g.find("data-n=\"");
    if (n == std::string_view::npos) continue;
    const auto q = g.find('"', n + 8);
    hot.push_back(markup_unescape(g.substr(n + 8, q - n - 8)));
  }
  return FlameGraph{svg_path.filename().string(), profilers::flamegraph_svg(*folded, title, hot)};
}

Status load_profile_dir(const fs::path& dir, ProfileInput* p) {
  p->dir = dir.string();
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir)) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    if (f.extension() != ".svg") continue;
    if (auto fg = redraw_flamegraph(f))
      p->flamegraphs.push_back(std::move(*fg));
    else
      p->svgs.push_back(f.string());
  }
  if (fs::exists(dir / "profile.json")) {
    auto profile = profile_file::read_profile((dir / "profile.json").string());
    if (!profile) return profile.error();
    p->profiler = profile->profiler;
    p->callsites = profile_callsites(*profile);
    if (profile->outside_heap) p->outside = profile->outside_heap->explanation;
    p->notes = profile->notes;
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
        auto r = load_run_dir(d, /*cell=*/true);
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
      auto r = load_run_dir(path, /*cell=*/false);
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
      if (!p.callsites.empty() || !p.svgs.empty() || !p.flamegraphs.empty()) {
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
