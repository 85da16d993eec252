// SPDX-License-Identifier: Apache-2.0
// Per-call-site series from golden dumps, and the classification of series shapes.
#include <gtest/gtest.h>

#include <cmath>

#include "arenalab/profilers/callsites.h"
#include "arenalab/profilers/flamegraph.h"
#include "arenalab/profilers/full_log.h"
#include "arenalab/profilers/profile_run.h"

namespace arenalab::profilers {
namespace {

const std::string kData = ARENALAB_PROFILERS_DATA;

std::vector<double> times(int n) {
  std::vector<double> t;
  for (int i = 0; i < n; ++i) t.push_back(i * 500.0);
  return t;
}

// The classifier is the suite's slope analysis (analysis::classify_series) on the per-call-site
// series: steady growth is a leak with its slope, a plateau is not, churn is not, a flat site is
// stable, and too few dumps stay unresolved.
TEST(ClassifySeries, SteadyGrowthIsLeakWithItsSlope) {
  std::vector<double> y;
  for (int i = 0; i < 40; ++i) y.push_back(1e6 + 2e6 * (i * 0.5) + (i % 3) * 5e4);  // 2 MB/s
  const auto v = classify_series(times(40), y);
  EXPECT_EQ(v.verdict, analysis::Verdict::kLeak) << v.reason;
  EXPECT_TRUE(v.is_leak());
  EXPECT_NEAR(v.slope_bytes_per_s, 2e6, 1e5);
  EXPECT_NE(v.method.find("arenalab_analysis"), std::string::npos) << v.method;
}

TEST(ClassifySeries, EarlyPlateauIsNotLeak) {
  std::vector<double> y;
  for (int i = 0; i < 40; ++i) y.push_back(std::min(i, 4) * 1e6);
  const auto v = classify_series(times(40), y);
  EXPECT_FALSE(v.is_leak()) << analysis::verdict_name(v.verdict) << ": " << v.reason;
}

TEST(ClassifySeries, TooFewPointsIsUnresolved) {
  EXPECT_EQ(classify_series(times(3), {1, 2, 3}).verdict, analysis::Verdict::kUnresolved);
  EXPECT_FALSE(classify_series(times(3), {1, 2, 3}).has_slope());
  EXPECT_EQ(classify_series({0, 0, 0, 0}, {1, 2, 3, 4}).verdict, analysis::Verdict::kUnresolved);
}

// A per-call-site leak, churn and a flat site in one 10 s series of 40 dumps.
TEST(ClassifySeries, LongSeriesLeakChurnFlat) {
  std::vector<double> t, leak, churn, flat;
  for (int i = 0; i < 40; ++i) {
    t.push_back(i * 250.0);
    leak.push_back(262144.0 * 12 * (i * 0.25) + (i % 4) * 3e4);  // 3 MiB/s
    churn.push_back((i * 7) % 5 == 0 ? 0 : 131072.0 * ((i * 3) % 4));
    flat.push_back(566534);
  }
  const auto v = classify_series(t, leak);
  EXPECT_EQ(v.verdict, analysis::Verdict::kLeak) << v.method << ": " << v.reason;
  EXPECT_NEAR(v.slope_bytes_per_s, 3.0 * 1048576, 0.3 * 1048576) << v.method;
  EXPECT_FALSE(classify_series(t, churn).is_leak());
  EXPECT_EQ(classify_series(t, flat).verdict, analysis::Verdict::kStable)
      << classify_series(t, flat).reason;
  EXPECT_EQ(classify_series({0, 1, 2}, {1, 2, 3}).verdict, analysis::Verdict::kUnresolved);
}

TEST(Callsites, GoldenJemallocDumpsGroupByCallSite) {
  auto first = read_heap_dump(kData + "/jemalloc.first.heap");
  auto last = read_heap_dump(kData + "/jemalloc.final.heap");
  ASSERT_TRUE(first.ok()) << first.error().message;
  ASSERT_TRUE(last.ok()) << last.error().message;
  std::vector<TimedDump> dumps = {{0, *first}, {400, *last}};
  Symbolizer symbolizer;
  auto sites = callsites_from_dumps(dumps, symbolizer);
  // The four innermost frames of every stack are in libjemalloc.so.2 (by the dumps' own
  // mappings, whichever machine reads them): the site is frame 4.
  bool found_leak = false;
  for (const auto& s : sites) {
    ASSERT_EQ(s.t_ms.size(), 2u);
    ASSERT_EQ(s.live_bytes.size(), 2u);
    if (s.frames.size() == 9 && s.frames[4].address == 0x5583f95eb659u) {
      found_leak = true;
      EXPECT_EQ(s.site, 4u);
      EXPECT_GT(s.live_bytes[1], s.live_bytes[0]);  // leak_some_records kept growing
    }
  }
  EXPECT_TRUE(found_leak);
  // heap_v2 dumps are sampled: each site keeps the live objects the dump recorded for it.
  std::uint64_t recorded = 0, kept = 0;
  for (const auto& r : last->stacks) recorded += r.live_objects;
  for (const auto& s : sites) {
    ASSERT_EQ(s.samples.size(), 2u);
    EXPECT_EQ(s.sample_period, last->sample_period);
    kept += s.samples_now();
  }
  EXPECT_GT(last->sample_period, 0u);
  EXPECT_EQ(kept, recorded);
  classify_and_rank(sites);
  for (const auto& s : sites)
    EXPECT_EQ(s.verdict.verdict, analysis::Verdict::kUnresolved);  // 2 dumps only
}

// What keeps growing comes first: leaks, then the sites that cannot be told yet but grew (a big
// one is not ranked below a stable 24-byte one), then the rest.
TEST(Callsites, UndecidedGrowthRanksAboveStableRows) {
  auto site = [](const char* name, std::vector<double> bytes) {
    CallsiteSeries s;
    s.frames = {{0x1000, name, "x.cc", 1, "/bin/x"}};
    for (std::size_t i = 0; i < bytes.size(); ++i) s.t_ms.push_back(i * 250.0);
    s.live_bytes = std::move(bytes);
    return s;
  };
  std::vector<double> flat(40, 24.0), leak, undecided = {1e6, 9e7};
  for (int i = 0; i < 40; ++i) leak.push_back(1000.0 * i);
  std::vector<CallsiteSeries> sites = {site("flat", flat), site("undecided", undecided),
                                       site("leak", leak)};
  classify_and_rank(sites);
  ASSERT_EQ(sites.size(), 3u);
  EXPECT_EQ(sites[0].frames[0].function, "leak");
  EXPECT_EQ(sites[0].verdict.verdict, analysis::Verdict::kLeak);
  EXPECT_EQ(sites[1].frames[0].function, "undecided");
  EXPECT_EQ(sites[1].verdict.verdict, analysis::Verdict::kUnresolved);
  EXPECT_EQ(sites[2].frames[0].function, "flat");
}

// The redis case (issue 22): 14 MB of keys sampled one per 512 KiB rest on ~27 samples, a
// step series. The profile names the site, its sample count, and the --lg-sample that gives
// about 200 samples (16: one per 64 KiB); with enough samples, or unsampled, it says nothing.
TEST(FewSamples, AStepSeriesNamesTheSamplingToAskFor) {
  ProfileReport r;
  CallsiteSeries s;
  s.frames = {{0x1000, "_sdsnewlen", "sds.c", 101, "redis-server"}};
  s.sample_period = 1u << 19;
  for (int i = 0; i < 40; ++i) {
    const std::uint64_t n = static_cast<std::uint64_t>(i * 27 / 39);  // 0 .. 27 samples
    s.t_ms.push_back(i * 250.0);
    s.samples.push_back(n);
    s.live_bytes.push_back(static_cast<double>(n) * (1u << 19));  // steps of 512 KiB
  }
  s.verdict = classify_series(s.t_ms, s.live_bytes);
  r.callsites.push_back(s);
  const std::string note = few_samples_note(r, 19);
  EXPECT_NE(note.find("_sdsnewlen"), std::string::npos) << note;
  EXPECT_NE(note.find("27 sampled allocation(s)"), std::string::npos) << note;
  EXPECT_NE(note.find("--lg-sample 16 "), std::string::npos) << note;

  r.callsites[0].samples.back() = 64;  // enough to judge
  EXPECT_EQ(few_samples_note(r, 19), "");
  r.callsites[0].samples.back() = 27;
  // Every mmap recorded (the interposer's mmap.<seq>.heap, heap_v2/1): 27 mmaps of 512 KiB are
  // the program's own steps, which no --lg-sample smooths (python3's pymalloc arenas read "rests
  // on 1 sampled allocation(s) (one per 1 B on average) ... give --lg-sample 12" before).
  r.callsites[0].sample_period = 1;
  EXPECT_EQ(few_samples_note(r, 19), "");
  r.callsites[0].sample_period = 0;  // every allocation recorded (tcmalloc, heaptrack)
  r.callsites[0].samples.clear();
  EXPECT_EQ(few_samples_note(r, 19), "");
  r.callsites = {s};
  for (double& b : r.callsites[0].live_bytes) b = std::min(b, 512.0 * 1024);  // grew < 1 MiB
  EXPECT_EQ(few_samples_note(r, 19), "");
}

// analyze's flame graphs copy only the stacks they draw: the sites live at that time. Before,
// every site's symbolized stack was copied whatever its bytes, which doubled analyze's peak
// memory on a full python3 log (669 MB of peak RSS, 349 MB without the copy; docs/interposer.md).
TEST(FullLogGraphs, SeriesHoldOnlyTheSitesLiveThen) {
  FullLogViews v;
  v.peak_t_ms = 5;
  v.at_t_ms = 7;
  for (std::uint64_t k = 0; k < 4; ++k) {
    FullLogSite s;
    s.frames = {Frame{0x1000 + k, "f" + std::to_string(k), "", 0, ""}};
    s.allocs = 1;
    s.peak_bytes = k == 1 ? 64 : 0;
    s.at_bytes = k == 2 || k == 3 ? 32 : 0;
    v.sites.push_back(std::move(s));
  }
  const auto peak = peak_series(v);
  ASSERT_EQ(peak.size(), 1u);
  EXPECT_EQ(peak[0].frames[0].function, "f1");
  EXPECT_EQ(peak[0].live_bytes, std::vector<double>{64});
  const auto at = at_series(v);
  ASSERT_EQ(at.size(), 2u);
  EXPECT_EQ(at[0].frames[0].function, "f2");
  EXPECT_EQ(at[1].frames[0].function, "f3");
  // What is drawn is what it was: the folded stacks of the sites live then.
  EXPECT_EQ(folded_stacks(peak, std::nullopt, std::nullopt), "f1 64\n");
}

}  // namespace
}  // namespace arenalab::profilers
