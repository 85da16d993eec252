// SPDX-License-Identifier: Apache-2.0
// Without the interposer (no arenalab_gauge_set in the process) publishing is a no-op and the
// gauges stay readable through the accessors.
#include <gtest/gtest.h>

#include "arenalab/offheap/store.h"

namespace {

using arenalab::offheap::Store;

TEST(OffheapGauges, AbsentSinkIsANoOp) {
  if (std::getenv("LD_PRELOAD") != nullptr) GTEST_SKIP() << "LD_PRELOAD set: a sink may exist";
  EXPECT_FALSE(Store::gauge_sink_present());
  auto opened = Store::open();
  ASSERT_TRUE(opened.ok());
  Store s = std::move(opened).value();
  const std::byte p[32] = {};
  ASSERT_TRUE(s.put(1, p, sizeof p).ok());
  Store::publish_gauges();  // must not crash
  EXPECT_EQ(Store::process_bytes_in_use(), 32u);
  EXPECT_EQ(Store::process_bytes_mapped(), s.bytes_mapped());
  s.close();
  EXPECT_EQ(Store::process_bytes_mapped(), 0u);
}

}  // namespace
