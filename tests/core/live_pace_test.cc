// SPDX-License-Identifier: Apache-2.0
// LivePace (core/include/arenalab/core/live_pace.h): watch's live lines come every_ms apart while a
// line is cheap, and no sooner than its CPU / kShare after it began when it is not, so that their
// CPU stays at most kShare of a core whatever a classification costs (issue 25).
#include "arenalab/core/live_pace.h"

#include <gtest/gtest.h>
#include <time.h>

namespace {

using arenalab::LivePace;

double thread_cpu_ms() {
  timespec ts{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

// Spends ms of this thread's CPU (a classification that costs that much).
void burn(double ms) {
  const double t0 = thread_cpu_ms();
  volatile double x = 0;
  while (thread_cpu_ms() - t0 < ms) x = x + 1;
}

TEST(LivePace, CheapLinesComeAsAsked) {
  LivePace pace(3000);
  EXPECT_FALSE(pace.due(2999));
  for (double at = 3000; at <= 30000; at += 3000) {
    ASSERT_TRUE(pace.due(at)) << at;
    {
      LivePace::Line line(pace, at);
      burn(1);  // 1 ms every 3 s: 0.03 % of a core, under its share
    }
    EXPECT_FALSE(pace.due(at + 2999)) << at;
  }
}

TEST(LivePace, ACostlyLineDefersTheNextByItsCpu) {
  LivePace pace(3000);
  const double c0 = thread_cpu_ms();
  {
    LivePace::Line line(pace, 3000);
    burn(60);  // a line of 60 ms: 2 % of a core at one every 3 s
  }
  const double spent = thread_cpu_ms() - c0;  // at least what pace measured
  EXPECT_FALSE(pace.due(6000));
  EXPECT_FALSE(pace.due(3000 + 60 / LivePace::kShare - 1));
  EXPECT_TRUE(pace.due(3000 + spent / LivePace::kShare));
}

// A line that returns early (nothing to classify yet) is timed and counted all the same.
TEST(LivePace, ALineEndsOnEveryReturn) {
  LivePace pace(3000);
  const double c0 = thread_cpu_ms();
  auto line = [&](double at, bool early) {
    LivePace::Line timed(pace, at);
    burn(60);
    if (early) return;
    burn(1);
  };
  line(3000, true);
  const double spent = thread_cpu_ms() - c0;
  EXPECT_FALSE(pace.due(6000));  // the early return still deferred the next line
  EXPECT_TRUE(pace.due(3000 + spent / LivePace::kShare));
}

}  // namespace
