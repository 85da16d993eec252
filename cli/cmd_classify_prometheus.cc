// SPDX-License-Identifier: Apache-2.0
// arenalab classify --prometheus URL (--held QUERY [--rss QUERY] | --preset NAME): one row per
// matched series, the worst first; verdict.json per series (--out DIR) and all of them in one
// arenalab.fleet/1 document (--json-out FILE, or --json on stdout instead of the table). Registers
// no subcommand: cmd_classify.cc owns "classify".
#include <fmt/format.h>

#include <chrono>
#include <iostream>
#include <optional>
#include <sstream>

#include "arenalab/analysis/verdict_json.h"
#include "arenalab/core/files.h"
#include "arenalab/core/sizes.h"
#include "arenalab/fleet/fleet.h"
#include "arenalab/formats/fleet.h"
#include "classify_output.h"
#include "classify_prometheus.h"

namespace arenalab::cli {
namespace {

constexpr const char* kCmd = "classify";

std::string per_day(double b) { return (b < 0 ? "-" : "+") + format_bytes(std::fabs(b)) + "/day"; }

// A directory name for a series: its label values, safe characters only.
std::string dir_name(std::size_t i, const prometheus::Labels& key) {
  std::string s = fmt::format("{:02}", i + 1);
  for (const auto& [k, v] : key) {
    s += "-";
    for (char c : v) s += (std::isalnum(static_cast<unsigned char>(c)) || c == '.') ? c : '_';
  }
  return s.substr(0, 120);
}

double last_value(const std::optional<prometheus::RangeSeries>& s) {
  if (!s) return NAN;
  for (auto it = s->value.rbegin(); it != s->value.rend(); ++it)
    if (std::isfinite(*it)) return *it;
  return NAN;
}

}  // namespace

void add_prometheus_options(CLI::App* cmd, PrometheusArgs& a) {
  const char* g = "Prometheus (the fleet view, docs/fleet.md)";
  cmd->add_option("--prometheus", a.url, "Classify the series a Prometheus server has (base URL)")
      ->group(g);
  cmd->add_option("--held", a.held, "PromQL: what each program holds (allocated / live bytes)")
      ->group(g);
  cmd->add_option("--rss", a.rss, "PromQL: each program's RSS (or working set)")->group(g);
  cmd->add_option("--resident", a.resident, "PromQL: the allocator's resident bytes")->group(g);
  cmd->add_option("--restarts", a.restarts,
                  "PromQL: a restart marker per program, its start time "
                  "(process_start_time_seconds) or a counter (*_total); each life between "
                  "restarts is judged on its own (presets give one)")
      ->group(g);
  cmd->add_option("--preset", a.preset, "redis | jvm | go | process | cadvisor | arenalab")
      ->group(g);
  cmd->add_option("--selector", a.selector,
                  "Label matchers added to a preset's metrics: {job=\"x\"}")
      ->group(g);
  cmd->add_option("--range", a.range, "How far back (Prometheus duration, default 6h)")->group(g);
  cmd->add_option("--step", a.step, "Resolution of the range queries (default 15s)")->group(g);
  cmd->add_option("--by", a.by, "Match series on these labels (default: all but __name__)")
      ->delimiter(',')
      ->group(g);
  cmd->add_option("--out", a.out_dir, "Write DIR/<series>/verdict.json for each series")->group(g);
  cmd->add_option("--json-out", a.json_file,
                  "Write every series' verdict to FILE (arenalab.fleet/1)")
      ->group(g);
  cmd->add_option("--timeout", a.timeout_s, "Seconds per query (default 30)")->group(g);
}

int run_classify_prometheus(const PrometheusArgs& a) {
  fleet::Queries q{a.held, a.rss, a.resident, a.restarts};
  if (!a.preset.empty()) {
    auto p = fleet::preset(a.preset, a.selector);
    if (!p) {
      print_error(kCmd, "--preset: " + p.error().message);
      return kExitUsage;
    }
    // Explicit queries win over the preset's.
    if (q.held.empty()) q.held = p->held;
    if (q.rss.empty()) q.rss = p->rss;
    if (q.resident.empty()) q.resident = p->resident;
    if (q.restarts.empty()) q.restarts = p->restarts;
  } else if (!a.selector.empty()) {
    print_error(kCmd, "--selector applies to a --preset's metrics; put matchers in the queries");
    return kExitUsage;
  }
  if (q.held.empty() && q.rss.empty()) {
    print_error(kCmd, "--prometheus needs --held QUERY (and --rss QUERY), or --preset NAME");
    return kExitUsage;
  }
  analysis::Options o;
  if (!a.limit.empty()) {
    auto l = parse_size(a.limit);
    if (!l) {
      print_error(kCmd, "--limit: " + l.error().message);
      return kExitUsage;
    }
    o.limit_bytes = static_cast<double>(*l);
  }
  auto range = fleet::parse_duration(a.range);
  auto step = fleet::parse_duration(a.step);
  if (!range || !step) {
    print_error(kCmd,
                (!range ? "--range: " + range.error().message : "--step: " + step.error().message));
    return kExitUsage;
  }
  // --out: a link or another user's directory is refused (OutputDir) before anything is asked;
  // each series' directory and verdict.json are made relative to the directory opened here.
  std::optional<OutputDir> out;
  if (!a.out_dir.empty()) {
    auto d = OutputDir::open(a.out_dir, ExistingDir::kAccept);
    if (!d) {
      print_error(kCmd, d.error().message);
      return kExitError;
    }
    out = std::move(*d);
  }
  fleet::Window w;
  w.end_s =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  w.start_s = w.end_s - *range;
  w.step_s = *step;

  std::vector<prometheus::RangeSeries> held, rss, resident, restarts;
  for (auto [query, into] : {std::pair{&q.held, &held},
                             {&q.rss, &rss},
                             {&q.resident, &resident},
                             {&q.restarts, &restarts}}) {
    if (query->empty()) continue;
    auto r = fleet::query_range(a.url, *query, w, a.timeout_s);
    if (!r) {
      print_error(kCmd, r.error().message);
      return kExitError;
    }
    for (const auto& warning : r->warnings)
      std::cerr << "arenalab classify: Prometheus warns: " << warning << "\n";
    *into = std::move(r->series);
  }
  if (held.empty() && rss.empty()) {
    print_error(kCmd, fmt::format("{}: no series in the last {} for {}{}", a.url, a.range,
                                  q.held.empty() ? q.rss : q.held,
                                  q.held.empty() || q.rss.empty() ? "" : " nor for " + q.rss));
    return kExitError;
  }
  auto targets = fleet::match(held, rss, resident, a.by, restarts);
  if (!targets) {
    print_error(kCmd, targets.error().message);
    return kExitError;
  }
  std::vector<fleet::Row> rows;
  std::map<std::string, const fleet::Target*> by_name;
  for (const auto& t : *targets) {
    rows.push_back(fleet::classify_target(t, o, w.step_s));
    by_name[rows.back().name] = &t;
  }
  fleet::sort_by_severity(rows);

  fleet_file::Document doc{a.url, q.held, q.rss, q.resident, *range, *step, {}};
  // The series column as wide as the longest name (label sets vary by exporter).
  std::size_t width = 6;
  for (const auto& r : rows) width = std::max(width, r.name.size());
  // With --json the document goes to stdout instead of the table.
  std::ostringstream table;
  table << fmt::format("{:<{}}  {:<15} {:>5} {:>10} {:>10} {:>16} {:>9} {:>7}\n", "series", width,
                       "verdict", "conf", "held", "RSS", "rate", "to limit", "points");
  std::map<std::string, int> counts;
  int code = kExitOk;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const auto& r = rows[i];
    const fleet::Target& t = *by_name[r.name];
    const double h = last_value(t.held), s = last_value(t.rss);
    table << fmt::format(
        "{:<{}}  {:<15} {:>5.2f} {:>10} {:>10} {:>16} {:>9} {:>7}\n", r.name, width,
        verdict_file::shown_name(r.shown), r.c.confidence, std::isfinite(h) ? format_bytes(h) : "-",
        std::isfinite(s) ? format_bytes(s) : "-",
        r.rate_bytes_per_day ? per_day(*r.rate_bytes_per_day) : "-",
        r.c.time_to_limit_s ? duration(*r.c.time_to_limit_s) : "-",
        r.missing ? fmt::format("{}-{}", r.samples, r.missing) : std::to_string(r.samples));
    ++counts[verdict_file::shown_name(r.shown)];
    const std::string source =
        a.url + " " + r.name + " held: " + q.held + (q.rss.empty() ? "" : " rss: " + q.rss);
    auto verdict = analysis::to_verdict(r.c, o, source);
    verdict.fleet = verdict_file::FleetPart{{r.key.begin(), r.key.end()},
                                            r.shown,
                                            r.rss_only,
                                            static_cast<std::int64_t>(r.samples),
                                            static_cast<std::int64_t>(r.missing),
                                            static_cast<std::int64_t>(r.non_finite),
                                            static_cast<std::int64_t>(r.resets),
                                            r.rate_bytes_per_day};
    if (out) {
      auto dir = out->open_subdir(dir_name(i, r.key));
      Status st = Ok{};
      if (!dir) st = dir.error();
      if (st)
        st =
            dir->write_file("verdict.json", formats::document_text(verdict_file::to_json(verdict)));
      if (!st) {
        print_error(kCmd, st.error().message);
        return kExitError;
      }
    }
    doc.series.push_back(std::move(verdict));
    const int c =
        r.shown == verdict_file::Shown::kGrowth ? kExitLeak : verdict_exit_code(r.c.verdict);
    if (c == kExitLeak || (c == kExitUnresolved && code == kExitOk)) code = c;
  }
  for (const auto& r : rows)
    if (!r.c.reason.empty() && fleet::severity(r) <= 3)
      table << fmt::format("  {} {}: {}\n", r.name, verdict_file::shown_name(r.shown), r.c.reason);
  std::string summary;
  for (const auto& [name, n] : counts)
    summary += fmt::format("{}{} {}", summary.empty() ? "" : ", ", n, name);
  table << fmt::format("{} series over {}: {}\n", rows.size(), a.range, summary);
  std::cout << (a.json ? formats::document_text(fleet_file::to_json(doc)) : table.str());
  if (!a.json_file.empty()) {
    if (auto st = fleet_file::write_fleet(a.json_file, doc); !st) {
      print_error(kCmd, st.error().message);
      return kExitError;
    }
  }
  return code;
}

}  // namespace arenalab::cli
