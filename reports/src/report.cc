// SPDX-License-Identifier: Apache-2.0
// report.html (self-contained: CSS, JS and SVG plots inline as data: URIs) and summary.md.
#include "arenalab/reports/report.h"
#include "arenalab/core/text.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <map>
#include <regex>
#include <set>

#include "arenalab/core/files.h"
#include "arenalab/core/process.h"
#include "arenalab/formats/growth_verdict.h"
#include "arenalab/reports/prepare.h"
#include "plots.h"
#include "templates.h"

namespace arenalab::reports {
namespace fs = std::filesystem;

std::string html_escape(const std::string& s) { return markup_escape(s); }

namespace {

std::string base64(const std::string& in) {
  static const char* k = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const unsigned v = (static_cast<unsigned char>(in[i]) << 16) |
                       (static_cast<unsigned char>(in[i + 1]) << 8) |
                       static_cast<unsigned char>(in[i + 2]);
    out += {k[v >> 18], k[(v >> 12) & 63], k[(v >> 6) & 63], k[v & 63]};
  }
  if (i + 1 == in.size()) {
    const unsigned v = static_cast<unsigned char>(in[i]) << 16;
    out += {k[v >> 18], k[(v >> 12) & 63], '=', '='};
  } else if (i + 2 == in.size()) {
    const unsigned v =
        (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8);
    out += {k[v >> 18], k[(v >> 12) & 63], k[(v >> 6) & 63], '='};
  }
  return out;
}

std::string esc(const std::string& s) { return html_escape(s); }

std::string badge(const std::string& word) {
  const std::string w = word.empty() ? "unknown" : word;
  return "<span class=\"badge " + esc(w) + "\">" + esc(w) + "</span>";
}

std::string figure(const RenderedPlot* p) {
  if (!p) return "";
  if (p->svg.empty())
    return "<p class=\"problem\">Plot not rendered: " + esc(p->problem) + "</p>\n";
  return "<figure class=\"plot\"><img class=\"plot\" alt=\"" + esc(p->title) +
         "\" src=\"data:image/svg+xml;base64," + base64(p->svg) + "\"><figcaption>" +
         esc(p->title) + "</figcaption></figure>\n";
}

const RenderedPlot* find_plot(const std::vector<RenderedPlot>& plots, const std::string& section,
                              const std::string& key) {
  for (const auto& p : plots)
    if (p.section == section && p.key == key) return &p;
  return nullptr;
}

// ru_maxrss from run.json, else the largest sampled RSS of the timeline.
Opt run_peak_rss(const RunInput& r) {
  if (r.run) return r.run->peak_rss_bytes;
  if (r.timeline) {
    Opt best;
    for (const auto& s : r.timeline->samples)
      if (s.rss && (!best || *s.rss > *best)) best = s.rss;
    return best;
  }
  return std::nullopt;
}

// "exit 0", "killed by SIGSEGV", "—" when run.json is absent.
std::string run_exit(const RunInput& r) { return r.run ? r.run->exit.describe : "—"; }

Opt run_final_rss(const RunInput& r) {
  if (!r.timeline) return std::nullopt;
  for (auto it = r.timeline->samples.rbegin(); it != r.timeline->samples.rend(); ++it)
    if (it->rss) return it->rss;
  return std::nullopt;
}

std::string matrix_table_html(const WorkloadTable& t, const std::string& baseline) {
  std::string h = fmt::format(
      "<table><tr><th class=\"name\">configuration</th><th>status</th><th>repeats</th>"
      "<th>median time</th><th>interval</th><th>× {0}</th><th>median peak RSS</th>"
      "<th>interval</th><th>× {0}</th><th>final RSS</th><th>plateau</th><th>growth</th></tr>\n",
      esc(baseline.empty() ? "baseline" : baseline));
  for (int i = 0; i < static_cast<int>(t.rows.size()); ++i) {
    const matrix::Group& r = t.rows[i];
    std::string cls = matrix::group_status_name(r.status);
    if (i == t.best_time) cls += " best-time";
    if (i == t.best_rss) cls += " best-rss";
    std::string status = badge(matrix::group_status_name(r.status));
    if (!r.status_detail.empty()) status += " " + esc(r.status_detail);
    h += fmt::format(
        "<tr class=\"{}\"><td class=\"name\">{}</td><td class=\"name\">{}</td><td>{}</td>"
        "<td class=\"time\">{}{}</td><td>{}</td><td>{}</td><td class=\"rss\">{}{}</td>"
        "<td>{}</td><td>{}</td><td class=\"rss\">{}</td><td class=\"rss\">{}</td>"
        "<td class=\"name{}\">{}</td></tr>\n",
        cls, esc(r.configuration), status,
        r.failed_repeats ? fmt::format("{} ({} failed)", r.repeats, r.failed_repeats)
                         : std::to_string(r.repeats),
        esc(fmt_ms(r.wall_ms.value)), i == t.best_time ? " ★" : "", esc(fmt_interval_ms(r.wall_ms)),
        esc(fmt_ratio(r.wall_ms.ratio)), esc(fmt_bytes(r.peak_rss_bytes.value)),
        i == t.best_rss ? " ★" : "", esc(fmt_interval_bytes(r.peak_rss_bytes)),
        esc(fmt_ratio(r.peak_rss_bytes.ratio)), esc(fmt_bytes(r.final_rss_bytes.value)),
        esc(fmt_bytes(r.plateau_rss_bytes.value)), r.creeping ? " creeping" : "",
        esc(r.growth.empty() ? "–" : r.growth) + (r.creeping ? " ⚠" : ""));
  }
  return h + "</table>\n";
}

// The matrix's answer: overall and per workload, the Pareto front with what each member is best
// on, the dominated and the excluded.
std::string recommendation_html(const matrix::Recommendation& rec, const std::string& baseline) {
  auto figures = [](const matrix::Advice& a, const matrix::Standing& s, bool overall) {
    std::string f;
    for (const auto& axis : a.axes) {
      const auto it = s.figures.find(axis);
      if (it == s.figures.end()) continue;
      std::string v = overall                    ? fmt::format("{:.2f}×", it->second)
                      : axis == "peak_rss_bytes" ? fmt_bytes(it->second)
                      : axis == "wall_ms"        ? fmt_ms(it->second)
                                                 : fmt::format("{:.0f} ns", it->second);
      f += (f.empty() ? "" : ", ") + axis + " " + v;
    }
    return f;
  };
  auto row = [&](const matrix::Advice& a, const std::string& scope, bool overall) {
    std::string front;
    for (const auto& s : a.front)
      front += fmt::format(
          "<li><b>{}</b> <span class=\"muted\">{}</span>{}</li>", esc(s.configuration),
          esc(figures(a, s, overall)),
          s.best_on.empty() ? ""
                            : " — best on " + esc(fmt::format("{}", fmt::join(s.best_on, ", "))));
    std::string rest;
    for (const auto& s : a.dominated)
      rest += fmt::format("{}{} (by {})", rest.empty() ? "" : ", ", esc(s.configuration),
                          esc(s.dominated_by));
    for (const auto& e : a.excluded)
      rest +=
          fmt::format("{}{}: {}", rest.empty() ? "" : "; ", esc(e.configuration), esc(e.reason));
    std::string notes;  // how the scope was ranked where the method alone does not say
    for (const auto& n : a.notes) notes += "<p class=\"muted\">" + esc(n) + "</p>";
    return fmt::format(
        "<tr><td class=\"name\">{}</td><td class=\"name\"><b>{}</b><ul>{}</ul>{}</td>"
        "<td class=\"name\">{}</td><td>{}</td></tr>\n",
        esc(scope), esc(a.answer), front, notes, rest.empty() ? "—" : rest,
        a.level > 0 ? fmt::format("{:.1f} %", 100 * a.level) : std::string("—"));
  };
  std::string h =
      "<table class=\"recommendation\"><tr><th class=\"name\">scope</th><th class=\"name\">"
      "Pareto front (\"~\": indistinguishable)</th><th class=\"name\">dominated, excluded</th>"
      "<th>coverage</th></tr>\n";
  if (rec.overall)
    h += row(*rec.overall,
             fmt::format("overall ({} workloads; × {}, geometric mean)", rec.workloads.size(),
                         baseline.empty() ? "baseline" : baseline),
             true);
  for (const auto& a : rec.workloads)
    h += row(a, a.threads > 0 ? fmt::format("{} ({} threads)", a.workload, a.threads) : a.workload,
             false);
  return h + "</table>\n<p class=\"muted\">" + esc(rec.method) + "</p>\n";
}

std::string callsites_html(const std::vector<Callsite>& sites, std::size_t top) {
  std::string h =
      "<table><tr><th>#</th><th class=\"name\">call site</th><th>verdict</th><th>growth</th>"
      "<th>start</th><th>end</th><th>slope</th></tr>\n";
  for (std::size_t i = 0; i < sites.size() && i < top; ++i) {
    const Callsite& c = sites[i];
    h += fmt::format(
        "<tr><td>{}</td><td class=\"site\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>"
        "<td>{}</td></tr>\n",
        i + 1, esc(c.site), c.verdict ? badge(formats::verdict_name(*c.verdict)) : "—",
        esc(fmt_bytes(c.growth_bytes)), esc(fmt_bytes(c.start_bytes)), esc(fmt_bytes(c.end_bytes)),
        esc(fmt_rate(c.slope_bytes_per_s)));
  }
  return h + "</table>\n";
}

std::string md_cell(const std::string& s) {
  std::string out;
  for (char c : s) out += c == '|' ? std::string("\\|") : std::string(1, c);
  return out;
}

std::string now_text() {
  const std::time_t t = std::time(nullptr);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S %Z", std::localtime(&t));
  return buf;
}

}  // namespace

