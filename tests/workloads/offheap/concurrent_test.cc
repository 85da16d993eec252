// SPDX-License-Identifier: Apache-2.0
// Concurrent put/get/erase on one Store from several threads (run under the tsan preset too):
// every get sees either "unknown key" or a complete payload that some put wrote, never a torn one.
#include <atomic>
#include <cstdint>
#include <cstring>
#include <latch>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "arenalab/offheap/store.h"

namespace {

using arenalab::offheap::Errc;
using arenalab::offheap::Store;

// A payload is `len` copies of one byte derived from (key, version), and its length also
// derives from them, so a reader can tell a torn or mismatched payload from a whole one.
std::size_t length_for(std::uint64_t key, std::uint64_t version) {
  return 1 + (key * 31 + version * 17) % 300;
}
std::byte fill_for(std::uint64_t key, std::uint64_t version) {
  return static_cast<std::byte>((key ^ (version * 0x5bd1e995)) & 0xff);
}

TEST(OffheapConcurrency, PutGetEraseFromSeveralThreads) {
  auto opened = Store::open({.max_payload = 512, .region_bytes = 64 * 1024});
  ASSERT_TRUE(opened.ok());
  Store store = std::move(opened).value();
  constexpr int kWriters = 3, kReaders = 3;
  constexpr std::uint64_t kKeys = 512;     // shared key space: writers overlap
  constexpr std::uint64_t kRounds = 4000;  // puts per writer
  std::atomic<std::uint64_t> torn{0}, hits{0}, misses{0}, errors{0};
  std::atomic<bool> stop{false};
  // Everyone starts together, so readers overlap the writers even on a busy machine.
  std::latch start(kWriters + kReaders);

  std::vector<std::thread> threads;
  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back([&, w] {
      std::vector<std::byte> buf(512);
      start.arrive_and_wait();
      for (std::uint64_t i = 0; i < kRounds; ++i) {
        const std::uint64_t key = (i * 7 + static_cast<std::uint64_t>(w) * 131) % kKeys;
        const std::uint64_t version = i % 13;
        const std::size_t len = length_for(key, version);
        std::memset(buf.data(), static_cast<int>(fill_for(key, version)), len);
        if (!store.put(key, std::span(buf.data(), len)).ok()) errors.fetch_add(1);
        if (i % 5 == 0) {
          auto r = store.erase((key + 1) % kKeys);
          if (!r.ok() && r.error() != Errc::kUnknownKey) errors.fetch_add(1);
        }
        (void)store.bytes_in_use();  // the lock-free gauges, read while others write
      }
    });
  }
  for (int r = 0; r < kReaders; ++r) {
    threads.emplace_back([&, r] {
      std::vector<std::byte> out(512);
      std::uint64_t i = static_cast<std::uint64_t>(r);
      start.arrive_and_wait();
      do {
        const std::uint64_t key = (i++ * 13) % kKeys;
        auto got = store.get(key, out);
        if (!got.ok()) {
          if (got.error() == Errc::kUnknownKey) {
            misses.fetch_add(1);
          } else {
            errors.fetch_add(1);
          }
          continue;
        }
        hits.fetch_add(1);
        // The payload must be one of the 13 versions, whole.
        bool whole = false;
        for (std::uint64_t v = 0; v < 13 && !whole; ++v) {
          if (got.value() != length_for(key, v)) continue;
          whole = true;
          for (std::size_t b = 0; b < got.value(); ++b) {
            if (out[b] != fill_for(key, v)) {
              whole = false;
              break;
            }
          }
        }
        if (!whole) torn.fetch_add(1);
        (void)store.bytes_mapped();
      } while (!stop.load(std::memory_order_relaxed));
    });
  }
  for (int w = 0; w < kWriters; ++w) threads[static_cast<std::size_t>(w)].join();
  stop.store(true);
  for (std::size_t t = kWriters; t < threads.size(); ++t) threads[t].join();

  EXPECT_EQ(errors.load(), 0u);
  EXPECT_EQ(torn.load(), 0u) << "torn or foreign payloads seen by readers";
  EXPECT_GT(hits.load() + misses.load(), 0u);
  // Afterwards the books balance: bytes_in_use equals the sum of the stored lengths.
  std::uint64_t sum = 0;
  for (std::uint64_t k = 0; k < kKeys; ++k) {
    if (auto n = store.size_of(k); n.ok()) sum += n.value();
  }
  EXPECT_EQ(store.bytes_in_use(), sum);
  store.close();
  EXPECT_EQ(store.bytes_mapped(), 0u);
}

// close() racing with readers and writers: each call either works or reports kClosed.
TEST(OffheapConcurrency, CloseWhileOthersRun) {
  auto opened = Store::open({.max_payload = 64, .region_bytes = 4096});
  ASSERT_TRUE(opened.ok());
  Store store = std::move(opened).value();
  std::atomic<std::uint64_t> unexpected{0}, closed_seen{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      std::byte buf[64] = {};
      for (std::uint64_t i = 0; i < 20000; ++i) {
        const std::uint64_t key = i % 97;
        Errc e{};
        bool ok;
        if ((i + static_cast<std::uint64_t>(t)) % 2 == 0) {
          auto r = store.put(key, std::span(buf, 16));
          ok = r.ok();
          if (!ok) e = r.error();
        } else {
          auto r = store.get(key, std::span(buf, 64));
          ok = r.ok();
          if (!ok) e = r.error();
        }
        if (!ok && e == Errc::kClosed) closed_seen.fetch_add(1);
        if (!ok && e != Errc::kClosed && e != Errc::kUnknownKey) unexpected.fetch_add(1);
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  store.close();
  for (auto& th : threads) th.join();
  EXPECT_EQ(unexpected.load(), 0u);
  EXPECT_EQ(store.bytes_mapped(), 0u);
  EXPECT_FALSE(store.is_open());
}

}  // namespace
