// SPDX-License-Identifier: Apache-2.0
// The recommendation on canned results: a configuration dominated on both axes is off the
// front, overlapping intervals read indistinguishable, a trade-off keeps both ends, failed
// configurations are excluded with why, the overall front pairs repeats across workloads, and
// the object survives results.json.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "arenalab/matrix/recommend.h"
#include "arenalab/matrix/results.h"

namespace arenalab::matrix {
namespace {

// wall (ms) and peak RSS (MiB) per repeat for one configuration.
struct Canned {
  const char* cfg;
  std::vector<double> wall, rss_mib;
  CellStatus status = CellStatus::kOk;
};

void add(Results& r, const std::string& workload, const std::vector<Canned>& rows) {
  for (std::size_t rep = 0; rep < rows.front().wall.size(); ++rep)
    for (const Canned& row : rows) {
      Cell c;
      c.workload = workload;
      c.configuration = row.cfg;
      c.repeat = static_cast<int>(rep);
      c.status = row.status;
      c.wall_ms = row.wall[rep];
      c.peak_rss_bytes = row.rss_mib[rep] * (1 << 20);
      r.cells.push_back(c);
    }
}

Results base_results() {
  Results r;
  r.plan.configurations = {"glibc", "jemalloc", "mimalloc", "tcmalloc"};
  r.plan.baseline = "glibc";
  r.plan.repeats = 6;
  return r;
}

std::vector<std::string> names(const std::vector<Standing>& v) {
  std::vector<std::string> out;
  for (const auto& s : v) out.push_back(s.configuration);
  std::sort(out.begin(), out.end());
  return out;
}

const Standing* find(const std::vector<Standing>& v, const std::string& cfg) {
  for (const auto& s : v)
    if (s.configuration == cfg) return &s;
  return nullptr;
}

TEST(Recommend, DominatedOnBothAxesIsOffTheFront) {
  Results r = base_results();
  // glibc: slower and bigger than mimalloc in every repeat (disjoint paired ratios).
  add(r, "larson",
      {{"glibc", {100, 102, 101, 99, 100, 103}, {50, 51, 50, 52, 50, 51}},
       {"mimalloc", {60, 61, 62, 59, 60, 61}, {30, 31, 30, 30, 31, 30}}});
  const Recommendation rec = recommend(r);
  ASSERT_EQ(rec.workloads.size(), 1u);
  const Advice& a = rec.workloads[0];
  EXPECT_EQ(a.axes, (std::vector<std::string>{"wall_ms", "peak_rss_bytes"}));
  EXPECT_EQ(names(a.front), std::vector<std::string>{"mimalloc"});
  ASSERT_EQ(a.dominated.size(), 1u);
  EXPECT_EQ(a.dominated[0].configuration, "glibc");
  EXPECT_EQ(a.dominated[0].dominated_by, "mimalloc");
  EXPECT_DOUBLE_EQ(a.front[0].figures.at("wall_ms"), 60.5);
  // n = 6 paired ratios: [x_(1), x_(6)] covers the median with 1 - 2/64 = 96.9 %.
  EXPECT_NEAR(a.level, 1 - 2.0 / 64, 1e-9);
  EXPECT_EQ(a.answer, "mimalloc (fastest, smallest)");
  EXPECT_FALSE(rec.overall) << "one workload: no overall scope";
}

TEST(Recommend, OverlappingIntervalsReadIndistinguishable) {
  Results r = base_results();
  // jemalloc is faster than glibc in some repeats and slower in others: paired ratios straddle
  // 1, so neither is clearly faster; the same RSS. Neither dominates.
  add(r, "xmalloc",
      {{"glibc", {100, 100, 100, 100, 100, 100}, {40, 40, 40, 40, 40, 40}},
       {"jemalloc", {90, 110, 95, 105, 92, 108}, {40, 40, 40, 40, 40, 40}}});
  const Advice a = recommend(r).workloads.at(0);
  EXPECT_EQ(names(a.front), (std::vector<std::string>{"glibc", "jemalloc"}));
  EXPECT_TRUE(a.dominated.empty());
  EXPECT_EQ(find(a.front, "glibc")->indistinguishable_from, std::vector<std::string>{"jemalloc"});
  EXPECT_NE(a.answer.find(" ~ "), std::string::npos) << a.answer;
  EXPECT_EQ(a.answer.find("trade-off"), std::string::npos) << a.answer;
}

TEST(Recommend, ATradeOffKeepsBothEndsAndExcludesFailures) {
  Results r = base_results();
  // mimalloc clearly faster, glibc clearly smaller; tcmalloc never ran ok; jemalloc is worse
  // than mimalloc on time and tied with it on RSS: dominated.
  add(r, "cache_scratch",
      {{"glibc", {100, 101, 102, 100, 101, 102}, {10, 10, 10, 10, 10, 10}},
       {"jemalloc", {80, 81, 82, 80, 81, 82}, {20, 20, 20, 20, 20, 20}},
       {"mimalloc", {50, 51, 52, 50, 51, 52}, {20, 20, 20, 20, 20, 20}},
       {"tcmalloc", {1, 1, 1, 1, 1, 1}, {1, 1, 1, 1, 1, 1}, CellStatus::kUnverified}});
  const Advice a = recommend(r).workloads.at(0);
  EXPECT_EQ(names(a.front), (std::vector<std::string>{"glibc", "mimalloc"}));
  EXPECT_EQ(a.front[0].configuration, "mimalloc") << "ordered by wall time";
  ASSERT_EQ(a.dominated.size(), 1u);
  EXPECT_EQ(a.dominated[0].dominated_by, "mimalloc");
  ASSERT_EQ(a.excluded.size(), 1u);
  EXPECT_EQ(a.excluded[0].configuration, "tcmalloc");
  EXPECT_EQ(a.excluded[0].reason, "no ok cell (6 unverified)");
  EXPECT_EQ(a.answer, "mimalloc (fastest); glibc (smallest): a trade-off");
}

TEST(Recommend, OverallPairsRepeatsAcrossWorkloads) {
  Results r = base_results();
  // mimalloc halves the time of larson and costs 1.1x on xmalloc: geometric mean ~0.74, clearly
  // below 1 in every repeat; RSS equal. glibc is dominated overall.
  add(r, "larson",
      {{"glibc", {100, 100, 100, 100, 100, 100}, {8, 8, 8, 8, 8, 8}},
       {"mimalloc", {50, 51, 50, 49, 50, 50}, {8, 8, 8, 8, 8, 8}}});
  add(r, "xmalloc",
      {{"glibc", {100, 100, 100, 100, 100, 100}, {8, 8, 8, 8, 8, 8}},
       {"mimalloc", {110, 110, 111, 109, 110, 110}, {8, 8, 8, 8, 8, 8}}});
  const Recommendation rec = recommend(r);
  ASSERT_TRUE(rec.overall);
  EXPECT_EQ(names(rec.overall->front), std::vector<std::string>{"mimalloc"});
  EXPECT_NEAR(rec.overall->front[0].figures.at("wall_ms"), std::sqrt(0.5 * 1.1), 1e-9);
  EXPECT_DOUBLE_EQ(rec.overall->front[0].figures.at("peak_rss_bytes"), 1.0);
  // Per workload the other way round on xmalloc.
  EXPECT_EQ(names(rec.workloads.at(1).front), std::vector<std::string>{"glibc"});
  const std::string text = render_recommendation(rec, "glibc");
  EXPECT_NE(text.find("overall (2 workloads)"), std::string::npos) << text;
  EXPECT_NE(text.find("wall_ms 0.74x"), std::string::npos) << text;
  EXPECT_NE(text.find("intervals cover >= 96.9 %"), std::string::npos) << text;
}

TEST(Recommend, RoundTripsThroughResultsJson) {
  Results r = base_results();
  add(r, "larson",
      {{"glibc", {100, 102, 101}, {50, 51, 50}}, {"mimalloc", {60, 61, 62}, {30, 31, 30}}});
  add(r, "xmalloc",
      {{"glibc", {100, 102, 101}, {50, 51, 50}},
       {"mimalloc", {60, 61, 62}, {30, 31, 30}, CellStatus::kFailed}});
  r.summaries = summarize(r.cells, r.plan);
  r.recommendation = recommend(r);
  ASSERT_TRUE(r.recommendation->overall);
  EXPECT_EQ(r.recommendation->overall->excluded.at(0).reason, "no ok cell in xmalloc");
  auto back = results_from_json(nlohmann::json::parse(results_json_text(r)), "mem");
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->recommendation, r.recommendation);
  // A file from before the recommendation reads without one.
  auto doc = to_json(r);
  doc.erase("recommendation");
  auto old = results_from_json(doc, "old");
  ASSERT_TRUE(old) << old.error().message;
  EXPECT_FALSE(old->recommendation);
  // A dominated entry without its dominator is rejected, naming the field.
  doc = to_json(r);
  doc["recommendation"]["workloads"][0]["dominated"][0].erase("dominated_by");
  auto bad = results_from_json(doc, "bad.json");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("dominated"), std::string::npos) << bad.error().message;
}