std::string render_html(const std::string& title, const Inputs& in,
                        const std::vector<RenderedPlot>& plots) {
  std::string h = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>" +
                  esc(title) + "</title>\n<style>\n" + detail::report_css() +
                  "</style>\n<script>\n" + detail::report_js() + "</script>\n</head><body>\n";
  h += "<h1>" + esc(title) + "</h1>\n";
  h += fmt::format(
      "<div class=\"meta\">Generated {} by arenalab from {} matrix, {} run and {} "
      "profile input(s).</div>\n",
      esc(now_text()), in.matrices.size(), in.runs.size(), in.profiles.size());
  std::vector<const RunInput*> watches, budgets, timelines;
  for (const auto& r : in.runs) {
    if (r.kind == RunKind::kWatch) watches.push_back(&r);
    if (r.kind == RunKind::kBudget) budgets.push_back(&r);
    if (r.kind != RunKind::kBudget && r.timeline) timelines.push_back(&r);
  }
  // Matrix cells are summarised by the matrix tables; the summary lists the other runs.
  const bool any_listed = std::any_of(in.runs.begin(), in.runs.end(), [](const RunInput& r) {
    return r.kind != RunKind::kMatrixCell;
  });
  h += "<nav>";
  if (any_listed) h += "<a href=\"#summary\">Summary</a>";
  if (!in.matrices.empty()) h += "<a href=\"#matrix\">Matrix</a>";
  if (!timelines.empty()) h += "<a href=\"#over-time\">Over time</a>";
  if (!watches.empty()) h += "<a href=\"#watch\">Leak or retention</a>";
  if (!budgets.empty()) h += "<a href=\"#budget\">Budget</a>";
  if (!in.profiles.empty()) h += "<a href=\"#profiles\">Profiles</a>";
  h += "<a href=\"#inputs\">Inputs</a></nav>\n";

  // The answer first: which configuration to run, per matrix.
  for (const MatrixInput& mi : in.matrices) {
    if (!mi.recommendation) continue;
    h += "<section id=\"recommendation\"><h2>Which allocator? <code>" + esc(mi.dir) +
         "</code></h2>\n" + recommendation_html(*mi.recommendation, mi.baseline) + "</section>\n";
  }

  if (any_listed) {
    h += "<section id=\"summary\"><h2>Summary</h2>\n<table><tr><th class=\"name\">workload</th>"
         "<th class=\"name\">configuration</th><th class=\"name\">kind</th>"
         "<th class=\"name\">verdict</th><th class=\"name\">exit</th><th>peak RSS</th>"
         "<th>final RSS</th>"
         "<th class=\"name\">directory and command</th></tr>\n";
    for (const auto& r : in.runs) {
      if (r.kind == RunKind::kMatrixCell) continue;
      std::string v = "—";
      if (r.verdict) v = badge(formats::verdict_name(r.verdict->verdict));
      if (r.kind == RunKind::kBudget)
        v = badge(budget_view(*r.budget, r.timeline ? &*r.timeline : nullptr).killed ? "killed"
                                                                                     : "ok");
      h += fmt::format(
          "<tr><td class=\"name\">{}</td><td class=\"name\">{}</td><td class=\"name\">{}</td>"
          "<td class=\"name\">{}</td><td class=\"name\">{}</td><td>{}</td><td>{}</td>"
          "<td class=\"name\"><code>{}</code>{}</td></tr>\n",
          esc(r.workload), esc(r.allocator), esc(run_kind_name(r.kind)), v, esc(run_exit(r)),
          esc(fmt_bytes(run_peak_rss(r))), esc(fmt_bytes(run_final_rss(r))), esc(r.dir),
          r.command.empty() ? std::string() : "<br><code>$ " + esc(r.command) + "</code>");
    }
    h += "</table></section>\n";
  }

  if (!in.matrices.empty()) {
    h += "<section id=\"matrix\"><h2>Matrix</h2>\n";
    for (std::size_t m = 0; m < in.matrices.size(); ++m) {
      const MatrixInput& mi = in.matrices[m];
      h += "<h3>" + esc(mi.dir) + "</h3>\n";
      h += "<p>Median over repeats; interval as recorded by the matrix (else min–max of the "
           "repeats); ratios to the baseline configuration <code>" +
           esc(mi.baseline.empty() ? "—" : mi.baseline) +
           "</code>; ★ marks the best verified cell. Failed and unverified cells are listed, "
           "never dropped.</p>\n";
      h += figure(find_plot(plots, "matrix", fmt::format("{}:time", m)));
      h += figure(find_plot(plots, "matrix", fmt::format("{}:rss", m)));
      const auto tables = matrix_tables(mi.rows);
      for (std::size_t ti = 0; ti < tables.size(); ++ti) {
        const WorkloadTable& t = tables[ti];
        h += "<h3>" + esc(t.workload) +
             (t.threads > 1 ? fmt::format(" ({} threads)", t.threads) : "") + "</h3>\n";
        h += matrix_table_html(t, mi.baseline);
        for (const bool requests : {false, true})
          h += figure(find_plot(plots, "latency", fmt::format("{}:{}:{}", m, ti, requests)));
        for (const auto& op : workload::kLatencyOps)
          h += figure(find_plot(plots, "cdf", fmt::format("{}:{}:{}", m, ti, op)));
      }
      // More than one node type: the same tables per type, since medians and ratios over
      // mixed machines compare hardware as much as allocators.
      for (const auto& nt : mi.node_types) {
        std::string hosts;
        for (const auto& [host, n] : nt.hosts)
          hosts += fmt::format("{}{} ({} cells)", hosts.empty() ? "" : ", ", host, n);
        h += "<h3 class=\"node-type\">On " +
             esc(nt.cpu_model.empty() ? std::string("(unknown CPU)") : nt.cpu_model) + "</h3>\n" +
             "<p>Nodes: " + esc(hosts) +
             ". Medians of this type's cells with min–max, ratios of medians.</p>\n";
        for (const WorkloadTable& t : matrix_tables(nt.rows)) {
          h += "<h4>" + esc(t.workload) +
               (t.threads > 1 ? fmt::format(" ({} threads)", t.threads) : "") + "</h4>\n";
          h += matrix_table_html(t, mi.baseline);
        }
      }
    }
    h += "</section>\n";
  }

  if (!timelines.empty()) {
    h += "<section id=\"over-time\"><h2>Over time</h2>\n<p>One plot per workload: solid RSS, "
         "dashed live bytes, dotted allocator resident, dash-dot allocator retained; one colour "
         "per configuration.</p>\n";
    std::set<std::string> done;
    for (const RunInput* r : timelines)
      if (done.insert(r->workload).second) h += figure(find_plot(plots, "over-time", r->workload));
    h += "</section>\n";
  }

  if (!watches.empty()) {
    h += "<section id=\"watch\"><h2>Leak or retention</h2>\n";
    for (const RunInput* r : watches) {
      const WatchOverlay o = watch_overlay(r->verdict, r->timeline ? &*r->timeline : nullptr);
      h += "<h3>" + esc(r->workload) + " under " + esc(r->allocator) + " " + badge(o.verdict) +
           "</h3>\n<div class=\"side\">" + figure(find_plot(plots, "watch", r->dir));
      h += "<table><tr><th class=\"name\" colspan=\"2\">evidence</th></tr>\n";
      for (const auto& [k, v] : o.evidence)
        h += "<tr><td class=\"name\">" + esc(k) + "</td><td>" + esc(v) + "</td></tr>\n";
      h += "</table></div>\n";
    }
    h += "</section>\n";
  }

  if (!budgets.empty()) {
    h += "<section id=\"budget\"><h2>Budget</h2>\n";
    for (const RunInput* r : budgets) {
      const BudgetView b = budget_view(*r->budget, r->timeline ? &*r->timeline : nullptr);
      h += "<h3>" + esc(r->workload) + " " + badge(b.killed ? "killed" : "ok") + "</h3>\n";
      h += "<div class=\"side\">" + figure(find_plot(plots, "budget", r->dir));
      h += "<table><tr><td class=\"name\">limit</td><td>" + esc(fmt_bytes(b.limit_bytes)) +
           "</td></tr><tr><td class=\"name\">peak</td><td>" + esc(fmt_bytes(b.peak_bytes)) +
           "</td></tr><tr><td class=\"name\">outcome</td><td>" + esc(b.outcome) +
           "</td></tr></table></div>\n";
    }
    h += "</section>\n";
  }

  if (!in.profiles.empty()) {
    h += "<section id=\"profiles\"><h2>Profiles</h2>\n";
    for (const ProfileInput& p : in.profiles) {
      h += "<h3>" + esc(p.dir) + (p.profiler.empty() ? "" : " (" + esc(p.profiler) + ")") +
           "</h3>\n";
      if (!p.callsites.empty())
        h += "<p>Top growing call sites.</p>\n" + callsites_html(p.callsites, 15);
      if (!p.outside.empty())
        h += "<p class=\"problem\"><b>Outside the profile:</b> " + esc(p.outside) + "</p>\n";
      if (!p.notes.empty()) {
        h += "<ul>\n";
        for (const std::string& n : p.notes) h += "<li>" + esc(n) + "</li>\n";
        h += "</ul>\n";
      }
      // arenalab's own flame graphs inline (not as <img>): their hover titles and click-to-zoom
      // script work in the page; each finds its own <svg> (flamegraph.cc's kZoomScript).
      for (const FlameGraph& fg : p.flamegraphs) {
        std::string svg = fg.svg;
        if (svg.rfind("<?xml", 0) == 0) svg.erase(0, svg.find('\n') + 1);
        h += "<figure class=\"flamegraph\">" + svg + "<figcaption>flame graph: " + esc(fg.name) +
             " (hover a frame for its bytes, click to zoom)</figcaption></figure>\n";
      }
      for (const std::string& svg : p.svgs) {
        auto text = read_file(svg);
        if (!text) {
          h += "<p class=\"problem\">" + esc(text.error().message) + "</p>\n";
          continue;
        }
        RenderedPlot rp{"profiles", svg, "call graph: " + fs::path(svg).filename().string(), *text,
                        ""};
        h += figure(&rp);
      }
    }
    h += "</section>\n";
  }

  h += "<section id=\"inputs\"><h2>Inputs</h2>\n<ul>\n";
  for (const auto& m : in.matrices) h += "<li>matrix <code>" + esc(m.file) + "</code></li>\n";
  for (const auto& r : in.runs)
    h += "<li>" + esc(run_kind_name(r.kind)) + " <code>" + esc(r.dir) + "</code></li>\n";
  for (const auto& p : in.profiles) h += "<li>profile <code>" + esc(p.dir) + "</code></li>\n";
  h += "</ul>\n";
  for (const auto& w : in.warnings) h += "<p class=\"warn\">" + esc(w) + "</p>\n";
  for (const auto& p : plots)
    if (p.svg.empty()) h += "<p class=\"problem\">" + esc(p.title + ": " + p.problem) + "</p>\n";
  h += "</section>\n</body></html>\n";
  return h;
}

