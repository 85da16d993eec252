// SPDX-License-Identifier: Apache-2.0
// Data preparation for the report (pure): tables, heat maps, scaled plot points, overlays.
#include "arenalab/reports/prepare.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>

namespace arenalab::reports {
using nlohmann::json;

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
      {"retained", "allocator retained"},
  };
  return specs;
}

VerdictSummary verdict_summary(const json& v) {
  VerdictSummary out;
  if (!v.is_object()) return out;
  out.verdict = v.value("verdict", "");
  out.confidence = number_at(v, {"confidence"});
  if (v.contains("reason") && v["reason"].is_string()) out.reason = v["reason"];
  // arenalab.verdict/1 as the analysis writes it: per-signal evidence under "signals", the
  // decisive RSS signal named by "rss_signal"; the trend after the knee when there is one.
  if (v.contains("signals") && v["signals"].is_object()) {
    const json& sigs = v["signals"];
    std::string rs = v.value("rss_signal", "");
    if (rs.empty() || !sigs.contains(rs)) rs = sigs.contains("rss") ? "rss" : "";
    if (rs.empty()) return out;
    out.signal = rs;
    const json& s = sigs[rs];
    if (s.contains("knee") && s["knee"].is_object() && s["knee"].value("found", false))
      out.knee_ms = number_at(s["knee"], {"t_ms"});
    const json* tr = nullptr;
    if (out.knee_ms && s.contains("after_knee") && s["after_knee"].is_object())
      tr = &s["after_knee"];
    else if (s.contains("trend") && s["trend"].is_object())
      tr = &s["trend"];
    if (tr) {
      out.slope = number_at(*tr, {"slope_bytes_per_s"});
      const json& iv =
          tr->contains("slope_interval_bytes_per_s") ? (*tr)["slope_interval_bytes_per_s"] : json();
      if (iv.is_array() && iv.size() == 2 && iv[0].is_number() && iv[1].is_number()) {
        out.slope_lo = iv[0].get<double>();
        out.slope_hi = iv[1].get<double>();
      }
      out.t0_ms = number_at(*tr, {"t0_ms"});
      out.t1_ms = number_at(*tr, {"t1_ms"});
    }
    return out;
  }
  // A flat layout: {"evidence": {"slope_bytes_per_s": n | {value, lo, hi}, "knee_ms": n}}.
  const json& ev = v.contains("evidence") && v["evidence"].is_object() ? v["evidence"] : v;
  for (const char* k : {"slope_bytes_per_s", "slope"}) {
    if (!ev.contains(k)) continue;
    const json& x = ev[k];
    if (x.is_number()) out.slope = x.get<double>();
    if (x.is_object()) {
      out.slope = number_at(x, {"value", "bytes_per_s"});
      out.slope_lo = number_at(x, {"lo", "ci_lo", "ci_low"});
      out.slope_hi = number_at(x, {"hi", "ci_hi", "ci_high"});
    }
    break;
  }
  out.knee_ms = number_at(ev, {"knee_ms", "knee_t_ms"});
  if (!out.knee_ms && ev.contains("knee") && ev["knee"].is_object())
    out.knee_ms = number_at(ev["knee"], {"t_ms"});
  return out;
}

namespace {

// "leak, slope 1.2 MiB/s [1.1 – 1.3], growth 310%, level 180 MiB" for one signal's evidence.
std::string signal_line(const json& s) {
  std::string line = s.value("verdict", "?");
  const json* tr = s.contains("after_knee") ? &s["after_knee"]
                   : s.contains("trend")    ? &s["trend"]
                                            : nullptr;
  if (tr && tr->is_object()) {
    if (auto sl = number_at(*tr, {"slope_bytes_per_s"})) line += ", slope " + fmt_rate(sl);
    if (tr->contains("p_median") && (*tr)["p_median"].is_number())
      line += fmt::format(", trend p {:.2g}", (*tr)["p_median"].get<double>());
  }
  if (auto g = number_at(s, {"growth_pct"})) line += fmt::format(", growth {:.0f}%", *g);
  if (auto l = number_at(s, {"level_bytes"})) line += ", level " + fmt_bytes(l);
  return line;
}

}  // namespace

WatchOverlay watch_overlay(const json& v, const timeline::Timeline* tl) {
  WatchOverlay o;
  if (!v.is_object()) return o;
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
  if (v.contains("signals") && v["signals"].is_object()) {
    for (const char* k : {"held_signal", "rss_signal"})
      if (v.contains(k) && v[k].is_string() && !v[k].get<std::string>().empty())
        o.evidence.push_back({k, v[k].get<std::string>()});
    for (const auto& [name, s] : v["signals"].items())
      if (s.is_object()) o.evidence.push_back({name, signal_line(s)});
    if (auto t = number_at(v, {"time_to_limit_s"}))
      o.evidence.push_back({"time to the limit", fmt::format("{:.0f} s", *t)});
  } else {
    // A flat layout: the remaining scalar evidence, as recorded (units in the key names).
    const json& ev = v.contains("evidence") && v["evidence"].is_object() ? v["evidence"] : v;
    for (const auto& [k, val] : ev.items()) {
      if (k == "schema" || k == "verdict" || k == "confidence" || k == "reason" ||
          k.rfind("slope", 0) == 0 || k.rfind("knee", 0) == 0)
        continue;
      if (val.is_number()) {
        const double d = val.get<double>();
        std::string f;
        if (k.find("bytes_per_s") != std::string::npos)
          f = fmt_rate(d);
        else if (k.find("bytes") != std::string::npos)
          f = fmt_bytes(d);
        else if (k.size() > 3 && k.substr(k.size() - 3) == "_ms")
          f = fmt_ms(d);
        else
          f = fmt::format("{:.4g}", d);
        o.evidence.push_back({k, f});
      } else if (val.is_string()) {
        o.evidence.push_back({k, val.get<std::string>()});
      }
    }
  }

  // The fitted line over its stretch, through the mean point of the signal's samples there.
  if (o.slope_bytes_per_s && tl) {
    const timeline::Series sig = timeline::series(*tl, o.signal.empty() ? "rss" : o.signal);
    if (!sig.empty()) {
      const double t0 = vs.t0_ms.value_or(o.knee_ms.value_or(sig.t_ms.front()));
      const double t1 = vs.t1_ms.value_or(sig.t_ms.back());
      double st = 0, sv = 0;
      int n = 0;
      for (std::size_t i = 0; i < sig.t_ms.size(); ++i)
        if (sig.t_ms[i] >= t0 && sig.t_ms[i] <= t1) {
          st += sig.t_ms[i];
          sv += sig.value[i];
          ++n;
        }
      if (n > 0) {
        const double tm = st / n, vm = sv / n;
        auto at = [&](double t_ms) { return vm + *o.slope_bytes_per_s * (t_ms - tm) / 1000.0; };
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
