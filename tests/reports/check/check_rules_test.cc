// SPDX-License-Identifier: Apache-2.0
// arenalab check rules on synthetic baseline/result pairs: verdict change, plateau up beyond
// tolerance, within noise, missing cell, improvement; baseline round trip; the outputs.
#include <gtest/gtest.h>

#include "arenalab/check/check.h"

namespace arenalab::check {
namespace {
constexpr double kMiB = 1024.0 * 1024.0;

Cell watch_cell(const std::string& verdict, double plateau_mib, double lo_mib, double hi_mib) {
  Cell c;
  c.kind = Kind::kWatch;
  c.workload = "cache";
  c.configuration = "glibc";
  c.verdict = verdict;
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
  leak.verdict = "non-heap-growth";
  EXPECT_TRUE(compare(one(watch_cell("retention", 100, 98, 102)), one(leak), {}).failed());
  leak.verdict = "retention";
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
  EXPECT_EQ(back->cells[0].verdict, "retention");
  EXPECT_FALSE(compare(set, *back, {}).failed());
}

TEST(Baseline, MalformedIsAnErrorNamingTheFile) {
  auto r = parse_baseline(
      nlohmann::json{{"schema", "arenalab.baseline/2"}, {"cells", {{{"workload", "x"}}}}},
      "b.json");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "b.json: cells[0].configuration: missing (required)");
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
