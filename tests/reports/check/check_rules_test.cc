// SPDX-License-Identifier: Apache-2.0
// arenalab check rules on synthetic baseline/result pairs: verdict change, plateau up beyond
// tolerance, within noise, missing cell, improvement; baseline round trip; the outputs.
#include <gtest/gtest.h>

#include "arenalab/check/check.h"
#include "arenalab/core/files.h"
#include "arenalab/formats/matrix.h"
#include "arenalab/formats/timeline_levels.h"

namespace arenalab::check {
namespace {
constexpr double kMiB = 1024.0 * 1024.0;

Cell watch_cell(const std::string& verdict, double plateau_mib, double lo_mib, double hi_mib) {
  Cell c;
  c.kind = Kind::kWatch;
  c.workload = "cache";
  c.configuration = "glibc";
  c.verdict = formats::parse_verdict(verdict);  // "": not classified
  c.metrics[kPlateauRss] = {plateau_mib * kMiB, lo_mib * kMiB, hi_mib * kMiB};
  c.metrics[kPeakRss] = {plateau_mib * kMiB * 1.1, std::nullopt, std::nullopt};
  return c;
}

CellSet one(Cell c) { return CellSet{{std::move(c)}, {"test"}}; }

const Finding* find(const CheckReport& r, const std::string& metric) {
  for (const auto& f : r.findings)
    if (f.metric == metric) return &f;
  return nullptr;
}

TEST(CheckRules, VerdictTurningIntoLeakFails) {
  const auto r = compare(one(watch_cell("retention", 100, 98, 102)),
                         one(watch_cell("leak", 100, 98, 102)), {});
  ASSERT_TRUE(r.failed());
  const Finding* f = find(r, "verdict");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->outcome, Outcome::kRegression);
  EXPECT_EQ(f->change, "retention -> leak");
  EXPECT_EQ(r.regressions, 1);
}

TEST(CheckRules, VerdictTurningIntoNonHeapGrowthFails) {
  const auto r = compare(one(watch_cell("bounded", 100, 98, 102)),
                         one(watch_cell("non-heap-growth", 100, 98, 102)), {});
  EXPECT_TRUE(r.failed());
}

TEST(CheckRules, OtherVerdictChangesAreReportedNotFailed) {
  const auto r = compare(one(watch_cell("retention", 100, 98, 102)),
                         one(watch_cell("bounded", 100, 98, 102)), {});
  EXPECT_FALSE(r.failed());
  EXPECT_EQ(find(r, "verdict")->outcome, Outcome::kChanged);
  EXPECT_EQ(r.changed, 1);
}

TEST(CheckRules, PlateauUpBeyondToleranceAndOutsideBothIntervalsFails) {
  const auto r = compare(one(watch_cell("retention", 100, 98, 102)),
                         one(watch_cell("retention", 130, 127, 133)), {10.0, false});
  ASSERT_TRUE(r.failed());
  const Finding* f = find(r, kPlateauRss);
  EXPECT_EQ(f->outcome, Outcome::kRegression);
  EXPECT_EQ(f->change, "+30.0%");
  EXPECT_NE(f->message.find("plateau RSS"), std::string::npos);
}

TEST(CheckRules, PastThePointButInsideAnIntervalIsNoise) {
  // +15% beats a 10% tolerance, but the result's interval reaches back below the baseline point.
  const auto r = compare(one(watch_cell("retention", 100, 90, 110)),
                         one(watch_cell("retention", 115, 95, 135)), {10.0, false});
  EXPECT_EQ(find(r, kPlateauRss)->outcome, Outcome::kPass);
  EXPECT_NE(find(r, kPlateauRss)->message.find("within noise"), std::string::npos);
}

TEST(CheckRules, OutsideIntervalsButWithinToleranceIsFine) {
  const auto r = compare(one(watch_cell("retention", 100, 99.5, 100.5)),
                         one(watch_cell("retention", 105, 104.5, 105.5)), {10.0, false});
  EXPECT_EQ(find(r, kPlateauRss)->outcome, Outcome::kPass);
  // A tighter tolerance turns the same pair into a regression.
  const auto tight = compare(one(watch_cell("retention", 100, 99.5, 100.5)),
                             one(watch_cell("retention", 105, 104.5, 105.5)), {2.0, false});
  EXPECT_EQ(find(tight, kPlateauRss)->outcome, Outcome::kRegression);
}

TEST(CheckRules, ImprovementsAreReported) {
  const auto r = compare(one(watch_cell("leak", 200, 190, 210)),
                         one(watch_cell("retention", 100, 98, 102)), {});
  EXPECT_FALSE(r.failed());
  EXPECT_EQ(find(r, "verdict")->outcome, Outcome::kImprovement);
  EXPECT_EQ(find(r, kPlateauRss)->outcome, Outcome::kImprovement);
  EXPECT_GE(r.improvements, 2);
}

TEST(CheckRules, MissingCellsOnEitherSideAreReported) {
  Cell other = watch_cell("retention", 100, 98, 102);
  other.configuration = "jemalloc";
  const auto r = compare(one(watch_cell("retention", 100, 98, 102)), one(other), {});
  EXPECT_FALSE(r.failed());
  EXPECT_EQ(r.missing, 2);
  ASSERT_EQ(r.findings.size(), 2u);
  EXPECT_EQ(r.findings[0].key, "cache/glibc [watch]");
  EXPECT_NE(r.findings[0].message.find("not in the results"), std::string::npos);
  EXPECT_NE(r.findings[1].message.find("not in the baseline"), std::string::npos);
  // --strict: missing fails.
  EXPECT_TRUE(
      compare(one(watch_cell("retention", 100, 98, 102)), one(other), {10.0, true}).failed());
}

TEST(CheckRules, ANewCellThatLeaksFails) {
  // Not in the baseline is no pass for a leak (a new workload, a renamed one).
  Cell leak = watch_cell("leak", 100, 98, 102);
  leak.workload = "new-service";
  const auto r = compare(one(watch_cell("retention", 100, 98, 102)), one(leak), {});
  ASSERT_TRUE(r.failed());
  const Finding* f = find(r, "verdict");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->key, "new-service/glibc [watch]");
  EXPECT_EQ(f->outcome, Outcome::kRegression);
  EXPECT_NE(f->message.find("not in the baseline, and its verdict is leak"), std::string::npos);
  // The same for non-heap growth; a new cell that does not grow stays a reported MISSING.
  leak.verdict = formats::GrowthVerdict::kNonHeapGrowth;
  EXPECT_TRUE(compare(one(watch_cell("retention", 100, 98, 102)), one(leak), {}).failed());
  leak.verdict = formats::GrowthVerdict::kRetention;
  const auto fine = compare(one(watch_cell("retention", 100, 98, 102)), one(leak), {});
  EXPECT_FALSE(fine.failed());
  EXPECT_EQ(fine.missing, 2);
}

