// SPDX-License-Identifier: Apache-2.0
// Retention's kind (issue 19 class 7): purgeable vs fragmentation from jemalloc's active vs
// allocated figures and from the purge probe (--purge-at-end), the fix each names, the probe's
// sample in timeline.jsonl, and the "retention" object of verdict.json read back through
// formats/verdict.h.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <string>

#include "arenalab/analysis/analysis.h"
#include "arenalab/analysis/verdict_json.h"
#include "arenalab/formats/timeline.h"
#include "arenalab/formats/verdict.h"

namespace arenalab::analysis {
namespace {

constexpr double kMiB = 1 << 20;

template <typename F>
Series make(int n, F f) {
  Series s;
  for (int i = 0; i < n; ++i) {
    const double u = static_cast<double>(i) / (n - 1);
    s.t_ms.push_back(i * 100.0);
    s.value.push_back(f(u) + ((i * 7919) % 13 - 6) * 0.02 * kMiB);  // a little jitter
  }
  return s;
}

// A program that bursts to +80 MiB in the first 20 % of the window and frees it by 35 %; RSS
// keeps the 80 MiB. `extra` adds the allocator's books.
Signals burst_and_keep() {
  Signals sig;
  auto burst = [](double u) {
    return std::clamp(u / 0.2, 0.0, 1.0) - std::clamp((u - 0.3) / 0.05, 0.0, 1.0);
  };
  sig.live_bytes = make(400, [&](double u) { return 20 * kMiB + 80 * kMiB * burst(u); });
  sig.rss =
      make(400, [](double u) { return 30 * kMiB + 80 * kMiB * std::clamp(u / 0.2, 0.0, 1.0); });
  return sig;
}

// jemalloc's books over the same run: allocated follows live bytes; active stays up by
// `frag` (partly used pages) and resident by `frag + free_pages`.
void jemalloc_books(Signals& sig, double frag, double free_pages) {
  sig.backend = formats::Backend::kJemalloc;
  sig.allocated = sig.live_bytes;
  sig.active = sig.live_bytes;
  sig.resident = sig.live_bytes;
  for (std::size_t i = 0; i < sig.live_bytes.value.size(); ++i) {
    const double u = static_cast<double>(i) / (sig.live_bytes.value.size() - 1);
    const double kept = std::clamp((u - 0.3) / 0.05, 0.0, 1.0);
    sig.active.value[i] += frag * kept + 0.5 * kMiB;
    sig.resident.value[i] = sig.active.value[i] + free_pages * kept + 2 * kMiB;
  }
}

Classification retained(const Signals& sig) {
  const auto c = classify(sig);
  EXPECT_EQ(c.verdict, Verdict::kRetention) << c.reason;
  EXPECT_TRUE(c.retention.has_value());
  return c;
}

TEST(RetentionKind, ActivePagesAboveAllocatedAreFragmentation) {
  Signals sig = burst_and_keep();
  jemalloc_books(sig, 72 * kMiB, 4 * kMiB);
  sig.program = "redis-server";
  const auto c = retained(sig);
  ASSERT_TRUE(c.retention);
  EXPECT_EQ(c.retention->kind, RetentionKind::kFragmentation) << c.retention->why;
  ASSERT_TRUE(c.retention->fragmented_bytes);
  EXPECT_NEAR(*c.retention->fragmented_bytes, 72.5 * kMiB, 1 * kMiB);
  EXPECT_NE(c.retention->fix.find("activedefrag"), std::string::npos) << c.retention->fix;
  EXPECT_NE(c.reason.find("fragmentation"), std::string::npos) << c.reason;
}

TEST(RetentionKind, FreeResidentPagesArePurgeable) {
  Signals sig = burst_and_keep();
  jemalloc_books(sig, 1 * kMiB, 76 * kMiB);
  const auto c = retained(sig);
  ASSERT_TRUE(c.retention);
  EXPECT_EQ(c.retention->kind, RetentionKind::kPurgeable) << c.retention->why;
  EXPECT_NE(c.retention->fix.find("dirty_decay_ms"), std::string::npos) << c.retention->fix;
  EXPECT_EQ(c.retention->fix.find("activedefrag"), std::string::npos);
}

TEST(RetentionKind, WithoutBooksOrProbeItIsUnknownAndSaysHowToTell) {
  Signals sig = burst_and_keep();
  sig.backend = formats::Backend::kGlibc;
  const auto c = retained(sig);
  ASSERT_TRUE(c.retention);
  EXPECT_EQ(c.retention->kind, RetentionKind::kUnknown);
  EXPECT_NE(c.retention->fix.find("--purge-at-end"), std::string::npos) << c.retention->fix;
}

TEST(RetentionKind, ThePurgeProbeDecides) {
  Signals sig = burst_and_keep();
  sig.backend = formats::Backend::kGlibc;
  const double before = sig.rss.value.back();
  sig.purge = PurgeProbe{before, before - 74 * kMiB, std::nullopt, std::nullopt};
  auto c = retained(sig);
  ASSERT_TRUE(c.retention);
  EXPECT_EQ(c.retention->kind, RetentionKind::kPurgeable) << c.retention->why;
  ASSERT_TRUE(c.retention->purge_returned_bytes);
  EXPECT_NEAR(*c.retention->purge_returned_bytes, 74 * kMiB, 0.5 * kMiB);
  EXPECT_NE(c.retention->fix.find("MALLOC_ARENA_MAX"), std::string::npos) << c.retention->fix;

  // The same run whose purge gave back 2 MiB: the pages hold live blocks. The probe outranks
  // books that would say purgeable.
  jemalloc_books(sig, 1 * kMiB, 76 * kMiB);
  sig.purge = PurgeProbe{before, before - 2 * kMiB, std::nullopt, std::nullopt};
  c = retained(sig);
  ASSERT_TRUE(c.retention);
  EXPECT_EQ(c.retention->kind, RetentionKind::kFragmentation) << c.retention->why;
}

// A program that frees what it still held at exit before the probe (an interpreter's
// finalization): those frees may have come back with their pages, so they bound what the probe
// can claim. 20 MiB freed against about 80 MiB kept: a return of 50 MiB could be 30 MiB of
// purge plus the frees - not told; a return of 78 MiB is purgeable whatever the frees did.
TEST(RetentionKind, WhatTheProgramFreedAtExitBoundsTheProbe) {
  Signals sig = burst_and_keep();
  sig.backend = formats::Backend::kGlibc;
  sig.live_bytes.value.back() = 0.2 * kMiB;  // the final sample: everything freed
  const double before = sig.rss.value.back();
  sig.purge = PurgeProbe{before, before - 50 * kMiB, std::nullopt, std::nullopt};
  auto c = retained(sig);
  ASSERT_TRUE(c.retention);
  EXPECT_EQ(c.retention->kind, RetentionKind::kUnknown) << c.retention->why;
  EXPECT_FALSE(c.retention->purge_returned_bytes);
  EXPECT_NE(c.retention->why.find("could account for"), std::string::npos) << c.retention->why;

  sig.purge = PurgeProbe{before, before - 78 * kMiB, std::nullopt, std::nullopt};
  c = retained(sig);
  ASSERT_TRUE(c.retention);
  EXPECT_EQ(c.retention->kind, RetentionKind::kPurgeable) << c.retention->why;
  EXPECT_NE(c.retention->why.find("at most from what the program freed"), std::string::npos)
      << c.retention->why;

  // Little came back even counting the frees: the rest is held by live blocks.
  sig.purge = PurgeProbe{before, before - 10 * kMiB, std::nullopt, std::nullopt};
  c = retained(sig);
  ASSERT_TRUE(c.retention);
  EXPECT_EQ(c.retention->kind, RetentionKind::kFragmentation) << c.retention->why;
}

// A rise of tens of KiB is never retention, whatever the books say: so it has no kind.
TEST(RetentionKind, TensOfKiBGetNoKind) {
  Signals sig;
  sig.backend = formats::Backend::kJemalloc;
  sig.live_bytes = make(60, [](double) { return 40.0 * 1024; });
  for (double& v : sig.live_bytes.value) v = 40.0 * 1024;
  sig.rss = sig.live_bytes;
  for (std::size_t i = 0; i < sig.rss.value.size(); ++i)
    sig.rss.value[i] = 700.0 * 1024 + 40.0 * 1024 * std::min(1.0, i / 6.0);
  sig.allocated = sig.live_bytes;
  sig.active = sig.rss;
  const auto c = classify(sig);
  EXPECT_NE(c.verdict, Verdict::kRetention) << c.reason;
  EXPECT_FALSE(c.retention.has_value());
}

// timeline.jsonl's after_purge sample stays out of the series and becomes the probe; the kind
// goes into verdict.json and reads back through formats/verdict.h.
TEST(RetentionKind, ProbeSampleToVerdictJsonAndBack) {
  char dir[] = "/tmp/arenalab-retention-XXXXXX";
  ASSERT_NE(::mkdtemp(dir), nullptr);
  const std::string path = std::string(dir) + "/timeline.jsonl";
  Signals shape = burst_and_keep();
  {
    std::ofstream out(path);
    timeline::Header h;
    h.command = {"/usr/bin/prog"};
    h.allocator.name = "glibc";
    h.allocator.backend = formats::Backend::kGlibc;
    h.mode = "count";
    h.interval_ms = 100;
    out << timeline::header_line(h) << "\n";
    timeline::Sample s;
    for (std::size_t i = 0; i < shape.rss.value.size(); ++i) {
      s.t_ms = shape.rss.t_ms[i];
      s.rss = shape.rss.value[i];
      s.live_bytes = shape.live_bytes.value[i];
      out << timeline::sample_line(s) << "\n";
    }
    s.t_ms += 1;
    s.rss = *s.rss - 70 * kMiB;
    s.after_purge = true;
    out << timeline::sample_line(s) << "\n";
  }
  auto tl = timeline::read_timeline(path);
  ASSERT_TRUE(static_cast<bool>(tl)) << tl.error().message;
  EXPECT_EQ(tl->samples.size(), shape.rss.value.size());
  ASSERT_TRUE(tl->after_purge.has_value());
  const Signals sig = signals_from_timeline(*tl);
  EXPECT_EQ(sig.program, "prog");
  EXPECT_EQ(sig.backend, formats::Backend::kGlibc);
  ASSERT_TRUE(sig.purge.has_value());
  EXPECT_NEAR(*sig.purge->rss_before - *sig.purge->rss_after, 70 * kMiB, 1);

  const auto c = retained(sig);
  ASSERT_TRUE(c.retention);
  EXPECT_EQ(c.retention->kind, RetentionKind::kPurgeable) << c.retention->why;
  const auto j = to_json(c, Options{});
  auto v = verdict_file::parse_verdict(j, "verdict.json");
  ASSERT_TRUE(static_cast<bool>(v)) << v.error().message;
  ASSERT_TRUE(v->retention.has_value());
  EXPECT_EQ(v->retention->kind, RetentionKind::kPurgeable);
  ASSERT_TRUE(v->retention->purge_returned_bytes);
  ASSERT_TRUE(c.retention->purge_returned_bytes);
  EXPECT_NEAR(*c.retention->purge_returned_bytes, 70 * kMiB, 0.5 * kMiB);
  EXPECT_EQ(*v->retention->purge_returned_bytes, *c.retention->purge_returned_bytes);
  EXPECT_EQ(v->retention->fix, c.retention->fix);
  EXPECT_GT(v->retention->kept_bytes, 60 * kMiB);

  auto bad = j;
  bad["retention"]["kind"] = "compaction";
  EXPECT_FALSE(static_cast<bool>(verdict_file::parse_verdict(bad, "verdict.json")));
  std::remove(path.c_str());
  ::rmdir(dir);
}

}  // namespace
}  // namespace arenalab::analysis
