// SPDX-License-Identifier: Apache-2.0
// Unit tests of arenalab::offheap::Store: round trips, slot reuse, regions added on growth,
// every error value (out-of-range slot, oversized payload, unknown key, use after close),
// move-only ownership, live gauges, and that payload bytes stay off the malloc heap.
#include <malloc.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "arenalab/offheap/store.h"

namespace {

using arenalab::offheap::Errc;
using arenalab::offheap::Options;
using arenalab::offheap::SlotRef;
using arenalab::offheap::Store;

std::vector<std::byte> pattern(std::uint64_t key, std::size_t n) {
  std::vector<std::byte> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<std::byte>((key * 131 + i * 7) & 0xff);
  return v;
}

Store open_store(Options o = {}) {
  auto s = Store::open(o);
  EXPECT_TRUE(s.ok());
  return std::move(s).value();
}

TEST(OffheapStore, RoundTripsEverySizeClass) {
  Store s = open_store({.max_payload = 4096, .region_bytes = 64 * 1024});
  const std::vector<std::size_t> sizes = {0,  1,   15,   16,   17,   31,  32,
                                          33, 100, 1000, 1024, 4095, 4096};
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    ASSERT_TRUE(s.put(i, pattern(i, sizes[i])).ok()) << sizes[i];
  }
  EXPECT_EQ(s.size(), sizes.size());
  std::vector<std::byte> out(4096);
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    auto n = s.get(i, out);
    ASSERT_TRUE(n.ok());
    ASSERT_EQ(n.value(), sizes[i]);
    EXPECT_EQ(0, std::memcmp(out.data(), pattern(i, sizes[i]).data(), sizes[i])) << sizes[i];
    EXPECT_EQ(s.size_of(i).value(), sizes[i]);
  }
  std::size_t total = 0;
  for (std::size_t n : sizes) total += n;
  EXPECT_EQ(s.bytes_in_use(), total);
}

TEST(OffheapStore, OverwriteKeepsOrMovesTheSlot) {
  Store s = open_store();
  ASSERT_TRUE(s.put(7, pattern(1, 10)).ok());
  const SlotRef first = s.slot_of(7).value();
  ASSERT_TRUE(s.put(7, pattern(2, 12)).ok());  // same 16-byte class: same slot
  EXPECT_EQ(s.slot_of(7).value().index, first.index);
  EXPECT_EQ(s.slot_of(7).value().size_class, 0u);
  ASSERT_TRUE(s.put(7, pattern(3, 200)).ok());  // 256-byte class
  EXPECT_EQ(s.slot_of(7).value().size_class, 4u);
  std::array<std::byte, 256> out{};
  EXPECT_EQ(s.get(7, out).value(), 200u);
  EXPECT_EQ(0, std::memcmp(out.data(), pattern(3, 200).data(), 200));
  EXPECT_EQ(s.bytes_in_use(), 200u);
  EXPECT_EQ(s.size(), 1u);
}

TEST(OffheapStore, AddsRegionsAsItGrowsAndReusesFreedSlots) {
  // 4 KiB regions of 16-byte slots: 256 slots each.
  Store s = open_store({.max_payload = 64, .region_bytes = 4096});
  EXPECT_EQ(s.bytes_mapped(), 0u);  // nothing mapped before the first put
  for (std::uint64_t k = 0; k < 1000; ++k) ASSERT_TRUE(s.put(k, pattern(k, 16)).ok());
  EXPECT_EQ(s.regions().size(), 4u);  // ceil(1000 / 256)
  EXPECT_EQ(s.bytes_mapped(), 4u * 4096);
  for (std::uint64_t k = 0; k < 1000; k += 2) ASSERT_TRUE(s.erase(k).ok());
  EXPECT_EQ(s.size(), 500u);
  EXPECT_EQ(s.bytes_in_use(), 500u * 16);
  // 500 new keys fit the 500 freed slots: no new region.
  for (std::uint64_t k = 5000; k < 5500; ++k) ASSERT_TRUE(s.put(k, pattern(k, 16)).ok());
  EXPECT_EQ(s.regions().size(), 4u);
  EXPECT_EQ(s.bytes_mapped(), 4u * 4096);
  std::array<std::byte, 64> out{};
  for (std::uint64_t k = 1; k < 1000; k += 2) {
    ASSERT_EQ(s.get(k, out).value(), 16u);
    ASSERT_EQ(0, std::memcmp(out.data(), pattern(k, 16).data(), 16)) << k;
  }
  for (std::uint64_t k = 5000; k < 5500; ++k) {
    ASSERT_EQ(s.get(k, out).value(), 16u);
    ASSERT_EQ(0, std::memcmp(out.data(), pattern(k, 16).data(), 16)) << k;
  }
  for (std::uint64_t k = 0; k < 1000; k += 2) EXPECT_EQ(s.get(k, out).error(), Errc::kUnknownKey);
}

