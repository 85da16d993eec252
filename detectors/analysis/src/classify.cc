// SPDX-License-Identifier: Apache-2.0
// The classifier: block aggregation, trend and knee tests per series (classify_series), then the
// decisive comparison of what the program holds against RSS (classify). See README.md.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <initializer_list>
#include <limits>
#include <numbers>
#include <optional>
#include <random>

#include "arenalab/analysis/analysis.h"
#include "arenalab/core/quantile.h"
#include "window.h"

namespace arenalab::analysis {

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

// The series linearly interpolated on an even grid of m instants over its window, less its
// least-squares line (detect_period's input).
std::vector<double> detrended_grid(const Clean& c, std::size_t m) {
  const std::size_t n = c.t.size();
  const double t0 = c.t.front(), w = c.t.back() - c.t.front();
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
  double sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (std::size_t i = 0; i < m; ++i) {
    const double x = static_cast<double>(i);
    sx += x, sy += g[i], sxx += x * x, sxy += x * g[i];
  }
  const double md = static_cast<double>(m);
  const double den = md * sxx - sx * sx;
  const double b = den != 0 ? (md * sxy - sx * sy) / den : 0;
  const double a = (sy - b * sx) / md;
  for (std::size_t i = 0; i < m; ++i) g[i] -= a + b * static_cast<double>(i);
  return g;
}

// Each value replaced by the median of it and its two neighbours, the ends kept (Tukey's running
// median of three, 1977): a spike - one sample far from both neighbours - goes, a sawtooth's drop
// and a step stay.
std::vector<double> running_median3(const std::vector<double>& v) {
  std::vector<double> out = v;
  for (std::size_t i = 1; i + 1 < v.size(); ++i) {
    const double a = v[i - 1], b = v[i], d = v[i + 1];
    out[i] = std::max(std::min(a, b), std::min(std::max(a, b), d));
  }
  return out;
}

// The series without its spikes (running_median3), at the same instants.
Clean despike3(const Clean& c) {
  Clean out = c;
  out.v = running_median3(c.v);
  return out;
}

// Whether the autocorrelation peak at grid lag `lag` (detect_period's) is the series' own and not
// its spikes' (README "A period must outlast the spikes"): the peak must still reach
// o.period_min_acf, at that lag or a neighbour, on the series without its spikes (despike3). A
// sample autocorrelation is not robust: two spikes a lag apart put a peak of about the product
// of their sizes over the series' variance there, and a few spikes of 5-50 % of the level over a
// noise of 0.1-2 % make that peak; the whole series then reads as oscillating and is judged by
// the 2 % line of an oscillating series. A sawtooth's drop and a staircase's step are not spikes
// (median of three keeps them), so a period they make stays.
bool period_outlasts_spikes(const Clean& c, std::size_t m, std::size_t lag, const Options& o) {
  const std::vector<double> g = detrended_grid(despike3(c), m);
  double var = 0;
  for (double x : g) var += x * x;
  if (!(var > 0)) return false;
  for (std::size_t l = std::max<std::size_t>(lag, 2) - 1; l <= std::min(lag + 1, m / 2); ++l) {
    double s = 0;
    for (std::size_t i = 0; i + l < m; ++i) s += g[i] * g[i + l];
    if (s / var >= o.period_min_acf) return true;
  }
  return false;
}

// The dominant oscillation period (ms) of a detrended series from its autocorrelation on an even
// grid: the highest peak after the first zero crossing, when it exceeds o.period_min_acf and
// outlasts the series' spikes (period_outlasts_spikes); else 0.
double detect_period(const Clean& c, const Options& o) {
  const std::size_t n = c.t.size();
  if (n < 24) return 0;
  const std::size_t m = std::min<std::size_t>(n, 400);
  const double w = c.t.back() - c.t.front();
  if (!(w > 0) || !std::isfinite(w)) return 0;  // a window of times that overflow: no period
  std::vector<double> g = detrended_grid(c, m);
  double var = 0;
  for (double x : g) var += x * x;
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
  if (best < o.period_min_acf || best_lag == 0) return 0;
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
  if (!period_outlasts_spikes(c, m, best_lag, o)) return 0;
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

// Times in ms as seconds from the first (block times as the trend tests' x).
std::vector<double> seconds_from_first(const std::vector<double>& t_ms) {
  std::vector<double> x(t_ms.size());
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = (t_ms[i] - t_ms.front()) / 1000.0;
  return x;
}

// Equal-time blocks over [i0, i1) of about `target` blocks (>= 2 samples each); when a period is
// known, every block spans whole cycles, so its minimum is a trough and its median mid-cycle.
Blocks make_blocks(const Clean& c, std::size_t i0, std::size_t i1, double period_ms,
                   const Options& o, bool low_quartile) {
  Blocks b;
  const std::size_t n = i1 - i0;
  if (n < 2) return b;
  const double t0 = c.t[i0], t1 = c.t[i1 - 1];
  const double w = t1 - t0;
  if (!(w > 0) || !std::isfinite(w)) return b;  // times that overflow: no blocks
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

// Materiality (README "Materiality"): a significant trend matters when it adds min_drift_pct of
// the level over its stretch - min_growth_pct when the series oscillates: the trend test's
// variance correction models stationary autocorrelated noise, not the ripple a removed period
// leaves nor the phase a few cycles put under a trend, so there the effect must be larger. Below
// that, whatever the level, it matters when even the low end of its interval leaks min_leak_rate
// bytes/s, or would reach the limit within material_horizon_s - provided its growth over the
// stretch stands min_growth_spread times above the spread of the raw samples about the trend line
// (an effect size): a trend smaller than the series' own oscillation or noise cannot be told from
// what removing them leaves behind.
bool material(double growth_pct, double growth_bytes, double slope_lo, double level, double spread,
              bool oscillates, const Options& o) {
  if (growth_pct >= (oscillates ? o.min_growth_pct : o.min_drift_pct)) return true;
  if (oscillates && growth_bytes < o.min_growth_spread * spread) return false;
  if (slope_lo >= o.min_leak_rate) return true;
  return o.limit_bytes && slope_lo > 0 &&
         (*o.limit_bytes - level) / slope_lo <= o.material_horizon_s;
}

// Interquartile range of the raw samples in [t0, t1] about the line y = a + b (t - tb)/1000.
double spread_about(const Clean& raw, double t0, double t1, double tb, double a, double b) {
  std::vector<double> r;
  for (std::size_t i = 0; i < raw.t.size(); ++i)
    if (raw.t[i] >= t0 && raw.t[i] <= t1) r.push_back(raw.v[i] - a - b * (raw.t[i] - tb) / 1000);
  if (r.size() < 4) return 0;
  std::sort(r.begin(), r.end());
  return r[(3 * r.size()) / 4] - r[r.size() / 4];
}

// One point per cycle (README "Materiality"): on a deseasonalized series c (at every sample,
// the mean of the raw series over one period centred there), the values at centres one period
// apart are the means of adjacent whole cycles, which share no sample. Their trend test counts
// each cycle once: the blocks of c (1/40 of the window, often shorter than a period) are moving
// averages of overlapping cycles, and the ripple a removed period leaves is the same from block
// to block within a cycle, which Var(S) counts as independent evidence.
struct CycleTrend {
  std::size_t cycles = 0;
  double p = 1;                    // Mann-Kendall p on the cycle means (Hamed-Rao), rising only
  double slope = 0, slope_lo = 0;  // their Theil-Sen slope and its interval's low end, bytes/s
  double alias_bytes = 0;          // bytes: median swing of a cycle x sampling interval / period
};
// The cycle means of c over [t0, t1] (x in s, bytes) and each cycle's swing on the raw samples.
struct CycleMeans {
  std::vector<double> x, mean, swing;
};
CycleMeans cycle_means(const Clean& c, const Clean& raw, double t0, double t1, double period_ms) {
  CycleMeans cm;
  auto& x = cm.x;
  auto& mean = cm.mean;
  auto& swing = cm.swing;
  for (double at = t0; at <= t1 + 1e-6; at += period_ms) {
    std::size_t k =
        static_cast<std::size_t>(std::lower_bound(c.t.begin(), c.t.end(), at) - c.t.begin());
    if (k >= c.t.size()) break;
    if (k > 0 && at - c.t[k - 1] < c.t[k] - at) --k;  // the nearest centre
    // The cycle's swing on the raw samples (for the alias bound below).
    const double a = c.t[k] - period_ms / 2, b = c.t[k] + period_ms / 2;
    double lo = std::numeric_limits<double>::infinity(), hi = -lo;
    for (auto i = std::lower_bound(raw.t.begin(), raw.t.end(), a) - raw.t.begin();
         i < static_cast<std::ptrdiff_t>(raw.t.size()) && raw.t[static_cast<std::size_t>(i)] < b;
         ++i) {
      lo = std::min(lo, raw.v[static_cast<std::size_t>(i)]);
      hi = std::max(hi, raw.v[static_cast<std::size_t>(i)]);
    }
    if (!std::isfinite(lo)) continue;
    x.push_back(c.t[k] / 1000);
    mean.push_back(c.v[k]);
    swing.push_back(hi - lo);
  }
  return cm;
}

// nullopt with fewer than o.min_blocks whole cycles in [t0, t1] (times of c, ms).
std::optional<CycleTrend> cycle_trend(const Clean& c, const Clean& raw, double t0, double t1,
                                      double period_ms, const Options& o) {
  const CycleMeans cm = cycle_means(c, raw, t0, t1, period_ms);
  const auto& x = cm.x;
  const auto& mean = cm.mean;
  const auto& swing = cm.swing;
  if (x.size() < static_cast<std::size_t>(std::max(o.min_blocks, 3))) return std::nullopt;
  std::vector<double> dts;  // sampling intervals, ms
  for (std::size_t i = 1; i < raw.t.size(); ++i) dts.push_back(raw.t[i] - raw.t[i - 1]);
  CycleTrend ct;
  ct.cycles = x.size();
  const auto mk = stats::mann_kendall(x, mean);
  ct.p = mk.s > 0 ? mk.p : 1;
  const auto ts = stats::theil_sen(x, mean, o.alpha, mk.var_s_corrected);
  ct.slope = ts.slope;
  ct.slope_lo = ts.lo;
  ct.alias_bytes = median(swing) * median(dts) / period_ms;
  return ct;
}

// The fewest points on which a Mann-Kendall S alone can reach two-sided p < alpha: a perfectly
// monotone series of n points has exact p = 2 / n! (6 at alpha 0.01). With fewer cycles the
// levels' covariance - estimated from those same few cycles - would carry the whole claim.
std::size_t min_cycles_alone(double alpha) {
  double fact = 1;
  for (std::size_t n = 1; n < 20; ++n) {
    fact *= static_cast<double>(n);
    if (2 / fact < alpha) return n;
  }
  return 20;
}

// Regularized incomplete beta function I_x(a, b), by its continued fraction (modified Lentz;
// Press et al. 2007, Numerical Recipes 3rd ed., section 6.4).
double incomplete_beta(double a, double b, double x) {
  if (!(x > 0)) return 0;
  if (!(x < 1)) return 1;
  const double front = std::exp(std::lgamma(a + b) - std::lgamma(a) - std::lgamma(b) +
                                a * std::log(x) + b * std::log1p(-x));
  // The fraction converges fast for x < (a + 1) / (a + b + 2); else use the symmetry.
  if (x > (a + 1) / (a + b + 2)) return 1 - incomplete_beta(b, a, 1 - x);
  constexpr double tiny = 1e-300;
  double f = 1, c = 1, d = 0;
  for (int i = 0; i <= 400; ++i) {
    const int m = i / 2;
    const double md = static_cast<double>(m);
    double num;
    if (i == 0)
      num = 1;
    else if (i % 2 == 0)
      num = md * (b - md) * x / ((a + 2 * md - 1) * (a + 2 * md));
    else
      num = -(a + md) * (a + b + md) * x / ((a + 2 * md) * (a + 2 * md + 1));
    d = 1 + num * d;
    if (std::fabs(d) < tiny) d = tiny;
    d = 1 / d;
    c = 1 + num / c;
    if (std::fabs(c) < tiny) c = tiny;
    const double cd = c * d;
    f *= cd;
    if (std::fabs(1 - cd) < 1e-14) break;
  }
  return front * (f - 1) / a;
}

// Two-sided p of Student's t with df degrees of freedom (df > 0, not necessarily whole).
double student_p(double t, double df) { return incomplete_beta(df / 2, 0.5, df / (df + t * t)); }

// The t with two-sided p = alpha (bisection on student_p, monotone in |t|).
double student_crit(double alpha, double df) {
  double lo = 0, hi = 1e6;
  for (int i = 0; i < 200 && hi - lo > 1e-9 * hi; ++i) {
    const double mid = 0.5 * (lo + hi);
    (student_p(mid, df) > alpha ? lo : hi) = mid;
  }
  return 0.5 * (lo + hi);
}

// Ordinary least squares of y on x with the slope's standard error from the residuals and
// Student's t on the effective sample size of AR(1) residuals, n_e = n (1 - r1) / (1 + r1), r1
// their lag-1 autocorrelation, never below 0 (Santer et al. 2000, J. Geophys. Res.
// 105:7337-7356). nullopt when n_e < 3 (no degree of freedom left) or x does not vary.
struct Regression {
  double p = 1;                                  // two-sided, rising only (1 when slope <= 0)
  double slope = 0, slope_lo = 0, slope_hi = 0;  // per unit of x; the (1 - alpha) interval
  double r1 = 0, n_eff = 0;
};
std::optional<Regression> ar1_regression(const std::vector<double>& x, const std::vector<double>& y,
                                         double alpha, double r1_floor = 0) {
  const std::size_t k = std::min(x.size(), y.size());
  if (k < 3) return std::nullopt;
  const double n = static_cast<double>(k);
  double mx = 0, my = 0;
  for (std::size_t i = 0; i < k; ++i) mx += x[i], my += y[i];
  mx /= n, my /= n;
  double sxx = 0, sxy = 0;
  for (std::size_t i = 0; i < k; ++i)
    sxx += (x[i] - mx) * (x[i] - mx), sxy += (x[i] - mx) * (y[i] - my);
  if (!(sxx > 0)) return std::nullopt;
  const double b = sxy / sxx;
  double see = 0, num = 0, prev = 0;
  for (std::size_t i = 0; i < k; ++i) {
    const double e = y[i] - my - b * (x[i] - mx);
    see += e * e;
    if (i > 0) num += prev * e;
    prev = e;
  }
  Regression r;
  // Only persistence lowers the effective size (as Hamed & Rao's factor is never below 1).
  r.r1 = std::max(see > 0 ? std::clamp(num / see, 0.0, 0.99) : 0.0, std::min(r1_floor, 0.99));
  r.n_eff = n * (1 - r.r1) / (1 + r.r1);
  if (!(r.n_eff >= 3)) return std::nullopt;  // also when the sums overflowed (NaN)
  const double df = r.n_eff - 2;
  const double se = std::sqrt(see / df / sxx);
  r.slope = b;
  if (se > 0) {
    r.p = b > 0 ? student_p(b / se, df) : 1.0;
    const double half = student_crit(alpha, df) * se;
    r.slope_lo = b - half;
    r.slope_hi = b + half;
  } else {  // exactly on a line
    r.p = b > 0 ? 0.0 : 1.0;
    r.slope_lo = r.slope_hi = b;
  }
  return r;
}

// At or above this estimate of phi the AR(1) variogram over the 8 lags noise_phi measures is
// within 7 % of a straight line (weigh_persistence).
constexpr double kPhiStraight = 0.98;

// The noise's persistence from the whole window (README "The noise's persistence from the
// whole window"): the lag-1 autocorrelation phi of AR(1) noise fitted to the robust variogram of
// the raw samples at lags of 1..8 typical sampling intervals. For AR(1) noise the variance of a
// difference over k intervals is 2 s^2 (1 - phi^k): its growth with k is the persistence, and
// no level or sill enters (the sill is what a misfit of the mean inflates). Each difference is
// centred on the median difference of its eighth of the window (a trend moves every difference
// by its slope x lag; a bend changes the slope only between eighths), its scale is the median
// absolute deviation, so the rare large differences of a step, a spike or a release do not count,
// and the scale at lag k is the median over the eighths (an eighth holding a warm-up's bend is one
// of eight). log(scale_k^2) = c + log(1 - phi^k) by least squares over phi (grid of 0.005).
// 0 when fewer than 3 lags have 3 stretches of 6 differences each.
// sd (when not null): the noise's standard deviation, from the fitted sill (the scale at long
// lags, 2 s^2, in median absolute deviations: 0.6745 s for normal noise), 0 when not measured.
double noise_phi(const Clean& raw, double* sd) {
  if (sd) *sd = 0;
  const std::size_t n = raw.t.size();
  if (n < 24) return 0;
  std::vector<double> dts;
  for (std::size_t i = 1; i < n; ++i) dts.push_back(raw.t[i] - raw.t[i - 1]);
  const double dt = median(dts);
  const double w = raw.t.back() - raw.t.front();
  if (!(dt > 0) || !(w > 0)) return 0;
  constexpr int kLags = 8, kStretches = 8;
  std::vector<double> lags, logs;
  for (int k = 1; k <= kLags; ++k) {
    std::array<std::vector<double>, kStretches> d;
    std::size_t j = 0;
    for (std::size_t i = 0; i < n; ++i) {
      const double target = raw.t[i] + k * dt;
      j = std::max(j, i + 1);
      while (j < n && raw.t[j] < target - dt / 2) ++j;
      if (j >= n) break;
      if (raw.t[j] > target + dt / 2) continue;
      const auto s = std::min<std::size_t>(
          kStretches - 1, static_cast<std::size_t>(kStretches * (raw.t[i] - raw.t.front()) / w));
      d[s].push_back(raw.v[j] - raw.v[i]);
    }
    std::vector<double> per;  // 2 ln(median absolute deviation) of each stretch
    for (auto& ds : d) {
      if (ds.size() < 6) continue;
      const double m = median(ds);
      std::vector<double> dev;
      for (double x : ds) dev.push_back(std::fabs(x - m));
      const double mad = median(dev);
      if (mad > 0) per.push_back(2 * std::log(mad));
    }
    if (per.size() < 3) continue;
    lags.push_back(k);
    logs.push_back(median(per));
  }
  if (lags.size() < 3) return 0;
  double best = 0, best_c = 0, best_sse = std::numeric_limits<double>::infinity();
  std::array<double, kLags + 1> f{};  // ln(1 - phi^k), k = 1..kLags
  for (int g = 0; g < 200; ++g) {
    const double phi = 0.005 * g;
    double pk = 1;
    for (int k = 1; k <= kLags; ++k) pk *= phi, f[static_cast<std::size_t>(k)] = std::log(1 - pk);
    double c = 0;
    for (std::size_t i = 0; i < lags.size(); ++i)
      c += logs[i] - f[static_cast<std::size_t>(lags[i])];
    c /= static_cast<double>(lags.size());
    double sse = 0;
    for (std::size_t i = 0; i < lags.size(); ++i) {
      const double e = logs[i] - c - f[static_cast<std::size_t>(lags[i])];
      sse += e * e;
    }
    if (sse < best_sse) best_sse = sse, best = phi, best_c = c;
  }
  if (sd) *sd = std::sqrt(std::exp(best_c) / 2) / 0.6745;
  return best;
}
double noise_phi(const Clean& raw) { return noise_phi(raw, nullptr); }

// The floor's slope judged against the scatter of the cycles themselves (README "Materiality",
// "A regression on the cycle means"): ar1_regression of the cycle means (one point per whole
// cycle, sharing no sample) on time - so the ripple removing a period leaves, the sampler's
// phase and the noise are all in the variance the slope is judged against; noise that outlasts
// a period makes adjacent cycles alike, and counts as fewer of them. A parametric test has power
// on few points where a rank test has little, which is where long periods leave a window.
struct CycleRegression {
  std::size_t cycles = 0;
  Regression fit;          // bytes/s
  double alias_bytes = 0;  // bytes: median swing of a cycle x sampling interval / period
};
// nullopt with fewer than min_cycles_alone(alpha) whole cycles (6 at alpha 0.01: the residual
// variance and its lag-1 autocorrelation come from the cycles themselves, and on fewer a beat of
// the sampler against the period - a smooth walk of the cycle means - passes for a line;
// measured: from 4 cycles on, 2 long sawtooths of 3-4 cycles were called leak in four draws of
// the synthetic corpus), or an effective sample size under 3.
std::optional<CycleRegression> cycle_regression(const Clean& c, const Clean& raw, double t0,
                                                double t1, double period_ms, const Options& o) {
  const CycleMeans cm = cycle_means(c, raw, t0, t1, period_ms);
  if (cm.x.size() < std::max<std::size_t>(min_cycles_alone(o.alpha), 4)) return std::nullopt;
  const auto fit = ar1_regression(cm.x, cm.mean, o.alpha);
  if (!fit) return std::nullopt;
  CycleRegression cr;
  cr.cycles = cm.x.size();
  cr.fit = *fit;
  std::vector<double> dts;
  for (std::size_t i = 1; i < raw.t.size(); ++i) dts.push_back(raw.t[i] - raw.t[i - 1]);
  cr.alias_bytes = median(cm.swing) * median(dts) / period_ms;
  return cr;
}

// The seasonal Kendall test (Hirsch, Slack & Smith 1982, Water Resour. Res. 18:107-121) on the
// within-cycle quantiles (README "Materiality", "Quantiles of each cycle"): each whole cycle of
// [t0, t1] gives `cycle_levels` quantiles of the series over it; the Mann-Kendall S is summed over
// the levels, each level compared only with itself in the other cycles (like with like), and
// Var(S) is the sum of every level's variance, the covariances between levels estimated from
// their ranks (Hirsch & Slack 1984, Water Resour. Res. 20:727-732), and a Hamed-Rao inflation for
// noise that outlasts a period. A quantile over one whole period does not depend on where the
// period starts: a period known only approximately moves it by the sliver a window adds or drops,
// never by a phase that drifts from cycle to cycle (per-phase bins would: on a sawtooth's ramp a
// drifting phase reads as a trend in every bin).
struct CycleLevels {
  std::size_t cycles = 0;
  double p = 1;                    // two-sided, rising only (1 when S <= 0)
  double slope = 0, slope_lo = 0;  // bytes/s: median of the within-level slopes, Sen's low end
  double alias_bytes = 0;          // bytes: median swing of a cycle x sampling interval / period
};

// Mid-ranks of v (1-based).
std::vector<double> mid_ranks(const std::vector<double>& v) {
  std::vector<double> r(v.size());
  for (std::size_t a = 0; a < v.size(); ++a) {
    double lo = 0, eq = 0;
    for (std::size_t b = 0; b < v.size(); ++b) lo += v[b] < v[a], eq += v[b] == v[a];
    r[a] = lo + (eq + 1) / 2;
  }
  return r;
}

// nullopt with fewer than min_cycles_alone(alpha) whole cycles in [t0, t1] (ms).
std::optional<CycleLevels> cycle_levels(const Clean& raw, double t0, double t1, double period_ms,
                                        const Options& o) {
  if (!(period_ms > 0) || raw.t.size() < 2) return std::nullopt;
  const std::size_t cycles = static_cast<std::size_t>((t1 - t0) / period_ms + 1e-9);
  if (cycles < std::max<std::size_t>(min_cycles_alone(o.alpha), 3)) return std::nullopt;
  const std::size_t levels = static_cast<std::size_t>(std::max(o.cycle_levels, 1));
  const double nan = std::numeric_limits<double>::quiet_NaN();
  std::vector<std::vector<double>> cell(levels, std::vector<double>(cycles, nan));
  std::vector<double> swing;
  for (std::size_t j = 0; j < cycles; ++j) {
    const double a = t0 + static_cast<double>(j) * period_ms, b = a + period_ms;
    const auto i0 =
        static_cast<std::size_t>(std::lower_bound(raw.t.begin(), raw.t.end(), a) - raw.t.begin());
    std::size_t in = 0;
    while (i0 + in < raw.t.size() && raw.t[i0 + in] < b) ++in;
    if (in < 4) continue;
    // The series in time, not the samples that happen to fall in the window: the linearly
    // interpolated series at evenly spaced instants of the period (as the deseasonalizing average
    // is an integral in time), so a window one sample longer or shorter as the sampler's phase
    // drifts does not move its quantiles.
    std::vector<double> v;
    const std::size_t grid = 4 * in;
    for (std::size_t q = 0; q < grid; ++q) {
      const double t = a + (static_cast<double>(q) + 0.5) * period_ms / static_cast<double>(grid);
      std::size_t k =
          static_cast<std::size_t>(std::upper_bound(raw.t.begin(), raw.t.end(), t) - raw.t.begin());
      k = std::clamp<std::size_t>(k, 1, raw.t.size() - 1);
      const double dt = raw.t[k] - raw.t[k - 1];
      const double f = dt > 0 ? std::clamp((t - raw.t[k - 1]) / dt, 0.0, 1.0) : 0.0;
      v.push_back(raw.v[k - 1] + f * (raw.v[k] - raw.v[k - 1]));
    }
    std::sort(v.begin(), v.end());
    swing.push_back(v.back() - v.front());
    for (std::size_t g = 0; g < levels; ++g) {
      const double q = (static_cast<double>(g) + 0.5) / static_cast<double>(levels);
      cell[g][j] =
          v[std::min(v.size() - 1, static_cast<std::size_t>(q * static_cast<double>(v.size())))];
    }
  }
  auto sgn = [](double d) { return static_cast<double>((d > 0) - (d < 0)); };
  double s = 0, var = 0;
  std::vector<double> slopes;
  const double period_s = period_ms / 1000;
  for (std::size_t g = 0; g < levels; ++g) {
    double n = 0;
    for (std::size_t j = 0; j < cycles; ++j) {
      if (std::isnan(cell[g][j])) continue;
      n += 1;
      for (std::size_t k = j + 1; k < cycles; ++k) {
        if (std::isnan(cell[g][k])) continue;
        s += sgn(cell[g][k] - cell[g][j]);
        slopes.push_back((cell[g][k] - cell[g][j]) / (static_cast<double>(k - j) * period_s));
      }
    }
    var += n * (n - 1) * (2 * n + 5) / 18;
  }
  const double var_independent = var;
  if (slopes.empty() || !(var > 0)) return std::nullopt;
  std::sort(slopes.begin(), slopes.end());
  const std::size_t m = slopes.size();
  const double slope = m % 2 ? slopes[m / 2] : 0.5 * (slopes[m / 2 - 1] + slopes[m / 2]);
  // Covariances between levels over the cycles both hold (Hirsch & Slack 1984):
  // (K_gh + 4 sum_j R_jg R_jh - n (n + 1)^2) / 3, ranks within each level - of the cells less
  // the seasonal slope: the covariance of the noise, not the concordance the trend itself puts
  // into every level (as Hamed & Rao rank the Sen-detrended series).
  for (auto& level : cell)
    for (std::size_t j = 0; j < cycles; ++j) level[j] -= slope * static_cast<double>(j) * period_s;
  for (std::size_t g = 0; g < levels; ++g)
    for (std::size_t h = g + 1; h < levels; ++h) {
      std::vector<double> a, b;
      for (std::size_t j = 0; j < cycles; ++j)
        if (!std::isnan(cell[g][j]) && !std::isnan(cell[h][j]))
          a.push_back(cell[g][j]), b.push_back(cell[h][j]);
      if (a.size() < 3) continue;
      const double n = static_cast<double>(a.size());
      double kgh = 0;
      for (std::size_t x = 0; x < a.size(); ++x)
        for (std::size_t y = x + 1; y < a.size(); ++y) kgh += sgn((a[y] - a[x]) * (b[y] - b[x]));
      const auto ra = mid_ranks(a), rb = mid_ranks(b);
      double rr = 0;
      for (std::size_t x = 0; x < a.size(); ++x) rr += ra[x] * rb[x];
      var += 2 * (kgh + 4 * rr - n * (n + 1) * (n + 1)) / 3;
    }
  // Never below the levels taken as independent (as Hamed & Rao's factor is never below 1).
  var = std::max(var, var_independent);
  // Noise that outlasts a period correlates a level with itself from cycle to cycle, which the
  // covariances between levels do not see: the lag-1 autocorrelation of the detrended ranks,
  // pooled over the levels, inflates Var(S) as Hamed & Rao's factor does, with lags r^k (AR(1)).
  {
    double num = 0, den = 0;
    for (const auto& level : cell) {
      if (std::any_of(level.begin(), level.end(), [](double x) { return std::isnan(x); })) continue;
      const auto r = mid_ranks(level);
      const double mean = (static_cast<double>(r.size()) + 1) / 2;
      for (std::size_t j = 0; j < r.size(); ++j) {
        den += (r[j] - mean) * (r[j] - mean);
        if (j + 1 < r.size()) num += (r[j] - mean) * (r[j + 1] - mean);
      }
    }
    const double r1 = den > 0 ? num / den : 0;
    const double n = static_cast<double>(cycles);
    double sum = 0;
    for (std::size_t k = 1; r1 > 0 && k + 2 < cycles; ++k) {
      const double kd = static_cast<double>(k);
      sum += (n - kd) * (n - kd - 1) * (n - kd - 2) * std::pow(r1, kd);
    }
    var *= 1 + 2 / (n * (n - 1) * (n - 2)) * sum;
  }
  CycleLevels cl;
  cl.cycles = cycles;
  const double z = (s > 0 ? s - 1 : s < 0 ? s + 1 : 0) / std::sqrt(var);
  cl.p = s > 0 ? std::min(1.0, 2.0 * stats::normal_sf(std::fabs(z))) : 1.0;
  cl.slope = slope;
  // Sen's interval with this Var(S) (theil_sen's rule): the low end is the (N - C)/2-th slope,
  // C = z_{1-alpha/2} sqrt(Var S).
  double zc = 0;
  for (double lo = 0, hi = 40; hi - lo > 1e-9;) {
    zc = 0.5 * (lo + hi);
    (stats::normal_sf(zc) > o.alpha / 2 ? lo : hi) = zc;
  }
  const double nm = static_cast<double>(m);
  const double k1 = std::clamp(std::floor((nm - zc * std::sqrt(var)) / 2), 1.0, nm);
  cl.slope_lo = slopes[static_cast<std::size_t>(k1) - 1];
  std::vector<double> dts;
  for (std::size_t i = 1; i < raw.t.size(); ++i) dts.push_back(raw.t[i] - raw.t[i - 1]);
  cl.alias_bytes = swing.empty() ? 0 : median(swing) * median(dts) / period_ms;
  return cl;
}

// What sampling alone moves a one-period mean by (README "Materiality", "Sampling alias"): the
// median swing of a whole cycle of the raw series x its typical sampling interval / the period.
// Where a cycle drops or climbs sharply the interpolated series places the step anywhere within
// the sampling interval that holds it, so the mean over one period is known only to that much;
// the sampler's phase against the period moves it from cycle to cycle. 0 without a period.
double sampling_alias(const Clean& raw, double period_ms) {
  if (!(period_ms > 0) || raw.t.size() < 3) return 0;
  std::vector<double> swing, dts;
  std::size_t i = 0;
  for (double a = raw.t.front(); a + period_ms <= raw.t.back() + 1e-6; a += period_ms) {
    double lo = std::numeric_limits<double>::infinity(), hi = -lo;
    for (; i < raw.t.size() && raw.t[i] < a + period_ms; ++i)
      lo = std::min(lo, raw.v[i]), hi = std::max(hi, raw.v[i]);
    if (std::isfinite(lo)) swing.push_back(hi - lo);
  }
  for (std::size_t k = 1; k < raw.t.size(); ++k) dts.push_back(raw.t[k] - raw.t[k - 1]);
  return swing.empty() ? 0 : median(swing) * median(dts) / period_ms;
}

// Cycle means registered on the drops (README "Materiality", "Cycles registered on their
// drops"). A one-period mean of the interpolated series is known only to a swing x sampling
// interval / period, because a sharp drop lies anywhere inside the interval that holds it, and
// the sampler's phase walks across the cycles (the sampling alias). Where each cycle ends in a
// sharp drop, the drops themselves register the cycles: every drop is seen between two samples,
// and a periodic program drops at D_k = D_0 + k P, so the line through all the drops' intervals
// places each one far more precisely than its own interval does (a vernier: the sampler's phase
// walks across the intervals, and their intersection narrows with every cycle). Each cycle's
// mean is then the integral of its own ramp - the least-squares line of the samples between
// its two drops, which no sample of a neighbouring cycle enters - over [D_k, D_k+1], i.e. that
// line at the cycle's middle. A periodic program repeats its ramp, so the means are equal up to
// the noise; a leak raises each by its rate x the period. The means go to ar1_regression (as
// the cycle regression's do); what the registration itself leaves - the period known only to
// the range of periods whose line passes through every drop's interval, an error that tilts the
// means across the stretch by the ramp's slope x the error x the cycles - is the bound the
// growth must exceed (cycle_alias_intervals times), in place of the alias. Needs
// min_cycles_alone(alpha) whole cycles, as the cycle regression does.
struct RegisteredCycles {
  std::size_t cycles = 0;
  Regression fit;          // bytes/s
  double bound_bytes = 0;  // what an error of the registration could tilt the means by
};
// The drops of [t0, t1] registered on one line D_k = D_0 + k P (see below): each drop's sample
// before it, its cycle number k, the registered instant D_k, the period P and the range of
// periods [p_lo, p_hi] the drops allow, the typical sampling interval.
struct DropLine {
  std::vector<std::size_t> i;      // the sample before each drop (the last on its cycle's ramp)
  std::vector<std::size_t> after;  // the sample after each drop (the first of the next cycle)
  std::vector<double> k, at;       // cycle number, registered instant (ms)
  std::vector<double> lo, hi;      // each drop's interval (ms): the samples either side
  double per = 0, p_lo = 0, p_hi = 0, dt = 0;
  // The registered instants for another period in [p_lo, p_hi]: D_0 in the middle of what it
  // leaves (empty when none is left).
  std::vector<double> at_for(double p) const {
    double d_lo = -std::numeric_limits<double>::infinity(), d_hi = -d_lo;
    for (std::size_t j = 0; j < k.size(); ++j)
      d_lo = std::max(d_lo, lo[j] - k[j] * p), d_hi = std::min(d_hi, hi[j] - k[j] * p);
    if (!(d_lo <= d_hi + 1e-6)) return {};
    std::vector<double> r(k.size());
    for (std::size_t j = 0; j < k.size(); ++j) r[j] = (d_lo + d_hi) / 2 + p * k[j];
    return r;
  }
  // How likely each period of [p_lo, p_hi] is (README "The period's error as a distribution"):
  // the width of the D_0 every drop's interval leaves at it, at kPeriodGrid periods evenly over
  // the range (the middles of kPeriodGrid equal parts), from every drop of the registration.
  std::vector<double> weight;
};
constexpr int kPeriodGrid = 32;
// A step falls beyond the noise at this many robust standard deviations (register_drops).
constexpr double kDropSpanSd = 4;
std::optional<DropLine> register_drops_at(const Clean& raw, double t0, double t1, double period_ms,
                                          double* drop_period);
// The drops of [t0, t1] registered on one line (register_drops_at). The period the window's
// autocorrelation gives may be a multiple of the program's (its highest peak can lie at twice
// the period) or miss it: when the drops do not fall a whole number of those periods apart, the
// drops themselves say the period - the median spacing of consecutive drops - and the
// registration is tried once at it (README "The period the drops repeat at").
std::optional<DropLine> register_drops(const Clean& raw, double t0, double t1, double period_ms) {
  double drop_period = 0;
  auto dl = register_drops_at(raw, t0, t1, period_ms, &drop_period);
  if (dl || !(drop_period > 0)) return dl;
  return register_drops_at(raw, t0, t1, drop_period, nullptr);
}
// drop_period (when not null): set to the drops' median spacing when consecutive drops are not a
// whole number of periods apart.
std::optional<DropLine> register_drops_at(const Clean& raw, double t0, double t1, double period_ms,
                                          double* drop_period) {
  // A cycle's swing is what the cycle holds, not a spike the sampler caught (README "A drop is
  // half a cycle's swing, spikes left out"): measured on the series without its spikes
  // (despike3, a running median of three, which keeps a drop), so that a spike of 5-50 % of the
  // level in most periods does not lift the swing over twice the cycles' own drops.
  const double swing = sampling_alias(despike3(raw), period_ms);  // swing x interval / period
  std::vector<double> dts;
  for (std::size_t i = 1; i < raw.t.size(); ++i) dts.push_back(raw.t[i] - raw.t[i - 1]);
  if (dts.empty() || !(swing > 0)) return std::nullopt;
  const double dt = median(dts), full_swing = swing * period_ms / dt;
  const auto i0 =
      static_cast<std::size_t>(std::lower_bound(raw.t.begin(), raw.t.end(), t0) - raw.t.begin());
  const auto i1 =
      static_cast<std::size_t>(std::upper_bound(raw.t.begin(), raw.t.end(), t1) - raw.t.begin());
  if (i1 < i0 + 4) return std::nullopt;
  // Drops: a fall of at least half a cycle's swing between two consecutive samples less than half
  // a period apart; within half a period of each other, the deepest. A gap in the samples hides
  // where in it the drop fell, and the drop is known only to the gap - its interval, as any
  // drop's is the span between the samples either side (README "A drop across a gap"). Less than
  // half a period holds at most one drop, and the gap's middle stays within a quarter of a period
  // of it, the tolerance consecutive drops are matched to whole periods with.
  struct Drop {
    std::size_t i;  // the sample before it
    double depth;
  };
  std::vector<Drop> drops;
  for (std::size_t i = i0; i + 1 < i1; ++i) {
    const double d = raw.v[i] - raw.v[i + 1];
    if (!(d >= full_swing / 2) || !(raw.t[i + 1] - raw.t[i] < period_ms / 2)) continue;
    // A fall just after a rise of half its size or more is a spike coming back, not a cycle's end.
    if (i > i0 && raw.v[i] - raw.v[i - 1] >= d / 2) continue;
    // So is a fall that does not take the series half a swing below the lowest of the three
    // samples up to it: a spike caught on two samples comes back to the ramp it rose from, while
    // a cycle's drop falls below where the ramp stood (README "A drop falls below the ramp").
    if (i >= i0 + 2 &&
        std::min({raw.v[i - 2], raw.v[i - 1], raw.v[i]}) - raw.v[i + 1] < full_swing / 2)
      continue;
    if (!drops.empty() && raw.t[i] - raw.t[drops.back().i] < period_ms / 2) {
      if (d > drops.back().depth) drops.back() = {i, d};
      continue;
    }
    drops.push_back({i, d});
  }
  if (drops.size() < 2) return std::nullopt;
  // A drop is known to lie between the last sample on its cycle's ramp and the first of the next
  // cycle. A sample caught mid-drop (a drop that takes longer than an interval), or a spike on
  // the first sample after the drop, lies between the two and falls from its neighbour by more
  // than the noise: the drop is then known only to the span of every such consecutive fall, and
  // that sample belongs to neither cycle. Without it, a spike on the sample after a drop moves
  // that drop one interval late, the line through the drops excludes the true period, and the
  // tilt this gives the phases reads as a drift (synthetic seed 2: a sawtooth without a leak,
  // its RSS "grows" at p < 1e-6). Beyond the noise: more than kDropSpanSd robust standard
  // deviations (1.4826 x the median absolute deviation) of the steps below their median step.
  std::vector<std::size_t> top(drops.size()), first(drops.size());
  {
    std::vector<double> steps, dev;
    for (std::size_t i = i0; i + 1 < i1; ++i) steps.push_back(raw.v[i + 1] - raw.v[i]);
    const double m = median(steps);
    for (double d : steps) dev.push_back(std::fabs(d - m));
    // A noise scale is never 0 (README "A flat step is not a fall"): the MAD is 0 when more than
    // half the steps are equal (a deterministic ramp: a fixed allocation per tick), which says
    // only that the steps' spread is below the series' resolution - the smallest difference
    // from the median step that any step shows - so the MAD is floored there.
    double mad = median(dev);
    if (!(mad > 0)) {
      double res = std::numeric_limits<double>::infinity();
      for (double d : dev)
        if (d > 0) res = std::min(res, d);
      mad = std::isfinite(res) ? res : 0;
    }
    const double cut = kDropSpanSd * 1.4826 * mad;
    // A fall goes down: below zero as well as below the median step by more than the noise. On a
    // ramp that climbs between its drops the median step is the ramp's, and a flat step (a
    // plateau before the drop, a sampler tick with no program tick in it) falls below it without
    // the series falling at all.
    auto falls = [&](std::size_t i) {  // the step i -> i + 1
      return raw.v[i + 1] - raw.v[i] < std::min(m, 0.0) - cut && raw.t[i + 1] - raw.t[i] <= 2 * dt;
    };
    auto rises = [&](std::size_t i) {  // the step i -> i + 1, beyond the noise above the median
      return raw.v[i + 1] - raw.v[i] > m + cut && raw.t[i + 1] - raw.t[i] <= 2 * dt;
    };
    for (std::size_t j = 0; j < drops.size(); ++j) {
      std::size_t a = drops[j].i, b = drops[j].i + 1;
      while (a > i0 && falls(a - 1) && (j == 0 || a - 1 > first[j - 1])) --a;
      // A sample that jumps above the ramp by more than the noise just before the fall may be a
      // spike on the first sample after the drop (lifting it over the peak, so that the largest
      // fall comes one interval late): the drop is then known only to the span from the sample
      // before it (README "A drop known to the stamps' precision").
      if (a > i0 && rises(a - 1) && (j == 0 || a - 1 > first[j - 1])) --a;
      while (b + 1 < i1 && falls(b)) ++b;
      top[j] = a, first[j] = b;
    }
  }
  // One drop a period: consecutive drops a whole number of periods apart (within a quarter of
  // one); a drop in a gap of the samples is missing, and the cycles on either side of it are
  // not used.
  std::vector<double> k(drops.size()), mid(drops.size()), lo(drops.size()), hi(drops.size());
  // A sample's time stamp is known only to the sampler's jitter, and a drop's interval is the
  // span between two stamps: it is widened by what a stamp may be off by (README "A drop known
  // to the stamps' precision"), twice the standard deviation of one stamp's error, read from the
  // scatter of the regular intervals about their median (an interval is the difference of two
  // stamps: sd / sqrt(2) each, robustly 1.4826 x the median absolute deviation).
  double stamp_err = 0;
  {
    std::vector<double> dev;
    for (double d : dts)
      if (d < 1.5 * dt) dev.push_back(std::fabs(d - dt));
    if (!dev.empty()) stamp_err = std::sqrt(2.0) * 1.4826 * median(dev);
  }
  for (std::size_t j = 0; j < drops.size(); ++j) {
    lo[j] = raw.t[top[j]] - stamp_err;
    hi[j] = raw.t[first[j]] + stamp_err;
    mid[j] = (lo[j] + hi[j]) / 2;
    if (j == 0) continue;
    const double steps = std::round((mid[j] - mid[j - 1]) / period_ms);
    if (steps < 1 || std::fabs(mid[j] - mid[j - 1] - steps * period_ms) > period_ms / 4) {
      if (drop_period) {  // the drops' own period: the median spacing of consecutive drops
        std::vector<double> gaps;
        for (std::size_t l = 1; l < drops.size(); ++l)
          gaps.push_back((raw.t[top[l]] + raw.t[first[l]]) / 2 -
                         (raw.t[top[l - 1]] + raw.t[first[l - 1]]) / 2);
        *drop_period = median(gaps);
      }
      return std::nullopt;
    }
    k[j] = k[j - 1] + steps;
  }
  // The drop line D_k = D_0 + k P through every drop's interval: the periods P it allows are
  // those with lo_j - k_j P <= hi_l - k_l P for every pair (the projection of the strips
  // lo_j <= D_0 + k_j P <= hi_j onto P); the middle of that range, then the middle of the D_0
  // it leaves. No line through them all: the program does not repeat exactly, and its drops
  // cannot register its cycles more precisely than the sampling interval (nullopt: the alias
  // bound of the other tests stands).
  double p_lo = 0, p_hi = std::numeric_limits<double>::infinity();
  for (std::size_t j = 0; j < drops.size(); ++j)
    for (std::size_t l = j + 1; l < drops.size(); ++l) {
      const double dk = k[l] - k[j];
      p_hi = std::min(p_hi, (hi[l] - lo[j]) / dk);
      p_lo = std::max(p_lo, (lo[l] - hi[j]) / dk);
    }
  if (!(p_lo <= p_hi)) return std::nullopt;
  const double per = (p_lo + p_hi) / 2;
  double d_lo = -std::numeric_limits<double>::infinity(), d_hi = -d_lo;
  for (std::size_t j = 0; j < drops.size(); ++j)
    d_lo = std::max(d_lo, lo[j] - k[j] * per), d_hi = std::min(d_hi, hi[j] - k[j] * per);
  if (!(d_lo <= d_hi)) return std::nullopt;
  const double d0 = (d_lo + d_hi) / 2;
  DropLine dl;
  dl.k = k;
  dl.at.resize(drops.size());
  for (std::size_t j = 0; j < drops.size(); ++j) {
    dl.at[j] = d0 + per * k[j];
  }
  dl.i = top, dl.after = first;
  dl.per = per, dl.p_lo = p_lo, dl.p_hi = p_hi, dl.dt = dt;
  dl.lo = lo, dl.hi = hi;
  for (int g = 0; g < kPeriodGrid; ++g) {
    const double pg = p_lo + (p_hi - p_lo) * (g + 0.5) / kPeriodGrid;
    double a = -std::numeric_limits<double>::infinity(), b = -a;
    for (std::size_t j = 0; j < drops.size(); ++j)
      a = std::max(a, lo[j] - k[j] * pg), b = std::min(b, hi[j] - k[j] * pg);
    dl.weight.push_back(std::max(0.0, b - a));
  }
  return dl;
}

// The drops of the stretch [t0, t1], registered on the line through every drop of the window
// (README "The period from every drop in the window"): a program's period is its own, not a
// stretch's, and each drop's interval narrows the periods the line allows. A stretch's own drops
// allow a wider range of periods than the window's (fewer constraints on the same line), and the
// least favourable of them (profile_drift) or the tilt bound (registered_cycles) then reads the
// registration's error, not the program. When the window's drops do not register on one line,
// the stretch's own do (or none).
std::optional<DropLine> register_stretch(const Clean& raw, double t0, double t1, double period_ms) {
  if (raw.t.empty()) return std::nullopt;
  auto whole = register_drops(raw, raw.t.front(), raw.t.back(), period_ms);
  if (!whole) return register_drops(raw, t0, t1, period_ms);
  const auto i0 =
      static_cast<std::size_t>(std::lower_bound(raw.t.begin(), raw.t.end(), t0) - raw.t.begin());
  const auto i1 =
      static_cast<std::size_t>(std::upper_bound(raw.t.begin(), raw.t.end(), t1) - raw.t.begin());
  DropLine dl;
  dl.per = whole->per, dl.p_lo = whole->p_lo, dl.p_hi = whole->p_hi, dl.dt = whole->dt;
  dl.weight = whole->weight;
  for (std::size_t j = 0; j < whole->i.size(); ++j) {
    if (whole->i[j] < i0 || whole->after[j] >= i1) continue;
    dl.i.push_back(whole->i[j]);
    dl.after.push_back(whole->after[j]);
    dl.k.push_back(whole->k[j]);
    dl.at.push_back(whole->at[j]);
    dl.lo.push_back(whole->lo[j]);
    dl.hi.push_back(whole->hi[j]);
  }
  if (dl.i.size() < 2) return std::nullopt;
  return dl;
}

std::optional<RegisteredCycles> registered_cycles(const Clean& raw, double t0, double t1,
                                                  double period_ms, const Options& o) {
  const auto dl = register_stretch(raw, t0, t1, period_ms);
  if (!dl) return std::nullopt;
  const double dt = dl->dt, p_lo = dl->p_lo, p_hi = dl->p_hi;
  const std::vector<double>& k = dl->k;
  const std::vector<double>& at = dl->at;
  struct Drop {
    std::size_t i, after;  // the last sample before the drop, the first after it
  };
  std::vector<Drop> drops;
  for (std::size_t j = 0; j < dl->i.size(); ++j) drops.push_back({dl->i[j], dl->after[j]});
  // Each whole cycle: the line of its samples between the two drops, at the cycle's middle. A
  // spike (a transient the sampler caught, +5-50 % of the level for one sample) would move a
  // cycle's least-squares line by its size / the cycle's samples, so the line is fitted again
  // without the samples more than 4 robust standard deviations (1.4826 x the median absolute
  // residual) from the first fit: what the cycles hold, as the block medians are.
  std::vector<double> x, y, ramp, per_cycle;
  std::vector<char> keep;
  std::vector<double> res;
  double e_lag = 0, e_sq = 0;  // the within-cycle residuals' lag-1 products and squares
  for (std::size_t j = 0; j + 1 < drops.size(); ++j) {
    const std::size_t a = drops[j].after, b = drops[j + 1].i + 1;  // samples [a, b)
    if (b < a + 3 || k[j + 1] != k[j] + 1) continue;
    keep.assign(b - a, 1);
    double alpha_c = 0, beta = 0, sx = 0;
    bool ok = true;
    for (int pass = 0; pass < 2 && ok; ++pass) {
      double m = 0, sy = 0;
      sx = 0;
      for (std::size_t i = a; i < b; ++i)
        if (keep[i - a]) sx += raw.t[i], sy += raw.v[i], m += 1;
      if (m < 3) {
        ok = false;
        break;
      }
      sx /= m, sy /= m;
      double sxx = 0, sxy = 0;
      for (std::size_t i = a; i < b; ++i)
        if (keep[i - a])
          sxx += (raw.t[i] - sx) * (raw.t[i] - sx), sxy += (raw.t[i] - sx) * (raw.v[i] - sy);
      if (!(sxx > 0)) {
        ok = false;
        break;
      }
      beta = sxy / sxx, alpha_c = sy;
      if (pass == 1) break;
      res.clear();
      for (std::size_t i = a; i < b; ++i)
        res.push_back(std::fabs(raw.v[i] - alpha_c - beta * (raw.t[i] - sx)));
      const double cut = 4 * 1.4826 * median(res);
      for (std::size_t i = a; i < b; ++i)
        keep[i - a] = std::fabs(raw.v[i] - alpha_c - beta * (raw.t[i] - sx)) <= cut;
    }
    if (!ok) continue;
    for (std::size_t i = a; i < b; ++i) {
      if (!keep[i - a]) continue;
      const double e = raw.v[i] - alpha_c - beta * (raw.t[i] - sx);
      e_sq += e * e;
      if (i + 1 < b && keep[i + 1 - a] && raw.t[i + 1] - raw.t[i] <= 1.5 * dt)
        e_lag += e * (raw.v[i + 1] - alpha_c - beta * (raw.t[i + 1] - sx));
    }
    per_cycle.push_back(static_cast<double>(b - a));
    const double centre = (at[j] + at[j + 1]) / 2;
    x.push_back(centre / 1000);
    y.push_back(alpha_c + beta * (centre - sx));
    ramp.push_back(beta);
  }
  if (x.size() < std::max<std::size_t>(min_cycles_alone(o.alpha), 4)) return std::nullopt;
  // The noise's persistence from every sample of every cycle (hundreds of residuals about the
  // cycles' own lines), not from the few cycle means the slope is tested on: an AR(1) process
  // with lag-1 correlation phi, averaged over cycles of m samples, correlates adjacent cycle
  // means by phi (1 - phi^m)^2 / ((1 - phi)^2 (m + 2 sum_k (m - k) phi^k)), which floors the
  // lag-1 autocorrelation the regression's effective sample size is taken from.
  double rho_floor = 0;
  const double phi = e_sq > 0 ? std::clamp(e_lag / e_sq, 0.0, 0.99) : 0.0;
  if (phi > 0) {
    const double m = median(per_cycle);
    double var = m, pk = 1;
    for (double kk = 1; kk < m; ++kk) pk *= phi, var += 2 * (m - kk) * pk;
    const double pm = std::pow(phi, m);
    rho_floor = phi * (1 - pm) * (1 - pm) / ((1 - phi) * (1 - phi) * var);
  }
  const auto fit = ar1_regression(x, y, o.alpha, rho_floor);
  if (!fit) return std::nullopt;
  RegisteredCycles rc;
  rc.cycles = x.size();
  rc.fit = *fit;
  // An error e of the period moves the middle of cycle k by (k + 1/2) e: across the cycles the
  // means tilt by the ramp's slope x e x their count, and |e| <= half the range of periods.
  rc.bound_bytes = std::fabs(median(ramp)) * (p_hi - p_lo) / 2 * static_cast<double>(x.size());
  return rc;
}

// Solves the symmetric positive definite system a x = b (n x n, row-major) by Gaussian
// elimination with partial pivoting; false when singular.
bool solve_normal(std::vector<double> a, std::vector<double>& b, std::size_t n) {
  for (std::size_t c = 0; c < n; ++c) {
    std::size_t piv = c;
    for (std::size_t r = c + 1; r < n; ++r)
      if (std::fabs(a[r * n + c]) > std::fabs(a[piv * n + c])) piv = r;
    if (!(std::fabs(a[piv * n + c]) > 1e-12 * (std::fabs(a[c * n + c]) + 1e-300))) return false;
    if (piv != c) {
      for (std::size_t j = 0; j < n; ++j) std::swap(a[c * n + j], a[piv * n + j]);
      std::swap(b[c], b[piv]);
    }
    for (std::size_t r = c + 1; r < n; ++r) {
      const double f = a[r * n + c] / a[c * n + c];
      if (f == 0) continue;
      for (std::size_t j = c; j < n; ++j) a[r * n + j] -= f * a[c * n + j];
      b[r] -= f * b[c];
    }
  }
  for (std::size_t c = n; c-- > 0;) {
    for (std::size_t j = c + 1; j < n; ++j) b[c] -= a[c * n + j] * b[j];
    b[c] /= a[c * n + c];
  }
  return true;
}

// The drift over the period's error as a distribution (README "The period's error as a
// distribution"): the drift's estimate and standard error at p_lo, the middle and p_hi (lo, mid,
// hi), linear in the period between them, and each period of the range weighted by how likely the
// drops make it (DropLine::weight). The drift's distribution is the mixture of the Student t's
// on df degrees of freedom at those periods (the nuisance integrated out, Cousins & Highland
// 1992, Nucl. Instrum. Meth. A320:331-335): its mean is the estimate, its alpha / 2 quantiles the
// interval, twice its mass at or below 0 the p (1 when the estimate is not above 0), as
// Regression reads them (`like` gives the rest). nullopt when the range is a point, no period has
// weight, or df <= 0.
struct AtPeriod {
  double slope = 0, se = 0;  // bytes/s
};
std::optional<Regression> period_mixture(const AtPeriod& lo, const AtPeriod& mid,
                                         const AtPeriod& hi, const Regression& like,
                                         const DropLine& dl, double df, double alpha) {
  if (!(dl.p_hi > dl.p_lo) || dl.weight.size() != static_cast<std::size_t>(kPeriodGrid) ||
      !(df > 0))
    return std::nullopt;
  // P(T > x) for Student's t on df degrees of freedom (student_p is two-sided).
  auto upper = [&](double x) { return x >= 0 ? student_p(x, df) / 2 : 1 - student_p(-x, df) / 2; };
  std::vector<double> b, se, w;
  double wsum = 0, mean = 0;
  for (int g = 0; g < kPeriodGrid; ++g) {
    const double pg = dl.p_lo + (dl.p_hi - dl.p_lo) * (g + 0.5) / kPeriodGrid;
    const AtPeriod& a = pg < dl.per ? lo : mid;
    const AtPeriod& c = pg < dl.per ? mid : hi;
    const double pa = pg < dl.per ? dl.p_lo : dl.per, pc = pg < dl.per ? dl.per : dl.p_hi;
    const double f = pc > pa ? (pg - pa) / (pc - pa) : 0.5;
    b.push_back(a.slope + f * (c.slope - a.slope));
    se.push_back(std::max(0.0, a.se + f * (c.se - a.se)));
    w.push_back(dl.weight[static_cast<std::size_t>(g)]);
    wsum += w.back(), mean += w.back() * b.back();
  }
  if (!(wsum > 0)) return std::nullopt;
  mean /= wsum;
  // The mixture's mass above x.
  auto above = [&](double x) {
    double m = 0;
    for (std::size_t g = 0; g < b.size(); ++g)
      m += w[g] * (se[g] > 0 ? upper((x - b[g]) / se[g]) : (b[g] > x ? 1.0 : 0.0));
    return m / wsum;
  };
  auto quantile = [&](double mass_above) {
    double l = *std::min_element(b.begin(), b.end()), h = *std::max_element(b.begin(), b.end());
    const double s = *std::max_element(se.begin(), se.end());
    l -= 100 * s + 1, h += 100 * s + 1;
    for (int i = 0; i < 100 && h - l > 1e-6 * s; ++i) {
      const double x = (l + h) / 2;
      (above(x) > mass_above ? l : h) = x;
    }
    return (l + h) / 2;
  };
  Regression r = like;
  r.slope = mean;
  r.slope_lo = quantile(1 - alpha / 2);
  r.slope_hi = quantile(alpha / 2);
  r.p = mean > 0 ? std::min(1.0, 2 * (1 - above(0))) : 1.0;
  return r;
}

// A drift beneath a registered cycle (README "A periodic profile and a drift, fitted together").
// With the cycles registered on their drops, every sample has a phase u in [0, 1) of its cycle;
// the samples of the whole cycles are fitted by one periodic profile (continuous piecewise linear
// in u, up to `profile_segments` pieces, free at the drop) plus a line in time, by generalized
// least squares under AR(1) noise (Cochrane & Orcutt 1949, JASA 44:32-61, iterated; the AR(1)
// coefficient from the residuals of every sample, uneven gaps as phi^(gap / interval)). The
// drift is identified only by what the same phase does from cycle to cycle (its part within a
// cycle is the profile's), so a program repeating its ramp, whatever its shape, gives none; a
// leak gives its rate. Spikes (more than 4 robust standard deviations from the first fit) are
// left out. Two things the AR(1) noise does not cover are in the test: the period, known only to
// the range [p_lo, p_hi] of periods whose line passes through every drop's interval, tilts the
// phases across the cycles - the drift must hold at the least favourable period of that range
// (its ends: the tilt is monotone in the period), the largest p and lowest interval of the three
// fits (middle and ends); and the cycles' residual means, when they scatter more than AR(1) noise
// makes a mean of their samples scatter, inflate the drift's variance by the ratio (a variance
// component per cycle). nullopt with fewer than `profile_min_cycles` whole cycles.
struct ProfileDrift {
  std::size_t cycles = 0;
  Regression fit;           // bytes/s: the least favourable of the periods the drops allow
  double floor_bytes = 0;   // the floor the cycles return to (profile_floor), at that period
  double drift_before = 0;  // with an onset: the drift before it (bytes/s), at that period
  double after_p = 1;       // with an onset: p of the rate after it, the largest over the periods
  double after_rate = 0, after_lo = 0;  // ... that rate and its interval's low end (bytes/s)
  // Without an onset, when asked (over_periods): the drift over every period the drops allow,
  // each weighted by how likely they make it (period_mixture); nullopt when the range is a point.
  std::optional<Regression> over_periods;
};
// The floor a fitted periodic profile and drift return to (README "The floor the cycles return
// to"): the profile's lowest point - a continuous piecewise line in the phase is lowest at one of
// its knots or ends - plus the drift, at the start and at the end of the stretch (x0_s, x1_s:
// seconds from the fit's centre), the larger of the two in absolute value (as the level is the
// larger of the window's first and last levels). beta: intercept, drift, then the profile's
// `segs` columns (the first the phase u, the others max(0, u - q / segs)); ym: the value the fit
// was centred on.
double profile_floor(const std::vector<double>& beta, std::size_t segs, double ym, double x0_s,
                     double x1_s) {
  double low = std::numeric_limits<double>::infinity();
  for (std::size_t q = 0; q <= segs; ++q) {
    const double u = static_cast<double>(q) / static_cast<double>(segs);
    double s = beta[2] * u;
    for (std::size_t h = 1; h < segs; ++h)
      s += beta[2 + h] * std::max(0.0, u - static_cast<double>(h) / static_cast<double>(segs));
    low = std::min(low, s);
  }
  const double at = ym + beta[0] + low;
  return std::max(std::fabs(at + beta[1] * x0_s), std::fabs(at + beta[1] * x1_s));
}
// With onset_ms: one more column, max(0, t - onset) (s), and `fit` is its coefficient, the change
// of rate at the onset; after_p / after_rate / after_lo are the rate after it (README "A drift
// with an onset beneath the cycles"). over_periods: without an onset, ProfileDrift::over_periods
// too (a few thousand t tail probabilities: only where it is read).
std::optional<ProfileDrift> profile_drift(
    const Clean& raw, double t0, double t1, double period_ms, const Options& o,
    double onset_ms = std::numeric_limits<double>::quiet_NaN(), bool over_periods = false) {
  const bool hinge = std::isfinite(onset_ms);
  const auto dl = register_stretch(raw, t0, t1, period_ms);
  if (!dl) return std::nullopt;
  // Samples of whole cycles (consecutive drops one period apart): cycle, time, value.
  std::vector<std::size_t> cyc;
  std::vector<double> ts, ys;
  std::size_t cycles = 0;
  std::vector<double> per_cycle;
  for (std::size_t j = 0; j + 1 < dl->i.size(); ++j) {
    if (dl->k[j + 1] != dl->k[j] + 1) continue;
    const std::size_t a = dl->after[j], b = dl->i[j + 1] + 1;
    if (b < a + 3) continue;
    ++cycles;
    per_cycle.push_back(static_cast<double>(b - a));
    for (std::size_t i = a; i < b; ++i) {
      cyc.push_back(j);
      ts.push_back(raw.t[i]);
      ys.push_back(raw.v[i]);
    }
  }
  // Too few whole cycles to compare each phase with itself: the partial cycles at the stretch's
  // ends join them (README "Few cycles: the partial cycles at the ends"), their phase from the
  // drop line - the samples after the last drop, up to a period after it, and those before the
  // first, from a period before it - each a cycle of its own in the variance component. Only
  // then: with enough whole cycles the fit stays on them.
  std::vector<double> off(cyc.size(), 0.0);  // the phase from at[cyc] + off x the period
  std::vector<std::size_t> grp = cyc;        // the cycle a sample belongs to (variance component)
  if (static_cast<double>(cycles) < o.profile_min_cycles && dl->i.size() >= 2) {
    const auto i0 =
        static_cast<std::size_t>(std::lower_bound(raw.t.begin(), raw.t.end(), t0) - raw.t.begin());
    const auto i1 =
        static_cast<std::size_t>(std::upper_bound(raw.t.begin(), raw.t.end(), t1) - raw.t.begin());
    const std::size_t last = dl->i.size() - 1;
    std::size_t partial = 0;
    auto add = [&](std::size_t a, std::size_t b, std::size_t j, double of, std::size_t g) {
      std::size_t m = 0;
      for (std::size_t i = a; i < b; ++i) {
        const double u = (raw.t[i] - dl->at[j]) / dl->per - of;
        if (u < 0 || u >= 1) continue;
        cyc.push_back(j), off.push_back(of), grp.push_back(g);
        ts.push_back(raw.t[i]), ys.push_back(raw.v[i]);
        ++m;
      }
      if (m >= 3) ++partial, per_cycle.push_back(static_cast<double>(m));
    };
    add(i0, dl->i[0] + 1, 0, -1.0, last + 1);   // before the first drop
    add(dl->after[last], i1, last, 0.0, last);  // after the last
    cycles += partial;
    if (partial > 0) {  // in time order, as the AR(1) whitening reads them
      std::vector<std::size_t> ord(ts.size());
      for (std::size_t i = 0; i < ord.size(); ++i) ord[i] = i;
      std::sort(ord.begin(), ord.end(),
                [&](std::size_t a, std::size_t b) { return ts[a] < ts[b]; });
      auto perm = [&](auto& v) {
        auto w = v;
        for (std::size_t i = 0; i < ord.size(); ++i) w[i] = v[ord[i]];
        v = w;
      };
      perm(cyc), perm(off), perm(grp), perm(ts), perm(ys);
    }
  }
  if (static_cast<double>(cycles) < o.profile_min_cycles) return std::nullopt;
  // The design rows live in arrays of kMaxColumns: at most 13 pieces beside the intercept,
  // the drift and the onset, whatever Options::profile_segments asks.
  constexpr std::size_t kMaxColumns = 16;
  const std::size_t segs = static_cast<std::size_t>(
      std::clamp(std::floor(median(per_cycle) / 4), 1.0,
                 static_cast<double>(std::min<int>(o.profile_segments, kMaxColumns - 3))));
  const std::size_t np = segs + 2 + (hinge ? 1 : 0);  // intercept, drift, profile, onset
  const std::size_t tc = hinge ? np - 1 : 1;          // the coefficient tested
  const std::size_t n = ys.size();
  if (n < np + 8) return std::nullopt;
  const double tm = (ts.front() + ts.back()) / 2, ym = median(ys);
  // The fit for one registration (period p): the drift's Regression and the profile's rise
  // over a cycle (bytes).
  struct One {
    Regression r;
    double rise = 0;
    double floor = 0;  // bytes (profile_floor)
    double before = 0;
    double after_p = 1, after_rate = 0, after_lo = 0;
    double se = 0;         // the drift's standard error (bytes/s)
    double cycles_df = 0;  // the cycles with samples, less 2 (period_mixture's df)
  };
  auto fit_at = [&](double per) -> std::optional<One> {
    const std::vector<double> at = dl->at_for(per);
    if (at.empty()) return std::nullopt;
    std::vector<double> us(n);
    for (std::size_t i = 0; i < n; ++i)
      us[i] = std::clamp((ts[i] - at[cyc[i]]) / per - off[i], 0.0, 1.0);
    auto row = [&](std::size_t i, double* c) {
      c[0] = 1;
      c[1] = (ts[i] - tm) / 1000.0;  // s
      c[2] = us[i];
      for (std::size_t q = 1; q < segs; ++q)
        c[2 + q] = std::max(0.0, us[i] - static_cast<double>(q) / static_cast<double>(segs));
      if (hinge) c[np - 1] = std::max(0.0, (ts[i] - onset_ms) / 1000.0);
    };
    std::vector<char> keep(n, 1);
    std::vector<double> beta(np), res(n);
    double phi = 0, var_b = 0, var_sum = 0;
    std::size_t used = 0;
    std::array<double, kMaxColumns> ci{}, cp{};
    // Pass 0: OLS, then the spikes left out; passes 1-3: GLS with phi from the residuals before.
    for (int pass = 0; pass < 4; ++pass) {
      std::vector<double> xtx(np * np, 0.0), xty(np, 0.0);
      std::size_t prev = n;
      used = 0;
      double sse_w = 0;
      for (std::size_t i = 0; i < n; ++i) {
        if (!keep[i]) continue;
        row(i, ci.data());
        const double yi = ys[i] - ym;
        std::array<double, kMaxColumns> w{};
        double zy = yi;
        if (prev < n && phi > 0) {
          const double rho = std::pow(phi, std::max(1.0, (ts[i] - ts[prev]) / dl->dt));
          const double sc = 1 / std::sqrt(1 - rho * rho);
          row(prev, cp.data());
          for (std::size_t c = 0; c < np; ++c) w[c] = (ci[c] - rho * cp[c]) * sc;
          zy = (yi - rho * (ys[prev] - ym)) * sc;
        } else {
          for (std::size_t c = 0; c < np; ++c) w[c] = ci[c];
        }
        for (std::size_t x = 0; x < np; ++x) {
          for (std::size_t y = 0; y < np; ++y) xtx[x * np + y] += w[x] * w[y];
          xty[x] += w[x] * zy;
        }
        sse_w += zy * zy;
        prev = i;
        ++used;
      }
      if (used < np + 3) return std::nullopt;
      beta = xty;
      if (!solve_normal(xtx, beta, np)) return std::nullopt;
      double bxy = 0;  // the whitened residual sum of squares is y'y - b'X'y
      for (std::size_t c = 0; c < np; ++c) bxy += beta[c] * xty[c];
      const double s2 = std::max(0.0, sse_w - bxy) / static_cast<double>(used - np);
      std::vector<double> e1(np, 0.0);
      e1[tc] = 1;
      if (!solve_normal(xtx, e1, np)) return std::nullopt;
      var_b = s2 * e1[tc];
      if (hinge) {
        std::vector<double> e2(np, 0.0);
        e2[1] = 1, e2[tc] = 1;
        if (!solve_normal(xtx, e2, np)) return std::nullopt;
        var_sum = s2 * (e2[1] + e2[tc]);
      }
      for (std::size_t i = 0; i < n; ++i) {
        row(i, ci.data());
        double f = 0;
        for (std::size_t c = 0; c < np; ++c) f += beta[c] * ci[c];
        res[i] = ys[i] - ym - f;
      }
      if (pass == 0) {
        std::vector<double> dev;
        for (double e : res) dev.push_back(std::fabs(e));
        const double cut = 4 * 1.4826 * median(dev);
        for (std::size_t i = 0; i < n; ++i) keep[i] = std::fabs(res[i]) <= cut;
      }
      double lag = 0, sq = 0;
      prev = n;
      for (std::size_t i = 0; i < n; ++i) {
        if (!keep[i]) continue;
        sq += res[i] * res[i];
        if (prev < n && ts[i] - ts[prev] <= 1.5 * dl->dt) lag += res[prev] * res[i];
        prev = i;
      }
      phi = sq > 0 ? std::clamp(lag / sq, 0.0, 0.99) : 0.0;
    }
    const double df = static_cast<double>(used - np);
    if (!(var_b >= 0)) return std::nullopt;
    double cycles_seen = 0;  // the cycles with samples kept (the variance component's groups)
    {
      // The drift is told from what the cycles do as wholes; when their residual means scatter
      // more than the AR(1) noise makes a mean of their samples scatter, that excess is in the
      // drift's variance too (a variance component per cycle): Var(b) x the ratio, never less.
      std::vector<double> sum(dl->i.size() + 1, 0.0), cnt(dl->i.size() + 1, 0.0);
      for (std::size_t i = 0; i < n; ++i)
        if (keep[i]) sum[grp[i]] += res[i], cnt[grp[i]] += 1;
      double obs = 0, pred = 0, nc = 0;
      double sq = 0, m = 0;
      for (std::size_t i = 0; i < n; ++i)
        if (keep[i]) sq += res[i] * res[i], m += 1;
      const double sigma2 = m > 0 ? sq / m : 0;
      for (std::size_t j = 0; j < sum.size(); ++j) {
        if (!(cnt[j] > 0)) continue;
        const double mm = cnt[j];
        double v = mm, pk = 1;
        for (double kk = 1; kk < mm; ++kk) pk *= phi, v += 2 * (mm - kk) * pk;
        pred += sigma2 * v / (mm * mm);
        obs += (sum[j] / mm) * (sum[j] / mm);
        nc += 1;
      }
      // The cycles' scatter is read about a curve through their residual means (a quadratic in
      // time), not about the drift's line alone (README "The cycles' scatter about a curve"): a
      // leak that steps or begins late leaves its means a smooth misfit to one line, which is not
      // the noise of a cycle; on nc - 3 degrees of freedom, so noise that does scatter the cycles
      // is read unbiased. Needs 2 degrees of freedom (5 cycles); fewer keep the line's.
      double obs_df = nc - 2;
      if (nc > 4) {
        std::vector<double> xs(sum.size(), 0.0);  // each cycle's mean time, s from the centre
        for (std::size_t i = 0; i < n; ++i)
          if (keep[i]) xs[grp[i]] += (ts[i] - tm) / 1000.0;
        std::vector<double> a(9, 0.0), q(3, 0.0), xr, rr;
        for (std::size_t j = 0; j < sum.size(); ++j) {
          if (!(cnt[j] > 0)) continue;
          const double x = xs[j] / cnt[j], r = sum[j] / cnt[j];
          xr.push_back(x), rr.push_back(r);
          const double c[3] = {1, x, x * x};
          for (std::size_t u = 0; u < 3; ++u) {
            q[u] += c[u] * r;
            for (std::size_t v = 0; v < 3; ++v) a[u * 3 + v] += c[u] * c[v];
          }
        }
        if (solve_normal(a, q, 3)) {
          double ssr = 0;
          for (std::size_t j = 0; j < xr.size(); ++j) {
            const double e = rr[j] - q[0] - q[1] * xr[j] - q[2] * xr[j] * xr[j];
            ssr += e * e;
          }
          obs = ssr, obs_df = nc - 3;
        }
      }
      cycles_seen = nc;
      if (nc > 2 && pred > 0) {
        var_b *= std::max(1.0, obs / obs_df / (pred / nc));
        var_sum *= std::max(1.0, obs / obs_df / (pred / nc));
      }
    }
    const double se = std::sqrt(var_b);
    One one;
    one.se = se;
    one.cycles_df = cycles_seen - 2;
    Regression& r = one.r;
    r.slope = beta[tc];
    one.before = beta[1];
    if (hinge) {
      const double sum = beta[1] + beta[tc];
      one.after_p = var_sum > 0 ? (sum > 0 ? student_p(sum / std::sqrt(var_sum), df) : 1.0)
                                : (sum > 0 ? 0.0 : 1.0);
      one.after_rate = sum;
      one.after_lo = sum - student_crit(o.alpha, df) * std::sqrt(std::max(0.0, var_sum));
    }
    r.r1 = phi;
    r.n_eff = static_cast<double>(used);
    if (se > 0) {
      r.p = r.slope > 0 ? student_p(r.slope / se, df) : 1.0;
      const double half = student_crit(o.alpha, df) * se;
      r.slope_lo = r.slope - half;
      r.slope_hi = r.slope + half;
    } else {
      r.p = r.slope > 0 ? 0.0 : 1.0;
      r.slope_lo = r.slope_hi = r.slope;
    }
    one.rise = beta[2];
    for (std::size_t q = 1; q < segs; ++q)
      one.rise += beta[2 + q] * (1 - static_cast<double>(q) / static_cast<double>(segs));
    one.floor =
        profile_floor(beta, segs, ym, (ts.front() - tm) / 1000.0, (ts.back() - tm) / 1000.0);
    return one;
  };
  // The period is known only to [p_lo, p_hi] (every period there passes through every drop's
  // interval), and an error of it tilts the phases across the cycles: the drift must hold at
  // the least favourable of them. The tilt is monotone in the period, so the ends decide.
  std::optional<One> worst;
  std::vector<One> fits;  // at the middle, p_lo, p_hi
  double after_p = -1, after_rate = 0, after_lo = 0;
  for (double per : {dl->per, dl->p_lo, dl->p_hi}) {
    const auto f = fit_at(per);
    if (!f) return std::nullopt;
    fits.push_back(*f);
    if (f->after_p > after_p || (f->after_p == after_p && f->after_lo < after_lo))
      after_p = f->after_p, after_rate = f->after_rate, after_lo = f->after_lo;
    if (!worst || f->r.p > worst->r.p ||
        (f->r.p == worst->r.p && f->r.slope_lo < worst->r.slope_lo))
      worst = f;
  }
  ProfileDrift pd;
  pd.cycles = cycles;
  pd.fit = worst->r;
  pd.floor_bytes = worst->floor;
  pd.drift_before = worst->before;
  pd.after_p = after_p;
  pd.after_rate = after_rate, pd.after_lo = after_lo;
  // Without an onset, the drift over the whole range of periods as well (README "The period's
  // error as a distribution"). The drift is a contrast between cycles (within one, its column is
  // the phase's), so its t has the cycles' degrees of freedom: the cycles less the intercept and
  // the drift, as a term that varies only between groups has in a mixed model.
  if (!hinge && over_periods)
    pd.over_periods =
        period_mixture({fits[1].r.slope, fits[1].se}, {fits[0].r.slope, fits[0].se},
                       {fits[2].r.slope, fits[2].se}, fits[0].r, *dl, fits[0].cycles_df, o.alpha);
  return pd;
}

// Trend tests on the samples [i0, i1) of c; nullopt when too few blocks remain. period_ms > 0
// asks for whole-cycle blocks on a raw oscillating series; deseasonalized series pass 0 and
// low_quartile. raw: the series before deseasonalizing (the spread is measured on it).
std::optional<Trend> trend_on(const Clean& c, const Clean& raw, std::size_t i0, std::size_t i1,
                              double period_ms, double level_ref, const Options& o,
                              bool low_quartile, double cycle_ms) {
  const Blocks b = make_blocks(c, i0, i1, period_ms, o, low_quartile);
  if (b.t.size() < static_cast<std::size_t>(o.min_blocks)) return std::nullopt;
  Trend tr;
  tr.t0_ms = c.t[i0];
  tr.t1_ms = c.t[i1 - 1];
  tr.blocks = b.t.size();
  tr.block_ms = b.block_ms;
  std::vector<double> x = seconds_from_first(b.t);
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
              ts.lo > 0 &&
              material(tr.growth_pct, ts.slope * (tr.t1_ms - tr.t0_ms) / 1000.0, ts.lo, level_ref,
                       spread_about(raw, tr.t0_ms, tr.t1_ms, b.t.front(), ts.intercept, ts.slope),
                       period_ms > 0 || low_quartile, o);
  // On a deseasonalized series every trend must also exceed what sampling alone moves a
  // one-period mean by (cycle_alias_intervals x the sampling alias), as the confirmations below
  // require: a trend inside it may be the sampler's phase walking across the cycles.
  if (tr.rising && cycle_ms > 0 && low_quartile &&
      ts.slope * (tr.t1_ms - tr.t0_ms) / 1000.0 <
          o.cycle_alias_intervals * sampling_alias(raw, cycle_ms))
    tr.rising = false;
  // On a deseasonalized series, a trend that passes the block tests and a leak line but not the
  // oscillating series' materiality (the 2 % line, or the raw-spread proviso of the absolute
  // line) is material when one point per cycle confirms it (README "Materiality"): significant
  // and its interval above 0 on the cycle means, adding min_drift_pct of the level or leaking
  // min_leak_rate at the low end of both intervals, and beyond what sampling alone moves a
  // cycle's mean. The sampler's phase against the period, and the period itself, are known only
  // to a sampling interval, and both drift steadily from cycle to cycle (a beat, not noise): each
  // moves a cycle's mean by up to the cycle's swing x interval / period, so the trend must exceed
  // cycle_alias_intervals (2) of it.
  if (!tr.rising && cycle_ms > 0 && low_quartile && mk_med.p < o.alpha && mk_min.p < o.alpha &&
      mk_med.s > 0 && mk_min.s > 0 && ts.lo > 0 &&
      (tr.growth_pct >= o.min_drift_pct || ts.lo >= o.min_leak_rate)) {
    const double span_s = (tr.t1_ms - tr.t0_ms) / 1000.0;
    const auto ct = cycle_trend(c, raw, tr.t0_ms, tr.t1_ms, cycle_ms, o);
    const bool relative = ct && tr.growth_pct >= o.min_drift_pct &&
                          100.0 * ct->slope * span_s / level_ref >= o.min_drift_pct;
    const bool absolute = ct && ts.lo >= o.min_leak_rate && ct->slope_lo >= o.min_leak_rate;
    tr.rising = ct && ct->p < o.alpha && ct->slope_lo > 0 && (relative || absolute) &&
                ct->slope * span_s >= o.cycle_alias_intervals * ct->alias_bytes;
    // The same confirmation from the quantiles of each whole cycle (seasonal Kendall across
    // levels): with fewer cycles than the cycle means need, or where noise spread over the
    // levels of a cycle hides a trend from their mean. The same lines, the same alias bound.
    if (!tr.rising) {
      // On the raw samples the stretch's deseasonalized values were made of: half a period
      // more at each end.
      const auto cl = cycle_levels(raw, std::max(raw.t.front(), tr.t0_ms - cycle_ms / 2),
                                   std::min(raw.t.back(), tr.t1_ms + cycle_ms / 2), cycle_ms, o);
      const bool rel = cl && tr.growth_pct >= o.min_drift_pct &&
                       100.0 * cl->slope * span_s / level_ref >= o.min_drift_pct;
      const bool abs = cl && ts.lo >= o.min_leak_rate && cl->slope_lo >= o.min_leak_rate;
      tr.rising = cl && cl->p < o.alpha && cl->slope_lo > 0 && (rel || abs) &&
                  cl->slope * span_s >= o.cycle_alias_intervals * cl->alias_bytes;
    }
  }
  // On a deseasonalized series the blocks are moving averages of overlapping cycles, and their
  // Var(S) does not know the ripple a removed period leaves; the regression on the cycle means
  // (one point per cycle, README "A regression on the cycle means") judges the floor's slope
  // against the scatter of the cycles themselves. It decides when the blocks point up, whatever
  // their p: significant at alpha with its interval above 0, adding min_drift_pct of the level
  // over the samples its cycle means were made of (the stretch and half a period at each end,
  // within the window) or leaking min_leak_rate at its interval's low end, and beyond what
  // sampling alone moves a cycle's mean. The trend then shows that test's slope, interval and p.
  // Both regressions below take one mean per cycle over [lo_t, hi_t] and a bound in bytes (the
  // sampling alias, or the registration's error): the same lines decide.
  if (!tr.rising && cycle_ms > 0 && low_quartile && mk_med.s > 0 && mk_min.s > 0) {
    const double lo_t = std::max(raw.t.front(), tr.t0_ms - cycle_ms / 2);
    const double hi_t = std::min(raw.t.back(), tr.t1_ms + cycle_ms / 2);
    const double made_of_s = (hi_t - lo_t) / 1000.0;
    // ref: the level the growth is a share of (the series' level unless a test says less).
    auto take_cycle_fit = [&](const Regression& fit, double bound_bytes, double ref) {
      const double growth_pct = 100.0 * fit.slope * made_of_s / ref;
      tr.rising = fit.p < o.alpha && fit.slope_lo > 0 &&
                  (growth_pct >= o.min_drift_pct || fit.slope_lo >= o.min_leak_rate) &&
                  fit.slope * made_of_s >= o.cycle_alias_intervals * bound_bytes;
      if (!tr.rising) return;
      tr.slope = fit.slope;
      tr.slope_lo = fit.slope_lo;
      tr.slope_hi = fit.slope_hi;
      tr.p_median = tr.p_min = fit.p;
      tr.growth_pct = growth_pct;
    };
    if (const auto cr = cycle_regression(c, raw, tr.t0_ms, tr.t1_ms, cycle_ms, o))
      take_cycle_fit(cr->fit, cr->alias_bytes, level_ref);
    // The same regression on cycle means registered on their drops (README "Cycles registered
    // on their drops"), where the sampling alias would hide the trend: the same lines, and the
    // registration's own error in place of the alias.
    if (!tr.rising)
      if (const auto rc = registered_cycles(raw, lo_t, hi_t, cycle_ms, o))
        take_cycle_fit(rc->fit, rc->bound_bytes, level_ref);
    // One periodic profile and a drift fitted together on the registered cycles' samples
    // (README "A periodic profile and a drift, fitted together"): the same lines; the period's
    // error is in the test itself (its least favourable period), so no bound is added. Its
    // growth is a share of the floor the cycles return to, when that is below the series' level
    // (README "The floor the cycles return to"): what rises and falls back every cycle is not
    // held, and a leak raises the floor.
    std::optional<ProfileDrift> whole_pd;
    if (!tr.rising)
      if ((whole_pd = profile_drift(raw, lo_t, hi_t, cycle_ms, o,
                                    std::numeric_limits<double>::quiet_NaN(), true)))
        take_cycle_fit(whole_pd->fit, 0, std::clamp(whole_pd->floor_bytes, 1.0, level_ref));
    // A drift with an onset of its own beneath the registered cycles (README "A drift with an
    // onset beneath the cycles"): an error of the period tilts the phases by a drift that is
    // exactly linear in time, so the change of rate at an onset is free of it, where the drift
    // itself is only known at the least favourable period. When the blocks show the rise (both
    // significant at alpha), the onset whose change of rate is most significant, of those on an
    // even grid leaving min_tail_fraction of the stretch and 3 periods after them, is tested with
    // its selection paid for (p x the onsets tried, Bonferroni): the change significant with its
    // interval above 0, and the rate after the onset - drift plus change, at the least favourable
    // period - significant, its interval above 0, material from the onset to the end. The trend
    // then shows that rate, its interval and the growth from the onset.
    if (!tr.rising && mk_med.p < o.alpha && mk_min.p < o.alpha) {
      const double span = hi_t - lo_t;
      constexpr int grid = 10;
      std::vector<double> onsets;
      for (int q = 1; q < grid; ++q) {
        const double t_on = lo_t + span * q / grid;
        if (hi_t - t_on >= o.min_tail_fraction * span && hi_t - t_on >= 3 * cycle_ms)
          onsets.push_back(t_on);
      }
      const double m = static_cast<double>(onsets.size());
      std::optional<ProfileDrift> best;
      double best_on = 0;
      for (double t_on : onsets) {
        const auto pd = profile_drift(raw, lo_t, hi_t, cycle_ms, o, t_on);
        if (pd && (!best || pd->fit.p < best->fit.p)) best = pd, best_on = t_on;
      }
      if (best) {
        const double after_s = (hi_t - best_on) / 1000.0;
        const double ref = std::clamp(best->floor_bytes, 1.0, level_ref);
        const double growth_pct = 100.0 * best->after_rate * after_s / ref;
        const double pb = std::min(1.0, std::max(best->fit.p, best->after_p) * m);
        if (pb < o.alpha && best->fit.slope_lo > 0 && best->after_lo > 0 &&
            (growth_pct >= o.min_drift_pct || best->after_lo >= o.min_leak_rate)) {
          tr.rising = true;
          tr.slope = best->after_rate;
          tr.slope_lo = best->after_lo;
          tr.slope_hi = 2 * best->after_rate - best->after_lo;
          tr.p_median = tr.p_min = pb;
          tr.growth_pct = growth_pct;
          tr.onset_ms = best_on;
        }
      }
    }
    // The same drift over every period the drops allow, each as likely as the drops make it
    // (README "The period's error as a distribution"), when neither the least favourable period
    // nor an onset showed the rise: the same lines, the floor's level, no alias bound.
    if (!tr.rising && whole_pd && whole_pd->over_periods)
      take_cycle_fit(*whole_pd->over_periods, 0, std::clamp(whole_pd->floor_bytes, 1.0, level_ref));
  }
  // A raw oscillating series (too few cycles to deseasonalize, or too few blocks once
  // deseasonalized): its blocks are a fraction of a cycle, and their trend is mostly the cycles'
  // phase. Where the drops register the cycles, the periodic profile and drift compares every
  // phase with itself in the other cycles, as on a deseasonalized series (the same test, the
  // same lines, the floor's level, no alias bound): asked when the blocks point up.
  if (!tr.rising && period_ms > 0 && !low_quartile && mk_med.s > 0 && mk_min.s > 0) {
    const double made_of_s = (tr.t1_ms - tr.t0_ms) / 1000.0;
    if (const auto pd = profile_drift(raw, tr.t0_ms, tr.t1_ms, period_ms, o,
                                      std::numeric_limits<double>::quiet_NaN(), true)) {
      const double ref = std::clamp(pd->floor_bytes, 1.0, level_ref);
      for (const Regression* fit : {&pd->fit, pd->over_periods ? &*pd->over_periods : nullptr}) {
        if (!fit || tr.rising) continue;
        const double growth_pct = 100.0 * fit->slope * made_of_s / ref;
        tr.rising = fit->p < o.alpha && fit->slope_lo > 0 &&
                    (growth_pct >= o.min_drift_pct || fit->slope_lo >= o.min_leak_rate);
        if (!tr.rising) continue;
        tr.slope = fit->slope;
        tr.slope_lo = fit->slope_lo;
        tr.slope_hi = fit->slope_hi;
        tr.p_median = tr.p_min = fit->p;
        tr.growth_pct = growth_pct;
      }
    }
  }
  return tr;
}

// Least squares of y on p <= kMaxCols columns; the residual sum of squares (inf: singular).
// row(i, c) writes row i's p column values into c: the columns are computed, never stored, so a
// fit allocates nothing (the knee and shape searches run it O(n^2) times).
constexpr std::size_t kMaxCols = 6;
template <class Row>
double lsq(std::size_t p, const std::vector<double>& y, Row&& row, double* beta_out) {
  const std::size_t n = y.size();
  if (p > kMaxCols) return std::numeric_limits<double>::infinity();
  double m[kMaxCols * (kMaxCols + 1)] = {};
  double c[kMaxCols];
  for (std::size_t i = 0; i < n; ++i) {
    row(i, c);
    for (std::size_t a = 0; a < p; ++a) {
      m[a * (p + 1) + p] += c[a] * y[i];
      for (std::size_t b = 0; b < p; ++b) m[a * (p + 1) + b] += c[a] * c[b];
    }
  }
  for (std::size_t col = 0; col < p; ++col) {
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
  double own[kMaxCols];
  double* beta = beta_out ? beta_out : own;  // beta_out: room for p coefficients
  for (std::size_t a = 0; a < p; ++a) beta[a] = m[a * (p + 1) + p] / m[a * (p + 1) + a];
  double sse = 0;
  for (std::size_t i = 0; i < n; ++i) {
    row(i, c);
    double f = 0;
    for (std::size_t a = 0; a < p; ++a) f += beta[a] * c[a];
    sse += (y[i] - f) * (y[i] - f);
  }
  return sse;
}

// Least squares of y on the columns 1, x, max(0, x - knot_j): a continuous piecewise line
// (broken-stick regression); with `step`, also the column [x >= step]: one line with a level
// shift (two parallel segments). Returns the residual sum of squares and the segment slopes.
double hinge_fit(const std::vector<double>& x, const std::vector<double>& y,
                 std::initializer_list<double> knots, std::vector<double>* slopes,
                 std::optional<double> step = std::nullopt) {
  const std::size_t nk = knots.size();
  const double* kn = knots.begin();
  double beta[kMaxCols];
  const double sse = lsq(
      2 + nk + (step ? 1 : 0), y,
      [&](std::size_t i, double* c) {
        c[0] = 1;
        c[1] = x[i];
        for (std::size_t j = 0; j < nk; ++j) c[2 + j] = std::max(0.0, x[i] - kn[j]);
        if (step) c[2 + nk] = x[i] >= *step ? 1.0 : 0.0;
      },
      beta);
  if (!std::isfinite(sse)) return sse;  // singular
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
Knee fit_knee(const Blocks& b, double t_end, const Options& o, double level_ref,
              double alias_bytes) {
  Knee k;
  const std::size_t n = b.t.size();
  if (n < 8) return k;
  std::vector<double> x = seconds_from_first(b.t);
  const auto& y = b.med;
  const double sse0 = hinge_fit(x, y, {}, nullptr);
  double sse1 = std::numeric_limits<double>::infinity(), sse2 = sse1;
  std::size_t k2a = 0, k2 = 0;
  std::vector<double> sl1, sl2, tmp;
  double knot1 = 0;  // the one knot, s from the first block
  // The knot's block (the centre at or before it): its time is rebuilt from b.t[knot1_i], not
  // from knot1 (b.t.front() + 1000 x knot1 is off b.t[i] by round-off, and exact comparisons of
  // the knee time with block times downstream would then shift by a block).
  std::size_t knot1_i = 0;
  for (std::size_t i = 2; i + 3 < n; ++i) {
    const double e = hinge_fit(x, y, {x[i]}, &tmp);
    if (e < sse1) sse1 = e, knot1 = x[i], knot1_i = i, sl1 = tmp;
  }
  // The knot is a parameter like the slopes, not a block centre: a corner between two centres
  // (a start-up rise or fall ending mid-block) is fitted where it is (README "The knee between
  // two block centres"). For a knot strictly between x[i] and x[i + 1] the points on each side
  // are fixed, and the least-squares broken line is the two separate lines when they cross in
  // that interval (Hudson 1966, JASA 61:1097-1129); else the best knot there is an end, a
  // centre the loop above tried.
  for (std::size_t i = 2; i + 3 < n; ++i) {
    const auto side = [&](std::size_t a, std::size_t e, double& icpt, double& slope) {
      double sx = 0, sy = 0, sxx = 0, sxy = 0;
      const double m = static_cast<double>(e - a);
      for (std::size_t j = a; j < e; ++j) sx += x[j], sy += y[j];
      const double mx = sx / m, my = sy / m;
      for (std::size_t j = a; j < e; ++j)
        sxx += (x[j] - mx) * (x[j] - mx), sxy += (x[j] - mx) * (y[j] - my);
      if (sxx <= 0) return std::numeric_limits<double>::infinity();
      slope = sxy / sxx;
      icpt = my - slope * mx;
      double sse = 0;
      for (std::size_t j = a; j < e; ++j) {
        const double r = y[j] - icpt - slope * x[j];
        sse += r * r;
      }
      return sse;
    };
    double a_l = 0, b_l = 0, a_r = 0, b_r = 0;
    const double e = side(0, i + 1, a_l, b_l) + side(i + 1, n, a_r, b_r);
    if (!std::isfinite(e) || e >= sse1 || b_l == b_r) continue;
    const double c = (a_r - a_l) / (b_l - b_r);
    if (c > x[i] && c < x[i + 1]) sse1 = e, knot1 = c, knot1_i = i, sl1 = {b_l, b_r};
  }
  const std::size_t stride = n > 24 ? 2 : 1;  // two knots: a coarser grid keeps it O(n^2)
  for (std::size_t i = 2; i + 3 < n; i += stride)
    for (std::size_t j = i + 3; j + 3 < n; j += stride) {
      const double e = hinge_fit(x, y, {x[i], x[j]}, &tmp);
      if (e < sse2) sse2 = e, k2a = i, k2 = j, sl2 = tmp;
    }
  if (!std::isfinite(sse1)) return k;
  const double w_s = (t_end - b.t.front()) / 1000.0;
  // The change of slope must be material itself: min_rise_pct of the level over the window.
  // (Relative only: on a big level a noise knee changes the slope by more than any absolute
  // rate, and a knee picks the stretch where the trend looks steepest.)
  auto changed = [&](double before, double after) {
    return 100.0 * std::fabs(after - before) * w_s / level_ref >= o.min_rise_pct;
  };
  // An onset (the slope rises at the knot) also counts when what grows after it is a leak by
  // the leak line itself: the extra growth after the knot adds min_drift_pct of the level over
  // the stretch after it. A late leak changes the slope over the whole window by its growth /
  // tail share, which min_rise_pct misses when the leak adds 1-4 % - and the whole-window line
  // dilutes it below 1 % - though the stretch after the onset shows it plainly. (knot_s: the
  // knot, s from the first block.)
  auto changed_at = [&](double before, double after, double knot_s) {
    if (changed(before, after)) return true;
    return after > before && after > 0 &&
           100.0 * (after - std::max(0.0, before)) * (w_s - knot_s) / level_ref >= o.min_drift_pct;
  };

  // A slowing knee ends a rise: the segment before it must have risen materially (a flat series
  // that drops in its last samples - a program freeing at exit - did not "rise until a knee").
  // span_s: the length of the segment before the knot.
  // On a deseasonalized series (alias_bytes > 0) a change of regime must also move the series
  // by more than sampling alone moves a one-period mean (cycle_alias_intervals x the alias):
  // the rise before a slowing knee, the extra growth after an onset.
  const double alias_line = o.cycle_alias_intervals * alias_bytes;
  auto shaped = [&](double before, double after, double span_s, double knot_s) {
    const bool rose =
        100.0 * before * span_s / level_ref >= o.min_growth_pct && before * span_s >= alias_line;
    if (after > before && (after - std::max(0.0, before)) * (w_s - knot_s) < alias_line)
      return false;
    const bool decel = before > 0 && after < o.knee_slope_ratio * before && rose;
    const bool accel = after > 0 && o.knee_slope_ratio * after > std::max(0.0, before);
    return decel || accel;
  };
  const bool one = sse1 <= o.knee_sse_ratio * sse0 && changed_at(sl1[0], sl1[1], knot1) &&
                   shaped(sl1[0], sl1[1], knot1 - x[0], knot1);
  const bool two = std::isfinite(sse2) && sse2 <= o.knee_sse_ratio * std::min(sse0, sse1) &&
                   changed_at(sl2[1], sl2[2], x[k2]) &&
                   shaped(sl2[1], sl2[2], x[k2] - x[k2a], x[k2]);
  double before = sl1[0], after = sl1[1], sse = sse1;
  // At a block centre the knee is that block's time exactly; between centres, the offset from it.
  k.t_ms = knot1 == x[knot1_i] ? b.t[knot1_i] : b.t[knot1_i] + 1000.0 * (knot1 - x[knot1_i]);
  k.from_ms = b.t.front();
  if (two) k.t_ms = b.t[k2], k.from_ms = b.t[k2a], before = sl2[1], after = sl2[2], sse = sse2;
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
    if (sse_step <= sse &&
        (100.0 * sl_step[0] * w_s / level_ref >= o.min_growth_pct || sl_step[0] >= o.min_leak_rate))
      k.found = false;
  }
  return k;
}

double clamp01(double v) { return std::clamp(v, 0.0, 1.0); }

// Confidence scales (a ranking, not a probability; README "Confidence"): full once a trend spans
// this many blocks, and once its growth is this many times the materiality line.
constexpr double kConfidenceBlocks = 16;
constexpr double kConfidenceGrowth = 2.5;

std::string fmt_p(double p) { return std::to_string(p).substr(0, 8); }

std::string fmt_num(double v, int decimals) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

std::string fmt_bytes(double b) {
  const char* unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  double v = std::fabs(b);
  while (v >= 1024 && u < 4) v /= 1024, ++u;
  char buf[48];
  std::snprintf(buf, sizeof buf, u == 0 ? "%s%.0f %s" : "%s%.1f %s", b < 0 ? "-" : "", v, unit[u]);
  return buf;
}

// "1.2 MiB/s": the reason names the leak's rate; per hour and per day are printed beside it.
std::string fmt_rate(double bytes_per_s) { return fmt_bytes(bytes_per_s) + "/s"; }

// What the steps of classify_series share.
struct Prepared {
  Clean raw;                // finite samples, sorted by time
  Clean c;                  // the same without its periodic component, when deseasonalized
  bool deseason = false;    // c is deseasonalized
  double block_period = 0;  // whole-cycle blocks on a raw oscillating series
  double cycle_ms = 0;      // the period removed, when deseasonalized (one point per cycle)
  Blocks all;               // blocks of c over the whole window
  double level_ref = 1;     // bytes: the level percentages refer to
  // The noise's persistence from the whole window (noise_phi), computed when first asked for.
  mutable std::optional<double> noise_phi;
};

// The lag-1 correlation of the means of m consecutive samples of AR(1) noise with phi:
// phi (1 - phi^m)^2 / ((1 - phi)^2 (m + 2 sum_{j<m} (m - j) phi^j)).
double ar1_block_rho(double phi, double m) {
  double den = m;
  for (int j = 1; j < static_cast<int>(m); ++j) den += 2 * (m - j) * std::pow(phi, j);
  return phi * std::pow(1 - std::pow(phi, m), 2) / (std::pow(1 - phi, 2) * den);
}

// Hamed-Rao's variance factor for Mann-Kendall on nb points whose lag-k correlation is lag(k).
template <class Lag>
double hamed_rao_factor(std::size_t nb, Lag lag) {
  const double nd = static_cast<double>(nb);
  double sum = 0;
  for (std::size_t k = 1; k + 2 < nb; ++k) {
    const double kd = static_cast<double>(k);
    sum += (nd - kd) * (nd - kd - 1) * (nd - kd - 2) * lag(kd);
  }
  return std::max(1.0, 1.0 + 2.0 / (nd * (nd - 1) * (nd - 2)) * sum);
}

// Mann-Kendall on (x, med) again with Var(S) inflated by `factor`, when that exceeds the test's
// own correction: when the trend is then not significant at alpha with Sen's interval above 0,
// t does not rise, and its row shows that p and interval.
void retest_inflated(const stats::MannKendall& mk, const std::vector<double>& x,
                     const std::vector<double>& med, double factor, const Options& o, Trend& t) {
  if (factor <= mk.correction) return;
  const double var = mk.var_s * factor;
  const double z = (mk.s > 0 ? mk.s - 1 : mk.s < 0 ? mk.s + 1 : 0) / std::sqrt(var);
  const double pv = std::min(1.0, 2.0 * stats::normal_sf(std::fabs(z)));
  const auto ts = stats::theil_sen(x, med, o.alpha, var);
  if (pv < o.alpha && ts.lo > 0) return;
  t.rising = false;
  t.p_median = std::max(t.p_median, pv);
  t.slope_lo = ts.lo;
  t.slope_hi = ts.hi;
}

// The lag-1 persistence of nb >= 30 detrended block medians, from their ranks `ranks`, bias-
// corrected: r their lag-1 autocorrelation, rho = (n r + 2) / (n - 4), at most what AR(1) noise
// with the raw samples' persistence `phi` (noise_phi) gives block means of `per_block` samples.
// nullopt when phi cannot tell persistence from a misfit or rho is not positive
// (weigh_block_persistence, corrected_block_factor).
std::optional<double> corrected_block_rho(const std::vector<double>& ranks, double phi,
                                          double per_block) {
  const std::size_t nb = ranks.size();
  double mean = 0;
  for (double v : ranks) mean += v;
  mean /= static_cast<double>(nb);
  double num = 0, den = 0;
  for (std::size_t i = 0; i < nb; ++i) den += (ranks[i] - mean) * (ranks[i] - mean);
  for (std::size_t i = 0; i + 1 < nb; ++i) num += (ranks[i] - mean) * (ranks[i + 1] - mean);
  if (!(den > 0)) return std::nullopt;
  const double nd = static_cast<double>(nb);
  double rho = std::min((nd * num / den + 2) / (nd - 4), 0.999);
  if (!(phi > 0) || phi >= kPhiStraight) return std::nullopt;
  rho = std::min(rho, ar1_block_rho(phi, per_block));
  if (!(rho > 0)) return std::nullopt;
  return rho;
}

// The whole window's trend of a series without a period, judged again with the blocks'
// persistence bias-corrected (README "The whole window's persistence, bias-corrected").
// Hamed-Rao's factor takes the rank autocorrelations of 20-40 block medians, which so short a
// sample underestimates: the lag-1 autocorrelation about a fitted line is low by about
// (2 + 4 rho) / n (Marriott & Pope 1954 give (1 + 3 rho) / n about a mean; measured in the
// README with the slope fitted too), and the lags after the first one not significant are
// dropped. Here the lag-1 rank autocorrelation r of the Sen-detrended block medians is corrected
// to rho = (n r + 2) / (n - 4), the value whose expected estimate is r. A line's misfit (steps,
// a late onset) raises r as much as persistence does, so rho is used only up to what AR(1)
// noise with the raw samples' own persistence (noise_phi, from differences over 1-8 intervals,
// which a slow misfit does not reach) gives block means of m samples, and not at all when
// noise_phi cannot tell persistence from a misfit (0, or kPhiStraight and above). The blocks
// are then taken as AR(1) with that rho (lag k: rho^k) in the Hamed-Rao factor; when it exceeds
// the blocks' own and the trend is not significant at alpha with Sen's interval above 0, the
// window does not rise, and its row shows that p and interval. Only on 30 blocks or more: the
// (2 + 4 rho) / n expansion is of first order in 1 / n and was measured on 30-600 points; a
// short prefix (under ~90 samples) keeps the blocks' own factor.
void weigh_block_persistence(const Prepared& p, const Options& o, Trend& t) {
  if (!t.rising || p.deseason || p.block_period > 0) return;
  const Blocks& b = p.all;
  const std::size_t nb = b.t.size();
  if (nb < 30) return;
  std::vector<double> x = seconds_from_first(b.t);
  const auto mk = stats::mann_kendall(x, b.med);
  const auto ts0 = stats::theil_sen(x, b.med, o.alpha, mk.var_s);
  std::vector<double> detr(nb);
  for (std::size_t i = 0; i < nb; ++i) detr[i] = b.med[i] - ts0.slope * x[i];
  if (!p.noise_phi) p.noise_phi = noise_phi(p.raw);
  const auto rho = corrected_block_rho(mid_ranks(detr), *p.noise_phi,
                                       static_cast<double>(p.c.t.size()) / static_cast<double>(nb));
  if (!rho) return;
  retest_inflated(mk, x, b.med, hamed_rao_factor(nb, [&](double k) { return std::pow(*rho, k); }),
                  o, t);
}

// Step 1: clean, period, deseasonalize, blocks, levels, the whole-window trend and the knee.
// false: too little data (out says why, unresolved).
bool prepare(const Series& s, const Options& o, SeriesVerdict& out, Prepared& p) {
  p.raw = clean(s);
  const std::size_t n = p.raw.t.size();
  out.samples = n;
  if (n < static_cast<std::size_t>(std::max(o.min_samples, 2))) {
    out.reason =
        "too few samples (" + std::to_string(n) + ", need " + std::to_string(o.min_samples) + ")";
    return false;
  }
  out.duration_ms = p.raw.t.back() - p.raw.t.front();
  out.period_ms = detect_period(p.raw, o);
  out.cycles = out.period_ms > 0 ? out.duration_ms / out.period_ms : 0;
  // With enough cycles in the window, the tests run on the series without its periodic
  // component; the oscillation figure stays on the raw values.
  p.deseason = out.period_ms > 0 && out.cycles >= o.deseason_min_cycles;
  p.c = p.deseason ? deseasonalize(p.raw, out.period_ms) : p.raw;
  p.block_period = p.deseason ? 0.0 : out.period_ms;
  p.cycle_ms = p.deseason ? out.period_ms : 0.0;
  const std::size_t m = p.c.t.size();  // fewer than n when deseasonalized (edges lost)
  p.all = make_blocks(p.c, 0, m, p.block_period, o, p.deseason);
  if (p.deseason && p.all.t.size() < static_cast<std::size_t>(o.min_blocks)) {
    // Removing the period left too few blocks (about one sample a cycle, the edges lost): the
    // raw series has the samples, so its trend is judged as with too few cycles to remove one
    // (README "Too few blocks once deseasonalized"), rather than calling it too little data.
    p.deseason = false;
    p.c = p.raw;
    p.block_period = out.period_ms;
    p.cycle_ms = 0;
    p.all = make_blocks(p.c, 0, p.c.t.size(), p.block_period, o, false);
  }
  if (p.all.t.size() < static_cast<std::size_t>(o.min_blocks)) {
    out.reason = "too little data: " + std::to_string(p.all.t.size()) + " blocks, need " +
                 std::to_string(o.min_blocks);
    return false;
  }
  const std::size_t edge = std::max<std::size_t>(3, p.all.t.size() / 10);
  out.start_level = median(std::vector<double>(p.all.med.begin(), p.all.med.begin() + edge));
  out.level = median(std::vector<double>(p.all.med.end() - edge, p.all.med.end()));
  p.level_ref = std::max({std::fabs(out.level), std::fabs(out.start_level), 1.0});
  out.growth_pct = 100.0 * (out.level - out.start_level) / p.level_ref;
  {
    std::vector<double> v = p.raw.v;
    std::sort(v.begin(), v.end());
    const double q1 = v[v.size() / 4], q3 = v[(3 * v.size()) / 4];
    out.oscillation_pct = 100.0 * (q3 - q1) / p.level_ref;
  }
  auto whole =
      trend_on(p.c, p.raw, 0, p.c.t.size(), p.block_period, p.level_ref, o, p.deseason, p.cycle_ms);
  if (!whole) {
    out.reason = "too little data for the trend test";
    return false;
  }
  out.whole = *whole;
  out.knee = fit_knee(p.all, p.c.t.back(), o, p.level_ref,
                      p.deseason ? sampling_alias(p.raw, p.cycle_ms) : 0.0);
  weigh_block_persistence(p, o, out.whole);
  return true;
}

// Trend on the samples of c from time `from` to the end, with fewer blocks allowed (a half or
// a last stretch of the window).
std::optional<Trend> trend_from(const Prepared& p, double from, const Options& o) {
  const std::size_t i0 =
      static_cast<std::size_t>(std::lower_bound(p.c.t.begin(), p.c.t.end(), from) - p.c.t.begin());
  Options lo = o;
  lo.min_blocks = std::min(o.min_blocks, 6);
  return trend_on(p.c, p.raw, i0, p.c.t.size(), p.block_period, p.level_ref, lo, p.deseason,
                  p.cycle_ms);
}

// The words for a trend that a drift with an onset beneath the cycles decided: its rate and
// growth are measured from the onset, not over the stretch.
std::string from_onset(double onset_ms, double cycle_ms) {
  return "from t=" + fmt_num(onset_ms / 1000.0, 1) + " s on, beneath a sawtooth of period " +
         std::to_string(static_cast<long>(cycle_ms)) + " ms";
}

void call_leak(SeriesVerdict& out, const Trend& t, const std::string& what, const Options& o) {
  const double p = std::max(t.p_median, t.p_min);
  out.verdict = Verdict::kLeak;
  out.rate = t.slope;
  out.reason = what + ": +" + fmt_pct(t.growth_pct) + " of level, " + fmt_rate(t.slope) + " [" +
               fmt_rate(t.slope_lo) + ", " + fmt_rate(t.slope_hi) + "] (p = " + fmt_p(p) + ")";
  const double growth = std::max(t.growth_pct / (kConfidenceGrowth * o.min_growth_pct),
                                 t.slope_lo / (kConfidenceGrowth * o.min_leak_rate));
  out.confidence =
      (1 - p) * clamp01(growth) * clamp01(static_cast<double>(t.blocks) / kConfidenceBlocks);
}

// A trend of a series without a period, judged again with the noise's persistence from the
// whole window (README "The noise's persistence from the whole window"): Mann-Kendall on the
// stretch's block medians with Var(S) inflated by the Hamed-Rao factor that AR(1) noise with
// noise_phi gives block means of m samples (lag-k correlation rho_1 phi^(m (k - 1)), rho_1 =
// phi (1 - phi^m)^2 / ((1 - phi)^2 (m + 2 sum_{j<m} (m - j) phi^j))), when that factor exceeds
// the stretch's own. When the trend is then not significant at alpha with Sen's interval above
// 0, the stretch does not rise, and its row shows that p and interval. The stretch's own factor
// comes from 20-40 blocks of that stretch, too few to see a wander that outlasts several blocks.
// An estimate of phi of 0.98 or more is not used: there the AR(1) variogram over the lags
// measured is within 7 % of a straight line (1 - phi^8 against 8 (1 - phi)), which is what a
// random walk or a slowly varying mean that the stretches' centring missed (a warm-up's bend,
// frequent steps) gives as well; persistence cannot be told from them.
void weigh_persistence(const Prepared& p, const Options& o, Trend& t) {
  if (!t.rising || p.deseason || p.block_period > 0) return;
  if (!p.noise_phi) p.noise_phi = noise_phi(p.raw);
  const double phi = *p.noise_phi;
  if (!(phi > 0) || phi >= kPhiStraight) return;
  const std::size_t i0 = static_cast<std::size_t>(
      std::lower_bound(p.c.t.begin(), p.c.t.end(), t.t0_ms) - p.c.t.begin());
  const std::size_t i1 = static_cast<std::size_t>(
      std::upper_bound(p.c.t.begin(), p.c.t.end(), t.t1_ms) - p.c.t.begin());
  const Blocks b = make_blocks(p.c, i0, i1, 0, o, false);
  const std::size_t nb = b.t.size();
  if (nb < 3) return;
  std::vector<double> x = seconds_from_first(b.t);
  const auto mk = stats::mann_kendall(x, b.med);
  const double m = static_cast<double>(i1 - i0) / static_cast<double>(nb);
  const double rho1 = ar1_block_rho(phi, m);
  retest_inflated(mk, x, b.med,
                  hamed_rao_factor(nb, [&](double k) { return rho1 * std::pow(phi, m * (k - 1)); }),
                  o, t);
}

// The grid onset_null_p simulates its replicates on (README "The knee's selection", "On a long
// run"): the series' own sample times, or on a run of more than kNullGridMax samples, kNullGridMax
// of them spread evenly over the window (its first and last kept). The noise is AR(1) in the
// sample index, and AR(1) restricted to any subset of its times is AR(1) again, exactly: between
// kept samples g indices apart, e' = phi^g e + sigma sqrt(1 - phi^2g) z. A replicate on the grid
// is a replicate of the whole run observed at those samples, not an approximation of one. What
// it omits is the samples between, which the statistic reads through 40 block medians and minima:
// at 2048 points each block still holds >= 51 samples. Every series of the synthetic corpus and
// the recorded one (<= 1200 samples) keeps its own times, so their p is unchanged; a replicate of
// the thinner's 32768 rows costs about as much as one classification, 499 of them seconds.
constexpr std::size_t kNullGridMax = 2048;

struct NullGrid {
  Clean rep;                 // the grid's times; values to be filled per replicate
  std::vector<double> a, s;  // step j: e_j = a[j] e_(j-1) + s[j] z
};

NullGrid null_grid(const Clean& raw, double phi, double sigma, std::size_t grid_max) {
  const std::size_t n = raw.t.size();
  const std::size_t m = std::min(n, std::max<std::size_t>(grid_max, 2));
  NullGrid g;
  g.rep.t.resize(m);
  g.rep.v.resize(m);
  g.a.resize(m);
  g.s.resize(m);
  const double innov = sigma * std::sqrt(1 - phi * phi);  // one index apart
  std::size_t prev = 0;
  for (std::size_t j = 0; j < m; ++j) {
    const std::size_t i = m == n ? j : j * (n - 1) / (m - 1);
    g.rep.t[j] = raw.t[i];
    if (j > 0) {
      const std::size_t gap = i - prev;
      const double pg = gap == 1 ? phi : std::pow(phi, static_cast<double>(gap));
      g.a[j] = pg;
      g.s[j] = gap == 1 ? innov : sigma * std::sqrt(1 - pg * pg);
    }
    prev = i;
  }
  return g;
}

// One replicate's statistic for onset_null_p: the p (the larger of the stretch's two) at which
// the selection calls simulated noise rising after an onset - the knee search, its acceptance as
// an onset with min_tail_fraction of the window after it, the stretch's trend test - or infinity
// when it does not. level_ref: the knee search's reference (the window's); tail_ref: the
// stretch's, the one the observed stretch was tested against (judge_after_knee's tail_ref) - a
// bootstrap null must compute the statistic it calibrates the same way.
double onset_replicate_p(const Clean& rep, double level_ref, double tail_ref, const Options& o) {
  const std::size_t m = rep.t.size();
  constexpr double kNone = std::numeric_limits<double>::infinity();
  const Blocks b = make_blocks(rep, 0, m, 0, o, false);
  if (b.t.size() < static_cast<std::size_t>(o.min_blocks)) return kNone;
  const Knee k = fit_knee(b, rep.t.back(), o, level_ref, 0);
  if (!k.found || !(k.slope_after > k.slope_before) || k.tail_fraction < o.min_tail_fraction)
    return kNone;
  const auto i0 = static_cast<std::size_t>(std::lower_bound(rep.t.begin(), rep.t.end(), k.t_ms) -
                                           rep.t.begin());
  const auto tr = trend_on(rep, rep, i0, m, 0, tail_ref, o, false, 0);
  return tr && tr->rising ? std::max(tr->p_median, tr->p_min) : kNone;
}

// The stretch after a knee, judged knowing that the knee was chosen from the same data (README
// "The knee's selection"). fit_knee picks its knot among every block of the window (>= 2 before,
// >= 3 after), and the stretch after it is then tested as if its start had been fixed in
// advance: on noise alone, the knot that makes the best broken line is where the noise happens
// to turn up, and the stretch after it looks rising more often than alpha says. The test of a
// statistic maximised over a parameter that exists only under the alternative (the knot) has the
// upper bound of Davies (1987, Biometrika 74:33-43; 2002, Biometrika 89:484-489, eq. 2.4):
// P(sup_k Z(k) > M) <= Phi(-M) + V phi(M) / 2, V the total variation sum |Z(k_i) - Z(k_i-1)| of
// the statistic over the candidates, which the chosen knot's own statistic cannot exceed. Z(k)
// is Mann-Kendall's on the window's block medians from candidate k to the end; M is the
// stretch's own test (its p, two-sided, as a normal deviate), V scaled by M / Z(chosen) into
// that test's units. Two-sided like alpha: p = p_tail + V phi(M). When it reaches alpha the
// stretch does not rise, and its row shows that p.
// The chance that flat AR(1) noise like the series' own is called rising after an onset knee
// with a p no larger than p_obs, by the whole selection (README "The knee's selection"): the
// knee search, its acceptance as an onset with min_tail_fraction of the window after it, and
// the stretch's trend test, run on simulated series at the series' own sample times (at most
// kNullGridMax of them, null_grid), level and noise (phi from noise_phi; the marginal spread from
// the lag-1 differences, Var = 2 s^2 (1 - phi)). A parametric bootstrap p, (1 + hits) / (1 +
// replicates), stopped once it cannot fall below alpha (Besag & Clifford 1991, Biometrika
// 78:301-304). Seeded: the same series gets the same p. nullopt when the noise's persistence cannot
// be told (noise_phi 0.98 and above).
std::optional<double> onset_null_p(const Prepared& p, const Options& o, double p_obs,
                                   double tail_ref, std::size_t grid_max = kNullGridMax) {
  const Clean& raw = p.raw;
  const std::size_t n = raw.t.size();
  if (n < 24) return std::nullopt;
  if (!p.noise_phi) p.noise_phi = noise_phi(raw);
  const double phi = *p.noise_phi;
  if (!(phi >= 0) || phi >= kPhiStraight) return std::nullopt;
  std::vector<double> d(n - 1);
  for (std::size_t i = 1; i < n; ++i) d[i - 1] = raw.v[i] - raw.v[i - 1];
  const double dm = median(d);
  for (double& x : d) x = std::fabs(x - dm);
  const double sd_diff = 1.4826 * median(d);
  const double sigma = sd_diff / std::sqrt(2 * (1 - phi));
  if (!(sigma > 0)) return std::nullopt;
  constexpr int kReplicates = 499;
  const int stop = static_cast<int>(std::ceil(o.alpha * (kReplicates + 1))) - 1;  // hits
  std::mt19937_64 rng(0x6b6e6565u ^ n);
  std::normal_distribution<double> gauss(0.0, 1.0);
  const NullGrid g = null_grid(raw, phi, sigma, grid_max);
  const std::size_t m = g.rep.t.size();
  Clean rep = g.rep;
  int hits = 0, done = 0;
  for (; done < kReplicates && hits <= stop; ++done) {
    double e = sigma * gauss(rng);
    for (std::size_t j = 0; j < m; ++j) {
      if (j > 0) e = g.a[j] * e + g.s[j] * gauss(rng);
      rep.v[j] = p.level_ref + e;
    }
    if (onset_replicate_p(rep, p.level_ref, tail_ref, o) <= p_obs) ++hits;
  }
  return static_cast<double>(1 + hits) / static_cast<double>(1 + done);
}

void weigh_knee_selection(const Prepared& p, const Options& o, const Knee& k, double tail_ref,
                          Trend& t) {
  if (!t.rising) return;
  const Blocks& b = p.all;
  const std::size_t n = b.t.size();
  if (n < 8) return;
  const std::vector<double> x = seconds_from_first(b.t);
  // A null realisation of the statistic's path: the block medians less their broken line at the
  // chosen knot, which keep the noise (and its persistence) without the trend.
  double beta[kMaxCols];
  // The fitted knot itself (it may lie between block centres), s from the first block.
  const double knot = (k.t_ms - b.t.front()) / 1000.0;
  if (!std::isfinite(lsq(
          3, b.med,
          [&](std::size_t i, double* c) {
            c[0] = 1;
            c[1] = x[i];
            c[2] = std::max(0.0, x[i] - knot);
          },
          beta)))
    return;
  std::vector<double> r(n);
  for (std::size_t i = 0; i < n; ++i)
    r[i] = b.med[i] - (beta[0] + beta[1] * x[i] + beta[2] * std::max(0.0, x[i] - knot));
  std::vector<double> z;
  for (std::size_t i = 2; i + 3 < n; ++i) {
    const std::vector<double> xs(x.begin() + static_cast<std::ptrdiff_t>(i), x.end());
    const std::vector<double> ys(r.begin() + static_cast<std::ptrdiff_t>(i), r.end());
    const auto mk = stats::mann_kendall(xs, ys);
    if (!(mk.var_s_corrected > 0)) return;
    z.push_back((mk.s > 0 ? mk.s - 1 : mk.s < 0 ? mk.s + 1 : 0) / std::sqrt(mk.var_s_corrected));
  }
  if (z.size() < 2) return;
  double v = 0;
  for (std::size_t i = 1; i < z.size(); ++i) v += std::fabs(z[i] - z[i - 1]);
  const double p_tail = std::max(t.p_median, t.p_min);
  double lo = 0, hi = 40;  // M: P(Z > M) = p_tail / 2, by bisection
  for (int i = 0; i < 100; ++i) {
    const double mid = 0.5 * (lo + hi);
    (stats::normal_sf(mid) > p_tail / 2 ? lo : hi) = mid;
  }
  const double m = 0.5 * (lo + hi);
  const double phi_m = std::exp(-0.5 * m * m) / std::sqrt(2 * std::numbers::pi);
  const double p_sel = std::min(1.0, p_tail + v * phi_m);
  if (p_sel < o.alpha) return;
  double p_final = p_sel;
  if (!p.deseason && p.block_period <= 0) {
    if (const auto pb = onset_null_p(p, o, p_tail, tail_ref)) {
      if (*pb < o.alpha) return;
      p_final = *pb;
    }
  }
  t.rising = false;
  t.p_median = std::max(t.p_median, p_final);
}

// A knee that may sit on a cycle's phase (README "Few cycles"): the series oscillates with a
// period, the window holds fewer than few_cycles of them, and the stretch after the knee fewer
// than trough_min_cycles whole ones. "Levelled off" there compares part of a cycle with the
// rise before it - a sawtooth's climb, a tooth's drop - not the level with itself; a leak
// beneath the cycles (troughs rising a few % of a tooth a cycle) reads as a plateau on the
// latest tooth and a rising floor on the whole window. Such a knee decides nothing: the whole
// window's trend and the troughs each whole cycle returns to do (check_troughs).
bool knee_on_a_phase(const SeriesVerdict& out, const Options& o) {
  return out.period_ms > 0 && out.cycles < o.few_cycles && out.tail &&
         (out.tail->t1_ms - out.tail->t0_ms) / out.period_ms < o.trough_min_cycles;
}

// Whether a slowing knee holds when every phase is compared with itself (README "A knee on a
// cycle's phase, compared at the same phase"): on a series whose cycles register on their drops,
// the periodic profile and a drift that may change its rate at the knee (profile_drift with the
// knee as its onset, over the whole window) gives the change of rate at the knee from what the
// same phase does before and after it. true: the knee is on a cycle's phase - the change is not
// significantly below 0 (the upper end of its (1 - alpha) interval at or above 0), so the rise did
// not slow where every phase is compared with itself; false: it did, or the cycles do not
// register (the knee stands as fitted).
bool knee_off_at_same_phase(const Prepared& p, const Options& o, const SeriesVerdict& out) {
  if (!p.deseason || !out.knee.found || p.raw.t.empty()) return false;
  const auto pd =
      profile_drift(p.raw, p.raw.t.front(), p.raw.t.back(), p.cycle_ms, o, out.knee.t_ms);
  return pd && pd->fit.slope_hi >= 0;
}

// Where an approach fitted to the stretch after a slowing knee has used up its headroom, when
// the stretch does not rise from there (README "After a slowing knee: where the approach is
// done"); nullopt when it does or cannot be told. Defined with the shapes below.
std::optional<double> done_without_rise(const Prepared& p, const Options& o, const Knee& k,
                                        double* undone_tau_s);

// Whether the rise a slowing knee ends is material (README "A knee ends a material rise"): it
// adds min_rise_pct of the level, and in bytes what the materiality lines count - it rose at
// min_leak_rate or more, or by min_retention_bytes. The rise is the fitted segment's: its slope
// over its stretch, up to the knee.
double rise_before(const Knee& k) { return k.slope_before * (k.t_ms - k.from_ms) / 1000.0; }
bool rise_material(const Prepared& p, const Options& o, const Knee& k) {
  const double rise = rise_before(k);
  return 100.0 * rise / p.level_ref >= o.min_rise_pct &&
         (k.slope_before >= o.min_leak_rate || rise >= o.min_retention_bytes);
}

void judge_whole(const Prepared& p, const Options& o, SeriesVerdict& out);

// An immaterial rise reads as no rise: the whole window decides, when it finds no upward trend
// (stable or bounded); a whole window that rises leaves the knee's verdict (unresolved) standing.
// true when `out` was decided so.
bool judged_without_rise(const Prepared& p, const Options& o, SeriesVerdict& out) {
  SeriesVerdict w = out;
  w.reason.clear();
  judge_whole(p, o, w);
  if (w.verdict != Verdict::kStable && w.verdict != Verdict::kBounded) return false;
  const double rise = rise_before(out.knee);
  w.reason = "its rise until a knee at " + std::to_string(static_cast<long>(out.knee.t_ms / 1000)) +
             " s (fitted: " + fmt_bytes(rise) + ", " + fmt_pct(100.0 * rise / p.level_ref) +
             " of level) is not material (" + fmt_pct(o.min_rise_pct) + " of level, and " +
             fmt_rate(o.min_leak_rate) + " or " + fmt_bytes(o.min_retention_bytes) +
             "): " + w.reason;
  out = w;
  return true;
}

// "Levelled off" must exclude a leak (README "Levelled off must exclude a leak"): the
// equivalence question stable asks (Schuirmann 1987), asked of the stretch after a slowing
// knee, with stable's line: a rate adding min_drift_pct of the stretch's level over the stretch
// (min_growth_pct on an oscillating series). The data exclude such a leak when the upper end of
// the rate's interval lies below the line. The stretch after a knee may still hold the end of an
// approach to the bound (a saturation that slows but has not stopped): a positive slope that is
// no leak. So the plain Sen interval decides first; when it reaches the line, the drift beside
// an exponential approach from the knee (the approach a nuisance term: flat until the knee,
// then A - B exp(-(t - knee)/tau) + r t, fitted to the stretch's block medians; drift_test's
// interval, with the residuals' persistence and the extra sum of squares against the approach
// alone) must lie below it instead (not on an oscillating series: the shapes have no periodic
// term). Returns the rate that could not be excluded and the line, or nullopt when a leak is
// excluded; *via_approach is set to the drift's upper end when the approach's drift excluded it.
struct NotExcluded {
  double hi = 0;          // the upper end that reaches the line, bytes/s
  double line = 0;        // the line, bytes/s
  bool approach = false;  // the drift beside an approach was tested (its hi is reported)
};
std::optional<NotExcluded> leak_not_excluded(const Prepared& p, const Options& o, const Knee& k,
                                             const Trend& tl, double tail_ref,
                                             std::optional<double>* via_approach);

// Step 2: after a knee. Returns the verdict on the part before a final release, when the
// series ends in one; else decides `out` (or leaves its reason empty for step 3).
std::optional<SeriesVerdict> judge_after_knee(const Prepared& p, const Options& o,
                                              SeriesVerdict& out) {
  if (!out.knee.found) return std::nullopt;
  const Clean& c = p.c;
  const std::size_t i0 = static_cast<std::size_t>(
      std::lower_bound(c.t.begin(), c.t.end(), out.knee.t_ms) - c.t.begin());
  // The stretch's growth is a share of the level the series holds over that stretch (README
  // "The level a stretch grows from"): the larger of its first blocks' median and the window's
  // last, not the window's first blocks' - after a start-up fall those stand far above it.
  double tail_ref = std::max(std::fabs(out.level), 1.0);
  {
    std::vector<double> first;
    const std::size_t nb = p.all.t.size();
    std::size_t j = 0;
    while (j < nb && p.all.t[j] < out.knee.t_ms) ++j;
    const std::size_t edge = std::max<std::size_t>(3, (nb - j) / 10);
    for (; j < nb && first.size() < edge; ++j) first.push_back(p.all.med[j]);
    if (!first.empty()) tail_ref = std::max(tail_ref, std::fabs(median(first)));
  }
  out.tail =
      trend_on(c, p.raw, i0, c.t.size(), p.block_period, tail_ref, o, p.deseason, p.cycle_ms);
  const bool decel = out.knee.slope_after < out.knee.slope_before;
  // The stretch after a knee is judged with the noise's persistence from the whole window too
  // (README "The noise's persistence from the whole window"; after an onset as well since
  // README "The knee's selection").
  if (out.tail) weigh_persistence(p, o, *out.tail);
  // On a series whose cycles register on their drops, the stretch after a knee is judged on
  // whole cycles (issue 19, class 2: a knee found near a cycle's phase is an artefact). The
  // knee is fitted on the deseasonalized blocks, whose one-period means move with where each
  // cycle's drop falls: cycles of uneven length (a collector that runs late, then early) leave
  // a dip the knee sits in, and the stretch after it starts at a phase the stretch before it
  // ends at - unlike phases. The rise must then hold on the periodic profile and drift of the
  // registered cycles of that stretch (half a period more at its start, as the deseasonalized
  // series lost it), which compares every phase with itself in the other cycles.
  if (out.tail && out.tail->rising && p.deseason) {
    const auto pd =
        profile_drift(p.raw, std::max(p.raw.t.front(), out.tail->t0_ms - p.cycle_ms / 2),
                      p.raw.t.back(), p.cycle_ms, o);
    if (pd && !(pd->fit.p < o.alpha && pd->fit.slope_lo > 0)) {
      out.tail->rising = false;
      out.tail->p_median = std::max(out.tail->p_median, pd->fit.p);
      out.tail->p_min = std::max(out.tail->p_min, pd->fit.p);
      out.tail->slope_lo = std::min(out.tail->slope_lo, pd->fit.slope_lo);
    }
  }
  // After an onset the knee was placed where the stretch after it looks steepest: judged with
  // that selection (README "The knee's selection").
  if (out.tail && out.tail->rising && !decel)
    weigh_knee_selection(p, o, out.knee, tail_ref, *out.tail);
  // A short falling stretch at the very end is a release (a program tearing down at exit
  // frees what it held), not a plateau: judge the series up to it. A release falls at least
  // as fast as the series rose and gives back a material amount.
  const double fall_pct = -out.knee.slope_after * out.knee.tail_fraction *
                          (out.duration_ms / 1000.0) / p.level_ref * 100.0;
  if (decel && out.knee.slope_after < 0 && -out.knee.slope_after >= out.knee.slope_before &&
      fall_pct >= o.min_rise_pct && out.knee.tail_fraction < o.min_tail_fraction &&
      !o.final_release_cut && !o.running) {
    Series head;
    for (std::size_t i = 0; i < p.raw.t.size() && p.raw.t[i] < out.knee.t_ms; ++i) {
      head.t_ms.push_back(p.raw.t[i]);
      head.value.push_back(p.raw.v[i]);
    }
    Options o2 = o;
    o2.final_release_cut = true;
    SeriesVerdict h = classify_series(head, o2);
    if (h.verdict != Verdict::kUnresolved || h.whole.blocks > 0) {
      h.reason = "up to the final release at " +
                 std::to_string(static_cast<long>(out.knee.t_ms / 1000)) + " s: " + h.reason;
      h.samples = out.samples;
      return h;
    }
  }
  // After a slowing knee, a leak must still grow in the latest half of the tail: a saturating
  // rise (exponential approach to a bound) keeps a decaying slope after any knee, a leak keeps
  // its rate.
  std::optional<Trend> recent;
  if (out.tail && out.tail->rising && decel)
    recent = trend_from(p, 0.5 * (out.tail->t0_ms + out.tail->t1_ms), o);
  const bool keeps_rate = recent && recent->slope >= o.tail_keep_rate * out.tail->slope &&
                          recent->p_median < o.tail_keep_p;
  double undone_tau_s = 0;  // > 0: an approach fits better than a line, not done in the window
  const std::optional<double> done_ms =
      decel && keeps_rate ? done_without_rise(p, o, out.knee, &undone_tau_s) : std::nullopt;
  const bool confirmed = !decel || (keeps_rate && !done_ms && !(undone_tau_s > 0));
  // Growth that began late (an accelerating knee) is a leak only with enough window after the
  // onset; otherwise the whole-window test decides, and failing it, unresolved.
  const bool late_onset = !decel && out.knee.tail_fraction < o.min_tail_fraction;
  if (late_onset) return std::nullopt;
  if (out.tail && out.tail->rising && !confirmed) {
    out.verdict = Verdict::kUnresolved;
    // Without a trend on the latest half (too few blocks there), the reason says so: a figure
    // that was not measured is not printed.
    out.reason =
        done_ms ? "still rising after the knee, but as the end of an approach: an exponential "
                  "approach from the knee plus a line fits the stretch, and where it is done (" +
                      fmt_num(*done_ms / 1000.0, 1) +
                      " s on) what it leaves does not rise: leak or plateau cannot be told yet"
        : undone_tau_s > 0
            ? "still rising after the knee, but as an approach: an exponential approach from the "
              "knee (time constant " +
                  fmt_num(undone_tau_s, 1) +
                  " s) fits the stretch better than a line and is not done by the window's end, "
                  "so what it leaves cannot be tested: leak or plateau cannot be told yet"
        : recent ? "still rising after the knee but slowing down (latest half: " +
                       fmt_pct(100.0 * recent->slope / out.tail->slope) +
                       " of the tail's rate): leak or plateau cannot be told yet"
                 : std::string(
                       "still rising after the knee, but its latest half holds too "
                       "few samples to tell whether it keeps that rate: leak or "
                       "plateau cannot be told yet");
    out.confidence = 0.5;
  } else if (out.tail && out.tail->rising) {
    call_leak(out, *out.tail,
              std::string("still growing after the ") + (decel ? "rise" : "onset") + " (knee at " +
                  std::to_string(static_cast<long>(out.knee.t_ms / 1000)) + " s)" +
                  (out.tail->onset_ms ? ", steadily " + from_onset(*out.tail->onset_ms, p.cycle_ms)
                                      : std::string()),
              o);
  } else if (decel) {
    if (out.tail && 1 - out.knee.tail_fraction <= o.startup_fraction &&
        std::fabs(out.growth_pct) < o.min_growth_pct && out.oscillation_pct < o.moving_iqr_pct) {
      // The level was reached during start-up (a program filling its fixed working set in its
      // first moments) and nothing moved after it: the window's first blocks already sit at its
      // final level, so the window shows no growth, as for a stable series. A cache warming up
      // over a material part of the window stays bounded.
      out.verdict = Verdict::kStable;
      out.reason = "reached its level during start-up (knee at " +
                   fmt_pct(100 * (1 - out.knee.tail_fraction)) +
                   " of the window), then no material trend (" + fmt_pct(out.growth_pct) +
                   " over the window)";
      out.confidence = (1 - 0.5 * (1 - out.tail->p_median)) *
                       clamp01(static_cast<double>(out.tail->blocks) / kConfidenceBlocks);
    } else if (out.knee.tail_fraction >= o.min_tail_fraction && out.tail &&
               knee_on_a_phase(out, o)) {
      // Left to the whole window and the troughs (check_troughs): below.
      return std::nullopt;
    } else if (out.knee.tail_fraction >= o.min_tail_fraction && out.tail) {
      const Trend& tl = *out.tail;
      std::optional<double> via_approach;
      // "Levelled off" claims no material trend: the interval must exclude one (README
      // "Levelled off must exclude a leak"); the decision (decide_settled) reads it.
      if (const auto ne = leak_not_excluded(p, o, out.knee, tl, tail_ref, &via_approach))
        out.leak_not_excluded = SeriesVerdict::LeakNotExcluded{ne->hi, ne->line, ne->approach};
      out.verdict = Verdict::kBounded;
      // A stretch after the knee that falls, significantly and materially, is no level held: say
      // so (a backlog drained, a cache shrinking), with its rate, never "levelled off".
      out.reason =
          tl.p_median < o.alpha && tl.slope_hi < 0 && -tl.growth_pct >= o.min_drift_pct
              ? "rose, then fell: " + fmt_rate(tl.slope) + " (" + fmt_pct(tl.growth_pct) +
                    " of level) in the " + fmt_pct(100 * out.knee.tail_fraction) +
                    " of the window after the knee, no upward trend"
          : via_approach
              ? "rose, then levelled off: in the " + fmt_pct(100 * out.knee.tail_fraction) +
                    " of the window after the knee what rises is the end of an approach, "
                    "and the drift beside it is not material (the upper end of its interval: " +
                    fmt_rate(*via_approach) + ")"
          : out.leak_not_excluded
              ? "rose, then levelled off in the " + fmt_pct(100 * out.knee.tail_fraction) +
                    " of the window after the knee (" + fmt_rate(tl.slope) +
                    ", p = " + fmt_p(tl.p_median) + ")"
              : "rose, then levelled off: no material trend in the " +
                    fmt_pct(100 * out.knee.tail_fraction) + " of the window after the knee";
      out.confidence = clamp01(out.knee.tail_fraction / (2 * o.min_tail_fraction)) *
                       clamp01(static_cast<double>(out.tail->blocks) / kConfidenceBlocks) *
                       (1 - 0.5 * (1 - out.tail->p_median));
    } else if (out.knee.tail_fraction < o.min_tail_fraction && knee_off_at_same_phase(p, o, out)) {
      // A knee on a cycle's phase decides nothing: the whole window does (judge_whole).
      return std::nullopt;
    } else if (out.knee.tail_fraction < o.min_tail_fraction && !rise_material(p, o, out.knee) &&
               judged_without_rise(p, o, out)) {
      // The rise the knee ends is not material: no rise, the whole window decided (above).
    } else if (out.knee.tail_fraction < o.min_tail_fraction) {
      out.verdict = Verdict::kUnresolved;
      out.reason = "rose until a knee with only " + fmt_pct(100 * out.knee.tail_fraction) +
                   " of the window after it (need " + fmt_pct(100 * o.min_tail_fraction) +
                   "): leak or plateau cannot be told yet";
      out.confidence = clamp01(out.knee.tail_fraction / o.min_tail_fraction);
    } else {
      // Enough of the window after the knee, but too few samples there for the trend test
      // (fewer than min_blocks blocks of >= 2): say which, never "only X % (need Y %)" with X
      // above Y.
      const auto after = static_cast<std::size_t>(
          c.t.end() - std::lower_bound(c.t.begin(), c.t.end(), out.knee.t_ms));
      out.verdict = Verdict::kUnresolved;
      out.reason = "rose until a knee; the " + fmt_pct(100 * out.knee.tail_fraction) +
                   " of the window after it holds " + std::to_string(after) +
                   " samples, too few for the trend test (" + std::to_string(o.min_blocks) +
                   " blocks of 2 or more): leak or plateau cannot be told yet";
      out.confidence = 0.5;
    }
  }
  return std::nullopt;
}

// Whether the window's block medians read better as one line than as a rise that stopped at or
// before t_from_ms, the latest stretch's start - README "The latest stretch: kept or stopped, as
// a model choice". A stop is a line flat from its knot on (1, min(x, knot)) or a level that
// stepped up at its knot (1, [x >= knot]): each has the line's two parameters (1, x), so the
// likelihood ratio under one noise and every information criterion reduce to comparing residual
// sums of squares. The knot is the best of the block times up to t_from_ms (a staircase whose
// last tread began before the latest stretch stopped there), which can only favour the stop;
// a tie goes to the stop. nullopt when the line's fit is singular.
std::optional<bool> line_beats_stop(const Prepared& p, double t_from_ms) {
  const Blocks& b = p.all;
  const std::size_t n = b.t.size();
  if (n < 4) return std::nullopt;
  const std::vector<double> x = seconds_from_first(b.t);
  const double sse_line = hinge_fit(x, b.med, {}, nullptr);
  if (!std::isfinite(sse_line)) return std::nullopt;
  const double last = (t_from_ms - b.t.front()) / 1000.0;
  for (std::size_t k = 1; k + 1 < n && x[k] <= last; ++k) {
    const double knot = x[k];
    for (int shape = 0; shape < 2; ++shape) {
      const double sse_stop = lsq(
          2, b.med,
          [&](std::size_t i, double* c) {
            c[0] = 1;
            c[1] = shape == 0 ? std::min(x[i], knot) : (x[i] >= knot ? 1.0 : 0.0);
          },
          nullptr);
      if (sse_stop <= sse_line) return false;
    }
  }
  return true;
}

// Step 3: no knee decided it - the whole window. A rising series must not have stopped in its
// latest stretch (a late plateau whose knee the fit missed is not called a leak).
void judge_whole(const Prepared& p, const Options& o, SeriesVerdict& out) {
  std::optional<Trend> recent;
  if (out.whole.rising)
    recent = trend_from(p, p.c.t.back() - o.min_tail_fraction * out.duration_ms, o);
  // Under a registered cycle the blocks' slope over a few cycles is mostly the cycles' phase:
  // the latest stretch's rate and the window's are then both read from the periodic profile and
  // drift (like with like), when both stretches register.
  bool recent_keeps = false;
  if (out.whole.rising && recent && p.deseason &&
      recent->slope < o.recent_min_rate * out.whole.slope) {
    const double half = p.cycle_ms / 2;
    const auto pw = profile_drift(p.raw, std::max(p.raw.t.front(), out.whole.t0_ms - half),
                                  p.raw.t.back(), p.cycle_ms, o);
    const auto pr = profile_drift(p.raw, std::max(p.raw.t.front(), recent->t0_ms - half),
                                  p.raw.t.back(), p.cycle_ms, o);
    recent_keeps =
        pw && pr && pw->fit.slope > 0 && pr->fit.slope >= o.recent_min_rate * pw->fit.slope;
  }
  // On a series without a period, a latest stretch growing at under a quarter of the rate
  // leaves the window unresolved only when the line stopping there fits the window at least as
  // well as the line going on (README "The latest stretch: kept or stopped, as a model
  // choice"): measured on noise, a leak's latest 30 % falls under a quarter of its rate by chance.
  if (out.whole.rising && recent && !recent_keeps && !p.deseason && p.block_period <= 0 &&
      recent->slope < o.recent_min_rate * out.whole.slope)
    if (const auto keeps = line_beats_stop(p, recent->t0_ms)) recent_keeps = *keeps;
  if (out.whole.rising && recent && !recent_keeps &&
      recent->slope < o.recent_min_rate * out.whole.slope) {
    out.verdict = Verdict::kUnresolved;
    out.reason = "grew, but the latest " + fmt_pct(100 * o.min_tail_fraction) +
                 " of the window grows at only " +
                 fmt_pct(100.0 * recent->slope / out.whole.slope) +
                 " of the overall rate: leak or plateau cannot be told yet";
    out.confidence = 0.5;
  } else if (out.whole.rising) {
    call_leak(out, out.whole,
              out.whole.onset_ms ? "grows steadily " + from_onset(*out.whole.onset_ms, p.cycle_ms)
                                 : std::string("grows steadily over the window"),
              o);
  } else if (out.knee.found && out.tail && out.tail->rising) {
    out.verdict = Verdict::kUnresolved;
    out.reason = "growth began late: only " + fmt_pct(100 * out.knee.tail_fraction) +
                 " of the window after its onset (need " + fmt_pct(100 * o.min_tail_fraction) + ")";
    out.confidence = clamp01(out.knee.tail_fraction / o.min_tail_fraction);
  } else if (out.oscillation_pct >= o.moving_iqr_pct ||
             std::fabs(out.growth_pct) >= o.min_rise_pct) {
    out.verdict = Verdict::kBounded;
    out.reason = out.period_ms > 0
                     ? "oscillates (period " + std::to_string(static_cast<long>(out.period_ms)) +
                           " ms) with no upward trend"
                 : out.oscillation_pct >= o.moving_iqr_pct
                     ? "moves (interquartile range " + fmt_pct(out.oscillation_pct) +
                           " of level) with no upward trend"
                     : std::string(out.growth_pct > 0 ? "rose " : "fell ") +
                           fmt_pct(std::fabs(out.growth_pct)) +
                           " of level over the window, no upward trend (interquartile range " +
                           fmt_pct(out.oscillation_pct) + ")";
    out.confidence = (1 - 0.5 * (1 - out.whole.p_median)) *
                     clamp01(static_cast<double>(out.whole.blocks) / kConfidenceBlocks);
  } else {
    out.verdict = Verdict::kStable;
    out.reason = "no material trend (" + fmt_pct(out.growth_pct) + " over the window)";
    out.confidence = (1 - 0.5 * (1 - out.whole.p_median)) *
                     clamp01(static_cast<double>(out.whole.blocks) / kConfidenceBlocks);
  }
}

// Step 4: few cycles. With a period and fewer than few_cycles cycles in the window, a knee or
// a trend may sit on a cycle's phase; compare like with like instead: the trough each whole
// cycle of the trending stretch returns to (the lower envelope). A leak raises that floor at its
// rate; a sawtooth, a GC heap, a batch job return to the same floor. When the floor does not
// keep up with the trend and too few cycles remain to call it flat: unresolved.
void check_troughs(const Prepared& p, const Options& o, SeriesVerdict& out) {
  if (out.verdict != Verdict::kLeak || out.period_ms <= 0 || out.cycles >= o.few_cycles) return;
  // The trending stretch (after the knee when the leak was called there), unless it holds fewer
  // whole cycles than trough_min_cycles: then the whole window.
  const bool on_tail = out.tail && out.tail->rising && out.rate == out.tail->slope &&
                       (out.tail->t1_ms - out.tail->t0_ms) / out.period_ms >= o.trough_min_cycles;
  const Trend& tr = on_tail ? *out.tail : out.whole;
  const double period_s = out.period_ms / 1000;
  // An oscillation falls back: a cycle that climbs rate x period at the trend's pace drops about
  // as much again. A stretch whose largest fall (peak to a later sample) is a small part of that
  // never returned to a floor, whatever period its autocorrelation suggests (thinned or stepped
  // samples of a steady leak): the trend stands.
  double peak = -std::numeric_limits<double>::infinity(), drop = 0;
  for (std::size_t i = 0; i < p.raw.t.size(); ++i) {
    if (p.raw.t[i] < tr.t0_ms || p.raw.t[i] > tr.t1_ms) continue;
    peak = std::max(peak, p.raw.v[i]);
    drop = std::max(drop, peak - p.raw.v[i]);
  }
  if (drop < o.cycle_min_drop * out.rate * period_s) return;
  // Registered cycles compare every phase with itself in the other cycles, the floor included:
  // when the periodic profile and drift holds the rise on the trending stretch, the troughs
  // (each window's lowest sample, unregistered) have nothing to add.
  if (p.deseason || p.block_period > 0) {
    const auto pd =
        profile_drift(p.raw, std::max(p.raw.t.front(), tr.t0_ms - out.period_ms / 2),
                      std::min(p.raw.t.back(), tr.t1_ms + out.period_ms / 2), out.period_ms, o);
    if (pd && pd->fit.p < o.alpha && pd->fit.slope_lo > 0) return;
  }
  std::vector<double> tt, tv;  // s, bytes: each whole cycle's lowest sample
  for (double a = tr.t0_ms; a + out.period_ms <= tr.t1_ms + 1e-6; a += out.period_ms) {
    const double b = a + out.period_ms;
    double lo = std::numeric_limits<double>::infinity();
    for (std::size_t i = 0; i < p.raw.t.size(); ++i)
      if (p.raw.t[i] >= a && p.raw.t[i] < b) lo = std::min(lo, p.raw.v[i]);
    if (!std::isfinite(lo)) continue;
    tt.push_back((a + b) / 2000);
    tv.push_back(lo);
  }
  const std::string cycle = "a period of " + fmt_num(period_s, 2) + " s, " +
                            std::to_string(tt.size()) + " whole cycles in the trending stretch";
  if (tt.size() < 2) {
    out.verdict = Verdict::kUnresolved;
    out.reason = "oscillates with " + cycle + ": too few to compare the troughs each cycle " +
                 "returns to (" + out.reason + ")";
    out.rate = 0;
    out.confidence = 0.5;
    return;
  }
  const double slope = stats::theil_sen(tt, tv, o.alpha, 0).slope;  // bytes/s
  out.trough_rise = slope * (tt.back() - tt.front());
  const std::string troughs = "the troughs of its " + std::to_string(tt.size()) +
                              " whole cycles move " + fmt_rate(slope) + " (" +
                              fmt_bytes(*out.trough_rise) + " first to last)";
  if (slope >= o.tail_keep_rate * out.rate) {
    out.reason += "; " + troughs + ": the floor rises";
  } else if (slope <= o.recent_min_rate * out.rate &&
             static_cast<double>(tt.size()) >= o.trough_min_cycles) {
    out.verdict = Verdict::kBounded;
    out.reason = "oscillates (" + cycle + ") and " + troughs +
                 ": the floor it returns to does not rise, the mean's trend was the cycles' phase";
    out.rate = 0;
    out.confidence = 0.5;
  } else {
    out.verdict = Verdict::kUnresolved;
    out.reason = "the mean rises " + fmt_rate(out.rate) + " but " + troughs + " (" + cycle +
                 "): too few cycles to tell a leak beneath the oscillation";
    out.rate = 0;
    out.confidence = 0.5;
  }
}

// The z with P(Z > z) = alpha (bisection on the normal tail).
double normal_crit(double alpha) {
  double lo = 0, hi = 40;
  for (int i = 0; i < 100; ++i) {
    const double mid = 0.5 * (lo + hi);
    (stats::normal_sf(mid) > alpha ? lo : hi) = mid;
  }
  return 0.5 * (lo + hi);
}

// Step 4 for "bounded": few cycles, no upward trend (README "Bounded under few cycles needs a
// floor that does not rise"). "Oscillates with no upward trend" is a claim that the series
// returns to the same floor; with fewer than few_cycles cycles the block trend that failed to
// show a rise is mostly the cycles' phase, so it is no evidence of that. The claim must pass the
// comparison a leak claim must pass (check_troughs, like with like): the floor, here the level
// each registered drop lands on. When the blocks point up (the gate of every other cycle test)
// and the landings rise by a material amount (the leak line: min_drift_pct of the level over the
// window, or min_leak_rate) beyond what the sampler's phase and two samples' noise allow, a leak
// beneath the oscillation is not excluded: unresolved, never bounded. Not leak: the trend a leak
// verdict carries is the one that did not show.
void check_bounded_troughs(const Prepared& p, const Options& o, SeriesVerdict& out) {
  if (out.verdict != Verdict::kBounded || out.period_ms <= 0 || out.cycles >= o.few_cycles ||
      out.asymptote || !(out.whole.slope > 0))
    return;
  const Trend& tr = out.whole;
  // The floor: where each registered drop lands (the first sample of the next cycle). A window
  // of one period that holds no drop has no trough, only a stretch of ramp. A spike the sampler
  // caught is one sample: the lower of the landing and the sample after it (one interval further
  // up the ramp) is the landing without it.
  const auto dl = register_drops(p.raw, tr.t0_ms, tr.t1_ms, out.period_ms);
  if (!dl) return;
  std::vector<double> tt, tv;  // s, bytes: the sample each drop lands on
  for (std::size_t j = 0; j < dl->after.size(); ++j) {
    const std::size_t a = dl->after[j];
    // A drop across a gap in the samples lands where nobody saw it: the first sample after the
    // gap is up the next ramp by the gap's length (README "A drop across a gap").
    if (p.raw.t[a] - p.raw.t[dl->i[j]] > 2 * dl->dt) continue;
    const bool next = a + 1 < p.raw.t.size() && p.raw.t[a + 1] <= tr.t1_ms &&
                      (j + 1 >= dl->i.size() || a + 1 <= dl->i[j + 1]);
    tt.push_back(p.raw.t[a] / 1000);
    tv.push_back(next ? std::min(p.raw.v[a], p.raw.v[a + 1]) : p.raw.v[a]);
  }
  if (tt.size() < 2) return;
  const double slope = stats::theil_sen(tt, tv, o.alpha, 0).slope;  // bytes/s
  const double w_s = (tr.t1_ms - tr.t0_ms) / 1000.0;
  const double growth_pct = 100.0 * slope * w_s / p.level_ref;
  if (!(slope > 0) || !material(growth_pct, slope * w_s, slope, p.level_ref, 0, false, o)) return;
  // A trough is one sample: the sample just after a drop, which the sampler's phase places
  // anywhere in the interval after it, on a ramp that has climbed up to a cycle's swing x the
  // interval / period by then (the sampling alias). Troughs that rise by no more than the phase
  // alone can move them (cycle_alias_intervals x that, as for the cycle means) say nothing.
  // Nor do troughs that rise by no more than the noise of two samples allows: the difference of
  // the first and the last (sqrt 2 of one sample's standard deviation, from the noise's variogram
  // as noise_phi measures it) at the one-sided 1 - alpha normal quantile.
  const double rise = slope * (tt.back() - tt.front());
  double sd = 0;
  noise_phi(p.raw, &sd);
  if (rise < o.cycle_alias_intervals * sampling_alias(p.raw, out.period_ms) +
                 normal_crit(o.alpha) * std::sqrt(2.0) * sd)
    return;
  out.trough_rise = rise;
  std::string seq;
  for (std::size_t j = 0; j < tv.size(); ++j) seq += (j ? " -> " : "") + fmt_bytes(tv[j]);
  out.verdict = Verdict::kUnresolved;
  out.reason = "oscillates (a period of " + fmt_num(out.period_ms / 1000, 2) +
               " s) with no significant trend (" + fmt_rate(tr.slope) + " [" +
               fmt_rate(tr.slope_lo) + ", " + fmt_rate(tr.slope_hi) + "]), but the floor its " +
               std::to_string(tt.size()) + " drops land on rises " + fmt_rate(slope) + " (" + seq +
               ", +" + fmt_pct(growth_pct) +
               " of level over the window): too few cycles to tell a leak beneath the oscillation";
  out.rate = 0;
  out.confidence = 0.5;
}

// Shapes fitted to block medians (x in s from the first block, y in bytes), compared by the
// Bayesian information criterion (Schwarz 1978, Ann. Stat. 6:461-464): n ln(SSE/n) + k ln n.
class Shapes {
 public:
  Shapes(std::vector<double> x, std::vector<double> y, double level_ref)
      : x_(std::move(x)),
        y_(std::move(y)),
        e_(x_.size()),
        n_(static_cast<double>(x_.size())),
        // A floor for the residual: noise-free data would send ln(SSE) to -inf.
        floor_(1e-12 * level_ref * level_ref * n_) {}

  double bic(double sse, double k) const {
    return n_ * std::log((sse + floor_) / n_) + k * std::log(n_);
  }
  double span() const { return x_.back() - x_.front(); }

  // One line: k = 2.
  double line() const {
    return bic(lsq(
                   2, y_, [&](std::size_t j, double* c) { c[0] = 1, c[1] = x_[j]; }, nullptr),
               2);
  }

  // One line with one knot (every interior block): k = 4.
  double hinge() const {
    double best = std::numeric_limits<double>::infinity();
    for (std::size_t i = 2; i + 3 < x_.size(); ++i) {
      const double knot = x_[i];
      best = std::min(best, lsq(
                                3, y_,
                                [&](std::size_t j, double* c) {
                                  c[0] = 1, c[1] = x_[j], c[2] = std::max(0.0, x_[j] - knot);
                                },
                                nullptr));
    }
    return bic(best, 4);
  }

  // Flat until ts, then A - B exp(-(t - ts)/tau) (B > 0: an approach from below); with_line
  // adds r t (a leak under a warm-up). ts and tau on grids (ts on every block of the first half
  // when free, tau in 32 steps from span/100 to 3 span), then a pattern search on both (Hooke &
  // Jeeves 1961, J. ACM 8:212-229) so that a start between two blocks or a time constant between
  // two steps leaves no misfit for a line to absorb.
  // hyperbolic: A - B / (1 + (t - ts)/tau) in place of the exponential (a slower approach: its
  // headroom falls like 1/t, as the running maximum of draws from a bounded, heavy-tailed size
  // does - README "An approach slower than an exponential"). Never with a line here.
  struct Approach {
    double sse = std::numeric_limits<double>::infinity();
    double a = 0, b = 0, r = 0, ts = 0, tau = 1;
    double c = 0;  // curved: the coefficient of ((t - t0) / span)^2
  };
  Approach approach(bool with_line, bool free_start, bool hyperbolic = false,
                    bool curved = false) const {
    hyperbolic_ = hyperbolic;
    curved_ = curved && with_line;
    Approach best;
    const double w = span(), x0 = x_.front();
    const std::size_t starts = free_start ? x_.size() / 2 + 1 : 1;
    for (std::size_t s = 0; s < starts; ++s)
      for (int g = 0; g < 32; ++g) {
        const double tau = w / 100 * std::pow(300.0, g / 31.0);
        const double e = fit(x_[s], tau, with_line, nullptr);
        if (e < best.sse) best.sse = e, best.ts = x_[s], best.tau = tau;
      }
    if (!std::isfinite(best.sse)) return best;
    double dts = free_start ? w / n_ : 0, f = 1.2;
    for (int it = 0; it < 60 && f > 1.0001; ++it) {
      bool moved = false;
      for (const auto& [ts, tau] :
           {std::pair{best.ts - dts, best.tau}, std::pair{best.ts + dts, best.tau},
            std::pair{best.ts, best.tau * f}, std::pair{best.ts, best.tau / f}}) {
        if (ts < x0 || ts > x0 + w / 2) continue;
        const double e = fit(ts, tau, with_line, nullptr);
        if (e < best.sse) best.sse = e, best.ts = ts, best.tau = tau, moved = true;
      }
      if (!moved) dts /= 2, f = std::sqrt(f);
    }
    double beta[4] = {};
    fit(best.ts, best.tau, with_line, beta);
    best.a = beta[0], best.b = beta[1], best.r = with_line ? beta[2] : 0;
    best.c = curved_ ? beta[3] : 0;
    return best;
  }

  const std::vector<double>& x() const { return x_; }
  const std::vector<double>& y() const { return y_; }

 private:
  // beta: room for 4 coefficients, written when the fit is an approach (b > 0).
  double fit(double ts, double tau, bool with_line, double* beta) const {
    for (std::size_t j = 0; j < x_.size(); ++j) {
      const double u = std::max(0.0, x_[j] - ts) / tau;
      e_[j] = hyperbolic_ ? -1 / (1 + u) : -std::exp(-u);
    }
    double bt[4] = {};
    const double x0 = x_.front(), w = std::max(span(), 1e-9);
    const double sse = lsq(
        curved_     ? 4
        : with_line ? 3
                    : 2,
        y_,
        [&](std::size_t j, double* c) {
          const double u = (x_[j] - x0) / w;
          c[0] = 1, c[1] = e_[j], c[2] = x_[j], c[3] = u * u;
        },
        bt);
    if (!std::isfinite(sse) || bt[1] <= 0) return std::numeric_limits<double>::infinity();
    if (beta) std::copy(bt, bt + 4, beta);
    return sse;
  }

  std::vector<double> x_, y_;
  mutable std::vector<double> e_;    // fit's exponential (or hyperbolic) column, reused
  mutable bool hyperbolic_ = false;  // the column approach() is fitting
  mutable bool curved_ = false;      // approach() fits a curvature term as well
  double n_, floor_;
};

// After the approach has run saturation_time_constants time constants, does what it leaves
// (the block medians minus the fitted curve) still rise - significantly and materially? That is
// a leak under a warm-up, whatever the criterion said over a window whose steep start dominates
// the residual.
bool leaves_a_rise(const Shapes& sh, const Shapes::Approach& ap, double level_ref, const Options& o,
                   bool oscillates) {
  std::vector<double> rx, ry;
  for (std::size_t i = 0; i < sh.x().size(); ++i)
    if (sh.x()[i] >= ap.ts + o.saturation_time_constants * ap.tau) {
      rx.push_back(sh.x()[i]);
      ry.push_back(sh.y()[i] - (ap.a - ap.b * std::exp(-(sh.x()[i] - ap.ts) / ap.tau)));
    }
  if (rx.size() < 6) return false;
  const auto mk = stats::mann_kendall(rx, ry);
  const auto line = stats::theil_sen(rx, ry, o.alpha, mk.var_s_corrected);
  const double span = rx.back() - rx.front();
  // The same relative line as every trend (README "Materiality"): 1 % without oscillation.
  const double line_pct = oscillates ? o.min_growth_pct : o.min_drift_pct;
  return mk.p < o.alpha && mk.s > 0 && line.lo > 0 &&
         (100.0 * line.slope * span / level_ref >= line_pct || line.lo >= o.min_leak_rate);
}

// A difference of the criterion under this many units is no evidence either way (Kass & Raftery
// 1995, JASA 90:773-795: 0-2 is "not worth more than a bare mention").
constexpr double kBicTie = 2;

// The approaches fitted to the whole window's block medians, shared by steps 5 and 6 (the same
// fits on the same blocks; each costs a grid of starts and time constants).
struct WindowFits {
  std::optional<Shapes::Approach> ap, apl;
  const Shapes::Approach& approach(const Shapes& sh) {
    if (!ap) ap = sh.approach(false, true);
    return *ap;
  }
  const Shapes::Approach& with_line(const Shapes& sh) {
    if (!apl) apl = sh.approach(true, true);
    return *apl;
  }
  std::optional<Shapes::Approach> hyp;
  const Shapes::Approach& hyperbolic(const Shapes& sh) {
    if (!hyp) hyp = sh.approach(false, true, true);
    return *hyp;
  }
};

// Is the line of the approach plus a line (apl) real? The criterion counts every block as an
// independent observation; under autocorrelated noise (a cache's fill rate wanders) it prefers
// the extra term too often. Where apl's approach is done (after saturation_time_constants of
// its time constants) what remains of it is its line: the block medians minus the approach part
// must rise there by the autocorrelation-corrected Mann-Kendall test (Hamed & Rao 1998), as every
// trend here must. Too few blocks there to test: the criterion stands.
bool line_confirmed(const Shapes& sh, const Shapes::Approach& apl, const Options& o) {
  std::vector<double> rx, ry;
  for (std::size_t i = 0; i < sh.x().size(); ++i)
    if (sh.x()[i] >= apl.ts + o.saturation_time_constants * apl.tau) {
      rx.push_back(sh.x()[i]);
      ry.push_back(sh.y()[i] - (apl.a - apl.b * std::exp(-(sh.x()[i] - apl.ts) / apl.tau)));
    }
  if (rx.size() < 6) return true;
  const auto mk = stats::mann_kendall(rx, ry);
  return mk.p < o.alpha && mk.s > 0;
}

// Step 5: saturation. A rise that slows may be an exponential approach to a bound (a cache
// filling towards its capacity, a pool growing to its size). Candidate shapes on the block
// medians: one line, a line with one knot, flat then an approach, and the approach plus a line.
// When the approach wins, has run at least saturation_time_constants time constants, and its
// remaining headroom is under saturation_headroom_pct of the bound, the series is bounded -
// unless the approach plus a material line wins (a leak under a warm-up), what the approach
// leaves still rises, or, for a leak confirmed after a slowing knee, the stretch after the knee
// is not itself an approach (the whole-window fit can bend its tail to a start-up that was a
// ramp, not an approach, and swallow the leak after it).
void check_saturation(const Prepared& p, const Options& o, SeriesVerdict& out, WindowFits& fits) {
  const bool slowing = out.knee.found && out.knee.slope_after < out.knee.slope_before;
  const bool unresolved_rise = out.verdict == Verdict::kUnresolved && (slowing || out.whole.rising);
  // A leak called after a slowing knee is weighed too: the stretch after the knee of an
  // approach keeps a small decaying slope that its latest half may not show as decaying.
  const bool leak_after_rise = out.verdict == Verdict::kLeak && slowing;
  if (!unresolved_rise && !leak_after_rise) return;
  const Blocks& b = p.all;
  if (b.t.size() < 8 || b.t.back() <= b.t.front()) return;
  std::vector<double> x = seconds_from_first(b.t);
  const Shapes sh(x, b.med, p.level_ref);
  const auto& ap = fits.approach(sh);
  if (!std::isfinite(ap.sse) || !(ap.tau > 0)) return;
  const double bic_ap = sh.bic(ap.sse, 4);
  const double constants = (sh.span() - ap.ts) / ap.tau;
  const double headroom_pct = 100.0 * ap.b * std::exp(-constants) / std::max(std::fabs(ap.a), 1.0);
  if (bic_ap > std::min(sh.line(), sh.hinge()) || constants < o.saturation_time_constants ||
      headroom_pct >= o.saturation_headroom_pct)
    return;
  // The approach plus a line wins only with a line that is material itself (the leak line of
  // every trend: min_drift_pct, min_growth_pct when the series oscillates); an immaterial one
  // absorbs the approach's misfit at its steep start.
  const bool osc = p.deseason || p.block_period > 0;
  const auto& apl = fits.with_line(sh);
  const bool line_matters = apl.r > 0 && (100.0 * apl.r * sh.span() / p.level_ref >=
                                              (osc ? o.min_growth_pct : o.min_drift_pct) ||
                                          apl.r >= o.min_leak_rate);
  if (std::isfinite(apl.sse) && sh.bic(apl.sse, 5) < bic_ap && line_matters &&
      line_confirmed(sh, apl, o))
    return;
  if (leaves_a_rise(sh, ap, p.level_ref, o, osc)) return;
  if (leak_after_rise) {
    std::vector<double> tx, ty;
    for (std::size_t i = 0; i < x.size(); ++i)
      if (b.t[i] >= out.knee.t_ms) tx.push_back(x[i]), ty.push_back(b.med[i]);
    if (tx.size() < 6) return;
    const Shapes tail(tx, ty, p.level_ref);
    const auto tail_ap = tail.approach(false, false);  // starting at the knee: k = 3
    // A tie (the line better by under 2: "not worth more than a bare mention", Kass & Raftery
    // 1995, JASA 90:773-795) leaves the whole window's evidence for the approach standing.
    if (!(std::isfinite(tail_ap.sse) && tail.bic(tail_ap.sse, 3) < tail.line() + kBicTie)) return;
  }
  out.verdict = Verdict::kBounded;
  out.asymptote = ap.a;
  out.rate = 0;
  out.reason = "approaches a bound: an exponential approach fits best (fitted bound " +
               fmt_bytes(ap.a) + ", time constant " + fmt_num(ap.tau, 1) + " s, " +
               fmt_num(constants, 1) + " of them in the window), within " + fmt_pct(headroom_pct) +
               " of it at the end";
  out.confidence = clamp01(constants / (2 * o.saturation_time_constants)) *
                   clamp01(static_cast<double>(x.size()) / kConfidenceBlocks);
}

// What an approach (ap) leaves where it is done: the samples of p.c from done_s (s from x0_ms,
// the first block) to the end, less the approach part A - B exp(-(t - ts)/tau) (its drift, if
// any, stays in). Shared by check_warmup_leak and drift_on_base.
Clean left_by_approach(const Prepared& p, const Shapes::Approach& ap, double x0_ms, double done_s) {
  Clean r;
  for (std::size_t i = 0; i < p.c.t.size(); ++i) {
    const double xs = (p.c.t[i] - x0_ms) / 1000.0;
    if (xs < done_s) continue;
    r.t.push_back(p.c.t[i]);
    r.v.push_back(p.c.v[i] - (ap.a - ap.b * std::exp(-(xs - ap.ts) / ap.tau)));
  }
  return r;
}

// weigh_persistence on what an approach leaves (r, left_by_approach): the noise's persistence
// is the raw series' own (noise_phi), the blocks are r's.
void weigh_persistence_left(const Prepared& p, const Options& o, const Clean& r, Trend& t) {
  if (!t.rising || p.deseason || p.block_period > 0) return;
  Prepared q = p;
  q.c = r;
  weigh_persistence(q, o, t);
  p.noise_phi = q.noise_phi;
}

// curvature_test's answer (README "An approach slower than an exponential").
struct CurveTest {
  double c = 0, p = 1;
  bool made = false;
  bool slows(double alpha) const { return made && c < 0 && p < alpha; }
};
CurveTest curvature_test(const Prepared& p, const Shapes& sh, const Shapes::Approach& apl);

// A rise slower to level off than an exponential approach (README "An approach slower than an
// exponential"): the drift beneath the exponential approach (apl) slows - its curvature is
// significant at alpha under the blocks' persistence (curvature_test) - and an approach slower
// than an exponential, A - B / (1 + (t - ts) / tau), bounded by A and without a drift, explains
// the window as well: the approach plus a drift does not beat it by more than a tie (kBicTie), by
// the criterion with n / inflate effective blocks (inflate 1: every block counted). Either alone
// is not enough: a drift that slows is still growth unless a bounded shape accounts for it, and
// the slower approach alone, with its 4 parameters, follows many a warm-up plus a line as well.
// Returns the curvature test when both hold.
std::optional<CurveTest> slower_approach(const Prepared& p, const Options& o, const Shapes& sh,
                                         const Shapes::Approach& apl, WindowFits& fits,
                                         double inflate) {
  const auto& hy = fits.hyperbolic(sh);
  if (!std::isfinite(hy.sse) || !std::isfinite(apl.sse)) return std::nullopt;
  const double n = static_cast<double>(sh.x().size());
  auto adj = [&](double bic, double k) {
    return (bic - k * std::log(n)) / inflate + k * std::log(n / inflate);
  };
  if (adj(sh.bic(apl.sse, 5), 5) + kBicTie < adj(sh.bic(hy.sse, 4), 4)) return std::nullopt;
  const auto cv = curvature_test(p, sh, apl);
  if (!cv.slows(o.alpha)) return std::nullopt;
  return cv;
}

// The reason of a rise slower to level off than an exponential approach.
std::string slower_reason(const Shapes::Approach& hy, const CurveTest& cv) {
  return "rising ever slower: the drift beneath an exponential approach slows (its curvature p "
         "= " +
         fmt_p(cv.p) + ") and an approach slower than an exponential (A - B / (1 + t / tau), " +
         "bound " + fmt_bytes(hy.a) + ", tau " + fmt_num(hy.tau, 1) +
         " s) fits as well: a leak or an approach not done cannot be told yet";
}

// Step 6: a leak under a warm-up (README "Per series", step 8). A rise left unresolved because
// it slows - a tail after a knee whose latest half keeps under half its rate, or a window whose
// latest stretch slows - is what a warm-up with a leak beneath looks like as much as what a
// saturation looks like: the warm-up's approach decays, the leak keeps its rate. The candidate
// shapes decide (model selection by the Bayesian information criterion, as in step 5): when the
// approach plus a line beats the approach alone by more than a tie (kBicTie), and beats one
// line and one knot, and its approach has run saturation_time_constants time constants in the
// window, what it leaves where it is done (the samples less its approach part, over at least
// min_tail_fraction of the window) goes through the trend test of every stretch (block medians
// and minima, Hamed-Rao, Sen's interval above 0, materiality) and must keep tail_keep_rate of
// its rate in its latest half: then the series is a leak at that stretch's rate. Only without a
// period: the candidates have no periodic term.
void check_warmup_leak(const Prepared& p, const Options& o, SeriesVerdict& out, WindowFits& fits) {
  if (out.verdict != Verdict::kUnresolved || p.deseason || p.block_period > 0) return;
  const bool slowing = out.knee.found && out.knee.slope_after < out.knee.slope_before;
  if (!((slowing && out.tail && out.tail->rising) || out.whole.rising)) return;
  const Blocks& b = p.all;
  if (b.t.size() < 8 || b.t.back() <= b.t.front()) return;
  std::vector<double> x = seconds_from_first(b.t);
  const Shapes sh(x, b.med, p.level_ref);
  const auto& apl = fits.with_line(sh);
  if (!std::isfinite(apl.sse) || !(apl.tau > 0) || !(apl.r > 0)) return;
  const double bic_apl = sh.bic(apl.sse, 5);
  if (bic_apl >= std::min(sh.line(), sh.hinge())) return;
  if ((sh.span() - apl.ts) / apl.tau < o.saturation_time_constants) return;
  const auto& ap = fits.approach(sh);
  if (std::isfinite(ap.sse) && bic_apl + kBicTie >= sh.bic(ap.sse, 4)) return;
  // A rise slower to level off than an exponential is no leak (slower_approach).
  if (const auto cv = slower_approach(p, o, sh, apl, fits, 1)) {
    out.reason = slower_reason(*fits.hyp, *cv);
    out.confidence = 0.5;
    return;
  }
  const double done_s = apl.ts + o.saturation_time_constants * apl.tau;
  const Clean r = left_by_approach(p, apl, b.t.front(), done_s);
  if (r.t.size() < 2 || r.t.back() - r.t.front() < o.min_tail_fraction * out.duration_ms) return;
  auto t = trend_on(r, r, 0, r.t.size(), 0, p.level_ref, o, false, 0);
  if (t) weigh_persistence_left(p, o, r, *t);
  if (!t || !t->rising) return;
  const std::size_t half = static_cast<std::size_t>(
      std::lower_bound(r.t.begin(), r.t.end(), 0.5 * (r.t.front() + r.t.back())) - r.t.begin());
  Options lo = o;
  lo.min_blocks = std::min(o.min_blocks, 6);
  const auto recent = trend_on(r, r, half, r.t.size(), 0, p.level_ref, lo, false, 0);
  if (!recent || recent->slope < o.tail_keep_rate * t->slope) return;
  call_leak(out, *t,
            "grows beneath a warm-up (an exponential approach plus a line fits best, time "
            "constant " +
                fmt_num(apl.tau, 1) + " s; what the approach leaves after " +
                fmt_num(apl.ts + o.saturation_time_constants * apl.tau, 1) + " s still rises)",
            o);
}

// The drift's column: t, or max(0, t - onset) for a drift that starts at an onset of its own.
std::vector<double> onset_column(const std::vector<double>& x, double onset) {
  std::vector<double> c(x);
  if (std::isfinite(onset))
    for (auto& v : c) v = std::max(0.0, v - onset);
  return c;
}

// The drift of the approach plus a line (apl), tested (README "Warm-up or leak: the drift of the
// best model"). With apl's start and time constant held, the model is linear in its level, the
// approach's amplitude and the drift r: least squares on the block medians gives r and its
// variance s^2 [(X'X)^-1]_rr. The blocks are not independent: a noise that persists, or a shape
// the approach does not quite follow (a smoothstep's S, a ramp's corner), leaves residuals that
// wander together, and a wandering residual is what a spurious drift is made of. The variance is
// inflated by (1 + rho) / (1 - rho), the factor AR(1) errors give a trend's least-squares slope,
// and the degrees of freedom shrink to the effective number of blocks n (1 - rho) / (1 + rho)
// (Santer et al. 2000, J. Geophys. Res. 105:7337-7356), less the 5 parameters; rho is the larger of
// the residuals' own lag-1 autocorrelation and what the whole window's noise persistence
// (noise_phi) gives block medians of m samples (weigh_persistence's rho_1). With an onset (s from
// the first block), the drift is r max(0, t - onset): one parameter more (check_late_drift).
// The whole window's persistence (noise_phi), as the lag-1 correlation of the medians of n
// blocks of m samples each.
double block_rho_phi(const Prepared& p, std::size_t n) {
  double rho_phi = 0;
  if (!p.noise_phi) p.noise_phi = noise_phi(p.raw);
  const double phi = *p.noise_phi;
  if (phi > 0 && phi < kPhiStraight) {
    const double m = static_cast<double>(p.c.t.size()) / static_cast<double>(n);
    double den = m;
    for (int j = 1; j < static_cast<int>(m); ++j) den += 2 * (m - j) * std::pow(phi, j);
    rho_phi = phi * std::pow(1 - std::pow(phi, m), 2) / (std::pow(1 - phi, 2) * den);
  }
  return rho_phi;
}

struct DriftTest {
  double r = 0, lo = 0, hi = 0, p = 1;  // bytes/s; two-sided p
  double rho = 0;
  double inflate = 1;  // (1 + rho) / (1 - rho)
  bool fits = true;    // the residual is what the noise leaves (no lack of fit)
  // The test could be made: the blocks' persistence leaves a degree of freedom after the
  // parameters (else r, lo, hi and p are not read).
  bool made = true;
};
std::optional<DriftTest> drift_test(const Prepared& p, const Shapes& sh,
                                    const Shapes::Approach& apl, const Shapes::Approach& ap,
                                    const Options& o, double onset = -HUGE_VAL) {
  const std::vector<double> x = onset_column(sh.x(), onset);
  const auto& y = sh.y();
  const std::size_t n = x.size();
  if (n < 10) return std::nullopt;
  const double k = std::isfinite(onset) ? 6 : 5;  // parameters: the onset is one more
  std::vector<double> e(n);
  for (std::size_t i = 0; i < n; ++i)
    e[i] = -std::exp(-std::max(0.0, sh.x()[i] - apl.ts) / apl.tau);
  // X'X and its inverse (3 x 3, Gauss-Jordan).
  double a[3][6] = {};
  for (std::size_t i = 0; i < n; ++i) {
    const double c[3] = {1, e[i], x[i]};
    for (int u = 0; u < 3; ++u)
      for (int v = 0; v < 3; ++v) a[u][v] += c[u] * c[v];
  }
  for (int u = 0; u < 3; ++u) a[u][3 + u] = 1;
  for (int col = 0; col < 3; ++col) {
    int piv = col;
    for (int r = col + 1; r < 3; ++r)
      if (std::fabs(a[r][col]) > std::fabs(a[piv][col])) piv = r;
    if (std::fabs(a[piv][col]) < 1e-12) return std::nullopt;
    for (int q = 0; q < 6; ++q) std::swap(a[col][q], a[piv][q]);
    const double d = a[col][col];
    for (int q = 0; q < 6; ++q) a[col][q] /= d;
    for (int r = 0; r < 3; ++r) {
      if (r == col) continue;
      const double f = a[r][col];
      for (int q = 0; q < 6; ++q) a[r][q] -= f * a[col][q];
    }
  }
  double xty[3] = {};
  for (std::size_t i = 0; i < n; ++i) xty[0] += y[i], xty[1] += e[i] * y[i], xty[2] += x[i] * y[i];
  double beta[3] = {};
  for (int u = 0; u < 3; ++u)
    for (int v = 0; v < 3; ++v) beta[u] += a[u][3 + v] * xty[v];
  std::vector<double> res(n);
  double sse = 0;
  for (std::size_t i = 0; i < n; ++i) {
    res[i] = y[i] - beta[0] - beta[1] * e[i] - beta[2] * x[i];
    sse += res[i] * res[i];
  }
  double num = 0;
  for (std::size_t i = 1; i < n; ++i) num += res[i] * res[i - 1];
  const double rho_res = sse > 0 ? num / sse : 0;
  const double rho_phi = block_rho_phi(p, n);
  DriftTest d;
  // Lack of fit: the candidates judge the drift only where they follow the series. The noise's
  // scale from the raw samples' successive differences (their median absolute deviation x
  // 1.4826 is sd sqrt(2 (1 - phi)) for AR(1) noise), a block median's variance from it (pi/2 x
  // a block mean's, sd^2 (m + 2 sum_{j<m} (m - j) phi^j) / m^2), and the residual variance
  // against it: beyond the 1 - alpha quantile of chi^2 / df (Wilson & Hilferty 1931), what is
  // left is shape the candidates miss (a ramp's corner, a smoothstep's S), not noise, and
  // neither a drift nor its absence is read from it.
  {
    const double phi = *p.noise_phi;
    std::vector<double> dv;
    for (std::size_t i = 1; i < p.raw.v.size(); ++i) dv.push_back(p.raw.v[i] - p.raw.v[i - 1]);
    const double md = median(dv);
    for (auto& v : dv) v = std::fabs(v - md);
    const double ph = std::clamp(phi > 0 && phi < kPhiStraight ? phi : 0.0, 0.0, 0.95);
    const double sd = 1.4826 * median(dv) / std::sqrt(2 * (1 - ph));
    const double m = std::max(1.0, static_cast<double>(p.c.t.size()) / static_cast<double>(n));
    double den = m;
    for (int j = 1; j < static_cast<int>(m); ++j) den += 2 * (m - j) * std::pow(ph, j);
    const double var_block = std::numbers::pi / 2 * sd * sd * den / (m * m);
    const double dfr = static_cast<double>(n) - k;
    const double z = student_crit(2 * o.alpha, 1e6);  // one-sided normal quantile
    const double c = 1 - 2 / (9 * dfr) + z * std::sqrt(2 / (9 * dfr));
    d.fits = var_block > 0 && sse / dfr <= var_block * c * c * c;
  }
  d.rho = std::clamp(std::max(rho_res, rho_phi), 0.0, 0.95);
  const double inflate = (1 + d.rho) / (1 - d.rho);
  d.inflate = inflate;
  const double n_eff = static_cast<double>(n) / inflate;
  const double df = n_eff - k;
  if (df < 2) {
    d.made = false;
    return d;
  }
  const double s2 = sse / (static_cast<double>(n) - k);
  double se = std::sqrt(s2 * a[2][5] * inflate);
  d.r = beta[2];
  // The start and time constant held fixed hide how far a slower approach can stand in for a
  // drift: the nested comparison with the approach alone, refitted with its own start and time
  // constant (the extra sum of squares, Seber & Wild 1989, Nonlinear Regression, ch. 5), gives the
  // drift's t as sqrt(F) with the same inflation; the larger standard error of the two holds.
  if (!std::isfinite(ap.sse)) return std::nullopt;
  const double f = std::max(0.0, ap.sse - sse) / s2 / inflate;
  if (!(f > 0)) return std::nullopt;
  se = std::max(se, std::fabs(d.r) / std::sqrt(f));
  if (!(se > 0)) return std::nullopt;
  d.p = student_p(d.r / se, df);
  const double half = student_crit(o.alpha, df) * se;
  d.lo = d.r - half;
  d.hi = d.r + half;
  return d;
}

// Does the drift keep its rate? (README "An approach slower than an exponential"). A leak adds at a
// constant rate; an approach slower than an exponential (a ratchet whose headroom falls like 1/t, a
// cache over a long-tailed key space) leaves, beneath the exponential approach fitted to it, a
// drift that slows. The approach plus a drift (apl) is nested in the same model plus a curvature
// term c ((t - t0) / span)^2, the start and time constant profiled in both; the curvature's t is
// sqrt(F) of the extra sum of squares (Seber & Wild 1989, ch. 5) with the variance inflated by
// (1 + rho) / (1 - rho) and the degrees of freedom cut to n (1 - rho) / (1 + rho) - 6 (AR(1)
// errors, Santer et al. 2000), rho as in drift_test. Two-sided p, as drift_test's.
CurveTest curvature_test(const Prepared& p, const Shapes& sh, const Shapes::Approach& apl) {
  CurveTest out;
  const std::size_t n = sh.x().size();
  if (n < 12 || !std::isfinite(apl.sse)) return out;
  const auto q = sh.approach(true, true, false, true);
  if (!std::isfinite(q.sse) || !(q.sse > 0)) return out;
  const auto& x = sh.x();
  const auto& y = sh.y();
  const double w = std::max(sh.span(), 1e-9);
  double num = 0, den = 0, prev = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const double u = (x[i] - x.front()) / w;
    const double res = y[i] - (q.a - q.b * std::exp(-std::max(0.0, x[i] - q.ts) / q.tau) +
                               q.r * x[i] + q.c * u * u);
    if (i > 0) num += res * prev;
    den += res * res;
    prev = res;
  }
  const double rho =
      std::clamp(std::max(den > 0 ? num / den : 0.0, block_rho_phi(p, n)), 0.0, 0.95);
  const double inflate = (1 + rho) / (1 - rho);
  const double df = static_cast<double>(n) / inflate - 6;
  if (df < 2) return out;
  const double f =
      std::max(0.0, apl.sse - q.sse) / (q.sse / (static_cast<double>(n) - 6)) / inflate;
  out.made = true;
  out.c = q.c;
  out.p = f > 0 ? student_p(std::sqrt(f), df) : 1.0;
  return out;
}

std::optional<NotExcluded> leak_not_excluded(const Prepared& p, const Options& o, const Knee& k,
                                             const Trend& tl, double tail_ref,
                                             std::optional<double>* via_approach) {
  const double span_s = (tl.t1_ms - tl.t0_ms) / 1000.0;
  if (!(span_s > 0)) return std::nullopt;
  const bool osc = p.deseason || p.block_period > 0;
  // The leak line of every trend, as a rate over this stretch (stable's line, on its level).
  const double line = (osc ? o.min_growth_pct : o.min_drift_pct) / 100.0 * tail_ref / span_s;
  if (tl.slope_hi < line) return std::nullopt;
  NotExcluded ne{tl.slope_hi, line, false};
  if (osc) return ne;  // the candidate shapes have no periodic term
  const Blocks& b = p.all;
  std::vector<double> x = seconds_from_first(b.t);
  std::vector<double> tx, ty;
  for (std::size_t i = 0; i < x.size(); ++i)
    if (b.t[i] >= k.t_ms) tx.push_back(x[i]), ty.push_back(b.med[i]);
  if (tx.size() < 10) return ne;
  const Shapes tail(tx, ty, p.level_ref);
  const auto apl = tail.approach(true, false);  // starting at the knee
  const auto ap = tail.approach(false, false);
  if (!std::isfinite(apl.sse) || !(apl.tau > 0) || !(apl.b > 0)) return ne;
  // drift_test reads a block's sample count from p.c: the stretch's samples.
  Prepared q = p;
  const auto i0 = static_cast<std::size_t>(std::lower_bound(p.c.t.begin(), p.c.t.end(), k.t_ms) -
                                           p.c.t.begin());
  q.c.t.assign(p.c.t.begin() + static_cast<std::ptrdiff_t>(i0), p.c.t.end());
  q.c.v.assign(p.c.v.begin() + static_cast<std::ptrdiff_t>(i0), p.c.v.end());
  const auto d = drift_test(q, tail, apl, ap, o);
  if (!d || !d->made || !d->fits) return ne;
  ne.approach = true;
  ne.hi = d->hi;
  if (d->hi < line) {
    *via_approach = d->hi;
    return std::nullopt;
  }
  return ne;
}

// The drift beneath an approach on every sample, its size held over the noise's persistence
// (README "Warm-up or leak: the drift on every sample, over phi's interval"). drift_test reads
// the persistence from noise_phi as if it were exact, and block medians keep 2/pi of the samples'
// information. Here the approach with and without a drift is fitted to every sample (spikes left
// out: farther from the running median of three than 4 robust standard deviations of the
// successive differences, Hampel 1974's identifier) by generalized least squares under AR(1)
// noise (exact prewhitening across gaps, Prais & Winsten 1954), the start and time constant
// profiled in both models (a pattern search from the block fits, each model also started from the
// other's), the drift's t as sqrt(F) of the extra sum of squares (Seber & Wild 1989, ch. 5) on
// N - 5 degrees of freedom. phi is a nuisance parameter, estimated where the p-value is computed,
// under the null: the lag-1 autocorrelation of what the approach alone leaves (a wander the drift
// term would take up counts as persistence, not as drift). Its one-sided (1 - gamma) upper bound
// r1 + z sqrt((1 - r1^2) / N) (Bartlett 1946) closes an interval [r1 - that, bound], and the
// p-value is the largest over the interval (its two ends and r1) plus gamma (Berger & Boos 1994,
// JASA 89:1012-1016): of size alpha whatever phi is, as far as the interval covers it. The
// drift's interval is the one at the interval's upper end. `best`: at every phi of the interval,
// the approach plus a drift beats the line and the knot by the criterion on the whitened samples
// (the nested comparison with the approach alone is the F test itself).
struct SampleDrift {
  double r = 0, lo = 0, hi = 0, p = 1;
  double phi = 0, phi_hi = 0;
  bool best = true;
};
constexpr double kPhiGamma = 0.001;  // Berger & Boos' gamma: phi's bound leaves out 0.1 %
// phi's interval [r1 - h, r1 + h] is two-sided: it leaves out gamma on each side, and Berger &
// Boos add what the interval leaves out to the p-value.
constexpr double kPhiLeftOut = 2 * kPhiGamma;
std::optional<SampleDrift> sample_drift(const Prepared& p, const Shapes& sh,
                                        const Shapes::Approach& apl, const Shapes::Approach& ap,
                                        const Options& o) {
  const Clean& c = p.c;
  const std::size_t n0 = c.t.size();
  if (n0 < 30 || !(apl.tau > 0) || !(ap.tau > 0) || !std::isfinite(ap.sse)) return std::nullopt;
  const double x0 = p.all.t.front();
  const auto m3 = running_median3(c.v);
  std::vector<double> dif, dts;
  for (std::size_t i = 1; i < n0; ++i)
    dif.push_back(c.v[i] - c.v[i - 1]), dts.push_back(c.t[i] - c.t[i - 1]);
  const double md = median(dif);
  for (auto& v : dif) v = std::fabs(v - md);
  const double spike = 4 * 1.4826 * median(dif);  // 4 sd of a difference
  const double dt = median(dts);
  if (!(dt > 0)) return std::nullopt;
  std::vector<double> x, y, gap;  // s from the first block; value; gap in typical intervals
  double prev_t = 0;
  for (std::size_t i = 0; i < n0; ++i) {
    if (spike > 0 && std::fabs(c.v[i] - m3[i]) > spike) continue;
    x.push_back((c.t[i] - x0) / 1000.0);
    y.push_back(c.v[i]);
    gap.push_back(x.size() == 1 ? 0.0 : std::max(1.0, std::round((c.t[i] - prev_t) / dt)));
    prev_t = c.t[i];
  }
  const std::size_t n = y.size();
  if (n < 30) return std::nullopt;
  // Exact AR(1) prewhitening: x_j - phi^d x_i over a gap of d intervals, scaled to the
  // innovation's variance; the first sample by sqrt(1 - phi^2).
  auto whiten = [&](const std::vector<double>& v, std::vector<double>& w, double phi) {
    w.resize(n);
    w[0] = v[0] * std::sqrt(1 - phi * phi);
    for (std::size_t i = 1; i < n; ++i) {
      const double f = std::pow(phi, gap[i]);
      w[i] = (v[i] - f * v[i - 1]) / std::sqrt((1 - f * f) / (1 - phi * phi));
    }
  };
  std::vector<double> e(n), wy, w0, w1, w2, kc(n), wk;
  const std::vector<double> ones(n, 1.0);
  auto set_phi = [&](double phi) {
    whiten(y, wy, phi);
    whiten(ones, w0, phi);
    whiten(x, w2, phi);
  };
  // The approach (ts, tau), with or without the drift, at the phi set_phi was given: SSE of the
  // whitened fit; the coefficients (level, amplitude, drift) in beta.
  auto fit = [&](double ts, double tau, bool drift, double phi, double* beta) {
    for (std::size_t i = 0; i < n; ++i) e[i] = -std::exp(-std::max(0.0, x[i] - ts) / tau);
    whiten(e, w1, phi);
    double bt[3] = {};
    const double sse = lsq(
        drift ? 3 : 2, wy,
        [&](std::size_t j, double* col) { col[0] = w0[j], col[1] = w1[j], col[2] = w2[j]; }, bt);
    if (!std::isfinite(sse) || bt[1] <= 0) return std::numeric_limits<double>::infinity();
    if (beta) std::copy(bt, bt + 3, beta);
    return sse;
  };
  struct Shape {
    double ts, tau, sse;
  };
  const double lo_ts = sh.x().front(), hi_ts = sh.x().front() + sh.span() / 2;
  auto profile = [&](bool drift, double phi,
                     std::initializer_list<std::pair<double, double>> from) {
    Shape best{0, 1, std::numeric_limits<double>::infinity()};
    for (const auto& [ts0, tau0] : from) {
      Shape cur{ts0, tau0, fit(ts0, tau0, drift, phi, nullptr)};
      double dts_ = sh.span() / static_cast<double>(sh.x().size()), f = 1.2;
      for (int it = 0; it < 60 && f > 1.0001; ++it) {
        bool moved = false;
        for (const auto& [ts, tau] :
             {std::pair{cur.ts - dts_, cur.tau}, std::pair{cur.ts + dts_, cur.tau},
              std::pair{cur.ts, cur.tau * f}, std::pair{cur.ts, cur.tau / f}}) {
          if (ts < lo_ts || ts > hi_ts) continue;
          const double v = fit(ts, tau, drift, phi, nullptr);
          if (v < cur.sse) cur = {ts, tau, v}, moved = true;
        }
        if (!moved) dts_ /= 2, f = std::sqrt(f);
      }
      if (cur.sse < best.sse) best = cur;
    }
    return best;
  };
  // phi under the null: what the approach alone (ordinary least squares, ap's shape) leaves.
  set_phi(0);
  double b0[3] = {};
  if (!std::isfinite(fit(ap.ts, ap.tau, false, 0, b0))) return std::nullopt;
  double num = 0, s_now = 0, s_before = 0, prev = 0;
  std::size_t pairs = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const double res = y[i] - b0[0] + b0[1] * std::exp(-std::max(0.0, x[i] - ap.ts) / ap.tau);
    if (i > 0 && gap[i] == 1)
      num += res * prev, s_now += res * res, s_before += prev * prev, ++pairs;
    prev = res;
  }
  if (pairs < 20 || !(s_now > 0) || !(s_before > 0)) return std::nullopt;
  SampleDrift out;
  out.phi = std::clamp(num / std::sqrt(s_now * s_before), 0.0, 0.99);
  const double half = student_crit(2 * kPhiGamma, 1e6) *  // one-sided normal quantile
                      std::sqrt((1 - out.phi * out.phi) / static_cast<double>(pairs));
  out.phi_hi = std::min(0.995, out.phi + half);
  const double df = static_cast<double>(n) - 5, nn = static_cast<double>(n);
  auto bic = [&](double sse, double k) { return nn * std::log(sse / nn) + k * std::log(nn); };
  double worst = 0;
  bool first = true;
  for (const double phi : {out.phi_hi, out.phi, std::max(0.0, out.phi - half)}) {
    set_phi(phi);
    const Shape s1 = profile(true, phi, {{apl.ts, apl.tau}, {ap.ts, ap.tau}});
    const Shape s0 = profile(false, phi, {{ap.ts, ap.tau}, {apl.ts, apl.tau}});
    if (!std::isfinite(s1.sse) || !std::isfinite(s0.sse)) return std::nullopt;
    double beta[3] = {};
    fit(s1.ts, s1.tau, true, phi, beta);
    const double f = std::max(0.0, s0.sse - s1.sse) / (s1.sse / df);
    const double r = beta[2];
    worst = std::max(worst, r > 0 && f > 0 ? student_p(std::sqrt(f), df) : 1.0);
    if (first) {  // the interval at phi's upper bound (the widest)
      const double half_r =
          f > 0 ? student_crit(o.alpha, df) * std::fabs(r) / std::sqrt(f) : HUGE_VAL;
      out.r = r, out.lo = r - half_r, out.hi = r + half_r;
      first = false;
    }
    // Not significant at one phi of the interval: the largest p cannot be smaller (the rest is
    // not computed).
    if (!(worst + kPhiLeftOut < o.alpha) || !(out.lo > 0)) {
      out.p = std::min(1.0, worst + kPhiLeftOut);
      return out;
    }
    // The line and the knot (every interior block centre) on the same whitened samples.
    const double line = lsq(
        2, wy, [&](std::size_t j, double* col) { col[0] = w0[j], col[1] = w2[j]; }, nullptr);
    double hinge = std::numeric_limits<double>::infinity();
    for (std::size_t i = 2; i + 3 < sh.x().size(); ++i) {
      for (std::size_t j = 0; j < n; ++j) kc[j] = std::max(0.0, x[j] - sh.x()[i]);
      whiten(kc, wk, phi);
      hinge = std::min(hinge, lsq(
                                  3, wy,
                                  [&](std::size_t j, double* col) {
                                    col[0] = w0[j], col[1] = w2[j], col[2] = wk[j];
                                  },
                                  nullptr));
    }
    out.best = out.best && bic(s1.sse, 5) < std::min(bic(line, 2), bic(hinge, 4));
  }
  out.p = std::min(1.0, worst + kPhiLeftOut);
  return out;
}

// After a slowing knee (README "After a slowing knee: where the approach is done"): the knee
// is the best broken line's corner, and a rise that bends - an exponential approach, a
// smoothstep - has no corner: the knot lands inside the bend, and the stretch after it still
// holds the end of the rise, a decaying slope that a trend test on the stretch reads as growth.
// The stretch's own shape decides where its growth can be measured: the approach plus a line,
// flat until the knee then A - B exp(-(t - knee)/tau) + r t, fitted to its block medians (the
// shapes of steps 5-7), has used up all but e^-3 of its headroom after saturation_time_constants
// time constants; what the stretch holds from there on, less the approach part (the line stays
// in), must rise by the trend test of every stretch with the noise's persistence from the whole
// window (weigh_persistence), or the stretch is no leak yet. Where no approach fits the stretch
// (its amplitude not positive), or where it is done too late to leave 6 blocks, the stretch's own
// test stands. Returns where the approach is done (ms) when the stretch does not rise from there.
// Three outcomes, not two (issue 19, probe13 class A): what the approach leaves rises (nullopt);
// it does not (the ms); or the test cannot be made because the approach is not done within the
// window with blocks to spare - then, when the approach alone (no line) beats the line on the
// stretch by more than a tie (kBicTie), *undone_tau_s is its time constant and the caller reads
// "cannot tell", not "the leak held" (README "Materiality": a test that cannot be made is read as
// not made). A leak after a knee is a line: the approach does not beat it.
std::optional<double> done_without_rise(const Prepared& p, const Options& o, const Knee& k,
                                        double* undone_tau_s) {
  const Blocks& b = p.all;
  std::vector<double> x = seconds_from_first(b.t);
  std::vector<double> tx, ty;
  for (std::size_t i = 0; i < x.size(); ++i)
    if (b.t[i] >= k.t_ms) tx.push_back(x[i]), ty.push_back(b.med[i]);
  if (tx.size() < 6) return std::nullopt;
  const Shapes tail(tx, ty, p.level_ref);
  const auto ap = tail.approach(true, false);  // starting at the knee
  if (!std::isfinite(ap.sse) || !(ap.tau > 0) || !(ap.b > 0)) return std::nullopt;
  const double done_s = ap.ts + o.saturation_time_constants * ap.tau;
  const Clean r = left_by_approach(p, ap, b.t.front(), done_s);
  const auto cannot_tell = [&]() -> std::optional<double> {
    const auto bare = tail.approach(false, false);  // the approach alone from the knee: k = 3
    // And its slowing must show inside the stretch by the line a leak is held to after a knee:
    // its rate at the stretch's end under tail_keep_rate (1/2) of its rate at the knee. An
    // approach whose time constant dwarfs the stretch is a line with a little curvature (a leak
    // on a big level fitted tau = 268 s, far beyond its window): the tail's test stands.
    if (std::isfinite(bare.sse) && bare.tau > 0 && bare.b > 0 &&
        tail.bic(bare.sse, 3) + kBicTie < tail.line() &&
        std::exp(-(tx.back() - bare.ts) / bare.tau) < o.tail_keep_rate)
      *undone_tau_s = bare.tau;
    return std::nullopt;
  };
  if (r.t.size() < 2) return cannot_tell();
  Options lo = o;
  lo.min_blocks = std::min(o.min_blocks, 6);
  auto t = trend_on(r, r, 0, r.t.size(), 0, p.level_ref, lo, false, 0);
  if (!t) return cannot_tell();
  // Significance only: the stretch after the knee was found material, and a part of it adds
  // less over its shorter length at the same rate.
  t->rising = t->p_median < o.alpha && t->p_min < o.alpha && t->slope > 0 && t->slope_lo > 0;
  weigh_persistence_left(p, o, r, *t);
  if (t->rising) return std::nullopt;
  return r.t.front();
}

// The trend a drift beneath an approach reports (check_warmup_leak, check_late_drift): from t0_ms
// to the window's end over the whole window's blocks, the drift test's slope and interval, and
// `p_value` (the test's own, or the onset selection's where an onset was chosen).
Trend drift_trend(const Prepared& p, double t0_ms, const DriftTest& d, double p_value,
                  double growth_pct) {
  Trend t;
  t.t0_ms = t0_ms;
  t.t1_ms = p.c.t.back();
  t.blocks = p.all.t.size();
  t.block_ms = p.all.block_ms;
  t.slope = d.r;
  t.slope_lo = d.lo;
  t.slope_hi = d.hi;
  t.p_median = t.p_min = p_value;
  t.growth_pct = growth_pct;
  t.rising = true;
  return t;
}

// The level the window starts at under an approach (ap, s from x0_ms, the first block's centre;
// README "The level before a warm-up"). An approach that starts after the first block has a flat
// start the blocks show: A - B. One that starts within the first block (before the midpoint of
// the first two block centres; its start is searched from the first centre on) has none: the
// first block's median already holds part of the rise, so A - B is the level part-way up it, not
// the level the window started at. The curve is then read back to the window's first sample,
// A - B exp((ts - t_first) / tau), but no lower than the lowest sample the window holds (nor
// above A - B): the read-back extrapolates the fit outside the blocks it was fitted to, and with
// a time constant of a hundredth of the window half a block before ts multiplies B by e^1.25 -
// below zero, a rise larger than the series ever made. The level a series started at is one it
// was measured near; the lowest sample is below it by at most the noise, so the reference it
// gives is as large as the data allow and no larger.
double level_at_start(const Prepared& p, const Shapes::Approach& ap, double x0_ms) {
  const Blocks& b = p.all;
  if (!(ap.tau > 0) || b.t.size() < 2) return ap.a - ap.b;
  const double first_mid = (b.t[1] - b.t[0]) / 2000.0;
  const double x_first = (p.c.t.front() - x0_ms) / 1000.0;
  if (ap.ts >= first_mid || x_first >= ap.ts) return ap.a - ap.b;
  const double lowest = *std::min_element(p.c.v.begin(), p.c.v.end());
  return std::max(ap.a - ap.b * std::exp((ap.ts - x_first) / ap.tau),
                  std::min(lowest, ap.a - ap.b));
}

// The level a drift beneath an approach is judged against (README "The level before a warm-up"):
// the larger of the two parts of the level the approach's bound A is made of, what the window
// started at (level_at_start) and what the approach added to it (A less that). A drift small
// against the approach's own rise cannot be told from that rise not quite being an exponential
// (a fill slowed by load, a smoothstep's S): the candidates' misfit scales with the rise, not with
// the level under it. A program that starts from nothing has no level under its warm-up to judge
// against; one whose warm-up tops up a level it held has that level.
double drift_reference(const Prepared& p, const Shapes::Approach& ap, double x0_ms) {
  const double start = level_at_start(p, ap, x0_ms);
  return std::max(start, ap.a - start);
}

// The reference's name and size for a reason: "the level before the warm-up (38.1 MiB)" or "the
// warm-up's rise (1.3 GiB)".
std::string drift_reference_named(const Prepared& p, const Shapes::Approach& ap, double x0_ms) {
  const double start = level_at_start(p, ap, x0_ms);
  return (ap.a - start > start ? "the warm-up's rise (" : "the level before the warm-up (") +
         fmt_bytes(drift_reference(p, ap, x0_ms)) + ")";
}

// The drift of the approach plus a drift (apl, drift r) judged against the level it grows on
// (README "Warm-up or leak: the drift against the base"). The drift runs beneath the approach
// from the window's start; the level the window ends at holds the warm-up's bounded fill as
// well, so the drift is also judged against the level before the warm-up, the approach's start
// A - B: material when r x window adds the leak line of that level (material()). The base is
// lower than the level, so the drift must also be told apart from the approach where the
// approach no longer shapes the series: from where the approach's remaining rise,
// B exp(-(t - ts)/tau), falls below what the drift adds over the window (and at least
// saturation_time_constants time constants after its start) to the end, at least
// min_tail_fraction of the window, the samples less the approach part must rise by the trend
// test of every stretch (block medians and minima at alpha, Hamed-Rao, Sen's interval above 0).
// A slow approach (a plateau whose time constant is a tenth of the window) keeps shaping the
// series to the end: a drift read beside it is not confirmed there.
bool drift_on_base(const Prepared& p, const Options& o, const SeriesVerdict& out,
                   const Shapes::Approach& apl, double x0_ms, double r, double lo) {
  const double base = drift_reference(p, apl, x0_ms);
  const double w_s = out.duration_ms / 1000.0;
  const double added = r * w_s;
  if (!(base > 0) || !(added > 0) || !(apl.tau > 0)) return false;
  if (!material(100.0 * added / base, added, lo, base, 0, false, o)) return false;
  const double done_s = apl.ts + apl.tau * std::max(o.saturation_time_constants,
                                                    std::log(std::max(apl.b / added, 1.0)));
  const Clean rest = left_by_approach(p, apl, x0_ms, done_s);
  if (rest.t.size() < 2 || rest.t.back() - rest.t.front() < o.min_tail_fraction * out.duration_ms)
    return false;
  const auto t = trend_on(rest, rest, 0, rest.t.size(), 0, base, o, false, 0);
  return t && t->p_median < o.alpha && t->p_min < o.alpha && t->slope_lo > 0;
}

// Where the candidates do not follow the series (drift_test's lack of fit: a staircase leak's
// treads and risers beneath a warm-up are not a line), neither the drift term nor its absence is
// read from them - but their approach still places the warm-up (README "Beneath a warm-up the
// candidates miss"). What the approach ap leaves where it is done, from where its remaining rise
// B exp(-(t - ts)/tau) falls below what that rest adds over the window (and at least
// saturation_time_constants time constants after its start) to the end, at least
// min_tail_fraction of the window, is tested without a shape: the trend test of every stretch
// (block medians and minima at alpha, Hamed-Rao, the whole window's persistence, Sen's interval
// above 0; the persistence weighed on the rest's own blocks, weigh_persistence_left, as
// check_warmup_leak does: the raw series' blocks still hold the approach's remaining monotone
// rise), its Sen slope over the window material against the level before the warm-up
// (level_at_start), as drift_on_base asks of a drift. The rest's trend, or nullopt.
std::optional<Trend> rise_where_done(const Prepared& p, const Options& o, const SeriesVerdict& out,
                                     const Shapes::Approach& ap, double x0_ms) {
  const double base = drift_reference(p, ap, x0_ms);
  const double w_s = out.duration_ms / 1000.0;
  if (!(base > 0) || !(ap.tau > 0) || !(ap.b > 0)) return std::nullopt;
  std::optional<Trend> t;
  double done_s = ap.ts + o.saturation_time_constants * ap.tau;
  for (int pass = 0; pass < 2; ++pass) {
    const Clean rest = left_by_approach(p, ap, x0_ms, done_s);
    if (rest.t.size() < 2 || rest.t.back() - rest.t.front() < o.min_tail_fraction * out.duration_ms)
      return std::nullopt;
    t = trend_on(rest, rest, 0, rest.t.size(), 0, base, o, false, 0);
    if (!t || !(t->slope > 0)) return std::nullopt;
    weigh_persistence_left(p, o, rest, *t);
    const double later = ap.ts + ap.tau * std::log(std::max(ap.b / (t->slope * w_s), 1.0));
    if (later <= done_s) break;
    done_s = later;
  }
  const double added = t->slope * w_s;
  if (!(t->p_median < o.alpha && t->p_min < o.alpha && t->slope_lo > 0)) return std::nullopt;
  if (!material(100.0 * added / base, added, t->slope_lo, base, 0, false, o)) return std::nullopt;
  return t;
}

// Step 7: warm-up or leak, by the best model (README "Warm-up or leak: the drift of the best
// model"). After a slowing knee - or once an approach was fitted - the candidates over the whole
// window's block medians are one line, one line with a knot, flat then an exponential approach,
// and that approach plus a drift (a leak beneath a warm-up). A leak is the drift term of the best
// model: the approach plus a drift beats the approach alone by more than a tie (kBicTie) and the
// line and the knot, its approach ran saturation_time_constants time constants in the window,
// and its drift - tested with the residuals' persistence (drift_test) - is significant at alpha
// with its interval above 0 and material over the window (the leak line of every trend). A
// plateau is an approach without a drift: when the approach alone is within a tie of it and
// better than the line and the knot, and the drift fails that test, a leak called after a
// slowing knee is withdrawn (unresolved), and a bounded row whose tail still rises carries the
// fitted bound. Nothing is read where the candidates do not fit (drift_test's lack of fit).
// Only without a period (the candidates have no periodic term).
void judge_drift(const Prepared& p, const Options& o, SeriesVerdict& out, WindowFits& fits) {
  if (p.deseason || p.block_period > 0) return;
  const bool slowing = out.knee.found && out.knee.slope_after < out.knee.slope_before;
  const bool fitted_bound = out.verdict == Verdict::kBounded && out.asymptote.has_value();
  if (!slowing && !fitted_bound) return;
  if (out.verdict == Verdict::kStable || (out.verdict == Verdict::kLeak && !slowing)) return;
  // The stretch after the knee must show the rise by its own test (significant on its block
  // medians and minima, its interval above 0): the drift's materiality is judged over the window,
  // the tail's significance on its own samples.
  const bool tail_shows = out.tail && out.tail->p_median < o.alpha && out.tail->p_min < o.alpha &&
                          out.tail->slope_lo > 0;
  // (Checked first: without it a series that is not a leak stays as it is, and the fits, the
  // costly part, are not made.)
  // A bounded row whose tail still rises at tail_keep_p is weighed too: the decision leans on
  // such a row as "growing at a similar rate, only less clearly" beside RSS (decide_rss_grows),
  // and when the approach without a drift is its best model, it carries the fitted bound.
  const bool bounded_rising = out.verdict == Verdict::kBounded && !out.asymptote && out.tail &&
                              out.tail->slope > 0 && out.tail->p_median < o.tail_keep_p;
  if (out.verdict != Verdict::kLeak && !tail_shows && !bounded_rising) return;
  const Blocks& b = p.all;
  if (b.t.size() < 10 || b.t.back() <= b.t.front()) return;
  std::vector<double> x = seconds_from_first(b.t);
  const Shapes sh(x, b.med, p.level_ref);
  const auto& apl = fits.with_line(sh);
  if (!std::isfinite(apl.sse) || !(apl.tau > 0)) return;
  if ((sh.span() - apl.ts) / apl.tau < o.saturation_time_constants) return;
  const auto& ap = fits.approach(sh);
  const double bic_apl = sh.bic(apl.sse, 5);
  const double bic_ap =
      std::isfinite(ap.sse) ? sh.bic(ap.sse, 4) : std::numeric_limits<double>::infinity();
  const auto d = drift_test(p, sh, apl, ap, o);
  // Nothing is read from the candidates where they miss the shape (lack of fit) or where the
  // residuals' persistence leaves no degree of freedom for the drift (not made): what the
  // approach leaves where it is done is tested without a shape (rise_where_done).
  // (Only where the noise's persistence could be told: with an estimate of kPhiStraight or more,
  // the check compares the residual with white noise, and a wander fails it as a shape would.)
  if (d && (!d->fits || !d->made) && tail_shows && out.verdict != Verdict::kLeak && p.noise_phi &&
      *p.noise_phi < kPhiStraight) {
    if (slower_approach(p, o, sh, apl, fits, d->inflate)) return;
    if (const auto t = rise_where_done(p, o, out, apl, b.t.front())) {
      out.asymptote.reset();
      call_leak(out, *t,
                "grows beneath a warm-up: what an exponential approach (time constant " +
                    fmt_num(apl.tau, 1) + " s) leaves where it is done still rises, adding " +
                    fmt_pct(100.0 * t->slope * (out.duration_ms / 1000.0) /
                            drift_reference(p, apl, b.t.front())) +
                    " of " + drift_reference_named(p, apl, b.t.front()) + " over the window (" +
                    (d->fits ? "the noise's persistence leaves the candidates no degree of freedom"
                             : "the candidates do not follow its shape") +
                    ")",
                o);
    }
    return;
  }
  if (!d || !d->fits || !d->made) return;
  const double w_s = out.duration_ms / 1000.0;
  // Where the block test does not show the drift, the test on every sample over phi's interval
  // (sample_drift) is asked: one more test of the cascade at alpha. When it shows the drift, its
  // estimate, interval and p stand for the drift's, and its criterion for the shapes'.
  std::optional<SampleDrift> sd;
  if (!(d->p < o.alpha && d->lo > 0) && tail_shows) {
    sd = sample_drift(p, sh, apl, ap, o);
    if (sd && !(sd->p < o.alpha && sd->lo > 0)) sd.reset();
  }
  DriftTest dd = *d;
  if (sd) dd.r = sd->r, dd.lo = sd->lo, dd.hi = sd->hi, dd.p = sd->p;
  const double growth_pct = 100.0 * dd.r * w_s / p.level_ref;
  const bool drift = dd.p < o.alpha && dd.lo > 0 &&
                     material(growth_pct, dd.r * w_s, dd.lo, p.level_ref, 0, false, o);
  // Not material against the level the window ends at: against the level before the warm-up,
  // told apart from the approach where the approach is done (drift_on_base).
  const bool drift_base = !drift && dd.p < o.alpha && dd.lo > 0 &&
                          drift_on_base(p, o, out, apl, b.t.front(), dd.r, dd.lo);
  // The criterion with the noise's persistence accounted for: n / inflate effective blocks,
  // each shape's log-likelihood scaled to them and its penalty k ln(n / inflate).
  const double ln_n = std::log(static_cast<double>(x.size()));
  const double ln_eff = std::log(static_cast<double>(x.size()) / dd.inflate);
  auto adj = [&](double bic, double k) { return (bic - k * ln_n) / dd.inflate + k * ln_eff; };
  const double a_apl = adj(bic_apl, 5), a_ap = adj(bic_ap, 4);
  const double a_lines = std::min(adj(sh.line(), 2), adj(sh.hinge(), 4));
  const bool best = sd ? sd->best : a_apl + kBicTie < a_ap && a_apl < a_lines;
  // A plateau: the approach without a drift is the best model (within a tie of the approach
  // plus a drift, better than the line and the knot) and the drift is not significant or not
  // material.
  const bool plateau = !drift && a_ap <= a_apl + kBicTie && a_ap < a_lines;
  if (bounded_rising && plateau) {
    const double constants = (sh.span() - ap.ts) / ap.tau;
    const double headroom_pct =
        100.0 * ap.b * std::exp(-constants) / std::max(std::fabs(ap.a), 1.0);
    if (constants >= o.saturation_time_constants && headroom_pct < o.saturation_headroom_pct) {
      out.asymptote = ap.a;
      out.reason += "; an exponential approach without a drift fits best (fitted bound " +
                    fmt_bytes(ap.a) + ", within " + fmt_pct(headroom_pct) +
                    " of it at the end; the drift beneath it p = " + fmt_p(dd.p) + ")";
      // "Levelled off must exclude a leak" (README): a stretch after the knee whose interval
      // reaches the leak line is claimed here as the approach to a fitted bound, the window's
      // best model; the drift's interval beside it is printed, not hidden.
      if (out.leak_not_excluded) {
        out.reason += "; the drift's interval reaches " + fmt_rate(dd.hi) + ", the leak line " +
                      fmt_rate(out.leak_not_excluded->line);
        out.leak_not_excluded.reset();
      }
    }
    return;
  }
  if ((drift || drift_base) && best && tail_shows) {
    if (out.verdict == Verdict::kLeak) return;
    if (slower_approach(p, o, sh, apl, fits, dd.inflate)) return;
    const Trend t = drift_trend(p, b.t.front(), dd, dd.p, growth_pct);
    const double base = drift_reference(p, apl, b.t.front());
    out.asymptote.reset();
    call_leak(out, t,
              "grows beneath a warm-up: an exponential approach plus a drift fits best (time "
              "constant " +
                  fmt_num(apl.tau, 1) + " s), and the drift holds " +
                  (sd ? "on every sample, over the noise's persistence up to phi = " +
                            fmt_num(sd->phi_hi, 2)
                      : std::string("against the residuals' persistence")) +
                  (drift ? std::string()
                         : " and adds " + fmt_pct(100.0 * dd.r * w_s / base) + " of " +
                               drift_reference_named(p, apl, b.t.front()) +
                               ", rising where the approach is done"),
              o);
    return;
  }
  if (out.verdict == Verdict::kLeak && plateau) {
    out.verdict = Verdict::kUnresolved;
    out.rate = 0;
    out.reason =
        "still rising after the knee, but an exponential approach without a drift fits "
        "the window as well and the drift beneath it is " +
        (dd.p < o.alpha && dd.lo > 0
             ? "significant (p = " + fmt_p(dd.p) + ") but not material (it adds " +
                   fmt_pct(growth_pct) + " of the level over the window)"
             : "not significant (p = " + fmt_p(dd.p) + ")") +
        ": leak or plateau cannot be told yet";
    out.confidence = 0.5;
  }
}

// Step 8: a drift with an onset of its own beneath a warm-up (README "A late onset beneath a
// warm-up"). The candidates of steps 5-7 give a drift beneath an approach from the window's
// start; a leak that starts later (a program that warms up, then begins to leak) is followed by
// none of them, and drift_test reads nothing where they do not fit. One more candidate: flat
// then the approach (its start and time constant held from the approach alone), plus a drift
// r max(0, t - t_on) from an onset t_on of its own, chosen among the blocks that leave
// min_tail_fraction of the window after it (k = 6). It is a leak when that model fits (no lack
// of fit), beats the approach alone by more than a tie and the line and the knot (the criterion
// with the persistence, as in step 7), and its drift, tested as in drift_test with the onset
// held, is significant with the onset's selection paid for - p times the number of onsets
// tried (Bonferroni) under alpha - with its interval above 0 and material from the onset to the
// end.
void check_late_drift(const Prepared& p, const Options& o, SeriesVerdict& out, WindowFits& fits) {
  if (p.deseason || p.block_period > 0) return;
  if (out.verdict != Verdict::kBounded && out.verdict != Verdict::kUnresolved) return;
  const bool slowing = out.knee.found && out.knee.slope_after < out.knee.slope_before;
  if (!slowing && !out.whole.rising && !out.asymptote) return;
  const Blocks& b = p.all;
  if (b.t.size() < 10 || b.t.back() <= b.t.front()) return;
  // Only where steps 5-7 fitted the approach (the costly part): a series none of them weighed
  // did not rise and slow.
  if (!fits.ap) return;
  const Shapes sh(seconds_from_first(b.t), b.med, p.level_ref);
  const auto& ap = fits.approach(sh);
  if (!std::isfinite(ap.sse) || !(ap.tau > 0)) return;
  if ((sh.span() - ap.ts) / ap.tau < o.saturation_time_constants) return;
  const auto& x = sh.x();
  const std::size_t n = x.size();
  std::vector<double> e(n);
  for (std::size_t i = 0; i < n; ++i) e[i] = -std::exp(-std::max(0.0, x[i] - ap.ts) / ap.tau);
  double best_sse = HUGE_VAL, onset = 0;
  int tried = 0;
  for (std::size_t j = 1; j + 3 < n; ++j) {
    if (sh.span() - x[j] < o.min_tail_fraction * sh.span()) break;
    ++tried;
    const double t_on = x[j];
    const double sse = lsq(
        3, sh.y(),
        [&](std::size_t i, double* c) { c[0] = 1, c[1] = e[i], c[2] = std::max(0.0, x[i] - t_on); },
        nullptr);
    if (sse < best_sse) best_sse = sse, onset = t_on;
  }
  if (!tried || !std::isfinite(best_sse)) return;
  // The approach's start and time constant held, the onset held (its selection is paid below).
  const auto d = drift_test(p, sh, ap, ap, o, onset);
  if (!d || !d->fits || !d->made || !(d->r > 0) || !(d->lo > 0)) return;
  const double p_sel = std::min(1.0, d->p * tried);
  if (!(p_sel < o.alpha)) return;
  const double after_s = sh.span() - onset + (p.c.t.back() - b.t.back()) / 1000.0;
  const double growth_pct = 100.0 * d->r * after_s / p.level_ref;
  if (!material(growth_pct, d->r * after_s, d->lo, p.level_ref, 0, false, o)) return;
  const double ln_n = std::log(static_cast<double>(n));
  const double ln_eff = std::log(static_cast<double>(n) / d->inflate);
  auto adj = [&](double bic, double k) { return (bic - k * ln_n) / d->inflate + k * ln_eff; };
  const double a_on = adj(sh.bic(best_sse, 6), 6), a_ap = adj(sh.bic(ap.sse, 4), 4);
  const double a_lines = std::min(adj(sh.line(), 2), adj(sh.hinge(), 4));
  if (!(a_on + kBicTie < a_ap && a_on < a_lines)) return;
  const Trend t = drift_trend(p, b.t.front() + onset * 1000.0, *d, p_sel, growth_pct);
  out.asymptote.reset();
  call_leak(out, t,
            "grows beneath a warm-up from " + fmt_num(t.t0_ms / 1000.0, 1) +
                " s: an exponential approach (time constant " + fmt_num(ap.tau, 1) +
                " s) plus a drift from an onset of its own fits best, and the drift holds "
                "against the residuals' persistence and the onset's selection",
            o);
}
}  // namespace

namespace {

// Step 0: a release at the end of the run (README "A release at the end of the run"). A program
// tearing down frees what it held in its last samples; however many of them fall (one, two,
// three...), the series before the fall is what tells a leak from a plateau. The trailing run of
// falling samples is a release when it is short (at most release_max_fraction of the samples),
// gives back a material amount (min_rise_pct of the level it fell from), falls faster than the
// series rose before it, and gives back more than any earlier run of falling samples did (a
// sawtooth's drop each cycle is the oscillation, not a release). Returns the number of samples
// before the fall, or 0.

std::size_t final_release_head(const Clean& raw, const Options& o) {
  const std::size_t n = raw.t.size();
  if (o.final_release_cut || o.running ||
      n < static_cast<std::size_t>(std::max(o.min_samples, 2)) + 1)
    return 0;
  std::size_t peak = n - 1;  // index of the last sample before the trailing fall
  while (peak > 0 && raw.v[peak] < raw.v[peak - 1]) --peak;
  const std::size_t k = n - 1 - peak;  // falling samples
  if (k == 0 || static_cast<double>(k) > o.release_max_fraction * static_cast<double>(n) + 1e-9)
    return 0;
  if (peak + 1 < static_cast<std::size_t>(std::max(o.min_samples, 2))) return 0;
  const double fall = raw.v[peak] - raw.v[n - 1];
  const double ref = std::max(std::fabs(raw.v[peak]), 1.0);
  if (100.0 * fall / ref < o.min_rise_pct) return 0;
  const double fall_s = (raw.t[n - 1] - raw.t[peak]) / 1000.0;
  const double rise_s = (raw.t[peak] - raw.t[0]) / 1000.0;
  if (!(fall_s > 0) || !(rise_s > 0)) return 0;
  if (fall / fall_s < (raw.v[peak] - raw.v[0]) / rise_s) return 0;
  for (std::size_t i = 1, top = 0; i <= peak; ++i) {  // earlier runs of falling samples
    if (!(raw.v[i] < raw.v[i - 1]))
      top = i;
    else if (raw.v[top] - raw.v[i] >= fall)
      return 0;
  }
  return peak + 1;
}

}  // namespace

std::optional<double> onset_null_p(const Series& s, double p_obs, std::size_t grid_max,
                                   const Options& o) {
  SeriesVerdict out;
  Prepared p;
  if (!prepare(s, o, out, p) || p.deseason || p.block_period > 0) return std::nullopt;
  return onset_null_p(p, o, p_obs, p.level_ref, grid_max > 0 ? grid_max : kNullGridMax);
}

SeriesVerdict detail::classify_series_unchecked(const Series& s, const Options& o) {
  SeriesVerdict out;
  Prepared p;
  if (const Clean raw = clean(s); std::size_t head_n = final_release_head(raw, o)) {
    Series head;
    head.t_ms.assign(raw.t.begin(), raw.t.begin() + static_cast<std::ptrdiff_t>(head_n));
    head.value.assign(raw.v.begin(), raw.v.begin() + static_cast<std::ptrdiff_t>(head_n));
    Options o2 = o;
    o2.final_release_cut = true;
    SeriesVerdict h = classify_series(head, o2);
    if (h.verdict != Verdict::kUnresolved || h.whole.blocks > 0) {
      h.reason = "up to the final release at " +
                 std::to_string(static_cast<long>(raw.t[head_n - 1] / 1000)) + " s: " + h.reason;
      h.samples = raw.t.size();
      return h;
    }
  }
  if (!prepare(s, o, out, p)) return out;
  if (auto head = judge_after_knee(p, o, out)) return *head;
  if (out.reason.empty()) {
    judge_whole(p, o, out);
    check_bounded_troughs(p, o, out);
  }
  check_troughs(p, o, out);
  WindowFits fits;
  // "Levelled off" that cannot exclude a material leak after its knee (README "Levelled off must
  // exclude a leak"): a saturation still approaching its bound has a positive slope there that
  // is no leak. When the whole window is an approach to a bound (step 5's test), the row reads
  // so, with its fitted bound; otherwise the decision reads the rate not excluded.
  if (out.verdict == Verdict::kBounded && out.leak_not_excluded) {
    SeriesVerdict w = out;
    w.verdict = Verdict::kUnresolved;
    check_saturation(p, o, w, fits);
    if (w.verdict == Verdict::kBounded && w.asymptote) {
      w.leak_not_excluded.reset();
      out = w;
    }
  }
  check_saturation(p, o, out, fits);
  check_warmup_leak(p, o, out, fits);
  judge_drift(p, o, out, fits);
  check_late_drift(p, o, out, fits);
  if (o.limit_bytes && out.verdict == Verdict::kLeak && out.rate > 0)
    out.time_to_limit_s = std::max(0.0, (*o.limit_bytes - out.level) / out.rate);
  return out;
}

namespace {

// a + sign x b on the samples where both were taken (same t_ms): the gap RSS - held, or held as
// live bytes + the program's own mmap.
Series combine(const Series& a, const Series& b, double sign) {
  Series g;
  std::size_t j = 0;
  for (std::size_t i = 0; i < a.t_ms.size() && i < a.value.size(); ++i) {
    while (j < b.t_ms.size() && b.t_ms[j] < a.t_ms[i]) ++j;
    if (j < b.t_ms.size() && j < b.value.size() && b.t_ms[j] == a.t_ms[i]) {
      g.t_ms.push_back(a.t_ms[i]);
      g.value.push_back(a.value[i] + sign * b.value[j]);
    }
  }
  return g;
}

std::string format_mib(double bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%+.1f MiB", bytes / (1024.0 * 1024.0));
  return buf;
}

// What the decision compares: the evidence rows it reads, and the series behind them.
struct Inputs {
  const SeriesVerdict* held = nullptr;       // what the program holds: books + own mmap
  const SeriesVerdict* books = nullptr;      // live_bytes, else allocated, alone
  const SeriesVerdict* rss = nullptr;        // rss_anon, else rss
  const SeriesVerdict* mmap = nullptr;       // the program's own mmap
  const SeriesVerdict* gap = nullptr;        // RSS - held
  const SeriesVerdict* footprint = nullptr;  // resident, else mapped
  const SeriesVerdict* rss_total = nullptr;  // rss: anonymous + file-backed + shared
  const SeriesVerdict* rss_file = nullptr;   // its file-backed part (absent in old timelines)
  const SeriesVerdict* rss_shmem = nullptr;  // its shared-memory part
  const SeriesVerdict* vm_size = nullptr;    // the mappings' size, resident or not (VmSize)
  std::string books_signal;
  Series held_s;  // the held series (a sum when the program maps its own)
  const Series* rss_s = nullptr;
  const Series* books_s = nullptr;
  const Series* mmap_s = nullptr;       // the series behind mmap
  const Series* footprint_s = nullptr;  // the series behind footprint
};

// Step 1: every signal's evidence, plus held (when the program maps memory itself) and the gap.
// Held = live bytes (else allocated) + the program's own mmap bytes: memory the program maps
// itself is memory it holds, and no allocator keeps it (README "Decision").
Inputs gather(const Signals& sig, const Options& o, Classification& out) {
  Inputs in;
  for (const auto& [name, s] : named_signals(sig))
    if (!s->empty()) out.evidence.push_back({name, classify_series(*s, o)});
  const Series* books = !sig.live_bytes.empty()  ? &sig.live_bytes
                        : !sig.allocated.empty() ? &sig.allocated
                                                 : nullptr;
  in.books_signal = books == &sig.live_bytes ? "live_bytes" : books ? "allocated" : "";
  in.books_s = books;
  out.rss_signal = !sig.rss_anon.empty() ? "rss_anon" : !sig.rss.empty() ? "rss" : "";
  in.rss_s = out.rss_signal == "rss_anon" ? &sig.rss_anon
             : out.rss_signal == "rss"    ? &sig.rss
                                          : nullptr;
  out.held_signal = in.books_signal;
  if (books) {
    in.held_s = *books;
    const bool own_mmap = std::any_of(sig.mmap_bytes.value.begin(), sig.mmap_bytes.value.end(),
                                      [](double v) { return std::isfinite(v) && v > 0; });
    if (own_mmap) {
      Series sum = combine(*books, sig.mmap_bytes, +1);
      if (sum.value.size() >= books->value.size() / 2) {
        in.held_s = std::move(sum);
        out.held_signal = "held";
        out.evidence.push_back({"held", classify_series(in.held_s, o)});
      }
    }
  }
  if (books && in.rss_s) {
    Series g = combine(*in.rss_s, in.held_s, -1);
    if (!g.empty()) out.evidence.push_back({"gap", classify_series(g, o)});
  }
  auto find = [&](const std::string& name) -> const SeriesVerdict* {
    for (const auto& e : out.evidence)
      if (e.signal == name) return &e.v;
    return nullptr;
  };
  in.held = out.held_signal.empty() ? nullptr : find(out.held_signal);
  in.books = in.books_signal.empty() ? nullptr : find(in.books_signal);
  in.rss = out.rss_signal.empty() ? nullptr : find(out.rss_signal);
  in.mmap = find("mmap_bytes");
  in.mmap_s = in.mmap ? &sig.mmap_bytes : nullptr;
  in.gap = find("gap");
  in.rss_total = find("rss");
  in.rss_file = find("rss_file");
  in.rss_shmem = find("rss_shmem");
  in.vm_size = find("vm_size");
  in.footprint = find("resident") ? find("resident") : find("mapped");
  in.footprint_s = find("resident") ? &sig.resident : find("mapped") ? &sig.mapped : nullptr;
  return in;
}

void set(Classification& out, Verdict v, double conf, std::string why, double rate = 0) {
  out.verdict = v;
  out.confidence = std::clamp(conf, 0.0, 1.0);
  out.reason = std::move(why);
  out.rate = rate;
}

void project(Classification& out, const SeriesVerdict* v) {
  if (v && v->time_to_limit_s) out.time_to_limit_s = v->time_to_limit_s;
}

bool only_rises(const Series& x, const SeriesVerdict& v, const Options& o);

// Resident memory outside anonymous memory grows (rss leaks while rss_anon and held do not),
// which rss_anon and the books never see (README "Decision", "outside anonymous memory"). Where
// the timeline has RSS's parts (rss_file, rss_shmem), they tell its two kinds apart:
// - shared memory (memfd, shm_open, tmpfs: rss_shmem) is memory the program holds until it
//   unmaps or closes it: growth outside malloc, non-heap-growth;
// - file-backed pages (rss_file) growing while shared memory does not are pages of files the
//   program has mapped becoming resident as it reads them: page cache, clean and reclaimable,
//   bounded by the mappings - but only while the mappings themselves do not grow. Here rss_anon
//   and held are flat, so the process's mapped size (vm_size, VmSize) growing is mappings being
//   added: a program that keeps mapping files and never unmaps them grows its address space and
//   its resident file pages without bound. vm_size does not leak: bounded; vm_size leaks:
//   non-heap-growth, file-backed mappings that keep growing; vm_size cannot be told yet:
//   unresolved (neither is shown). Without vm_size (timelines written before it was recorded)
//   the file-backed growth reads bounded as before, and the reason says the mappings' growth was
//   not measured.
// Without the parts (timelines written before they were recorded) both read non-heap-growth.
bool decide_outside_anonymous(const Inputs& in, Classification& out) {
  if (!(in.rss_total && in.rss_total != in.rss && in.rss_total->verdict == Verdict::kLeak &&
        in.rss->verdict != Verdict::kLeak && in.held->verdict != Verdict::kLeak))
    return false;
  const std::string besides = " while " + out.rss_signal + " " + in.rss->reason + " and " +
                              out.held_signal + " " + in.held->reason;
  const bool file_only = in.rss_file && in.rss_shmem && in.rss_file->verdict == Verdict::kLeak &&
                         in.rss_shmem->verdict != Verdict::kLeak &&
                         in.rss_shmem->verdict != Verdict::kUnresolved;
  const std::string file_part = ", and rss_file " + (in.rss_file ? in.rss_file->reason : "") +
                                " while rss_shmem " + (in.rss_shmem ? in.rss_shmem->reason : "");
  if (file_only && in.vm_size && in.vm_size->verdict == Verdict::kLeak) {
    set(out, Verdict::kNonHeapGrowth, in.rss_total->confidence,
        "rss " + in.rss_total->reason + besides + file_part + ", and vm_size " +
            in.vm_size->reason +
            ": file-backed mappings that keep growing (the program keeps mapping files and "
            "does not unmap them): growth outside malloc",
        in.rss_total->rate);
    out.rss_signal = "rss";
    project(out, in.rss_total);
    return true;
  }
  if (file_only && in.vm_size && in.vm_size->verdict == Verdict::kUnresolved) {
    set(out, Verdict::kUnresolved, std::min(in.rss_file->confidence, 0.5),
        "rss " + in.rss_total->reason + besides + file_part + ", and vm_size " +
            in.vm_size->reason +
            ": pages of files the program has mapped become resident, and whether its mappings "
            "keep growing (growth outside malloc) or not (page cache, bounded by them) cannot be "
            "told yet");
    out.rss_signal = "rss";
    return true;
  }
  if (file_only) {
    set(out, Verdict::kBounded, 0.7 * in.rss_file->confidence,
        "rss " + in.rss_total->reason + besides + file_part +
            (in.vm_size ? ", and vm_size " + in.vm_size->reason
                        : " (the mappings' growth was not measured: no vm_size)") +
            ": pages of files the program has mapped becoming resident (page cache, clean and "
            "reclaimable, bounded by the mappings), not memory it keeps allocating");
    out.rss_signal = "rss";
    return true;
  }
  const bool shmem = in.rss_shmem && in.rss_shmem->verdict == Verdict::kLeak;
  set(out, Verdict::kNonHeapGrowth, in.rss_total->confidence,
      "rss " + in.rss_total->reason + besides +
          (shmem ? ", and rss_shmem " + in.rss_shmem->reason +
                       ": shared memory grows (memfd, shm_open or tmpfs): growth outside malloc"
                 : ": resident memory outside anonymous memory grows (shared memory such as "
                   "memfd, shm_open or tmpfs, or file-backed mappings): growth outside malloc"),
      in.rss_total->rate);
  out.rss_signal = "rss";  // the decisive RSS signal is the whole of it here
  project(out, in.rss_total);
  return true;
}

// Step 4b: the program's own mappings committed ahead of the filling (README "Decision", "Own
// mappings committed ahead of the filling"). Memory a program maps itself is committed by
// touching it: what it holds in its own mappings as it fills them is their resident part, which
// RSS sees grow, not their size, which steps when it commits more (a JVM's heap: -Xms committed at
// start, grown by a step when the old generation fills). RSS leaks on its own test; the books are
// flat (as in decide_held_grows) and the allocator's footprint does not carry RSS's growth; the
// program's own mappings grew after its start-up (from startup_fraction of the window on) by at
// least held_rate_ratio of what RSS grew over its trending stretch; and RSS is within what the
// program and its allocator have mapped now. Then RSS's growth is the program's own mappings
// being filled as it commits them: growth outside malloc that the program holds, at RSS's rate.
// Mappings that did not grow after start-up and fill (lazy paging of one big mapping) stay
// decide_rss_grows's "pages already mapped becoming resident". Asked where RSS leaks and
// decide_rss_grows claims no leak of its own (its "lazy paging", its "cannot be told yet"), and
// where held is open (a staircase, or unresolved after a late step) before "leak or plateau
// cannot be told yet".
bool decide_own_mappings_filled(const Inputs& in, const Options& o, Classification& out) {
  if (out.held_signal != "held" || !in.mmap || !in.mmap_s || !in.books || !in.rss) return false;
  const SeriesVerdict& rss = *in.rss;
  if (rss.verdict != Verdict::kLeak) return false;
  const Trend& rss_tr = rss.tail && rss.tail->rising ? *rss.tail : rss.whole;
  const double rss_growth = rss_tr.slope * (rss_tr.t1_ms - rss_tr.t0_ms) / 1000.0;
  if (!(rss_growth > 0)) return false;
  const double books_rise = in.books->level - in.books->start_level;
  const double mmap_rise = in.mmap->level - in.mmap->start_level;
  const bool books_flat = in.books->verdict == Verdict::kStable ||
                          (in.books->verdict != Verdict::kLeak && !in.books->whole.rising &&
                           books_rise < o.held_rate_ratio * mmap_rise);
  if (!books_flat) return false;
  const Trend* fp_tr =
      in.footprint ? (in.footprint->tail ? &*in.footprint->tail : &in.footprint->whole) : nullptr;
  if (fp_tr && fp_tr->slope > 0 && fp_tr->slope >= o.footprint_rate_ratio * rss_tr.slope)
    return false;
  // What the program's own mappings committed after its start-up: their level now above the
  // least they had from startup_fraction of the window on.
  const Series& m = *in.mmap_s;
  double t_first = std::numeric_limits<double>::infinity(), t_last = -t_first;
  for (std::size_t i = 0; i < m.t_ms.size() && i < m.value.size(); ++i)
    if (std::isfinite(m.value[i]))
      t_first = std::min(t_first, m.t_ms[i]), t_last = std::max(t_last, m.t_ms[i]);
  if (!(t_last > t_first)) return false;
  const double from = t_first + o.startup_fraction * (t_last - t_first);
  double least = std::numeric_limits<double>::infinity();
  for (std::size_t i = 0; i < m.t_ms.size() && i < m.value.size(); ++i)
    if (std::isfinite(m.value[i]) && m.t_ms[i] >= from) least = std::min(least, m.value[i]);
  const double committed = in.mmap->level - least;
  if (!std::isfinite(committed) || committed < o.held_rate_ratio * rss_growth) return false;
  const double mapped_now = (in.footprint ? in.footprint->level : in.books->level) + in.mmap->level;
  if (rss.level > o.footprint_slack * mapped_now) return false;
  const std::string held_name = "held (" + in.books_signal + " + own mmap_bytes)";
  set(out, Verdict::kNonHeapGrowth, 0.7 * rss.confidence,
      out.rss_signal + " " + rss.reason +
          ", inside the program's own mappings, which it committed " +
          "further as it filled them (mmap_bytes " + format_mib(committed) +
          " after its start-up, against " + format_mib(rss_growth) + " that " + out.rss_signal +
          " grew over its trend: " + held_name + " counts the commits, " + out.rss_signal +
          " the filling) while " + in.books_signal + " " + in.books->reason +
          ": memory the program maps itself and fills by touching (a heap it manages itself): "
          "growth outside malloc",
      rss.rate);
  project(out, &rss);
  return true;
}

// Step 2: what the program holds grows (or cannot be told yet). true: decided.
bool decide_held_grows(const Inputs& in, const Options& o, Classification& out) {
  const std::string held_name = out.held_signal == "held"
                                    ? "held (" + in.books_signal + " + own mmap_bytes)"
                                    : out.held_signal;
  // The books leak while what the program holds, the books plus its own mappings, is settled
  // (README "Decision", "the part and the whole"): held contains every byte the books gain, so
  // the two disagree - a transfer from the mappings to the heap, or a chance rise of the part
  // that the whole's test does not confirm. Neither is told from the other here: unresolved.
  if (in.books->verdict == Verdict::kLeak && in.held != in.books && in.mmap && in.mmap->level > 0 &&
      (in.held->verdict == Verdict::kBounded || in.held->verdict == Verdict::kStable)) {
    set(out, Verdict::kUnresolved, 0.5,
        in.books_signal + " " + in.books->reason + ", but " + held_name + " " + in.held->reason +
            ": the heap's rise is not seen in all the program holds (a transfer from its own "
            "mappings, or a rise of the part the whole does not confirm): leak or plateau cannot "
            "be told yet");
    return true;
  }
  if (in.books->verdict == Verdict::kLeak) {
    // When the gap RSS - books leaks too (its own trend test: significant and material), part
    // of the growth is outside what the books count (thread stacks, mappings): say so, with its
    // rate, or the verdict names only the malloc rate of a leak that grows RSS far faster.
    // Outside malloc means beyond what the allocator has, too: when it reports its footprint
    // (resident, else mapped), RSS must also grow beyond that, on its own test - the headers,
    // size classes and pages the allocator maps for the leaking blocks grow the gap RSS - books
    // without being outside malloc (fopen's FILEs leaking 88 KiB/s under glibc: the gap +321
    // B/s, mapped growing with RSS; a thread-stack leak: mapped flat, RSS +1.1 MiB/s).
    bool outside_leaks =
        in.gap && in.gap->verdict == Verdict::kLeak && in.rss && in.rss->verdict == Verdict::kLeak;
    double outside_rate = in.gap ? in.gap->rate : 0.0;
    const bool beyond_footprint = outside_leaks && in.footprint_s && in.rss_s;
    if (beyond_footprint) {
      const Series beyond = combine(*in.rss_s, *in.footprint_s, -1);
      const SeriesVerdict bv = classify_series(beyond, o);
      outside_leaks = !beyond.empty() && bv.verdict == Verdict::kLeak;
      outside_rate = std::min(outside_rate, bv.rate);
    }
    const std::string outside =
        outside_leaks
            ? "; " + out.rss_signal + " grows " + fmt_rate(in.rss->rate) + ", " +
                  fmt_rate(outside_rate) + " of it outside malloc (the gap " + out.rss_signal +
                  " - " + out.held_signal + " grows" +
                  (beyond_footprint ? ", and beyond what the allocator has mapped" : "") + ")"
            : std::string();
    set(out, Verdict::kLeak, in.books->confidence,
        in.books_signal + " " + in.books->reason + outside, in.books->rate);
    project(out, in.rss && in.rss->time_to_limit_s ? in.rss : in.books);
    return true;
  }
  // Growth outside malloc is own mmap growing while the books stay flat (README's table).
  // Flat needs the books' own test first: a significant, material rise of their own over the
  // window (Trend::rising: Mann-Kendall on block medians and minima, Sen's interval above 0,
  // README "Materiality") is never flat, however much faster the mappings grow (python's list of
  // pointers to interned strings, 80-350 KiB/s beside pymalloc's arenas at 2.4 MiB/s). Nor are
  // books that rise by held_rate_ratio of what the mappings rise or more, which their trend
  // test may miss (a dict's table grown by doublings, a staircase that reads bounded or
  // oscillating). Otherwise - stable, or no trend of their own and a rise small beside the
  // mappings' (wl_leak's mmap kind: 78 KiB of start-up malloc beside 32 MiB of mappings;
  // persistent noise that wanders 4 % of level) - they are flat. Books that are not flat are the
  // heap growing with the program's own mappings: memory the program maps itself is memory it
  // holds, so held (books + own mmap) decides below and the reason gives the split
  // (docs/attach.md).
  const double books_rise = in.books->level - in.books->start_level;
  const double mmap_rise = in.mmap ? in.mmap->level - in.mmap->start_level : 0.0;
  const bool books_flat = in.books->verdict == Verdict::kStable ||
                          (!in.books->whole.rising && books_rise < o.held_rate_ratio * mmap_rise);
  if (in.mmap && in.mmap->verdict == Verdict::kLeak && books_flat) {
    // Memory the program maps itself grows while its malloc books do not: growth outside
    // malloc, which the program holds (no allocator can give it back).
    set(out, Verdict::kNonHeapGrowth, in.mmap->confidence,
        "the program's own mmap grows (" + in.mmap->reason + "): memory it maps itself, outside " +
            "malloc, while " + in.books_signal + " " + in.books->reason,
        in.mmap->rate);
    project(out, in.rss ? in.rss : in.mmap);
    return true;
  }
  // The program's own mmap leaks on its own while the books only ever rose (a table grown by
  // doublings: steps, and between them treads that dilute the sum's trend test): held is a
  // leak plus a series that never falls back, so its floor rises at least at the mmap's rate.
  if (in.mmap && in.mmap->verdict == Verdict::kLeak && in.held->verdict != Verdict::kLeak &&
      in.books_s && only_rises(*in.books_s, *in.books, o)) {
    set(out, Verdict::kLeak, in.mmap->confidence,
        held_name + " grows: the program's own mmap grows (" + in.mmap->reason + ") while " +
            in.books_signal + " only ever rose, never falling back (" + in.books->reason + ")",
        in.mmap->rate);
    project(out, in.rss && in.rss->time_to_limit_s ? in.rss : in.mmap);
    return true;
  }
  if (in.held->verdict == Verdict::kLeak) {
    // Both grow: the heap and the program's own mappings (an allocator layer of its own over
    // mmap, such as pymalloc's arenas, or buffers it maps): say how the growth splits.
    const std::string split =
        in.mmap && in.mmap->verdict == Verdict::kLeak
            ? "; " + fmt_rate(in.mmap->rate) + " of it in memory the program maps itself " +
                  "(mmap_bytes), while " + in.books_signal + " " + in.books->reason
            : std::string();
    set(out, Verdict::kLeak, in.held->confidence, held_name + " " + in.held->reason + split,
        in.held->rate);
    project(out, in.rss && in.rss->time_to_limit_s ? in.rss : in.held);
    return true;
  }
  return false;
}

// Lowest of the first three samples: the target's start under watch.
double first_low(const Series& x) {
  std::vector<std::pair<double, double>> p;
  for (std::size_t i = 0; i < x.t_ms.size() && i < x.value.size(); ++i)
    if (std::isfinite(x.value[i])) p.emplace_back(x.t_ms[i], x.value[i]);
  std::sort(p.begin(), p.end());
  double lo = p.empty() ? 0.0 : p.front().second;
  for (std::size_t i = 0; i < p.size() && i < 3; ++i) lo = std::min(lo, p[i].second);
  return lo;
}

double quantile_in(const Series& x, double from, double to, double q) {
  std::vector<double> v;
  for (std::size_t i = 0; i < x.t_ms.size() && i < x.value.size(); ++i)
    if (x.t_ms[i] >= from && x.t_ms[i] <= to && std::isfinite(x.value[i])) v.push_back(x.value[i]);
  if (v.empty()) return 0.0;
  std::sort(v.begin(), v.end());
  return observed_quantile_sorted(v, q);
}

// x's finite samples in time order, each replaced by the median of itself and its neighbours: a
// single sample away from both neighbours is a transient the sampler caught (a table being
// resized, its old and new copies both live for an instant), not a cycle, which spends more
// than one interval at its peak and its trough.
std::vector<double> despiked(const Series& x) {
  std::vector<std::pair<double, double>> p;
  for (std::size_t i = 0; i < x.t_ms.size() && i < x.value.size(); ++i)
    if (std::isfinite(x.value[i])) p.emplace_back(x.t_ms[i], x.value[i]);
  std::sort(p.begin(), p.end());
  std::vector<double> v(p.size());
  for (std::size_t i = 0; i < p.size(); ++i) v[i] = p[i].second;
  return running_median3(v);
}

// x up to its final release (final_release_head: the program freeing what it holds as it ends),
// else x whole: the release is the program ending, not a fall back from a peak.
Series before_final_release(const Series& x, const Options& o) {
  const Clean raw = clean(x);
  const std::size_t head_n = final_release_head(raw, o);
  if (!head_n) return x;
  Series head;
  head.t_ms.assign(raw.t.begin(), raw.t.begin() + static_cast<std::ptrdiff_t>(head_n));
  head.value.assign(raw.v.begin(), raw.v.begin() + static_cast<std::ptrdiff_t>(head_n));
  return head;
}

// x's despiked samples (despiked) with its resize transients taken out. A buffer grown by copying
// (a std::vector's doubling, a hash table's rehash into a new table) holds its old and its new
// block both while it copies: samples caught then read the sum of the level before and the level
// after, for as long as the copy takes - a big buffer's copy spans more than one interval, which
// despiked's median of three does not take out - and fall back to the new level, above the old
// one. That fall is the old block freed, not the program falling back from a peak: a run of
// samples above both neighbours, each the sum of the two within a step (min_rise_pct of x's
// level), between a level and a higher one, takes the later level.
std::vector<double> without_resize_transients(const Series& x, const SeriesVerdict& v,
                                              const Options& o) {
  std::vector<double> d = despiked(x);
  const double step = o.min_rise_pct / 100.0 * std::max(std::fabs(v.level), 1.0);
  for (std::size_t i = 1; i + 1 < d.size(); ++i) {
    const double before = d[i - 1];
    if (d[i] <= before + step) continue;
    std::size_t j = i + 1;  // the run [i, j) at the peak's level
    while (j < d.size() && std::fabs(d[j] - d[i]) <= step) ++j;
    if (j >= d.size()) break;
    const double after = d[j];
    bool copy = after >= before && after < d[i] - step;
    for (std::size_t k = i; k < j && copy; ++k) copy = std::fabs(d[k] - (before + after)) <= step;
    if (copy) {
      for (std::size_t k = i; k < j; ++k) d[k] = after;
      i = j - 1;
    }
  }
  return d;
}

// Does x only ever rise? It ends materially above its first samples (min_rise_pct of its level)
// and never falls back by cycle_min_drop of that rise from any earlier peak (of the despiked
// samples): an oscillation falls back about as far as it climbs, a staircase (a table grown by
// doublings) or a cache filling up never does. Such a series' movement is growth, whether it
// came in rare steps that block-based trend tests miss or levelled off; its lower envelope rose.
// The same is asked of x after its start-up (from startup_fraction of the window on): a fall there
// that is material (min_rise_pct of its level) and half of what x climbed after its start-up (its
// level above its least there) is an oscillation, however far the start-up lifted the series - a
// JVM maps 136 MiB before its second sample, and teeth of 54 MiB after it are no staircase.
bool only_rises(const Series& x, const SeriesVerdict& v, const Options& o) {
  const std::vector<double> d = without_resize_transients(x, v, o);
  if (d.size() < 2) return false;
  const double rise = v.level - first_low(x);
  if (rise <= 0 || rise / std::max(std::fabs(v.level), 1.0) * 100.0 < o.min_rise_pct) return false;
  double peak = -std::numeric_limits<double>::infinity(), drop = 0;
  for (const double val : d) {
    peak = std::max(peak, val);
    drop = std::max(drop, peak - val);
  }
  if (drop >= o.cycle_min_drop * rise) return false;
  std::vector<double> t;  // d's times: x's finite samples in time order
  for (std::size_t i = 0; i < x.t_ms.size() && i < x.value.size(); ++i)
    if (std::isfinite(x.value[i])) t.push_back(x.t_ms[i]);
  std::sort(t.begin(), t.end());
  if (t.size() != d.size()) return true;
  const double from = t.front() + o.startup_fraction * (t.back() - t.front());
  double peak_after = -std::numeric_limits<double>::infinity(), drop_after = 0;
  double low_after = std::numeric_limits<double>::infinity();
  for (std::size_t i = 0; i < d.size(); ++i) {
    if (t[i] < from) continue;
    peak_after = std::max(peak_after, d[i]);
    drop_after = std::max(drop_after, peak_after - d[i]);
    low_after = std::min(low_after, d[i]);
  }
  const double step = o.min_rise_pct / 100.0 * std::max(std::fabs(v.level), 1.0);
  return !(drop_after >= step && drop_after >= o.cycle_min_drop * (v.level - low_after));
}

// Does x rise in steps? It only ever rises, and at least two of its rises are steps - a rise of
// min_rise_pct of its level within one sample interval (consecutive ones are one step),
// separated by treads where it does not rise that much - which together carry most of its rise:
// a table grown by doublings, a pool grown by chunks. An approach to a bound sampled coarsely
// rises most in its first intervals, one after the other: one step, not a staircase.
bool rises_in_steps(const Series& x, const SeriesVerdict& v, const Options& o) {
  if (!only_rises(x, v, o)) return false;
  const std::vector<double> p = without_resize_transients(x, v, o);
  const double step = o.min_rise_pct / 100.0 * std::max(std::fabs(v.level), 1.0);
  int steps = 0;
  double carried = 0;
  bool tread = true;
  for (std::size_t i = 1; i < p.size(); ++i) {
    const double d = p[i] - p[i - 1];
    if (d >= step) {
      steps += tread ? 1 : 0;
      carried += d;
      tread = false;
    } else {
      tread = true;
    }
  }
  return steps >= 2 && carried > 0.5 * (v.level - first_low(x));
}

// A staircase still on its schedule: x rises in steps (rises_in_steps) and the tread it is on
// at the window's end has lasted at most twice the longest tread before it (tables and size
// classes grown by doublings double their treads; a plateau's last tread never ends). The
// seconds of the ongoing and the longest earlier tread go to *ongoing_s and *longest_s.
bool staircase_on_schedule(const Series& x, const SeriesVerdict& v, const Options& o,
                           double* ongoing_s, double* longest_s) {
  if (!rises_in_steps(x, v, o)) return false;
  std::vector<std::pair<double, double>> p;
  for (std::size_t i = 0; i < x.t_ms.size() && i < x.value.size(); ++i)
    if (std::isfinite(x.value[i])) p.emplace_back(x.t_ms[i], x.value[i]);
  std::sort(p.begin(), p.end());
  const std::vector<double> d = without_resize_transients(x, v, o);  // the same order: by time
  const double step = o.min_rise_pct / 100.0 * std::max(std::fabs(v.level), 1.0);
  std::vector<double> step_end;  // time each step ends (its last rising interval)
  bool tread = true;
  for (std::size_t i = 1; i < d.size(); ++i) {
    if (d[i] - d[i - 1] >= step) {
      if (tread)
        step_end.push_back(p[i].first);
      else
        step_end.back() = p[i].first;
      tread = false;
    } else {
      tread = true;
    }
  }
  if (step_end.size() < 2) return false;
  double longest = 0;
  for (std::size_t k = 1; k < step_end.size(); ++k)
    longest = std::max(longest, step_end[k] - step_end[k - 1]);
  const double ongoing = p.back().first - step_end.back();
  *ongoing_s = ongoing / 1000.0;
  *longest_s = longest / 1000.0;
  return longest > 0 && ongoing <= 2 * longest;
}

// Rises from baselines, and whether what the program holds is back near its own.
struct Baselines {
  double rss_rise = 0;     // bytes: RSS now above its start
  double held_rise = 0;    // bytes: held's median over the recent stretch above its baseline
  double held_rest = 0;    // bytes: held's lower quartile there above its baseline
  bool rss_rose = false;   // material for retention: % of level and bytes
  bool held_back = false;  // held spends its time, or rests, near its baseline
  std::string held_figures;
  std::string held_back_how = "is back near its baseline";  // which of the two decided
  double kept = 0;            // bytes: the gap RSS - held now above its least early on
  bool held_freed = false;    // held fell from its peak and has not climbed back (held_fell)
  double held_peak_rise = 0;  // bytes: held's despiked peak above its baseline
  double fp_rise = 0;         // bytes: the allocator's footprint now above its start
  bool never_malloc = false;  // held near its baseline but never left it, nor did the footprint
  std::string freed_figures;
};

// A fall of x from its peak that lasts: x's highest sample (each sample taken as the median of
// itself and its two neighbours: a one-sample transient is no peak), the highest x climbs to
// again after the fall (from where it stops falling, past the first sample after the peak below
// the midpoint between the peak and the least after it), and the milliseconds from that first
// sample below the midpoint to the window's end.
// A sawtooth climbs back to its peak in the next cycle; a program that freed part of what it
// held and went on with the rest does not.
struct Fall {
  double peak = 0;
  double after = 0;
  double after_ms = 0;
};
std::optional<Fall> lasting_fall(const Series& x) {
  std::vector<std::pair<double, double>> p;
  for (std::size_t i = 0; i < x.t_ms.size() && i < x.value.size(); ++i)
    if (std::isfinite(x.value[i])) p.emplace_back(x.t_ms[i], x.value[i]);
  std::sort(p.begin(), p.end());
  const std::vector<double> d = despiked(x);  // the same order: by time
  if (d.size() < 4 || d.size() != p.size()) return std::nullopt;
  // The first sample has one neighbour and is not despiked: no peak can be told from it.
  const std::size_t ip =
      static_cast<std::size_t>(std::max_element(d.begin() + 1, d.end()) - d.begin());
  if (ip + 1 >= d.size()) return std::nullopt;
  const double lo = *std::min_element(d.begin() + static_cast<std::ptrdiff_t>(ip), d.end());
  const double mid = 0.5 * (d[ip] + lo);
  std::size_t j = ip + 1;
  while (j < d.size() && d[j] > mid) ++j;
  if (j >= d.size()) return std::nullopt;
  Fall f;
  // The level it fell from: the upper decile of the samples up to its highest - a spike that
  // lasts more than one sample is no level the program held, a tooth's top reached again and
  // again is.
  std::vector<double> up(d.begin() + 1, d.begin() + static_cast<std::ptrdiff_t>(ip) + 1);
  std::sort(up.begin(), up.end());
  f.peak = observed_quantile_sorted(up, 0.9);
  f.after_ms = p.back().first - p[j].first;
  // The rest of the descent (a program freeing a big structure takes several samples) is the
  // fall itself, not a climb back: the highest after the fall is read from where it stops falling.
  std::size_t k = j;
  while (k + 1 < d.size() && d[k + 1] <= d[k]) ++k;
  f.after = *std::max_element(d.begin() + static_cast<std::ptrdiff_t>(k), d.end());
  return f;
}

// Step 3: the baselines (README "Decision"). Quantiles of the raw samples over the recent
// stretch (the last min_tail_fraction of the window: robust to a purge or exit in the last
// samples) or the first one; on an oscillating series the stretch spans whole cycles.
Baselines baselines(const Inputs& in, const Options& o) {
  auto stretch_ms = [&](const SeriesVerdict& v) {
    const double len = o.min_tail_fraction * v.duration_ms;
    if (v.period_ms <= 0 || v.period_ms > v.duration_ms) return len;
    return std::min(v.duration_ms, v.period_ms * std::ceil(len / v.period_ms - 1e-9));
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
  const Series& rs = *in.rss_s;
  const Series& hs = in.held_s;
  const SeriesVerdict& rss = *in.rss;
  const SeriesVerdict& held = *in.held;
  Baselines b;
  const double rss_base = std::min(first_low(rs), rss.start_level);
  // The program's baseline: the least it held early on - its first samples, or the lower decile
  // of the first stretch of the window (the troughs of a series that oscillates from the start).
  const double held_base =
      std::min({first_low(hs), held.start_level, early_quantile(hs, held, 0.1)});
  b.rss_rise = std::max(rss.level, recent_quantile(rs, rss, 0.5)) - rss_base;
  const double rss_ref = std::max(std::fabs(rss.level), 1.0);
  // Retention must be material in both senses: a share of the level, and bytes worth a purge
  // or a setting (a shell's 28 KiB is never "the allocator keeps freed memory").
  b.rss_rose =
      b.rss_rise / rss_ref * 100.0 >= o.min_rise_pct && b.rss_rise >= o.min_retention_bytes;
  // What is kept is RSS beyond what the program holds, sample by sample: the gap RSS - held
  // must have risen too (its typical value over the recent stretch above its least early on).
  // RSS and held that fall back together between bursts (glibc trimming its top, malloc_trim)
  // keep nothing, whatever level block medians spanning a burst give RSS.
  if (b.rss_rose) {
    const Series g = combine(rs, hs, -1);
    if (!g.empty()) {
      const double gap_rise =
          recent_quantile(g, rss, 0.5) - std::min(first_low(g), early_quantile(g, rss, 0.1));
      b.rss_rose =
          gap_rise / rss_ref * 100.0 >= o.min_rise_pct && gap_rise >= o.min_retention_bytes;
      b.kept = gap_rise;
    }
  }
  // Is what the program holds back near its baseline? Either it spends most of its recent
  // stretch near it (the median at most held_back_median of RSS's rise above it) or it rests
  // right at it a quarter of the time (the lower quartile within held_back_rest of RSS's
  // rise: a service idling at its baseline between bursts). A sawtooth passes through its
  // trough without resting there (median half a tooth, lower quartile a quarter) and a warm
  // cache stays at its bound: their memory is the program's own working set - unless RSS rose
  // by twice the tooth or more (jemalloc and mimalloc keep 1.2-1.6 teeth under wl_sawtooth).
  b.held_rise = recent_quantile(hs, held, 0.5) - held_base;
  b.held_rest = recent_quantile(hs, held, 0.25) - held_base;
  b.held_back = b.rss_rise > 0 && (b.held_rise <= o.held_back_median * b.rss_rise ||
                                   b.held_rest <= o.held_back_rest * b.rss_rise);
  // "Back" near its baseline needs held to have left it: retention is memory the program freed
  // and the allocator keeps, so the memory RSS keeps must once have been malloc's. Either held's
  // peak (despiked: a one-sample transient is no level it held) or the allocator's own footprint
  // (resident, else mapped: what it still has now) must have risen above the band that counts as
  // near the baseline (held_back_median of RSS's rise) - the same line, so "left" and "back" are
  // one test read both ways. A held that never left the band while the allocator's footprint
  // stayed there too says RSS's rise never passed through malloc (thread stacks, mappings no
  // allocator reports): RSS's own verdict decides (bounded when it levelled off), never
  // retention. The test needs the footprint: held's samples alone can miss what the allocator
  // took (bursts freed between samples, churn spread over arenas it keeps), so an allocator that
  // reports none (TBB's) is read as before (README "Known limits").
  if (b.held_back && in.footprint_s && in.footprint && !in.footprint_s->empty()) {
    const std::vector<double> hd = despiked(hs);
    b.held_peak_rise = hd.empty() ? 0.0 : *std::max_element(hd.begin(), hd.end()) - held_base;
    const Series& fs = *in.footprint_s;
    b.fp_rise = recent_quantile(fs, *in.footprint, 0.5) -
                std::min(first_low(fs), early_quantile(fs, *in.footprint, 0.1));
    const double line = o.held_back_median * b.rss_rise;
    if (!(b.held_peak_rise > line) && !(b.fp_rise > line)) {
      b.held_back = false;
      b.never_malloc = true;
    }
  }
  b.held_figures =
      format_mib(b.held_rise) + " typically, " + format_mib(b.held_rest) + " at its lower quartile";
  // Back by its lower quartile alone (a program that holds a burst most of the time and rests at
  // its baseline between bursts): say it rests there, not that it is back near it.
  if (b.held_back && b.held_rise > o.held_back_median * b.rss_rise)
    b.held_back_how = "rests at its baseline between bursts";
  // Or did the program free what RSS keeps, and not use it again? Memory kept beyond what the
  // program holds (the gap's rise, b.kept) is retention when the program itself released it:
  // held fell from its peak and, for at least min_tail_fraction of the window since the fall,
  // never climbed back within held_rate_ratio of what is kept - the kept memory is, for the
  // most part, memory the program held and freed and has not used again - by a material
  // amount (min_rise_pct of RSS's level, and min_retention_bytes). A program that frees 90 % of
  // a big structure and goes on with the rest is not back near its start, yet what it freed is
  // what the allocator keeps. A sawtooth climbs back to its peak in every cycle, a warm cache
  // never falls: both keep their working set, bounded as before.
  if (b.rss_rose && !b.held_back) {
    if (const auto f = lasting_fall(hs)) {
      const double freed = f->peak - f->after;
      // What is kept beyond what the program holds is part of RSS's rise: a gap that rose more
      // than RSS did says held fell by memory that was never resident (a JVM unmapping the
      // reservations it started with: held -340 MiB, RSS +39 MiB), which nothing keeps.
      // And RSS must hold what was freed: when RSS falls with held over the window (both
      // significantly, Sen's interval below 0, RSS at held_rate_ratio of held's rate or faster),
      // the allocator returns what the program frees as it frees it, and what stays beyond held
      // is the lag of its decay, not memory it keeps (a backlog drained under jemalloc: held and
      // rss_anon both -6.5 MiB/s for 23 s, 10 MiB between them).
      const Trend& hw = held.whole;
      const Trend& rw = rss.whole;
      const bool rss_follows = hw.p_median < o.alpha && hw.slope_hi < 0 && rw.p_median < o.alpha &&
                               rw.slope_hi < 0 && rw.slope <= o.held_rate_ratio * hw.slope;
      b.held_freed = !rss_follows && b.kept <= o.footprint_slack * b.rss_rise &&
                     f->after_ms >= o.min_tail_fraction * held.duration_ms &&
                     freed >= o.held_rate_ratio * b.kept &&
                     freed / rss_ref * 100.0 >= o.min_rise_pct && freed >= o.min_retention_bytes;
      if (b.held_freed)
        b.freed_figures = "fell from its peak (" + format_mib(f->peak - held_base) +
                          " above its baseline) and has not climbed back in the " +
                          fmt_num(f->after_ms / 1000.0, 1) + " s since (at most " +
                          format_mib(f->after - held_base) + "): it freed " +
                          format_mib(freed).substr(1) + ", and " + format_mib(b.kept).substr(1) +
                          " beyond what it holds stays resident";
    }
  }
  return b;
}

// Step 4: RSS grows while what the program holds does not. true: decided.
// Growth outside malloc is a claim that what the program holds does NOT grow at RSS's rate, and
// needs evidence of that, not the mere absence of a significant trend in held (README
// "Decision", "Outside malloc needs held's interval"): held's own interval on its stretch (Sen's,
// or the deseasonalized regression's when that test decided the trend) must lie below
// held_rate_ratio x RSS's slope - the share of RSS's rate at which the two are read as one growth.
// Returns the unresolved reason's tail when that rate cannot be excluded, empty when it is
// excluded.
std::string held_rate_not_excluded(const Trend& held_tr, const Trend& rss_tr, const Options& o) {
  const double bound = o.held_rate_ratio * rss_tr.slope;
  if (!(rss_tr.slope > 0) || held_tr.slope_hi < bound) return {};
  return ", but its interval [" + fmt_rate(held_tr.slope_lo) + ", " + fmt_rate(held_tr.slope_hi) +
         "] reaches " + fmt_rate(bound) + ", " + fmt_pct(100 * o.held_rate_ratio) +
         " of RSS's rate: growth inside or outside malloc cannot be told yet";
}

// Step 4's footprint when the allocator keeps no books (TBB's scalable allocator): what an
// allocator has mapped is at least the most it has handed out at once, so the books' peaks are
// a lower bound of its footprint, which rises when the program reaches new peaks. True when the
// peaks rise with RSS on RSS's stretch: the largest sample of each of its blocks (RSS's trend
// blocks) trends up on the Mann-Kendall test (Hamed-Rao corrected, p < alpha) with a Sen slope
// of at least footprint_rate_ratio of RSS's - RSS growing with the peaks of what the program held
// through malloc (bursts it frees between samples, each larger than the last) is the
// allocator's pages, not growth outside it. A trend of block maxima, not a running maximum: the
// largest of n samples of any noisy series rises with n, and one spike is not a trend. Asked
// only of a program back near its baseline (Baselines::held_back): one whose books rise slowly
// raises their peaks with its level, which is its own growth, not peaks it freed.
bool held_peaks_rise_with_rss(const Inputs& in, const Trend& rss_tr, const Options& o) {
  if (in.footprint || !in.books_s || !(rss_tr.slope > 0) || !(rss_tr.t1_ms > rss_tr.t0_ms) ||
      !(rss_tr.block_ms > 0))
    return false;
  const Series& s = *in.books_s;
  const auto nb = static_cast<std::size_t>((rss_tr.t1_ms - rss_tr.t0_ms) / rss_tr.block_ms);
  if (nb < 6) return false;
  std::vector<double> peak(nb, -INFINITY);
  for (std::size_t i = 0; i < s.value.size(); ++i) {
    if (!std::isfinite(s.value[i]) || s.t_ms[i] < rss_tr.t0_ms) continue;
    const auto k = static_cast<std::size_t>((s.t_ms[i] - rss_tr.t0_ms) / rss_tr.block_ms);
    if (k < nb) peak[k] = std::max(peak[k], s.value[i]);
  }
  std::vector<double> x, y;
  for (std::size_t k = 0; k < nb; ++k)
    if (std::isfinite(peak[k])) {
      x.push_back((k + 0.5) * rss_tr.block_ms / 1000.0);  // seconds: the slope in bytes/s
      y.push_back(peak[k]);
    }
  if (x.size() < 6) return false;
  const auto mk = stats::mann_kendall(x, y);
  if (!(mk.s > 0 && mk.p < o.alpha)) return false;
  const auto ts = stats::theil_sen(x, y, o.alpha, mk.var_s_corrected);
  return ts.slope >= o.footprint_rate_ratio * rss_tr.slope;
}

bool decide_rss_grows(const Inputs& in, const Baselines& b, const Options& o, Classification& out) {
  const SeriesVerdict& rss = *in.rss;
  const SeriesVerdict& held = *in.held;
  if (rss.verdict != Verdict::kLeak) return false;
  // The stretch on which RSS trends (after its knee, if any) and held's slope there.
  const Trend& rss_tr = rss.tail && rss.tail->rising ? *rss.tail : rss.whole;
  const Trend& held_tr = held.tail ? *held.tail : held.whole;
  // Not when held is back near its baseline: a program that returns to what it held at the
  // start holds nothing more, whatever trend its bursts show (a retention workload starved of
  // CPU stretches its bursts as the load varies; RSS still filling the allocator's arenas late
  // in the window reads as a trend, and the two together read as one growth).
  // Held's growth is judged against the leak line (README "Materiality"): its trend over its
  // stretch against min_drift_pct, not the difference of its first and last blocks against the
  // 2 % line. Not min_growth_pct when held oscillates: that line guards a single series' trend
  // against the ripple a removed period leaves, and here the rise is RSS's own leak verdict
  // (its own oscillation rules already asked of it), held the second instrument.
  const double held_line = o.min_drift_pct;
  if (!b.held_back && held_tr.slope > 0 && held_tr.slope >= o.held_rate_ratio * rss_tr.slope &&
      held_tr.p_median < o.tail_keep_p && !held.asymptote &&
      (held_tr.growth_pct >= held_line || held_tr.slope >= o.min_leak_rate)) {
    // RSS grows significantly and what the program holds grows at least about as fast, only
    // less clearly (noisier, significant at tail_keep_p but not at alpha): the same growth
    // seen through two instruments.
    set(out, Verdict::kLeak, 0.6 * rss.confidence,
        out.rss_signal + " " + rss.reason + ", and " + out.held_signal +
            " grows at a similar rate (" + fmt_pct(held_tr.growth_pct) + ")" +
            (held.verdict == Verdict::kUnresolved
                 ? " though its own test cannot tell yet (" + held.reason + ")"
                 : std::string(" though not significantly on its own")),
        rss.rate);
    project(out, &rss);
    return true;
  }
  const Trend* fp_tr =
      in.footprint ? (in.footprint->tail ? &*in.footprint->tail : &in.footprint->whole) : nullptr;
  // RSS growing while still within what the allocator has mapped or committed (mimalloc's
  // committed, jemalloc's mapped) is the allocator's pages becoming resident.
  // The program's own mappings count with it (a mapping it touches page by page: lazy paging of
  // memory it already holds).
  const double own_mapped = in.mmap ? std::max(in.mmap->level, 0.0) : 0.0;
  const bool within_footprint =
      (in.footprint || own_mapped > 0) &&
      rss.level <= o.footprint_slack * ((in.footprint ? in.footprint->level : 0.0) + own_mapped);
  const bool peak_rises = !fp_tr && !within_footprint && b.held_back && b.rss_rose &&
                          held_peaks_rise_with_rss(in, rss_tr, o);
  if ((fp_tr && fp_tr->slope > 0 && fp_tr->slope >= o.footprint_rate_ratio * rss_tr.slope) ||
      within_footprint || peak_rises) {
    const std::string creep =
        out.rss_signal + " " + rss.reason +
        (within_footprint
             ? (own_mapped > 0 ? ", within what the allocator and the program have mapped"
                               : ", within what the allocator has mapped")
         : peak_rises ? ", and so do the peaks " + out.held_signal +
                            " reaches (the allocator keeps no books; it has mapped at least those)"
                      : ", and so does the allocator's footprint");
    if (b.held_back && b.rss_rose) {
      // What the program holds is back near its baseline: the allocator keeps freed memory.
      set(out, Verdict::kRetention, 0.7 * rss.confidence,
          creep + ", while " + out.held_signal + " " + b.held_back_how + " (" + b.held_figures +
              "): the allocator keeps freed memory");
    } else if (b.held_freed) {
      // It freed most of what is kept and has not used it again (baselines()).
      set(out, Verdict::kRetention, 0.7 * rss.confidence,
          creep + ", while " + out.held_signal + " " + b.freed_figures +
              ": the allocator keeps freed memory");
    } else {
      // The program holds most of RSS's rise and that stays bounded (a warm cache whose
      // allocator keeps committing pages around it), or the rise is too small to be kept
      // memory worth naming: the allocator's pages becoming resident.
      set(out, Verdict::kBounded, 0.7 * held.confidence,
          out.held_signal + " " + held.reason + "; it holds " + b.held_figures + " of RSS's " +
              format_mib(b.rss_rise) + " while " + creep +
              (own_mapped > 0 && within_footprint
                   ? ": pages already mapped becoming resident (lazy paging), not freed memory kept"
                   : ": the allocator's pages becoming resident, not freed memory kept"));
    }
  } else if (const std::string open = held_rate_not_excluded(held_tr, rss_tr, o); !open.empty()) {
    set(out, Verdict::kUnresolved, std::min(rss.confidence, 0.5),
        out.rss_signal + " " + rss.reason + " while " + out.held_signal + " " + held.reason + open);
    return true;  // nothing to project: no leak is claimed
  } else {
    const bool gap_grows = in.gap && in.gap->verdict == Verdict::kLeak;
    set(out, Verdict::kNonHeapGrowth, rss.confidence * (gap_grows ? 1.0 : 0.7),
        out.rss_signal + " " + rss.reason + " while " + out.held_signal + " " + held.reason +
            ": growth outside malloc",
        rss.rate);
  }
  project(out, &rss);
  return true;
}

// The Hamed-Rao factor of nb block medians taken as AR(1) with their lag-1 persistence
// bias-corrected, as weigh_block_persistence judges a whole window (README "The whole window's
// persistence, bias-corrected"): r the lag-1 autocorrelation of the detrended medians' ranks,
// rho = (n r + 2) / (n - 4), at most what AR(1) noise with the raw samples' own persistence
// (noise_phi) gives block means of `per_block` samples; 1 under 30 blocks or when noise_phi
// cannot tell persistence from a misfit.
double corrected_block_factor(const std::vector<double>& ranks, const Clean& raw,
                              double per_block) {
  const std::size_t nb = ranks.size();
  if (nb < 30) return 1;
  const auto rho = corrected_block_rho(ranks, noise_phi(raw), per_block);
  if (!rho) return 1;
  return hamed_rao_factor(nb, [&](double k) { return std::pow(*rho, k); });
}

struct JointMk {
  double s = 0, z = 0, p = 1;
};
// The multivariate Mann-Kendall test (Dietz & Killeen 1981, JASA 76:169-174; Hirsch & Slack
// 1984, Water Resour. Res. 20:727-732) of two series over the same blocks: S = S_a + S_b, with
// Var(S) = Var(S_a) + Var(S_b) + 2 Cov. The covariance is estimated from the ranks
// (Dietz-Killeen: Cov = (K + 4 sum R_a R_b - n (n + 1)^2) / 3, K the concordance of the pairs),
// here of the Sen-detrended values (a common trend is not a common noise). Each variance
// carries the larger of its Hamed-Rao factor and the bias-corrected block persistence's
// (corrected_block_factor), the cross term their geometric mean. When the two share their noise
// (RSS contains held), the covariance takes the gain away: the joint test is never stronger than
// the two instruments' own noise makes it. ca, cb: the raw samples (for noise_phi); per_block:
// samples per block.
std::optional<JointMk> joint_mann_kendall(const std::vector<double>& x,
                                          const std::vector<double>& ya,
                                          const std::vector<double>& yb, const Clean& ca,
                                          const Clean& cb, double per_block, const Options& o) {
  const std::size_t nb = x.size();
  const auto mka = stats::mann_kendall(x, ya), mkb = stats::mann_kendall(x, yb);
  if (!(mka.var_s > 0) || !(mkb.var_s > 0)) return std::nullopt;
  const double sa = stats::theil_sen(x, ya, o.alpha, mka.var_s).slope;
  const double sb = stats::theil_sen(x, yb, o.alpha, mkb.var_s).slope;
  std::vector<double> ra(nb), rb(nb);
  for (std::size_t i = 0; i < nb; ++i) ra[i] = ya[i] - sa * x[i], rb[i] = yb[i] - sb * x[i];
  ra = mid_ranks(ra), rb = mid_ranks(rb);
  const double fa = std::max(mka.correction, corrected_block_factor(ra, ca, per_block));
  const double fb = std::max(mkb.correction, corrected_block_factor(rb, cb, per_block));
  double concord = 0, cross = 0;
  for (std::size_t i = 0; i < nb; ++i) {
    cross += ra[i] * rb[i];
    for (std::size_t j = i + 1; j < nb; ++j) {
      const double d = (ra[j] - ra[i]) * (rb[j] - rb[i]);
      concord += (d > 0) - (d < 0);
    }
  }
  const double nd = static_cast<double>(nb);
  const double cov = (concord + 4 * cross - nd * (nd + 1) * (nd + 1)) / 3;
  const double var = mka.var_s * fa + mkb.var_s * fb + 2 * cov * std::sqrt(fa * fb);
  if (!(var > 0)) return std::nullopt;
  JointMk j;
  j.s = mka.s + mkb.s;
  j.z = (j.s > 0 ? j.s - 1 : j.s < 0 ? j.s + 1 : 0) / std::sqrt(var);
  j.p = std::min(1.0, 2.0 * stats::normal_sf(std::fabs(j.z)));
  return j;
}

// The joint test on the block medians and on the block minima (both required, as every trend
// test of a series is: README "Per series", step 4), over equal-time blocks of the samples both
// series took.
struct JointTrend {
  JointMk med, min;
  std::size_t blocks = 0;
};
std::optional<JointTrend> joint_trend(const Series& a, const Series& b, const Options& o) {
  const Clean ca = clean(a), cb = clean(b);
  std::vector<double> t, va, vb;  // the samples both took
  for (std::size_t i = 0, j = 0; i < ca.t.size(); ++i) {
    while (j < cb.t.size() && cb.t[j] < ca.t[i]) ++j;
    if (j < cb.t.size() && cb.t[j] == ca.t[i])
      t.push_back(ca.t[i]), va.push_back(ca.v[i]), vb.push_back(cb.v[j]);
  }
  if (t.size() < 2 * std::max<std::size_t>(1, std::min(ca.t.size(), cb.t.size()) / 4))
    return std::nullopt;
  const std::size_t n = t.size();
  // Equal-time blocks over the common times (make_blocks): both series' blocks hold the same
  // samples' times.
  const Blocks ba = make_blocks(Clean{t, va}, 0, n, 0, o, false);
  const Blocks bb = make_blocks(Clean{t, vb}, 0, n, 0, o, false);
  const std::vector<double> x = seconds_from_first(ba.t);
  const std::size_t nb = x.size();
  if (nb < static_cast<std::size_t>(o.min_blocks)) return std::nullopt;
  const double per_block = static_cast<double>(n) / static_cast<double>(nb);
  const auto med = joint_mann_kendall(x, ba.med, bb.med, ca, cb, per_block, o);
  const auto mn = joint_mann_kendall(x, ba.min, bb.min, ca, cb, per_block, o);
  if (!med || !mn) return std::nullopt;
  return JointTrend{*med, *mn, nb};
}

// Step 5a: held and RSS, one trend test (README "Decision", "Held and RSS, one trend test").
// held's whole window does not rise at alpha on its own (its block medians and minima both),
// while the interval of its slope reaches the leak line (decide_settled would say "cannot be
// excluded yet"), and RSS does not leak on its own either. A heap leak raises both at about the
// same bytes/s, each under noise of its own: the joint Mann-Kendall test (joint_mann_kendall)
// on the block medians and on the block minima, both at alpha as every trend test here is,
// judges that common rise. It applies only where the two tell one growth: both whole windows
// without a period or a knee, both slopes pointing up, each at least held_rate_ratio of the other
// (RSS rising while held does not is growth outside malloc or retention; held rising while RSS
// does not is no growth RSS confirms), held's own block medians significant at tail_keep_p (the
// level at which a second instrument confirms, as where RSS leaks and held grows beside it: a
// flat held passes it 2.5 % of the time, whatever RSS does), the gap RSS - held not rising at
// that level, and the common slope (the two Sen slopes weighed by the inverse squares of their
// intervals' widths) material on held's level. held's evidence row then shows that test, so the
// verdict and its row agree.
bool decide_joint_rise(const Inputs& in, const Options& o, Classification& out,
                       const std::string& settling) {
  const SeriesVerdict& h = *in.held;
  const SeriesVerdict& r = *in.rss;
  const Trend& ht = h.whole;
  const Trend& rt = r.whole;
  if (h.period_ms > 0 || r.period_ms > 0 || h.knee.found || r.knee.found) return false;
  if (!(ht.slope > 0 && rt.slope > 0 && ht.p_median < o.tail_keep_p &&
        rt.slope >= o.held_rate_ratio * ht.slope && ht.slope >= o.held_rate_ratio * rt.slope))
    return false;
  // The common slope: the two Sen slopes weighed by the inverse squares of their intervals'
  // widths (inverse-variance weighting); material as held's own trend would be, on held's level.
  const double wh = ht.slope_hi - ht.slope_lo, wr = rt.slope_hi - rt.slope_lo;
  if (!(wh > 0) || !(wr > 0)) return false;
  const double common =
      (ht.slope / (wh * wh) + rt.slope / (wr * wr)) / (1 / (wh * wh) + 1 / (wr * wr));
  const double common_pct = ht.growth_pct * common / ht.slope;
  if (!(common_pct >= o.min_drift_pct)) return false;
  // held's rate consistent with RSS's: the gap RSS - held does not rise on its own test even at
  // the weaker level at which a second instrument confirms (tail_keep_p).
  if (in.gap && (in.gap->verdict == Verdict::kLeak ||
                 (in.gap->whole.slope > 0 && in.gap->whole.p_median < o.tail_keep_p)))
    return false;
  if (!in.rss_s) return false;
  const auto jt = joint_trend(in.held_s, *in.rss_s, o);
  if (!jt || !(jt->med.s > 0 && jt->med.p < o.alpha && jt->min.s > 0 && jt->min.p < o.alpha))
    return false;
  const std::string held_name = out.held_signal == "held"
                                    ? "held (" + in.books_signal + " + own mmap_bytes)"
                                    : out.held_signal;
  const std::string joint =
      "joint Mann-Kendall with " + out.rss_signal + " on " + std::to_string(jt->blocks) +
      " blocks: block medians p = " + fmt_p(jt->med.p) + ", block minima p = " + fmt_p(jt->min.p);
  const std::string held_alone = fmt_rate(ht.slope) +
                                 " alone (block medians p = " + fmt_p(ht.p_median) +
                                 ", block minima p = " + fmt_p(ht.p_min) + ")";
  const std::string rss_figures = fmt_rate(rt.slope) + ", p = " + fmt_p(rt.p_median);
  const double conf = 0.5 * (1 - jt->med.p);
  // held's evidence row shows the test that decided (in.held points into out.evidence).
  for (auto& e : out.evidence) {
    if (e.signal != out.held_signal) continue;
    e.v.verdict = Verdict::kLeak;
    e.v.rate = common;
    e.v.reason = "grows over the window together with " + out.rss_signal + ": +" +
                 fmt_pct(common_pct) + " of level, " + fmt_rate(common) + " (" + held_alone + "; " +
                 joint + ")";
    e.v.confidence = conf;
    if (o.limit_bytes) e.v.time_to_limit_s = std::max(0.0, (*o.limit_bytes - e.v.level) / common);
  }
  set(out, Verdict::kLeak, conf,
      held_name + " rises over the window, " + held_alone + ", and " + out.rss_signal +
          " beside it at a similar rate (" + rss_figures +
          "): not significant alone, together they are (" + joint + "); the common rate " +
          fmt_rate(common) + ", +" + fmt_pct(common_pct) + " of level" + settling,
      common);
  project(out, in.held);
  return true;
}

// Step 5: nothing grows: retention, bounded or stable.
void decide_settled(const Inputs& in, const Baselines& b, const Options& o, Classification& out) {
  const SeriesVerdict& rss = *in.rss;
  const SeriesVerdict& held = *in.held;
  // RSS still moving without a verdict of its own while the books are settled: the books
  // decide; RSS's state goes into the reason.
  const std::string settling = rss.verdict == Verdict::kUnresolved
                                   ? " (" + out.rss_signal + " still settling: " + rss.reason + ")"
                                   : std::string();
  if (b.rss_rose && b.held_back) {
    set(out, Verdict::kRetention, std::min(rss.confidence + 0.3, 1.0) * held.confidence,
        out.rss_signal + " rose by " + format_mib(b.rss_rise) + " and holds it (" + rss.reason +
            "), while " + out.held_signal + " " + b.held_back_how + " (" + b.held_figures +
            "): the allocator keeps freed memory" + settling);
    return;
  }
  if (b.held_freed) {  // baselines(): the program freed what the allocator keeps
    set(out, Verdict::kRetention, std::min(rss.confidence + 0.3, 1.0) * held.confidence,
        out.rss_signal + " rose by " + format_mib(b.rss_rise) + " and holds it (" + rss.reason +
            "), while " + out.held_signal + " " + b.freed_figures +
            ": the allocator keeps freed memory" + settling);
    return;
  }
  // RSS's own "bounded" speaks for a program whose books are stable only when RSS moved by
  // bytes that matter - the line retention asks of a rise (min_retention_bytes), here of RSS's
  // rise or its interquartile range: a small program whose RSS stepped up 132 KiB after a spike it
  // freed is stable, not a working set that rose and levelled off.
  const double rss_ref = std::max(std::fabs(rss.level), 1.0);
  const double rss_moved =
      std::max(std::fabs(rss.growth_pct), rss.oscillation_pct) / 100.0 * rss_ref;
  const bool rss_small = held.verdict == Verdict::kStable && rss.verdict == Verdict::kBounded &&
                         rss_moved < o.min_retention_bytes;
  if (held.verdict == Verdict::kBounded || (rss.verdict == Verdict::kBounded && !rss_small)) {
    const SeriesVerdict* v = held.verdict == Verdict::kBounded ? &held : &rss;
    // "Levelled off" whose stretch after the knee cannot exclude a material leak (README
    // "Levelled off must exclude a leak"): unresolved, and the row that decided says so too.
    if (v->leak_not_excluded && v->tail) {
      const auto& ne = *v->leak_not_excluded;
      const std::string name = v == &held ? out.held_signal : out.rss_signal;
      const auto at = v->reason.find("rose, then levelled off");
      const std::string why =
          (at == std::string::npos ? std::string() : v->reason.substr(0, at)) +
          "rose, then levelled off in the " + fmt_pct(100 * v->knee.tail_fraction) +
          " of the window after the knee (" + fmt_rate(v->tail->slope) +
          ", p = " + fmt_p(v->tail->p_median) + "), but " +
          (ne.beside_approach ? "the drift beside an approach from the knee reaches "
                              : "its interval reaches ") +
          fmt_rate(ne.rate) + ": a leak of " + fmt_rate(ne.line) + " cannot be excluded yet";
      for (auto& e : out.evidence) {
        if (e.signal != name) continue;
        e.v.verdict = Verdict::kUnresolved;
        e.v.reason = why;
        e.v.confidence = 0.5;
      }
      set(out, Verdict::kUnresolved, 0.5, name + " " + why + settling);
      return;
    }
    // RSS kept a material rise that never passed through malloc (baselines(): held never left
    // its baseline, nor did the allocator's footprint): say where it is not.
    const std::string outside =
        v == &rss && b.never_malloc && b.rss_rose
            ? ", outside malloc: " + out.held_signal + " never rose with it (its peak " +
                  format_mib(b.held_peak_rise) + ", the allocator's footprint " +
                  format_mib(b.fp_rise) + ", against " + format_mib(b.rss_rise) +
                  "): thread stacks or mappings no allocator reports, not freed memory kept"
            : std::string();
    set(out, Verdict::kBounded, v->confidence,
        std::string(v == &held ? out.held_signal : out.rss_signal) + " " + v->reason + outside +
            settling);
    return;
  }
  // "Stable" claims that nothing material moves: the data must exclude a leak adding the leak
  // line (min_drift_pct of the level over the window), not merely fail to show one - an
  // equivalence test (Schuirmann 1987, J. Pharmacokin. Biopharm. 15:657-680: the interval must
  // lie inside the bound). When held's trend points up and the high end of its interval reaches
  // the line, the window is too short or too noisy to tell: unresolved, never stable.
  const Trend& t = held.whole;
  const double ref = std::max({std::fabs(held.level), std::fabs(held.start_level), 1.0});
  const double reach_pct = 100.0 * t.slope_hi * (t.t1_ms - t.t0_ms) / 1000.0 / ref;
  if (t.slope > 0 && reach_pct >= o.min_drift_pct) {
    if (decide_joint_rise(in, o, out, settling)) return;
    set(out, Verdict::kUnresolved, 0.5,
        out.held_signal + " shows no significant trend (" + held.reason +
            "), but its interval reaches " + fmt_rate(t.slope_hi) + ", +" + fmt_pct(reach_pct) +
            " of level over the window: a leak of " + fmt_pct(o.min_drift_pct) +
            " cannot be excluded yet" + settling);
    return;
  }
  set(out, Verdict::kStable, std::min(held.confidence, rss.confidence),
      out.held_signal + " and " + out.rss_signal + ": " + held.reason +
          (rss_small ? "; " + out.rss_signal + " moved only " + fmt_bytes(rss_moved) + " (under " +
                           fmt_bytes(o.min_retention_bytes) + ")"
                     : std::string()) +
          settling);
}

}  // namespace

// Step 1b: held's whole window rises on its block medians, significantly, with Sen's interval
// above 0 and materially, and fails only its second opinion - the block minima, the same samples'
// least efficient statistic - while RSS, another instrument, rises beside it on its own test at
// alpha and at least held_rate_ratio of held's rate (README "Decision": "Two instruments for a
// straight rise"). Only a rise without a knee or a period (a straight line, where the minima
// add robustness to nothing the medians do not have), and only when held says stable or
// unresolved. held's evidence row shows the test that decided.
bool decide_held_with_rss(const Inputs& in, const Options& o, Classification& out) {
  if (!in.held || !in.rss) return false;
  const SeriesVerdict& h = *in.held;
  if (h.whole.rising || h.period_ms > 0 || h.knee.found ||
      (h.verdict != Verdict::kStable && h.verdict != Verdict::kUnresolved))
    return false;
  const Trend& t = h.whole;
  if (!(t.p_median < o.alpha && t.slope_lo > 0 &&
        (t.growth_pct >= o.min_drift_pct || t.slope_lo >= o.min_leak_rate)))
    return false;
  const Trend& rt = in.rss->whole;
  if (!(rt.slope > 0 && rt.slope >= o.held_rate_ratio * t.slope && rt.p_median < o.alpha))
    return false;
  const std::string rss_figures = fmt_rate(rt.slope) + ", p = " + fmt_p(rt.p_median);
  const std::string held_name = out.held_signal == "held"
                                    ? "held (" + in.books_signal + " + own mmap_bytes)"
                                    : out.held_signal;
  for (auto& e : out.evidence) {
    if (e.signal != out.held_signal) continue;
    e.v.verdict = Verdict::kLeak;
    e.v.rate = t.slope;
    e.v.reason = "grows steadily over the window (block medians): +" + fmt_pct(t.growth_pct) +
                 " of level, " + fmt_rate(t.slope) + " [" + fmt_rate(t.slope_lo) + ", " +
                 fmt_rate(t.slope_hi) + "] (p = " + fmt_p(t.p_median) +
                 "; block minima p = " + fmt_p(t.p_min) + ")";
    e.v.confidence = 0.6 * (1 - t.p_median) *
                     std::clamp(static_cast<double>(t.blocks) / kConfidenceBlocks, 0.0, 1.0);
    if (o.limit_bytes) e.v.time_to_limit_s = std::max(0.0, (*o.limit_bytes - e.v.level) / t.slope);
  }
  // in.held points into out.evidence: it now shows the leak.
  set(out, Verdict::kLeak, in.held->confidence,
      held_name + " " + in.held->reason + ", and " + out.rss_signal +
          " rises beside it at a similar rate (" + rss_figures + ")",
      t.slope);
  project(out, in.rss->time_to_limit_s ? in.rss : in.held);
  return true;
}

Classification detail::classify_unchecked(const Signals& sig, const Options& o) {
  Classification out;
  const Inputs in = gather(sig, o, out);
  if (!in.held && !in.rss) {
    set(out, Verdict::kUnresolved, 0, "no memory signal in the timeline");
    return out;
  }
  if (!in.held) {
    // RSS only (stats mode under an allocator without books): a leak cannot be told from
    // growth outside malloc, nor retention from a cache; say what RSS does, with less confidence.
    set(out, in.rss->verdict, 0.5 * in.rss->confidence,
        out.rss_signal + " " + in.rss->reason +
            " (no allocator books or live bytes: RSS alone cannot separate heap from non-heap)",
        in.rss->verdict == Verdict::kLeak ? in.rss->rate : 0);
    project(out, in.rss);
    return out;
  }
  if (decide_held_grows(in, o, out)) return out;
  if (!in.rss) {
    set(out, in.held->verdict, in.held->confidence,
        out.held_signal + " " + in.held->reason + " (no RSS)");
    return out;
  }
  if (decide_held_with_rss(in, o, out)) return out;
  if (decide_outside_anonymous(in, out)) return out;
  const Baselines b = baselines(in, o);
  // Step 4a: what the program holds cannot decide a plateau (README "Decision", "a signal that
  // cannot be told yet"): it is unresolved, or it says bounded only because its whole window
  // shows no trend (no fitted bound, no flat stretch after a knee) while it only ever rose - a
  // staircase, whose growth comes in rare steps that block-based trend tests miss - and RSS
  // still rises or cannot be told either. Then a leak needs RSS's own significant trend, not
  // slowing (its trending rate at least its whole window's: held's flat stretch is a tread
  // while the growth seen through the other instrument goes on undiminished), with held rising
  // beside it at a similar rate (decide_rss_grows); anything else is unresolved, never
  // bounded, retention, growth outside malloc or stable.
  const SeriesVerdict& hv = *in.held;
  const bool rss_moving =
      in.rss->verdict == Verdict::kLeak || in.rss->verdict == Verdict::kUnresolved;
  const bool levelled =
      hv.knee.found && hv.tail && !hv.tail->rising && hv.knee.tail_fraction >= o.min_tail_fraction;
  const Series held_head = before_final_release(in.held_s, o);
  const bool steps =
      hv.verdict == Verdict::kBounded && rss_moving && rises_in_steps(in.held_s, hv, o);
  // A staircase still on its schedule (its current tread no longer than twice the longest
  // before it) has not shown its bound, whatever RSS does: a buffer zero-filled as it doubles
  // makes RSS a staircase too.
  double tread_s = 0, longest_tread_s = 0;
  const bool on_schedule = hv.verdict == Verdict::kBounded && !steps && !hv.asymptote &&
                           staircase_on_schedule(held_head, hv, o, &tread_s, &longest_tread_s);
  // RSS that rises while it stays within what the allocator has mapped (and the program's own
  // mappings), that footprint not growing, is held memory's pages becoming resident for the
  // first time (README "RSS paging in beneath a held plateau"; decide_rss_grows asks the same):
  // no second instrument's growth against held's plateau. It settles held's bound only when
  // held's staircase has left its schedule (its current tread longer than twice the longest
  // before it): a staircase still on its schedule has not shown its bound, whatever RSS does.
  const double own_mapped = in.mmap ? std::max(in.mmap->level, 0.0) : 0.0;
  const bool rss_paging_in =
      (in.footprint || own_mapped > 0) &&
      (!in.footprint || (in.footprint->verdict != Verdict::kLeak &&
                         in.footprint->verdict != Verdict::kUnresolved)) &&
      in.rss->level <=
          o.footprint_slack * ((in.footprint ? in.footprint->level : 0.0) + own_mapped);
  double paged_tread_s = 0, paged_longest_s = 0;
  const bool paging_settles =
      hv.verdict == Verdict::kBounded && !on_schedule && rss_paging_in &&
      !staircase_on_schedule(held_head, hv, o, &paged_tread_s, &paged_longest_s);
  const bool held_open =
      hv.verdict == Verdict::kUnresolved || on_schedule ||
      (!paging_settles && (steps || (hv.verdict == Verdict::kBounded && rss_moving &&
                                     !hv.asymptote && !levelled && only_rises(in.held_s, hv, o))));
  if (held_open) {
    // (A held that says bounded met RSS's leak in decide_rss_grows before this step existed:
    // that leak stands whether RSS slowed or not.)
    const bool rss_unslowed =
        in.rss->verdict == Verdict::kLeak &&
        (hv.verdict == Verdict::kBounded || in.rss->rate >= in.rss->whole.slope);
    if (rss_unslowed && decide_rss_grows(in, b, o, out) && out.verdict == Verdict::kLeak)
      return out;
    // Held unresolved only because the latest stretch of a staircase sits mostly on treads
    // (a buffer realloc'd bigger through an allocator's size classes, a table grown by
    // doublings: the median pairwise slope of two treads is 0) while its whole window rises
    // significantly, its tread now is on the staircase's schedule, and RSS leaks: the same
    // growth through two instruments, still climbing.
    double ongoing_s = 0, longest_s = 0;
    // So is held bounded only because the staircase's latest tread is long (steps: a vector's
    // capacity doubling, each tread twice the last) while RSS grows through it undiminished;
    // its whole window's rise is then significant, but the slope's interval reaches 0 (most
    // pairs of blocks lie on one tread), which the steps themselves answer.
    // RSS's whole-window slope carries held's own steps when the allocator copies a grown block
    // into fresh pages (a realloc that moves: RSS jumps with each step); with held's steps taken
    // out - the gap RSS - held, README "A staircase through RSS" - RSS's trending rate at least
    // what is left (its interval's lower end: the same rate measured twice) is growth going on
    // undiminished.
    const bool rss_unslowed_by_steps =
        in.rss->rate >= in.rss->whole.slope ||
        (in.gap && in.gap->whole.p_median < o.alpha && in.gap->whole.slope > 0 &&
         in.rss->rate >= in.gap->whole.slope_lo);
    const bool stairs_rise = steps && rss_unslowed_by_steps && hv.whole.p_median < o.alpha &&
                             hv.whole.p_min < o.alpha && hv.whole.slope > 0;
    if ((hv.verdict == Verdict::kUnresolved ? hv.whole.rising : stairs_rise) &&
        in.rss->verdict == Verdict::kLeak &&
        staircase_on_schedule(held_head, hv, o, &ongoing_s, &longest_s)) {
      out.time_to_limit_s.reset();
      set(out, Verdict::kLeak, 0.7 * in.rss->confidence,
          out.held_signal + " rises in steps over the window: +" + fmt_pct(hv.whole.growth_pct) +
              " of level, " + fmt_rate(hv.whole.slope) + " [" + fmt_rate(hv.whole.slope_lo) + ", " +
              fmt_rate(hv.whole.slope_hi) +
              "] (p = " + fmt_p(std::max(hv.whole.p_median, hv.whole.p_min)) +
              "); its current tread (" + fmt_num(ongoing_s, 1) + " s" +
              ") is no longer than twice the longest before it (" + fmt_num(longest_s, 1) + " s" +
              "): still climbing, while " + out.rss_signal + " " + in.rss->reason,
          hv.whole.slope);
      project(out, in.rss->time_to_limit_s ? in.rss : in.held);
      return out;
    }
    if (decide_own_mappings_filled(in, o, out)) return out;
    const std::string held_name = out.held_signal == "held"
                                      ? "held (" + in.books_signal + " + own mmap_bytes)"
                                      : out.held_signal;
    out.time_to_limit_s.reset();  // decide_rss_grows may have projected RSS's trend
    set(out, Verdict::kUnresolved, std::min(hv.confidence, 0.5),
        hv.verdict == Verdict::kUnresolved
            ? held_name + ": " + hv.reason
            : held_name + " " + hv.reason + ", but it only ever rose (never falling back " +
                  "from a peak" + (steps || on_schedule ? ", in steps" : "") +
                  (on_schedule ? ", its current tread (" + fmt_num(tread_s, 1) +
                                     " s) no longer than twice the longest before it (" +
                                     fmt_num(longest_tread_s, 1) + " s)"
                               : "") +
                  ") while " + out.rss_signal +
                  (in.rss->verdict == Verdict::kLeak
                       ? " " + in.rss->reason
                       : " cannot be told yet (" + in.rss->reason + ")") +
                  ": leak or plateau cannot be told yet");
    return out;
  }
  if (!decide_rss_grows(in, b, o, out))
    decide_settled(in, b, o, out);
  else if ((out.verdict == Verdict::kBounded || out.verdict == Verdict::kUnresolved) &&
           decide_own_mappings_filled(in, o, out))
    return out;  // only where decide_rss_grows made no claim of its own (lazy paging, not yet)
  if (out.verdict == Verdict::kRetention) {  // its kind and fix (retention_kind.cc)
    // What is kept: RSS's rise, or, when the program still holds part of it (it freed the rest),
    // what stays beyond what it holds.
    out.retention = explain_retention(sig, b.held_back ? b.rss_rise : b.kept);
    out.reason += "; " + std::string(retention_kind_name(out.retention->kind)) + ": " +
                  out.retention->why + "; " + out.retention->fix;
  }
  return out;
}

}  // namespace arenalab::analysis
