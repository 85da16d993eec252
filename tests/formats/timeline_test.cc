// SPDX-License-Identifier: Apache-2.0
// timeline.jsonl: round trip, absent figures stay absent, a truncated last line is tolerated.
#include <gtest/gtest.h>

#include <unistd.h>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include <fstream>
#include <vector>

#include "arenalab/formats/timeline.h"

namespace arenalab::timeline {
namespace {

std::string write_temp(const std::string& content) {
  char path[] = "/tmp/arenalab-timeline-XXXXXX";
  const int fd = mkstemp(path);
  EXPECT_GE(fd, 0);
  close(fd);
  std::ofstream(path) << content;
  return path;
}

TEST(Timeline, RoundTripKeepsAbsentFiguresAbsent) {
  Header h;
  h.pid = 42;
  h.command = {"wl_leak", "--smoke"};
  h.allocator = {"jemalloc", formats::Backend::kJemalloc, "/x/libjemalloc.so.2", "5.3.0", true};
  h.mode = "count";
  h.interval_ms = 100;
  Sample a;
  a.t_ms = 100;
  a.rss = 1000;
  a.live_bytes = 500;
  a.allocated = 600;
  a.gauges["store_bytes"] = 7;
  Sample b;
  b.t_ms = 200;
  b.rss = 1100;
  const std::string path =
      write_temp(header_line(h) + "\n" + sample_line(a) + "\n" + sample_line(b) + "\n");
  auto tl = read_timeline(path);
  ASSERT_TRUE(tl.ok()) << tl.error().message;
  EXPECT_EQ(tl->header.pid, 42);
  EXPECT_EQ(tl->header.allocator.backend, formats::Backend::kJemalloc);
  EXPECT_TRUE(tl->header.allocator.verified);
  ASSERT_EQ(tl->samples.size(), 2u);
  EXPECT_EQ(*tl->samples[0].allocated, 600);
  EXPECT_FALSE(tl->samples[0].resident.has_value());
  EXPECT_FALSE(tl->samples[1].live_bytes.has_value());
  EXPECT_EQ(tl->samples[0].gauges.at("store_bytes"), 7);
  const auto rss = series(*tl, "rss");
  EXPECT_EQ(rss.value, (std::vector<double>{1000, 1100}));
  EXPECT_EQ(series(*tl, "live_bytes").value.size(), 1u);
  EXPECT_EQ(series(*tl, "gauge:store_bytes").value, std::vector<double>{7});
  std::remove(path.c_str());
}

TEST(Timeline, TruncatedLastLineIsAValidPrefix) {
  Header h;
  Sample a;
  a.t_ms = 1;
  a.rss = 5;
  const std::string path =
      write_temp(header_line(h) + "\n" + sample_line(a) + "\n{\"t_ms\": 2, \"rs");
  auto tl = read_timeline(path);
  ASSERT_TRUE(tl.ok()) << tl.error().message;
  EXPECT_TRUE(tl->truncated);
  EXPECT_EQ(tl->samples.size(), 1u);
  std::remove(path.c_str());
}

TEST(Timeline, MalformedMiddleLineNamesFileAndLine) {
  Header h;
  Sample a;
  const std::string path = write_temp(header_line(h) + "\n" + "garbage\n" + sample_line(a) + "\n");
  auto tl = read_timeline(path);
  ASSERT_FALSE(tl.ok());
  EXPECT_NE(tl.error().message.find(path + ":2"), std::string::npos) << tl.error().message;
  std::remove(path.c_str());
}

TEST(Timeline, WrongHeaderIsRejected) {
  const std::string path = write_temp("{\"schema\":\"something/else\"}\n");
  auto tl = read_timeline(path);
  ASSERT_FALSE(tl.ok());
  EXPECT_NE(tl.error().message.find("arenalab.timeline/1"), std::string::npos);
  std::remove(path.c_str());
  EXPECT_FALSE(read_timeline("/nonexistent/timeline.jsonl").ok());
}

// A timeline kept compressed (the recorded corpus is .jsonl.zst) is named as such, with the
// command that reads it, in one printable line: not "header is not valid JSON" with the parser's
// view of zstd's first byte. The files are made by the real compressors; one that is not
// installed is skipped by name.
TEST(Timeline, ACompressedTimelineIsNamedAsSuch) {
  Sample a;
  a.t_ms = 1;
  a.rss = 5;
  const std::string plain = write_temp(header_line(Header{}) + "\n" + sample_line(a) + "\n");
  std::string missing;
  int checked = 0;
  for (const std::string tool : {"zstd", "gzip", "xz", "bzip2"}) {
    if (std::system((tool + " --version >/dev/null 2>&1").c_str()) != 0) {
      missing += " " + tool;
      continue;
    }
    ++checked;
    const std::string packed = plain + "." + tool;
    ASSERT_EQ(std::system((tool + " -c '" + plain + "' > '" + packed + "'").c_str()), 0) << tool;
    auto tl = read_timeline(packed);
    ASSERT_FALSE(tl.ok()) << tool;
    EXPECT_EQ(tl.error().message, packed + ":1: " + tool +
                                      "-compressed, not a timeline.jsonl: decompress it first (" +
                                      tool + " -d -k FILE)");
    for (unsigned char c : tl.error().message)
      EXPECT_TRUE(c >= 0x20 && c < 0x7f) << tl.error().message;
    std::remove(packed.c_str());
  }
  ASSERT_TRUE(read_timeline(plain).ok());  // the same timeline uncompressed reads
  std::remove(plain.c_str());
  if (checked == 0) GTEST_SKIP() << "no compressor installed:" << missing;
  if (!missing.empty()) std::printf("not installed, not checked:%s\n", missing.c_str());
}

// A rolled timeline's header (timeline_roll.h) says what its history stands for; a history
// without its block length is refused with the field named.
TEST(Timeline, HistoryRoundTripsAndIsChecked) {
  Header h;
  h.command = {"/bin/x"};
  h.history = History{3600000, 4096, 123456, 7};
  Sample a;
  a.t_ms = 100;
  a.rss = 5;
  std::string path = write_temp(header_line(h) + "\n" + sample_line(a) + "\n");
  auto tl = read_timeline(path);
  ASSERT_TRUE(tl.ok()) << tl.error().message;
  ASSERT_TRUE(tl->header.history.has_value());
  EXPECT_EQ(tl->header.history->until_ms, 3600000);
  EXPECT_EQ(tl->header.history->block_ms, 4096);
  EXPECT_EQ(tl->header.history->samples, 123456u);
  EXPECT_EQ(tl->header.history->rolls, 7u);
  std::remove(path.c_str());
  path = write_temp(R"({"schema":"arenalab.timeline/1","history":{"until_ms":5}})"
                    "\n" +
                    sample_line(a) + "\n");
  tl = read_timeline(path);
  ASSERT_FALSE(tl.ok());
  EXPECT_NE(tl.error().message.find("block_ms"), std::string::npos) << tl.error().message;
  std::remove(path.c_str());
  // Without one (every timeline written before rolls): no history.
  h.history.reset();
  path = write_temp(header_line(h) + "\n" + sample_line(a) + "\n");
  tl = read_timeline(path);
  ASSERT_TRUE(tl.ok());
  EXPECT_FALSE(tl->header.history.has_value());
  std::remove(path.c_str());
}

TEST(Timeline, WrongTypesAndStepsBackInTimeNameFileAndLine) {
  Header h;
  Sample a;
  a.t_ms = 100;
  a.rss = 5;
  Sample b = a;
  b.t_ms = 50;
  std::string path = write_temp(header_line(h) + "\n" + sample_line(a) + "\n" + sample_line(b) +
                                "\n" + sample_line(a) + "\n");
  auto tl = read_timeline(path);
  ASSERT_FALSE(tl.ok());
  EXPECT_EQ(tl.error().message,
            path + ":3: t_ms: expected a time >= 100 ms (the previous sample's), found 50");
  std::remove(path.c_str());
  // A complete last line of the wrong shape is damage, not a cut-off write.
  path = write_temp(header_line(h) + "\n" + sample_line(a) + "\n" +
                    "{\"t_ms\": 200, \"rss\": \"5\"}\n");
  tl = read_timeline(path);
  ASSERT_FALSE(tl.ok());
  EXPECT_EQ(tl.error().message, path + ":3: rss: expected a number, found the string \"5\"");
  std::remove(path.c_str());
  path = write_temp(header_line(h) + "\n" + "{\"t_ms\": 1, \"alloc\": {\"resident\": null}, " +
                    "\"live_bytes\": 1e400}\n" + sample_line(a) + "\n");
  tl = read_timeline(path);
  ASSERT_FALSE(tl.ok());
  EXPECT_EQ(tl.error().message.rfind(path + ":2: not valid JSON", 0), 0u) << tl.error().message;
  EXPECT_NE(tl.error().message.find("1e400"), std::string::npos) << tl.error().message;
  std::remove(path.c_str());
  // The same damage on a whole last line (it ends with a newline: no kill cut it) is said too
  // (before: dropped as a cut write, "no samples after the header" or a verdict without it).
  path = write_temp(header_line(h) + "\n" + sample_line(a) + "\n" +
                    "{\"t_ms\": 200, \"live_bytes\": 1e400}\n");
  tl = read_timeline(path);
  ASSERT_FALSE(tl.ok());
  EXPECT_EQ(tl.error().message.rfind(path + ":3: not valid JSON", 0), 0u) << tl.error().message;
  std::remove(path.c_str());
  path = write_temp(header_line(h) + "\n" + sample_line(a) + "\n" + "\x01\xff garbage\n");
  tl = read_timeline(path);
  ASSERT_FALSE(tl.ok());
  EXPECT_EQ(tl.error().message.rfind(path + ":3: not valid JSON", 0), 0u) << tl.error().message;
  std::remove(path.c_str());
}

}  // namespace
}  // namespace arenalab::timeline

