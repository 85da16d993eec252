// SPDX-License-Identifier: Apache-2.0
// verdict.json's one reader against its one writer: real verdicts from the classifier written
// through analysis::to_verdict and read back field by field; bad files give one line naming the
// file.
#include "arenalab/formats/verdict.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "arenalab/analysis/verdict_json.h"
#include "arenalab/formats/fleet.h"
#include "arenalab/formats/json.h"

namespace arenalab {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;

constexpr double kMiB = 1024.0 * 1024.0;

// 1 s cadence for `n` s; `f(t_s)` gives the bytes.
template <typename F>
analysis::Series make_series(int n, F f) {
  analysis::Series s;
  for (int i = 0; i < n; ++i) {
    s.t_ms.push_back(i * 1000.0);
    s.value.push_back(f(i));
  }
  return s;
}

// A number the analysis computed: present in the file exactly when finite.
void expect_figure(const std::optional<double>& read, double written, const char* what) {
  if (std::isfinite(written)) {
    ASSERT_TRUE(read) << what;
    EXPECT_DOUBLE_EQ(*read, written) << what;
  } else {
    EXPECT_FALSE(read) << what;
  }
}

void expect_trend(const std::optional<verdict_file::Trend>& r, const analysis::Trend& w) {
  ASSERT_TRUE(r);
  expect_figure(r->t0_ms, w.t0_ms, "t0_ms");
  expect_figure(r->t1_ms, w.t1_ms, "t1_ms");
  EXPECT_EQ(r->blocks, w.blocks);
  expect_figure(r->slope_bytes_per_s, w.slope, "slope");
  expect_figure(r->slope_lo, w.slope_lo, "slope_lo");
  expect_figure(r->slope_hi, w.slope_hi, "slope_hi");
  expect_figure(r->p_median, w.p_median, "p_median");
  expect_figure(r->growth_pct, w.growth_pct, "growth_pct");
  EXPECT_EQ(r->rising, w.rising);
}

// Writes what the cli writes (the one writer) and reads it back.
verdict_file::Verdict round_trip(const analysis::Classification& c, const analysis::Options& o,
                                 const std::string& name) {
  const fs::path path = fs::path(::testing::TempDir()) / (name + "_verdict.json");
  EXPECT_TRUE(
      verdict_file::write_verdict(path.string(), analysis::to_verdict(c, o, "timeline.jsonl")));
  auto v = verdict_file::read_verdict(path.string());
  EXPECT_TRUE(v) << (v ? "" : v.error().message);
  return v ? *v : verdict_file::Verdict{};
}

std::string error_of(const json& doc);

void expect_same(const verdict_file::Verdict& v, const analysis::Classification& c) {
  EXPECT_EQ(v.verdict, c.verdict);
  EXPECT_DOUBLE_EQ(v.confidence, c.confidence);
  EXPECT_EQ(v.reason, c.reason);
  EXPECT_EQ(v.held_signal, c.held_signal);
  EXPECT_EQ(v.rss_signal, c.rss_signal);
  EXPECT_EQ(v.source, "timeline.jsonl");
  ASSERT_EQ(v.signals.size(), c.evidence.size());
  for (const auto& e : c.evidence) {
    SCOPED_TRACE(e.signal);
    ASSERT_EQ(v.signals.count(e.signal), 1u);
    const verdict_file::SignalEvidence& s = v.signals.at(e.signal);
    if (verdict_file::unjudged_what(e.signal).empty()) {
      EXPECT_EQ(s.verdict, e.v.verdict);
    } else {  // retained, gap: described without a verdict of their own
      EXPECT_FALSE(s.verdict);
      EXPECT_FALSE(s.confidence);
    }
    EXPECT_EQ(s.reason, e.v.reason);
    EXPECT_EQ(s.samples, static_cast<std::int64_t>(e.v.samples));
    if (e.v.samples == 0) continue;
    expect_figure(s.level_bytes, e.v.level, "level_bytes");
    expect_figure(s.growth_pct, e.v.growth_pct, "growth_pct");
    if (e.v.whole.blocks > 0) {
      expect_trend(s.trend, e.v.whole);
      ASSERT_TRUE(s.knee);
      EXPECT_EQ(s.knee->found, e.v.knee.found);
      expect_figure(s.knee->t_ms, e.v.knee.t_ms, "knee t_ms");
    }
    EXPECT_EQ(s.after_knee.has_value(), e.v.tail.has_value());
    if (e.v.tail) expect_trend(s.after_knee, *e.v.tail);
  }
}

TEST(VerdictFile, LeakWithALimitRoundTrips) {
  analysis::Signals sig;
  sig.rss = make_series(120, [](int t) { return 50 * kMiB + t * 1.0 * kMiB + (t % 3) * 4096.0; });
  sig.live_bytes = make_series(120, [](int t) { return 10 * kMiB + t * 1.0 * kMiB; });
  analysis::Options o;
  o.limit_bytes = 1024 * kMiB;
  const analysis::Classification c = analysis::classify(sig, o);
  ASSERT_EQ(analysis::verdict_name(c.verdict), std::string("leak"));
  const verdict_file::Verdict v = round_trip(c, o, "leak");
  expect_same(v, c);
  ASSERT_TRUE(v.limit_bytes);
  EXPECT_DOUBLE_EQ(*v.limit_bytes, 1024 * kMiB);
  expect_figure(v.time_to_limit_s, c.time_to_limit_s.value_or(NAN), "time_to_limit_s");
  ASSERT_TRUE(v.rss_evidence());
  EXPECT_GT(*v.rss_evidence()->trend->slope_bytes_per_s, 0.9 * kMiB);
}

TEST(VerdictFile, RetentionKneeRoundTrips) {
  analysis::Signals sig;
  // RSS climbs for 40 s and plateaus; what the program holds climbs and returns to baseline.
  sig.rss = make_series(120, [](int t) { return (20 + 2.0 * std::min(t, 40)) * kMiB; });
  sig.live_bytes = make_series(120, [](int t) { return (t < 40 ? 2.0 * t : 1.0) * kMiB; });
  const analysis::Options o;
  const analysis::Classification c = analysis::classify(sig, o);
  const verdict_file::Verdict v = round_trip(c, o, "retention");
  expect_same(v, c);
  const auto& rss = c.evidence.front();
  ASSERT_EQ(v.knee_ms().has_value(), rss.v.knee.found) << formats::verdict_name(v.verdict);
  EXPECT_FALSE(v.limit_bytes);
  EXPECT_FALSE(v.projection);
}

// Issue 22 item 8: jemalloc's retained (address space) and the gap (RSS minus what is held)
// are described with their figures but never judged, even where the series alone would read as
// a leak: no verdict, no confidence, "judged": false and what they are. An older file that gave
// them a verdict reads the same.
TEST(VerdictFile, RetainedAndGapAreDescribedNotJudged) {
  analysis::Signals sig;
  // The program leaks; RSS follows it with a rising gap (16 KiB/s of page-table-like overhead),
  // and jemalloc's retained address space climbs 4 MiB/s: alone, each reads as a leak.
  sig.rss = make_series(120, [](int t) { return (30 + 1.0 * t) * kMiB + t * 16384.0; });
  sig.live_bytes = make_series(120, [](int t) { return (10 + 1.0 * t) * kMiB; });
  sig.retained = make_series(120, [](int t) { return (64 + 4.0 * t) * kMiB; });
  const analysis::Options o;
  const analysis::Classification c = analysis::classify(sig, o);
  bool retained_alone_leaks = false;
  for (const auto& e : c.evidence)
    if (e.signal == "retained") retained_alone_leaks = e.v.verdict == analysis::Verdict::kLeak;
  ASSERT_TRUE(retained_alone_leaks) << "the fixture no longer exercises the rule";

  const json j = verdict_file::to_json(analysis::to_verdict(c, o, "timeline.jsonl"));
  for (const char* name : {"retained", "gap"}) {
    SCOPED_TRACE(name);
    const json& s = j["signals"][name];
    EXPECT_FALSE(s.contains("verdict")) << s;
    EXPECT_FALSE(s.contains("confidence")) << s;
    EXPECT_EQ(s["judged"], false);
    EXPECT_EQ(s["what"], std::string(verdict_file::unjudged_what(name)));
    EXPECT_TRUE(s.contains("trend")) << "the figures stay";
  }
  EXPECT_EQ(j["signals"]["retained"]["what"], "unmapped address space (not memory)");
  EXPECT_EQ(j["signals"]["gap"]["what"], "derived: RSS minus what is held");
  EXPECT_EQ(j["signals"]["rss"]["verdict"], "leak");
  EXPECT_FALSE(j["signals"]["rss"].contains("judged"));

  // Written, read, written again: the same document; the typed value round-trips equal.
  const verdict_file::Verdict v = round_trip(c, o, "unjudged");
  expect_same(v, c);
  EXPECT_EQ(v, analysis::to_verdict(c, o, "timeline.jsonl"));
  EXPECT_EQ(verdict_file::to_json(v), j);
  EXPECT_GT(*v.signals.at("retained").trend->slope_bytes_per_s, 3 * kMiB);

  // A file written before the rule, with a verdict on retained: read without it.
  json old = j;
  old["signals"]["retained"]["verdict"] = "leak";
  old["signals"]["retained"]["confidence"] = 0.9;
  old["signals"]["retained"].erase("judged");
  auto back = verdict_file::parse_verdict(old, "old/verdict.json");
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_FALSE(back->signals.at("retained").verdict);
  EXPECT_FALSE(back->signals.at("retained").confidence);
  // A judged signal still needs its verdict.
  old["signals"]["rss"].erase("verdict");
  EXPECT_NE(error_of(old).find("signals.rss.verdict: missing"), std::string::npos);
  // Verdicts are the closed set: any other name is refused, naming the field and the set.
  old = verdict_file::to_json(*back);
  old["signals"]["rss"]["verdict"] = "growing";
  EXPECT_NE(error_of(old).find("signals.rss.verdict: expected leak, retention, bounded, "
                               "non-heap-growth, stable or unresolved, found the string "
                               "\"growing\""),
            std::string::npos)
      << error_of(old);
  old = verdict_file::to_json(*back);
  old["verdict"] = "Leak";
  EXPECT_NE(error_of(old).find("dir/verdict.json: verdict: expected leak, retention"),
            std::string::npos)
      << error_of(old);
  // retention.kind is a closed set too: one line naming the field and the kinds.
  old = verdict_file::to_json(*back);
  old["retention"] = {{"kind", "fragmented"}, {"kept_bytes", 1.0}};
  EXPECT_NE(error_of(old).find("retention.kind: expected purgeable, fragmentation or unknown, "
                               "found \"fragmented\""),
            std::string::npos)
      << error_of(old);
  old["retention"]["kind"] = "purgeable";
  auto kind = verdict_file::parse_verdict(old, "dir/verdict.json");
  ASSERT_TRUE(kind) << kind.error().message;
  EXPECT_EQ(kind->retention->kind, formats::RetentionKind::kPurgeable);
}

// The cli's projection fields (classify_output.h add_projection_json) read back.
TEST(VerdictFile, ProjectionFields) {
  json doc = {
      {"schema", "arenalab.verdict/1"},
      {"verdict", "leak"},
      {"confidence", 0.9},
      {"signals", json::object()},
      {"rate_bytes_per_s", 10.0},
      {"rate_bytes_per_hour", 36000.0},
      {"rate_bytes_per_day", 864000.0},
      {"projection", {{"limit_bytes", 1e9}, {"limit_source", "--limit"}, {"time_to_limit_s", 5e7}}},
      {"run", {{"command", {"./a"}}, {"samples", 3}}}};
  auto v = verdict_file::parse_verdict(doc, "d/verdict.json");
  ASSERT_TRUE(v) << v.error().message;
  EXPECT_DOUBLE_EQ(*v->rate_bytes_per_day, 864000.0);
  ASSERT_TRUE(v->projection);
  EXPECT_EQ(v->projection->limit_source, "--limit");
  EXPECT_DOUBLE_EQ(v->projection->time_to_limit_s, 5e7);
  EXPECT_EQ(v->rss_evidence(), nullptr);
  EXPECT_FALSE(v->knee_ms());
  ASSERT_TRUE(v->run);
  EXPECT_EQ(v->run->command, std::vector<std::string>{"./a"});
}

// The parts the cli and attach add (run, tree, attach, fleet): written by the one writer,
// read back equal; a real classification underneath.
TEST(VerdictFile, EveryPartRoundTrips) {
  analysis::Signals s;
  s.rss = make_series(60, [](int t) { return 100 * kMiB + t * 2 * kMiB; });
  s.live_bytes = make_series(60, [](int t) { return 80 * kMiB + t * 2 * kMiB; });
  analysis::Options o;
  o.limit_bytes = 4e9;
  auto v = analysis::to_verdict(analysis::classify(s, o), o, "t/timeline.jsonl");
  v.rate_bytes_per_s = 2 * kMiB;
  v.rate_bytes_per_hour = 2 * kMiB * 3600;
  v.rate_bytes_per_day = 2 * kMiB * 86400;
  v.projection = verdict_file::Projection{4e9, "--limit", 1800};
  v.retention = verdict_file::Retention{formats::RetentionKind::kFragmentation,
                                        150 * kMiB,
                                        "active - allocated 138 MiB",
                                        "activedefrag yes",
                                        138 * kMiB,
                                        7 * kMiB,
                                        std::nullopt};
  v.run = verdict_file::RunPart{{"./server", "--port", "\\xff"},
                                "jemalloc",
                                formats::Backend::kJemalloc,
                                true,
                                "killed by SIGINT",
                                60,
                                "/tmp/o",
                                "--duration 10 s reached"};
  v.tree = verdict_file::TreePart{formats::GrowthVerdict::kLeak, 1, 42, {}, 2, 1};
  v.tree->processes.push_back(
      {42, {"./server"}, 60, formats::GrowthVerdict::kLeak, 1, "live bytes rise"});
  v.tree->processes.push_back(
      {41, {"sh", "-c", "x"}, 60, formats::GrowthVerdict::kStable, 0.5, ""});
  v.attach = verdict_file::AttachPart{
      42, {"./server"}, attach_file::Level::kRss, 60, attach_file::Ended::kDuration, 6000.5, "/o"};
  v.fleet = verdict_file::FleetPart{{{"job", "redis"}, {"instance", "a:1"}},
                                    verdict_file::Shown::kLeak,
                                    false,
                                    60,
                                    2,
                                    1,
                                    0,
                                    2 * kMiB * 86400};
  const fs::path path = fs::path(::testing::TempDir()) / "parts_verdict.json";
  ASSERT_TRUE(verdict_file::write_verdict(path.string(), v));
  auto back = verdict_file::read_verdict(path.string());
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->verdict, formats::GrowthVerdict::kLeak);
  EXPECT_EQ(*back, v);

