// SPDX-License-Identifier: Apache-2.0
// Data preparation for the report (pure): tables, heat maps, scaled plot points, overlays.
#include "arenalab/reports/prepare.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

namespace arenalab::reports {

namespace {
constexpr double kMiB = 1024.0 * 1024.0;

std::string fmt_num(double v, int digits) { return fmt::format("{:.{}f}", v, digits); }
}  // namespace

std::vector<WorkloadTable> matrix_tables(const std::vector<matrix::Group>& rows) {
  std::vector<WorkloadTable> tables;
  for (const matrix::Group& r : rows) {
    auto it = std::find_if(tables.begin(), tables.end(), [&](const WorkloadTable& t) {
      return t.workload == r.workload && t.threads == r.threads;
    });
    if (it == tables.end()) {
      tables.push_back({r.workload, r.threads, {}, -1, -1});
      it = tables.end() - 1;
    }
    it->rows.push_back(r);
  }
  for (WorkloadTable& t : tables) {
    for (int i = 0; i < static_cast<int>(t.rows.size()); ++i) {
      const matrix::Group& r = t.rows[i];
      if (!r.usable()) continue;
      if (r.wall_ms.value &&
          (t.best_time < 0 || *r.wall_ms.value < *t.rows[t.best_time].wall_ms.value))
        t.best_time = i;
      if (r.peak_rss_bytes.value &&
          (t.best_rss < 0 || *r.peak_rss_bytes.value < *t.rows[t.best_rss].peak_rss_bytes.value))
        t.best_rss = i;
    }
  }
  return tables;
}

Heatmap heatmap(const std::vector<WorkloadTable>& tables, HeatMetric metric) {
  Heatmap h;
  for (const WorkloadTable& t : tables)
    for (const matrix::Group& r : t.rows)
      if (std::find(h.columns.begin(), h.columns.end(), r.configuration) == h.columns.end())
        h.columns.push_back(r.configuration);
  for (const WorkloadTable& t : tables) {
    h.rows.push_back(t.threads > 1 ? fmt::format("{} ({} threads)", t.workload, t.threads)
                                   : t.workload);
    std::vector<Opt> values(h.columns.size());
    std::vector<std::string> labels(h.columns.size(), "absent");
    const int best_index = metric == HeatMetric::kTime ? t.best_time : t.best_rss;
    double best = 0;  // the best usable median; 0 when none (then nothing is ranked)
    if (best_index >= 0) {
      const matrix::Group& b = t.rows[best_index];
      best = (metric == HeatMetric::kTime ? b.wall_ms.value : b.peak_rss_bytes.value).value_or(0);
    }
    for (const matrix::Group& r : t.rows) {
      const auto col =
          std::find(h.columns.begin(), h.columns.end(), r.configuration) - h.columns.begin();
      const Opt v = metric == HeatMetric::kTime ? r.wall_ms.value : r.peak_rss_bytes.value;
      if (!r.usable()) {
        labels[col] = matrix::group_status_name(r.status);  // failed | unverified
      } else if (!v || best <= 0) {
        labels[col] = "not measured";
      } else {
        values[col] = *v / best;
        labels[col] = fmt::format("{:.2f}", *v / best);
        h.max_value = std::max(h.max_value, *v / best);
      }
    }
    h.value.push_back(std::move(values));
    h.label.push_back(std::move(labels));
  }
  return h;
}

XY plot_points(const timeline::Series& s, std::size_t max_points) {
  XY out;
  const std::size_t n = s.value.size();
  if (n == 0) return out;
  auto push = [&](std::size_t i) {
    out.x.push_back(s.t_ms[i] / 1000.0);
    out.y.push_back(s.value[i] / kMiB);
  };
  if (n <= max_points || max_points < 3) {
    for (std::size_t i = 0; i < n; ++i) push(i);
    return out;
  }
  // Buckets of `per` samples keep first, min and max in time order: ~3 points per bucket.
  const std::size_t buckets = std::max<std::size_t>(1, max_points / 3);
  const std::size_t per = (n + buckets - 1) / buckets;
  for (std::size_t b = 0; b * per < n; ++b) {
    const std::size_t lo = b * per, hi = std::min(n, lo + per);
    std::size_t imin = lo, imax = lo;
    for (std::size_t i = lo; i < hi; ++i) {
      if (s.value[i] < s.value[imin]) imin = i;
      if (s.value[i] > s.value[imax]) imax = i;
    }
    std::vector<std::size_t> keep{lo, imin, imax};
    std::sort(keep.begin(), keep.end());
    keep.erase(std::unique(keep.begin(), keep.end()), keep.end());
    for (std::size_t i : keep) push(i);
  }
  if (out.x.back() != s.t_ms[n - 1] / 1000.0) push(n - 1);
  return out;
}

const std::vector<SignalSpec>& over_time_signals() {
  static const std::vector<SignalSpec> specs = {
      {"rss", "RSS"},
      {"live_bytes", "live bytes (malloc)"},
      {"resident", "allocator resident"},
      {"retained", "retained (address space, right axis)", true},
  };
  return specs;
}

VerdictSummary verdict_summary(const verdict_file::Verdict& v) {
  VerdictSummary out;
  out.verdict = formats::verdict_name(v.verdict);
  out.confidence = v.confidence;
  out.reason = v.reason;
  // The decisive RSS signal's evidence; the trend after the knee when there is one.
  const verdict_file::SignalEvidence* s = v.rss_evidence();
  if (!s) return out;
  out.signal = v.rss_signal.empty() || !v.signals.count(v.rss_signal) ? "rss" : v.rss_signal;
  out.knee_ms = v.knee_ms();
  const std::optional<verdict_file::Trend>& tr =
      out.knee_ms && s->after_knee ? s->after_knee : s->trend;
  if (tr) {
    out.slope = tr->slope_bytes_per_s;
    if (tr->slope_lo && tr->slope_hi) {
      out.slope_lo = tr->slope_lo;
      out.slope_hi = tr->slope_hi;
    }
    out.t0_ms = tr->t0_ms;
    out.t1_ms = tr->t1_ms;
    out.rising = tr->rising;
  }
  return out;
}

namespace {

// "leak, slope 1.2 MiB/s, trend p 0.001, growth 310%, level 180 MiB" for one signal's evidence.
// `what` given: a figure that is not memory of its own (retained address space, the derived gap)
// is described by what it is, without a verdict word: "leak" on address space misleads.
std::string signal_line(const verdict_file::SignalEvidence& s, const std::string& what = "") {
  std::string line = !what.empty() ? what
                     : s.verdict   ? formats::verdict_name(*s.verdict)
                                   : std::string();
  const std::optional<verdict_file::Trend>& tr = s.after_knee ? s.after_knee : s.trend;
  if (tr) {
    if (tr->slope_bytes_per_s) line += ", slope " + fmt_rate(tr->slope_bytes_per_s);
    if (tr->p_median) line += fmt::format(", trend p {:.2g}", *tr->p_median);
  }
  if (s.growth_pct) line += fmt::format(", growth {:.0f}%", *s.growth_pct);
  if (s.level_bytes) line += ", level " + fmt_bytes(s.level_bytes);
  return line;
}

}  // namespace

WatchOverlay watch_overlay(const std::optional<verdict_file::Verdict>& verdict,
                           const timeline::Timeline* tl) {
  WatchOverlay o;
  if (!verdict) return o;
  const verdict_file::Verdict& v = *verdict;
  const VerdictSummary vs = verdict_summary(v);
  o.verdict = vs.verdict;
  o.confidence = vs.confidence;
  o.slope_bytes_per_s = vs.slope;
  o.slope_lo = vs.slope_lo;
  o.slope_hi = vs.slope_hi;
  o.knee_ms = vs.knee_ms;
  o.signal = vs.signal;

  o.evidence.push_back({"verdict", o.verdict.empty() ? "—" : o.verdict});
  if (o.confidence) o.evidence.push_back({"confidence", fmt_num(*o.confidence, 2)});
  if (!vs.reason.empty()) o.evidence.push_back({"why", vs.reason});
  if (o.slope_bytes_per_s) {
    std::string s = fmt_rate(o.slope_bytes_per_s);
    if (o.slope_lo && o.slope_hi)
      s += " [" + fmt_rate(o.slope_lo) + " – " + fmt_rate(o.slope_hi) + "]";
    o.evidence.push_back({o.signal + " slope" + (o.knee_ms ? " after the knee" : ""), s});
  }
  if (o.knee_ms) o.evidence.push_back({"knee", fmt_ms(o.knee_ms)});
  if (!v.held_signal.empty()) o.evidence.push_back({"held_signal", v.held_signal});
  if (!v.rss_signal.empty()) o.evidence.push_back({"rss_signal", v.rss_signal});
  // What matters first: what the program holds, RSS, the gap between them; then the rest, with
  // retained (address space) last. Neither retained nor the gap gets a verdict of its own.
  std::vector<std::string> order = {v.held_signal, v.rss_signal, "rss", "rss_anon", "gap"};
  for (const auto& [name, s] : v.signals)
    if (name != "retained") order.push_back(name);
  order.push_back("retained");
  std::set<std::string> shown;
  for (const std::string& name : order) {
    auto it = v.signals.find(name);
    if (name.empty() || it == v.signals.end() || !shown.insert(name).second) continue;
    // verdict.json carries no verdict for them (verdict_file::unjudged_what).
    const std::string_view what = verdict_file::unjudged_what(name);
    o.evidence.push_back(
        {name, signal_line(it->second, what.empty() ? "" : std::string(what) + " (not judged)")});
  }
  if (v.time_to_limit_s)
    o.evidence.push_back({"time to the limit", fmt::format("{:.0f} s", *v.time_to_limit_s)});

  // The line over the slope's stretch: a rising trend with its slope, through the median of
  // the samples' residuals there (Theil-Sen's intercept: bursts and a start-up ramp do not pull
  // it off the series, as a mean point did); otherwise flat at the samples' median, the level.
  if (o.slope_bytes_per_s && tl) {
    const timeline::Series sig = timeline::series(*tl, o.signal.empty() ? "rss" : o.signal);
    if (!sig.empty()) {
      const double t0 = vs.t0_ms.value_or(o.knee_ms.value_or(sig.t_ms.front()));
      const double t1 = vs.t1_ms.value_or(sig.t_ms.back());
      o.fit_is_level = !vs.rising;
      const double slope = o.fit_is_level ? 0.0 : *o.slope_bytes_per_s;  // bytes/s
      std::vector<double> residual;                                      // bytes at t = 0 ms
      for (std::size_t i = 0; i < sig.t_ms.size(); ++i)
        if (sig.t_ms[i] >= t0 && sig.t_ms[i] <= t1)
          residual.push_back(sig.value[i] - slope * sig.t_ms[i] / 1000.0);
      if (!residual.empty()) {
        const std::size_t m = residual.size() / 2;
        std::nth_element(residual.begin(), residual.begin() + m, residual.end());
        double b = residual[m];
        if (residual.size() % 2 == 0)
          b = (b + *std::max_element(residual.begin(), residual.begin() + m)) / 2;
        auto at = [&](double t_ms) { return b + slope * t_ms / 1000.0; };
        o.fit.x = {t0 / 1000.0, t1 / 1000.0};
        o.fit.y = {at(t0) / kMiB, at(t1) / kMiB};
      }
    }
  }
  return o;
}

BudgetView budget_view(const budget::BudgetRecord& b, const timeline::Timeline* tl) {
  BudgetView v;
  v.limit_bytes = static_cast<double>(b.effective_limit_bytes.value_or(b.limit_bytes));
  if (b.group.peak_usage_bytes)
    v.peak_bytes = static_cast<double>(*b.group.peak_usage_bytes);
  else
    v.peak_bytes = b.peak_rss_bytes;
  // The kernel OOM killer, or SIGKILL at the limit: the target was killed.
  v.killed = b.oom_killed || b.exit.signal == 9;
  // The kill ends the target: its wall time (from spawn, the timeline's origin) is when.
  if (v.killed && b.wall_ms > 0) v.kill_ms = b.wall_ms;
  if (v.killed && !v.kill_ms && tl && !tl->samples.empty()) v.kill_ms = tl->samples.back().t_ms;
  if (v.killed)
    v.outcome = fmt::format("killed{}{}{}", b.oom_killed ? " by the kernel OOM killer" : "",
                            b.exit.signal ? fmt::format(" (signal {})", *b.exit.signal) : "",
                            v.kill_ms ? " at " + fmt_ms(v.kill_ms) : "");
  else if (b.exit.code)
    v.outcome = fmt::format("exit {} under the limit", *b.exit.code);
  else
    v.outcome = "outcome not recorded";
  return v;
}

std::string fmt_bytes(const Opt& b) {
  if (!b) return "—";
  const double a = std::fabs(*b);
  if (a >= 1024.0 * kMiB) return fmt::format("{:.2f} GiB", *b / (1024.0 * kMiB));
  if (a >= kMiB) return fmt::format("{:.1f} MiB", *b / kMiB);
  if (a >= 1024.0) return fmt::format("{:.1f} KiB", *b / 1024.0);
  return fmt::format("{:.0f} B", *b);
}

std::string fmt_ms(const Opt& ms) {
  if (!ms) return "—";
  if (std::fabs(*ms) >= 1000.0) return fmt::format("{:.2f} s", *ms / 1000.0);
  return fmt::format("{:.1f} ms", *ms);
}

std::string fmt_ratio(const Opt& r) { return r ? fmt::format("{:.2f}×", *r) : "—"; }

std::string fmt_interval_bytes(const matrix::Figure& e) {
  if (!e.lo || !e.hi) return "—";
  return "[" + fmt_bytes(e.lo) + " – " + fmt_bytes(e.hi) + "]";
}

std::string fmt_interval_ms(const matrix::Figure& e) {
  if (!e.lo || !e.hi) return "—";
  return "[" + fmt_ms(e.lo) + " – " + fmt_ms(e.hi) + "]";
}

std::string fmt_rate(const Opt& r) {
  if (!r) return "—";
  return fmt_bytes(r) + "/s";
}

}  // namespace arenalab::reports
