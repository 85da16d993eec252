// SPDX-License-Identifier: Apache-2.0
// The classifier's entry and exit checks (window.h): bounds that keep every intermediate finite.
#include "window.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <vector>

namespace arenalab::analysis::detail {

namespace {

constexpr double kMaxTimeMs = 1e15;                   // 31,000 years
constexpr double kMaxValue = 18446744073709551616.0;  // 2^64 bytes
constexpr double kMinStepMs = 1e-6;                   // 1 ns: the clocks' resolution

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

bool finite(const Trend& t) {
  return std::isfinite(t.t0_ms) && std::isfinite(t.t1_ms) && std::isfinite(t.block_ms) &&
         std::isfinite(t.slope) && std::isfinite(t.slope_lo) && std::isfinite(t.slope_hi) &&
         std::isfinite(t.p_median) && std::isfinite(t.p_min) && std::isfinite(t.growth_pct);
}

bool finite(const Knee& k) {
  return std::isfinite(k.t_ms) && std::isfinite(k.slope_before) && std::isfinite(k.slope_after) &&
         std::isfinite(k.tail_fraction) &&
         !std::isnan(k.sse_ratio);  // inf: a singular fit, printed as no knee
}

bool finite(const std::optional<double>& v) { return !v || std::isfinite(*v); }

}  // namespace

std::string unusable_window(const Series& s) {
  std::vector<double> t;
  const std::size_t n = std::min(s.t_ms.size(), s.value.size());
  t.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    if (!std::isfinite(s.t_ms[i]) || !std::isfinite(s.value[i])) continue;
    if (std::fabs(s.t_ms[i]) > kMaxTimeMs)
      return "a sample time of " + num(s.t_ms[i]) + " ms (expected at most 1e15 ms)";
    if (std::fabs(s.value[i]) > kMaxValue)
      return "a value of " + num(s.value[i]) + " (expected at most 2^64 in magnitude)";
    t.push_back(s.t_ms[i]);
  }
  std::sort(t.begin(), t.end());
  for (std::size_t i = 1; i < t.size(); ++i)
    if (t[i] > t[i - 1] && t[i] - t[i - 1] < kMinStepMs)
      return "sample times " + num(t[i - 1]) + " and " + num(t[i]) +
             " ms are less than 1 ns apart: a window this short gives no rate";
  return "";
}

bool finite_figures(const SeriesVerdict& v) {
  return std::isfinite(v.duration_ms) && std::isfinite(v.start_level) && std::isfinite(v.level) &&
         std::isfinite(v.growth_pct) && std::isfinite(v.period_ms) &&
         std::isfinite(v.oscillation_pct) && finite(v.whole) && finite(v.knee) &&
         (!v.tail || finite(*v.tail)) && finite(v.time_to_limit_s) && std::isfinite(v.confidence) &&
         std::isfinite(v.rate) && finite(v.asymptote) && std::isfinite(v.cycles) &&
         finite(v.trough_rise);
}

bool finite_figures(const Classification& c) {
  if (!std::isfinite(c.confidence) || !std::isfinite(c.rate) || !finite(c.time_to_limit_s))
    return false;
  return std::all_of(c.evidence.begin(), c.evidence.end(),
                     [](const SignalEvidence& e) { return finite_figures(e.v); });
}

}  // namespace arenalab::analysis::detail

namespace arenalab::analysis {

SeriesVerdict classify_series(const Series& s, const Options& o) {
  SeriesVerdict out;
  out.samples = std::min(s.t_ms.size(), s.value.size());
  if (auto why = detail::unusable_window(s); !why.empty()) {
    out.reason = "cannot classify: " + why;
    return out;
  }
  SeriesVerdict v = detail::classify_series_unchecked(s, o);
  if (detail::finite_figures(v)) return v;
  out.samples = v.samples;
  out.reason = "cannot classify: a figure of the trend test overflowed (not a finite number)";
  return out;
}

Classification classify(const Signals& sig, const Options& o) {
  Classification out;
  for (const auto& [name, s] : named_signals(sig))
    if (auto why = detail::unusable_window(*s); !why.empty()) {
      out.reason = std::string("cannot classify the window: ") + name + ": " + why;
      return out;
    }
  Classification c = detail::classify_unchecked(sig, o);
  if (detail::finite_figures(c)) return c;
  out.reason = "cannot classify the window: a figure overflowed (not a finite number)";
  return out;
}

}  // namespace arenalab::analysis
