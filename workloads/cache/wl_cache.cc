// SPDX-License-Identifier: Apache-2.0
// wl_cache: a bounded cache. It fills to --bound during --warmup seconds, then replaces entries
// (evict one, insert one) until --duration: what it holds rises, then levels off.
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <random>
#include <thread>
#include <vector>

#include "arenalab/core/sizes.h"
#include "arenalab/workload/harness.h"

namespace wl = arenalab::workload;
using arenalab::format_bytes;

namespace {

struct Entry {
  char* data = nullptr;
  std::size_t size = 0;
};

struct Cache {
  std::vector<Entry> entries;
  std::uint64_t bytes = 0;
};

__attribute__((noinline)) void cache_insert(Cache& c, std::mt19937_64& rng, std::size_t max_entry) {
  const std::size_t sz = 1024 + rng() % max_entry;
  char* p = static_cast<char*>(std::malloc(sz));
  if (!p) return;
  std::memset(p, static_cast<int>(sz), sz);
  c.entries.push_back({p, sz});
  c.bytes += sz;
}

__attribute__((noinline)) void cache_evict(Cache& c, std::mt19937_64& rng) {
  if (c.entries.empty()) return;
  const std::size_t i = rng() % c.entries.size();
  std::free(c.entries[i].data);
  c.bytes -= c.entries[i].size;
  c.entries[i] = c.entries.back();
  c.entries.pop_back();
}

}  // namespace

int main(int argc, char** argv) {
  wl::Harness h("cache", "a cache that warms up to a bound, then churns steadily");
  std::uint64_t bound = 256ULL << 20, max_entry = 64 * 1024;
  double warmup = 10, duration = 60, ops = 20000;
  h.size_flag("bound", &bound, 64ULL << 20, "bytes the cache holds once warm");
  h.size_flag("max-entry", &max_entry, 64 * 1024, "largest entry");
  h.double_flag("warmup", &warmup, 2.5, "seconds to fill the cache");
  h.double_flag("duration", &duration, 12, "seconds to run in total");
  h.double_flag("ops", &ops, 20000, "replacements per second once warm");
  if (const int rc = h.parse(argc, argv); rc >= 0) return rc;
  if (bound == 0 || max_entry < 1024 || duration <= 0 || warmup < 0 || warmup >= duration ||
      ops < 0) {
    std::fprintf(stderr,
                 "wl_cache: need --bound > 0, --max-entry >= 1K, 0 <= --warmup < --duration, "
                 "--ops >= 0\n");
    return 2;
  }
  Cache cache;
  std::mt19937_64 rng(7);
  const auto t0 = std::chrono::steady_clock::now();
  double done_ops = 0;
  std::uint64_t peak = 0;
  for (;;) {
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (s >= duration) break;
    // Warm-up: fill in proportion to elapsed time; then evict-and-insert at the steady rate.
    const double target =
        s < warmup ? static_cast<double>(bound) * s / warmup : static_cast<double>(bound);
    while (static_cast<double>(cache.bytes) < target) cache_insert(cache, rng, max_entry);
    if (s >= warmup) {
      const double due = ops * (s - warmup);
      for (; done_ops < due; done_ops += 1) {
        cache_evict(cache, rng);
        while (cache.bytes < bound) cache_insert(cache, rng, max_entry);
      }
    }
    peak = std::max(peak, cache.bytes);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  h.measure("cache_bytes", cache.bytes);
  h.measure("replacements", done_ops);
  h.row("cache holds", format_bytes(static_cast<double>(cache.bytes)));
  h.row("replacements", std::to_string(static_cast<long long>(done_ops)));
  h.check("bounded", static_cast<double>(peak) <= static_cast<double>(bound + max_entry + 1024),
          "peak " + format_bytes(static_cast<double>(peak)) + " within the bound " +
              format_bytes(static_cast<double>(bound)));
  h.note("The cache filled to its bound, then replaced entries: it holds a bounded amount.");
  for (auto& e : cache.entries) std::free(e.data);
  return h.finish();
}
