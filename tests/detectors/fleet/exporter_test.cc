// SPDX-License-Identifier: Apache-2.0
// The exporter of run|watch --metrics: what /metrics serves after an update (names, units,
// labels, the verdict state set, figures not measured left out), parsed back line by line and by
// promtool check metrics where Debian's promtool is installed; bad addresses refused.
#include "arenalab/fleet/exporter.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>

#include "arenalab/fleet/fleet.h"

namespace arenalab::fleet {
namespace {

// name{labels} value -> value, for every sample line of a text exposition.
std::map<std::string, double> samples(const std::string& text) {
  std::map<std::string, double> out;
  std::istringstream in(text);
  std::string line;
  // The text format: metric_name [{label="value",...}] value [timestamp]
  static const std::regex kLine(R"(^([a-zA-Z_:][a-zA-Z0-9_:]*(\{[^}]*\})?) (\S+)( \d+)?$)");
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::smatch m;
    EXPECT_TRUE(std::regex_match(line, m, kLine)) << "not a sample line: " << line;
    if (!m.empty()) out[m[1]] = std::strtod(m[3].str().c_str(), nullptr);
  }
  return out;
}

timeline::Timeline make_timeline() {
  timeline::Timeline tl;
  for (int i = 0; i < 3; ++i) {
    timeline::Sample s;
    s.t_ms = i * 100;
    s.rss = 30e6 + i;
    s.rss_anon = 20e6;
    s.live_bytes = 12e6;
    s.live_allocs = 250;
    s.mmap_bytes = 0;
    s.allocated = 12.5e6;
    s.gauges["store_bytes"] = 4096;
    tl.samples.push_back(s);
  }
  return tl;
}

TEST(FleetExporter, ServesTheTimelineAndTheVerdict) {
  auto e = Exporter::start("127.0.0.1:0", "wl_leak", "jemalloc");
  ASSERT_TRUE(e) << e.error().message;
  const int port = (*e)->port();
  ASSERT_GT(port, 0);
  analysis::Classification c;
  c.verdict = analysis::Verdict::kLeak;
  c.confidence = 0.75;
  c.held_signal = "live_bytes";
  analysis::SignalEvidence ev;
  ev.signal = "live_bytes";
  ev.v.whole.slope = 4096;
  c.evidence.push_back(ev);
  (*e)->update(4242, make_timeline(), c);

  auto r = http_get("http://127.0.0.1:" + std::to_string(port) + "/metrics", 5);
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->status, 200);
  const auto m = samples(r->body);
  // prometheus-cpp writes labels sorted by name.
  const std::string l = R"({allocator="jemalloc",command="wl_leak",pid="4242")";
  auto at = [&](const std::string& name, const std::string& extra = "") {
    std::string key = name + l + (extra.empty() ? "}" : "," + extra + "}");
    if (extra.rfind("name=", 0) == 0)
      key = name + R"({allocator="jemalloc",command="wl_leak",)" + extra + R"(,pid="4242"})";
    auto it = m.find(key);
    EXPECT_NE(it, m.end()) << key << " missing in\n" << r->body;
    return it == m.end() ? NAN : it->second;
  };
  EXPECT_EQ(at("arenalab_rss_bytes"), 30e6 + 2);  // the last sample
  EXPECT_EQ(at("arenalab_rss_anon_bytes"), 20e6);
  EXPECT_EQ(at("arenalab_live_bytes"), 12e6);
  EXPECT_EQ(at("arenalab_live_allocations"), 250);
  EXPECT_EQ(at("arenalab_mmap_bytes"), 0);
  EXPECT_EQ(at("arenalab_allocator_allocated_bytes"), 12.5e6);
  EXPECT_EQ(at("arenalab_program_bytes", R"(name="store_bytes")"), 4096);
  EXPECT_EQ(at("arenalab_verdict", R"(verdict="leak")"), 1);
  for (const char* v : {"retention", "bounded", "non-heap-growth", "stable", "unresolved"})
    EXPECT_EQ(at("arenalab_verdict", std::string("verdict=\"") + v + "\""), 0) << v;
  EXPECT_DOUBLE_EQ(at("arenalab_verdict_confidence_ratio"), 0.75);
  EXPECT_DOUBLE_EQ(at("arenalab_leak_rate_bytes_per_second"), 4096);
  // Not measured in this timeline: not exported (never 0 for "absent").
  EXPECT_EQ(r->body.find("arenalab_allocator_active_bytes{"), std::string::npos);
  EXPECT_EQ(r->body.find("arenalab_allocator_retained_bytes{"), std::string::npos);
  EXPECT_NE(r->body.find("# TYPE arenalab_rss_bytes gauge"), std::string::npos);

