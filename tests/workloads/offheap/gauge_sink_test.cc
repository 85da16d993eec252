// SPDX-License-Identifier: Apache-2.0
// Gauge publication: this executable defines arenalab_gauge_set (arenalab/gauge.h), as the
// interposer does, so the store's weak reference binds to it and publishes through it.
#define ARENALAB_GAUGE_PROVIDER 1
#include "arenalab/gauge.h"

#include <atomic>
#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "arenalab/offheap/store.h"

namespace {
std::mutex g_mu;
std::map<std::string, double> g_last;  // last published value per gauge name
std::atomic<int> g_calls{0};
}  // namespace

extern "C" void arenalab_gauge_set(const char* name, double value) {
  std::lock_guard lock(g_mu);
  g_last[name] = value;
  g_calls.fetch_add(1);
}

namespace {

using arenalab::offheap::Store;

double last(const std::string& name) {
  std::lock_guard lock(g_mu);
  auto it = g_last.find(name);
  return it == g_last.end() ? -1 : it->second;
}

TEST(OffheapGauges, PublishedThroughTheInterposerSymbol) {
  ASSERT_TRUE(Store::gauge_sink_present());
  auto opened = Store::open({.max_payload = 64, .region_bytes = 4096});
  ASSERT_TRUE(opened.ok());
  Store s = std::move(opened).value();
  const std::vector<std::byte> p(16, std::byte{1});
  ASSERT_TRUE(s.put(1, p).ok());  // maps the first region: published at once
  EXPECT_EQ(last("offheap.bytes_mapped"), 4096.0);
  // Every 1024 mutations the in-use gauge is republished.
  for (std::uint64_t k = 2; k <= 1024; ++k) ASSERT_TRUE(s.put(k, p).ok());
  EXPECT_EQ(last("offheap.bytes_in_use"), 1024.0 * 16);
  EXPECT_EQ(last("offheap.bytes_mapped"), static_cast<double>(s.bytes_mapped()));
  Store::publish_gauges();
  EXPECT_EQ(last("offheap.bytes_in_use"), static_cast<double>(Store::process_bytes_in_use()));
  s.close();  // close publishes the drop to zero
  EXPECT_EQ(last("offheap.bytes_mapped"), 0.0);
  EXPECT_EQ(last("offheap.bytes_in_use"), 0.0);
}

TEST(OffheapGauges, OptOutPublishesNothing) {
  auto opened = Store::open({.region_bytes = 4096, .publish_gauges = false});
  ASSERT_TRUE(opened.ok());
  Store s = std::move(opened).value();
  const int before = g_calls.load();
  const std::vector<std::byte> p(100, std::byte{2});
  for (std::uint64_t k = 0; k < 3000; ++k) ASSERT_TRUE(s.put(k, p).ok());
  s.close();
  EXPECT_EQ(g_calls.load(), before);
}

}  // namespace