// A workload run for --duration: the wall time is the duration (here 2000 ms in every cell),
// the work done is its throughput (ops/s per repeat).
void add_timed(Results& r, const std::string& workload, const char* cfg,
               const std::vector<double>& ops_per_s, double rss_mib) {
  for (std::size_t rep = 0; rep < ops_per_s.size(); ++rep) {
    Cell c;
    c.workload = workload;
    c.configuration = cfg;
    c.repeat = static_cast<int>(rep);
    c.status = CellStatus::kOk;
    c.command = {"wl_" + workload, "--json", "--duration", "2"};
    c.wall_ms = 2000;
    c.throughput = ops_per_s[rep];
    c.peak_rss_bytes = rss_mib * (1 << 20);
    r.cells.push_back(c);
  }
}

TEST(Recommend, OverallOfFixedWorkAndDurationWorkloadsRanksEachOnItsOwnTimeAxis) {
  // matrix --duration over larson (fixed work: wall_ms) and server_mix (takes --duration:
  // time_per_op_ns). mimalloc halves larson's wall time and does 1.25x server_mix's operations
  // per second (time per op 0.8x): overall time 0.5^0.5 * 0.8^0.5 = 0.632x, clearly faster.
  // Before, the overall had no time axis at all (wall_ms missing in server_mix, time_per_op_ns
  // in larson) and tied the two on peak RSS without saying why.
  Results r = base_results();
  add(r, "larson",
      {{"glibc", {100, 100, 100, 100, 100, 100}, {8, 8, 8, 8, 8, 8}},
       {"mimalloc", {50, 51, 50, 49, 50, 50}, {8, 8, 8, 8, 8, 8}}});
  add_timed(r, "server_mix", "glibc", {1000, 1000, 1000, 1000, 1000, 1000}, 64);
  add_timed(r, "server_mix", "mimalloc", {1250, 1250, 1250, 1250, 1250, 1250}, 64);
  const Recommendation rec = recommend(r);
  ASSERT_EQ(rec.workloads.size(), 2u);
  EXPECT_EQ(rec.workloads[0].axes, (std::vector<std::string>{"wall_ms", "peak_rss_bytes"}));
  EXPECT_EQ(rec.workloads[1].axes, (std::vector<std::string>{"time_per_op_ns", "peak_rss_bytes"}));
  ASSERT_TRUE(rec.overall);
  const Advice& o = *rec.overall;
  EXPECT_EQ(o.axes, (std::vector<std::string>{kMixedTimeAxis, "peak_rss_bytes"}));
  EXPECT_EQ(names(o.front), std::vector<std::string>{"mimalloc"});
  ASSERT_EQ(o.dominated.size(), 1u);
  EXPECT_EQ(o.dominated[0].configuration, "glibc");
  EXPECT_NEAR(o.front[0].figures.at(kMixedTimeAxis), std::sqrt(0.5 * 0.8), 1e-9);
  EXPECT_EQ(o.answer, "mimalloc (fastest, smallest)");
  // The overall says how the mix was ranked, naming each group's workloads.
  ASSERT_EQ(o.notes.size(), 1u);
  EXPECT_NE(o.notes[0].find("wall_ms where the work is fixed (larson)"), std::string::npos)
      << o.notes[0];
  EXPECT_NE(o.notes[0].find("time_per_op_ns where it ran for --duration (server_mix)"),
            std::string::npos)
      << o.notes[0];
  const std::string text = render_recommendation(rec, "glibc");
  EXPECT_NE(text.find("time 0.63x"), std::string::npos) << text;
  EXPECT_NE(text.find("(time: each workload's own time axis"), std::string::npos) << text;
  EXPECT_NE(rec.method.find("mixing such workloads with fixed-work ones"), std::string::npos);
  // The notes survive results.json.
  r.summaries = summarize(r.cells, r.plan);
  r.recommendation = rec;
  auto back = results_from_json(nlohmann::json::parse(results_json_text(r)), "mem");
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->recommendation, r.recommendation);
}

