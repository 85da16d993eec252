// SPDX-License-Identifier: Apache-2.0
// The fleet view's pieces without a server: durations, presets, label matching, each target's
// classification (held + RSS, RSS alone, counters), the severity order, and HTTP failures.
#include "arenalab/fleet/fleet.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cmath>
#include <tuple>

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

// A supervisor restarting a crashing service every `period_s`: each life starts at 50 MB and its
// gauge grows `rate` bytes/s (with a little scrape noise), scraped every `step_s` for `range_s`.
// The marker is process_start_time_seconds, as client libraries export it.
struct Restarting {
  RangeSeries held, rss, start;
};
Restarting restarting(double range_s, double step_s, double period_s, double rate) {
  Restarting r;
  r.held.labels = {{"__name__", "app_heap_bytes"}, {"instance", "svc"}};
  r.rss.labels = {{"__name__", "process_resident_memory_bytes"}, {"instance", "svc"}};
  r.start.labels = {{"__name__", "process_start_time_seconds"}, {"instance", "svc"}};
  for (int i = 0; i * step_s < range_s; ++i) {
    const double t = i * step_s;
    const double age = std::fmod(t, period_s);
    const double held = 50e6 + rate * age + std::fmod(i * 7919.0, 13) * 20000;
    r.held.t_s.push_back(1.7e9 + t);
    r.held.value.push_back(held);
    r.rss.t_s.push_back(1.7e9 + t);
    r.rss.value.push_back(held + 20e6);
    r.start.t_s.push_back(1.7e9 + t);
    r.start.value.push_back(1.7e9 + (t - age) - 0.1);  // started just before its first scrape
  }
  return r;
}

TEST(FleetRestarts, FoundInAStartTimeOrACounter) {
  const auto r = restarting(45, 0.5, 12, 8e6);
  const auto at = restart_times(r.start);
  ASSERT_EQ(at.size(), 3u);
  EXPECT_DOUBLE_EQ(at[0], 1.7e9 + 12);
  EXPECT_DOUBLE_EQ(at[2], 1.7e9 + 36);
  RangeSeries cpu;
  cpu.labels = {{"__name__", "process_cpu_seconds_total"}};
  for (int i = 0; i < 90; ++i) {
    cpu.t_s.push_back(1.7e9 + i * 0.5);
    cpu.value.push_back(std::fmod(i * 0.5, 12) * 0.3);
  }
  EXPECT_EQ(restart_times(cpu), at);
  // redis_exporter's start time is now - uptime: a second off now and then, one process.
  RangeSeries jitter;
  jitter.labels = {{"__name__", "redis_start_time_seconds"}};
  for (int i = 0; i < 90; ++i) {
    jitter.t_s.push_back(1.7e9 + i * 0.5);
    jitter.value.push_back(1.7e9 - 40 + (i % 3 == 1 ? 1 : 0) - (i % 7 == 3 ? 1 : 0));
  }
  EXPECT_TRUE(restart_times(jitter).empty());
}

// probe5's limit: a gauge leaking 8 MB/s in each 12 s life read bounded over 45 s. Each life is
// judged on its own now: a leak in every life, the restarts named.
TEST(FleetRestarts, ALeakInEveryLifeIsALeakTheRestartsHide) {
  for (const auto& [range_s, step_s, period_s, rate] :
       {std::tuple{45.0, 0.5, 12.0, 8e6}, std::tuple{6 * 3600.0, 15.0, 1200.0, 20e3}}) {
    const auto r = restarting(range_s, step_s, period_s, rate);
    Target t;
    t.key = {{"instance", "svc"}};
    t.held = r.held;
    t.rss = r.rss;
    const Row blind = classify_target(t, {}, step_s);
    EXPECT_NE(blind.shown, Shown::kLeak)
        << "the sawtooth alone (no marker) reads " << shown_name(blind.shown);
    t.restarts = r.start;
    const Row row = classify_target(t, {}, step_s);
    EXPECT_EQ(row.shown, Shown::kLeak) << range_s << " s: " << row.c.reason;
    EXPECT_EQ(row.restarts, static_cast<std::size_t>(std::ceil(range_s / period_s)) - 1);
    ASSERT_TRUE(row.restart_every_s);
    EXPECT_DOUBLE_EQ(*row.restart_every_s, period_s);
    ASSERT_TRUE(row.rate_bytes_per_day);
    EXPECT_NEAR(*row.rate_bytes_per_day / 86400, rate, rate * 0.05);
    EXPECT_NE(row.c.reason.find("the restarts hide it"), std::string::npos) << row.c.reason;
    EXPECT_NE(row.c.reason.find(fmt::format("every {:.0f} s", period_s)), std::string::npos)
        << row.c.reason;
    EXPECT_EQ(row.samples, r.held.t_s.size());  // the whole window's points
  }
}

TEST(FleetRestarts, LivesTooShortOrDisagreeingAreUnresolvedNamingTheRestarts) {
  // 5 points per life: none can be told.
  const auto r = restarting(60, 0.5, 2.5, 8e6);
  Target t;
  t.held = r.held;
  t.rss = r.rss;
  t.restarts = r.start;
  const Row short_lives = classify_target(t, {}, 0.5);
  EXPECT_EQ(short_lives.shown, Shown::kUnresolved) << short_lives.c.reason;
  EXPECT_NE(short_lives.c.reason.find("none of its 24 lives is long enough"), std::string::npos)
      << short_lives.c.reason;
  EXPECT_FALSE(short_lives.rate_bytes_per_day);
  // Three long lives: two leak, the last one holds still.
  auto mixed = restarting(3600, 15, 1200, 20e3);
  for (std::size_t i = 0; i < mixed.held.t_s.size(); ++i)
    if (mixed.held.t_s[i] - 1.7e9 >= 2400) {
      mixed.held.value[i] = 60e6 + std::fmod(i * 7919.0, 13) * 20000;
      mixed.rss.value[i] = mixed.held.value[i] + 20e6;
    }
  Target m;
  m.held = mixed.held;
  m.rss = mixed.rss;
  m.restarts = mixed.start;
  const Row disagree = classify_target(m, {}, 15);
  EXPECT_EQ(disagree.shown, Shown::kUnresolved) << disagree.c.reason;
  EXPECT_NE(disagree.c.reason.find("lives disagree (2 leak"), std::string::npos)
      << disagree.c.reason;
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
