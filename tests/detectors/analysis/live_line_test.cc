// SPDX-License-Identifier: Apache-2.0
// watch's live line (analysis/live.h) replayed on saved real timelines (replay_live: the lines
// a watch at its default 3 s would print): no leak claimed for a program that does not leak
// (the recorded corpus's bounded, retention and stable timelines; tests/data/live: caches of
// probe13 filling over 5-10 s), and a 1 MiB/s leak claimed within 15 s and kept (issue 19).
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "arenalab/analysis/live.h"
#include "arenalab/analysis/timeline_signals.h"
#include "recorded_corpus.h"

namespace arenalab::analysis {
namespace {

namespace fs = std::filesystem;

constexpr double kLineMs = 3000;  // watch's default --live-every

// Non-leaking timelines whose live line still claims a leak, and why (README "The live line",
// Known limits). A listed one that no longer claims fails too: then remove it here.
const std::map<std::string, std::string> kKnownClaims = {
    {"bounded__py-saturation-steps__glibc.jsonl.zst",
     "a stepped fill of 12.8 MiB/s whose last step (9.6 s) is one tread before the 12 s line: "
     "its knee is not found until 15 s"},
    {"bounded__py-saturation-steps__jemalloc.jsonl.zst", "the same, under jemalloc"},
    {"bounded__py-saturation-steps__mimalloc.jsonl.zst", "the same, under mimalloc"},
};

struct Replayed {
  std::string name;
  std::vector<LiveLine> lines;
};

// Every timeline in dir whose name starts with one of prefixes, replayed at kLineMs.
std::vector<Replayed> replay_all(const fs::path& dir, const std::vector<std::string>& prefixes,
                                 std::string* skip) {
  std::vector<Replayed> out;
  char tmpl[] = "/tmp/arenalab-live-XXXXXX";
  if (!::mkdtemp(tmpl)) {
    ADD_FAILURE() << "mkdtemp";
    return out;
  }
  for (const auto& prefix : prefixes) {
    const auto corpus = recorded_corpus(dir, prefix);
    if (!corpus.skip.empty()) {
      *skip = corpus.skip;
      break;
    }
    for (const auto& f : corpus.files) {
      const std::string path = decompress(f, tmpl);
      if (path.empty()) {
        ADD_FAILURE() << "cannot decompress " << f;
        continue;
      }
      auto lines = replay_live(path, kLineMs);
      fs::remove(path);
      if (!lines) {
        ADD_FAILURE() << f << ": " << lines.error().message;
        continue;
      }
      out.push_back({f.filename().string(), std::move(*lines)});
    }
  }
  std::error_code ec;
  fs::remove_all(tmpl, ec);
  return out;
}

std::string show(const Replayed& r) {
  std::string s;
  for (const auto& l : r.lines) {
    char t[32];
    std::snprintf(t, sizeof t, "  %5.1f s  ", l.t_ms / 1000);
    s += t + l.shown + "\n";
  }
  return s;
}

// A leak classification whose deciding signal (live_bytes) was last sampled at t1_ms: its knee
// (slope before and after) and its onset beneath a sawtooth, when given.
Classification leak_on(double rate, double t1_ms = 0, std::optional<Knee> knee = std::nullopt,
                       std::optional<double> onset_ms = std::nullopt) {
  Classification c;
  c.verdict = Verdict::kLeak;
  c.confidence = 1;
  c.rate = rate;
  c.held_signal = "live_bytes";
  SignalEvidence e;
  e.signal = "live_bytes";
  e.v.verdict = Verdict::kLeak;
  e.v.rate = rate;
  e.v.whole.t1_ms = t1_ms;
  e.v.whole.onset_ms = onset_ms;
  if (knee) {
    e.v.knee = *knee;
    e.v.tail = Trend{};
    e.v.tail->t0_ms = knee->t_ms;
  }
  c.evidence.push_back(e);
  return c;
}

Knee knee_at(double t_ms, double before, double after) {
  Knee k;
  k.found = true;
  k.t_ms = t_ms;
  k.slope_before = before;
  k.slope_after = after;
  return k;
}

TEST(LiveLine, TheGrowthStartsAtItsOnsetOrWhereItSpedUp) {
  constexpr double kMiB = 1 << 20;
  EXPECT_EQ(growth_start_ms(leak_on(kMiB)), 0);  // a rise since the start
  // A start-up, then a slower rise: the series never stopped rising.
  EXPECT_EQ(growth_start_ms(leak_on(kMiB, 9000, knee_at(4000, 8 * kMiB, kMiB))), 0);
  // Flat, then rising from 5 s: the growth began there.
  EXPECT_EQ(growth_start_ms(leak_on(kMiB, 9000, knee_at(5000, 0, kMiB))), 5000);
  EXPECT_EQ(growth_start_ms(leak_on(kMiB, 9000, std::nullopt, 7000.0)), 7000);
  Classification bounded;
  bounded.verdict = Verdict::kBounded;
  EXPECT_EQ(growth_start_ms(bounded), 0);
  // How long it has lasted: the line's age from the start; from a later start, on the
  // timeline's own clock to the last sample (under --pid the two clocks differ).
  EXPECT_EQ(growth_span_ms(leak_on(kMiB, 9000), 9000), 9000);
  EXPECT_EQ(growth_span_ms(leak_on(kMiB, 9000, knee_at(5000, 0, kMiB)), 9000), 4000);
  EXPECT_EQ(growth_span_ms(leak_on(kMiB, 12000, knee_at(5000, 0, kMiB)), 9000), 7000);
  EXPECT_EQ(growth_span_ms(bounded, 9000), 0);
}

TEST(LiveLine, AGrowthIsClaimedOnceItHasLasted12sAndThenKept) {
  constexpr double kMiB = 1 << 20;
  LiveVerdict live;
  EXPECT_EQ(live.show(leak_on(kMiB), 3000, 250),
            "growing 1.0 MiB/s for 3 s (a leak, or a warm-up longer than 3 s)");
  EXPECT_FALSE(live.claims_growth());
  EXPECT_TRUE(live.show(leak_on(kMiB), 9000, 250).starts_with("growing 1.0 MiB/s for 9 s"));
  EXPECT_EQ(live.show(leak_on(kMiB), 12000, 250), "leak (1.00)");  // settled since 3 s
  EXPECT_TRUE(live.claims_growth());
  // A knee found later beneath the leak (its growth now from 10 s) does not withdraw it.
  EXPECT_EQ(live.show(leak_on(kMiB, 15000, knee_at(10000, 0, kMiB)), 15000, 250), "leak (1.00)");
  // Another verdict ends the claim; a leak after it starts over, on its own growth.
  EXPECT_EQ(live.show(Classification{}, 18000, 250), "unresolved (settling: unresolved)");
  EXPECT_TRUE(live.show(leak_on(kMiB, 21000, knee_at(10000, 0, kMiB)), 21000, 250)
                  .starts_with("growing 1.0 MiB/s for 11 s"));
  EXPECT_EQ(live.show(leak_on(kMiB, 24000, knee_at(10000, 0, kMiB)), 24000, 250), "leak (1.00)");
  // A growth long enough but not yet settled waits for the settle.
  LiveVerdict late;
  EXPECT_EQ(late.show(leak_on(kMiB), 30000, 250), "unresolved (settling: leak)");
  EXPECT_EQ(late.show(leak_on(kMiB), 33000, 250), "leak (1.00)");
}

TEST(LiveLine, NoLeakClaimedForProgramsThatDoNotLeak) {
  std::string skip;
  auto runs = replay_all(ARENALAB_RECORDED_CORPUS, {"bounded__", "retention__", "stable__"}, &skip);
  if (skip.empty()) {
    auto live = replay_all(ARENALAB_LIVE_TIMELINES, {"bounded__"}, &skip);
    for (auto& r : live) runs.push_back(std::move(r));
  }
  if (!skip.empty()) GTEST_SKIP() << skip;
  ASSERT_GE(runs.size(), 70u);  // 65 of the corpus, 12 of tests/data/live
  int claimed = 0, known = 0;
  for (const auto& r : runs) {
    bool claims = false;
    for (const auto& l : r.lines) claims |= l.claims_growth;
    const auto k = kKnownClaims.find(r.name);
    if (claims && k != kKnownClaims.end()) {
      ++known;
      std::printf("  known claim %s: %s\n", r.name.c_str(), k->second.c_str());
    } else if (claims) {
      ++claimed;
      ADD_FAILURE() << r.name << ": the live line claims a growth for a program that does not "
                    << "leak:\n"
                    << show(r);
    } else if (k != kKnownClaims.end()) {
      ADD_FAILURE() << r.name << " is listed in kKnownClaims but its live line claims nothing "
                    << "now: remove it from the list";
    }
  }
  std::printf(
      "%zu timelines of programs that do not leak: %d claimed a leak on the live line, "
      "%d known (kKnownClaims)\n",
      runs.size(), claimed, known);
}

// While the program runs no release is final (README "The live line", rule 3): a mean-reverting
// random walk (probe14 ouwalk under jemalloc, its first 18.1 s) falls from 57 to 43 MiB at
// 14-18 s. Judged as a finished run the fall is the exit's teardown, cut away, and the upswing
// before it reads leak; judged as a running program the fall is data against a leak.
TEST(LiveLine, NoReleaseIsFinalWhileTheProgramRuns) {
  if (std::system("zstd --version >/dev/null 2>&1") != 0) GTEST_SKIP() << "zstd not found";
  const fs::path zst =
      fs::path(ARENALAB_LIVE_TIMELINES) / "bounded__p14-ouwalk-18s__jemalloc.jsonl.zst";
  char tmpl[] = "/tmp/arenalab-live-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::string path = decompress(zst, tmpl);
  ASSERT_FALSE(path.empty()) << "cannot decompress " << zst;
  auto tl = read_signals(path);
  auto lines = replay_live(path, kLineMs);
  std::error_code ec;
  fs::remove_all(tmpl, ec);
  ASSERT_TRUE(tl) << tl.error().message;
  ASSERT_TRUE(lines) << lines.error().message;
  // At the exit the rule stands: the fall is the teardown (what the live line used to say).
  const Classification at_exit = classify(tl->signals);
  EXPECT_EQ(at_exit.verdict, Verdict::kLeak) << at_exit.reason;
  EXPECT_NE(at_exit.reason.find("up to the final release"), std::string::npos) << at_exit.reason;
  Options running;
  running.running = true;
  const Classification live = classify(tl->signals, running);
  EXPECT_NE(live.verdict, Verdict::kLeak) << live.reason;
  EXPECT_EQ(live.reason.find("final release"), std::string::npos) << live.reason;
  // And the line replayed on it claims nothing (asserted with every bounded__ timeline too).
  ASSERT_FALSE(lines->empty());
  for (const auto& l : *lines) EXPECT_FALSE(l.claims_growth) << l.t_ms << ": " << l.shown;
}

TEST(LiveLine, OneMiBPerSecondLeakClaimedWithin15sAndKept) {
  std::string skip;
  auto runs = replay_all(ARENALAB_RECORDED_CORPUS, {"leak__"}, &skip);
  if (skip.empty()) {
    auto live = replay_all(ARENALAB_LIVE_TIMELINES, {"leak__"}, &skip);
    for (auto& r : live) runs.push_back(std::move(r));
  }
  if (!skip.empty()) GTEST_SKIP() << skip;
  int n = 0;
  for (const auto& r : runs) {
    if (r.name.find("-1M__") == std::string::npos) continue;  // the 1 MiB/s leaks
    ++n;
    // The first line from which every line claims leak.
    double since = -1;
    for (auto it = r.lines.rbegin(); it != r.lines.rend() && it->shown.starts_with("leak ("); ++it)
      since = it->t_ms;
    EXPECT_GE(since, 0) << r.name << ": never claimed leak for good:\n" << show(r);
    EXPECT_LE(since, 15000) << r.name << ": claimed leak for good only at " << since / 1000
                            << " s:\n"
                            << show(r);
    // Before its growth has outlasted the warm-ups the line waits out, a leak is "growing":
    // the rule is in force (a line that claimed at once would pass the two checks above).
    for (const auto& l : r.lines) {
      if (l.verdict == Verdict::kLeak && l.growth_span_ms < LiveVerdict::kWarmupMs - 250) {
        EXPECT_TRUE(l.shown.starts_with("growing "))
            << r.name << " at " << l.t_ms << ": " << l.shown;
      }
    }
    std::printf("  %-46s leak for good from %4.1f s\n", r.name.c_str(), since / 1000);
  }
  EXPECT_GE(n, 10);
}

}  // namespace
}  // namespace arenalab::analysis