namespace arenalab::timeline {
namespace {

// Issue 21: a window of absurdly short steps (t_ms = i x 1e-300) gives "+inf %" slopes; the
// reader refuses it with the file and the line.
TEST(Timeline, StepsShorterThanANanosecondAreRefused) {
  std::string body = header_line(Header{}) + "\n";
  for (int i = 0; i < 20; ++i) {
    Sample s;
    s.t_ms = i * 1e-300;
    s.rss = 1e8 + i * 1e5;
    body += sample_line(s) + "\n";
  }
  const std::string path = write_temp(body);
  auto tl = read_timeline(path);
  ASSERT_FALSE(tl.ok());
  EXPECT_EQ(tl.error().message.rfind(path + ":3: t_ms: expected 0 ms", 0), 0u)
      << tl.error().message;
  EXPECT_NE(tl.error().message.find("1 ns"), std::string::npos) << tl.error().message;
  std::remove(path.c_str());
}

TEST(Timeline, ByteCountsAreNonNegativeAndBounded) {
  const std::string h = header_line(Header{}) + "\n";
  std::string path = write_temp(h + "{\"t_ms\": 1, \"rss\": -5}\n");
  auto tl = read_timeline(path);
  ASSERT_FALSE(tl.ok());
  EXPECT_EQ(tl.error().message, path + ":2: rss: expected a byte count in [0, 2^64], found -5");
  std::remove(path.c_str());
  path = write_temp(h + "{\"t_ms\": 1, \"alloc\": {\"retained\": 1e300}}\n");
  tl = read_timeline(path);
  ASSERT_FALSE(tl.ok());
  EXPECT_EQ(tl.error().message,
            path + ":2: alloc.retained: expected a byte count in [0, 2^64], found 1e+300");
  std::remove(path.c_str());
  path = write_temp(h + "{\"t_ms\": 1e300}\n");
  tl = read_timeline(path);
  ASSERT_FALSE(tl.ok());
  EXPECT_NE(tl.error().message.find(":2: t_ms: expected a time in [0, 1e15] ms"), std::string::npos)
      << tl.error().message;
  std::remove(path.c_str());
}

TEST(Timeline, AHeaderOfTheWrongTypesNamesTheField) {
  const std::string path =
      write_temp("{\"schema\": \"arenalab.timeline/1\", \"pid\": \"12\"}\n{\"t_ms\": 1}\n");
  auto tl = read_timeline(path);
  ASSERT_FALSE(tl.ok());
  EXPECT_EQ(tl.error().message,
            path + ":1: pid: expected an integer >= 0, found the string \"12\"");
  std::remove(path.c_str());
  // The identified backend is a closed set: a name outside it is refused, not read as unknown.
  const std::string other = write_temp(
      "{\"schema\": \"arenalab.timeline/1\", \"allocator\": {\"backend\": \"hoard\"}}\n"
      "{\"t_ms\": 1}\n");
  auto bad = read_timeline(other);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message,
            other +
                ":1: allocator.backend: expected glibc, jemalloc, mimalloc, tcmalloc, "
                "tbbmalloc or unknown, found the string \"hoard\"");
  std::remove(other.c_str());
}

// A line longer than the bound is refused after reading about the bound, naming file:line.
TEST(Timeline, AnOverlongLineIsRefusedWithFileAndLine) {
  Sample a;
  a.t_ms = 1;
  const std::string path = write_temp(header_line(Header{}) + "\n" + sample_line(a) + "\n" +
                                      std::string(3 << 20, 'x') + "\n" + sample_line(a) + "\n");
  auto tl = read_timeline(path);
  ASSERT_FALSE(tl.ok());
  EXPECT_EQ(tl.error().message.rfind(path + ":3: expected a line of at most 1048576 bytes", 0), 0u)
      << tl.error().message;
  std::remove(path.c_str());
}

// Raw bytes from the file come back escaped: an error line is printable.
TEST(Timeline, ErrorLinesArePrintable) {
  Sample a;
  // Raw control and invalid UTF-8 bytes: not JSON, named by line, echoed escaped.
  std::string path =
      write_temp(header_line(Header{}) + "\n" + "{\"t_ms\": 1, \"rss\": \"\x01\xff\x1b[31m\"}\n" +
                 sample_line(a) + "\n");
  auto tl = read_timeline(path);
  ASSERT_FALSE(tl.ok());
  EXPECT_EQ(tl.error().message.rfind(path + ":2: not valid JSON", 0), 0u) << tl.error().message;
  for (unsigned char c : tl.error().message)
    EXPECT_TRUE(c >= 0x20 && c < 0x7f) << tl.error().message;
  std::remove(path.c_str());
  // Valid JSON whose string holds an escape sequence: the message quotes it as \x1b.
  path = write_temp(header_line(Header{}) + "\n" + "{\"t_ms\": 1, \"rss\": \"\\u001b[31m\"}\n");
  tl = read_timeline(path);
  ASSERT_FALSE(tl.ok());
  EXPECT_EQ(tl.error().message,
            path + ":2: rss: expected a number, found the string \"\\x1b[31m\"");
  std::remove(path.c_str());
}

}  // namespace
}  // namespace arenalab::timeline

