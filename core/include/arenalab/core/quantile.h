// SPDX-License-Identifier: Apache-2.0
// The sample quantiles of the project: linear interpolation between order statistics
// (Hyndman & Fan 1996, definition 7, the default of R and NumPy). The median is q = 0.5: the
// middle value, or the mean of the two middle values for an even count. Where a figure must be
// one of the observations, observed_quantile_sorted below.
#pragma once

#include <algorithm>
#include <cassert>
#include <cstddef>
#include <vector>

namespace arenalab {

// The same on a sample already sorted ascending. pre: !sorted.empty(); 0 <= q <= 1.
inline double quantile_sorted(const std::vector<double>& sorted, double q) {
  assert(!sorted.empty() && q >= 0 && q <= 1);
  const double pos = q * static_cast<double>(sorted.size() - 1);
  const auto i = static_cast<std::size_t>(pos);
  if (i + 1 >= sorted.size()) return sorted.back();
  return sorted[i] + (pos - static_cast<double>(i)) * (sorted[i + 1] - sorted[i]);
}

// pre: !sample.empty(); 0 <= q <= 1.
inline double quantile(std::vector<double> sample, double q) {
  std::sort(sample.begin(), sample.end());
  return quantile_sorted(sample, q);
}

// A sample quantile that is one of the observations: the order statistic at index floor(q n),
// capped at the largest.
// For a figure that must be a level the series actually held (the classifier's baselines: what
// the program kept, a value it had), where interpolating between two samples would report a
// level it never had. pre: !sorted.empty(); 0 <= q <= 1; sorted ascending.
inline double observed_quantile_sorted(const std::vector<double>& sorted, double q) {
  assert(!sorted.empty() && q >= 0 && q <= 1);
  const auto i = static_cast<std::size_t>(q * static_cast<double>(sorted.size()));
  return sorted[std::min(sorted.size() - 1, i)];
}

// The median, quantile(sample, 0.5), in linear time (nth_element: the classifier takes medians
// of every block). pre: !sample.empty().
inline double median_of(std::vector<double> sample) {
  assert(!sample.empty());
  const std::size_t mid = sample.size() / 2;
  const auto at = sample.begin() + static_cast<std::ptrdiff_t>(mid);
  std::nth_element(sample.begin(), at, sample.end());
  if (sample.size() % 2 == 1) return *at;
  return 0.5 * (*std::max_element(sample.begin(), at) + *at);
}

}  // namespace arenalab
