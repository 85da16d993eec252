// SPDX-License-Identifier: Apache-2.0
// The interposer writes timeline.jsonl by hand (it must not allocate): this pins its lines to
// the formats reader. A real workload runs under `arenalab run --mode count`; the timeline it
// leaves must read without error or truncation, carry the count-mode figures, re-serialize to
// the same samples, and agree with the run.json the runner wrote beside it.
#include <gtest/gtest.h>

#include <fstream>

#include "arenalab/formats/run.h"
#include "arenalab/formats/timeline.h"
#include "interposer_run.h"

namespace arenalab {
namespace {

TEST(TimelineFromTheInterposer, ReadsBackWithTheFormatsReader) {
  const tests::InterposerRun r("wl_touch");
  if (const auto why = r.missing(); !why.empty()) GTEST_SKIP() << why;
  ASSERT_TRUE(r.run({"--mode", "count", "--interval", "5"}, {"--smoke"}));
  const std::string out = r.out();

  auto tl = timeline::read_timeline(out + "/timeline.jsonl");
  ASSERT_TRUE(tl) << tl.error().message;
  EXPECT_FALSE(tl->truncated);
  EXPECT_EQ(tl->header.schema, "arenalab.timeline/1");
  EXPECT_EQ(tl->header.mode, "count");
  EXPECT_DOUBLE_EQ(tl->header.interval_ms, 5);
  EXPECT_EQ(tl->header.allocator.name, "glibc");
  EXPECT_TRUE(tl->header.allocator.verified);
  ASSERT_FALSE(tl->header.command.empty());
  EXPECT_EQ(tl->header.command.back(), "--smoke");
  ASSERT_FALSE(tl->samples.empty());
  for (const auto& s : tl->samples) {
    EXPECT_TRUE(s.rss && *s.rss > 0) << "t_ms " << s.t_ms;
    // RSS's three parts from /proc/self/status: VmRSS = RssAnon + RssFile + RssShmem, one read.
    ASSERT_TRUE(s.rss_anon && s.rss_file && s.rss_shmem) << "t_ms " << s.t_ms;
    EXPECT_EQ(*s.rss, *s.rss_anon + *s.rss_file + *s.rss_shmem) << "t_ms " << s.t_ms;
    EXPECT_GT(*s.rss_file, 0) << "the program's own text is file-backed; t_ms " << s.t_ms;
    // The mapped size from the same read (VmSize): every mapping, resident or not.
    ASSERT_TRUE(s.vm_size) << "t_ms " << s.t_ms;
    EXPECT_GE(*s.vm_size, *s.rss) << "t_ms " << s.t_ms;
    EXPECT_TRUE(s.live_bytes.has_value()) << "count mode counts live bytes; t_ms " << s.t_ms;
    EXPECT_TRUE(s.mmap_reserved_bytes.has_value()) << "PROT_NONE mappings apart; t_ms " << s.t_ms;
  }

  // Every hand-written line parses, and the writer's spelling of it parses to the same sample.
  std::ifstream in(out + "/timeline.jsonl");
  std::string line;
  std::getline(in, line);  // header
  std::size_t n = 0;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    auto s = timeline::parse_sample(line);
    ASSERT_TRUE(s) << "line " << n + 2 << ": " << s.error().message << "\n" << line;
    auto again = timeline::parse_sample(timeline::sample_line(*s));
    ASSERT_TRUE(again);
    EXPECT_EQ(again->t_ms, s->t_ms);
    EXPECT_EQ(again->rss, s->rss);
    EXPECT_EQ(again->rss_file, s->rss_file);
    EXPECT_EQ(again->rss_shmem, s->rss_shmem);
    EXPECT_EQ(again->vm_size, s->vm_size);
    EXPECT_EQ(again->live_bytes, s->live_bytes);
    EXPECT_EQ(again->live_allocs, s->live_allocs);
    EXPECT_EQ(again->mmap_bytes, s->mmap_bytes);
    EXPECT_EQ(again->mmap_reserved_bytes, s->mmap_reserved_bytes);
    EXPECT_EQ(again->allocated, s->allocated);
    EXPECT_EQ(again->resident, s->resident);
    EXPECT_EQ(again->gauges, s->gauges);
    ++n;
  }
  EXPECT_EQ(n, tl->samples.size());

  auto run = runner::read_run_json(out + "/run.json");
  ASSERT_TRUE(run) << run.error().message;
  EXPECT_EQ(run->mode, formats::RunMode::kCount);
  EXPECT_EQ(run->timeline_samples, tl->samples.size());
  EXPECT_TRUE(run->verified);
  EXPECT_GT(run->peak_rss_bytes, 0);
  EXPECT_EQ(run->exit.code, 0);
}

}  // namespace
}  // namespace arenalab
