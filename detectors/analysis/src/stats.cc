// SPDX-License-Identifier: Apache-2.0
// Robust trend statistics: median, Theil-Sen slope with Sen's interval, Mann-Kendall with the
// Hamed & Rao (1998) variance correction for autocorrelated series.
#include <algorithm>
#include <cmath>

#include "arenalab/analysis/analysis.h"
#include "arenalab/core/quantile.h"

namespace arenalab::analysis::stats {

double median(std::vector<double> v) { return v.empty() ? 0 : median_of(std::move(v)); }

double normal_sf(double z) { return 0.5 * std::erfc(z / std::sqrt(2.0)); }

namespace {

// z with P(Z > z) = p, by bisection on normal_sf (monotone; 60 halvings reach double precision).
double normal_isf(double p) {
  double lo = -40, hi = 40;
  for (int i = 0; i < 100; ++i) {
    const double mid = 0.5 * (lo + hi);
    if (normal_sf(mid) > p)
      lo = mid;
    else
      hi = mid;
  }
  return 0.5 * (lo + hi);
}

int sign(double d) { return (d > 0) - (d < 0); }

// Var(S) under H0 with the tie correction (Kendall 1975).
double mk_variance(const std::vector<double>& y) {
  const double n = static_cast<double>(y.size());
  double var = n * (n - 1) * (2 * n + 5);
  std::vector<double> sorted = y;
  std::sort(sorted.begin(), sorted.end());
  for (std::size_t i = 0; i < sorted.size();) {
    std::size_t j = i;
    while (j < sorted.size() && sorted[j] == sorted[i]) ++j;
    const double t = static_cast<double>(j - i);
    if (t > 1) var -= t * (t - 1) * (2 * t + 5);
    i = j;
  }
  return var / 18.0;
}

std::vector<double> ranks(const std::vector<double>& v) {
  std::vector<std::size_t> idx(v.size());
  for (std::size_t i = 0; i < idx.size(); ++i) idx[i] = i;
  std::sort(idx.begin(), idx.end(), [&](std::size_t a, std::size_t b) { return v[a] < v[b]; });
  std::vector<double> r(v.size());
  for (std::size_t i = 0; i < idx.size();) {
    std::size_t j = i;
    while (j < idx.size() && v[idx[j]] == v[idx[i]]) ++j;
    const double avg = 0.5 * static_cast<double>(i + j - 1) + 1.0;  // mid-rank for ties
    for (std::size_t k = i; k < j; ++k) r[idx[k]] = avg;
    i = j;
  }
  return r;
}

}  // namespace

TheilSen theil_sen(const std::vector<double>& x, const std::vector<double>& y, double alpha,
                   double var_s) {
  TheilSen out;
  const std::size_t n = std::min(x.size(), y.size());
  if (n < 2) return out;
  std::vector<double> slopes;
  slopes.reserve(n * (n - 1) / 2);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = i + 1; j < n; ++j)
      if (x[j] != x[i]) slopes.push_back((y[j] - y[i]) / (x[j] - x[i]));
  if (slopes.empty()) return out;
  std::sort(slopes.begin(), slopes.end());
  const std::size_t m = slopes.size();
  out.slope = (m % 2 == 1) ? slopes[m / 2] : 0.5 * (slopes[m / 2 - 1] + slopes[m / 2]);
  std::vector<double> resid(n);
  for (std::size_t i = 0; i < n; ++i) resid[i] = y[i] - out.slope * x[i];
  out.intercept = median(resid);
  // Sen (1968) / Gilbert (1987, §16.5): C = z_{1-alpha/2} sqrt(Var S); the interval runs from
  // the M1-th to the (M2+1)-th ordered slope, M1 = (N - C)/2, M2 = (N + C)/2 (1-based).
  const double c = normal_isf(alpha / 2) * std::sqrt(std::max(var_s, 0.0));
  const double nm = static_cast<double>(m);
  const double m1 = std::floor((nm - c) / 2.0);
  const double m2 = std::ceil((nm + c) / 2.0);
  const auto at = [&](double k1) {  // 1-based, clamped
    const double k = std::clamp(k1, 1.0, nm);
    return slopes[static_cast<std::size_t>(k) - 1];
  };
  out.lo = at(m1);
  out.hi = at(m2 + 1);
  return out;
}

MannKendall mann_kendall(const std::vector<double>& x, const std::vector<double>& y) {
  MannKendall mk;
  const std::size_t n = std::min(x.size(), y.size());
  if (n < 3) return mk;
  double s = 0;
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = i + 1; j < n; ++j) s += sign(y[j] - y[i]);
  mk.s = s;
  mk.var_s = mk_variance(y);
  // Hamed & Rao (1998): remove the Sen slope, rank the residuals, and inflate Var(S) by
  // n/n* = 1 + 2/(n(n-1)(n-2)) sum_k (n-k)(n-k-1)(n-k-2) r_k over the lags whose rank
  // autocorrelation r_k is significant at 5 % (|r_k| > 1.96/sqrt(n)). Two conservative
  // departures: the sum stops at the first lag that is not significant (an initial-sequence
  // truncation, Geyer 1992: a short drifting series shows spurious negative mid-range lags that
  // would cancel the real short-lag ones), and the factor is never below 1.
  const TheilSen ts = theil_sen(x, y, 0.05, mk.var_s);
  std::vector<double> detr(n);
  for (std::size_t i = 0; i < n; ++i) detr[i] = y[i] - ts.slope * x[i];
  const std::vector<double> r = ranks(detr);
  double mean = 0;
  for (double v : r) mean += v;
  mean /= static_cast<double>(n);
  double denom = 0;
  for (double v : r) denom += (v - mean) * (v - mean);
  const double nd = static_cast<double>(n);
  const double bound = 1.96 / std::sqrt(nd);
  double sum = 0;
  if (denom > 0) {
    for (std::size_t k = 1; k + 2 < n; ++k) {
      double num = 0;
      for (std::size_t i = 0; i + k < n; ++i) num += (r[i] - mean) * (r[i + k] - mean);
      const double rk = num / denom;
      if (std::fabs(rk) <= bound) break;
      const double kd = static_cast<double>(k);
      sum += (nd - kd) * (nd - kd - 1) * (nd - kd - 2) * rk;
    }
  }
  mk.correction = std::max(1.0, 1.0 + 2.0 / (nd * (nd - 1) * (nd - 2)) * sum);
  mk.var_s_corrected = mk.var_s * mk.correction;
  if (mk.var_s_corrected <= 0) return mk;
  // Continuity correction: |S| - 1.
  mk.z = (s > 0 ? s - 1 : s < 0 ? s + 1 : 0) / std::sqrt(mk.var_s_corrected);
  mk.p = std::min(1.0, 2.0 * normal_sf(std::fabs(mk.z)));
  return mk;
}

}  // namespace arenalab::analysis::stats
