// SPDX-License-Identifier: Apache-2.0
// The fleet view's pieces without a server: durations, presets, label matching, each target's
// classification (held + RSS, RSS alone, counters), the severity order, and HTTP failures.
#include "arenalab/fleet/fleet.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmath>

namespace arenalab::fleet {
namespace {

using prometheus::Labels;
using prometheus::RangeSeries;
using verdict_file::Shown;
using verdict_file::shown_name;

RangeSeries make(Labels l, int n, double step_s, double (*f)(double t)) {
  RangeSeries s;
  s.labels = std::move(l);
  for (int i = 0; i < n; ++i) {
    s.t_s.push_back(1.7e9 + i * step_s);
    s.value.push_back(f(i * step_s));
  }
  return s;
}

// 1 MiB/min = 1440 MiB/day of growth over 64 MiB.
double leaking(double t) { return 64.0 * (1 << 20) + t / 60 * (1 << 20) + std::fmod(t, 7) * 1000; }
// Rises in the first tenth of the window, then holds.
double plateau(double t) {
  return 64.0 * (1 << 20) + std::min(t, 60.0) / 60 * 32 * (1 << 20) + std::fmod(t, 7) * 1000;
}
double flat(double t) { return 80.0 * (1 << 20) + std::fmod(t, 7) * 1000; }

TEST(FleetDuration, ParsesPrometheusDurations) {
  EXPECT_DOUBLE_EQ(*parse_duration("15s"), 15);
  EXPECT_DOUBLE_EQ(*parse_duration("6h"), 21600);
  EXPECT_DOUBLE_EQ(*parse_duration("1h30m"), 5400);
  EXPECT_DOUBLE_EQ(*parse_duration("500ms"), 0.5);
  EXPECT_DOUBLE_EQ(*parse_duration("2d"), 172800);
  for (const char* bad : {"", "6", "h", "6x", "-1h", "0s", "1.5h"})
    EXPECT_FALSE(parse_duration(bad)) << bad;
}

TEST(FleetPreset, AddsTheSelectorToEveryMetric) {
  auto q = preset("redis", R"({job="cache"})");
  ASSERT_TRUE(q);
  EXPECT_EQ(q->held, R"(redis_memory_used_bytes{job="cache"})");
  EXPECT_EQ(q->rss, R"(redis_memory_used_rss_bytes{job="cache"})");
  EXPECT_EQ(q->resident, R"(redis_allocator_resident_bytes{job="cache"})");
  auto p = preset("process", "");
  ASSERT_TRUE(p);
  EXPECT_TRUE(p->held.empty());  // RSS only
  EXPECT_EQ(p->rss, "process_resident_memory_bytes");
  auto c = preset("cadvisor", R"(namespace="shop")");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->rss, R"(container_memory_working_set_bytes{container!="",namespace="shop"})");
  for (const auto& n : preset_names()) EXPECT_TRUE(preset(n, "")) << n;
  auto bad = preset("nginx", "");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("known: redis"), std::string::npos);
}

TEST(FleetMatch, PairsSeriesOnAllLabelsButTheName) {
  std::vector<RangeSeries> held = {make({{"__name__", "h"}, {"instance", "a"}}, 3, 15, flat),
                                   make({{"__name__", "h"}, {"instance", "b"}}, 3, 15, flat)};
  std::vector<RangeSeries> rss = {make({{"__name__", "r"}, {"instance", "b"}}, 3, 15, flat),
                                  make({{"__name__", "r"}, {"instance", "c"}}, 3, 15, flat)};
  auto t = match(held, rss, {}, {});
  ASSERT_TRUE(t) << t.error().message;
  ASSERT_EQ(t->size(), 3u);
  EXPECT_EQ((*t)[0].key.at("instance"), "a");
  EXPECT_TRUE((*t)[0].held && !(*t)[0].rss);  // held only
  EXPECT_TRUE((*t)[1].held && (*t)[1].rss);   // both
  EXPECT_TRUE(!(*t)[2].held && (*t)[2].rss);  // RSS only
}

TEST(FleetMatch, ByNamedLabelsAndRefusesAmbiguity) {
  std::vector<RangeSeries> held = {make({{"pod", "p1"}, {"container", "app"}}, 3, 15, flat)};
  std::vector<RangeSeries> rss = {make({{"pod", "p1"}, {"id", "/kubepods/x"}}, 3, 15, flat)};
  auto apart = match(held, rss, {}, {});
  ASSERT_TRUE(apart);
  EXPECT_EQ(apart->size(), 2u);  // different label sets: no pair
  auto paired = match(held, rss, {}, {"pod"});
  ASSERT_TRUE(paired);
  ASSERT_EQ(paired->size(), 1u);
  EXPECT_TRUE((*paired)[0].held && (*paired)[0].rss);
  held.push_back(make({{"pod", "p1"}, {"container", "sidecar"}}, 3, 15, flat));
  auto twice = match(held, rss, {}, {"pod"});
  ASSERT_FALSE(twice);
  EXPECT_NE(twice.error().message.find("more than one series for {pod=\"p1\"}"), std::string::npos);
}

