// SPDX-License-Identifier: Apache-2.0
// Matrix statistics against hand-computed values: order-statistic coverage, median intervals,
// repeat-paired ratios and the per-group summaries (only ok cells count).
#include <gtest/gtest.h>

#include "arenalab/matrix/results.h"
#include "arenalab/matrix/stats.h"

namespace arenalab::matrix {
namespace {

TEST(OrderStatisticCoverage, MatchesBinomialByHand) {
  // 1 - 2 * sum_{k<l} C(n,k) / 2^n
  EXPECT_DOUBLE_EQ(order_statistic_coverage(3, 1), 1 - 2.0 / 8);                // 0.75
  EXPECT_DOUBLE_EQ(order_statistic_coverage(5, 1), 1 - 2.0 / 32);               // 0.9375
  EXPECT_DOUBLE_EQ(order_statistic_coverage(6, 1), 1 - 2.0 / 64);               // 0.96875
  EXPECT_NEAR(order_statistic_coverage(9, 2), 1 - 2.0 * (1 + 9) / 512, 1e-12);  // 0.9609
  EXPECT_NEAR(order_statistic_coverage(10, 3), 1 - 2.0 * (1 + 10 + 45) / 1024, 1e-12);
}

TEST(MedianInterval, ThreeRepeatsGiveMinMaxAtSeventyFivePercent) {
  const auto m = median_interval({5, 1, 3});
  EXPECT_EQ(m.n, 3u);
  EXPECT_DOUBLE_EQ(m.median, 3);
  EXPECT_DOUBLE_EQ(m.lo, 1);
  EXPECT_DOUBLE_EQ(m.hi, 5);
  EXPECT_DOUBLE_EQ(m.level, 0.75);
  EXPECT_FALSE(m.reached);  // no distribution-free 95 % interval exists for n = 3
}

TEST(MedianInterval, NineSamplesUseRanksTwoAndEight) {
  // Le Boudec, Table A.1: n = 9 at 95 % -> [x_(2), x_(8)].
  const auto m = median_interval({9, 4, 7, 1, 5, 3, 8, 2, 6});
  EXPECT_DOUBLE_EQ(m.median, 5);
  EXPECT_EQ(m.lo_rank, 2u);
  EXPECT_DOUBLE_EQ(m.lo, 2);
  EXPECT_DOUBLE_EQ(m.hi, 8);
  EXPECT_NEAR(m.level, 0.9609375, 1e-12);
  EXPECT_TRUE(m.reached);
}

TEST(MedianInterval, EvenCountAveragesTheMiddle) {
  const auto m = median_interval({6, 1, 2, 5, 3, 4});
  EXPECT_DOUBLE_EQ(m.median, 3.5);
  EXPECT_DOUBLE_EQ(m.lo, 1);
  EXPECT_DOUBLE_EQ(m.hi, 6);
  EXPECT_DOUBLE_EQ(m.level, 0.96875);
  EXPECT_TRUE(m.reached);
}

TEST(MedianInterval, SingleSampleHasNoCoverage) {
  const auto m = median_interval({42});
  EXPECT_DOUBLE_EQ(m.median, 42);
  EXPECT_DOUBLE_EQ(m.level, 0);
}

TEST(PairedRatio, DividesRepeatByRepeat) {
  // ratios 2/1, 4/2, 6/2 = {2, 2, 3}: median 2, interval [2, 3] at 75 %.
  const auto r = paired_ratio({2.0, 4.0, 6.0}, {1.0, 2.0, 2.0});
  ASSERT_TRUE(r);
  EXPECT_DOUBLE_EQ(r->median, 2);
  EXPECT_DOUBLE_EQ(r->lo, 2);
  EXPECT_DOUBLE_EQ(r->hi, 3);
  EXPECT_DOUBLE_EQ(r->level, 0.75);
}

TEST(PairedRatio, SkipsMissingAndZeroBaselines) {
  const auto r = paired_ratio({2.0, std::nullopt, 6.0}, {1.0, 2.0, 0.0});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->n, 1u);
  EXPECT_DOUBLE_EQ(r->median, 2);
  EXPECT_FALSE(paired_ratio({std::nullopt}, {1.0}));
}

Cell cell(const std::string& cfg, int repeat, double wall, CellStatus status = CellStatus::kOk) {
  Cell c;
  c.workload = "w";
  c.configuration = cfg;
  c.repeat = repeat;
  c.status = status;
  c.wall_ms = wall;
  c.peak_rss_bytes = 1000 * (repeat + 1);
  return c;
}

TEST(Summarize, MediansRatiosAndExclusions) {
  Plan plan;
  plan.configurations = {"glibc", "fast"};
  std::vector<Cell> cells = {cell("glibc", 0, 100), cell("fast", 0, 50),
                             cell("glibc", 1, 120), cell("fast", 1, 66),
                             cell("glibc", 2, 110), cell("fast", 2, 1, CellStatus::kUnverified)};
  const auto sums = summarize(cells, plan);
  const Summary* fast_wall = nullptr;
  const Summary* glibc_wall = nullptr;
  for (const auto& s : sums) {
    if (s.metric == "wall_ms" && s.configuration == "fast") fast_wall = &s;
    if (s.metric == "wall_ms" && s.configuration == "glibc") glibc_wall = &s;
    EXPECT_NE(s.metric, "throughput");  // never measured: absent, not 0
  }
  ASSERT_TRUE(fast_wall && glibc_wall);
  EXPECT_DOUBLE_EQ(glibc_wall->value.median, 110);
  // The unverified repeat is excluded: fast has {50, 66}, median 58.
  EXPECT_EQ(fast_wall->value.n, 2u);
  EXPECT_DOUBLE_EQ(fast_wall->value.median, 58);
  EXPECT_EQ(fast_wall->excluded, 1u);
  // Paired ratios 50/100 = 0.5 and 66/120 = 0.55: median 0.525.
  ASSERT_TRUE(fast_wall->ratio);
  EXPECT_DOUBLE_EQ(fast_wall->ratio->median, 0.525);
  EXPECT_DOUBLE_EQ(fast_wall->ratio->lo, 0.5);
  EXPECT_DOUBLE_EQ(fast_wall->ratio->hi, 0.55);
  ASSERT_TRUE(glibc_wall->ratio);
  EXPECT_DOUBLE_EQ(glibc_wall->ratio->median, 1);
}

}  // namespace
}  // namespace arenalab::matrix