TEST(OffheapStore, ManyKeysSurviveIndexGrowthAndErases) {
  Store s = open_store({.max_payload = 32});
  constexpr std::uint64_t kN = 50000;
  for (std::uint64_t k = 0; k < kN; ++k) ASSERT_TRUE(s.put(k * 0x9E3779B97F4A7C15ULL, &k, 8).ok());
  for (std::uint64_t k = 0; k < kN; k += 3) ASSERT_TRUE(s.erase(k * 0x9E3779B97F4A7C15ULL).ok());
  std::uint64_t v = 0;
  for (std::uint64_t k = 0; k < kN; ++k) {
    auto r = s.get(k * 0x9E3779B97F4A7C15ULL, &v, sizeof v);
    if (k % 3 == 0) {
      ASSERT_EQ(r.error(), Errc::kUnknownKey) << k;
    } else {
      ASSERT_TRUE(r.ok()) << k;
      ASSERT_EQ(v, k);
    }
  }
}

TEST(OffheapStore, HugePageRegionsAreAlignedAndWork) {
  Store s = open_store({.region_bytes = std::size_t{4} << 20, .huge_pages = true});
  for (std::uint64_t k = 0; k < 100; ++k) ASSERT_TRUE(s.put(k, pattern(k, 500)).ok());
  const auto regions = s.regions();
  ASSERT_EQ(regions.size(), 1u);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(regions[0].base) % (std::size_t{2} << 20), 0u);
  EXPECT_EQ(regions[0].bytes, std::size_t{4} << 20);
  std::vector<std::byte> out(512);
  for (std::uint64_t k = 0; k < 100; ++k) {
    ASSERT_EQ(s.get(k, out).value(), 500u);
    ASSERT_EQ(0, std::memcmp(out.data(), pattern(k, 500).data(), 500));
  }
  s.close();
  EXPECT_EQ(s.bytes_mapped(), 0u);
}

// --- the four error values the issue names, plus the buffer check ---

TEST(OffheapStoreErrors, OutOfRangeSlot) {
  Store s = open_store({.max_payload = 256, .region_bytes = 4096});
  ASSERT_TRUE(s.put(1, pattern(1, 16)).ok());
  std::array<std::byte, 256> out{};
  const SlotRef ok = s.slot_of(1).value();
  EXPECT_EQ(s.read_slot(ok, out).value(), 16u);
  EXPECT_EQ(0, std::memcmp(out.data(), pattern(1, 16).data(), 16));
  EXPECT_EQ(s.read_slot({0, 1}, out).error(), Errc::kOutOfRange);    // never carved
  EXPECT_EQ(s.read_slot({0, 255}, out).error(), Errc::kOutOfRange);  // mapped but not carved
  EXPECT_EQ(s.read_slot({0, UINT32_MAX}, out).error(), Errc::kOutOfRange);
  EXPECT_EQ(s.read_slot({5, 0}, out).error(), Errc::kOutOfRange);  // classes 0..4 only
  EXPECT_EQ(s.read_slot({UINT32_MAX, 0}, out).error(), Errc::kOutOfRange);
  EXPECT_EQ(s.read_slot({1, 0}, out).error(), Errc::kOutOfRange);  // class exists, no slot yet
  ASSERT_TRUE(s.erase(1).ok());
  EXPECT_EQ(s.read_slot(ok, out).error(), Errc::kSlotFree);
  EXPECT_STREQ(arenalab::offheap::error_name(Errc::kOutOfRange), "out-of-range slot");
}