namespace arenalab::timeline {
namespace {

// Inserts a space after every ',' and ':' outside strings: the same JSON, which the fast path
// of parse_sample refuses, so the general parser reads it.
std::string spaced(const std::string& line) {
  std::string out;
  bool in_str = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    out += c;
    if (c == '"' && (i == 0 || line[i - 1] != '\\')) in_str = !in_str;
    if (!in_str && (c == ',' || c == ':')) out += ' ';
  }
  return out;
}

void expect_same(const Result<Sample>& a, const Result<Sample>& b, const std::string& line) {
  ASSERT_EQ(static_cast<bool>(a), static_cast<bool>(b)) << line;
  if (!a) {
    // A syntax error names its column, which the inserted spaces move.
    if (a.error().message.rfind("not valid JSON", 0) == 0)
      EXPECT_EQ(b.error().message.rfind("not valid JSON", 0), 0u) << line;
    else
      EXPECT_EQ(a.error().message, b.error().message) << line;
    return;
  }
  EXPECT_EQ(a->t_ms, b->t_ms) << line;
  for (auto f : {&Sample::rss, &Sample::rss_anon, &Sample::rss_file, &Sample::rss_shmem,
                 &Sample::vm_size, &Sample::live_bytes, &Sample::live_allocs, &Sample::mmap_bytes,
                 &Sample::mmap_reserved_bytes, &Sample::allocated, &Sample::active,
                 &Sample::resident, &Sample::mapped, &Sample::retained})
    EXPECT_EQ((*a).*f, (*b).*f) << line;
  EXPECT_EQ(a->gauges, b->gauges) << line;
  EXPECT_EQ(a->after_purge, b->after_purge) << line;
}

// The fast path (canonical lines) and the general parser agree on every figure, and on the
// message of every line the fast path hands over.
TEST(Timeline, FastPathAgreesWithTheGeneralParser) {
  const std::vector<std::string> lines = {
      R"({"t_ms":153.956,"rss":4284416,"rss_anon":1392640,"live_bytes":0,"live_allocs":0,"mmap_bytes":0,"alloc":{"allocated":816,"mapped":135168,"retained":134352}})",
      R"({"t_ms":0,"rss":18446744073709551615,"live_bytes":9007199254740993})",
      R"({"t_ms":5,"rss":7340032,"rss_anon":4194304,"rss_file":2097152,"rss_shmem":1048576})",
      R"({"t_ms":5,"rss_file":1,"rss_file":2})",  // duplicate key
      R"({"t_ms":5,"rss_shmem":-3})",
      R"({"t_ms":5,"rss":7340032,"vm_size":123731968})",
      R"({"t_ms":5,"vm_size":1,"vm_size":2})",  // duplicate key
      R"({"t_ms":5,"vm_size":-4096})",
      R"({"t_ms":1e3,"rss":1.5e9,"rss_anon":0.1,"alloc":{"active":3,"resident":4,"other":5}})",
      R"({"t_ms":2.25,"rss":null,"alloc":null,"gauges":{"store":123,"x":null},"after_purge":true})",
      R"({"t_ms":7,"rss":1,"sampled_live_bytes":99,"after_purge":false})",
      R"({"t_ms":7,"rss":-1})",         // negative: the general parser's message
      R"({"t_ms":7,"rss":1,"rss":2})",  // duplicate key
      R"({"t_ms":-0.0,"rss":1})",       // sign
      R"({"t_ms":1e16,"rss":1})",       // out of range
      R"({"t_ms":7,"rss":"12"})",       // a string
      R"({"t_ms":7,"rss":01})",         // not JSON
      R"({"t_ms":7,"rss":1.})",         // not JSON
      R"({"t_ms":7,"alloc":{"allocated":1,"allocated":2}})",
      R"({"t_ms":7,"gauges":{"a\"b":1}})",
      R"({"rss":1})",
      R"({"t_ms":7,"rss":1})"
      "x",
      R"({"t_ms":7,"rss":1,"after_purge":1})",
      R"({"t_ms":7,"alloc":{"allocated":-5}})",
  };
  for (const auto& line : lines) expect_same(parse_sample(line), parse_sample(spaced(line)), line);
  // Round trips of sample_line (the writer's own form) at many magnitudes.
  for (int i = 0; i < 200; ++i) {
    Sample s;
    s.t_ms = i * 100.125 + i * 1e-3;
    s.rss = std::ldexp(1.0 + i / 256.0, i % 64);
    if (i % 2) s.live_bytes = i * 12345.0;
    if (i % 3) s.allocated = std::ldexp(1.0, i % 60) + 1;
    if (i % 5 == 0) s.gauges["g"] = i * 0.5;
    const std::string line = sample_line(s);
    expect_same(parse_sample(line), parse_sample(spaced(line)), line);
    const auto p = parse_sample(line);
    ASSERT_TRUE(static_cast<bool>(p)) << line;
    EXPECT_EQ(p->rss, s.rss) << line;
    EXPECT_EQ(p->t_ms, s.t_ms) << line;
  }
}

