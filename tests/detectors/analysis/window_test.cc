// SPDX-License-Identifier: Apache-2.0
// The classifier's entry and exit checks (issue 21): a window too short or too large to give
// finite rates is unresolved with its reason, never a verdict with inf or nan figures.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>

#include "arenalab/analysis/analysis.h"

namespace arenalab::analysis {
namespace {

Series ramp(double dt_ms, double start, double step, int n = 200) {
  Series s;
  for (int i = 0; i < n; ++i) {
    s.t_ms.push_back(i * dt_ms);
    s.value.push_back(start + i * step);
  }
  return s;
}

TEST(Window, StepsOfTenToTheMinus300MsAreUnresolvedWithAReason) {
  Signals sig;
  sig.rss = ramp(1e-300, 1e8, 1e5);
  sig.live_bytes = ramp(1e-300, 5e7, 1e5);
  const auto t0 = std::chrono::steady_clock::now();
  const Classification c = classify(sig);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(30));  // it once hung
  EXPECT_EQ(c.verdict, Verdict::kUnresolved);
  EXPECT_EQ(c.confidence, 0);
  EXPECT_NE(c.reason.find("rss: sample times 0 and 1e-300 ms are less than 1 ns apart"),
            std::string::npos)
      << c.reason;
  const SeriesVerdict v = classify_series(sig.live_bytes);
  EXPECT_EQ(v.verdict, Verdict::kUnresolved);
  EXPECT_NE(v.reason.find("less than 1 ns apart"), std::string::npos) << v.reason;
  EXPECT_TRUE(std::isfinite(v.whole.slope) && std::isfinite(v.growth_pct));
}

TEST(Window, ValuesBeyondTwoToThe64AreUnresolved) {
  Signals sig;
  sig.rss = ramp(100, 1e300, 1e298);
  const Classification c = classify(sig);
  EXPECT_EQ(c.verdict, Verdict::kUnresolved);
  EXPECT_NE(c.reason.find("rss: a value of 1e+300"), std::string::npos) << c.reason;
}

// The same ramp at a sane interval still gets its verdict: the check refuses only the absurd.
TEST(Window, ANormalWindowIsClassifiedAsBefore) {
  Signals sig;
  sig.rss = ramp(100, 1e8, 1e5);
  sig.live_bytes = ramp(100, 5e7, 1e5);
  const Classification c = classify(sig);
  EXPECT_EQ(c.verdict, Verdict::kLeak) << c.reason;
  EXPECT_TRUE(std::isfinite(c.rate) && c.rate > 0);
}

}  // namespace
}  // namespace arenalab::analysis