  // A new verdict moves the state set.
  c.verdict = analysis::Verdict::kBounded;
  (*e)->update(4242, make_timeline(), c);
  auto r2 = http_get("http://127.0.0.1:" + std::to_string(port) + "/metrics", 5);
  ASSERT_TRUE(r2);
  const auto m2 = samples(r2->body);
  EXPECT_EQ(m2.at("arenalab_verdict" + l + R"(,verdict="leak"})"), 0);
  EXPECT_EQ(m2.at("arenalab_verdict" + l + R"(,verdict="bounded"})"), 1);
  EXPECT_EQ(m2.at("arenalab_leak_rate_bytes_per_second" + l + "}"), 0);

  // promtool (Debian's prometheus package) checks the exposition and the naming conventions.
  if (std::system("command -v promtool >/dev/null 2>&1") != 0) return;
  const std::string file = ::testing::TempDir() + "fleet_exporter_metrics.txt";
  std::ofstream(file) << r->body;
  const std::string out = ::testing::TempDir() + "fleet_exporter_promtool.txt";
  const int rc = std::system(("promtool check metrics < " + file + " > " + out + " 2>&1").c_str());
  std::ifstream in(out);
  std::string said((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(rc, 0) << said;
  EXPECT_EQ(said.find("arenalab_"), std::string::npos) << said;  // no lint on our names
}

// watch --metrics shows on its live line what the exporter last served (Exporter::latest):
// nothing before a sample, then the verdict /metrics has and the timeline's last sample.
TEST(FleetExporter, LatestIsWhatUpdateFromServed) {
  auto e = Exporter::start("127.0.0.1:0", "wl_leak", "glibc");
  ASSERT_TRUE(e) << e.error().message;
  EXPECT_FALSE((*e)->latest());
  const std::string path = ::testing::TempDir() + "fleet_exporter_latest.jsonl";
  timeline::Header h;
  h.schema = "arenalab.timeline/1";
  h.pid = 77;
  h.command = {"wl_leak"};
  h.mode = "count";
  h.interval_ms = 100;
  std::string text = timeline::header_line(h) + "\n";
  std::ofstream(path) << text;
  (*e)->update_from(77, path);
  EXPECT_FALSE((*e)->latest());          // no sample yet: nothing to show
  auto append = [&](int from, int to) {  // samples [from, to): a steady rise
    for (int i = from; i < to; ++i) {
      timeline::Sample s;
      s.t_ms = i * 100;
      s.rss = 30e6 + i * 1e5;
      s.live_bytes = 12e6 + i * 1e5;
      text += timeline::sample_line(s) + "\n";
    }
    std::ofstream(path) << text;
  };
  append(0, 80);
  (*e)->update_from(77, path);
  const auto latest = (*e)->latest();
  ASSERT_TRUE(latest);
  EXPECT_EQ(latest->samples, 80u);
  ASSERT_TRUE(latest->last.rss);
  EXPECT_EQ(*latest->last.rss, 30e6 + 79 * 1e5);
  auto r = http_get("http://127.0.0.1:" + std::to_string((*e)->port()) + "/metrics", 5);
  ASSERT_TRUE(r) << r.error().message;
  const auto m = samples(r->body);
  const std::string key =
      R"(arenalab_verdict{allocator="glibc",command="wl_leak",pid="77",verdict=")" +
      std::string(analysis::verdict_name(latest->verdict.verdict)) + R"("})";
  ASSERT_TRUE(m.count(key)) << key << " missing in\n" << r->body;
  EXPECT_EQ(m.at(key), 1);
  EXPECT_EQ(latest->classification, 1u);
  // A classification deferred (here: one a 1e9 ms period) serves the last one again under the
  // same number, beside the newer sample: watch's live line does not count it toward settling.
  (*e)->classify_every(1e9);
  append(80, 100);
  (*e)->update_from(77, path);
  const auto again = (*e)->latest();
  ASSERT_TRUE(again);
  EXPECT_EQ(again->samples, 100u);
  EXPECT_EQ(again->classification, 1u);
  std::remove(path.c_str());
}

TEST(FleetExporter, RefusesWhatItCannotServe) {
  for (const char* bad :
       {"9464", "127.0.0.1", "127.0.0.1:", ":9464", "127.0.0.1:99999", "127.0.0.1:94x4"}) {
    auto e = Exporter::start(bad, "x", "glibc");
    ASSERT_FALSE(e) << bad;
    EXPECT_NE(e.error().message.find("expected ADDR:PORT"), std::string::npos) << e.error().message;
  }
  auto first = Exporter::start("127.0.0.1:0", "x", "glibc");
  ASSERT_TRUE(first) << first.error().message;
  const std::string taken = "127.0.0.1:" + std::to_string((*first)->port());
  auto second = Exporter::start(taken, "x", "glibc");
  ASSERT_FALSE(second);
  EXPECT_NE(second.error().message.find("cannot listen there"), std::string::npos)
      << second.error().message;
}

}  // namespace
}  // namespace arenalab::fleet
