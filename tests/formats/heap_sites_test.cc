// SPDX-License-Identifier: Apache-2.0
// heap-sites.jsonl: the reader takes the interposer's lines (hand-written ones here, a real run's
// in the second part), checks order and stack definitions, ignores a cut last line, and names
// file:line in every error.
#include "arenalab/formats/heap_sites.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "arenalab/preload/heap_sites_file.h"
#include "interposer_run.h"

namespace arenalab::heap_sites {
namespace {

class HeapSitesFile : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/arenalab-sites-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
  }
  void TearDown() override { std::system(("rm -rf '" + dir_ + "'").c_str()); }
  std::string write(const std::string& text) {
    const std::string p = dir_ + "/heap-sites.jsonl";
    std::ofstream(p) << text;
    return p;
  }
  std::string dir_;
};

constexpr char kHeader[] =
    "{\"schema\":\"arenalab.heap_sites/1\",\"pid\":42,\"sample_bytes\":4096,\"top\":2}\n";

TEST_F(HeapSitesFile, ReadsPointsStacksAndASeries) {
  auto f = read_heap_sites(write(std::string(kHeader) +
                                 "{\"seq\":0,\"t_ms\":5,\"sites\":[]}\n"
                                 "{\"stack\":3,\"frames\":[\"0x401000\",\"0x7f00aa\"]}\n"
                                 "{\"seq\":1,\"t_ms\":10,\"sites\":[[3,2,8192]]}\n"
                                 "{\"stack\":0,\"frames\":[\"0x1\"]}\n"
                                 "{\"seq\":2,\"t_ms\":15,\"sites\":[[3,4,16384],[0,1,100]]}\n"
                                 "{\"seq\":3,\"t_ms\":20,\"sit"));  // cut by a kill
  ASSERT_TRUE(f) << f.error().message;
  EXPECT_TRUE(f->truncated);
  EXPECT_EQ(f->header.pid, 42);
  EXPECT_EQ(f->header.sample_bytes, 4096);
  ASSERT_EQ(f->points.size(), 3u);
  EXPECT_EQ(f->stacks.at(3), (std::vector<std::uint64_t>{0x401000, 0x7f00aa}));
  ASSERT_EQ(f->points[2].sites.size(), 2u);
  EXPECT_EQ(f->points[2].sites[1].stack, 0u);
  const auto series = site_series(*f, 3);
  ASSERT_EQ(series.size(), 2u);
  EXPECT_DOUBLE_EQ(series[0].t_ms, 10);
  // jeprof's unbiasing: 4 KiB blocks at a 4 KiB period are sampled with p = 1 - 1/e.
  EXPECT_NEAR(series[1].bytes, 16384 / (1 - std::exp(-1.0)), 1e-6);
  EXPECT_GT(series[1].bytes, series[0].bytes);
}

TEST_F(HeapSitesFile, RejectsWhatTheWriterNeverWrites) {
  struct Case {
    std::string body, message;
  } cases[] = {
      {"{\"seq\":1,\"t_ms\":5,\"sites\":[]}\n", ":2: seq: expected 0, found 1"},
      {"{\"seq\":0,\"t_ms\":5,\"sites\":[[7,1,10]]}\n", ":2: sites[0]: stack 7 is used before"},
      {"{\"seq\":0,\"t_ms\":5,\"sites\":[]}\n{\"seq\":1,\"t_ms\":4,\"sites\":[]}\n",
       ":3: t_ms: expected a time >= 5"},
      {"{\"stack\":1,\"frames\":[\"0x1\"]}\n{\"seq\":0,\"t_ms\":5,\"sites\":[[1,-1,10]]}\n",
       ":3: sites[0][1]: expected 0.."},
      {"{\"stack\":1,\"frames\":[\"x1\"]}\n", ":2: frames[0]: expected an address"},
      {"{\"stack\":1,\"frames\":[]}\n{\"stack\":1,\"frames\":[]}\n", ":3: stack: 1 is described"},
      {"{\"stack\":1,\"frames\":[]}\n{\"stack\":2,\"frames\":[]}\n"
       "{\"seq\":0,\"t_ms\":5,\"sites\":[[1,1,10],[2,1,20]]}\n",
       ":4: sites[1]: expected sites largest first"},
      {"{\"seq\":0,\"t_ms\":5,\"sites\":[[1,1,10],[1,1,10],[1,1,10]]}\n",
       ":2: sites: expected at most 2"},
      {"not json\n{\"seq\":0,\"t_ms\":5,\"sites\":[]}\n", ":2: expected one JSON object"},
  };
  for (const auto& c : cases) {
    const std::string p = write(std::string(kHeader) + c.body);
    auto f = read_heap_sites(p);
    ASSERT_FALSE(f) << c.body;
    EXPECT_NE(f.error().message.find(p + c.message), std::string::npos)
        << f.error().message << " | wanted " << c.message;
  }
  auto bad = read_heap_sites(write("{\"schema\":\"arenalab.heap_sites/9\",\"pid\":1}\n"));
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find(":1: "), std::string::npos) << bad.error().message;
  auto empty = read_heap_sites(write(""));
  ASSERT_FALSE(empty);
  EXPECT_NE(empty.error().message.find("empty"), std::string::npos);
}

