// SPDX-License-Identifier: Apache-2.0
// Statistics for matrix cells: the median with a distribution-free confidence interval from
// order statistics, and the ratio to a baseline from repeat-paired ratios. Pure functions.
#pragma once

#include <cstddef>
#include <optional>
#include <vector>

#include "arenalab/formats/matrix.h"

namespace arenalab::matrix {

// The median of a sample with a confidence interval [x_(l), x_(n+1-l)] from order statistics.
//
// Method (Conover, "Practical Nonparametric Statistics", 3rd ed., 1999, §3.2; Le Boudec,
// "Performance Evaluation of Computer and Communication Systems", 2010, Thm. 2.1 and Table A.1):
// for n independent samples of a continuous law, the number of samples below the true median
// is Binomial(n, 1/2), so [x_(l), x_(n+1-l)] covers it with probability
//     1 - 2 * sum_{k=0}^{l-1} C(n,k) / 2^n.
// We take the largest l whose coverage reaches the requested level. For n < 6 no l reaches
// 95 %: the interval is then [min, max] and `level` says what it really covers
// (n=2: 50 %, n=3: 75 %, n=4: 87.5 %, n=5: 93.75 %). Nothing is assumed about the law's shape.
// MedianInterval (formats/matrix.h): n, median, min, max, the interval and its coverage.

// pre: !sample.empty(); 0 < confidence < 1.
MedianInterval median_interval(std::vector<double> sample, double confidence = 0.95);

// Coverage of [x_(l), x_(n+1-l)] for the median of n samples (see above). l in 1..n/2.
double order_statistic_coverage(std::size_t n, std::size_t l);

// Ratio of a configuration to the baseline with its interval, from paired ratios: repeat i of
// the configuration and repeat i of the baseline ran back to back (configurations interleave
// within a repeat), so r_i = value_i / baseline_i cancels drift that hit both; the result is
// median_interval(r). Pairs whose baseline is 0 or whose value is missing are left out.
// Returns nothing when no pair remains.
std::optional<MedianInterval> paired_ratio(const std::vector<std::optional<double>>& values,
                                           const std::vector<std::optional<double>>& baseline,
                                           double confidence = 0.95);

}  // namespace arenalab::matrix
