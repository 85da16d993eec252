// SPDX-License-Identifier: Apache-2.0
// Size parsing and formatting.
#include <gtest/gtest.h>

#include "arenalab/core/sizes.h"

namespace arenalab {
namespace {

TEST(ParseSize, AcceptsPlainBytesAndBinarySuffixes) {
  EXPECT_EQ(*parse_size("4096"), 4096u);
  EXPECT_EQ(*parse_size("64k"), 64u << 10);
  EXPECT_EQ(*parse_size("512M"), 512ull << 20);
  EXPECT_EQ(*parse_size("2G"), 2ull << 30);
  EXPECT_EQ(*parse_size("1GiB"), 1ull << 30);
  EXPECT_EQ(*parse_size("3MB"), 3ull << 20);
  EXPECT_EQ(*parse_size("1T"), 1ull << 40);
}

TEST(ParseSize, RejectsGarbageWithAMessageNamingIt) {
  auto r = parse_size("12Q");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("12Q"), std::string::npos);
  EXPECT_EQ(r.error().message.find("'Q'"), r.error().message.find("unknown unit") + 13);
  // Scientific notation and decimals are numbers, not unknown units: the message names the
  // whole value and says what a size is.
  for (const char* v : {"1e9", "1E9", "1.5G", "2e+3"}) {
    auto n = parse_size(v);
    ASSERT_FALSE(n.ok()) << v;
    EXPECT_NE(
        n.error().message.find(std::string("size '") + v + "' is not a whole number of bytes"),
        std::string::npos)
        << n.error().message;
    EXPECT_EQ(n.error().message.find("unknown unit"), std::string::npos) << n.error().message;
  }
  EXPECT_FALSE(parse_size("").ok());
  EXPECT_FALSE(parse_size("M").ok());
  EXPECT_FALSE(parse_size("-5").ok());
  EXPECT_FALSE(parse_size("99999999999999999999").ok());
  EXPECT_FALSE(parse_size("99999999999T").ok());
}

TEST(FormatBytes, UsesBinaryUnits) {
  EXPECT_EQ(format_bytes(12), "12 B");
  EXPECT_EQ(format_bytes(1536), "1.5 KiB");
  EXPECT_EQ(format_bytes(512.0 * 1024 * 1024), "512.0 MiB");
  EXPECT_EQ(format_bytes(-2048), "-2.0 KiB");
}

}  // namespace
}  // namespace arenalab
