// SPDX-License-Identifier: Apache-2.0
// The leak test (seed task 10): create a store, use it (several size classes, growth, erase,
// slot reuse), close it, then require that its gauges are 0 and that the process's mapped and
// resident bytes in /proc/self/smaps are back at the baseline. Built twice: against the real
// library (must pass) and against the ARENALAB_OFFHEAP_SKIP_UNMAP mutant (must fail, naming
// the leak; tests/workloads/offheap/leak_mutation_test.sh checks that).
#include <malloc.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include <gtest/gtest.h>

#include "arenalab/offheap/store.h"
#include "smaps.h"

namespace {

using arenalab::offheap::Store;
using arenalab::offheap::test::read_smaps;

constexpr std::size_t kRegion = 1 << 20;  // 1 MiB: one forgotten region exceeds the tolerance

TEST(OffheapLeak, CloseReturnsEveryMappedByte) {
#ifdef ARENALAB_SANITIZED
  GTEST_SKIP() << "sanitizer runtimes keep their own mappings; smaps baseline is not meaningful";
#endif
  // Fixed malloc thresholds: the index and free lists (> 64 KiB) are mmap'd by glibc and
  // munmap'd when freed, instead of staying in the heap through the dynamic threshold.
  mallopt(M_MMAP_THRESHOLD, 64 * 1024);
  mallopt(M_TRIM_THRESHOLD, 128 * 1024);
  // Warm-up: first-use costs (dlsym lookup, gtest, locale) happen before the baseline.
  {
    auto warm = Store::open({.region_bytes = kRegion});
    ASSERT_TRUE(warm.ok());
    const std::byte b[16] = {};
    ASSERT_TRUE(warm.value().put(1, b, sizeof b).ok());
  }
  const auto base = read_smaps();
  ASSERT_TRUE(base.ok);

  std::vector<std::uintptr_t> bases;
  std::uint64_t peak_mapped = 0, peak_resident = 0;
  {
    auto opened = Store::open({.max_payload = 4096, .region_bytes = kRegion});
    ASSERT_TRUE(opened.ok());
    Store s = std::move(opened).value();
    std::vector<std::byte> payload(4096);
    // ~26 MiB of payloads over the 16, 64, 1024 and 4096-byte classes.
    for (std::uint64_t k = 0; k < 20000; ++k) {
      const std::size_t len = (k % 4 == 0) ? 4096 : (k % 4 == 1) ? 1024 : (k % 4 == 2) ? 64 : 16;
      std::memset(payload.data(), static_cast<int>(k & 0xff), len);
      ASSERT_TRUE(s.put(k, std::span(payload.data(), len)).ok());
    }
    for (std::uint64_t k = 0; k < 20000; k += 2) ASSERT_TRUE(s.erase(k).ok());
    for (std::uint64_t k = 20000; k < 25000; ++k) ASSERT_TRUE(s.put(k, payload).ok());
    std::vector<std::byte> out(4096);
    for (std::uint64_t k = 1; k < 20000; k += 2) ASSERT_TRUE(s.get(k, out).ok());
    // A second store on the huge-page path (over-map by 2 MiB, trim both ends): a forgotten
    // trim would leave 2 MiB mapped per region.
    auto huge_opened = Store::open({.region_bytes = std::size_t{4} << 20, .huge_pages = true});
    ASSERT_TRUE(huge_opened.ok());
    Store huge = std::move(huge_opened).value();
    for (std::uint64_t k = 0; k < 3000; ++k) ASSERT_TRUE(huge.put(k, payload).ok());
    for (const auto& r : huge.regions()) bases.push_back(reinterpret_cast<std::uintptr_t>(r.base));
    peak_mapped = s.bytes_mapped() + huge.bytes_mapped();
    peak_resident = s.resident_bytes().value() + huge.resident_bytes().value();
    for (const auto& r : s.regions()) bases.push_back(reinterpret_cast<std::uintptr_t>(r.base));
    const auto during = read_smaps();
    ASSERT_GE(during.size, base.size + peak_mapped) << "the store's regions are not in smaps";
    s.close();
    huge.close();
    EXPECT_EQ(huge.bytes_mapped(), 0u);
    // The store's own view returns to zero...
    EXPECT_EQ(s.bytes_mapped(), 0u);
    EXPECT_EQ(s.bytes_in_use(), 0u);
    EXPECT_EQ(Store::process_bytes_mapped(), 0u);
    EXPECT_EQ(Store::process_bytes_in_use(), 0u);
  }
  ASSERT_GE(bases.size(), 8u);
  ASSERT_GT(peak_resident, 16u << 20);

  // ...and so does the kernel's. Tolerance: half a region (malloc noise), below any leak.
  const auto after = read_smaps();
  ASSERT_TRUE(after.ok);
  const std::int64_t mapped_delta =
      static_cast<std::int64_t>(after.size) - static_cast<std::int64_t>(base.size);
  const std::int64_t rss_delta =
      static_cast<std::int64_t>(after.rss) - static_cast<std::int64_t>(base.rss);
  std::size_t still = 0;
  for (std::uintptr_t b : bases) still += read_smaps(b, b + kRegion).overlaps ? 1 : 0;
  EXPECT_LT(mapped_delta, static_cast<std::int64_t>(kRegion / 2))
      << "offheap leak: " << mapped_delta << " bytes still mapped after close (smaps Size "
      << base.size << " -> " << after.size << "; the store had mapped " << peak_mapped << ")";
  EXPECT_LT(rss_delta, static_cast<std::int64_t>(kRegion))
      << "offheap leak: " << rss_delta << " bytes still resident after close (smaps Rss "
      << base.rss << " -> " << after.rss << "; the store had " << peak_resident << " resident)";
  EXPECT_EQ(still, 0u) << "offheap leak: " << still << " of " << bases.size()
                       << " regions still mapped after close";
  std::printf(
      "baseline smaps Size %llu Rss %llu; peak store mapped %llu resident %llu; after "
      "close Size %+lld Rss %+lld bytes vs baseline\n",
      static_cast<unsigned long long>(base.size), static_cast<unsigned long long>(base.rss),
      static_cast<unsigned long long>(peak_mapped), static_cast<unsigned long long>(peak_resident),
      static_cast<long long>(mapped_delta), static_cast<long long>(rss_delta));
}

}  // namespace
