// SPDX-License-Identifier: Apache-2.0
// classify_series and classify on small hand-made series: each verdict with its evidence, and
// issue 19's classes (small leak on a big level, few long cycles, the program's own mmap pool,
// exponential approach, a rise of tens of KiB) - none contradicting its evidence table.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "arenalab/analysis/analysis.h"
#include "consistency.h"

namespace arenalab::analysis {
namespace {

constexpr double kMiB = 1 << 20;

// n samples, 100 ms apart, value f(u) with u in [0, 1] plus white noise of `noise` bytes.
template <typename F>
Series make(int n, F f, double noise = 0.2 * kMiB, unsigned seed = 1) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> nd(0, noise);
  Series s;
  for (int i = 0; i < n; ++i) {
    const double u = static_cast<double>(i) / (n - 1);
    s.t_ms.push_back(i * 100.0);
    s.value.push_back(f(u) + nd(rng));
  }
  return s;
}

TEST(ClassifySeries, SteadyLeak) {
  Options o;
  o.limit_bytes = 200 * kMiB;
  const auto v = classify_series(make(300, [](double u) { return 100 * kMiB + 20 * kMiB * u; }), o);
  EXPECT_EQ(v.verdict, Verdict::kLeak) << v.reason;
  // 20 MiB over 29.9 s.
  EXPECT_NEAR(v.whole.slope, 20 * kMiB / 29.9, 0.1 * 20 * kMiB / 29.9);
  EXPECT_LT(v.whole.slope_lo, v.whole.slope);
  EXPECT_GT(v.whole.slope_hi, v.whole.slope);
  EXPECT_LT(v.whole.p_median, 0.001);
  EXPECT_NEAR(v.growth_pct, 100.0 * 20 / 120, 3);
  ASSERT_TRUE(v.time_to_limit_s.has_value());
  EXPECT_NEAR(*v.time_to_limit_s, 80 * kMiB / (20 * kMiB / 29.9), 10);
  EXPECT_GT(v.confidence, 0.8);
}

TEST(ClassifySeries, PlateauIsBounded) {
  const auto v = classify_series(
      make(300, [](double u) { return 100 * kMiB + 50 * kMiB * std::min(1.0, u / 0.4); }));
  EXPECT_EQ(v.verdict, Verdict::kBounded) << v.reason;
  EXPECT_TRUE(v.knee.found);
  EXPECT_NEAR(v.knee.tail_fraction, 0.6, 0.08);
  ASSERT_TRUE(v.tail.has_value());
  EXPECT_FALSE(v.tail->rising);
}

// A program that fills its fixed working set in its first moments (the README walkthrough's
// fixed program: 16 records, most of them in the first 0.4 s of 6 s) is stable after start-up;
// the same rise spread over 30 % of the window is a cache warming up: bounded.
TEST(ClassifySeries, RiseDuringStartUpThenFlatIsStable) {
  const auto v = classify_series(make(
      300, [](double u) { return 5 * kMiB * std::min(1.0, 0.01 + u / 0.03); }, 0.01 * kMiB));
  EXPECT_EQ(v.verdict, Verdict::kStable) << v.reason;
  EXPECT_NE(v.reason.find("start-up"), std::string::npos) << v.reason;
  const auto w = classify_series(make(
      300, [](double u) { return 5 * kMiB * std::min(1.0, 0.01 + u / 0.3); }, 0.01 * kMiB));
  EXPECT_EQ(w.verdict, Verdict::kBounded) << w.reason;
}

TEST(ClassifySeries, LateKneeIsUnresolved) {
  const auto v = classify_series(
      make(300, [](double u) { return 100 * kMiB + 50 * kMiB * std::min(1.0, u / 0.85); }));
  EXPECT_EQ(v.verdict, Verdict::kUnresolved) << v.reason;
}

// A knee with 30 % or more of the window after it but too few samples there to test (a short
// window: 60 samples, the last 20 flat) is unresolved for that reason; the reason must not read
// "only 33.3 % of the window after it (need 30.0 %)", which contradicts its own numbers.
TEST(ClassifySeries, KneeWithTooFewSamplesAfterItSaysSo) {
  const auto v = classify_series(
      make(60, [](double u) { return 100 * kMiB + 50 * kMiB * std::min(1.0, u / 0.66); }));
  ASSERT_TRUE(v.knee.found) << v.reason;
  ASSERT_GE(v.knee.tail_fraction, Options{}.min_tail_fraction) << v.reason;
  EXPECT_FALSE(v.tail.has_value()) << v.reason;
  EXPECT_EQ(v.verdict, Verdict::kUnresolved) << v.reason;
  EXPECT_EQ(v.reason.find("with only"), std::string::npos) << v.reason;
  EXPECT_NE(v.reason.find("too few for the trend test"), std::string::npos) << v.reason;
}

TEST(ClassifySeries, LateOnsetLeak) {
  const auto v = classify_series(
      make(400, [](double u) { return 100 * kMiB + 30 * kMiB * std::max(0.0, u - 0.5); }));
  EXPECT_EQ(v.verdict, Verdict::kLeak) << v.reason;
}

TEST(ClassifySeries, SawtoothIsBoundedAndLeakUnderneathIsLeak) {
  auto saw = [](double u) { return 40 * kMiB * (u * 10 - std::floor(u * 10)); };
  const auto b = classify_series(make(500, [&](double u) { return 100 * kMiB + saw(u); }));
  EXPECT_EQ(b.verdict, Verdict::kBounded) << b.reason;
  EXPECT_NEAR(b.period_ms, 4990, 600);
  const auto l =
      classify_series(make(500, [&](double u) { return 100 * kMiB + saw(u) + 20 * kMiB * u; }));
  EXPECT_EQ(l.verdict, Verdict::kLeak) << l.reason;
}

TEST(ClassifySeries, FlatIsStableAndTooShortIsUnresolved) {
  const auto s = classify_series(make(300, [](double) { return 100 * kMiB; }));
  EXPECT_EQ(s.verdict, Verdict::kStable) << s.reason;
  const auto u = classify_series(make(6, [](double u) { return 100 * kMiB * (1 + u); }));
  EXPECT_EQ(u.verdict, Verdict::kUnresolved);
  EXPECT_NE(u.reason.find("too few samples"), std::string::npos);
}

TEST(ClassifySeries, FinalReleaseAtExitDoesNotHideALeak) {
  // Grows for 95 % of the window, then frees everything (a program tearing down at exit).
  const auto v = classify_series(make(300, [](double u) {
    return u < 0.95 ? 10 * kMiB + 40 * kMiB * u
                    : 10 * kMiB + 40 * kMiB * 0.95 * (1 - (u - 0.95) / 0.05);
  }));
  EXPECT_EQ(v.verdict, Verdict::kLeak) << v.reason;
  EXPECT_NE(v.reason.find("final release"), std::string::npos) << v.reason;
}

TEST(ClassifySeries, ReleaseAtTheEndIsSetAsideWhateverItsLength) {
  // A steady leak whose last 1, 2 or 3 samples fall (the program's teardown, up to a tenth of
  // the samples): the same verdict whatever the number of falling samples and the window's size.
  for (int n : {32, 62, 120}) {
    for (int k : {1, 2, 3}) {
      Series s = make(
          n, [](double u) { return 10 * kMiB + 30 * kMiB * u; }, 0.2 * kMiB, 7);
      const double peak = s.value[static_cast<std::size_t>(n - k - 1)];
      for (int j = 1; j <= k; ++j)
        s.value[static_cast<std::size_t>(n - k - 1 + j)] = peak * (1 - 0.3 * j);
      const auto v = classify_series(s);
      EXPECT_EQ(v.verdict, Verdict::kLeak) << n << " samples, " << k << " falling: " << v.reason;
      EXPECT_NE(v.reason.find("final release"), std::string::npos) << v.reason;
    }
  }
  // profilers.wrappers.python's leak as recorded: two dumps fell inside Python's finalization.
  const double rec[][2] = {
      {136.8, 0},         {325.0, 1048576},   {520.9, 4194304},   {721.0, 7340032},
      {921.3, 10485760},  {1121.3, 13631488}, {1320.9, 16777216}, {1521.0, 19922944},
      {1721.1, 23068672}, {1921.0, 27262976}, {2120.9, 30408704}, {2320.9, 33554432},
      {2520.9, 36700160}, {2722.1, 40894464}, {2924.8, 42991616}, {3120.9, 46137344},
      {3321.1, 49283072}, {3520.9, 53477376}, {3724.3, 56623104}, {3920.9, 59768832},
      {4121.2, 63963136}, {4320.9, 67108864}, {4520.9, 70254592}, {4723.6, 73400320},
      {4924.8, 75497472}, {5120.9, 78643200}, {5345.5, 81788928}, {5528.1, 83886080},
      {5736.8, 87031808}, {5944.9, 89128960}, {6137.5, 90177536}, {6336.9, 92274688},
      {6540.9, 63963136}, {6723.4, 6291456}};
  Series r;
  for (const auto& [t, b] : rec) r.t_ms.push_back(t), r.value.push_back(b);
  const auto v = classify_series(r);
  EXPECT_EQ(v.verdict, Verdict::kLeak) << v.reason;
}

TEST(ClassifySeries, TooFewBlocksOnceDeseasonalizedJudgesTheRawSeries) {
  // 31-34 samples 100 ms apart with a 0.25 MiB step every half second: a 1 s period with 3
  // cycles, removed, leaves about one point a cycle (7 blocks, 8 needed). The raw series has
  // the samples: flat is stable, a steady 12 MiB/s rise a leak - never "too little data".
  for (int n : {31, 32, 34}) {
    for (double rate : {0.0, 12 * kMiB}) {
      Series s;
      for (int i = 0; i < n; ++i) {
        s.t_ms.push_back(100.0 * i);
        s.value.push_back(10e6 + rate * i / 10 + ((i / 5) % 2 ? 0.25 * kMiB : 0));
      }
      const auto v = classify_series(s);
      EXPECT_EQ(v.verdict, rate > 0 ? Verdict::kLeak : Verdict::kStable)
          << n << " samples at " << rate << " B/s: " << v.reason;
    }
  }
  // profilers.flamegraph's leak as recorded: 30 dumps, steps of 1.0 and 1.25 MiB about once a
  // second read as a 964 ms period with 3.0 cycles.
  const double rec[][2] = {
      {104.6, 1310720.1},   {204.6, 2621440.3},   {304.6, 3932160.4},   {404.7, 5242880.6},
      {504.6, 6553600.7},   {604.6, 7864320.9},   {704.8, 9175041.0},   {804.9, 10485761.2},
      {904.6, 11796481.3},  {1005.2, 13107201.5}, {1105.1, 14155777.6}, {1205.0, 15466497.7},
      {1304.4, 16777217.9}, {1404.5, 18087938.0}, {1504.6, 19398658.2}, {1604.3, 20709378.3},
      {1704.8, 22020098.5}, {1804.2, 23330818.6}, {1904.2, 24641538.8}, {2004.8, 25690114.9},
      {2105.1, 27000835.0}, {2204.7, 28311555.2}, {2304.8, 29622275.3}, {2404.8, 30932995.5},
      {2504.9, 32243715.6}, {2604.7, 33554435.8}, {2704.8, 34865155.9}, {2804.9, 36175876.1},
      {2904.8, 37486596.2}, {3004.8, 38535172.3}};
  Series r;
  for (const auto& [t, b] : rec) r.t_ms.push_back(t), r.value.push_back(b);
  const auto v = classify_series(r);
  EXPECT_EQ(v.verdict, Verdict::kLeak) << v.reason;
}

TEST(ClassifySeries, SpikesALagApartMakeNoPeriod) {
  // A steady leak adding 1.5 % of a 100 MiB level over 60 s under white noise of 0.4 % of it,
  // with three spikes of +30 % 20 s apart (the synthetic corpus's spikes: 1 % of the samples,
  // 5-50 % of the level). The spikes give the detrended series an autocorrelation peak at 20 s:
  // a "period" of 3 cycles, and with it the 2 % line of an oscillating series, under which the
  // leak was stable ("no material trend (1.3 % over the window)"). Without its spikes the series
  // has no peak: no period, and the leak is a leak (README "A period must outlast the spikes").
  // The same spikes on a sawtooth of 6 cycles leave its period.
  for (bool saw : {false, true}) {
    Series s = make(
        600,
        [&](double u) {
          return 100 * kMiB + 1.5 * kMiB * u + (saw ? 20 * kMiB * (6 * u - std::floor(6 * u)) : 0);
        },
        0.4 * kMiB, 7);
    for (int i : {100, 300, 500}) s.value[static_cast<std::size_t>(i)] += 30 * kMiB;
    const auto v = classify_series(s);
    if (saw) {
      EXPECT_NEAR(v.period_ms, 10000, 200) << v.reason;
    } else {
      EXPECT_EQ(v.period_ms, 0) << v.reason;
      EXPECT_EQ(v.verdict, Verdict::kLeak) << v.reason;
    }
  }
}

TEST(ClassifySeries, SawtoothAliasedBySamplerPhaseStillLeaks) {
  // wl_sawtooth --leak-rate 2M as sampled every 100 ms: teeth of 1.5 s (15 samples) reset a few
  // ms late, so each tooth's peak is sampled - until the 9 s reset falls before its sample and
  // that tooth loses its peak. Its one-period mean then drops by about a fifteenth of a tooth,
  // a level shift, not a knee: the leak underneath goes on.
  const double resets[] = {0, 1.509, 3.009, 4.509, 6.009, 7.509, 9.001};
  Series s;
  for (int i = 0; i < 100; ++i) {
    const double t = 0.1 * i + 0.004;  // s
    double last = 0;
    for (double r : resets)
      if (r <= t) last = r;
    s.t_ms.push_back(t * 1000);
    s.value.push_back(2 * kMiB * t + 32 * kMiB * (t - last));
  }
  const auto v = classify_series(s);
  EXPECT_EQ(v.verdict, Verdict::kLeak) << v.reason;
}

TEST(ClassifySeries, FlatThenFreedAtExitIsNotARise) {
  // wl_arena_retention's live bytes as sampled under jemalloc (a real timeline): 605 KiB between
  // bursts, two bursts caught, the pins freed at exit in the last two samples (5 ms apart).
  // Nothing rose before the end: no "rose until a knee".
  Series s;
  for (int i = 0; i < 104; ++i) {
    s.t_ms.push_back(i < 103 ? 3.0 + 100.0 * i : 10211.0);
    s.value.push_back(i == 0     ? 81920
                      : i == 1   ? 126128896
                      : i == 66  ? 26669824
                      : i == 102 ? 581232
                      : i == 103 ? 87376
                                 : 619264);
  }
  const auto v = classify_series(s);
  EXPECT_NE(v.verdict, Verdict::kUnresolved) << v.reason;
  EXPECT_NE(v.verdict, Verdict::kLeak) << v.reason;
}

TEST(ClassifySeries, MissingValuesAreIgnored) {
  auto s = make(300, [](double u) { return 100 * kMiB + 20 * kMiB * u; });
  for (std::size_t i = 0; i < s.value.size(); i += 3) s.value[i] = std::nan("");
  EXPECT_EQ(classify_series(s).verdict, Verdict::kLeak);
}

TEST(Classify, RetentionWhenHeldReturnsToBaseline) {
  Signals sig;
  // Live bytes: burst to +80 MiB in the first 20 %, freed by 35 %; RSS keeps it.
  auto burst = [](double u) {
    return std::clamp(u / 0.2, 0.0, 1.0) - std::clamp((u - 0.3) / 0.05, 0.0, 1.0);
  };
  sig.live_bytes = make(
      400, [&](double u) { return 20 * kMiB + 80 * kMiB * burst(u); }, 0.2 * kMiB, 2);
  sig.rss = make(
      400, [&](double u) { return 30 * kMiB + 80 * kMiB * std::clamp(u / 0.2, 0.0, 1.0); },
      0.2 * kMiB, 3);
  const auto c = classify(sig);
  EXPECT_EQ(c.verdict, Verdict::kRetention) << c.reason;
  EXPECT_EQ(c.held_signal, "live_bytes");
  EXPECT_EQ(c.rss_signal, "rss");
  bool gap = false;
  for (const auto& e : c.evidence) gap |= e.signal == "gap";
  EXPECT_TRUE(gap);
}

// A service that bursts to +100 MiB over 5 samples and rests at its baseline for 3 (its
// median is mid-burst, its lower quartile at the baseline); RSS keeps the peak: retention.
TEST(Classify, RetentionWhenHeldRestsAtBaselineBetweenBursts) {
  Signals sig;
  const double burst[] = {20, 40, 60, 80, 100, 0, 0, 0};
  Series held;
  for (int i = 0; i < 400; ++i) {
    held.t_ms.push_back(i * 100.0);
    held.value.push_back(1 * kMiB + burst[i % 8] * kMiB);
  }
  sig.live_bytes = held;
  sig.rss = make(
      400, [&](double u) { return 5 * kMiB + 100 * kMiB * std::clamp(u / 0.05, 0.0, 1.0); },
      0.2 * kMiB, 3);
  const auto c = classify(sig);
  EXPECT_EQ(c.verdict, Verdict::kRetention) << c.reason;
}

// A sawtooth whose allocator keeps the teeth (RSS stays at the peak): the program uses that
// memory all the time, passing through its trough without resting there - bounded.
TEST(Classify, SawtoothWithRssAtItsPeakIsBounded) {
  Signals sig;
  auto saw = [](double u) { return u * 10 - std::floor(u * 10); };
  sig.live_bytes = make(500, [&](double u) { return 20 * kMiB + 48 * kMiB * saw(u); });
  // jemalloc-like: RSS creeps above the tooth to about 1.5 x its peak.
  sig.rss = make(
      500, [&](double u) { return 25 * kMiB + 72 * kMiB * std::clamp(u / 0.1, 0.0, 1.0); },
      0.2 * kMiB, 3);
  const auto c = classify(sig);
  EXPECT_EQ(c.verdict, Verdict::kBounded) << c.reason;
}

// A warm cache holds its bound while RSS keeps creeping within what the allocator has mapped
// (mimalloc's committed pages becoming resident): bounded, not retention - the program holds
// the memory.
TEST(Classify, CacheWithRssCreepingInsideTheFootprintIsBounded) {
  Signals sig;
  auto warm = [](double u) { return std::clamp(u / 0.25, 0.0, 1.0); };
  sig.live_bytes = make(
      400, [&](double u) { return 1 * kMiB + 64 * kMiB * warm(u); }, 0.05 * kMiB, 2);
  sig.rss = make(
      400, [&](double u) { return 2 * kMiB + 70 * kMiB * warm(u) + 8 * kMiB * u; }, 0.1 * kMiB, 3);
  sig.mapped = make(
      400, [&](double u) { return 4 * kMiB + 92 * kMiB * warm(u); }, 1.0, 4);
  const auto c = classify(sig);
  EXPECT_EQ(c.verdict, Verdict::kBounded) << c.reason;
  // The same creep with the program back at its baseline is the allocator keeping freed memory.
  sig.live_bytes = make(
      400, [&](double u) { return 1 * kMiB + 64 * kMiB * (warm(u) - warm(u - 0.3)); }, 0.05 * kMiB,
      2);
  const auto r = classify(sig);
  EXPECT_EQ(r.verdict, Verdict::kRetention) << r.reason;
}

TEST(Classify, LeakNonHeapStable) {
  Signals leak;
  leak.live_bytes = make(300, [](double u) { return 50 * kMiB + 30 * kMiB * u; });
  leak.rss = make(
      300, [](double u) { return 60 * kMiB + 30 * kMiB * u; }, 0.2 * kMiB, 5);
  EXPECT_EQ(classify(leak).verdict, Verdict::kLeak);

  Signals nh;
  nh.live_bytes = make(300, [](double) { return 50 * kMiB; });
  nh.rss = make(
      300, [](double u) { return 60 * kMiB + 30 * kMiB * u; }, 0.2 * kMiB, 5);
  EXPECT_EQ(classify(nh).verdict, Verdict::kNonHeapGrowth) << classify(nh).reason;

  Signals st;
  st.allocated = make(300, [](double) { return 50 * kMiB; });
  st.rss = make(
      300, [](double) { return 60 * kMiB; }, 0.2 * kMiB, 5);
  const auto c = classify(st);
  EXPECT_EQ(c.verdict, Verdict::kStable) << c.reason;
  EXPECT_EQ(c.held_signal, "allocated");

  EXPECT_EQ(classify(Signals{}).verdict, Verdict::kUnresolved);
}

// Growth outside malloc needs held's interval to exclude RSS's rate (README "Decision"): a heap
// leak whose books are too noisy for their own test (RSS rising at the same rate, cleanly) must
// not read as non-heap growth. For each noise draw, where held's interval reaches
// held_rate_ratio x RSS's slope the evidence cannot tell heap from non-heap: never
// non-heap-growth (and, rising at the same rate in truth, never claimed outside malloc).
TEST(Classify, NoisyHeapBesideRisingRssIsNotOutsideMalloc) {
  const Options o;
  int open_cases = 0;
  for (unsigned seed = 1; seed <= 20; ++seed) {
    Signals sig;
    sig.live_bytes = make(
        60, [](double u) { return 50 * kMiB + 3 * kMiB * u; }, 3 * kMiB, seed);
    sig.rss = make(
        60, [](double u) { return 60 * kMiB + 3 * kMiB * u; }, 0.1 * kMiB, seed + 100);
    const auto held = classify_series(sig.live_bytes, o);
    const auto rss = classify_series(sig.rss, o);
    ASSERT_EQ(rss.verdict, Verdict::kLeak) << rss.reason;
    if (held.verdict == Verdict::kLeak || held.knee.found) continue;
    if (held.whole.slope_hi < o.held_rate_ratio * rss.whole.slope) continue;
    ++open_cases;
    const auto c = classify(sig, o);
    EXPECT_NE(c.verdict, Verdict::kNonHeapGrowth) << "seed " << seed << ": " << c.reason;
  }
  // The draws must include books whose own test cannot tell (else this checks nothing).
  EXPECT_GT(open_cases, 0);
}

// A heap grown by doublings (a dict's table: a step, then a longer flat stretch, then a bigger
// step) beside the program's own mmap growing steadily (pymalloc's arenas holding the dict's
// objects), the books rising as much as the mappings: the heap grows too, so this is the
// program holding more (leak, the split said), as levels stats and rss say for the same
// program. With the books flat, the same mmap growth stays non-heap-growth (outside malloc).
TEST(Classify, OwnMmapBesideARisingHeapIsALeak) {
  auto doublings = [](double u) {
    return 1.0 * kMiB * ((u >= 0.2) + (u >= 0.45) * 2 + (u >= 0.65) * 4.0);
  };
  Signals both;
  both.live_bytes = make(60, doublings, 16 * 1024, 3);
  both.mmap_bytes = make(
      60, [](double u) { return 1 * kMiB + 7 * kMiB * u; }, 16 * 1024, 4);
  both.rss_anon = make(
      60, [&](double u) { return 8 * kMiB + doublings(u) + 7 * kMiB * u; }, 64 * 1024, 5);
  const auto c = classify(both);
  EXPECT_EQ(c.verdict, Verdict::kLeak) << c.reason;
  EXPECT_NE(c.reason.find("maps itself"), std::string::npos) << c.reason;

  Signals mmap_only = both;
  mmap_only.live_bytes = make(
      60, [](double) { return 2 * kMiB; }, 16 * 1024, 3);
  mmap_only.rss_anon = make(
      60, [](double u) { return 10 * kMiB + 7 * kMiB * u; }, 64 * 1024, 5);
  const auto n = classify(mmap_only);
  EXPECT_EQ(n.verdict, Verdict::kNonHeapGrowth) << n.reason;
}

// Issue 19, class 1: about a gigabyte held after a start-up rise, leaking 300 KiB/s (under 1 %
// of the level over the window). Material in bytes whatever the level: leak, with its rate.
TEST(Issue19, SmallLeakOnABigLevelIsALeak) {
  const double rate = 300 * 1024;  // bytes/s
  Signals sig;
  sig.live_bytes = make(
      300, [&](double u) { return 1024 * kMiB * std::min(1.0, u / 0.1) + rate * 29.9 * u; },
      64 * 1024, 7);
  sig.rss = make(
      300, [&](double u) { return 1100 * kMiB * std::min(1.0, u / 0.1) + rate * 29.9 * u; },
      64 * 1024, 8);
  Options o;
  o.limit_bytes = 2048 * kMiB;
  const auto c = classify(sig, o);
  EXPECT_EQ(c.verdict, Verdict::kLeak) << c.reason;
  EXPECT_NEAR(c.rate, rate, 0.2 * rate);
  ASSERT_TRUE(c.time_to_limit_s.has_value());
  EXPECT_GT(*c.time_to_limit_s, 0);
  EXPECT_EQ(contradiction(c), "") << c.reason;
  // The same level without the leak is bounded (risen, then flat), not a leak.
  sig.live_bytes = make(
      300, [&](double u) { return 1024 * kMiB * std::min(1.0, u / 0.1); }, 64 * 1024, 7);
  sig.rss = make(
      300, [&](double u) { return 1100 * kMiB * std::min(1.0, u / 0.1); }, 64 * 1024, 8);
  const auto b = classify(sig, o);
  EXPECT_NE(b.verdict, Verdict::kLeak) << b.reason;
  EXPECT_EQ(contradiction(b), "") << b.reason;
}

// Issue 19, class 2: a sawtooth whose period is a quarter of the window (grows over most of the
// period, frees everything): the troughs do not rise, so no leak; the same teeth over a leak
// raise every trough.
TEST(Issue19, LongPeriodSawtoothIsNotALeak) {
  auto saw = [](double u) { return 40 * kMiB * std::min(1.0, 1.1 * (u * 4 - std::floor(u * 4))); };
  for (unsigned seed = 1; seed <= 5; ++seed) {
    const auto b = classify_series(make(
        400, [&](double u) { return 100 * kMiB + saw(u); }, 0.2 * kMiB, seed));
    EXPECT_NE(b.verdict, Verdict::kLeak) << b.reason;
  }
  const auto l =
      classify_series(make(400, [&](double u) { return 100 * kMiB + saw(u) + 30 * kMiB * u; }));
  EXPECT_EQ(l.verdict, Verdict::kLeak) << l.reason;
}

// Issue 19, class 2, many cycles: a leak adding 1-2 % of the level under a sawtooth is found by
// one point per cycle (README "Materiality"). Periods that are not whole numbers of sampling
// intervals: the sampler's phase drifts 1-2 ms a cycle, a beat that moves each cycle's mean
// steadily. The sawtooth alone is never a leak: with teeth of 40 MiB every 1.399 s the beat
// raises the one-period mean by 1.6 MiB (1.3 % of the level) across the window, a significant
// trend on the cycle means that only the alias bound (cycle_alias_intervals) tells from a leak.
TEST(Issue19, SmallLeakUnderManyCyclesIsALeak) {
  const auto saw = [](double period_s, double swing) {
    const double cyc = 80.0 / period_s;  // cycles in the 80 s window
    return [=](double u) { return swing * (u * cyc - std::floor(u * cyc)); };
  };
  const auto wide = saw(1.399, 40 * kMiB), teeth = saw(2.498, 10 * kMiB);
  for (unsigned seed = 1; seed <= 5; ++seed) {
    for (const auto& f : {wide, teeth}) {
      const auto b = classify_series(make(
          801, [&](double u) { return 100 * kMiB + f(u); }, 0.2 * kMiB, seed));
      EXPECT_NE(b.verdict, Verdict::kLeak) << b.reason;
    }
    // 1.6 MiB over the window (20 KiB/s): 1.5 % of the level (105 MiB on average), under the
    // 2 % line, and within the raw spread (the teeth), so no absolute path finds it either.
    const auto l = classify_series(make(
        801, [&](double u) { return 100 * kMiB + teeth(u) + 1.6 * kMiB * u; }, 0.2 * kMiB, seed));
    EXPECT_EQ(l.verdict, Verdict::kLeak) << l.reason;
    EXPECT_LT(l.whole.growth_pct, 2.0);
  }
}

// Issue 19, class 2 with fewer cycles than the cycle means need (7 in the window, min_blocks 8):
// the quantiles of each whole cycle (seasonal Kendall across levels) confirm the same small leak;
// the sawtooth alone, whose period the sampler knows only to an interval, stays unclaimed.
TEST(Issue19, SmallLeakUnderFewCyclesIsALeak) {
  const double cyc = 80.0 / 11.47;  // 7 whole cycles in the 80 s window
  const auto teeth = [=](double u) { return 10 * kMiB * (u * cyc - std::floor(u * cyc)); };
  for (unsigned seed = 1; seed <= 5; ++seed) {
    const auto b = classify_series(make(
        801, [&](double u) { return 100 * kMiB + teeth(u); }, 0.2 * kMiB, seed));
    EXPECT_NE(b.verdict, Verdict::kLeak) << b.reason;
    const auto l = classify_series(make(
        801, [&](double u) { return 100 * kMiB + teeth(u) + 1.6 * kMiB * u; }, 0.2 * kMiB, seed));
    EXPECT_EQ(l.verdict, Verdict::kLeak) << l.reason;
    EXPECT_LT(l.whole.growth_pct, 2.0);
    EXPECT_LT(l.cycles, 8.0);
  }
}

// Issue 19, class 2 beyond the sampling alias: teeth of 200 MiB every 2.37 s (33 in the 80 s
// window) move a one-period mean by up to 200 MiB x 0.1 s / 2.37 s = 8.4 MiB as the sampler's
// phase walks, so the tests that average over a period must ask twice that of any trend; a leak
// of 3.5 MiB (1.7 % of the level) lies under it. The drops register the cycles (README "Cycles
// registered on their drops"): 33 drops whose intervals pin the period to a fraction of a
// millisecond, each cycle's own ramp at its middle, and the leak stands out; the teeth alone
// stay unclaimed.
TEST(Issue19, LeakUnderTheSamplingAliasOfWideTeethIsALeak) {
  const double cyc = 80.0 / 2.37;
  const auto teeth = [=](double u) { return 200 * kMiB * (u * cyc - std::floor(u * cyc)); };
  for (unsigned seed = 1; seed <= 5; ++seed) {
    const auto b = classify_series(make(
        801, [&](double u) { return 100 * kMiB + teeth(u); }, 0.2 * kMiB, seed));
    EXPECT_NE(b.verdict, Verdict::kLeak) << b.reason;
    const auto l = classify_series(make(
        801, [&](double u) { return 100 * kMiB + teeth(u) + 3.5 * kMiB * u; }, 0.2 * kMiB, seed));
    EXPECT_EQ(l.verdict, Verdict::kLeak) << l.reason;
    EXPECT_LT(l.whole.growth_pct, 2.0);
  }
}

// Issue 19, class 2: the floor the cycles return to (README "The floor the cycles return to").
// Teeth of 40 MiB every 6.1 s on a floor of 20 MiB: the level (the mean of the teeth) is twice
// the floor. A leak of 0.3 MiB over the 80 s window (3.8 KiB/s, under the absolute line) adds
// 1.5 % to the floor every cycle returns to but 0.75 % to the mean: the periodic profile and
// drift finds it, and it is material as a share of what the program holds at its floor. The
// teeth alone stay unclaimed. (The period is a whole number of sampling intervals and every drop
// falls on a sample's instant, so the drops pin the period exactly: no tilt of its error.)
TEST(Issue19, LeakRaisingTheFloorOfWideTeethIsALeak) {
  const double cyc = 80.0 / 6.1;
  const auto teeth = [=](double u) { return 40 * kMiB * (u * cyc - std::floor(u * cyc)); };
  for (unsigned seed = 1; seed <= 5; ++seed) {
    const auto b = classify_series(make(
        801, [&](double u) { return 20 * kMiB + teeth(u); }, 0.05 * kMiB, seed));
    EXPECT_NE(b.verdict, Verdict::kLeak) << b.reason;
    const auto l = classify_series(make(
        801, [&](double u) { return 20 * kMiB + teeth(u) + 0.3 * kMiB * u; }, 0.05 * kMiB, seed));
    EXPECT_EQ(l.verdict, Verdict::kLeak) << l.reason;
    EXPECT_LT(l.rate, Options{}.min_leak_rate);
  }
}

// Issue 19: a leak beneath a warm-up. A cache warming up by 80 MiB (an exponential approach,
// time constant 12 % of the window) over a leak of 2 MiB in the window (1.1 % of its level):
// the tail after the warm-up's knee slows as the approach decays, which alone reads "leak or
// plateau cannot be told yet"; the approach plus a line fits best, and what the approach leaves
// keeps rising at the leak's rate. The same warm-up without the leak is never a leak.
TEST(Issue19, LeakBeneathAWarmUpIsALeak) {
  const auto warm = [](double u) { return 100 * kMiB + 80 * kMiB * (1 - std::exp(-u / 0.12)); };
  for (unsigned seed = 1; seed <= 5; ++seed) {
    const auto l = classify_series(make(
        600, [&](double u) { return warm(u) + 2 * kMiB * u; }, 0.3 * kMiB, seed));
    EXPECT_EQ(l.verdict, Verdict::kLeak) << l.reason;
    const auto b = classify_series(make(600, warm, 0.3 * kMiB, seed));
    EXPECT_NE(b.verdict, Verdict::kLeak) << b.reason;
  }
}

// Issue 19: a leak beneath a warm-up is the drift of the best model (README "Warm-up or leak: the
// drift of the best model"). A cache warming from 12.5 to 25 MiB (an exponential approach, time
// constant 3 % of the window) over a leak of 0.26 MiB (1.04 % of the level over the window, 4.4
// KiB/s): the stretch after the knee grows under 1 % of the level, so the tail's own rule read
// "rose, then levelled off" on 6 of these 8 draws; the approach plus a drift fitted over the
// window finds the drift, significant and material over the window. The warm-up alone is a
// plateau: bounded, never a leak.
TEST(Issue19, LeakBeneathAWarmUpIsTheDriftOfTheBestModel) {
  const auto warm = [](double u) { return 12.5 * kMiB + 12.5 * kMiB * (1 - std::exp(-u / 0.03)); };
  for (unsigned seed = 1; seed <= 8; ++seed) {
    const auto l = classify_series(make(
        600, [&](double u) { return warm(u) + 0.26 * kMiB * u; }, 0.04 * kMiB, seed));
    EXPECT_EQ(l.verdict, Verdict::kLeak) << seed << ": " << l.reason;
    const auto b = classify_series(make(600, warm, 0.04 * kMiB, seed));
    EXPECT_EQ(b.verdict, Verdict::kBounded) << seed << ": " << b.reason;
  }
}

// A leak beneath a warm-up is judged against the level it grows on, the level before the
// warm-up (README "Warm-up or leak: the drift against the base"): 0.28 MiB over the window on a
// 20 MiB program is 1.4 % of it, though only 0.8 % of the 35 MiB it holds once its cache of 15 MiB
// is warm. Without the rule every draw read "rose, then levelled off". The same warm-up alone
// stays bounded. A slow approach that runs to the window's end (a plateau of twice its base, 5.6
// and 8.3 time constants in the window) is not a leak: a drift read beside it by chance (1 draw
// of 100 of each, at p 0.003-0.008) is not confirmed where the approach no longer shapes the
// series, and without that confirmation both read leak.
TEST(Issue19, LeakBeneathAWarmUpIsJudgedAgainstTheLevelBeforeIt) {
  const auto warm = [](double u) { return 20 * kMiB + 15 * kMiB * (1 - std::exp(-u / 0.03)); };
  for (unsigned seed = 1; seed <= 8; ++seed) {
    const auto l = classify_series(make(
        600, [&](double u) { return warm(u) + 0.28 * kMiB * u; }, 0.04 * kMiB, seed));
    EXPECT_EQ(l.verdict, Verdict::kLeak) << seed << ": " << l.reason;
    const auto b = classify_series(make(600, warm, 0.04 * kMiB, seed));
    EXPECT_EQ(b.verdict, Verdict::kBounded) << seed << ": " << b.reason;
  }
  for (const auto& [start, tau] : {std::pair{0.10, 0.16}, std::pair{0.25, 0.09}}) {
    const auto slow = [&](double u) {
      return 20 * kMiB + 40 * kMiB * (u < start ? 0.0 : 1 - std::exp(-(u - start) / tau));
    };
    for (unsigned seed = 1; seed <= 100; ++seed) {
      const auto s = classify_series(make(800, slow, 0.12 * kMiB, seed));
      EXPECT_NE(s.verdict, Verdict::kLeak) << start << ", " << seed << ": " << s.reason;
    }
  }
}

// "Stable" must exclude a leak (equivalence): a window too noisy to rule out a leak adding 1 % of
// the level is unresolved, never stable; a quiet flat program is stable.
TEST(Issue19, StableMustExcludeALeak) {
  for (unsigned seed = 1; seed <= 5; ++seed) {
    Signals noisy;  // 1 % over 12 s under noise of 1.5 % of the level
    noisy.live_bytes = make(
        120, [](double u) { return 100 * kMiB + 1 * kMiB * u; }, 1.5 * kMiB, seed);
    noisy.rss = make(
        120, [](double u) { return 120 * kMiB + 1 * kMiB * u; }, 1.5 * kMiB, seed + 10);
    const auto n = classify(noisy);
    EXPECT_NE(n.verdict, Verdict::kStable) << n.reason;
    EXPECT_NE(n.verdict, Verdict::kBounded) << n.reason;
    Signals quiet;
    quiet.live_bytes = make(
        120, [](double) { return 100 * kMiB; }, 0.01 * kMiB, seed);
    quiet.rss = make(
        120, [](double) { return 120 * kMiB; }, 0.01 * kMiB, seed + 10);
    const auto q = classify(quiet);
    EXPECT_EQ(q.verdict, Verdict::kStable) << q.reason;
  }
}

// Issue 19, class 3: a ring of anonymous mappings the program recycles (its own mmap bytes rise
// until the ring is full, then stay); RSS follows, live bytes are flat. The program holds that
// memory: bounded, never retention or growth.
TEST(Issue19, OwnMmapPoolIsBounded) {
  Signals sig;
  auto ring = [](double u) { return 64 * kMiB * std::min(1.0, u / 0.3); };
  sig.live_bytes = make(
      300, [](double) { return 2 * kMiB; }, 0.01 * kMiB, 2);
  sig.mmap_bytes = make(
      300, [&](double u) { return ring(u); }, 0.0, 3);
  sig.rss = make(
      300, [&](double u) { return 6 * kMiB + ring(u); }, 0.1 * kMiB, 4);
  const auto c = classify(sig);
  EXPECT_EQ(c.verdict, Verdict::kBounded) << c.reason;
  EXPECT_EQ(c.held_signal, "held");
  EXPECT_EQ(contradiction(c), "") << c.reason;
}

// Issue 19, class 4: a cache approaching its bound exponentially (within 2 % of it after half
// the window) is bounded at the end, with the fitted bound.
TEST(Issue19, ExponentialApproachIsBounded) {
  const auto v = classify_series(make(
      300, [](double u) { return 10 * kMiB + 80 * kMiB * (1 - std::exp(-u / 0.12)); }, 0.2 * kMiB));
  EXPECT_EQ(v.verdict, Verdict::kBounded) << v.reason;
  // A leak on top of the same warm-up stays a leak.
  const auto l = classify_series(make(
      300,
      [](double u) { return 10 * kMiB + 80 * kMiB * (1 - std::exp(-u / 0.12)) + 20 * kMiB * u; },
      0.2 * kMiB));
  EXPECT_EQ(l.verdict, Verdict::kLeak) << l.reason;
  EXPECT_FALSE(l.asymptote.has_value());
}

// Issue 19, class 5/7: a shell sleeping (RSS rises by 40 KiB, 5 %; nothing held changes) is never
// retention: kept memory that small is not worth naming.
TEST(Issue19, TensOfKiBAreNeverRetention) {
  Signals sig;
  sig.live_bytes = make(
      60, [](double) { return 40.0 * 1024; }, 0.0, 2);
  sig.rss = make(
      60, [](double u) { return 700.0 * 1024 + 40.0 * 1024 * std::min(1.0, u / 0.1); }, 0.0, 3);
  const auto c = classify(sig);
  EXPECT_NE(c.verdict, Verdict::kRetention) << c.reason;
  EXPECT_NE(c.verdict, Verdict::kLeak) << c.reason;
}

TEST(Verdict, NamesRoundTrip) {
  for (Verdict v : {Verdict::kLeak, Verdict::kRetention, Verdict::kBounded, Verdict::kNonHeapGrowth,
                    Verdict::kStable, Verdict::kUnresolved})
    EXPECT_EQ(parse_verdict(verdict_name(v)), v);
  EXPECT_FALSE(parse_verdict("leaky").has_value());
}

// A leak whose samples dip now and then - about one sample in four caught low in both
// instruments (a buffer freed and made again between two reads) - rises on its block medians,
// while its block minima are the dips, in no order: held's own test cannot tell, RSS's medians
// rise beside it, and two instruments agree (README "Two instruments for a straight rise"). The
// same dips on a flat program are not a leak.
TEST(Classify, StraightRiseWhoseMinimaDipIsALeakWhenRssRisesBesideIt) {
  auto dipped = [](double growth) {
    std::mt19937_64 rng(7);
    std::uniform_real_distribution<double> log_depth(0, 4.5), hit(0, 1);
    Signals sig;
    sig.live_bytes = make(
        600, [&](double u) { return 256 * kMiB + growth * u; }, 0.3 * kMiB, 5);
    sig.rss = make(
        600, [&](double u) { return 296 * kMiB + growth * u; }, 0.3 * kMiB, 6);
    for (std::size_t i = 0; i < 600; ++i) {
      if (hit(rng) >= 0.25) continue;
      const double d = kMiB * std::exp(log_depth(rng));  // 1-90 MiB
      sig.live_bytes.value[i] -= d;
      sig.rss.value[i] -= d;
    }
    return sig;
  };
  const auto c = classify(dipped(6 * kMiB));
  EXPECT_EQ(c.verdict, Verdict::kLeak) << c.reason;
  EXPECT_EQ(contradiction(c), "") << c.reason;
  EXPECT_GT(c.rate, 0);
  const auto flat = classify(dipped(0));
  EXPECT_NE(flat.verdict, Verdict::kLeak) << flat.reason;
  EXPECT_EQ(contradiction(flat), "") << flat.reason;
}

// The books rise while all the program holds (the books plus its own mappings) is settled: held
// contains every byte the books gain, so the part and the whole disagree (here the program moves
// memory from its own pool to the heap). Not a leak: unresolved, and the verdict does not
// contradict the leaking books row. The same rise with the pool flat shows in held: leak.
TEST(Classify, BooksRisingWhileAllTheProgramHoldsIsSettledIsNoLeak) {
  auto run = [](bool transfer) {
    Signals sig;
    sig.live_bytes = make(
        400, [&](double u) { return 16 * kMiB + 1.5 * kMiB * u; }, 0.05 * kMiB, 11);
    sig.mmap_bytes = make(
        400, [&](double u) { return 100 * kMiB - (transfer ? 1.5 * kMiB * u : 0); }, 0.05 * kMiB,
        12);
    sig.rss = make(
        400, [&](double u) { return 130 * kMiB + (transfer ? 0 : 1.5 * kMiB * u); }, 0.05 * kMiB,
        13);
    return classify(sig);
  };
  const auto moved = run(true);
  EXPECT_EQ(moved.verdict, Verdict::kUnresolved) << moved.reason;
  EXPECT_EQ(contradiction(moved), "") << moved.reason;
  const auto grown = run(false);
  EXPECT_EQ(grown.verdict, Verdict::kLeak) << grown.reason;
}

// The stretch after an onset knee is judged knowing that the knee was chosen from the same data
// (README "The knee's selection"): on flat noise with persistence the knee search finds the
// stretch where the noise happens to turn up, and tested as if placed in advance it read rising
// more often than alpha allows. Flat AR(1) noise (phi 0.94, sd 1 % of a 100 MiB level, 200
// samples 100 ms apart), 400 draws: leaks "still growing after the onset" at most alpha / 2
// (the upward half of a two-sided alpha) of the draws.
TEST(ClassifySeries, OnsetOnPersistentNoiseIsNotALeak) {
  Options o;
  std::mt19937_64 rng(19);
  std::normal_distribution<double> nd(0, 1);
  const int draws = 1000;
  int onset_leaks = 0, leaks = 0;
  for (int d = 0; d < draws; ++d) {
    const double phi = 0.9, sd = 0.01 * 100 * kMiB;
    Series s;
    double e = sd * nd(rng);
    for (int i = 0; i < 300; ++i) {
      if (i > 0) e = phi * e + sd * std::sqrt(1 - phi * phi) * nd(rng);
      s.t_ms.push_back(i * 100.0);
      s.value.push_back(100 * kMiB + e);
    }
    const auto v = classify_series(s, o);
    if (v.verdict != Verdict::kLeak) continue;
    ++leaks;
    if (v.reason.find("after the onset") != std::string::npos) ++onset_leaks;
  }
  std::printf("flat AR(1) noise, phi 0.9: %d of %d called leak, %d of them after an onset\n", leaks,
              draws, onset_leaks);
  EXPECT_LE(onset_leaks, static_cast<int>(o.alpha / 2 * draws));
}

// The knee selection's bootstrap on a long run (README "The knee's selection", "On a long run"):
// its replicates run on at most 2048 of the series' sample times, the AR(1) noise restricted to
// them (phi^g between samples g apart). A borderline onset under persistent noise on the
// thinner's 32768 rows (AR(1) phi 0.8, sd 2 % of a 100 MiB level, +2 % from mid-window; Davies'
// bound fails there, p_tail 0.00064): the bootstrap on the grid decides as on every sample (no
// replicate reaches the observed p on either), and the onset's rise is kept.
TEST(ClassifySeries, KneeBootstrapOnALongRunDecidesAsOnEverySample) {
  Options o;
  std::mt19937_64 rng(103);
  std::normal_distribution<double> nd(0, 1);
  const std::size_t n = 32768;
  const double phi = 0.8, sd = 0.02 * 100 * kMiB;
  Series s;
  double e = sd * nd(rng);
  for (std::size_t i = 0; i < n; ++i) {
    if (i > 0) e = phi * e + sd * std::sqrt(1 - phi * phi) * nd(rng);
    const double x = static_cast<double>(i) / static_cast<double>(n);
    s.t_ms.push_back(static_cast<double>(i) * 100.0);
    s.value.push_back(100 * kMiB + e + (x > 0.5 ? 0.02 * 100 * kMiB * (x - 0.5) / 0.5 : 0.0));
  }
  const auto v = classify_series(s, o);
  EXPECT_EQ(v.verdict, Verdict::kLeak) << v.reason;
  EXPECT_NE(v.reason.find("after the onset"), std::string::npos) << v.reason;
  ASSERT_TRUE(v.tail.has_value());
  const double p_obs = std::max(v.tail->p_median, v.tail->p_min);
  const auto on_grid = onset_null_p(s, p_obs, 0, o);
  const auto on_every_sample = onset_null_p(s, p_obs, n, o);
  ASSERT_TRUE(on_grid.has_value());
  ASSERT_TRUE(on_every_sample.has_value());
  std::printf("p_tail %.5f; bootstrap p on 2048 of 32768 samples %.4f, on every sample %.4f\n",
              p_obs, *on_grid, *on_every_sample);
  EXPECT_LT(*on_grid, o.alpha);
  EXPECT_LT(*on_every_sample, o.alpha);
}

// A steady leak under noise is not left unresolved because its latest 30 % happens to measure
// under a quarter of its rate (README "The latest stretch: kept or stopped, as a model choice"),
// while a rise that stops before the latest 30 % still is, as often as before. 300 samples 100 ms
// apart, AR(1) noise (phi 0.5, sd 1 % of a 100 MiB level), 300 draws each: a leak adding 2 % of the
// level over the window, and the same rise stopping at 60 % of the window.
TEST(ClassifySeries, LatestStretchSlowdownIsAModelChoice) {
  Options o;
  std::mt19937_64 rng(23);
  std::normal_distribution<double> nd(0, 1);
  const int draws = 300;
  const double phi = 0.5, sd = 0.01 * 100 * kMiB, grow = 0.02;
  int leak_slowdown = 0, leak_called = 0, stop_leak = 0, stop_slowdown = 0;
  for (int d = 0; d < draws; ++d) {
    for (int stop = 0; stop < 2; ++stop) {
      Series s;
      double e = sd * nd(rng);
      for (int i = 0; i < 300; ++i) {
        if (i > 0) e = phi * e + sd * std::sqrt(1 - phi * phi) * nd(rng);
        const double u = std::min(i / 299.0, stop ? 0.6 : 1.0) / (stop ? 0.6 : 1.0);
        s.t_ms.push_back(i * 100.0);
        s.value.push_back(100 * kMiB * (1 + grow * u) + e);
      }
      const auto v = classify_series(s, o);
      const bool slowdown = v.reason.find("of the overall rate") != std::string::npos;
      if (stop) {
        stop_leak += v.verdict == Verdict::kLeak;
        stop_slowdown += slowdown;
      } else {
        leak_called += v.verdict == Verdict::kLeak;
        leak_slowdown += slowdown;
      }
    }
  }
  std::printf(
      "steady leak: %d of %d called leak, %d unresolved by the latest stretch's rate; "
      "stopped rise: %d called leak, %d unresolved by it\n",
      leak_called, draws, leak_slowdown, stop_leak, stop_slowdown);
  // Before the model choice: 56 of 300 steady leaks unresolved by the latest stretch's rate
  // (231 called leak); with it 35 (252). The stopped rise: 140 unresolved by it and 106 called
  // leak, before and after (a 2 % rise makes no knee: README "The latest stretch: kept or
  // stopped, as a model choice").
  EXPECT_LE(leak_slowdown, draws / 8);
  EXPECT_GE(stop_slowdown, draws / 3);
}

// Held and RSS, one trend test (README "Decision"): a small heap leak raises the books and RSS at
// the same bytes/s, each under AR(1) noise of its own (phi 0.3, sd 1.5 % of a 100 MiB level, 400
// samples 100 ms apart, the leak adding 1.5 % over the window). Where the books' own test leaves
// "a leak of 1 % cannot be excluded yet", the joint Mann-Kendall test of the two calls the leak
// (before it, none was: 36 of 200 draws ended there; now 18 of them are leaks). The guards: both
// flat is called leak at most alpha / 2 of the draws; RSS rising while the books stay flat
// (growth outside malloc) at most tail_keep_p / 2 - the level at which held must confirm
// on its own, as in the rule where RSS leaks and held grows beside it.
TEST(Classify, SmallLeakSeenThroughHeldAndRssTogetherIsALeak) {
  Options o;
  std::mt19937_64 rng(29);
  std::normal_distribution<double> nd(0, 1);
  const int draws = 200, n = 400;
  const double phi = 0.3, sd = 0.015 * 100 * kMiB, grow = 0.015 * 100 * kMiB;
  auto ar1 = [&](double rise, double base) {
    Series s;
    double e = sd * nd(rng);
    for (int i = 0; i < n; ++i) {
      if (i > 0) e = phi * e + sd * std::sqrt(1 - phi * phi) * nd(rng);
      s.t_ms.push_back(i * 100.0);
      s.value.push_back(base + rise * i / (n - 1.0) + e);
    }
    return s;
  };
  auto has = [](const Classification& c, const char* what) {
    return c.reason.find(what) != std::string::npos;
  };
  int joint = 0, open = 0, null_leak = 0, outside_leak = 0;
  for (int d = 0; d < draws; ++d) {
    Signals leak;
    leak.live_bytes = ar1(grow, 100 * kMiB);
    leak.rss = ar1(grow, 120 * kMiB);
    const auto c = classify(leak, o);
    EXPECT_EQ(contradiction(c), "") << c.reason;
    if (c.verdict == Verdict::kLeak && has(c, "together they are")) ++joint;
    if (has(c, "cannot be excluded yet")) ++open;
    Signals flat;
    flat.live_bytes = ar1(0, 100 * kMiB);
    flat.rss = ar1(0, 120 * kMiB);
    const auto f = classify(flat, o);
    null_leak += f.verdict == Verdict::kLeak;
    EXPECT_EQ(contradiction(f), "") << f.reason;
    Signals outside;
    outside.live_bytes = ar1(0, 100 * kMiB);
    outside.rss = ar1(grow, 120 * kMiB);
    const auto g = classify(outside, o);
    outside_leak += g.verdict == Verdict::kLeak;
    EXPECT_EQ(contradiction(g), "") << g.reason;
  }
  std::printf(
      "leak 1.5 %%: %d of %d draws called leak by the joint test, %d left \"cannot be excluded\"; "
      "flat: %d called leak; RSS rising, books flat: %d called leak\n",
      joint, draws, open, null_leak, outside_leak);
  EXPECT_GE(joint, (joint + open) / 4);
  EXPECT_GT(joint, 0);
  EXPECT_LE(null_leak, static_cast<int>(o.alpha / 2 * draws));
  EXPECT_LE(outside_leak, static_cast<int>(o.tail_keep_p / 2 * draws));
}

// Issue 19, class 2 (the real case: three programs with periods of 10-12 s in a 30 s window read
// "oscillates with no upward trend" while a leak of 56 KiB/s or more lay beneath). Teeth of
// 30 MiB on 60 MiB every 11 or 12 s, 2.5-2.7 cycles in 30 s at 100 ms: too few to deseasonalize,
// so the blocks (a fraction of a cycle) see mostly the cycles' phase. A leak of 3 MiB over the
// window (about 100 KiB/s, 4 % of the level) beneath them is found by the periodic profile and
// drift on the raw samples (README "Few cycles: the periodic profile on the raw samples"); the
// same teeth alone are never a leak.
TEST(Issue19, LeakBeneathAFewCycleSawtoothIsALeak) {
  for (const double period_s : {11.0, 12.0}) {
    const double cyc = 30.0 / period_s;
    for (unsigned seed = 1; seed <= 5; ++seed) {
      const double phase = 0.1 * seed;
      const auto teeth = [=](double u) {
        const double x = u * cyc + phase;
        return 60 * kMiB + 30 * kMiB * (x - std::floor(x));
      };
      const auto b = classify_series(make(301, teeth, 0.2 * kMiB, seed));
      EXPECT_NE(b.verdict, Verdict::kLeak) << period_s << " s, seed " << seed << ": " << b.reason;
      const auto l = classify_series(make(
          301, [&](double u) { return teeth(u) + 3 * kMiB * u; }, 0.2 * kMiB, seed));
      EXPECT_EQ(l.verdict, Verdict::kLeak) << period_s << " s, seed " << seed << ": " << l.reason;
      EXPECT_LT(l.cycles, 3.0);
    }
  }
}

}  // namespace
}  // namespace arenalab::analysis
