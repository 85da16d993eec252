// SPDX-License-Identifier: Apache-2.0
// The one sample quantile of the project: linear interpolation between order statistics
// (Hyndman & Fan 1996, definition 7, the default of R and NumPy). The median is q = 0.5: the
// middle value, or the mean of the two middle values for an even count.
#pragma once

#include <algorithm>
#include <cassert>
#include <cstddef>
#include <vector>

namespace arenalab {

// pre: !sample.empty(); 0 <= q <= 1.
inline double quantile(std::vector<double> sample, double q) {
  assert(!sample.empty() && q >= 0 && q <= 1);
  std::sort(sample.begin(), sample.end());
  const double pos = q * static_cast<double>(sample.size() - 1);
  const auto i = static_cast<std::size_t>(pos);
  if (i + 1 >= sample.size()) return sample.back();
  return sample[i] + (pos - static_cast<double>(i)) * (sample[i + 1] - sample[i]);
}

// pre: !sample.empty().
inline double median_of(std::vector<double> sample) { return quantile(std::move(sample), 0.5); }

}  // namespace arenalab
