// SPDX-License-Identifier: Apache-2.0
// Theil-Sen, Mann-Kendall and the Hamed-Rao correction on known inputs.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "arenalab/analysis/analysis.h"

namespace arenalab::analysis::stats {
namespace {

std::vector<double> iota(std::size_t n) {
  std::vector<double> x(n);
  for (std::size_t i = 0; i < n; ++i) x[i] = static_cast<double>(i);
  return x;
}

TEST(Stats, Median) {
  EXPECT_DOUBLE_EQ(median({3, 1, 2}), 2);
  EXPECT_DOUBLE_EQ(median({4, 1, 3, 2}), 2.5);
}

TEST(Stats, TheilSenExactLineAndOutlier) {
  const auto x = iota(20);
  std::vector<double> y(20);
  for (std::size_t i = 0; i < 20; ++i) y[i] = 5 + 2 * x[i];
  y[7] = 1000;  // one outlier does not move the median slope
  const auto mk = mann_kendall(x, y);
  const auto ts = theil_sen(x, y, 0.05, mk.var_s);
  EXPECT_DOUBLE_EQ(ts.slope, 2.0);
  EXPECT_LE(ts.lo, 2.0);
  EXPECT_GE(ts.hi, 2.0);
  EXPECT_NEAR(ts.intercept, 5.0, 1e-9);
}

TEST(Stats, MannKendallMonotoneAndTies) {
  const auto x = iota(10);
  const auto up = mann_kendall(x, x);
  EXPECT_DOUBLE_EQ(up.s, 45);  // n(n-1)/2
  EXPECT_DOUBLE_EQ(up.var_s, 10.0 * 9 * 25 / 18);
  EXPECT_LT(up.p, 0.001);
  const auto flat = mann_kendall(x, std::vector<double>(10, 3.0));
  EXPECT_DOUBLE_EQ(flat.s, 0);
  EXPECT_DOUBLE_EQ(flat.p, 1);
}

TEST(Stats, HamedRaoInflatesVarianceOnAutocorrelatedNoise) {
  std::mt19937_64 rng(7);
  std::normal_distribution<double> nd;
  const std::size_t n = 60;
  std::vector<double> y(n);
  double e = 0;
  for (auto& v : y) v = e = 0.95 * e + nd(rng);
  const auto mk = mann_kendall(iota(n), y);
  EXPECT_GT(mk.correction, 1.5);
  EXPECT_GE(mk.var_s_corrected, mk.var_s);
}

TEST(Stats, WhiteNoiseFalsePositiveRateNearAlpha) {
  std::mt19937_64 rng(11);
  std::normal_distribution<double> nd;
  int hits = 0;
  const int trials = 400;
  for (int t = 0; t < trials; ++t) {
    std::vector<double> y(40);
    for (auto& v : y) v = nd(rng);
    if (mann_kendall(iota(40), y).p < 0.05) ++hits;
  }
  EXPECT_LT(hits, trials * 0.09);  // nominal 5 %, the correction may only lower it
}

}  // namespace
}  // namespace arenalab::analysis::stats