TEST(Recommend, OverallLeavesOutAnAxisAWorkloadLacksAndSaysWhere) {
  // Only larson timed its malloc calls: malloc_p99_ns ranks larson, but the overall cannot
  // average it over xmalloc; it is left out, and the notes name the workload without it.
  Results r = base_results();
  add(r, "larson", {{"glibc", {100, 100, 100}, {8, 8, 8}}, {"mimalloc", {50, 50, 50}, {8, 8, 8}}});
  add(r, "xmalloc", {{"glibc", {100, 100, 100}, {8, 8, 8}}, {"mimalloc", {60, 60, 60}, {8, 8, 8}}});
  for (Cell& c : r.cells)
    if (c.workload == "larson")
      c.measurements["malloc_p99_ns"] = c.configuration == "glibc" ? 80 : 40;
  const Recommendation rec = recommend(r);
  EXPECT_EQ(rec.workloads[0].axes,
            (std::vector<std::string>{"wall_ms", "peak_rss_bytes", "malloc_p99_ns"}));
  ASSERT_TRUE(rec.overall);
  EXPECT_EQ(rec.overall->axes, (std::vector<std::string>{"wall_ms", "peak_rss_bytes"}));
  EXPECT_EQ(rec.overall->notes,
            std::vector<std::string>{"malloc_p99_ns left out: not measured in xmalloc"});
  // One kind of time everywhere: nothing to say about time.
  for (const auto& n : rec.overall->notes) EXPECT_EQ(n.find("time axis"), std::string::npos);
}

}  // namespace
}  // namespace arenalab::matrix
