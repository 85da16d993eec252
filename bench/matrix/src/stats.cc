// SPDX-License-Identifier: Apache-2.0
// Order-statistic median intervals and paired ratios (method and sources in stats.h).
#include "arenalab/matrix/stats.h"

#include <algorithm>
#include <cassert>
#include <cmath>

#include "arenalab/core/quantile.h"

namespace arenalab::matrix {

double order_statistic_coverage(std::size_t n, std::size_t l) {
  assert(n >= 1 && l >= 1 && 2 * l <= n + 1);
  // sum_{k=0}^{l-1} C(n,k) / 2^n, in logs so large n cannot overflow.
  double tail = 0;
  for (std::size_t k = 0; k < l; ++k) {
    const double log_c = std::lgamma(static_cast<double>(n) + 1) -
                         std::lgamma(static_cast<double>(k) + 1) -
                         std::lgamma(static_cast<double>(n - k) + 1);
    tail += std::exp(log_c - static_cast<double>(n) * std::log(2.0));
  }
  return std::max(0.0, 1.0 - 2.0 * tail);
}

MedianInterval median_interval(std::vector<double> sample, double confidence) {
  assert(!sample.empty() && confidence > 0 && confidence < 1);
  std::sort(sample.begin(), sample.end());
  MedianInterval r;
  r.n = sample.size();
  const std::size_t n = r.n;
  r.median = quantile_sorted(sample, 0.5);
  r.min = sample.front();
  r.max = sample.back();
  // Widest interval first (l = 1); move inwards while the coverage stays at the level. The
  // binomial tail sum_{k<l} C(n,k)/2^n grows by one term per step, so the walk is linear in n
  // (order_statistic_coverage per step would make it quadratic).
  const double log_half_n = static_cast<double>(n) * std::log(2.0);
  auto term = [&](std::size_t k) {  // C(n,k) / 2^n, in logs
    return std::exp(std::lgamma(static_cast<double>(n) + 1) -
                    std::lgamma(static_cast<double>(k) + 1) -
                    std::lgamma(static_cast<double>(n - k) + 1) - log_half_n);
  };
  std::size_t l = 1;
  double tail = term(0);  // sum for k < l
  while (2 * (l + 1) <= n) {
    const double next = tail + term(l);
    if (std::max(0.0, 1.0 - 2.0 * next) < confidence) break;
    tail = next;
    ++l;
  }
  r.lo_rank = l;
  r.lo = sample[l - 1];
  r.hi = sample[n - l];
  r.level = n >= 2 ? std::max(0.0, 1.0 - 2.0 * tail) : 0.0;
  r.reached = r.level >= confidence;
  return r;
}

std::optional<MedianInterval> paired_ratio(const std::vector<std::optional<double>>& values,
                                           const std::vector<std::optional<double>>& baseline,
                                           double confidence) {
  std::vector<double> ratios;
  const std::size_t n = std::min(values.size(), baseline.size());
  for (std::size_t i = 0; i < n; ++i) {
    if (!values[i] || !baseline[i] || *baseline[i] == 0) continue;
    ratios.push_back(*values[i] / *baseline[i]);
  }
  if (ratios.empty()) return std::nullopt;
  return median_interval(std::move(ratios), confidence);
}

}  // namespace arenalab::matrix