// The interposer writes the file by hand (it must not allocate): a real sample-mode run's file
// must read whole, hold one point per dump (the thinned ones too), and its top site must grow
// (wl_leak's leak_into_registry: 4 MiB/s in 64 KiB blocks, every one sampled at 4 KiB).
// 1.5 s at a dump every 5 ms: ~290 dumps on a quiet machine, so a sampler starved under load
// still writes the 20 this needs (the dumps are thinned past 16).
// The writer reads each top stack twice (to rank, then to describe it); a sampling thread may
// free a stack's last block in between. That stack is then left out of the point, never named
// without a line that describes it (a real run's file once failed the reader that way).
int g_reads_of_stack_1 = 0;
bool stack_freed_between_reads(std::uint32_t i, preload::HeapRecord* r) {
  static void* const frames[] = {reinterpret_cast<void*>(0x401000)};
  if (i == 1 && ++g_reads_of_stack_1 > 1) return false;  // its last block freed
  *r = preload::HeapRecord{frames, 1, 1, 4096 * (i + 1), 1, 4096};
  return true;
}

TEST_F(HeapSitesFile, AStackFreedBetweenTheTwoReadsIsLeftOut) {
  static preload::HeapSitesFile f;
  preload::heap_sites_reset(f, "heap-sites.jsonl");
  ASSERT_TRUE(preload::heap_sites_append(f, dir_.c_str(), 42, 4096, 3, stack_freed_between_reads, 0,
                                         5, nullptr));
  g_reads_of_stack_1 = -100;  // readable again at the next dump: described then
  ASSERT_TRUE(preload::heap_sites_append(f, dir_.c_str(), 42, 4096, 3, stack_freed_between_reads, 1,
                                         10, nullptr));
  auto read = read_heap_sites(dir_ + "/heap-sites.jsonl");
  ASSERT_TRUE(read) << read.error().message;
  ASSERT_EQ(read->points.size(), 2u);
  ASSERT_EQ(read->points[0].sites.size(), 2u);  // stacks 2 and 0; 1 left out
  for (const auto& site : read->points[0].sites) EXPECT_NE(site.stack, 1u);
  EXPECT_EQ(read->points[1].sites.size(), 3u);
  EXPECT_EQ(read->stacks.count(1), 1u);
}

TEST(HeapSitesFromTheInterposer, ReadsBackWithOnePointPerDump) {
  const tests::InterposerRun r("wl_leak");
  if (const auto why = r.missing(); !why.empty()) GTEST_SKIP() << why;
  ASSERT_TRUE(r.run(
      {"--mode", "sample", "--interval", "5", "--heap-dump-every", "1", "--sample-bytes", "4K"},
      {"--duration", "1.5"}));
  const std::string out = r.out();
  auto f = read_heap_sites(out + "/heap-sites.jsonl");
  ASSERT_TRUE(f) << f.error().message;
  EXPECT_FALSE(f->truncated);
  EXPECT_EQ(f->header.sample_bytes, 4096);
  ASSERT_GE(f->points.size(), 20u) << "too few dumps to be thinned";
  // Thinned: fewer heap dumps are left than the file has points.
  std::size_t kept = 0;
  for (std::size_t s = 0; s < f->points.size(); ++s)
    kept += ::access((out + "/heap." + std::to_string(s) + ".heap").c_str(), F_OK) == 0;
  EXPECT_LT(kept, f->points.size());
  EXPECT_GT(kept, 1u);
  const auto& last = f->points.back();
  ASSERT_FALSE(last.sites.empty());
  const auto series = site_series(*f, last.sites[0].stack);
  ASSERT_GE(series.size(), 10u);
  EXPECT_GT(series.back().bytes, series.front().bytes);
  // The exit's point and the exit's heap dump (always kept) are taken together: the largest
  // record of heap.<last>.heap is the point's first site, frames and counts alike.
  std::ifstream dump(out + "/heap." + std::to_string(last.seq) + ".heap");
  ASSERT_TRUE(dump) << "the last dump is always kept";
  std::string line;
  std::vector<std::uint64_t> frames, best_frames;
  long long best_objs = -1, best_bytes = -1;
  while (std::getline(dump, line)) {
    if (line.rfind("@", 0) == 0) {
      frames.clear();
      for (std::size_t i = line.find(" 0x"); i != std::string::npos; i = line.find(" 0x", i + 1))
        frames.push_back(std::strtoull(line.c_str() + i + 1, nullptr, 16));
    } else if (line.rfind("  t*: ", 0) == 0 && !frames.empty()) {
      long long objs = 0, bytes = 0;
      ASSERT_EQ(std::sscanf(line.c_str(), "  t*: %lld: %lld", &objs, &bytes), 2) << line;
      if (bytes > best_bytes) best_objs = objs, best_bytes = bytes, best_frames = frames;
      frames.clear();
    }
  }
  EXPECT_EQ(last.sites[0].bytes, best_bytes);
  EXPECT_EQ(last.sites[0].objs, best_objs);
  EXPECT_EQ(f->stacks.at(last.sites[0].stack), best_frames);
}

}  // namespace
}  // namespace arenalab::heap_sites