std::string render_markdown(const std::string& title, const Inputs& in) {
  std::string md = "# " + title + "\n\nGenerated " + now_text() +
                   " by `arenalab report`; plots are in report.html next to this file.\n";
  bool any_verdict = false;
  for (const auto& r : in.runs) any_verdict |= r.verdict.has_value();
  if (any_verdict) {
    md +=
        "\n## Leak or retention\n\n| workload | configuration | verdict | confidence | RSS slope "
        "after the knee | knee | peak RSS |\n|---|---|---|---:|---:|---:|---:|\n";
    for (const auto& r : in.runs) {
      if (!r.verdict) continue;
      const WatchOverlay o = watch_overlay(r.verdict, r.timeline ? &*r.timeline : nullptr);
      const bool bad = formats::creeping(std::string_view(o.verdict));
      md +=
          fmt::format("| {} | {} | {}{}{} | {} | {} | {} | {} |\n", md_cell(r.workload),
                      md_cell(r.allocator), bad ? "**" : "", o.verdict, bad ? "**" : "",
                      o.confidence ? fmt::format("{:.2f}", *o.confidence) : "—",
                      fmt_rate(o.slope_bytes_per_s), fmt_ms(o.knee_ms), fmt_bytes(run_peak_rss(r)));
    }
  }
  bool any_run = false;
  for (const auto& r : in.runs) {
    if (r.kind != RunKind::kRun) continue;
    if (!any_run)
      md +=
          "\n## Runs\n\n| workload | configuration | exit | peak RSS | final RSS | directory "
          "|\n|---|---|---|---:|---:|---|\n";
    any_run = true;
    md += fmt::format("| {} | {} | {} | {} | {} | `{}` |\n", md_cell(r.workload),
                      md_cell(r.allocator), md_cell(run_exit(r)), fmt_bytes(run_peak_rss(r)),
                      fmt_bytes(run_final_rss(r)), r.dir);
  }
  for (const auto& m : in.matrices) {
    md += "\n## Matrix `" + m.dir + "`\n\nMedian over repeats with its interval; ratios to `" +
          (m.baseline.empty() ? std::string("—") : m.baseline) + "`; ★ = best verified cell.\n";
    for (const WorkloadTable& t : matrix_tables(m.rows)) {
      md += "\n### " + t.workload + (t.threads > 1 ? fmt::format(" ({} threads)", t.threads) : "") +
            "\n\n| configuration | status | median time | interval | ratio | median peak RSS | "
            "interval | ratio | final RSS | plateau | growth |\n"
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|\n";
      for (int i = 0; i < static_cast<int>(t.rows.size()); ++i) {
        const matrix::Group& r = t.rows[i];
        md += fmt::format("| {} | {}{} | {}{} | {} | {} | {}{} | {} | {} | {} | {} | {}{} |\n",
                          md_cell(r.configuration), matrix::group_status_name(r.status),
                          r.status_detail.empty() ? "" : ": " + md_cell(r.status_detail),
                          fmt_ms(r.wall_ms.value), i == t.best_time ? " ★" : "",
                          fmt_interval_ms(r.wall_ms), fmt_ratio(r.wall_ms.ratio),
                          fmt_bytes(r.peak_rss_bytes.value), i == t.best_rss ? " ★" : "",
                          fmt_interval_bytes(r.peak_rss_bytes), fmt_ratio(r.peak_rss_bytes.ratio),
                          fmt_bytes(r.final_rss_bytes.value), fmt_bytes(r.plateau_rss_bytes.value),
                          r.growth.empty() ? "—" : md_cell(r.growth),
                          r.creeping ? " **(RSS keeps growing)**" : "");
      }
    }
  }
  bool any_budget = false;
  for (const auto& r : in.runs) {
    if (r.kind != RunKind::kBudget) continue;
    if (!any_budget)
      md += "\n## Budget\n\n| workload | limit | peak | outcome |\n|---|---:|---:|---|\n";
    any_budget = true;
    const BudgetView b = budget_view(*r.budget, r.timeline ? &*r.timeline : nullptr);
    md += fmt::format("| {} | {} | {} | {} |\n", md_cell(r.workload), fmt_bytes(b.limit_bytes),
                      fmt_bytes(b.peak_bytes), md_cell(b.outcome));
  }
  for (const auto& p : in.profiles) {
    if (p.callsites.empty() && p.outside.empty()) continue;
    md += "\n## Top growing call sites `" + p.dir +
          "`\n\n| # | call site | verdict | growth | now |\n|---:|---|---|---:|---:|\n";
    for (std::size_t i = 0; i < p.callsites.size() && i < 10; ++i)
      md +=
          fmt::format("| {} | `{}` | {} | {} | {} |\n", i + 1, md_cell(p.callsites[i].site),
                      p.callsites[i].verdict ? formats::verdict_name(*p.callsites[i].verdict) : "—",
                      fmt_bytes(p.callsites[i].growth_bytes), fmt_bytes(p.callsites[i].end_bytes));
    if (!p.outside.empty()) md += "\n**Outside the profile:** " + p.outside + "\n";
  }
  if (!in.warnings.empty()) {
    md += "\n## Warnings\n\n";
    for (const auto& w : in.warnings) md += "- " + w + "\n";
  }
  return md;
}

