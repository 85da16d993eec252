// SPDX-License-Identifier: Apache-2.0
// Memory over time per cell (issue 24, part 3): peak, final (the exit-teardown sample left
// out) and plateau from a timeline, the classifier's growth verdict flagging RSS that keeps
// creeping, the judgement across configurations, carried through results.json, the group view
// and the text output.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

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
  EXPECT_EQ(m->growth, formats::GrowthVerdict::kLeak) << m->growth_reason;
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
  EXPECT_FALSE(creeping(m->growth)) << formats::verdict_name(m->growth) << ": " << m->growth_reason;
  EXPECT_EQ(m->growth_rate, 0);
  EXPECT_NEAR(m->plateau_rss_bytes, 40 * kMiB, 8192);
  EXPECT_NEAR(m->final_rss_bytes, 40 * kMiB, 8192);  // not the teardown's 20 MiB
  EXPECT_NEAR(m->peak_rss_bytes, 40 * kMiB, 8192);
}

// The books the classifier weighed travel with the cell: a timeline with the allocator's
// `allocated` names it and its own verdict; one without books names none.
TEST(MemoryOverTime, TheCellRecordsTheBooksItsVerdictWeighed) {
  auto tl = timeline_of(
      200, [](int i) { return 20 * kMiB + i * 0.05 * kMiB + (i % 3) * 4096.0; }, 2 * kMiB);
  const auto bare = memory_over_time(tl, true);
  ASSERT_TRUE(bare);
  EXPECT_EQ(bare->held_signal, "");
  EXPECT_FALSE(bare->held_growth);
  // The same RSS with books that stay flat: what the program holds does not grow.
  for (std::size_t i = 0; i + 1 < tl.samples.size(); ++i)
    tl.samples[i].allocated = 8 * kMiB + static_cast<double>(i % 2) * 4096;
  const auto booked = memory_over_time(tl, true);
  ASSERT_TRUE(booked);
  EXPECT_FALSE(booked->held_signal.empty());
  EXPECT_TRUE(booked->held_growth);
  EXPECT_NE(booked->held_growth, formats::GrowthVerdict::kLeak) << booked->growth_reason;
  EXPECT_EQ(booked->verdict(),
            formats::verdict_name(booked->growth));  // no judgement from one cell alone
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
  m.growth = *formats::parse_verdict(growth);
  m.growth_reason = "test";
  m.growth_rate = formats::creeping(m.growth) ? 64 * 1024 : 0;
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

// A cell of `config` under the "service" workload with a creeping or flat verdict; `held`:
// its books' own verdict ("" = no books, as tbbmalloc and mimalloc give none here).
Cell booked(const std::string& config, int repeat, const std::string& growth,
            const std::string& held) {
  Cell c = cell(config, repeat, growth);
  if (!held.empty()) {
    c.memory->held_signal = "held";
    c.memory->held_growth = formats::parse_verdict(held);
  }
  return c;
}

Results growth_matrix(std::vector<Cell> cells) {
  Results r;
  r.plan.workloads = {"service"};
  for (const auto& c : cells)
    if (std::find(r.plan.configurations.begin(), r.plan.configurations.end(), c.configuration) ==
        r.plan.configurations.end())
      r.plan.configurations.push_back(c.configuration);
  r.plan.repeats = 2;
  r.cells = std::move(cells);
  judge_across_configurations(r.cells);
  r.summaries = summarize(r.cells, r.plan);
  return r;
}

TEST(AcrossConfigurations, RssOnlyGrowthWithFlatBooksElsewhereIsTheAllocators) {
  // The same workload: glibc's and jemalloc's books flat, tbbmalloc's RSS alone growing.
  Results r = growth_matrix(
      {booked("glibc", 0, "stable", "stable"), booked("glibc", 1, "retention", "retention"),
       booked("jemalloc", 0, "bounded", "bounded"), booked("tbbmalloc", 0, "leak", ""),
       booked("tbbmalloc", 1, "leak", ""), booked("mimalloc", 0, "stable", "")});
  const MemoryOverTime& tbb = *r.cells[3].memory;
  // The classifier's own verdict and rate are kept; the judgement is beside them.
  EXPECT_EQ(tbb.growth, formats::GrowthVerdict::kLeak);
  EXPECT_EQ(tbb.growth_rate, 64 * 1024);
  EXPECT_EQ(tbb.across_growth, AcrossGrowth::kAllocatorGrowth);
  EXPECT_EQ(tbb.verdict(), "allocator-growth");
  EXPECT_FALSE(tbb.creeping());
  EXPECT_EQ(tbb.across_reason,
            "RSS grew but the program's held bytes are flat under glibc, jemalloc (the same "
            "workload): allocator warm-up or retention, not a leak");
  // Only the RSS-only growing cells are judged.
  for (const std::size_t i : {0u, 1u, 2u, 5u})
    EXPECT_FALSE(r.cells[i].memory->across_growth) << r.cells[i].configuration;
  // results.json keeps both, and reads them back; a judgement with another verdict is refused.
  const auto back = results_from_json(to_json(r), "results.json");
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->cells, r.cells);
  auto doc = to_json(r);
  EXPECT_EQ(doc["cells"][3]["memory"]["growth"]["verdict"], "leak");
  EXPECT_EQ(doc["cells"][3]["memory"]["across_configurations"]["verdict"], "allocator-growth");
  EXPECT_EQ(doc["cells"][0]["memory"]["held"]["verdict"], "stable");
  EXPECT_FALSE(doc["cells"][3]["memory"].contains("held"));
  doc["cells"][3]["memory"]["across_configurations"]["verdict"] = "stable";
  const auto bad = results_from_json(doc, "results.json");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("cells[3].memory.across_configurations.verdict"),
            std::string::npos)
      << bad.error().message;
  // The group view and the text: tbbmalloc is not named as growing; its line says why.
  for (const Group& g : groups(r))
    if (g.configuration == "tbbmalloc") {
      EXPECT_EQ(g.growth, "allocator-growth 2/2");
      EXPECT_FALSE(g.creeping);
    }
  const std::string text = render_memory(r);
  EXPECT_EQ(text.find("RSS keeps growing"), std::string::npos) << text;
  EXPECT_NE(text.find("  not a leak: service x tbbmalloc: 2 cells RSS alone read as growth (up "
                      "to 64.0 KiB/s); RSS grew but the program's held bytes are flat under "
                      "glibc, jemalloc"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("no configuration's RSS kept growing: 6 cells classified (retention 1, "
                      "bounded 1, stable 2, allocator-growth 2)"),
            std::string::npos)
      << text;
  // Judged again (a resumed or merged run): the same, not stacked.
  judge_across_configurations(r.cells);
  EXPECT_EQ(r.cells[3].memory->across_growth, AcrossGrowth::kAllocatorGrowth);
}