TEST(CheckRules, FailedResultCellIsMissingNotPassed) {
  Cell failed = watch_cell("", 0, 0, 0);
  failed.metrics.clear();
  failed.status = Status::kFailed;
  failed.status_detail = "exit 1";
  const auto r = compare(one(watch_cell("retention", 100, 98, 102)), one(failed), {});
  ASSERT_EQ(r.findings.size(), 1u);
  EXPECT_EQ(r.findings[0].outcome, Outcome::kMissing);
  EXPECT_NE(r.findings[0].message.find("exit 1"), std::string::npos);
}

TEST(CheckRules, MissingMetricIsReported) {
  Cell no_plateau = watch_cell("retention", 100, 98, 102);
  no_plateau.metrics.erase(kPlateauRss);
  const auto r = compare(one(watch_cell("retention", 100, 98, 102)), one(no_plateau), {});
  EXPECT_EQ(find(r, kPlateauRss)->outcome, Outcome::kMissing);
}

// Issue 24, part 5: a matrix's p99 latency is compared like the memory figures, with its own
// tolerance (latency_tolerance_pct, default 100 %: a p99 varies between machines far more than
// bytes do); a rise beyond it and outside both intervals fails.
matrix::Results latency_matrix(double p99_ns, double lo, double hi) {
  matrix::Results r;
  r.plan.workloads = {"larson"};
  r.plan.configurations = {"glibc"};
  matrix::Cell c;
  c.workload = "larson";
  c.configuration = "glibc";
  c.status = matrix::CellStatus::kOk;
  c.verified = true;
  c.exit_code = 0;
  c.wall_ms = 100;
  c.peak_rss_bytes = 10 * kMiB;
  c.measurements = {{"malloc_p99_ns", p99_ns}};
  r.cells = {c};
  matrix::Summary s;
  s.workload = "larson";
  s.configuration = "glibc";
  s.metric = "malloc_p99_ns";
  s.unit = "ns";
  s.value.n = 3;
  s.value.median = p99_ns;
  s.value.min = s.value.lo = lo;
  s.value.max = s.value.hi = hi;
  s.value.level = 0.75;
  r.summaries = {s};
  return r;
}

