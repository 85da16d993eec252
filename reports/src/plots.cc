// SPDX-License-Identifier: Apache-2.0
// Plots via gnuplot's SVG terminal (gnuplot 5.4 manual, "svg" terminal): every plot has axes
// with units, a legend (key or colour box) and a title that says what to look for.
#include <fmt/format.h>

#include <filesystem>
#include <map>

#include "arenalab/core/files.h"
#include "arenalab/core/process.h"
#include "arenalab/formats/growth_verdict.h"
#include "plots.h"

namespace arenalab::reports {
namespace fs = std::filesystem;

namespace detail {
namespace {

// Colour-blind-safe qualitative palette (Okabe & Ito, "Color Universal Design", 2008).
const char* const kColours[] = {"#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00",
                                "#56B4E9", "#000000", "#F0E442", "#999999"};

std::string colour(std::size_t i) { return kColours[i % (sizeof kColours / sizeof *kColours)]; }

std::string xy_data(const XY& p) {
  std::string out;
  for (std::size_t i = 0; i < p.x.size(); ++i)
    out += fmt::format("{:.6g} {:.6g}\n", p.x[i], p.y[i]);
  return out;
}

// Common axes: time in seconds, memory in MiB.
std::string time_axes() {
  return "set xlabel \"time since start (s)\"\n"
         "set ylabel \"memory (MiB)\"\n"
         "set grid lc rgb '#dddddd'\n"
         "set key outside below horizontal\n"
         "set yrange [0:*]\n"
         "set xrange [0:*]\n";
}

// The right axis for address space (jemalloc's retained), apart from the memory axis.
constexpr const char* kAddressSpaceAxis =
    "set y2label \"retained address space, not memory (MiB)\"\n"
    "set y2tics\nset ytics nomirror\nset y2range [0:*]\n";

// What to look for, by the verdict the plot shows.
std::string verdict_hint(const std::string& verdict) {
  using formats::GrowthVerdict;
  const auto v = formats::parse_verdict(verdict);
  if (!v) return "look for RSS still climbing after the knee";
  switch (*v) {
    case GrowthVerdict::kLeak:
      return "RSS keeps climbing with what the program holds: a leak";
    case GrowthVerdict::kRetention:
      return "RSS stays up while what the program holds fell back: the allocator retains it";
    case GrowthVerdict::kBounded:
      return "the rise levels off: bounded, not a leak";
    case GrowthVerdict::kNonHeapGrowth:
      return "RSS climbs while the allocator's books stay flat: growth outside malloc";
    case GrowthVerdict::kStable:
      return "nothing grows";
    case GrowthVerdict::kUnresolved:
      return "too little after the rise to tell leak from plateau";
  }
  return "look for RSS still climbing after the knee";
}

}  // namespace

// A plot none of whose samples could be drawn (a run stopped before its first sample, a verdict
// without its timeline) says so in its key, beside whatever reference it still draws (a
// budget's limit). With nothing else to draw the axes get a range of their own: gnuplot
// refuses to autoscale on no point at all ("all points y value undefined!"), and the report
// carried that error instead of the plot.
void mark_no_samples(std::vector<std::string>& curves, bool samples_drawn) {
  if (samples_drawn) return;
  curves.push_back(std::string(curves.empty() ? "[0:1] [0:1] " : "") +
                   "NaN title \"no samples recorded\"");
}

std::string gq(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out + "\"";
}

PlotSpec heatmap_plot(const std::string& name, const Heatmap& h, HeatMetric metric) {
  PlotSpec p;
  p.name = name;
  const bool time = metric == HeatMetric::kTime;
  p.title = time ? "Median wall time relative to the fastest configuration of each workload "
                   "(1.00 = best; look for red cells)"
                 : "Median peak RSS relative to the leanest configuration of each workload "
                   "(1.00 = best; look for red cells)";
  p.width = std::max(640, 180 + 110 * static_cast<int>(h.columns.size()));
  p.height = std::max(260, 170 + 42 * static_cast<int>(h.rows.size()));
  std::string cells, labels, script;
  script += "set title " + gq(p.title) + "\n";
  script += "set xlabel \"allocator configuration\"\nset ylabel \"workload\"\n";
  script += fmt::format("set xrange [-0.5:{}]\nset yrange [{}:-0.5]\n", h.columns.size() - 0.5,
                        h.rows.size() - 0.5);
  std::string xt, yt;
  for (std::size_t c = 0; c < h.columns.size(); ++c)
    xt += fmt::format("{}{} {}", c ? ", " : "", gq(h.columns[c]), c);
  for (std::size_t r = 0; r < h.rows.size(); ++r)
    yt += fmt::format("{}{} {}", r ? ", " : "", gq(h.rows[r]), r);
  script += "set xtics (" + xt + ") rotate by -25 left\nset ytics (" + yt + ")\n";
  script += "set tics scale 0\nunset key\n";
  const double top = std::max(1.5, h.max_value);
  script += fmt::format("set cbrange [1:{:.3f}]\n", top);
  script += "set palette defined (0 '#1a9850', 0.35 '#fee08b', 1 '#d73027')\n";
  script += time ? "set cblabel \"× fastest (time)\"\n" : "set cblabel \"× leanest (peak RSS)\"\n";
  int obj = 1;
  for (std::size_t r = 0; r < h.rows.size(); ++r)
    for (std::size_t c = 0; c < h.columns.size(); ++c) {
      if (h.value[r][c]) {
        cells += fmt::format("{} {} {:.4f}\n", c, r, *h.value[r][c]);
      } else {
        // Cells that cannot be ranked: grey with their status, never dropped.
        script += fmt::format(
            "set object {} rect from {},{} to {},{} fc rgb '#c8c8c8' fs solid 1.0 noborder "
            "behind\n",
            obj++, c - 0.5, r - 0.5, c + 0.5, r + 0.5);
      }
      labels += fmt::format("{} {} {}\n", c, r, gq(h.label[r][c]));
    }
  p.data.push_back({name + "_cells.dat", cells.empty() ? "NaN NaN NaN\n" : cells});
  p.data.push_back({name + "_labels.dat", labels});
  script += "plot '" + name +
            "_cells.dat' using 1:2:(0.5):(0.5):3 with boxxyerror fs solid 1.0 noborder "
            "lc palette, '" +
            name + "_labels.dat' using 1:2:3 with labels font ',11'\n";
  p.script = script;
  return p;
}

PlotSpec over_time_plot(const std::string& name, const std::string& workload,
                        const std::vector<const RunInput*>& runs) {
  PlotSpec p;
  p.name = name;
  p.title = workload +
            ": memory over time per configuration (RSS flat above live bytes = allocator "
            "retention; RSS climbing with live bytes = leak)";
  std::string script = "set title " + gq(p.title) + "\n" + time_axes();
  std::vector<std::string> curves;
  bool address_space = false;  // a curve on the right axis (retained address space)
  const char* dashes[] = {"1", "2", "3", "4"};
  const char* widths[] = {"2.2", "1.6", "1.3", "1.3"};
  for (std::size_t i = 0; i < runs.size(); ++i) {
    const RunInput& r = *runs[i];
    if (!r.timeline) continue;
    const auto& sigs = over_time_signals();
    for (std::size_t s = 0; s < sigs.size(); ++s) {
      const XY pts = plot_points(timeline::series(*r.timeline, sigs[s].signal));
      if (pts.empty()) continue;
      const std::string file = fmt::format("{}_{}_{}.dat", name, i, sigs[s].signal);
      p.data.push_back({file, xy_data(pts)});
      curves.push_back(fmt::format("'{}' using 1:2{} with lines lw {} dt {} lc rgb '{}' title {}",
                                   file, sigs[s].address_space ? " axes x1y2" : "", widths[s],
                                   dashes[s], colour(i),
                                   gq(r.allocator_short + " " + sigs[s].legend)));
      if (sigs[s].address_space) address_space = true;
    }
  }
  mark_no_samples(curves, !curves.empty());
  std::string plot = "plot ";
  for (std::size_t i = 0; i < curves.size(); ++i) plot += (i ? ", \\\n  " : "") + curves[i];
  // The key sits below the plot, three entries a row: room for every row of it.
  p.height = 380 + 22 * static_cast<int>((curves.size() + 2) / 3);
  p.script = script + (address_space ? kAddressSpaceAxis : "") + plot + "\n";
  return p;
}

PlotSpec latency_plot(const std::string& name, const std::string& title_workload,
                      const std::vector<matrix::Group>& rows, bool requests) {
  PlotSpec p;
  p.name = name;
  const std::string unit = requests ? "ms" : "ns";
  p.title = title_workload + (requests ? ": request latency" : ": malloc and free latency") +
            " per configuration, tail of the distribution from p50, p99, p99.9 (lower and "
            "further left is better)";
  std::vector<std::string> curves;
  const std::vector<std::string> ops =
      requests ? std::vector<std::string>{"request"} : std::vector<std::string>{"malloc", "free"};
  for (std::size_t i = 0; i < rows.size(); ++i) {
    for (std::size_t k = 0; k < ops.size(); ++k) {
      std::string data;
      for (const auto& [q, share] :
           {std::pair{"p50", 0.5}, std::pair{"p99", 0.01}, std::pair{"p999", 0.001}}) {
        const auto it = rows[i].latency.find(ops[k] + "_" + q + "_" + unit);
        if (it != rows[i].latency.end() && it->second.value.value_or(0) > 0)
          data += fmt::format("{} {}\n", *it->second.value, share);
      }
      if (data.empty()) continue;
      const std::string file = fmt::format("{}_{}_{}.dat", name, i, ops[k]);
      p.data.push_back({file, data});
      curves.push_back(fmt::format(
          "'{}' using 1:2 with linespoints lw 2 dt {} lc rgb '{}' title {}", file, k + 1, colour(i),
          gq(rows[i].configuration + (requests ? "" : " " + ops[k]))));
    }
  }
  if (curves.empty()) return p;
  std::string plot = "plot ";
  for (std::size_t i = 0; i < curves.size(); ++i) plot += (i ? ", \\\n  " : "") + curves[i];
  p.height = 380 + 22 * static_cast<int>((curves.size() + 2) / 3);
  p.script = "set title " + gq(p.title) + "\nset logscale xy\nset xlabel " +
             gq("latency (" + unit + ")") + "\nset ylabel " + gq("share of calls slower") +
             "\nset yrange [0.0005:1]\nset key below\nset grid\n" + plot + "\n";
  return p;
}

PlotSpec latency_cdf_plot(const std::string& name, const std::string& title_workload,
                          const LatencyCdf& cdf) {
  PlotSpec p;
  p.name = name;
  p.title = fmt::format(
      "{}: {} latency CDF per configuration, from every timed call's histogram merged over the "
      "ok repeats (further left is better)",
      title_workload, cdf.op);
  std::vector<std::string> curves;
  for (std::size_t i = 0; i < cdf.series.size(); ++i) {
    const auto& s = cdf.series[i];
    if (s.samples <= 0) continue;
    // A step at each bucket's upper bound: the share of calls at or below it.
    std::string data;
    double seen = 0;
    for (const auto& b : s.buckets) {
      seen += b.count;
      data += fmt::format("{} {}\n", std::max(b.upper_ns, 1.0), seen / s.samples);
    }
    const std::string file = fmt::format("{}_{}.dat", name, i);
    p.data.push_back({file, data});
    curves.push_back(fmt::format(
        "'{}' using 1:2 with steps lw 2 lc rgb '{}' title {}", file, colour(i),
        gq(fmt::format("{} ({:.0f} calls, {} repeats)", s.configuration, s.samples, s.cells))));
  }
  if (curves.empty()) return p;
  std::string plot = "plot ";
  for (std::size_t i = 0; i < curves.size(); ++i) plot += (i ? ", \\\n  " : "") + curves[i];
  p.height = 380 + 22 * static_cast<int>((curves.size() + 2) / 3);
  p.script = "set title " + gq(p.title) + "\nset logscale x\nset xlabel " +
             gq("latency (ns, log)") + "\nset ylabel " + gq("share of calls at or below") +
             "\nset yrange [0:1]\nset key below\nset grid\n" + plot + "\n";
  return p;
}

PlotSpec watch_plot(const std::string& name, const RunInput& run, const WatchOverlay& o) {
  PlotSpec p;
  p.name = name;
  std::string verdict = o.verdict.empty() ? "no verdict" : o.verdict;
  p.title = fmt::format("{} under {}: verdict {} — {}", run.workload, run.allocator, verdict,
                        verdict_hint(o.verdict));
  std::string script = "set title " + gq(p.title) + "\n" + time_axes();
  std::vector<std::string> curves;
  if (run.timeline) {
    int i = 0;
    std::vector<SignalSpec> sigs = over_time_signals();
    if (o.signal == "rss_anon") sigs.insert(sigs.begin() + 1, {"rss_anon", "RSS (anonymous)"});
    for (const auto& sig : sigs) {
      const XY pts = plot_points(timeline::series(*run.timeline, sig.signal));
      if (pts.empty()) continue;
      const std::string file = fmt::format("{}_{}.dat", name, sig.signal);
      p.data.push_back({file, xy_data(pts)});
      curves.push_back(fmt::format("'{}' using 1:2{} with lines lw {} lc rgb '{}' title {}", file,
                                   sig.address_space ? " axes x1y2" : "", i == 0 ? "2.2" : "1.4",
                                   colour(i), gq(sig.legend)));
      if (sig.address_space) script += kAddressSpaceAxis;
      ++i;
    }
  }
  if (!o.fit.empty()) {
    const std::string file = name + "_fit.dat";
    p.data.push_back({file, xy_data(o.fit)});
    curves.push_back(fmt::format(
        "'{}' using 1:2 with lines lw 3 dt 2 lc rgb '#B00020' title {}", file,
        gq(o.fit_is_level
               ? "RSS level " + fmt_bytes(o.fit.y.front() * 1024 * 1024) + " (no rising trend)"
               : "fitted RSS slope " + fmt_rate(o.slope_bytes_per_s))));
  }
  if (o.knee_ms) {
    script += fmt::format(
        "set arrow 1 from {0:.6g}, graph 0 to {0:.6g}, graph 1 nohead lw 1.5 dt 3 lc rgb "
        "'#444444'\n",
        *o.knee_ms / 1000.0);
    script += fmt::format("set label 1 {} at {:.6g}, graph 0.04 offset 0.5,0 tc rgb '#444444'\n",
                          gq("knee " + fmt_ms(o.knee_ms)), *o.knee_ms / 1000.0);
  }
  const bool bad = formats::creeping(std::string_view(o.verdict));
  script += fmt::format("set label 2 {} at graph 0.02, graph 0.93 tc rgb '{}' font ',15'\n",
                        gq("verdict: " + verdict), bad ? "#B00020" : "#1a7f37");
  mark_no_samples(curves, !curves.empty());
  std::string plot = "plot ";
  for (std::size_t i = 0; i < curves.size(); ++i) plot += (i ? ", \\\n  " : "") + curves[i];
  p.script = script + plot + "\n";
  return p;
}

PlotSpec budget_plot(const std::string& name, const RunInput& run, const BudgetView& b) {
  PlotSpec p;
  p.name = name;
  p.title = fmt::format("{} under a {} budget: usage against the limit ({})", run.workload,
                        fmt_bytes(b.limit_bytes), b.outcome);
  std::string script = "set title " + gq(p.title) + "\n" + time_axes();
  std::vector<std::string> curves;
  if (run.timeline) {
    int i = 0;
    std::vector<std::pair<std::string, std::string>> sigs = {{"rss", "RSS"},
                                                             {"live_bytes", "live bytes (malloc)"}};
    if (!run.timeline->samples.empty())
      for (const auto& [g, v] : run.timeline->samples.back().gauges)
        if (g.find("bytes") != std::string::npos || g.find("memory") != std::string::npos ||
            g.find("cgroup") != std::string::npos || g.find("usage") != std::string::npos)
          sigs.push_back(
              {"gauge:" + g, g == "cgroup_usage" ? "cgroup usage (what the limit counts)" : g});
    for (const auto& [sig, legend] : sigs) {
      const XY pts = plot_points(timeline::series(*run.timeline, sig));
      if (pts.empty()) continue;
      const std::string file = fmt::format("{}_{}.dat", name, i);
      p.data.push_back({file, xy_data(pts)});
      curves.push_back(fmt::format("'{}' using 1:2 with lines lw 2 lc rgb '{}' title {}", file,
                                   colour(i), gq(legend)));
      ++i;
    }
  }
  const bool samples_drawn = !curves.empty();
  if (b.limit_bytes) {
    script += "set yrange [0:*]\n";
    curves.push_back(fmt::format("{:.6g} with lines lw 2 dt 2 lc rgb '#B00020' title {}",
                                 *b.limit_bytes / (1024.0 * 1024.0),
                                 gq("limit " + fmt_bytes(b.limit_bytes))));
  }
  if (b.killed && b.kill_ms) {
    script += fmt::format(
        "set arrow 1 from {0:.6g}, graph 0 to {0:.6g}, graph 1 nohead lw 2 lc rgb '#B00020'\n",
        *b.kill_ms / 1000.0);
    script +=
        fmt::format("set label 1 {} at {:.6g}, graph 0.5 right offset -0.5,0 tc rgb '#B00020'\n",
                    gq("killed at " + fmt_ms(b.kill_ms)), *b.kill_ms / 1000.0);
  }
  mark_no_samples(curves, samples_drawn);
  std::string plot = "plot ";
  for (std::size_t i = 0; i < curves.size(); ++i) plot += (i ? ", \\\n  " : "") + curves[i];
  p.script = script + plot + "\n";
  return p;
}

}  // namespace detail

bool gnuplot_available() {
  SpawnSpec spec;
  spec.argv = {"gnuplot", "--version"};
  spec.capture_stdout = spec.capture_stderr = true;
  spec.stdin_null = true;
  auto r = run_process(spec);
  return r && r->exit_code && *r->exit_code == 0;
}

Result<std::string> render_svg(const PlotSpec& spec, const OutputDir& work) {
  // The data and the script are written through the work directory's fd, the SVG read back
  // through it (O_NOFOLLOW). gnuplot itself is given the directory by path (its cwd: a child
  // process takes no directory fd) and writes the SVG by name there; the directory is one this
  // report made 0700 (or checked as this user's, not group/world-writable), so nobody else can
  // put a file or link in it meanwhile.
  for (const auto& [file, content] : spec.data)
    if (auto st = work.write_file(file, content); !st) return st.error();
  const std::string svg = spec.name + ".svg";
  const std::string script =
      fmt::format(
          "set terminal svg size {},{} noenhanced font 'Helvetica,12' background rgb "
          "'white'\nset output '{}'\n",
          spec.width, spec.height, svg) +
      spec.script + "unset output\n";
  if (auto st = work.write_file(spec.name + ".gp", script); !st) return st.error();
  SpawnSpec s;
  s.argv = {"gnuplot", spec.name + ".gp"};
  s.cwd = work.path();
  s.capture_stdout = s.capture_stderr = true;
  s.stdin_null = true;
  auto r = run_process(s);
  if (!r) return make_error("gnuplot: " + r.error().message);
  if (!r->exit_code || *r->exit_code != 0) {
    // gnuplot echoes the offending line, a caret under it, then its message ("line 7: ..."):
    // the message is the last line it wrote (the script itself is removed after the report).
    std::string said = r->err;
    while (!said.empty() && (said.back() == '\n' || said.back() == ' ')) said.pop_back();
    const auto nl = said.find_last_of('\n');
    const std::string last = said.substr(nl == std::string::npos ? 0 : nl + 1);
    return make_error(fmt::format("gnuplot failed on {} ({}): {}", spec.name, r->describe(),
                                  last.substr(last.find_first_not_of(' ') == std::string::npos
                                                  ? 0
                                                  : last.find_first_not_of(' '))));
  }
  // Read back through the work directory (no link followed, regular files only).
  constexpr std::uint64_t kMaxSvgBytes = std::uint64_t{1} << 30;
  auto text = work.read_file(svg, kMaxSvgBytes, "a plot");
  if (!text) return text.error();
  if (!*text)
    return make_error("cannot read " + (fs::path(work.path()) / svg).string() +
                      ": gnuplot wrote no such file");
  return std::move(**text);
}

}  // namespace arenalab::reports