  // The fleet document holds such verdicts; a bad one is named by its index.
  fleet_file::Document d{"http://127.0.0.1:9090", "redis_memory_used_bytes", "", "", 600, 1, {}};
  d.series = {v, v};
  d.series[1].verdict = formats::GrowthVerdict::kBounded;
  const fs::path fp = fs::path(::testing::TempDir()) / "fleet.json";
  ASSERT_TRUE(fleet_file::write_fleet(fp.string(), d));
  auto fb = fleet_file::read_fleet(fp.string());
  ASSERT_TRUE(fb) << fb.error().message;
  EXPECT_EQ(*fb, d);
  json bad = fleet_file::to_json(d);
  bad["series"][1]["confidence"] = 7;
  auto err = fleet_file::parse_fleet(bad, "f.json");
  ASSERT_FALSE(err);
  EXPECT_EQ(err.error().message.rfind("f.json: series[1]: confidence: expected", 0), 0u)
      << err.error().message;
  // The shown verdict and the run's backend are closed sets: other text is refused by name.
  bad = fleet_file::to_json(d);
  bad["series"][0]["fleet"]["shown"] = "creeping";
  err = fleet_file::parse_fleet(bad, "f.json");
  ASSERT_FALSE(err);
  EXPECT_EQ(err.error().message,
            "f.json: series[0]: fleet.shown: expected leak, retention, bounded, non-heap-growth, "
            "stable, unresolved, growth or plateau, found the string \"creeping\"");
  bad = fleet_file::to_json(d);
  bad["series"][0]["run"]["backend"] = "ptmalloc";
  err = fleet_file::parse_fleet(bad, "f.json");
  ASSERT_FALSE(err);
  EXPECT_EQ(err.error().message,
            "f.json: series[0]: run.backend: expected glibc, jemalloc, mimalloc, tcmalloc, "
            "tbbmalloc or unknown, found the string \"ptmalloc\"");
}