CellSet load_matrix_doc(const matrix::Results& r, const std::string& name) {
  const std::string path = ::testing::TempDir() + "/" + name + ".json";
  EXPECT_TRUE(write_file_atomic(path, matrix::to_json(r).dump()));
  auto set = load_cells(path);
  EXPECT_TRUE(set) << (set ? "" : set.error().message);
  return set ? *set : CellSet{};
}

TEST(CheckRules, MatrixLatencyP99RegressionFails) {
  const CellSet base = load_matrix_doc(latency_matrix(300, 280, 320), "base");
  ASSERT_EQ(base.cells.size(), 1u);
  ASSERT_TRUE(base.cells[0].metrics.count("malloc_p99_ns"));
  EXPECT_DOUBLE_EQ(*base.cells[0].metrics.at("malloc_p99_ns").hi, 320);
  EXPECT_TRUE(latency_metric("malloc_p99_ns"));
  EXPECT_TRUE(latency_metric("request_p99_ms"));
  EXPECT_FALSE(latency_metric(kPeakRss));
  // More than doubled and outside both intervals: a regression under the default.
  const auto r = compare(base, load_matrix_doc(latency_matrix(700, 680, 720), "slow"), {});
  ASSERT_TRUE(r.failed());
  const Finding* f = find(r, "malloc_p99_ns");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->outcome, Outcome::kRegression);
  EXPECT_EQ(f->result, "700 ns [680 ns – 720 ns]");
  EXPECT_NE(f->message.find("malloc p99 rose +133.3% beyond the 100% tolerance"), std::string::npos)
      << f->message;
  // Overlapping intervals: noise, not a regression.
  const auto noisy = compare(base, load_matrix_doc(latency_matrix(340, 290, 400), "noisy"), {});
  EXPECT_FALSE(noisy.failed());
  EXPECT_EQ(find(noisy, "malloc_p99_ns")->outcome, Outcome::kPass);
}

