// SPDX-License-Identifier: Apache-2.0
// Report data preparation: matrix rows and ratios, best cells, heat maps that keep failed and
// unverified cells, downsampling that keeps peaks, watch overlays, budget views, Markdown/HTML.
#include <gtest/gtest.h>

#include "arenalab/reports/inputs.h"
#include "arenalab/reports/prepare.h"
#include "arenalab/reports/report.h"

namespace arenalab::reports {
namespace {
using nlohmann::json;
constexpr double kMiB = 1024.0 * 1024.0;

// A cell as the matrix writes it (arenalab.matrix/1).
json cell(const std::string& w, const std::string& c, int rep, double ms, double rss_mib,
          int code = 0, bool verified = true) {
  return {{"workload", w},
          {"configuration", c},
          {"threads", 1},
          {"repeat", rep},
          {"status", code != 0 ? "failed" : (verified ? "ok" : "unverified")},
          {"verified", verified},
          {"exit_code", code},
          {"message", code != 0 ? "exit " + std::to_string(code) : ""},
          {"wall_ms", ms},
          {"peak_rss_bytes", rss_mib * kMiB}};
}

json plan() {
  return {
      {"workloads", {"cache"}}, {"configurations", {"glibc", "jemalloc", "mimalloc", "tcmalloc"}},
      {"threads", {1}},         {"repeats", 3},
      {"warmup", false},        {"baseline", "glibc"},
      {"smoke", true},          {"timeline", false},
      {"confidence", 0.95}};
}

json small_matrix() {
  json cells = json::array();
  for (int r = 0; r < 3; ++r) {
    cells.push_back(cell("cache", "glibc", r, 100 + r, 200 + r));
    cells.push_back(cell("cache", "jemalloc", r, 80 + r, 150 + r));
    cells.push_back(cell("cache", "mimalloc", r, 50, 100, /*code=*/1));  // fastest but failed
    cells.push_back(cell("cache", "tcmalloc", r, 40, 90, 0, /*verified=*/false));
  }
  return {{"schema", "arenalab.matrix/1"}, {"plan", plan()}, {"cells", cells}};
}

json interval(double median, double lo, double hi) {
  return {{"n", 3},           {"median", median}, {"min", lo},
          {"max", hi},        {"ci_low", lo},     {"ci_high", hi},
          {"ci_level", 0.75}, {"ci_low_rank", 1}, {"ci_reached", false}};
}

TEST(ParseMatrix, MediansRangesStatusAndRatios) {
  auto m = parse_matrix(small_matrix(), "results.json");
  ASSERT_TRUE(m) << m.error().message;
  ASSERT_EQ(m->rows.size(), 4u);
  const matrix::Group& glibc = m->rows[0];
  EXPECT_EQ(glibc.repeats, 3);
  EXPECT_DOUBLE_EQ(*glibc.wall_ms.value, 101);
  EXPECT_DOUBLE_EQ(*glibc.wall_ms.lo, 100);
  EXPECT_DOUBLE_EQ(*glibc.wall_ms.hi, 102);
  EXPECT_DOUBLE_EQ(*glibc.wall_ms.ratio, 1.0);
  EXPECT_NEAR(*m->rows[1].wall_ms.ratio, 81.0 / 101.0, 1e-12);
  EXPECT_NEAR(*m->rows[1].peak_rss_bytes.ratio, 151.0 / 201.0, 1e-12);
  EXPECT_EQ(m->rows[2].status, matrix::GroupStatus::kFailed);
  EXPECT_EQ(m->rows[2].failed_repeats, 3);
  EXPECT_FALSE(m->rows[2].wall_ms.value);  // not measured: absent, never 0
  EXPECT_EQ(m->rows[3].status, matrix::GroupStatus::kUnverified);
}

TEST(ParseMatrix, RecordedSummaryIntervalsWin) {
  json doc = small_matrix();
  json ratio = interval(0.8, 0.7, 0.9);
  doc["summaries"] = json::array({{{"workload", "cache"},
                                   {"configuration", "jemalloc"},
                                   {"threads", 1},
                                   {"metric", "wall_ms"},
                                   {"value", interval(81, 79.5, 82.5)},
                                   {"ratio_to_baseline", ratio}}});
  auto m = parse_matrix(doc, "results.json");
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_DOUBLE_EQ(*m->rows[1].wall_ms.lo, 79.5);
  EXPECT_DOUBLE_EQ(*m->rows[1].wall_ms.hi, 82.5);
  EXPECT_DOUBLE_EQ(*m->rows[1].wall_ms.ratio, 0.8);
}

TEST(ParseMatrix, ACrashedGroupKeepsItsMessage) {
  json doc = small_matrix();
  doc["cells"][2]["status"] = "crashed";
  doc["cells"][2]["signal"] = 11;
  doc["cells"][2]["message"] = "killed by SIGSEGV";
  auto m = parse_matrix(doc, "results.json");
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_EQ(m->rows[2].status, matrix::GroupStatus::kFailed);
  EXPECT_EQ(m->rows[2].status_detail, "exit 1");  // the last repeat's reason
  EXPECT_EQ(m->baseline, "glibc");
}

TEST(ParseMatrix, RejectsDocumentsWithoutCellsNamingTheFile) {
  auto m = parse_matrix(json{{"schema", "arenalab.matrix/1"}, {"plan", plan()}}, "x/results.json");
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().message, "x/results.json: cells: missing (required)");
}

// A cluster matrix on two CPU models: the report shows the groups again per node type, each
// from its own cells only, and leads with the recommendation recorded in results.json.
TEST(ParseMatrix, NodeTypesAndTheRecommendationLeadTheReport) {
  json doc = small_matrix();
  for (json& c : doc["cells"]) {
    const bool arm = c["repeat"] == 2;  // repeat 2 ran on an arm64 node, 100x slower
    c["node"] = {{"host", arm ? "arm1" : "x86a"}, {"cpu_model", arm ? "Neoverse-N1" : "EPYC"}};
    if (arm) c["wall_ms"] = c["wall_ms"].get<double>() * 100;
  }
  doc["recommendation"] = {
      {"method", "Pareto front of wall_ms, peak_rss_bytes"},
      {"workloads",
       {{{"workload", "cache"},
         {"threads", 1},
         {"axes", {"wall_ms", "peak_rss_bytes"}},
         {"ci_level", 0.75},
         {"answer", "jemalloc (fastest, smallest)"},
         {"front", {{{"configuration", "jemalloc"}, {"figures", {{"wall_ms", 81.0}}}}}},
         {"dominated",
          {{{"configuration", "glibc"},
            {"figures", json::object()},
            {"dominated_by", "jemalloc"}}}},
         {"excluded", {{{"configuration", "mimalloc"}, {"reason", "no ok cell (3 failed)"}}}}}}}};
  auto m = parse_matrix(doc, "results.json");
  ASSERT_TRUE(m) << m.error().message;
  ASSERT_EQ(m->node_types.size(), 2u);
  const auto& epyc = m->node_types[0];
  const auto& arm = m->node_types[1];
  EXPECT_EQ(epyc.cpu_model, "EPYC");
  EXPECT_EQ(epyc.hosts.at("x86a"), 8);
  EXPECT_EQ(arm.hosts.at("arm1"), 4);
  // glibc on EPYC: repeats 0 and 1 (100, 101 ms), never the arm node's 10200 ms.
  EXPECT_DOUBLE_EQ(*epyc.rows[0].wall_ms.value, 100.5);
  EXPECT_DOUBLE_EQ(*arm.rows[0].wall_ms.value, 10200);
  ASSERT_TRUE(m->recommendation);
  Inputs in;
  in.matrices.push_back(*m);
  const std::string html = render_html("t", in, {});
  const auto rec = html.find("Which allocator?"), table = html.find("<section id=\"matrix\">");
  ASSERT_NE(rec, std::string::npos);
  EXPECT_LT(rec, table) << "the recommendation leads";
  EXPECT_NE(html.find("jemalloc (fastest, smallest)"), std::string::npos);
  EXPECT_NE(html.find("glibc (by jemalloc)"), std::string::npos);
  EXPECT_NE(html.find("On Neoverse-N1"), std::string::npos);
  EXPECT_NE(html.find("arm1 (4 cells)"), std::string::npos);
  // One node type (or a local matrix): no per-type tables.
  auto local = parse_matrix(small_matrix(), "results.json");
  ASSERT_TRUE(local);
  EXPECT_TRUE(local->node_types.empty());
  EXPECT_FALSE(local->recommendation);
}

TEST(MatrixTables, BestCellIgnoresFailedAndUnverified) {
  auto m = parse_matrix(small_matrix(), "results.json");
  ASSERT_TRUE(m);
  const auto tables = matrix_tables(m->rows);
  ASSERT_EQ(tables.size(), 1u);
  EXPECT_EQ(tables[0].best_time, 1);  // jemalloc: mimalloc failed, tcmalloc unverified
  EXPECT_EQ(tables[0].best_rss, 1);
}

TEST(Heatmap, RelativeToBestAndLabelsUnusableCells) {
  auto m = parse_matrix(small_matrix(), "results.json");
  ASSERT_TRUE(m);
  const Heatmap h = heatmap(matrix_tables(m->rows), HeatMetric::kTime);
  ASSERT_EQ(h.columns.size(), 4u);
  ASSERT_EQ(h.rows.size(), 1u);
  EXPECT_NEAR(*h.value[0][0], 101.0 / 81.0, 1e-12);
  EXPECT_DOUBLE_EQ(*h.value[0][1], 1.0);
  EXPECT_FALSE(h.value[0][2]);
  EXPECT_EQ(h.label[0][2], "failed");
  EXPECT_EQ(h.label[0][3], "unverified");
  EXPECT_NEAR(h.max_value, 101.0 / 81.0, 1e-12);
}

TEST(PlotPoints, ScalesAndKeepsThePeakWhenDownsampling) {
  timeline::Series s;
  for (int i = 0; i < 10000; ++i) {
    s.t_ms.push_back(i * 10.0);
    s.value.push_back((i == 4321 ? 900.0 : 100.0) * kMiB);
  }
  const XY p = plot_points(s, 300);
  EXPECT_LE(p.x.size(), 310u);
  EXPECT_DOUBLE_EQ(*std::max_element(p.y.begin(), p.y.end()), 900.0);
  EXPECT_DOUBLE_EQ(p.x.front(), 0.0);
  EXPECT_DOUBLE_EQ(p.x.back(), 99.99);  // the last sample, in seconds
  EXPECT_TRUE(std::is_sorted(p.x.begin(), p.x.end()));
}

timeline::Timeline ramp_then_flat() {
  timeline::Timeline tl;
  for (int i = 0; i <= 100; ++i) {
    timeline::Sample s;
    s.t_ms = i * 100.0;
    s.rss = (i < 30 ? i : 30) * kMiB;
    tl.samples.push_back(s);
  }
  return tl;
}

// verdict.json through its one reader (formats/verdict.h), as the report loads it.
verdict_file::Verdict verdict(const json& doc) {
  auto v = verdict_file::parse_verdict(doc, "verdict.json");
  EXPECT_TRUE(v) << (v ? "" : v.error().message);
  return v ? *v : verdict_file::Verdict{};
}

TEST(WatchOverlay, FlatAfterTheKneeDrawsThePlateauAndListsEverySignal) {
  const json flat = {{"t0_ms", 3000.0},
                     {"t1_ms", 10000.0},
                     {"slope_bytes_per_s", 0.0},
                     {"slope_interval_bytes_per_s", {-1000.0, 1000.0}}};
  const json v = {
      {"schema", "arenalab.verdict/1"},
      {"verdict", "retention"},
      {"confidence", 0.9},
      {"rss_signal", "rss"},
      {"signals",
       {{"rss",
         {{"verdict", "bounded"},
          {"samples", 100},
          {"trend", {{"t0_ms", 0.0}, {"t1_ms", 10000.0}, {"slope_bytes_per_s", 3e6}}},
          {"knee", {{"found", true}, {"t_ms", 3000.0}}},
          {"after_knee", flat}}},
        {"gap", {{"verdict", "bounded"}, {"samples", 100}, {"level_bytes", 64 * kMiB}}}}}};
  const auto tl = ramp_then_flat();
  const WatchOverlay o = watch_overlay(verdict(v), &tl);
  EXPECT_EQ(o.verdict, "retention");
  EXPECT_DOUBLE_EQ(*o.slope_lo, -1000.0);
  EXPECT_DOUBLE_EQ(*o.knee_ms, 3000.0);
  ASSERT_EQ(o.fit.x.size(), 2u);
  EXPECT_DOUBLE_EQ(o.fit.x[0], 3.0);
  EXPECT_DOUBLE_EQ(o.fit.x[1], 10.0);
  EXPECT_NEAR(o.fit.y[0], 30.0, 1e-9);  // flat through the plateau's mean
  EXPECT_NEAR(o.fit.y[1], 30.0, 1e-9);
  // The gap is derived (RSS minus what is held): described, never given a verdict of its own.
  bool gap = false;
  for (const auto& [k, val] : o.evidence)
    gap |= (k == "gap" && val == "derived: RSS minus what is held (not judged), level 64.0 MiB");
  EXPECT_TRUE(gap);
}

// Issue 22 item 7: the line follows the series it describes. A glibc retention run (recorded
// shape: RSS jumps to ~120 MiB within a second, then bursts between 110 and 160 MiB with no
// rising trend) once got a "fitted RSS slope 4.5 MiB/s" line through the mean point, starting
// 100 MiB above the series at 0 s. With no rising trend the line is the level the series holds
// (its median); a rising trend keeps its slope through the median intercept, which bursts do
// not pull off the series.
TEST(WatchOverlay, TheLineFollowsTheSeriesItDescribes) {
  timeline::Timeline tl;
  for (int i = 0; i <= 85; ++i) {
    timeline::Sample s;
    s.t_ms = i * 100.0;
    s.rss =
        (i < 4 ? 30.0 * i : 120.0 + (i % 5 == 0 ? 40.0 : 0.0) - (i % 7 == 0 ? 10.0 : 0.0)) * kMiB;
    tl.samples.push_back(s);
  }
  const json flat_trend = {{"t0_ms", 0.0},
                           {"t1_ms", 8500.0},
                           {"slope_bytes_per_s", 4.5 * kMiB},
                           {"slope_interval_bytes_per_s", {-1.9 * kMiB, 11.8 * kMiB}},
                           {"rising", false}};
  json v = {{"schema", "arenalab.verdict/1"},
            {"verdict", "retention"},
            {"confidence", 0.8},
            {"rss_signal", "rss"},
            {"signals",
             {{"rss",
               {{"verdict", "bounded"},
                {"samples", 86},
                {"trend", flat_trend},
                {"knee", {{"found", false}}}}}}}};
  WatchOverlay o = watch_overlay(verdict(v), &tl);
  ASSERT_EQ(o.fit.y.size(), 2u);
  EXPECT_TRUE(o.fit_is_level);
  EXPECT_DOUBLE_EQ(o.fit.y[0], 120.0);  // the level held, not 100 MiB rising to 138
  EXPECT_DOUBLE_EQ(o.fit.y[1], 120.0);

  // A rising trend (a leak at 2 MiB/s with a burst every half second): the line keeps its
  // slope and stays on the series at both ends.
  for (std::size_t i = 0; i < tl.samples.size(); ++i)
    tl.samples[i].rss = (10.0 + 2.0 * i / 10 + (i % 5 == 0 ? 40.0 : 0.0)) * kMiB;
  v["verdict"] = "leak";
  v["signals"]["rss"]["trend"] = {
      {"t0_ms", 0.0}, {"t1_ms", 8500.0}, {"slope_bytes_per_s", 2.0 * kMiB}, {"rising", true}};
  o = watch_overlay(verdict(v), &tl);
  ASSERT_EQ(o.fit.y.size(), 2u);
  EXPECT_FALSE(o.fit_is_level);
  EXPECT_NEAR(o.fit.y[0], 10.0, 0.5);  // a mean point would put it 8 MiB above the series
  EXPECT_NEAR(o.fit.y[1], 27.0, 0.5);
}

// Issue 22 item 7-8: the evidence comes in the order that matters (held, RSS, the gap), not
// alphabetically, and jemalloc's retained (address space) is last and never called leak.
TEST(WatchOverlay, EvidenceOrderedByWhatMattersAndRetainedNotJudged) {
  const json grows = {{"t0_ms", 0.0}, {"t1_ms", 10000.0}, {"slope_bytes_per_s", 1e6}};
  const json v = {{"schema", "arenalab.verdict/1"},
                  {"verdict", "leak"},
                  {"confidence", 0.9},
                  {"held_signal", "live_bytes"},
                  {"rss_signal", "rss"},
                  {"signals",
                   {{"active", {{"verdict", "leak"}, {"samples", 100}, {"trend", grows}}},
                    {"gap", {{"verdict", "leak"}, {"samples", 100}, {"trend", grows}}},
                    {"live_bytes", {{"verdict", "leak"}, {"samples", 100}, {"trend", grows}}},
                    {"retained", {{"verdict", "leak"}, {"samples", 100}, {"trend", grows}}},
                    {"rss", {{"verdict", "leak"}, {"samples", 100}, {"trend", grows}}}}}};
  const auto tl = ramp_then_flat();
  const WatchOverlay o = watch_overlay(verdict(v), &tl);
  std::vector<std::string> names;
  for (const auto& [k, val] : o.evidence)
    if (k == "active" || k == "gap" || k == "live_bytes" || k == "retained" || k == "rss") {
      names.push_back(k);
      if (k == "retained" || k == "gap") {
        EXPECT_EQ(val.find("leak"), std::string::npos) << val;
      }
      if (k == "retained") {
        EXPECT_EQ(val.rfind("unmapped address space (not memory) (not judged)", 0), 0u) << val;
      }
    }
  EXPECT_EQ(names, (std::vector<std::string>{"live_bytes", "rss", "gap", "active", "retained"}));
}

// verdict.json as the analysis writes it: evidence per signal, the RSS signal named.
TEST(WatchOverlay, PerSignalEvidenceUsesTheTrendAfterTheKnee) {
  const json trend = {{"t0_ms", 3000.0},
                      {"t1_ms", 10000.0},
                      {"slope_bytes_per_s", 10.0},
                      {"slope_interval_bytes_per_s", {-5.0, 20.0}},
                      {"p_median", 0.5}};
  const json v = {{"schema", "arenalab.verdict/1"},
                  {"verdict", "retention"},
                  {"confidence", 0.8},
                  {"reason", "RSS plateaus while live bytes returned"},
                  {"held_signal", "live_bytes"},
                  {"rss_signal", "rss"},
                  {"signals",
                   {{"rss",
                     {{"verdict", "bounded"},
                      {"samples", 100},
                      {"growth_pct", 50.0},
                      {"level_bytes", 30 * kMiB},
                      {"trend", {{"t0_ms", 0.0}, {"t1_ms", 10000.0}, {"slope_bytes_per_s", 3e6}}},
                      {"knee", {{"found", true}, {"t_ms", 3000.0}}},
                      {"after_knee", trend}}},
                    {"live_bytes", {{"verdict", "bounded"}, {"samples", 100}}}}}};
  const VerdictSummary vs = verdict_summary(verdict(v));
  EXPECT_EQ(vs.signal, "rss");
  EXPECT_DOUBLE_EQ(*vs.slope, 10.0);
  EXPECT_DOUBLE_EQ(*vs.slope_lo, -5.0);
  EXPECT_DOUBLE_EQ(*vs.knee_ms, 3000.0);
  const auto tl = ramp_then_flat();
  const WatchOverlay o = watch_overlay(verdict(v), &tl);
  ASSERT_EQ(o.fit.x.size(), 2u);
  EXPECT_DOUBLE_EQ(o.fit.x[0], 3.0);
  EXPECT_NEAR(o.fit.y[0], 30.0, 0.01);
  bool why = false, rss_line = false;
  for (const auto& [k, val] : o.evidence) {
    why |= k == "why" && val.find("plateaus") != std::string::npos;
    rss_line |= k == "rss" && val.find("growth 50%") != std::string::npos;
  }
  EXPECT_TRUE(why);
  EXPECT_TRUE(rss_line);
}

TEST(WatchOverlay, NoSlopeNoLine) {
  const auto tl = ramp_then_flat();
  const WatchOverlay o = watch_overlay(verdict({{"schema", "arenalab.verdict/1"},
                                                {"verdict", "unresolved"},
                                                {"confidence", 0.0},
                                                {"signals", json::object()}}),
                                       &tl);
  EXPECT_EQ(o.verdict, "unresolved");
  EXPECT_TRUE(o.fit.empty());
  EXPECT_FALSE(o.knee_ms);
  EXPECT_TRUE(watch_overlay(std::nullopt, &tl).verdict.empty());
}

TEST(BudgetView, KilledBySigkillAtTheLastSample) {
  const auto tl = ramp_then_flat();
  budget::BudgetRecord killed;
  killed.limit_bytes = 64 * 1024 * 1024;
  killed.exit.signal = 9;
  const BudgetView b = budget_view(killed, &tl);
  EXPECT_TRUE(b.killed);
  EXPECT_DOUBLE_EQ(*b.limit_bytes, 64 * kMiB);
  EXPECT_DOUBLE_EQ(*b.kill_ms, 10000.0);
  EXPECT_NE(b.outcome.find("killed (signal 9) at 10.00 s"), std::string::npos) << b.outcome;
  budget::BudgetRecord ok;
  ok.limit_bytes = 1000000000;
  ok.exit.code = 0;
  const BudgetView v = budget_view(ok, &tl);
  EXPECT_FALSE(v.killed);
  EXPECT_FALSE(v.kill_ms);
  EXPECT_EQ(v.outcome, "exit 0 under the limit");
}

TEST(BudgetView, TheKillIsAtTheTargetsWallTimeAndTheGroupPeakIsThePeak) {
  budget::BudgetRecord b;
  b.limit_bytes = 64 * 1024 * 1024;
  b.oom_killed = true;
  b.exit.signal = 9;
  b.wall_ms = 2500;
  b.group.peak_usage_bytes = 64 * 1024 * 1024;
  b.peak_rss_bytes = 60 * kMiB;
  const BudgetView v = budget_view(b, nullptr);
  EXPECT_DOUBLE_EQ(*v.kill_ms, 2500);
  EXPECT_DOUBLE_EQ(*v.peak_bytes, 64 * kMiB);
  EXPECT_EQ(v.outcome, "killed by the kernel OOM killer (signal 9) at 2.50 s");
}

// A call site of profile.json (formats/profile.h) with its live-bytes series.
profile_file::Callsite profile_site(std::vector<double> live,
                                    std::optional<profile_file::Frame> site,
                                    std::vector<std::string> stack) {
  profile_file::Callsite c;
  c.verdict = formats::GrowthVerdict::kLeak;
  c.slope_bytes_per_s = 2048.0;
  c.bytes_now = live.back();
  c.site = std::move(site);
  c.stack = std::move(stack);
  for (std::size_t i = 0; i < live.size(); ++i) c.t_ms.push_back(1000.0 * i);
  c.live_bytes = std::move(live);
  return c;
}

TEST(Callsites, SortedByGrowthSiteOrStack) {
  profile_file::Profile p;
  p.callsites.push_back(profile_site({0, 10}, std::nullopt, {"grow", "main"}));
  profile_file::Frame f;
  f.function = "grow";
  f.file = "/src/leak.cc";
  f.line = 42;
  p.callsites.push_back(profile_site({1024, 2048, 4096}, f, {"grow at leak.cc:42", "main"}));
  p.callsites.push_back(profile_site({0, 5}, std::nullopt, {}));
  p.callsites.back().source = profile_file::SiteSource::kMmap;
  const auto sites = profile_callsites(p);
  ASSERT_EQ(sites.size(), 3u);
  EXPECT_EQ(sites[0].site, "grow (leak.cc:42)");
  EXPECT_EQ(sites[0].verdict, formats::GrowthVerdict::kLeak);
  EXPECT_DOUBLE_EQ(*sites[0].start_bytes, 1024.0);
  EXPECT_DOUBLE_EQ(*sites[0].end_bytes, 4096.0);
  EXPECT_DOUBLE_EQ(*sites[0].growth_bytes, 3072.0);
  EXPECT_DOUBLE_EQ(*sites[0].slope_bytes_per_s, 2048.0);
  // No frame outside the allocator: as the terminal prints it, the outermost frame, marked.
  EXPECT_EQ(sites[1].site, "(allocator/runtime only) main");
  EXPECT_EQ(sites[2].site, "[mmap] (unknown site)");
  // A site with no symbol reads as the terminal's: its address and module, not the stack.
  profile_file::Profile q;
  profile_file::Frame raw;
  raw.address = 0x4011f0;
  raw.module = "/usr/bin/redis-server";
  q.callsites.push_back(profile_site({0, 10}, raw, {"je_malloc in libjemalloc.so.2", "0x4011f0"}));
  EXPECT_EQ(profile_callsites(q)[0].site, "0x4011f0 in redis-server");
}

TEST(Render, MarkdownListsFailedCellsAndHtmlEscapes) {
  Inputs in;
  auto m = parse_matrix(small_matrix(), "results.json");
  ASSERT_TRUE(m);
  m->dir = "m";
  in.matrices.push_back(*m);
  const std::string md = render_markdown("t", in);
  EXPECT_NE(md.find("| mimalloc | failed: exit 1 |"), std::string::npos) << md;
  EXPECT_NE(md.find("| tcmalloc | unverified"), std::string::npos);
  EXPECT_NE(md.find("81.0 ms ★"), std::string::npos);
  const std::string html = render_html("<t&>", in, {});
  EXPECT_NE(html.find("<h1>&lt;t&amp;&gt;</h1>"), std::string::npos);
  EXPECT_NE(html.find("best-time"), std::string::npos);
  EXPECT_EQ(html.find("http://"), std::string::npos);  // self-contained: nothing fetched
  EXPECT_EQ(html.find("https://"), std::string::npos);
}

}  // namespace
}  // namespace arenalab::reports