TEST(FleetShown, RssAloneNamesGrowthAndPlateauAndEveryNameReadsBack) {
  using formats::GrowthVerdict;
  using verdict_file::Shown;
  EXPECT_EQ(verdict_file::shown_of(GrowthVerdict::kLeak, true), Shown::kGrowth);
  EXPECT_EQ(verdict_file::shown_of(GrowthVerdict::kBounded, true), Shown::kPlateau);
  EXPECT_EQ(verdict_file::shown_of(GrowthVerdict::kStable, true), Shown::kStable);
  for (GrowthVerdict v : formats::kAllGrowthVerdicts) {
    const Shown s = verdict_file::shown_of(v, false);
    EXPECT_STREQ(verdict_file::shown_name(s), formats::verdict_name(v));
    EXPECT_EQ(verdict_file::parse_shown(verdict_file::shown_name(s)), s);
  }
  EXPECT_EQ(verdict_file::parse_shown("growth"), Shown::kGrowth);
  EXPECT_EQ(verdict_file::parse_shown("plateau"), Shown::kPlateau);
  EXPECT_FALSE(verdict_file::parse_shown("allocator-growth"));
}

std::string error_of(const json& doc) {
  auto v = verdict_file::parse_verdict(doc, "dir/verdict.json");
  EXPECT_FALSE(v);
  if (v) return "";
  const std::string m = v.error().message;
  EXPECT_EQ(m.find('\n'), std::string::npos) << m;
  EXPECT_EQ(m.rfind("dir/verdict.json: ", 0), 0u) << m;
  return m;
}

