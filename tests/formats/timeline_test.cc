// SPDX-License-Identifier: Apache-2.0
// timeline.jsonl: round trip, absent figures stay absent, a truncated last line is tolerated.
#include <gtest/gtest.h>

#include <unistd.h>
#include <cstdio>

#include <fstream>

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
  h.allocator = {"jemalloc", "jemalloc", "/x/libjemalloc.so.2", "5.3.0", true};
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
  EXPECT_EQ(tl->header.allocator.backend, "jemalloc");
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