TEST(CheckRules, LatencyHasItsOwnToleranceAndBytesKeepTheirs) {
  // +66.7 %, outside both intervals: beyond the 10 % bytes tolerance, within the latency one
  // (a slower machine's p99), so it passes and says which tolerance it was judged by.
  const CellSet base = load_matrix_doc(latency_matrix(300, 280, 320), "base2");
  const CellSet slower = load_matrix_doc(latency_matrix(500, 480, 520), "slower");
  const auto r = compare(base, slower, {.tolerance_pct = 10});
  EXPECT_FALSE(r.failed()) << terminal_table(r);
  const Finding* f = find(r, "malloc_p99_ns");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->outcome, Outcome::kPass);
  EXPECT_EQ(f->message, "within the 100% tolerance");
  EXPECT_NE(terminal_table(r).find("(tolerance 10%, latency 100%)"), std::string::npos)
      << terminal_table(r);
  // A tighter latency tolerance turns the same pair into a regression ...
  const auto tight = compare(base, slower, {.tolerance_pct = 10, .latency_tolerance_pct = 50});
  EXPECT_TRUE(tight.failed());
  EXPECT_EQ(find(tight, "malloc_p99_ns")->outcome, Outcome::kRegression);
  // ... and a wide one leaves the bytes rule alone: +20 % plateau, outside both intervals, fails.
  const auto bytes =
      compare(one(watch_cell("bounded", 100, 98, 102)), one(watch_cell("bounded", 120, 118, 122)),
              {.tolerance_pct = 10, .latency_tolerance_pct = 500});
  EXPECT_TRUE(bytes.failed());
  EXPECT_EQ(find(bytes, kPlateauRss)->outcome, Outcome::kRegression);
  // Without a latency figure the summary names only the bytes tolerance.
  EXPECT_EQ(terminal_table(bytes).find("latency"), std::string::npos);
}

TEST(Baseline, RoundTrip) {
  Cell m;
  m.kind = Kind::kMatrix;
  m.workload = "touch";
  m.configuration = "jemalloc";
  m.threads = 4;
  m.metrics[kPeakRss] = {123.0, 120.0, 126.0};
  const CellSet set{{watch_cell("retention", 100, 98, 102), m}, {"a", "b"}};
  auto back = parse_baseline(baseline_json(set), "baseline.json");
  ASSERT_TRUE(back) << back.error().message;
  ASSERT_EQ(back->cells.size(), 2u);
  EXPECT_EQ(back->cells[1].key(), "touch/jemalloc x4");
  EXPECT_DOUBLE_EQ(*back->cells[1].metrics[kPeakRss].hi, 126.0);
  EXPECT_FALSE(back->cells[0].metrics[kPeakRss].lo);
  EXPECT_EQ(back->cells[0].verdict, formats::GrowthVerdict::kRetention);
  EXPECT_FALSE(back->cells[1].verdict);  // not classified: absent, written without one
  EXPECT_FALSE(compare(set, *back, {}).failed());
}

TEST(Baseline, MalformedIsAnErrorNamingTheFile) {
  auto r = parse_baseline(
      nlohmann::json{{"schema", "arenalab.baseline/2"}, {"cells", {{{"workload", "x"}}}}},
      "b.json");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "b.json: cells[0].configuration: missing (required)");
}

// The verdict is the closed set of growth verdicts: any other text (a matrix group's
// "allocator-growth", an empty string) is refused with the field's path, never read as "not
// classified".
TEST(Baseline, UnknownVerdictIsRefused) {
  for (const char* bad : {"allocator-growth", "", "Leak"}) {
    auto r = parse_baseline(
        nlohmann::json{
            {"schema", "arenalab.baseline/2"},
            {"cells", {{{"workload", "x"}, {"configuration", "glibc"}, {"verdict", bad}}}}},
        "b.json");
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().message,
              std::string("b.json: cells[0].verdict: expected leak, retention, bounded, "
                          "non-heap-growth, stable or unresolved, found the string \"") +
                  bad + "\"");
  }
}

TEST(TimelineMetrics, PlateauAfterTheKneeAndTheTail) {
  std::vector<double> t, rss;
  for (int i = 0; i < 100; ++i) {
    t.push_back(i * 100.0);
    rss.push_back(i < 30 ? i * kMiB : (i < 95 ? 30 * kMiB : 20 * kMiB));
  }
  const auto m = timeline_metrics(t, rss, 3000.0);
  ASSERT_TRUE(m.plateau && m.after_frees && m.peak);
  EXPECT_DOUBLE_EQ(m.plateau->value, 30 * kMiB);
  EXPECT_DOUBLE_EQ(m.after_frees->value, 20 * kMiB);
  EXPECT_DOUBLE_EQ(m.peak->value, 30 * kMiB);
  EXPECT_FALSE(timeline_metrics({}, {}, std::nullopt).plateau);  // no RSS: absent
}