TEST(OffheapStoreErrors, OversizedPayload) {
  Store s = open_store({.max_payload = 1000});
  EXPECT_TRUE(s.put(1, pattern(1, 1000)).ok());
  auto r = s.put(2, pattern(2, 1001));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), Errc::kTooLarge);
  // A refused overwrite keeps the old payload.
  EXPECT_EQ(s.put(1, pattern(3, 5000)).error(), Errc::kTooLarge);
  std::vector<std::byte> out(1024);
  EXPECT_EQ(s.get(1, out).value(), 1000u);
  EXPECT_EQ(0, std::memcmp(out.data(), pattern(1, 1000).data(), 1000));
  EXPECT_EQ(s.size(), 1u);
  EXPECT_EQ(s.bytes_in_use(), 1000u);
}

TEST(OffheapStoreErrors, UnknownKey) {
  Store s = open_store();
  std::array<std::byte, 16> out{};
  EXPECT_EQ(s.get(42, out).error(), Errc::kUnknownKey);  // empty store, empty index
  ASSERT_TRUE(s.put(1, pattern(1, 4)).ok());
  EXPECT_EQ(s.get(42, out).error(), Errc::kUnknownKey);
  EXPECT_EQ(s.erase(42).error(), Errc::kUnknownKey);
  EXPECT_EQ(s.size_of(42).error(), Errc::kUnknownKey);
  EXPECT_EQ(s.slot_of(42).error(), Errc::kUnknownKey);
  ASSERT_TRUE(s.erase(1).ok());
  EXPECT_EQ(s.erase(1).error(), Errc::kUnknownKey);  // double erase
}

TEST(OffheapStoreErrors, UseAfterClose) {
  Store s = open_store();
  ASSERT_TRUE(s.put(1, pattern(1, 16)).ok());
  const SlotRef ref = s.slot_of(1).value();
  s.close();
  s.close();  // idempotent
  EXPECT_FALSE(s.is_open());
  std::array<std::byte, 16> out{};
  EXPECT_EQ(s.put(2, pattern(2, 16)).error(), Errc::kClosed);
  EXPECT_EQ(s.get(1, out).error(), Errc::kClosed);
  EXPECT_EQ(s.erase(1).error(), Errc::kClosed);
  EXPECT_EQ(s.size_of(1).error(), Errc::kClosed);
  EXPECT_EQ(s.slot_of(1).error(), Errc::kClosed);
  EXPECT_EQ(s.read_slot(ref, out).error(), Errc::kClosed);  // a stale SlotRef is harmless
  EXPECT_EQ(s.resident_bytes().error(), Errc::kClosed);
  EXPECT_EQ(s.size(), 0u);
  EXPECT_EQ(s.bytes_mapped(), 0u);
  EXPECT_EQ(s.bytes_in_use(), 0u);
}

TEST(OffheapStoreErrors, BufferTooSmallCopiesNothing) {
  Store s = open_store();
  ASSERT_TRUE(s.put(1, pattern(1, 100)).ok());
  std::array<std::byte, 99> out{};
  EXPECT_EQ(s.get(1, out).error(), Errc::kBufferTooSmall);
  for (std::byte b : out) ASSERT_EQ(b, std::byte{0});
  EXPECT_EQ(s.read_slot(s.slot_of(1).value(), out).error(), Errc::kBufferTooSmall);
}

TEST(OffheapStoreErrors, BadOptions) {
  EXPECT_EQ(Store::open({.max_payload = 0}).error(), Errc::kBadOptions);
  EXPECT_EQ(Store::open({.max_payload = std::size_t{2} << 30}).error(), Errc::kBadOptions);
  EXPECT_EQ(Store::open({.region_bytes = std::size_t{2} << 30}).error(), Errc::kBadOptions);
}

// --- ownership ---