// scan_timeline streams what read_timeline reads (the probe apart, after_purge set).
TEST(Timeline, ScanStreamsWhatReadTimelineReads) {
  const std::string path = write_temp(
      R"({"schema":"arenalab.timeline/1","pid":3,"command":["a"],"mode":"count","interval_ms":100})"
      "\n"
      R"({"t_ms":1,"rss":10})"
      "\n"
      R"({"t_ms":2,"rss":20})"
      "\n"
      R"({"t_ms":3,"rss":15,"after_purge":true})"
      "\n"
      R"({"t_ms":4,"rs)");
  std::vector<double> t;
  int probes = 0;
  Header h;
  auto cut = scan_timeline(
      path, [&](Header&& x) { h = std::move(x); },
      [&](Sample&& s) {
        if (s.after_purge)
          ++probes;
        else
          t.push_back(s.t_ms);
      });
  ASSERT_TRUE(static_cast<bool>(cut)) << cut.error().message;
  EXPECT_TRUE(*cut);
  EXPECT_EQ(h.pid, 3);
  EXPECT_EQ(t, (std::vector<double>{1, 2}));
  EXPECT_EQ(probes, 1);
  auto tl = read_timeline(path);
  ASSERT_TRUE(static_cast<bool>(tl));
  EXPECT_EQ(tl->samples.size(), 2u);
  EXPECT_TRUE(tl->after_purge.has_value());
  std::remove(path.c_str());
}

}  // namespace
}  // namespace arenalab::timeline
