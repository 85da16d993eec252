// StatsPacer (backend.h): the books' share of a sampler's time.
#include <gtest/gtest.h>

#include "arenalab/allocators/backend.h"

namespace {

constexpr std::uint64_t kMs = 1'000'000;
constexpr std::uint64_t kUs = 1'000;

TEST(StatsPacer, CountersAreReadOnEveryTick) {
  arenalab::StatsPacer p;
  for (std::uint64_t tick = 0; tick < 50; ++tick) {
    ASSERT_TRUE(p.due(tick * 100 * kMs)) << "tick " << tick;
    p.took(tick * 100 * kMs, 20 * kUs);  // a counter read: 20 us, 2 % of the 0.1 % budget's gap
  }
}

TEST(StatsPacer, OneSlowReadDoesNotCostTheNextTicksTheirBooks) {
  arenalab::StatsPacer p;
  p.took(0, 5 * kMs);  // the first read pays the set-up
  EXPECT_TRUE(p.due(100 * kMs));
  p.took(100 * kMs, 20 * kUs);
  p.took(200 * kMs, 3 * kMs);  // a one-off: page faults, a preemption's cache misses
  EXPECT_TRUE(p.due(300 * kMs));
}

TEST(StatsPacer, AWalkExpensiveEveryTimeGetsOnlyItsShare) {
  arenalab::StatsPacer p;
  std::uint64_t now = 0;
  int reads = 0;
  // 60 s of 100 ms ticks; each read walks 100 000 free chunks in 15 ms.
  for (std::uint64_t tick = 0; tick < 600; ++tick, now += 100 * kMs) {
    if (!p.due(now)) continue;
    ++reads;
    p.took(now, 15 * kMs);
  }
  // 15 ms / 0.1 % = one read per 15 s after the excused first: reads at 0, 0.1, 15.1, 30.1, 45.1 s.
  EXPECT_EQ(reads, 5);
  EXPECT_TRUE(p.due(now, /*always=*/true)) << "the final sample always reads its books";
}

}  // namespace
