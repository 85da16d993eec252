// SPDX-License-Identifier: Apache-2.0
// Memory over time per cell (issue 24, part 3): peak, final (the exit-teardown sample left
// out) and plateau from a timeline, the classifier's growth verdict flagging RSS that keeps
// creeping, carried through results.json, the group view and the text output.
#include <gtest/gtest.h>

#include <string>

#include "arenalab/analysis/analysis.h"
#include "arenalab/analysis/verdict_json.h"
#include "arenalab/matrix/memory.h"
#include "arenalab/matrix/results.h"

namespace arenalab::matrix {
namespace {

constexpr double kMiB = 1024.0 * 1024;

// `n` samples every 50 ms of RSS `rss(i)`, then the interposer's teardown sample at exit.
template <class F>
timeline::Timeline timeline_of(int n, F rss, double teardown_rss) {
  timeline::Timeline tl;
  tl.header.schema = "arenalab.timeline/1";
  tl.header.mode = "stats";
  tl.header.interval_ms = 50;
  for (int i = 0; i < n; ++i) {
    timeline::Sample s;
    s.t_ms = i * 50.0;
    s.rss = rss(i);
    tl.samples.push_back(s);
  }
  timeline::Sample last;  // the teardown sample (the file marks it "final": true)
  last.t_ms = n * 50.0;
  last.rss = teardown_rss;
  tl.samples.push_back(last);
  return tl;
}

TEST(MemoryOverTime, CreepingRssIsALeakAndTheTeardownSampleIsNotFinal) {
  // 200 samples (10 s) growing 1 MiB/s from 20 MiB, with a little noise; teardown at 2 MiB.
  const auto tl = timeline_of(
      200, [](int i) { return 20 * kMiB + i * 0.05 * kMiB + (i % 3) * 4096.0; }, 2 * kMiB);
  const auto m = memory_over_time(tl, true);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->growth, "leak") << m->growth_reason;
  EXPECT_TRUE(creeping(m->growth));
  EXPECT_NEAR(m->growth_rate, kMiB, 0.1 * kMiB);  // bytes/s
  EXPECT_NEAR(m->final_rss_bytes, 20 * kMiB + 199 * 0.05 * kMiB, 8192);
  EXPECT_GT(m->plateau_rss_bytes, 20 * kMiB);
  EXPECT_LT(m->plateau_rss_bytes, m->final_rss_bytes);
  EXPECT_DOUBLE_EQ(m->peak_rss_bytes, m->final_rss_bytes);  // the last sample before teardown
  EXPECT_EQ(m->samples, 201u);
  EXPECT_DOUBLE_EQ(m->duration_ms, 200 * 50.0);
}

TEST(MemoryOverTime, ARiseThatLevelsOffIsNotCreeping) {
  // Up to 40 MiB in the first second, then flat for 9 s; the teardown frees half.
  const auto tl = timeline_of(
      200, [](int i) { return (i < 20 ? 10 + i * 1.5 : 40.0) * kMiB + (i % 2) * 4096.0; },
      20 * kMiB);
  const auto m = memory_over_time(tl, true);
  ASSERT_TRUE(m);
  EXPECT_FALSE(creeping(m->growth)) << m->growth << ": " << m->growth_reason;
  EXPECT_EQ(m->growth_rate, 0);
  EXPECT_NEAR(m->plateau_rss_bytes, 40 * kMiB, 8192);
  EXPECT_NEAR(m->final_rss_bytes, 40 * kMiB, 8192);  // not the teardown's 20 MiB
  EXPECT_NEAR(m->peak_rss_bytes, 40 * kMiB, 8192);
}

// A smoke cell (1.5 s) whose RSS only rose from its start, with no books: from RSS alone a
// warm-up this long cannot be told from growth (memory.h kMinRssRiseWindowMs), so it is not
// called a leak - the same rise over 10 s is (CreepingRssIsALeak... above).
TEST(MemoryOverTime, ARiseFromTheStartOfAShortCellIsTooShortToTellFromRssAlone) {
  const auto tl = timeline_of(
      30, [](int i) { return 4 * kMiB + i * 2.0 * kMiB + (i % 3) * 4096.0; }, 2 * kMiB);
  // The classifier alone calls it a leak (what the matrix printed before) ...
  timeline::Timeline own = tl;
  own.samples.pop_back();
  const auto raw = analysis::classify(analysis::signals_from_timeline(own));
  ASSERT_EQ(raw.verdict, analysis::Verdict::kLeak) << raw.reason;
  // ... the cell's verdict says why it cannot tell.
  const auto m = memory_over_time(tl, true);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->growth, "unresolved") << m->growth_reason;
  EXPECT_FALSE(creeping(m->growth));
  EXPECT_EQ(m->growth_rate, 0);
  EXPECT_EQ(m->growth_reason.rfind("too short to tell: rss rose from the cell's start", 0), 0u)
      << m->growth_reason;
  EXPECT_NE(m->growth_reason.find("over 1.4 s"), std::string::npos) << m->growth_reason;
  // Levels are unchanged: the last sample before the teardown.
  EXPECT_NEAR(m->final_rss_bytes, 4 * kMiB + 29 * 2.0 * kMiB, 8192);
}