TEST(AcrossConfigurations, NoSiblingWithBooksKeepsTheVerdict) {
  // Only book-less configurations ran the workload: nothing tells the program's held bytes.
  Results r = growth_matrix({booked("tbbmalloc", 0, "leak", ""), booked("tbbmalloc", 1, "leak", ""),
                             booked("mimalloc", 0, "stable", "")});
  EXPECT_FALSE(r.cells[0].memory->across_growth);
  EXPECT_EQ(r.cells[0].memory->verdict(), "leak");
  EXPECT_NE(render_memory(r).find("RSS keeps growing: service x tbbmalloc: leak 2/2"),
            std::string::npos)
      << render_memory(r);
  // Books in another workload's cells say nothing about this one's.
  Results other = growth_matrix({booked("tbbmalloc", 0, "leak", "")});
  Cell elsewhere = booked("glibc", 0, "stable", "stable");
  elsewhere.workload = "batch";
  other.cells.push_back(elsewhere);
  judge_across_configurations(other.cells);
  EXPECT_FALSE(other.cells[0].memory->across_growth);
  // Nor do books of a cell that did not run.
  Results failed = growth_matrix({booked("tbbmalloc", 0, "leak", "")});
  Cell crashed = booked("glibc", 0, "stable", "stable");
  crashed.status = CellStatus::kCrashed;
  failed.cells.push_back(crashed);
  judge_across_configurations(failed.cells);
  EXPECT_FALSE(failed.cells[0].memory->across_growth);
}

TEST(AcrossConfigurations, ASiblingWhoseHeldBytesGrowKeepsTheVerdict) {
  // wl_leak: the program's held bytes grow under glibc; tbbmalloc's RSS growth is the leak.
  Results leak =
      growth_matrix({booked("glibc", 0, "leak", "leak"), booked("jemalloc", 0, "stable", "stable"),
                     booked("tbbmalloc", 0, "leak", "")});
  EXPECT_FALSE(leak.cells[2].memory->across_growth);
  EXPECT_TRUE(leak.cells[2].memory->creeping());
  EXPECT_NE(render_memory(leak).find("RSS keeps growing: service x tbbmalloc: leak 1/1"),
            std::string::npos);
  // Books the classifier could not tell (unresolved) show nothing flat ...
  Results unclear = growth_matrix(
      {booked("glibc", 0, "unresolved", "unresolved"), booked("tbbmalloc", 0, "leak", "")});
  EXPECT_FALSE(unclear.cells[1].memory->across_growth);
  // ... and beside a flat one they neither block nor count; the reason says so.
  Results mixed = growth_matrix({booked("glibc", 0, "stable", "stable"),
                                 booked("glibc", 1, "unresolved", "unresolved"),
                                 booked("tbbmalloc", 0, "leak", "")});
  EXPECT_EQ(mixed.cells[2].memory->across_growth, AcrossGrowth::kAllocatorGrowth);
  EXPECT_EQ(mixed.cells[2].memory->across_reason,
            "RSS grew but the program's held bytes are flat under glibc (the same workload; 1 "
            "other cell whose books could not tell): allocator warm-up or retention, not a "
            "leak");
  // A sibling whose RSS grows beyond flat books (non-heap-growth): that may be the program's.
  Results nonheap = growth_matrix(
      {booked("glibc", 0, "non-heap-growth", "stable"), booked("tbbmalloc", 0, "leak", "")});
  EXPECT_FALSE(nonheap.cells[1].memory->across_growth);
  // A cell with books of its own is never judged from others: its classifier saw them.
  Results own = growth_matrix(
      {booked("glibc", 0, "stable", "stable"), booked("jemalloc", 0, "leak", "leak")});
  EXPECT_FALSE(own.cells[1].memory->across_growth);
}

}  // namespace
}  // namespace arenalab::matrix