namespace {

// Whether `file` is named as write_report names its plots (below): matrix<m>_time, _rss,
// _latency<t>_alloc|request, _cdf<t>_<op>; over_time_<w>; watch_<n>; budget_<n>; each .svg.
bool is_report_plot_name(const std::string& file) {
  static const std::regex kPlot(
      R"((matrix[0-9]+_(time|rss|latency[0-9]+_(alloc|request)|cdf[0-9]+_[a-z_]+)|)"
      R"(over_time_[0-9]+|watch_[0-9]+|budget_[0-9]+)\.svg)");
  return std::regex_match(file, kPlot);
}

}  // namespace

Result<ReportFiles> write_report(const ReportOptions& opt) {
  auto in = load_inputs(opt.inputs);
  if (!in) return in.error();
  ReportFiles files;
  files.plots_dir = (fs::path(opt.out_dir) / "plots").string();
  // A link or another user's directory is refused (OutputDir); report.html, summary.md and the
  // plots are written through the opened directories' fds, never looked up by path again (only
  // gnuplot's cwd, plots/.work, is given by path: see render_svg).
  auto out_dir = OutputDir::open(opt.out_dir, ExistingDir::kAccept);
  if (!out_dir) return out_dir.error();
  // plots/ and plots/.work made 0700 (or existing ones checked) through --out's fd.
  auto plots_dir = out_dir->open_subdir("plots");
  if (!plots_dir) return plots_dir.error();
  const bool had_plots_dir = !plots_dir->created();
  auto work = plots_dir->open_subdir(".work");
  if (!work) return work.error();
  // Stopped by a signal (Ctrl-C; the caller's TerminationSignals records it, and the plot being
  // drawn is finished or, from a terminal, gnuplot stopped too) before report.html is written:
  // nothing of this report is left half-made, neither gnuplot's scripts and data in plots/.work nor
  // the directories made for it. The plots are kept in memory and written into plots/ only after
  // the last of them is drawn, so an interrupted report leaves an earlier report's plots in a
  // reused --out as they were. Before, a Ctrl-C left plots/.work and some plots, no report.html.
  auto stopped = [&]() -> std::optional<Error> {
    if (!TerminationSignals::active() || TerminationSignals::first() == 0) return std::nullopt;
    (void)plots_dir->remove_subdir(".work");
    if (!had_plots_dir) (void)out_dir->remove_subdir("plots");  // .work was all it held
    std::error_code e;
    if (out_dir->created()) fs::remove(out_dir->path(), e);
    return make_error("interrupted by " + signal_name(TerminationSignals::first()) +
                      ": no report written");
  };

  std::vector<PlotSpec> specs;
  std::vector<std::pair<std::string, std::string>> keys;  // section, key per spec
  for (std::size_t m = 0; m < in->matrices.size(); ++m) {
    const auto tables = matrix_tables(in->matrices[m].rows);
    specs.push_back(detail::heatmap_plot(fmt::format("matrix{}_time", m),
                                         heatmap(tables, HeatMetric::kTime), HeatMetric::kTime));
    keys.push_back({"matrix", fmt::format("{}:time", m)});
    specs.push_back(detail::heatmap_plot(fmt::format("matrix{}_rss", m),
                                         heatmap(tables, HeatMetric::kPeakRss),
                                         HeatMetric::kPeakRss));
    keys.push_back({"matrix", fmt::format("{}:rss", m)});
    // Tail latency per workload, where timed (issue 24, part 2).
    for (std::size_t t = 0; t < tables.size(); ++t)
      for (const bool requests : {false, true}) {
        const std::string what =
            tables[t].workload +
            (tables[t].threads > 1 ? fmt::format(" ({} threads)", tables[t].threads) : "");
        auto spec = detail::latency_plot(
            fmt::format("matrix{}_latency{}_{}", m, t, requests ? "request" : "alloc"), what,
            tables[t].rows, requests);
        if (spec.script.empty()) continue;
        specs.push_back(std::move(spec));
        keys.push_back({"latency", fmt::format("{}:{}:{}", m, t, requests)});
      }
    // The whole distribution of malloc and free latency per workload, a line per
    // configuration, from the cells' merged histograms.
    for (std::size_t t = 0; t < tables.size(); ++t)
      for (const LatencyCdf& cdf : in->matrices[m].cdfs) {
        if (cdf.workload != tables[t].workload || cdf.threads != tables[t].threads) continue;
        const std::string what =
            tables[t].workload +
            (tables[t].threads > 1 ? fmt::format(" ({} threads)", tables[t].threads) : "");
        auto spec =
            detail::latency_cdf_plot(fmt::format("matrix{}_cdf{}_{}", m, t, cdf.op), what, cdf);
        if (spec.script.empty()) continue;
        specs.push_back(std::move(spec));
        keys.push_back({"cdf", fmt::format("{}:{}:{}", m, t, cdf.op)});
      }
  }
  std::map<std::string, std::vector<const RunInput*>> by_workload;
  std::vector<std::string> workload_order;
  for (const auto& r : in->runs) {
    if (r.kind == RunKind::kBudget || !r.timeline) continue;
    if (by_workload[r.workload].empty()) workload_order.push_back(r.workload);
    by_workload[r.workload].push_back(&r);
  }
  for (std::size_t w = 0; w < workload_order.size(); ++w) {
    specs.push_back(detail::over_time_plot(fmt::format("over_time_{}", w), workload_order[w],
                                           by_workload[workload_order[w]]));
    keys.push_back({"over-time", workload_order[w]});
  }
  int n_watch = 0, n_budget = 0;
  for (const auto& r : in->runs) {
    const timeline::Timeline* tl = r.timeline ? &*r.timeline : nullptr;
    if (r.kind == RunKind::kWatch) {
      specs.push_back(
          detail::watch_plot(fmt::format("watch_{}", n_watch++), r, watch_overlay(r.verdict, tl)));
      keys.push_back({"watch", r.dir});
    } else if (r.kind == RunKind::kBudget) {
      specs.push_back(
          detail::budget_plot(fmt::format("budget_{}", n_budget++), r, budget_view(*r.budget, tl)));
      keys.push_back({"budget", r.dir});
    }
  }

  std::vector<RenderedPlot> plots;
  const bool have_gnuplot = gnuplot_available();
  for (std::size_t i = 0; i < specs.size(); ++i) {
    if (auto e = stopped()) return *e;
    RenderedPlot rp{keys[i].first, keys[i].second, specs[i].title, "", ""};
    if (!have_gnuplot) {
      rp.problem = "gnuplot not found in PATH (install gnuplot-nox: scripts/bootstrap)";
    } else if (auto svg = render_svg(specs[i], *work); !svg) {
      if (auto e = stopped()) return *e;  // gnuplot stopped by the terminal's same signal
      rp.problem = svg.error().message;
    } else {
      rp.svg = std::move(*svg);
      ++files.plots;
    }
    if (!rp.problem.empty()) files.warnings.push_back(rp.title + ": " + rp.problem);
    plots.push_back(std::move(rp));
  }
  if (auto e = stopped()) return *e;
  if (auto st = plots_dir->remove_subdir(".work"); !st) return st.error();
  std::set<std::string> drawn;
  for (std::size_t i = 0; i < plots.size(); ++i) {  // plots[i] is specs[i]'s
    if (plots[i].svg.empty()) continue;
    if (auto st = plots_dir->write_file(specs[i].name + ".svg", plots[i].svg, {.mode = 0666}); !st)
      return st.error();
    drawn.insert(specs[i].name + ".svg");
  }
  files.html = (fs::path(opt.out_dir) / "report.html").string();
  files.markdown = (fs::path(opt.out_dir) / "summary.md").string();
  if (auto st =
          out_dir->write_file("report.html", render_html(opt.title, *in, plots), {.mode = 0666});
      !st)
    return st.error();
  if (auto st = out_dir->write_file("summary.md", render_markdown(opt.title, *in), {.mode = 0666});
      !st)
    return st.error();
  // A report into an earlier report's --out: the plots that one drew and this one does not
  // (fewer inputs, a plot that failed this time) would stay beside the new ones, shown by no
  // page. Removed only once both pages are committed (a failure before them leaves the earlier
  // report's plots in place), relative to plots/' fd: only files named as a report names its plots;
  // any other file there is the user's and stays.
  if (had_plots_dir)
    for (const auto& name : plots_dir->entries())
      if (is_report_plot_name(name) && !drawn.count(name)) plots_dir->remove(name);

  for (const auto& w : in->warnings) files.warnings.push_back(w);
  return files;
}

}  // namespace arenalab::reports
