// SPDX-License-Identifier: Apache-2.0
// printable (text.h) and LineReader (lines.h): error lines never echo raw bytes; a line
// longer than the bound is refused with file:line without reading it all; read_json_file refuses
// a document past its bound the same way.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "arenalab/core/lines.h"
#include "arenalab/core/text.h"

namespace arenalab {
namespace {

TEST(Printable, EscapesControlsInvalidBytesAndC1ButKeepsUtf8) {
  EXPECT_EQ(printable("plain: 1 < 2"), "plain: 1 < 2");
  EXPECT_EQ(printable("caf\xc3\xa9"), "caf\xc3\xa9");  // valid UTF-8 stays readable
  EXPECT_EQ(printable(std::string("a\nb\tc\x1b[31m\x7f", 11)), "a\\x0ab\\x09c\\x1b[31m\\x7f");
  EXPECT_EQ(printable("\xff\xfe"), "\\xff\\xfe");
  EXPECT_EQ(printable("\xc2\x9b"), "\\xc2\\x9b");  // C1 CSI
  EXPECT_EQ(printable(std::string("x\0y", 3)), "x\\x00y");
  const std::string once = printable("\x01\xff\xc2\x85z");
  EXPECT_EQ(printable(once), once);  // idempotent
}

std::string temp_with(const std::string& content) {
  char path[] = "/tmp/arenalab-lines-XXXXXX";
  const int fd = mkstemp(path);
  EXPECT_GE(fd, 0);
  close(fd);
  std::ofstream(path, std::ios::binary) << content;
  return path;
}

TEST(LineReader, ReturnsLinesAndTellsAnUnterminatedLast) {
  const std::string path = temp_with("one\n\nthree\nfour");
  auto r = LineReader::open(path, 16);
  ASSERT_TRUE(r.ok()) << r.error().message;
  std::string line;
  std::vector<std::string> got;
  for (;;) {
    auto more = r->next(line);
    ASSERT_TRUE(more.ok()) << more.error().message;
    if (!*more) break;
    got.push_back(line);
  }
  EXPECT_EQ(got, (std::vector<std::string>{"one", "", "three", "four"}));
  EXPECT_TRUE(r->last_unterminated());
  EXPECT_EQ(r->line_number(), 4u);
  std::remove(path.c_str());
}

TEST(LineReader, RefusesAnOverlongLineNamingFileAndLine) {
  // A sparse 1 GiB line after two good ones: refused after reading about the bound.
  const std::string path = temp_with("a\nb\n");
  ASSERT_EQ(truncate(path.c_str(), (1ll << 30) + 4), 0);
  auto r = LineReader::open(path, 1 << 20);
  ASSERT_TRUE(r.ok());
  std::string line;
  ASSERT_TRUE(*r->next(line));
  ASSERT_TRUE(*r->next(line));
  auto third = r->next(line);
  ASSERT_FALSE(third.ok());
  EXPECT_EQ(third.error().message,
            path +
                ":3: expected a line of at most 1048576 bytes, found a longer one (stopped "
                "reading there)");
  EXPECT_LT(line.capacity(), 4u << 20);
  std::remove(path.c_str());
  EXPECT_FALSE(LineReader::open("/nonexistent/x.jsonl").ok());
}

TEST(ReadJsonFile, RefusesADocumentPastTheBoundNamingTheFile) {
  const std::string small = temp_with(R"({"a": [1, 2, 3]})");
  auto ok = read_json_file(small);
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ((*ok)["a"].size(), 3u);
  // Just past a small bound: refused, the file named, nothing parsed.
  auto over = read_json_file(small, 10);
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.error().message,
            small + ": larger than 10 B (10 bytes), the limit for a JSON document (not read)");
  EXPECT_TRUE(read_json_file(small, 16).ok());  // exactly the bound is fine
  // A sparse file past the default bound (64 MiB): refused after reading about the bound.
  ASSERT_EQ(truncate(small.c_str(), static_cast<off_t>(kMaxJsonFileBytes) + 1), 0);
  auto big = read_json_file(small);
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.error().message, small +
                                     ": larger than 64.0 MiB (67108864 bytes), the limit for a "
                                     "JSON document (not read)");
  std::remove(small.c_str());
  // An endless source (a device) is not read at all: not a regular file.
  auto zero = read_json_file("/dev/zero", 1 << 20);
  ASSERT_FALSE(zero.ok());
  EXPECT_EQ(zero.error().message, "cannot read /dev/zero: a character device, not a regular file");
  EXPECT_FALSE(read_json_file("/nonexistent/x.json").ok());
}

}  // namespace
}  // namespace arenalab