json good() {
  return {{"schema", "arenalab.verdict/1"},
          {"verdict", "bounded"},
          {"confidence", 0.5},
          {"rss_signal", "rss"},
          {"signals",
           {{"rss",
             {{"verdict", "bounded"},
              {"samples", 10},
              {"knee", {{"found", true}, {"t_ms", 3000.0}}}}}}}};
}

TEST(VerdictFile, GoodMinimalDocument) {
  auto v = verdict_file::parse_verdict(good(), "dir/verdict.json");
  ASSERT_TRUE(v) << v.error().message;
  EXPECT_DOUBLE_EQ(*v->knee_ms(), 3000.0);
}

TEST(VerdictFile, BadInputIsOneLineNamingTheFileAndField) {
  json j = good();
  j["signals"]["rss"]["knee"]["t_ms"] = "soon";
  const std::string knee = error_of(j);
  EXPECT_NE(knee.find("signals.rss.knee.t_ms: expected a"), std::string::npos) << knee;
  EXPECT_NE(knee.find("number"), std::string::npos) << knee;
  j = good();
  j["confidence"] = "high";
  EXPECT_NE(error_of(j).find("confidence"), std::string::npos);
  j = good();
  j.erase("verdict");
  EXPECT_NE(error_of(j).find("verdict: missing"), std::string::npos);
  j = good();
  j.erase("schema");
  EXPECT_NE(error_of(j).find("expected \"schema\": \"arenalab.verdict/1\", found no schema"),
            std::string::npos);
  j = good();
  j["schema"] = "arenalab.verdict/9";
  EXPECT_NE(error_of(j).find("found \"arenalab.verdict/9\""), std::string::npos);
  j = good();
  j["signals"] = json::array();
  EXPECT_NE(error_of(j).find("signals: expected an object"), std::string::npos);
}

TEST(VerdictFile, UnreadableFileNamesIt) {
  const fs::path path = fs::path(::testing::TempDir()) / "broken_verdict.json";
  std::ofstream(path) << "{\"schema\": ";
  auto v = verdict_file::read_verdict(path.string());
  ASSERT_FALSE(v);
  EXPECT_NE(v.error().message.find(path.string()), std::string::npos) << v.error().message;
}

}  // namespace
}  // namespace arenalab