TEST(OffheapStoreOwnership, MoveTransfersTheRegionsAndClosesTheSource) {
  Store a = open_store();
  ASSERT_TRUE(a.put(1, pattern(1, 16)).ok());
  const auto mapped = a.bytes_mapped();
  ASSERT_GT(mapped, 0u);
  Store b(std::move(a));
  std::array<std::byte, 16> out{};
  EXPECT_EQ(a.get(1, out).error(), Errc::kClosed);  // NOLINT(bugprone-use-after-move)
  EXPECT_EQ(a.put(1, pattern(1, 16)).error(), Errc::kClosed);
  EXPECT_EQ(a.bytes_mapped(), 0u);
  EXPECT_EQ(b.get(1, out).value(), 16u);
  EXPECT_EQ(b.bytes_mapped(), mapped);

  // Move assignment releases the target's own regions first.
  const auto before = Store::process_bytes_mapped();
  Store c = open_store();
  ASSERT_TRUE(c.put(9, pattern(9, 16)).ok());
  EXPECT_EQ(Store::process_bytes_mapped(), before + c.bytes_mapped());
  c = std::move(b);
  EXPECT_EQ(Store::process_bytes_mapped(), before);
  EXPECT_EQ(c.get(1, out).value(), 16u);
  EXPECT_EQ(c.get(9, out).error(), Errc::kUnknownKey);
  static_assert(!std::is_copy_constructible_v<Store>);
  static_assert(!std::is_copy_assignable_v<Store>);
  static_assert(std::is_nothrow_move_constructible_v<Store>);
}

TEST(OffheapStoreOwnership, DestructorUnmapsAtScopeEnd) {
  const auto before = Store::process_bytes_mapped();
  {
    Store s = open_store();
    for (std::uint64_t k = 0; k < 100; ++k) ASSERT_TRUE(s.put(k, pattern(k, 300)).ok());
    EXPECT_GT(Store::process_bytes_mapped(), before);
    EXPECT_EQ(Store::process_bytes_in_use(), 100u * 300);
  }
  EXPECT_EQ(Store::process_bytes_mapped(), before);
  EXPECT_EQ(Store::process_bytes_in_use(), 0u);
}

// --- where the bytes live ---

// The regions are anonymous mappings of their own, not part of [heap].
TEST(OffheapStorePlacement, RegionsAreAnonymousMappings) {
  Store s = open_store();
  ASSERT_TRUE(s.put(1, pattern(1, 1000)).ok());
  const auto regions = s.regions();
  ASSERT_EQ(regions.size(), 1u);
  const auto base = reinterpret_cast<std::uintptr_t>(regions[0].base);
  std::ifstream maps("/proc/self/maps");
  std::string line;
  bool found = false;
  while (std::getline(maps, line)) {
    std::uintptr_t lo = 0, hi = 0;
    std::istringstream in(line);
    char dash = 0;
    in >> std::hex >> lo >> dash >> hi;
    if (base >= lo && base < hi) {
      found = true;
      EXPECT_EQ(line.find("[heap]"), std::string::npos) << line;
      EXPECT_GE(hi - base, regions[0].bytes) << line;
    }
  }
  EXPECT_TRUE(found);
}

// Storing 8 MiB of payload grows glibc's malloc'd bytes by the index only (16 B a key).
TEST(OffheapStorePlacement, PayloadBytesAreNotMalloced) {
#ifdef ARENALAB_SANITIZED
  GTEST_SKIP() << "mallinfo2 does not describe a sanitizer runtime's allocator";
#endif
  Store s = open_store();
  const auto before = mallinfo2().uordblks;
  constexpr std::size_t kKeys = 2048, kBytes = 4096;
  const std::vector<std::byte> p = pattern(5, kBytes);
  for (std::uint64_t k = 0; k < kKeys; ++k) ASSERT_TRUE(s.put(k, p).ok());
  const auto after = mallinfo2().uordblks;
  const double heap_growth = static_cast<double>(after) - static_cast<double>(before);
  EXPECT_LT(heap_growth, 0.02 * kKeys * kBytes)
      << "malloc'd bytes grew by " << heap_growth << " for " << kKeys * kBytes << " payload bytes";
  auto resident = s.resident_bytes();
  ASSERT_TRUE(resident.ok());
  EXPECT_GE(resident.value(), kKeys * kBytes);  // every written slot page is resident
  EXPECT_EQ(s.bytes_in_use(), kKeys * kBytes);
}

}  // namespace
