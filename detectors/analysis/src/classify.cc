// SPDX-License-Identifier: Apache-2.0
// The classifier: block aggregation, trend and knee tests per series (classify_series), then the
// decisive comparison of what the program holds against RSS (classify). See README.md.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <optional>

#include "arenalab/analysis/analysis.h"

namespace arenalab::analysis {

const char* verdict_name(Verdict v) {
  switch (v) {
    case Verdict::kLeak:
      return "leak";
    case Verdict::kRetention:
      return "retention";
    case Verdict::kBounded:
      return "bounded";
    case Verdict::kNonHeapGrowth:
      return "non-heap-growth";
    case Verdict::kStable:
      return "stable";
    case Verdict::kUnresolved:
      return "unresolved";
  }
  return "unresolved";
}

std::optional<Verdict> parse_verdict(std::string_view name) {
  for (Verdict v : {Verdict::kLeak, Verdict::kRetention, Verdict::kBounded, Verdict::kNonHeapGrowth,
                    Verdict::kStable, Verdict::kUnresolved})
    if (name == verdict_name(v)) return v;
  return std::nullopt;
}

namespace {

using stats::median;

struct Clean {
  std::vector<double> t, v;  // ms, bytes; sorted by time, finite only
};

Clean clean(const Series& s) {
  std::vector<std::pair<double, double>> pts;
  const std::size_t n = std::min(s.t_ms.size(), s.value.size());
  pts.reserve(n);
  for (std::size_t i = 0; i < n; ++i)
    if (std::isfinite(s.t_ms[i]) && std::isfinite(s.value[i]))
      pts.emplace_back(s.t_ms[i], s.value[i]);
  std::stable_sort(pts.begin(), pts.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  Clean c;
  for (const auto& [t, v] : pts) {
    c.t.push_back(t);
    c.v.push_back(v);
  }
  return c;
}

std::string fmt_pct(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f %%", v);
  return buf;
}

// The dominant oscillation period (ms) of a detrended series from its autocorrelation on an even
// grid: the highest peak after the first zero crossing, when it exceeds 0.3; else 0.
double detect_period(const Clean& c) {
  const std::size_t n = c.t.size();
  if (n < 24) return 0;
  const std::size_t m = std::min<std::size_t>(n, 400);
  const double t0 = c.t.front(), w = c.t.back() - c.t.front();
  if (w <= 0) return 0;
  std::vector<double> g(m);
  std::size_t j = 0;
  for (std::size_t i = 0; i < m; ++i) {
    const double t = t0 + w * static_cast<double>(i) / static_cast<double>(m - 1);
    while (j + 1 < n && c.t[j + 1] < t) ++j;
    if (j + 1 >= n) {
      g[i] = c.v.back();
    } else {
      const double dt = c.t[j + 1] - c.t[j];
      const double f = dt > 0 ? std::clamp((t - c.t[j]) / dt, 0.0, 1.0) : 0.0;
      g[i] = c.v[j] + f * (c.v[j + 1] - c.v[j]);
    }
  }
  // Least-squares detrend.
  double sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (std::size_t i = 0; i < m; ++i) {
    const double x = static_cast<double>(i);
    sx += x, sy += g[i], sxx += x * x, sxy += x * g[i];
  }
  const double md = static_cast<double>(m);
  const double den = md * sxx - sx * sx;
  const double b = den != 0 ? (md * sxy - sx * sy) / den : 0;
  const double a = (sy - b * sx) / md;
  double var = 0;
  for (std::size_t i = 0; i < m; ++i) {
    g[i] -= a + b * static_cast<double>(i);
    var += g[i] * g[i];
  }
  if (var <= 0) return 0;
  bool crossed = false;
  double best = 0;
  std::size_t best_lag = 0;
  for (std::size_t lag = 1; lag <= m / 2; ++lag) {
    double s = 0;
    for (std::size_t i = 0; i + lag < m; ++i) s += g[i] * g[i + lag];
    const double r = s / var;
    if (!crossed) {
      crossed = r < 0;
      continue;
    }
    if (r > best) best = r, best_lag = lag;
  }
  if (best < 0.3 || best_lag == 0) return 0;
  // Parabolic interpolation of the peak: a sub-lag period keeps the phase from drifting.
  double lag = static_cast<double>(best_lag);
  if (best_lag + 1 <= m / 2) {
    auto acf = [&](std::size_t l) {
      double s = 0;
      for (std::size_t i = 0; i + l < m; ++i) s += g[i] * g[i + l];
      return s / var;
    };
    const double r0 = acf(best_lag - 1), r1 = best, r2 = acf(best_lag + 1);
    const double den2 = r0 - 2 * r1 + r2;
    if (den2 < 0) lag += std::clamp(0.5 * (r0 - r2) / den2, -0.5, 0.5);
  }
  return w * lag / static_cast<double>(m - 1);
}

// Removes a periodic component (sawtooth, GC cycles) so the trend tests see what lies beneath:
// a centred moving average over exactly one period, the classical seasonal filter (the trend
// step of the X-11 / STL decompositions; Cleveland et al. 1990). Averaging over one cycle cancels
// the cycle whatever its shape; a period a little off leaves a small ripple, never a drift (a
// phase-bin profile would drift). Half a period is lost at each end.
// The average is taken in time - the integral of the linearly interpolated series over the
// window, divided by its length - not over the samples that fall inside it: when the sampling
// interval divides the period, a window holds one sample more or less than a period's worth,
// a peak or a trough, as sub-millisecond jitter falls, and that alias reads as steps.
Clean deseasonalize(const Clean& c, double period_ms) {
  Clean out;
  const std::size_t n = c.t.size();
  if (n < 2 || period_ms <= 0) return out;
  // F[k]: integral of the interpolated series from t[0] to t[k] (trapezoids), bytes x ms.
  std::vector<double> f(n, 0.0);
  for (std::size_t k = 1; k < n; ++k)
    f[k] = f[k - 1] + 0.5 * (c.v[k] + c.v[k - 1]) * (c.t[k] - c.t[k - 1]);
  auto integral_to = [&](double x) {  // from t[0] to x, t[0] <= x <= t[n-1]
    const std::size_t k = static_cast<std::size_t>(std::upper_bound(c.t.begin(), c.t.end(), x) -
                                                   c.t.begin());  // first t > x
    if (k == 0) return 0.0;
    if (k >= n) return f[n - 1];
    const double dt = c.t[k] - c.t[k - 1];
    const double a = x - c.t[k - 1];
    const double vx = dt > 0 ? c.v[k - 1] + (c.v[k] - c.v[k - 1]) * a / dt : c.v[k - 1];
    return f[k - 1] + 0.5 * (c.v[k - 1] + vx) * a;
  };
  const double half = 0.5 * period_ms;
  for (std::size_t i = 0; i < n; ++i) {
    if (c.t[i] - half < c.t.front() || c.t[i] + half > c.t.back()) continue;
    out.t.push_back(c.t[i]);
    out.v.push_back((integral_to(c.t[i] + half) - integral_to(c.t[i] - half)) / period_ms);
  }
  return out;
}

struct Blocks {
  std::vector<double> t, med, min;  // min: the block minimum, or its lower quartile (see below)
  double block_ms = 0;
};

// Equal-time blocks over [i0, i1) of about `target` blocks (>= 2 samples each); when a period is
// known, every block spans whole cycles, so its minimum is a trough and its median mid-cycle.
Blocks make_blocks(const Clean& c, std::size_t i0, std::size_t i1, double period_ms,
                   const Options& o, bool low_quartile) {
  Blocks b;
  const std::size_t n = i1 - i0;
  if (n < 2) return b;
  const double t0 = c.t[i0], t1 = c.t[i1 - 1];
  const double w = t1 - t0;
  if (w <= 0) return b;
  std::size_t target = std::min<std::size_t>(static_cast<std::size_t>(o.max_blocks), n / 3);
  if (target < 1) target = 1;
  double len = w / static_cast<double>(target);
  if (period_ms > 0 && w / period_ms >= static_cast<double>(o.min_blocks))
    len = period_ms * std::ceil(len / period_ms - 1e-9);
  const std::size_t nb = std::max<std::size_t>(1, static_cast<std::size_t>(w / len + 1e-9));
  len = w / static_cast<double>(nb);
  b.block_ms = len;
  std::vector<std::vector<double>> vals(nb), times(nb);
  for (std::size_t i = i0; i < i1; ++i) {
    const std::size_t k = std::min(nb - 1, static_cast<std::size_t>((c.t[i] - t0) / len));
    vals[k].push_back(c.v[i]);
    times[k].push_back(c.t[i]);
  }
  for (std::size_t k = 0; k < nb; ++k) {
    if (vals[k].size() < 2) continue;
    b.t.push_back(median(times[k]));
    b.med.push_back(median(vals[k]));
    if (low_quartile) {
      // On a deseasonalized series a sample just beside a sharp drop lands in the wrong phase
      // bin and leaves a one-sample dip; the lower quartile ignores those, a minimum would not.
      std::sort(vals[k].begin(), vals[k].end());
      b.min.push_back(vals[k][vals[k].size() / 4]);
    } else {
      b.min.push_back(*std::min_element(vals[k].begin(), vals[k].end()));
    }
  }
  return b;
}

// Trend tests on the samples [i0, i1); nullopt when too few blocks remain.
// period_ms > 0 asks for whole-cycle blocks on a raw oscillating series; deseasonalized
// series pass 0 and low_quartile.
std::optional<Trend> trend_on(const Clean& c, std::size_t i0, std::size_t i1, double period_ms,
                              double level_ref, const Options& o, bool low_quartile) {
  const Blocks b = make_blocks(c, i0, i1, period_ms, o, low_quartile);
  if (b.t.size() < static_cast<std::size_t>(o.min_blocks)) return std::nullopt;
  Trend tr;
  tr.t0_ms = c.t[i0];
  tr.t1_ms = c.t[i1 - 1];
  tr.blocks = b.t.size();
  tr.block_ms = b.block_ms;
  std::vector<double> x(b.t.size());
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = (b.t[i] - b.t.front()) / 1000.0;  // s
  const auto mk_med = stats::mann_kendall(x, b.med);
  const auto mk_min = stats::mann_kendall(x, b.min);
  const auto ts = stats::theil_sen(x, b.med, o.alpha, mk_med.var_s_corrected);
  tr.slope = ts.slope;
  tr.slope_lo = ts.lo;
  tr.slope_hi = ts.hi;
  tr.p_median = mk_med.p;
  tr.p_min = mk_min.p;
  tr.growth_pct = 100.0 * ts.slope * (tr.t1_ms - tr.t0_ms) / 1000.0 / level_ref;
  tr.rising = mk_med.p < o.alpha && mk_min.p < o.alpha && mk_med.s > 0 && mk_min.s > 0 &&
              ts.lo > 0 && tr.growth_pct >= o.min_growth_pct;
  return tr;
}

// Least squares of y on the columns 1, x, max(0, x - knot_j): a continuous piecewise line
// (broken-stick regression); with `step`, also the column [x >= step]: one line with a level
// shift (two parallel segments). Returns the residual sum of squares and the segment slopes.
double hinge_fit(const std::vector<double>& x, const std::vector<double>& y,
                 const std::vector<double>& knots, std::vector<double>* slopes,
                 std::optional<double> step = std::nullopt) {
  const std::size_t nk = knots.size();
  const std::size_t p = 2 + nk + (step ? 1 : 0);
  const std::size_t n = x.size();
  auto columns = [&](double xi, std::vector<double>& c) {
    c[0] = 1;
    c[1] = xi;
    for (std::size_t j = 0; j < nk; ++j) c[2 + j] = std::max(0.0, xi - knots[j]);
    if (step) c[2 + nk] = xi >= *step ? 1.0 : 0.0;
  };
  std::vector<double> m(p * (p + 1), 0.0);  // augmented normal equations, row-major p x (p+1)
  std::vector<double> c(p);
  for (std::size_t i = 0; i < n; ++i) {
    columns(x[i], c);
    for (std::size_t a = 0; a < p; ++a) {
      m[a * (p + 1) + p] += c[a] * y[i];
      for (std::size_t b = 0; b < p; ++b) m[a * (p + 1) + b] += c[a] * c[b];
    }
  }
  for (std::size_t col = 0; col < p; ++col) {  // Gauss-Jordan with partial pivoting
    std::size_t piv = col;
    for (std::size_t r = col + 1; r < p; ++r)
      if (std::fabs(m[r * (p + 1) + col]) > std::fabs(m[piv * (p + 1) + col])) piv = r;
    if (std::fabs(m[piv * (p + 1) + col]) < 1e-12) return std::numeric_limits<double>::infinity();
    for (std::size_t q = 0; q <= p; ++q) std::swap(m[col * (p + 1) + q], m[piv * (p + 1) + q]);
    for (std::size_t r = 0; r < p; ++r) {
      if (r == col) continue;
      const double f = m[r * (p + 1) + col] / m[col * (p + 1) + col];
      for (std::size_t q = col; q <= p; ++q) m[r * (p + 1) + q] -= f * m[col * (p + 1) + q];
    }
  }
  std::vector<double> beta(p);
  for (std::size_t a = 0; a < p; ++a) beta[a] = m[a * (p + 1) + p] / m[a * (p + 1) + a];
  double sse = 0;
  for (std::size_t i = 0; i < n; ++i) {
    columns(x[i], c);
    double f = 0;
    for (std::size_t a = 0; a < p; ++a) f += beta[a] * c[a];
    sse += (y[i] - f) * (y[i] - f);
  }
  if (slopes) {
    slopes->assign(1, beta[1]);
    for (std::size_t j = 0; j < nk; ++j) slopes->push_back(slopes->back() + beta[2 + j]);
  }
  return sse;
}

// The last knee of the block medians: one line against one and two knots (every interior knot
// with >= 3 blocks per segment). A knot counts when it removes at least half of the simpler
// model's residual and its slope change is material; the last knot found is reported, as what
// matters for leak-or-plateau is the stretch after the final change of regime.
Knee fit_knee(const Blocks& b, double t_end, const Options& o, double level_ref) {
  Knee k;
  const std::size_t n = b.t.size();
  if (n < 8) return k;
  std::vector<double> x(n);
  for (std::size_t i = 0; i < n; ++i) x[i] = (b.t[i] - b.t.front()) / 1000.0;
  const auto& y = b.med;
  const double sse0 = hinge_fit(x, y, {}, nullptr);
  double sse1 = std::numeric_limits<double>::infinity(), sse2 = sse1;
  std::size_t k1 = 0, k2a = 0, k2 = 0;
  std::vector<double> sl1, sl2, tmp;
  for (std::size_t i = 2; i + 3 < n; ++i) {
    const double e = hinge_fit(x, y, {x[i]}, &tmp);
    if (e < sse1) sse1 = e, k1 = i, sl1 = tmp;
  }
  const std::size_t stride = n > 24 ? 2 : 1;  // two knots: a coarser grid keeps it O(n^2)
  for (std::size_t i = 2; i + 3 < n; i += stride)
    for (std::size_t j = i + 3; j + 3 < n; j += stride) {
      const double e = hinge_fit(x, y, {x[i], x[j]}, &tmp);
      if (e < sse2) sse2 = e, k2a = i, k2 = j, sl2 = tmp;
    }
  if (!std::isfinite(sse1)) return k;
  const double w_s = (t_end - b.t.front()) / 1000.0;
  auto material = [&](double before, double after) {
    return 100.0 * std::fabs(after - before) * w_s / level_ref >= 2.0 * o.min_growth_pct;
  };
  // A slowing knee ends a rise: the segment before it must have risen materially (a flat series
  // that drops in its last samples - a program freeing at exit - did not "rise until a knee").
  // span_s: the length of the segment before the knot.
  auto shaped = [&](double before, double after, double span_s) {
    const bool rose = 100.0 * before * span_s / level_ref >= o.min_growth_pct;
    const bool decel = before > 0 && after < 0.5 * before && rose;
    const bool accel = after > 0 && after > 2.0 * std::max(0.0, before);
    return decel || accel;
  };
  const bool one =
      sse1 <= 0.5 * sse0 && material(sl1[0], sl1[1]) && shaped(sl1[0], sl1[1], x[k1] - x[0]);
  const bool two = std::isfinite(sse2) && sse2 <= 0.5 * std::min(sse0, sse1) &&
                   material(sl2[1], sl2[2]) && shaped(sl2[1], sl2[2], x[k2] - x[k2a]);
  std::size_t at = k1;
  double before = sl1[0], after = sl1[1], sse = sse1;
  if (two) at = k2, before = sl2[1], after = sl2[2], sse = sse2;
  k.t_ms = b.t[at];
  k.slope_before = before;
  k.slope_after = after;
  k.tail_fraction = w_s > 0 ? (t_end - k.t_ms) / 1000.0 / w_s : 0;
  k.sse_ratio = sse0 > 0 ? sse / sse0 : 1;
  k.found = one || two;
  // A slowing knee must be a change of slope, not a change of level: when one line with a level
  // shift fits at least as well and keeps rising materially, the series went on rising at its
  // rate across a jump. (A sawtooth whose tooth loses a sample to the sampler's phase - the
  // sampling interval dividing the period - leaves such a shift in its deseasonalized mean.)
  if (k.found && after < before) {
    double sse_step = std::numeric_limits<double>::infinity();
    std::vector<double> sl_step;
    for (std::size_t i = 2; i + 2 < n; ++i) {
      const double e = hinge_fit(x, y, {}, &tmp, x[i]);
      if (e < sse_step) sse_step = e, sl_step = tmp;
    }
    if (sse_step <= sse && 100.0 * sl_step[0] * w_s / level_ref >= o.min_growth_pct)
      k.found = false;
  }
  return k;
}

double clamp01(double v) { return std::clamp(v, 0.0, 1.0); }

}  // namespace

SeriesVerdict classify_series(const Series& s, const Options& o) {
  SeriesVerdict out;
  const Clean c0 = clean(s);
  const std::size_t n = c0.t.size();
  out.samples = n;
  if (n < static_cast<std::size_t>(std::max(o.min_samples, 2))) {
    out.reason =
        "too few samples (" + std::to_string(n) + ", need " + std::to_string(o.min_samples) + ")";
    return out;
  }
  out.duration_ms = c0.t.back() - c0.t.front();
  out.period_ms = detect_period(c0);
  // With a period of at least 3 cycles in the window, the tests run on the series without
  // its periodic component; the oscillation figure stays on the raw values.
  const bool deseason = out.period_ms > 0 && out.duration_ms / out.period_ms >= 3;
  const Clean c = deseason ? deseasonalize(c0, out.period_ms) : c0;
  const double block_period = deseason ? 0.0 : out.period_ms;
  const std::size_t m = c.t.size();  // fewer than n when deseasonalized (edges lost)
  const Blocks all = make_blocks(c, 0, m, block_period, o, deseason);
  if (all.t.size() < static_cast<std::size_t>(o.min_blocks)) {
    out.reason = "too little data: " + std::to_string(all.t.size()) + " blocks, need " +
                 std::to_string(o.min_blocks);
    return out;
  }
  const std::size_t edge = std::max<std::size_t>(3, all.t.size() / 10);
  out.start_level = median(std::vector<double>(all.med.begin(), all.med.begin() + edge));
  out.level = median(std::vector<double>(all.med.end() - edge, all.med.end()));
  const double level_ref = std::max({std::fabs(out.level), std::fabs(out.start_level), 1.0});
  out.growth_pct = 100.0 * (out.level - out.start_level) / level_ref;
  {
    std::vector<double> v = c0.v;
    std::sort(v.begin(), v.end());
    const double q1 = v[v.size() / 4], q3 = v[(3 * v.size()) / 4];
    out.oscillation_pct = 100.0 * (q3 - q1) / level_ref;
  }
  auto whole = trend_on(c, 0, m, block_period, level_ref, o, deseason);
  if (!whole) {
    out.reason = "too little data for the trend test";
    return out;
  }
  out.whole = *whole;
  out.knee = fit_knee(all, c.t.back(), o, level_ref);

  const Trend* trending = nullptr;
  if (out.knee.found) {
    const std::size_t i0 = static_cast<std::size_t>(
        std::lower_bound(c.t.begin(), c.t.end(), out.knee.t_ms) - c.t.begin());
    out.tail = trend_on(c, i0, m, block_period, level_ref, o, deseason);
    const bool decel = out.knee.slope_after < out.knee.slope_before;
    // A short falling stretch at the very end is a release (a program tearing down at exit
    // frees what it held), not a plateau: judge the series up to it.
    // A release falls at least as fast as the series rose and gives back a material amount.
    const double fall_pct = -out.knee.slope_after * out.knee.tail_fraction *
                            (out.duration_ms / 1000.0) / level_ref * 100.0;
    if (decel && out.knee.slope_after < 0 && -out.knee.slope_after >= out.knee.slope_before &&
        fall_pct >= 2 * o.min_growth_pct && out.knee.tail_fraction < o.min_tail_fraction &&
        !o.final_release_cut) {
      Series head;
      for (std::size_t i = 0; i < c0.t.size() && c0.t[i] < out.knee.t_ms; ++i) {
        head.t_ms.push_back(c0.t[i]);
        head.value.push_back(c0.v[i]);
      }
      Options o2 = o;
      o2.final_release_cut = true;
      SeriesVerdict h = classify_series(head, o2);
      if (h.verdict != Verdict::kUnresolved || h.whole.blocks > 0) {
        h.reason = "up to the final release at " +
                   std::to_string(static_cast<long>(out.knee.t_ms / 1000)) + " s: " + h.reason;
        h.samples = n;
        return h;
      }
    }
    // After a slowing knee, a leak must still grow in the latest half of the tail: a
    // saturating rise (exponential approach to a bound) keeps a decaying slope after any
    // knee, a leak keeps its rate.
    std::optional<Trend> recent;
    if (out.tail && out.tail->rising && decel) {
      const double mid = 0.5 * (out.tail->t0_ms + out.tail->t1_ms);
      const std::size_t im =
          static_cast<std::size_t>(std::lower_bound(c.t.begin(), c.t.end(), mid) - c.t.begin());
      Options lo = o;
      lo.min_blocks = std::min(o.min_blocks, 6);
      recent = trend_on(c, im, m, block_period, level_ref, lo, deseason);
    }
    const bool confirmed =
        !decel || (recent && recent->slope >= 0.5 * out.tail->slope && recent->p_median < 0.05);
    // Growth that began late (an accelerating knee) is a leak only with enough window after
    // the onset; otherwise the whole-window test decides, and failing it, unresolved.
    const bool late_onset = !decel && out.knee.tail_fraction < o.min_tail_fraction;
    if (late_onset) {
      // fall through to the whole-window test below
    } else if (out.tail && out.tail->rising && !confirmed) {
      out.verdict = Verdict::kUnresolved;
      out.reason = "still rising after the knee but slowing down (latest half: " +
                   (recent ? fmt_pct(100.0 * recent->slope / out.tail->slope) : std::string("?")) +
                   " of the tail's rate): leak or plateau cannot be told yet";
      out.confidence = 0.5;
    } else if (out.tail && out.tail->rising) {
      trending = &*out.tail;
      out.verdict = Verdict::kLeak;
      out.reason = std::string("still growing after the ") + (decel ? "rise" : "onset") + ": +" +
                   fmt_pct(out.tail->growth_pct) + " of level after the knee (p = " +
                   std::to_string(std::max(out.tail->p_median, out.tail->p_min)).substr(0, 8) + ")";
      out.confidence = (1 - std::max(out.tail->p_median, out.tail->p_min)) *
                       clamp01(out.tail->growth_pct / (2.5 * o.min_growth_pct)) *
                       clamp01(static_cast<double>(out.tail->blocks) / 16.0);
    } else if (decel) {
      if (out.tail && 1 - out.knee.tail_fraction <= o.startup_fraction &&
          std::fabs(out.growth_pct) < o.min_growth_pct && out.oscillation_pct < 6.0) {
        // The level was reached during start-up (a program filling its fixed working set in
        // its first moments) and nothing moved after it: the window's first blocks already sit
        // at its final level, so the window shows no growth, as for a stable series. A cache
        // warming up over a material part of the window stays bounded.
        out.verdict = Verdict::kStable;
        out.reason = "reached its level during start-up (knee at " +
                     fmt_pct(100 * (1 - out.knee.tail_fraction)) +
                     " of the window), then no material trend (" + fmt_pct(out.growth_pct) +
                     " over the window)";
        out.confidence = (1 - 0.5 * (1 - out.tail->p_median)) *
                         clamp01(static_cast<double>(out.tail->blocks) / 16.0);
      } else if (out.knee.tail_fraction >= o.min_tail_fraction && out.tail) {
        out.verdict = Verdict::kBounded;
        out.reason = "rose, then levelled off: no trend in the " +
                     fmt_pct(100 * out.knee.tail_fraction) + " of the window after the knee";
        out.confidence = clamp01(out.knee.tail_fraction / (2 * o.min_tail_fraction)) *
                         clamp01(static_cast<double>(out.tail->blocks) / 16.0) *
                         (1 - 0.5 * (1 - out.tail->p_median));
      } else {
        out.verdict = Verdict::kUnresolved;
        out.reason = "rose until a knee with only " + fmt_pct(100 * out.knee.tail_fraction) +
                     " of the window after it (need " + fmt_pct(100 * o.min_tail_fraction) +
                     "): leak or plateau cannot be told yet";
        out.confidence = clamp01(out.knee.tail_fraction / o.min_tail_fraction);
      }
    }
  }
  if (out.reason.empty()) {
    // Without a knee, the latest stretch (the last min_tail_fraction of the window) must not
    // have stopped: a late plateau whose knee the fit missed is not called a leak.
    std::optional<Trend> recent;
    if (out.whole.rising) {
      const double from = c.t.back() - o.min_tail_fraction * out.duration_ms;
      const std::size_t im =
          static_cast<std::size_t>(std::lower_bound(c.t.begin(), c.t.end(), from) - c.t.begin());
      Options lo = o;
      lo.min_blocks = std::min(o.min_blocks, 6);
      recent = trend_on(c, im, m, block_period, level_ref, lo, deseason);
    }
    if (out.whole.rising && recent && recent->slope < 0.25 * out.whole.slope) {
      out.verdict = Verdict::kUnresolved;
      out.reason = "grew, but the latest " + fmt_pct(100 * o.min_tail_fraction) +
                   " of the window grows at only " +
                   fmt_pct(100.0 * recent->slope / out.whole.slope) +
                   " of the overall rate: leak or plateau cannot be told yet";
      out.confidence = 0.5;
    } else if (out.whole.rising) {
      trending = &out.whole;
      out.verdict = Verdict::kLeak;
      out.reason = "grows steadily: +" + fmt_pct(out.whole.growth_pct) +
                   " of level over the window (p = " +
                   std::to_string(std::max(out.whole.p_median, out.whole.p_min)).substr(0, 8) + ")";
      out.confidence = (1 - std::max(out.whole.p_median, out.whole.p_min)) *
                       clamp01(out.whole.growth_pct / (2.5 * o.min_growth_pct)) *
                       clamp01(static_cast<double>(out.whole.blocks) / 16.0);
    } else if (out.knee.found && out.tail && out.tail->rising) {
      out.verdict = Verdict::kUnresolved;
      out.reason = "growth began late: only " + fmt_pct(100 * out.knee.tail_fraction) +
                   " of the window after its onset (need " + fmt_pct(100 * o.min_tail_fraction) +
                   ")";
      out.confidence = clamp01(out.knee.tail_fraction / o.min_tail_fraction);
    } else if (out.oscillation_pct >= 6.0 || std::fabs(out.growth_pct) >= 2 * o.min_growth_pct) {
      out.verdict = Verdict::kBounded;
      out.reason = out.period_ms > 0
                       ? "oscillates (period " + std::to_string(static_cast<long>(out.period_ms)) +
                             " ms) with no upward trend"
                       : "moves (interquartile range " + fmt_pct(out.oscillation_pct) +
                             " of level) with no upward trend";
      out.confidence = (1 - 0.5 * (1 - out.whole.p_median)) *
                       clamp01(static_cast<double>(out.whole.blocks) / 16.0);
    } else {
      out.verdict = Verdict::kStable;
      out.reason = "no material trend (" + fmt_pct(out.growth_pct) + " over the window)";
      out.confidence = (1 - 0.5 * (1 - out.whole.p_median)) *
                       clamp01(static_cast<double>(out.whole.blocks) / 16.0);
    }
  }
  if (o.limit_bytes && trending && trending->slope > 0) {
    out.time_to_limit_s = std::max(0.0, (*o.limit_bytes - out.level) / trending->slope);
  }
  return out;
}

namespace {

// RSS - held on the samples where both were taken (same t_ms).
Series gap_series(const Series& rss, const Series& held) {
  Series g;
  std::size_t j = 0;
  for (std::size_t i = 0; i < rss.t_ms.size() && i < rss.value.size(); ++i) {
    while (j < held.t_ms.size() && held.t_ms[j] < rss.t_ms[i]) ++j;
    if (j < held.t_ms.size() && j < held.value.size() && held.t_ms[j] == rss.t_ms[i]) {
      g.t_ms.push_back(rss.t_ms[i]);
      g.value.push_back(rss.value[i] - held.value[j]);
    }
  }
  return g;
}

std::string format_mib(double bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%+.1f MiB", bytes / (1024.0 * 1024.0));
  return buf;
}

}  // namespace

Classification classify(const Signals& sig, const Options& o) {
  Classification out;
  const struct {
    const char* name;
    const Series* s;
  } named[] = {{"rss", &sig.rss},
               {"rss_anon", &sig.rss_anon},
               {"live_bytes", &sig.live_bytes},
               {"allocated", &sig.allocated},
               {"resident", &sig.resident},
               {"mapped", &sig.mapped},
               {"retained", &sig.retained},
               {"mmap_bytes", &sig.mmap_bytes}};
  for (const auto& [name, s] : named)
    if (!s->empty()) out.evidence.push_back({name, classify_series(*s, o)});
  auto find = [&](const std::string& name) -> const SeriesVerdict* {
    for (const auto& e : out.evidence)
      if (e.signal == name) return &e.v;
    return nullptr;
  };
  out.held_signal = !sig.live_bytes.empty()  ? "live_bytes"
                    : !sig.allocated.empty() ? "allocated"
                                             : "";
  out.rss_signal = !sig.rss_anon.empty() ? "rss_anon" : !sig.rss.empty() ? "rss" : "";
  if (!out.held_signal.empty() && !out.rss_signal.empty()) {
    const Series& r = out.rss_signal == "rss_anon" ? sig.rss_anon : sig.rss;
    const Series& h = out.held_signal == "live_bytes" ? sig.live_bytes : sig.allocated;
    Series g = gap_series(r, h);
    if (!g.empty()) out.evidence.push_back({"gap", classify_series(g, o)});
  }
  const SeriesVerdict* held = out.held_signal.empty() ? nullptr : find(out.held_signal);
  const SeriesVerdict* rss = out.rss_signal.empty() ? nullptr : find(out.rss_signal);
  const SeriesVerdict* mm = find("mmap_bytes");
  const SeriesVerdict* gap = find("gap");
  const SeriesVerdict* footprint = find("resident") ? find("resident") : find("mapped");
  auto set = [&](Verdict v, double conf, std::string why) {
    out.verdict = v;
    out.confidence = std::clamp(conf, 0.0, 1.0);
    out.reason = std::move(why);
  };
  auto project = [&](const SeriesVerdict* v) {
    if (v && v->time_to_limit_s) out.time_to_limit_s = v->time_to_limit_s;
  };

  if (!held && !rss) {
    set(Verdict::kUnresolved, 0, "no memory signal in the timeline");
    return out;
  }
  if (!held) {
    // RSS only (stats mode under an allocator without books): a leak cannot be told from
    // growth outside malloc, nor retention from a cache; say what RSS does, with less confidence.
    const Verdict v = rss->verdict;
    set(v, 0.5 * rss->confidence,
        std::string(out.rss_signal) + " " + rss->reason +
            " (no allocator books or live bytes: RSS alone cannot separate heap from non-heap)");
    project(rss);
    return out;
  }
  if (held->verdict == Verdict::kLeak) {
    set(Verdict::kLeak, held->confidence, out.held_signal + " " + held->reason);
    project(rss && rss->time_to_limit_s ? rss : held);
    return out;
  }
  if (mm && mm->verdict == Verdict::kLeak) {
    set(Verdict::kNonHeapGrowth, mm->confidence,
        "the program's own mmap grows (" + mm->reason + ") while " + out.held_signal + " " +
            held->reason);
    project(rss ? rss : mm);
    return out;
  }
  if (held->verdict == Verdict::kUnresolved) {
    set(Verdict::kUnresolved, held->confidence, out.held_signal + ": " + held->reason);
    return out;
  }
  if (!rss) {
    set(held->verdict, held->confidence, out.held_signal + " " + held->reason + " (no RSS)");
    return out;
  }
  // The books are flat or bounded; what does RSS do?
  // Rises are measured from the first samples (the lowest of the first three: the target's
  // start under watch), not from the first blocks, so a rise within the first block counts.
  auto first = [](const Series& x) {
    std::vector<std::pair<double, double>> p;
    for (std::size_t i = 0; i < x.t_ms.size() && i < x.value.size(); ++i)
      if (std::isfinite(x.value[i])) p.emplace_back(x.t_ms[i], x.value[i]);
    std::sort(p.begin(), p.end());
    double lo = p.empty() ? 0.0 : p.front().second;
    for (std::size_t i = 0; i < p.size() && i < 3; ++i) lo = std::min(lo, p[i].second);
    return lo;
  };
  // Quantiles of the raw samples over the recent stretch (the last min_tail_fraction of the
  // window: robust to a purge or exit in the last samples) or the first one. On an oscillating
  // series the stretch spans whole cycles, so a partial cycle does not bias its quantiles.
  auto stretch_ms = [&](const SeriesVerdict& v) {
    const double len = o.min_tail_fraction * v.duration_ms;
    if (v.period_ms <= 0 || v.period_ms > v.duration_ms) return len;
    return std::min(v.duration_ms, v.period_ms * std::ceil(len / v.period_ms - 1e-9));
  };
  auto quantile_in = [](const Series& x, double from, double to, double q) {
    std::vector<double> v;
    for (std::size_t i = 0; i < x.t_ms.size() && i < x.value.size(); ++i)
      if (x.t_ms[i] >= from && x.t_ms[i] <= to && std::isfinite(x.value[i]))
        v.push_back(x.value[i]);
    if (v.empty()) return 0.0;
    std::sort(v.begin(), v.end());
    return v[std::min(v.size() - 1, static_cast<std::size_t>(q * static_cast<double>(v.size())))];
  };
  auto recent_quantile = [&](const Series& x, const SeriesVerdict& v, double q) {
    if (x.t_ms.empty()) return 0.0;
    const double t_end = *std::max_element(x.t_ms.begin(), x.t_ms.end());
    return quantile_in(x, t_end - stretch_ms(v), t_end, q);
  };
  auto early_quantile = [&](const Series& x, const SeriesVerdict& v, double q) {
    if (x.t_ms.empty()) return 0.0;
    const double t_begin = *std::min_element(x.t_ms.begin(), x.t_ms.end());
    return quantile_in(x, t_begin, t_begin + stretch_ms(v), q);
  };
  const Series& rs = out.rss_signal == "rss_anon" ? sig.rss_anon : sig.rss;
  const Series& hs = out.held_signal == "live_bytes" ? sig.live_bytes : sig.allocated;
  const double rss_base = std::min(first(rs), rss->start_level);
  // The program's baseline: the least it held early on - its first samples, or the lower decile
  // of the first stretch of the window (the troughs of a series that oscillates from the start).
  const double held_base = std::min({first(hs), held->start_level, early_quantile(hs, *held, 0.1)});
  const double rss_rise = std::max(rss->level, recent_quantile(rs, *rss, 0.5)) - rss_base;
  const double rss_ref = std::max(std::fabs(rss->level), 1.0);
  const bool rss_rose = rss_rise / rss_ref * 100.0 >= 2 * o.min_growth_pct;
  // Is what the program holds back near its baseline? Either it spends most of its recent
  // stretch near it - the median at most 1/4 of RSS's rise above it - or it rests right at it a
  // quarter of the time - the lower quartile within 1/16 of RSS's rise: a service idling at its
  // baseline between bursts. Then most of what RSS holds is memory the program has freed and the
  // allocator keeps (retention). A sawtooth passes through its trough without resting there
  // (median half a tooth, lower quartile a quarter of a tooth) and a warm cache stays at its
  // bound: their memory is the program's own working set (bounded) - unless RSS rose by twice
  // the tooth or more, when the allocator keeps a whole tooth beyond anything the program holds
  // at once (measured: jemalloc and mimalloc keep 1.2-1.6 teeth under wl_sawtooth).
  const double held_rise = recent_quantile(hs, *held, 0.5) - held_base;
  const double held_rest = recent_quantile(hs, *held, 0.25) - held_base;
  const bool held_back =
      rss_rise > 0 && (held_rise <= 0.25 * rss_rise || held_rest <= rss_rise / 16);
  // The figures behind it, for the reason: "+0.5 MiB typically, +0.5 MiB at its lower quartile".
  const std::string held_figures =
      format_mib(held_rise) + " typically, " + format_mib(held_rest) + " at its lower quartile";
  // RSS still moving without a verdict of its own while the books are settled: the books
  // decide (bounded or retention); RSS's state goes into the reason.
  const std::string settling = rss->verdict == Verdict::kUnresolved
                                   ? " (" + out.rss_signal + " still settling: " + rss->reason + ")"
                                   : std::string();

  // The stretch on which RSS trends (after its knee, if any) and held's slope there.
  const Trend& rss_tr = rss->tail && rss->tail->rising ? *rss->tail : rss->whole;
  const Trend& held_tr = held->tail ? *held->tail : held->whole;
  if (rss->verdict == Verdict::kLeak && held_tr.slope > 0 && held_tr.slope >= 0.5 * rss_tr.slope &&
      held->growth_pct >= o.min_growth_pct) {
    // RSS grows significantly and what the program holds grows at least half as fast, only
    // less clearly (noisier): the same growth seen through two instruments.
    set(Verdict::kLeak, 0.6 * rss->confidence,
        out.rss_signal + " " + rss->reason + ", and " + out.held_signal +
            " grows at a similar rate (" + fmt_pct(held_tr.growth_pct) +
            ") though not significantly on its own");
    project(rss);
    return out;
  }
  if (rss->verdict == Verdict::kLeak) {
    const Trend* fp_tr =
        footprint ? (footprint->tail ? &*footprint->tail : &footprint->whole) : nullptr;
    // RSS growing while still within what the allocator has mapped or committed (mimalloc's
    // committed, jemalloc's mapped) is the allocator's pages becoming resident.
    const bool within_footprint = footprint && rss->level <= 1.05 * footprint->level;
    if ((fp_tr && fp_tr->slope > 0 && fp_tr->slope >= 0.5 * rss_tr.slope) || within_footprint) {
      const std::string creep = out.rss_signal + " " + rss->reason +
                                (within_footprint ? ", within what the allocator has mapped"
                                                  : ", and so does the allocator's footprint");
      if (held_back) {
        // What the program holds is back near its baseline: the allocator keeps freed memory.
        set(Verdict::kRetention, 0.7 * rss->confidence,
            creep + ", while " + out.held_signal + " is back near its baseline (" + held_figures +
                "): the allocator keeps freed memory (fragmentation)");
      } else {
        // The program holds most of RSS's rise and that stays bounded: a working set (a warm
        // cache) whose allocator creeps within its own footprint, not freed memory kept.
        set(Verdict::kBounded, 0.7 * held->confidence,
            out.held_signal + " " + held->reason + "; it holds its working set (" + held_figures +
                ", of RSS's " + format_mib(rss_rise) + ") while " + creep +
                ": the allocator's pages becoming resident, not freed memory kept");
      }
    } else {
      const bool gap_grows = gap && gap->verdict == Verdict::kLeak;
      set(Verdict::kNonHeapGrowth, rss->confidence * (gap_grows ? 1.0 : 0.7),
          out.rss_signal + " " + rss->reason + " while " + out.held_signal + " " + held->reason +
              ": growth outside malloc");
    }
    project(rss);
    return out;
  }
  if (rss_rose && held_back) {
    set(Verdict::kRetention, std::min(rss->confidence + 0.3, 1.0) * held->confidence,
        out.rss_signal + " rose by " + format_mib(rss_rise) + " and holds it (" + rss->reason +
            "), while " + out.held_signal + " is back near its baseline (" + held_figures +
            "): the allocator keeps freed memory" + settling);
    return out;
  }
  if (held->verdict == Verdict::kBounded || rss->verdict == Verdict::kBounded) {
    const SeriesVerdict* b = held->verdict == Verdict::kBounded ? held : rss;
    set(Verdict::kBounded, b->confidence,
        std::string(b == held ? out.held_signal : out.rss_signal) + " " + b->reason + settling);
    return out;
  }
  set(Verdict::kStable, std::min(held->confidence, rss->confidence),
      out.held_signal + " and " + out.rss_signal + ": " + held->reason + settling);
  return out;
}

}  // namespace arenalab::analysis
