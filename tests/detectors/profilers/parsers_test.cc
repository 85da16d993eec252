// SPDX-License-Identifier: Apache-2.0
// Parsers on golden dumps written by the real jemalloc 5.3, gperftools 2.10 and heaptrack 1.4
// (tests/data/profilers, see its README), and rejection of malformed or truncated input.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <numeric>
#include <string>

#include "arenalab/core/files.h"
#include "arenalab/core/lines.h"
#include "arenalab/profilers/heap_profile.h"
#include "arenalab/profilers/heaptrack_trace.h"

namespace arenalab::profilers {
namespace {

const std::string kData = ARENALAB_PROFILERS_DATA;

std::string load(const std::string& name) {
  auto text = read_file(kData + "/" + name);
  EXPECT_TRUE(text.ok()) << (text.ok() ? "" : text.error().message);
  return text.ok() ? *text : "";
}

std::uint64_t sum_live(const HeapDump& d) {
  return std::accumulate(d.stacks.begin(), d.stacks.end(), std::uint64_t{0},
                         [](std::uint64_t a, const StackRecord& r) { return a + r.live_bytes; });
}

bool has_mapping(const HeapDump& d, const std::string& needle) {
  for (const auto& m : d.mappings)
    if (m.path.find(needle) != std::string::npos) return true;
  return false;
}

TEST(JemallocHeap, GoldenFinalDump) {
  auto dump = parse_heap_dump(load("jemalloc.final.heap"), "jemalloc.final.heap");
  ASSERT_TRUE(dump.ok()) << dump.error().message;
  EXPECT_EQ(dump->format, DumpFormat::kJemallocHeapV2);
  EXPECT_EQ(dump->sample_period, 131072u);  // lg_prof_sample:17
  EXPECT_EQ(dump->header_live_objects, 30u);
  EXPECT_EQ(dump->header_live_bytes, 5208294u);
  ASSERT_EQ(dump->stacks.size(), 3u);
  // (The header's t* totals come from the per-thread counters and need not equal the sum of
  // the per-stack lines: 30 objects there, 19 + 7 + 1 here.)
  EXPECT_EQ(sum_live(*dump), 5023212u + 464595u + 82659u);
  EXPECT_EQ(dump->stacks[0].live_objects, 19u);
  EXPECT_EQ(dump->stacks[0].live_bytes, 5023212u);
  ASSERT_EQ(dump->stacks[0].addresses.size(), 9u);
  EXPECT_EQ(dump->stacks[0].addresses[0], 0x7f7a670a2630u);
  EXPECT_TRUE(has_mapping(*dump, "libjemalloc.so.2"));
  EXPECT_TRUE(has_mapping(*dump, "profilers_leaky_program"));
  const Mapping* m = find_mapping(dump->mappings, dump->stacks[0].addresses[0]);
  ASSERT_NE(m, nullptr);
  EXPECT_NE(m->path.find("libjemalloc"), std::string::npos);
  EXPECT_EQ(m->perms, "r-xp");
}

TEST(JemallocHeap, UnsamplingMatchesJeprofFormula) {
  // jeprof's AdjustSamples: scale by 1 / (1 - exp(-mean size / period)).
  StackRecord r;
  r.live_objects = 19;
  r.live_bytes = 5023212;
  const double mean = 5023212.0 / 19.0;
  const double expected = 5023212.0 / (1.0 - std::exp(-mean / 131072.0));
  EXPECT_NEAR(estimated_live_bytes(r, 131072), expected, 1e-6 * expected);
  EXPECT_GT(estimated_live_bytes(r, 131072), 5023212.0);
  EXPECT_EQ(estimated_live_bytes(r, 0), 5023212.0);  // unsampled: as written
}

TEST(GperftoolsHeap, GoldenFinalDump) {
  auto dump = parse_heap_dump(load("gperftools.final.heap"), "gperftools.final.heap");
  ASSERT_TRUE(dump.ok()) << dump.error().message;
  EXPECT_EQ(dump->format, DumpFormat::kGperftoolsHeap);
  EXPECT_EQ(dump->sample_period, 0u);  // "@ heapprofile": every allocation recorded
  EXPECT_EQ(dump->header_live_objects, 92u);
  EXPECT_EQ(dump->header_live_bytes, 20713472u);
  EXPECT_EQ(sum_live(*dump), dump->header_live_bytes);
  // Freed-everything buckets stay with their totals: the churn site allocated 1500 x 128 KiB.
  bool churn = false;
  for (const auto& s : dump->stacks)
    if (s.live_bytes == 0 && s.total_objects == 1500 && s.total_bytes == 1500u * 131072u)
      churn = true;
  EXPECT_TRUE(churn);
  EXPECT_TRUE(has_mapping(*dump, "libtcmalloc.so.4"));
}

TEST(GperftoolsHeap, GoldenFirstDump) {
  auto dump = read_heap_dump(kData + "/gperftools.first.heap");
  ASSERT_TRUE(dump.ok()) << dump.error().message;
  ASSERT_EQ(dump->stacks.size(), 1u);
  EXPECT_EQ(dump->stacks[0].live_bytes, 524288u);
}

// Every proper prefix of a dump that stops before the end of its MAPPED_LIBRARIES section's
// first line is rejected, with the file name, a line number and what was expected.
void expect_prefixes_rejected(const std::string& name) {
  const std::string text = load(name);
  const std::size_t maps = text.find("MAPPED_LIBRARIES:\n");
  ASSERT_NE(maps, std::string::npos);
  const std::size_t first_map_end = text.find('\n', maps + 18);
  for (std::size_t n = 0; n < first_map_end; ++n) {
    auto dump = parse_heap_dump(std::string_view(text).substr(0, n), name);
    ASSERT_FALSE(dump.ok()) << name << " accepted when cut at byte " << n;
    const std::string& msg = dump.error().message;
    ASSERT_EQ(msg.rfind(name + ":", 0), 0u) << msg;
    ASSERT_NE(msg.find(": expected "), std::string::npos) << msg;
  }
  // Cut in the middle of a later mapping line: rejected as truncated.
  const std::size_t last_line = text.rfind('\n', text.size() - 2);
  auto cut = parse_heap_dump(std::string_view(text).substr(0, last_line + 5), name);
  ASSERT_FALSE(cut.ok());
  EXPECT_NE(cut.error().message.find("truncated"), std::string::npos) << cut.error().message;
  EXPECT_TRUE(parse_heap_dump(text, name).ok());
}

TEST(JemallocHeap, TruncatedDumpsRejected) { expect_prefixes_rejected("jemalloc.final.heap"); }
TEST(GperftoolsHeap, TruncatedDumpsRejected) { expect_prefixes_rejected("gperftools.final.heap"); }

TEST(JemallocHeap, MalformedLinesNamed) {
  struct Case {
    const char* text;
    const char* expect;  // part of the message
  };
  const Case cases[] = {
      {"heap_v2/abc\n", "x.heap:1: expected 'heap_v2/<sample period>'"},
      {"heap_v2/524288\n@ 0x1\n", "x.heap:2: expected the header's 't*:' line"},
      {"heap_v2/524288\n  t*: 1: 2 [0: 0]\n@ 0x1 0x2\n  t0: 1: 2 [0: 0]\n",
       "x.heap:4: expected 't*: <counts>'"},
      {"heap_v2/524288\n  t*: 1: 2 [0 0]\n", "x.heap:2: expected 't<thread>: <objects>"},
      {"heap_v2/524288\n  t*: 1: 2 [0: 0]\n@ 0x1 zz\n", "x.heap:3: expected '@ <hex addresses>'"},
      {"heap_v2/524288\n  t*: 1: 2 [0: 0]\nhello\n", "x.heap:3: expected '@ <addresses>'"},
      {"heap_v2/524288\n  t*: 1: 2 [0: 0]\n\nMAPPED_LIBRARIES:\nnot a map\n",
       "x.heap:5: expected a mapping"},
      {"heap_v2/524288\n  t*: 1: 2 [0: 0]\n", "x.heap:3: expected a MAPPED_LIBRARIES section"},
      {"heap_v2/524288\n  t*: 99999999999999999999999: 2 [0: 0]\n", "x.heap:2: expected"},
      // Counts and a period that unsample to more than 2^64 bytes (before: read, then shown as
      // a growth of 1e8 TiB): no allocator wrote them.
      {"heap_v2/18446744073709551615\n  t*: 1: 2 [0: 0]\n@ 0x1\n  t*: 2: 4096 [2: 4096]\n",
       "x.heap:4: expected counts whose unsampled estimate (sample period 18446744073709551615) "
       "is at most 2^64 bytes"},
  };
  for (const auto& c : cases) {
    auto dump = parse_jemalloc_heap(c.text, "x.heap");
    ASSERT_FALSE(dump.ok()) << c.text;
    EXPECT_NE(dump.error().message.find(c.expect), std::string::npos)
        << "message: " << dump.error().message << "\nexpected to contain: " << c.expect;
  }
}

TEST(GperftoolsHeap, MalformedLinesNamed) {
  auto bad_header = parse_gperftools_heap("heap profile: 1: 2 [3: 4] @ growthz\n", "g.heap");
  ASSERT_FALSE(bad_header.ok());
  EXPECT_NE(bad_header.error().message.find("g.heap:1: expected 'heap profile:"),
            std::string::npos);
  auto bad_record = parse_gperftools_heap(
      "heap profile: 1: 2 [3: 4] @ heapprofile\n 1: 2 [3: 4] 0x1\n", "g.heap");
  ASSERT_FALSE(bad_record.ok());
  EXPECT_NE(bad_record.error().message.find("g.heap:2: expected '<objects>: <bytes>"),
            std::string::npos);
  auto sampled = parse_gperftools_heap(
      "heap profile: 1: 2 [3: 4] @ heap_v2/524288\n 1: 2 [3: 4] @ 0x1\n\nMAPPED_LIBRARIES:\n"
      "0-1000 r-xp 00000000 00:00 0 /bin/x\n",
      "g.heap");
  ASSERT_TRUE(sampled.ok()) << sampled.error().message;
  EXPECT_EQ(sampled->sample_period, 524288u);
  auto absurd = parse_gperftools_heap(
      "heap profile: 1: 2 [3: 4] @ heap_v2/1\n 18446744073709551615: 18446744073709551615 [3: 4] "
      "@ 0x1\n\nMAPPED_LIBRARIES:\n",
      "g.heap");
  ASSERT_FALSE(absurd.ok());
  EXPECT_NE(absurd.error().message.find("g.heap:2: expected counts whose unsampled estimate"),
            std::string::npos)
      << absurd.error().message;
  auto unknown = parse_heap_dump("--- heapz 1 ---\n", "u.heap");
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.error().message.find("u.heap:1: expected a heap profile"), std::string::npos);
}

TEST(HeaptrackTrace, GoldenTraceReplaysLiveBytes) {
  auto trace = read_heaptrack_trace(kData + "/heaptrack.leaky.zst", 100.0);
  if (!trace.ok() && trace.error().message.find("not found (install it)") != std::string::npos)
    GTEST_SKIP() << "zstd not available: " << trace.error().message;
  ASSERT_TRUE(trace.ok()) << trace.error().message;
  EXPECT_EQ(trace->allocations, 443u);
  EXPECT_NE(trace->command.find("profilers_leaky_program"), std::string::npos);
  ASSERT_GE(trace->snapshots.size(), 4u);  // ~0.48 s of trace at 100 ms
  // heaptrack_print --print-leaks on this file: 5.24M leaked over 20 calls from
  // leak_some_records(unsigned long), 1.05M from cached_window(int, unsigned long).
  std::int64_t leak_now = -1, window_now = -1, leak_mid = -1;
  const auto& last = trace->snapshots.back().live_bytes;
  const auto& mid = trace->snapshots[trace->snapshots.size() / 2].live_bytes;
  for (const auto& [index, frames] : trace->stacks) {
    ASSERT_FALSE(frames.empty());
    if (frames[0].function == "leak_some_records(unsigned long)") {
      EXPECT_NE(frames[0].file.find("leaky_program.cc"), std::string::npos);
      EXPECT_EQ(frames[0].line, 21);
      leak_now = last.count(index) ? last.at(index) : 0;
      leak_mid = mid.count(index) ? mid.at(index) : 0;
    }
    if (frames[0].function == "cached_window(int, unsigned long)")
      window_now = last.count(index) ? last.at(index) : 0;
  }
  EXPECT_EQ(leak_now, 20 * 256 * 1024);
  EXPECT_EQ(window_now, 16 * 64 * 1024);
  EXPECT_GT(leak_mid, 0);
  EXPECT_LT(leak_mid, leak_now);
}

// heaptrack's timer writes a timestamp every 10 ms; a silence of 3 s (the target blocked on a
// full pipe) holds no observation: no snapshot is drawn inside it from the state before or
// after, one is taken where the timestamps resume.
TEST(HeaptrackTrace, NoSnapshotInsideAStall) {
  std::string text = "v 10400 3\nX ./a\ns 3 abc\ni 1000 1 1\nt 1 0\na 64 1\n";  // 0x64: 100 bytes
  auto hex = [](int v) { return fmt::format("{:x}", v); };
  // 10 ms ticks to 300 ms with one allocation each, then nothing until 3300 ms, where 3000
  // allocations arrive at once (a catch-up), then ticks again to 3600 ms.
  for (int t = 10; t <= 300; t += 10) text += "+ 0\nc " + hex(t) + "\n";
  for (int k = 0; k < 3000; ++k) text += "+ 0\n";
  for (int t = 3300; t <= 3600; t += 10) text += "c " + hex(t) + "\n+ 0\n";
  auto trace = parse_heaptrack_trace(text, "stall.txt", 100);
  ASSERT_TRUE(trace.ok()) << trace.error().message;
  ASSERT_EQ(trace->stalls.size(), 1u);
  EXPECT_EQ(trace->stalls[0].from_ms, 300);
  EXPECT_EQ(trace->stalls[0].to_ms, 3300);
  std::vector<double> times;
  for (const auto& snap : trace->snapshots) {
    EXPECT_FALSE(snap.t_ms > 300 && snap.t_ms < 3300)
        << "a snapshot inside the stall at " << snap.t_ms << " ms";
    times.push_back(snap.t_ms);
  }
  // 100, 200, 300 before; 3300 (where the ticks resume, with the catch-up in it); 3400 .. 3600
  // after; and the last state.
  const std::vector<double> want = {100, 200, 300, 3300, 3400, 3500, 3600, 3600};
  EXPECT_EQ(times, want);
  auto bytes_at = [&](std::size_t i) { return trace->snapshots[i].live_bytes.at(1); };
  EXPECT_EQ(bytes_at(2), 30 * 100);           // the 30 allocations before the stall
  EXPECT_EQ(bytes_at(3), (30 + 3000) * 100);  // the catch-up, at the time it was seen
}

// The adaptive grid: N snapshots over the trace's own span (its last timestamp), the last of
// them the state at the end. A grid of span / N puts its N-th boundary on the last timestamp,
// after the teardown: no regular snapshot there, whatever the rounding of span / N * N.
TEST(HeaptrackTrace, GridOverTheTraceSpanEndsBeforeItsLastState) {
  auto hex = [](int v) { return fmt::format("{:x}", v); };
  for (int span : {1000, 1234, 997, 4801}) {
    std::string text = "v 10400 3\nX ./a\ns 3 abc\ni 1000 1 1\nt 1 0\na 64 1\n";
    int allocs = 0;
    for (int t = 10; t < span; t += 10, ++allocs) text += "+ 0\nc " + hex(t) + "\n";
    for (int k = 0; k < allocs; ++k) text += "- 0\n";  // teardown, then the exit's timestamp
    text += "c " + hex(span) + "\n";
    auto trace = parse_heaptrack_trace(text, "grid.txt", span / 48.0, span);
    ASSERT_TRUE(trace.ok()) << trace.error().message;
    ASSERT_EQ(trace->snapshots.size(), 48u) << "span " << span;
    for (std::size_t i = 0; i + 1 < trace->snapshots.size(); ++i) {
      EXPECT_LT(trace->snapshots[i].t_ms, span);
      EXPECT_EQ(trace->snapshots[i].live_bytes.count(1), 1u)
          << "span " << span << ", snapshot " << i << " at " << trace->snapshots[i].t_ms;
    }
    EXPECT_EQ(trace->snapshots.back().t_ms, span);
    EXPECT_TRUE(trace->snapshots.back().live_bytes.empty());  // after the teardown
  }
}

TEST(HeaptrackTrace, SpanIsTheLastTimestamp) {
  auto span = heaptrack_trace_span_ms(kData + "/heaptrack.leaky.zst");
  if (!span.ok() && span.error().message.find("not found (install it)") != std::string::npos)
    GTEST_SKIP() << "zstd not available: " << span.error().message;
  ASSERT_TRUE(span.ok()) << span.error().message;
  EXPECT_EQ(*span, 0x1e1);  // the golden trace's last 'c' line
}

// A timestamp far past the last one (a damaged or hostile 'c' line) is a stall like any other:
// one snapshot there, never a walk over every interval boundary in between (before: 1.8e17 steps
// of 100 ms toward 2^64 ms, which never ended). One past 2^53 ms (no exact double) is refused.
TEST(HeaptrackTrace, HugeTimestampIsOneStallNotAWalk) {
  const std::string head = "v 10400 3\nX ./a\ns 3 abc\ni 1000 1 1\nt 1 0\na 64 1\n+ 0\nc a\n";
  auto far =
      parse_heaptrack_trace(head + "c 20000000000000\n+ 0\nc 20000000000000\n", "far.txt", 100);
  ASSERT_TRUE(far.ok()) << far.error().message;
  ASSERT_EQ(far->stalls.size(), 1u);
  EXPECT_EQ(far->stalls[0].to_ms, static_cast<double>(0x20000000000000));
  EXPECT_LE(far->snapshots.size(), 3u);
  auto huge = parse_heaptrack_trace(head + "c ffffffffffffffff\n", "huge.txt", 100);
  ASSERT_FALSE(huge.ok());
  EXPECT_NE(huge.error().message.find("huge.txt:9: expected 'c <milliseconds>' of at most 2^53"),
            std::string::npos)
      << huge.error().message;
}

// The reader refuses what is not a regular file (a FIFO would block it) and a line longer than
// kMaxLineBytes, after reading about that much (before: the whole line, however long, in memory).
TEST(HeaptrackTrace, ReaderTakesRegularFilesAndBoundedLines) {
  char tmpl[] = "/tmp/arenalab-heaptrack-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  const std::string fifo = dir + "/t.zst";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  auto r = read_heaptrack_trace(fifo, 100);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "cannot read " + fifo + ": a FIFO, not a regular file");
  const std::string longer = dir + "/long.txt";
  ASSERT_TRUE(
      write_file_atomic(longer, "v 10400 3\n" + std::string(2 * kMaxLineBytes, 'x') + "\n"));
  auto l = read_heaptrack_trace(longer, 100);
  ASSERT_FALSE(l.ok());
  EXPECT_NE(l.error().message.find(longer + ":2: expected a line of at most 1048576 bytes"),
            std::string::npos)
      << l.error().message;
  std::filesystem::remove_all(dir);
}

TEST(HeaptrackTrace, MalformedAndTruncatedRejected) {
  const std::string good =
      "v 10400 3\nX ./a\ns 3 abc\ni 1000 1 1\nt 1 0\na 40 1\n+ 0\nc 10\n- 0\nc 20\n";
  auto ok = parse_heaptrack_trace(good, "t.txt", 5);
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ(ok->allocations, 1u);
  EXPECT_EQ(ok->frees, 1u);
  struct Case {
    std::string text;
    const char* expect;
  };
  const Case cases[] = {
      {"v 10400 2\n", "t.txt:1: expected file format version 3"},
      {"s 3 abc\n", "t.txt:1: expected the version line"},
      {"v 10400 3\n+ 0\n", "t.txt:2: expected '+|- <allocation info index>'"},
      {"v 10400 3\ns 5 abc\n", "t.txt:2: expected 's <hex length>"},
      {"v 10400 3\ni 1000 7\n", "t.txt:2: expected 'i <address> <module string>'"},
      {"v 10400 3\nt 5 0\n", "t.txt:2: expected 't <ip index>"},
      {"v 10400 3\nc zz\n", "t.txt:2: expected 'c <milliseconds>'"},
      {good.substr(0, good.size() - 3), "expected a complete last line (trace truncated?)"},
      {"", "expected the version line"},
  };
  for (const auto& c : cases) {
    auto r = parse_heaptrack_trace(c.text, "t.txt", 5);
    ASSERT_FALSE(r.ok()) << c.text;
    EXPECT_NE(r.error().message.find(c.expect), std::string::npos)
        << "message: " << r.error().message << "\nexpected to contain: " << c.expect;
  }
}

}  // namespace
}  // namespace arenalab::profilers