// Issue 24: the interposer's last sample is written at exit, after static destructors and
// atexit handlers freed what the program held; "RSS after frees" is the sample before it. The
// file marks it "final": true (after it, the purge probe's line when one ran).
TEST(TimelineMetrics, AfterFreesLeavesOutTheExitTeardownSample) {
  std::string text =
      "{\"schema\":\"arenalab.timeline/1\",\"pid\":1,\"command\":[\"x\"],\"allocator\":"
      "{\"name\":\"glibc\",\"backend\":\"glibc\",\"library\":\"\",\"version\":\"\","
      "\"verified\":true},\"mode\":\"stats\",\"interval_ms\":100}\n";
  for (int i = 0; i < 40; ++i)
    text += "{\"t_ms\":" + std::to_string(i * 100) +
            ",\"rss\":" + std::to_string(static_cast<long long>((i < 30 ? 30 : 20) * kMiB)) + "}\n";
  const std::string teardown = "{\"t_ms\":4000,\"rss\":5242880,\"final\":true}\n";
  const std::string purge = "{\"t_ms\":4001,\"rss\":4194304,\"after_purge\":true}\n";
  const std::string path = ::testing::TempDir() + "/teardown.jsonl";
  auto metrics = [&](const std::string& body) {
    EXPECT_TRUE(write_file_atomic(path, body));
    auto tl = timeline::read_timeline(path);
    EXPECT_TRUE(tl) << tl.error().message;
    return timeline_metrics(*tl, std::nullopt, timeline::ends_with_teardown(path));
  };
  for (const std::string& tail : {teardown, teardown + purge}) {
    const auto m = metrics(text + tail);
    ASSERT_TRUE(m.after_frees && m.plateau && m.peak);
    EXPECT_DOUBLE_EQ(m.after_frees->value, 20 * kMiB);  // not the 5 MiB of the teardown
    EXPECT_DOUBLE_EQ(*m.after_frees->lo, 20 * kMiB);
    EXPECT_DOUBLE_EQ(m.peak->value, 30 * kMiB);
  }
  // Without the mark (a /proc-sampled timeline) the last sample is the program's own.
  EXPECT_DOUBLE_EQ(metrics(text + "{\"t_ms\":4000,\"rss\":5242880}\n").after_frees->value,
                   5 * kMiB);
  // A cut last line (a killed target): no teardown sample was written.
  EXPECT_FALSE(timeline::ends_with_teardown(path + ".missing"));
  EXPECT_TRUE(write_file_atomic(path, text + teardown + "{\"t_ms\":41"));
  EXPECT_FALSE(timeline::ends_with_teardown(path));
}

TEST(Outputs, JunitHasOneCasePerCellAndMetricAndMarkdownLeadsWithFailures) {
  const auto r = compare(one(watch_cell("retention", 100, 98, 102)),
                         one(watch_cell("leak", 130, 127, 133)), {});
  const std::string xml = junit_xml(r);
  EXPECT_NE(xml.find("tests=\"3\" failures=\"3\""), std::string::npos) << xml;
  EXPECT_NE(xml.find("classname=\"arenalab.cache/glibc [watch]\" name=\"verdict\""),
            std::string::npos);
  const std::string md = markdown(r);
  const auto sep = md.find("|---");
  ASSERT_NE(sep, std::string::npos);
  EXPECT_EQ(md.substr(md.find('\n', sep) + 1, 12), "| **FAIL** |");
  EXPECT_NE(md.find("memory regression"), std::string::npos);
  EXPECT_NE(terminal_table(r).find("FAILED: 3 regression(s)"), std::string::npos);
}

}  // namespace
}  // namespace arenalab::check
