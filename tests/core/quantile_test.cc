// core/quantile.h: the project's sample quantiles.
#include "arenalab/core/quantile.h"

#include <gtest/gtest.h>

#include <vector>

namespace {

TEST(Quantile, InterpolatesBetweenOrderStatistics) {
  // Hyndman & Fan definition 7 (R's and NumPy's default): position q (n - 1).
  EXPECT_DOUBLE_EQ(arenalab::quantile({4, 1, 3, 2}, 0.5), 2.5);
  EXPECT_DOUBLE_EQ(arenalab::quantile({1, 2, 3, 4, 5}, 0.25), 2.0);
  EXPECT_DOUBLE_EQ(arenalab::quantile({1, 2, 3, 4}, 0.9), 3.7);
  EXPECT_DOUBLE_EQ(arenalab::median_of({5, 1, 4, 2}), 3.0);
  EXPECT_DOUBLE_EQ(arenalab::median_of({5, 1, 4}), 4.0);
}

TEST(Quantile, ObservedQuantileIsOneOfTheSamples) {
  const std::vector<double> s{10, 20, 30, 40};
  EXPECT_DOUBLE_EQ(arenalab::observed_quantile_sorted(s, 0.0), 10);
  EXPECT_DOUBLE_EQ(arenalab::observed_quantile_sorted(s, 0.5), 30);  // index floor(0.5 * 4)
  EXPECT_DOUBLE_EQ(arenalab::observed_quantile_sorted(s, 0.9), 40);  // floor(3.6)
  EXPECT_DOUBLE_EQ(arenalab::observed_quantile_sorted(s, 1.0), 40);  // capped at the largest
  EXPECT_DOUBLE_EQ(arenalab::observed_quantile_sorted({7}, 0.3), 7);
}

}  // namespace