TEST(FleetClassify, AHeldLeakIsALeakWithItsRatePerDay) {
  Target t;
  t.key = {{"instance", "a"}};
  t.held = make({{"__name__", "h"}}, 240, 15, leaking);
  t.rss = make({{"__name__", "r"}}, 240, 15, [](double x) { return leaking(x) + 20e6; });
  analysis::Options o;
  o.limit_bytes = 2.0 * (1 << 30);
  const Row r = classify_target(t, o, 15);
  EXPECT_EQ(r.shown, Shown::kLeak);
  EXPECT_FALSE(r.rss_only);
  ASSERT_TRUE(r.rate_bytes_per_day);
  EXPECT_NEAR(*r.rate_bytes_per_day / (1 << 20), 1440, 30);
  ASSERT_TRUE(r.c.time_to_limit_s);
  EXPECT_GT(*r.c.time_to_limit_s, 0);
  EXPECT_EQ(r.samples, 240u);
  EXPECT_EQ(r.missing, 0u);
  EXPECT_EQ(r.name, R"({instance="a"})");
}

TEST(FleetClassify, RssAloneIsGrowthOrPlateauNeverRetention) {
  Target grow;
  grow.rss = make({}, 240, 15, leaking);
  const Row g = classify_target(grow, {}, 15);
  EXPECT_TRUE(g.rss_only);
  EXPECT_EQ(g.shown, Shown::kGrowth);
  ASSERT_TRUE(g.rate_bytes_per_day);
  EXPECT_GT(*g.rate_bytes_per_day, 0);
  Target hold;
  hold.rss = make({}, 240, 15, plateau);
  const Row p = classify_target(hold, {}, 15);
  EXPECT_TRUE(p.rss_only);
  EXPECT_TRUE(p.shown == Shown::kPlateau || p.shown == Shown::kStable)
      << shown_name(p.shown) << ": " << p.c.reason;
  EXPECT_FALSE(p.rate_bytes_per_day);
}

TEST(FleetClassify, ABoundedProgramIsNotALeak) {
  Target t;
  t.held = make({}, 240, 15, plateau);
  t.rss = make({}, 240, 15, [](double x) { return plateau(x) + 30e6; });
  const Row r = classify_target(t, {}, 15);
  EXPECT_TRUE(r.shown == Shown::kBounded || r.shown == Shown::kStable)
      << shown_name(r.shown) << ": " << r.c.reason;
}

TEST(FleetClassify, CountsGapsNaNAndCorrectsCounterResets) {
  Target t;
  t.held = make({{"__name__", "bytes_allocated_total"}}, 240, 15, leaking);
  // A restart at point 120: the counter starts again from a small value.
  for (std::size_t i = 120; i < 240; ++i) t.held->value[i] -= t.held->value[119];
  t.held->value[10] = NAN;
  t.held->non_finite = 1;
  t.held->t_s.erase(t.held->t_s.begin() + 50, t.held->t_s.begin() + 54);
  t.held->value.erase(t.held->value.begin() + 50, t.held->value.begin() + 54);
  const Row r = classify_target(t, {}, 15);
  EXPECT_EQ(r.resets, 1u);
  EXPECT_EQ(r.missing, 4u);
  EXPECT_EQ(r.non_finite, 1u);
  EXPECT_EQ(r.shown, Shown::kLeak);  // the corrected counter keeps rising
}

TEST(FleetOrder, LeaksFirstFastestFirstThenGrowthThenTheRest) {
  std::vector<Row> rows(5);
  rows[0].c.verdict = analysis::Verdict::kStable;
  rows[1].c.verdict = analysis::Verdict::kLeak;
  rows[1].rate_bytes_per_day = 10;
  rows[2].c.verdict = analysis::Verdict::kLeak;
  rows[2].rss_only = true;
  rows[2].rate_bytes_per_day = 1000;
  rows[3].c.verdict = analysis::Verdict::kLeak;
  rows[3].rate_bytes_per_day = 100;
  rows[4].c.verdict = analysis::Verdict::kBounded;
  sort_by_severity(rows);
  EXPECT_EQ(*rows[0].rate_bytes_per_day, 100);
  EXPECT_EQ(*rows[1].rate_bytes_per_day, 10);
  EXPECT_TRUE(rows[2].rss_only);
  EXPECT_EQ(rows[3].c.verdict, analysis::Verdict::kBounded);
  EXPECT_EQ(rows[4].c.verdict, analysis::Verdict::kStable);
}

TEST(FleetHttp, NamesTheUrlOnFailure) {
  auto scheme = http_get("ftp://127.0.0.1/", 2);
  ASSERT_FALSE(scheme);
  EXPECT_NE(scheme.error().message.find("not an http"), std::string::npos);
  // A port nobody listens on: bind one, note it, close it.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  socklen_t len = sizeof a;
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len), 0);
  ::close(fd);
  const std::string base = "http://127.0.0.1:" + std::to_string(ntohs(a.sin_port));
  auto refused = query_range(base, "up", {1.7e9, 1.7e9 + 60, 15}, 2);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().message.rfind(base + ", query up: ", 0), 0u) << refused.error().message;
}

}  // namespace
}  // namespace arenalab::fleet
