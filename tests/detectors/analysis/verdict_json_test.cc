// SPDX-License-Identifier: Apache-2.0
// Timeline -> signals and verdict.json (arenalab.verdict/1): absent figures stay absent.
#include <gtest/gtest.h>

#include "arenalab/analysis/timeline_signals.h"
#include "arenalab/analysis/verdict_json.h"
#include "synthetic.h"

namespace arenalab::analysis {
namespace {

TEST(VerdictJson, SignalsFromTimelineKeepAbsentFiguresEmpty) {
  timeline::Timeline tl;
  for (int i = 0; i < 50; ++i) {
    timeline::Sample s;
    s.t_ms = i * 100.0;
    s.rss = 1e8 + 1e6 * i;
    s.live_bytes = 5e7 + 1e6 * i;
    tl.samples.push_back(s);
  }
  const Signals sig = signals_from_timeline(tl);
  EXPECT_EQ(sig.rss.value.size(), 50u);
  EXPECT_EQ(sig.live_bytes.value.size(), 50u);
  EXPECT_TRUE(sig.allocated.empty());
  EXPECT_TRUE(sig.mmap_bytes.empty());
  EXPECT_TRUE(sig.rss_file.empty());  // not measured: absent, never 0
  EXPECT_TRUE(sig.rss_shmem.empty());
  EXPECT_TRUE(sig.vm_size.empty());
  Options o;
  o.limit_bytes = 4e8;
  const auto c = classify(sig, o);
  EXPECT_EQ(c.verdict, Verdict::kLeak) << c.reason;
  const auto j = to_json(c, o, "x/timeline.jsonl");
  EXPECT_EQ(j["schema"], "arenalab.verdict/1");
  EXPECT_EQ(j["verdict"], "leak");
  EXPECT_EQ(j["source"], "x/timeline.jsonl");
  EXPECT_TRUE(j["signals"].contains("rss"));
  EXPECT_TRUE(j["signals"].contains("live_bytes"));
  EXPECT_TRUE(j["signals"].contains("gap"));
  EXPECT_FALSE(j["signals"].contains("allocated"));
  const auto& live = j["signals"]["live_bytes"];
  EXPECT_GT(live["trend"]["slope_bytes_per_s"].get<double>(), 0);
  EXPECT_EQ(live["trend"]["slope_interval_bytes_per_s"].size(), 2u);
  EXPECT_TRUE(j.contains("time_to_limit_s"));
}

// RSS's file-backed and shared parts: their own fields, else the gauges attach's level rss wrote
// them as before they had fields (both readers: the whole file and the streaming one).
TEST(VerdictJson, RssPartsFromTheirFieldsOrFromOldAttachGauges) {
  timeline::Timeline now, old;
  for (int i = 0; i < 20; ++i) {
    timeline::Sample s;
    s.t_ms = i * 100.0;
    s.rss = 3e6 + i;
    timeline::Sample o = s;
    s.rss_file = 2e6 + i;
    s.rss_shmem = 1e6;
    o.gauges["rss_file"] = 2e6 + i;
    o.gauges["rss_shmem"] = 1e6;
    now.samples.push_back(s);
    old.samples.push_back(o);
  }
  for (const auto* tl : {&now, &old}) {
    const Signals sig = signals_from_timeline(*tl);
    ASSERT_EQ(sig.rss_file.value.size(), 20u);
    EXPECT_EQ(sig.rss_file.value.back(), 2e6 + 19);
    ASSERT_EQ(sig.rss_shmem.value.size(), 20u);
    const SignalRow r = signal_row(tl->samples.back());
    EXPECT_EQ(r.v[kRssFileIdx], 2e6 + 19);
    EXPECT_EQ(r.v[kRssShmemIdx], 1e6);
  }
}

TEST(VerdictJson, TooFewSamplesHasNoTrend) {
  Series s{{0, 100, 200}, {1, 2, 3}};
  const auto j = to_json(classify_series(s));
  EXPECT_EQ(j["verdict"], "unresolved");
  EXPECT_FALSE(j.contains("trend"));
}

// Where a leak beneath a sawtooth starts (Trend::onset_ms, Issue19.OnsetBeneathASawtoothSaysWhere-
// TheLeakStarts' series: the default seed's draw 723) is written in the signal's trend as
// onset_ms and read back; a trend read over the whole window has none.
TEST(VerdictJson, Issue19OnsetIsWrittenInTheTrend) {
  const auto c = synthetic::corpus_leak_draw(20260505, 723);
  ASSERT_EQ(c.shape, "leak/steps+late+sawtooth");
  const Options o;
  const auto v = classify(c.signals, o);
  const auto doc = verdict_file::to_json(to_verdict(v, o));
  auto back = verdict_file::parse_verdict(doc, "verdict.json");
  ASSERT_TRUE(back.ok()) << back.error().message;
  int with_onset = 0, without = 0;
  for (const auto& e : v.evidence) {
    const auto& trend = doc["signals"][e.signal]["trend"];
    if (!e.v.whole.onset_ms) {
      without += trend.is_object() && !trend.contains("onset_ms");
      continue;
    }
    ++with_onset;
    ASSERT_TRUE(trend.contains("onset_ms")) << e.signal << ": " << trend.dump();
    EXPECT_EQ(trend["onset_ms"].get<double>(), *e.v.whole.onset_ms) << e.signal;
    ASSERT_TRUE(back->signals.at(e.signal).trend) << e.signal;
    EXPECT_EQ(back->signals.at(e.signal).trend->onset_ms, e.v.whole.onset_ms) << e.signal;
  }
  EXPECT_GE(with_onset, 1) << v.reason;
  EXPECT_GE(without, 1) << v.reason;
}

}  // namespace
}  // namespace arenalab::analysis
