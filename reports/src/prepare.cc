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

bool usable(const MatrixRow& row) { return row.status == "ok" || row.status == "partial"; }

std::vector<WorkloadTable> matrix_tables(const std::vector<MatrixRow>& rows) {
  std::vector<WorkloadTable> tables;
  for (const MatrixRow& r : rows) {
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
      const MatrixRow& r = t.rows[i];
      if (!usable(r)) continue;
      if (r.time_ms.value &&
          (t.best_time < 0 || *r.time_ms.value < *t.rows[t.best_time].time_ms.value))
        t.best_time = i;
      if (r.peak_rss.value &&
          (t.best_rss < 0 || *r.peak_rss.value < *t.rows[t.best_rss].peak_rss.value))
        t.best_rss = i;
    }
  }
  return tables;
}

Heatmap heatmap(const std::vector<WorkloadTable>& tables, HeatMetric metric) {
  Heatmap h;
  for (const WorkloadTable& t : tables)
    for (const MatrixRow& r : t.rows)
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
      const MatrixRow& b = t.rows[best_index];
      best = (metric == HeatMetric::kTime ? b.time_ms.value : b.peak_rss.value).value_or(0);
    }
    for (const MatrixRow& r : t.rows) {
      const auto col =
          std::find(h.columns.begin(), h.columns.end(), r.configuration) - h.columns.begin();
      const Opt v = metric == HeatMetric::kTime ? r.time_ms.value : r.peak_rss.value;
      if (!usable(r)) {
        labels[col] = r.status;  // failed | unverified
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

WatchOverlay watch_overlay(const json& v, const timeline::Timeline* tl) {
  WatchOverlay o;
  if (!v.is_object()) return o;
  o.verdict = v.value("verdict", "");
  o.confidence = number_at(v, {"confidence"});
  // Evidence may be flat or under "evidence"; the slope may be a number or {value, lo, hi}.
  const json& ev = v.contains("evidence") && v["evidence"].is_object() ? v["evidence"] : v;
  auto obj_or_num = [&](std::initializer_list<const char*> keys, Opt* value, Opt* lo, Opt* hi) {
    for (const char* k : keys) {
      for (const json* src : {&ev, &v}) {
        if (!src->contains(k)) continue;
        const json& s = (*src)[k];
        if (s.is_number()) {
          *value = s.get<double>();
          return;
        }
        if (s.is_object()) {
          *value = number_at(s, {"value", "bytes_per_s", "estimate", "slope", "ms", "t_ms"});
          if (lo) *lo = number_at(s, {"lo", "ci_lo", "low"});
          if (hi) *hi = number_at(s, {"hi", "ci_hi", "high"});
          if (lo && s.contains("interval") && s["interval"].is_array() &&
              s["interval"].size() == 2) {
            *lo = s["interval"][0].get<double>();
            *hi = s["interval"][1].get<double>();
          }
          return;
        }
      }
    }
  };
  obj_or_num({"slope_bytes_per_s", "slope", "rss_slope"}, &o.slope_bytes_per_s, &o.slope_lo,
             &o.slope_hi);
  if (!o.slope_lo) o.slope_lo = number_at(ev, {"slope_lo", "slope_ci_lo"});
  if (!o.slope_hi) o.slope_hi = number_at(ev, {"slope_hi", "slope_ci_hi"});
  obj_or_num({"knee_ms", "knee", "knee_t_ms"}, &o.knee_ms, nullptr, nullptr);

  o.evidence.push_back({"verdict", o.verdict.empty() ? "—" : o.verdict});
  if (o.confidence) o.evidence.push_back({"confidence", fmt_num(*o.confidence, 2)});
  if (o.slope_bytes_per_s) {
    std::string s = fmt_rate(o.slope_bytes_per_s);
    if (o.slope_lo && o.slope_hi)
      s += " [" + fmt_rate(o.slope_lo) + " – " + fmt_rate(o.slope_hi) + "]";
    o.evidence.push_back({"RSS slope after the knee", s});
  }
  if (o.knee_ms) o.evidence.push_back({"knee", fmt_ms(o.knee_ms)});
  // The remaining scalar evidence, as recorded (units are in the key names).
  for (const auto& [k, val] : ev.items()) {
    if (k == "schema" || k == "verdict" || k == "confidence" || k.rfind("slope", 0) == 0 ||
        k.rfind("knee", 0) == 0)
      continue;
    if (val.is_number()) {
      const double d = val.get<double>();
      std::string f;
      if (k.find("bytes_per_s") != std::string::npos)
        f = fmt_rate(d);
      else if (k.find("bytes") != std::string::npos || k == "gap" ||
               k.find("rss") != std::string::npos)
        f = fmt_bytes(d);
      else if (k.size() > 3 && k.substr(k.size() - 3) == "_ms")
        f = fmt_ms(d);
      else
        f = fmt::format("{:.4g}", d);
      o.evidence.push_back({k, f});
    } else if (val.is_string() && k != "reason") {
      o.evidence.push_back({k, val.get<std::string>()});
    } else if (val.is_boolean()) {
      o.evidence.push_back({k, val.get<bool>() ? "yes" : "no"});
    }
  }
  for (const char* k : {"reason", "explanation", "summary"})
    if (v.contains(k) && v[k].is_string()) o.evidence.push_back({"why", v[k].get<std::string>()});

  // The fitted line: through the recorded intercept, else through the window's mean point.
  if (o.slope_bytes_per_s && tl) {
    const timeline::Series rss = timeline::series(*tl, "rss");
    if (!rss.empty()) {
      const double t0 = o.knee_ms.value_or(rss.t_ms.front());
      double st = 0, sv = 0;
      int n = 0;
      for (std::size_t i = 0; i < rss.t_ms.size(); ++i)
        if (rss.t_ms[i] >= t0) {
          st += rss.t_ms[i];
          sv += rss.value[i];
          ++n;
        }
      if (n > 0) {
        const double tm = st / n, vm = sv / n;
        const Opt icept = number_at(ev, {"intercept_bytes", "intercept"});
        const double t_end = rss.t_ms.back();
        auto at = [&](double t_ms) {
          return icept ? *icept + *o.slope_bytes_per_s * t_ms / 1000.0
                       : vm + *o.slope_bytes_per_s * (t_ms - tm) / 1000.0;
        };
        o.fit.x = {t0 / 1000.0, t_end / 1000.0};
        o.fit.y = {at(t0) / kMiB, at(t_end) / kMiB};
      }
    }
  }
  return o;
}

BudgetView budget_view(const json& b, const json& run, const timeline::Timeline* tl) {
  BudgetView v;
  v.limit_bytes = number_at(b, {"limit_bytes", "limit", "memory_max_bytes"});
  v.peak_bytes = number_at(b, {"peak_bytes", "memory_peak_bytes", "peak_rss_bytes", "peak"});
  if (!v.peak_bytes) v.peak_bytes = number_at(run, {"peak_rss_bytes", "max_rss_bytes", "peak_rss"});
  bool killed = false;
  for (const char* k : {"killed", "oom_killed", "oom_kill"})
    if (b.contains(k) && b[k].is_boolean() && b[k].get<bool>()) killed = true;
  if (auto n = number_at(b, {"oom_kills", "oom_kill_count"}); n && *n > 0) killed = true;
  Opt sig = number_at(b, {"signal"});
  Opt code = number_at(b, {"exit_code"});
  for (const json* src : {&b, &run})
    if (src->contains("exit") && (*src)["exit"].is_object()) {
      if (!sig) sig = number_at((*src)["exit"], {"signal"});
      if (!code) code = number_at((*src)["exit"], {"code", "exit_code"});
    }
  if (!sig) sig = number_at(run, {"signal"});
  if (!code) code = number_at(run, {"exit_code"});
  if (sig && *sig == 9) killed = true;
  v.killed = killed;
  v.kill_ms = number_at(b, {"kill_ms", "killed_at_ms", "oom_at_ms"});
  if (killed && !v.kill_ms && tl && !tl->samples.empty()) v.kill_ms = tl->samples.back().t_ms;
  if (killed)
    v.outcome = fmt::format("killed{}{}", sig ? fmt::format(" by signal {}", *sig) : "",
                            v.kill_ms ? " at " + fmt_ms(v.kill_ms) : "");
  else if (code)
    v.outcome = fmt::format("exit {} under the limit", *code);
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

std::string fmt_interval_bytes(const Estimate& e) {
  if (!e.lo || !e.hi) return "—";
  return "[" + fmt_bytes(e.lo) + " – " + fmt_bytes(e.hi) + "]";
}

std::string fmt_interval_ms(const Estimate& e) {
  if (!e.lo || !e.hi) return "—";
  return "[" + fmt_ms(e.lo) + " – " + fmt_ms(e.hi) + "]";
}

std::string fmt_rate(const Opt& r) {
  if (!r) return "—";
  return fmt_bytes(r) + "/s";
}

}  // namespace arenalab::reports