TEST(MemoryOverTime, AShortRiseTheAllocatorsBooksShowIsStillALeak) {
  // The same 1.5 s cell under a backend with books: what it has allocated rises with RSS, so
  // the books back the growth and the window's length does not matter.
  auto tl = timeline_of(
      30, [](int i) { return 4 * kMiB + i * 2.0 * kMiB + (i % 3) * 4096.0; }, 2 * kMiB);
  for (std::size_t i = 0; i + 1 < tl.samples.size(); ++i)
    tl.samples[i].allocated = 1 * kMiB + static_cast<double>(i) * 1.9 * kMiB;
  const auto m = memory_over_time(tl, true);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->growth, "leak") << m->growth_reason;
  EXPECT_GT(m->growth_rate, 0);
}

TEST(MemoryOverTime, ARiseThatLevelledOffInAShortCellIsNotTooShort) {
  // A knee: the cell saw its warm-up end, so the classifier's own verdict stands.
  const auto tl = timeline_of(
      40, [](int i) { return (i < 10 ? 4 + i * 3.0 : 34.0) * kMiB + (i % 2) * 4096.0; }, 2 * kMiB);
  const auto m = memory_over_time(tl, true);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->growth_reason.find("too short to tell"), std::string::npos) << m->growth_reason;
  EXPECT_FALSE(creeping(m->growth)) << m->growth << ": " << m->growth_reason;
}

TEST(MemoryOverTime, NoRssNoLevels) {
  timeline::Timeline tl;
  EXPECT_FALSE(memory_over_time(tl, true));
}

Cell cell(const std::string& config, int repeat, const std::string& growth) {
  Cell c;
  c.workload = "service";
  c.configuration = config;
  c.repeat = repeat;
  c.status = CellStatus::kOk;
  c.verified = true;
  c.exit_code = 0;
  c.wall_ms = 100 + repeat;
  c.peak_rss_bytes = 50 * kMiB;
  MemoryOverTime m;
  m.peak_rss_bytes = 48 * kMiB;
  m.final_rss_bytes = (40 + repeat) * kMiB;
  m.plateau_rss_bytes = 39 * kMiB;
  m.growth = growth;
  m.growth_reason = "test";
  m.growth_rate = creeping(growth) ? 64 * 1024 : 0;
  m.samples = 100;
  m.duration_ms = 5000;
  c.memory = m;
  return c;
}

TEST(MemoryOverTime, ResultsCarryItAndTheTextFlagsCreepingConfigurations) {
  Results r;
  r.plan.workloads = {"service"};
  r.plan.configurations = {"glibc", "tcmalloc"};
  r.plan.repeats = 3;
  for (int i = 0; i < 3; ++i) {
    r.cells.push_back(cell("glibc", i, "stable"));
    r.cells.push_back(cell("tcmalloc", i, i == 0 ? "stable" : "leak"));
  }
  r.summaries = summarize(r.cells, r.plan);
  // results.json keeps every figure; an unknown verdict is refused, naming the field.
  const auto back = results_from_json(to_json(r), "results.json");
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->cells, r.cells);
  auto doc = to_json(r);
  doc["cells"][1]["memory"]["growth"]["verdict"] = "creeping";
  const auto bad = results_from_json(doc, "results.json");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("cells[1].memory.growth.verdict"), std::string::npos)
      << bad.error().message;
  // Summaries: final and plateau medians over the repeats.
  bool final_seen = false;
  for (const auto& s : r.summaries)
    if (s.configuration == "glibc" && s.metric == "final_rss_bytes") {
      final_seen = true;
      EXPECT_DOUBLE_EQ(s.value.median, 41 * kMiB);
      EXPECT_EQ(s.unit, "bytes");
    }
  EXPECT_TRUE(final_seen);
  // The group view: verdict counts, most frequent first, and the flag.
  for (const Group& g : groups(r)) {
    if (g.configuration == "glibc") {
      EXPECT_EQ(g.growth, "stable 3/3");
      EXPECT_FALSE(g.creeping);
    } else {
      EXPECT_EQ(g.growth, "leak 2/3, stable 1/3");
      EXPECT_TRUE(g.creeping);
      ASSERT_TRUE(g.plateau_rss_bytes.value);
      EXPECT_DOUBLE_EQ(*g.plateau_rss_bytes.value, 39 * kMiB);
    }
  }
  const std::string text = render_memory(r);
  EXPECT_NE(text.find("RSS keeps growing: service x tcmalloc: leak 2/3, stable 1/3; up to 64.0 "
                      "KiB/s"),
            std::string::npos)
      << text;
  EXPECT_EQ(text.find("x glibc"), std::string::npos) << text;
  EXPECT_NE(text.find("6 cells classified (leak 2, stable 4)"), std::string::npos) << text;
  EXPECT_NE(render_table(r).find("leak 2/3, stable 1/3"), std::string::npos);
  // Without timelines there is nothing to say.
  for (auto& c : r.cells) c.memory.reset();
  EXPECT_EQ(render_memory(r), "");
}

TEST(MemoryOverTime, TheTextCountsCellsTooShortToTell) {
  Results r;
  r.plan.workloads = {"service"};
  r.plan.configurations = {"tbbmalloc"};
  r.plan.repeats = 2;
  r.cells = {cell("tbbmalloc", 0, "unresolved"), cell("tbbmalloc", 1, "unresolved")};
  r.cells[0].memory->growth_reason = "too short to tell: rss rose from the cell's start ...";
  r.summaries = summarize(r.cells, r.plan);
  const std::string text = render_memory(r);
  EXPECT_NE(text.find("no configuration's RSS kept growing: 2 cells classified (unresolved 2)"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("  1 of the unresolved: RSS only rose, in a cell too short to tell"),
            std::string::npos)
      << text;
}

}  // namespace
}  // namespace arenalab::matrix
