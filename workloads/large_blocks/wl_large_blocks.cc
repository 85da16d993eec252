// SPDX-License-Identifier: Apache-2.0
// wl_large_blocks: large allocations around and above the allocators' mmap thresholds (glibc
// switches to mmap at 128 KiB, adapting upwards; jemalloc's huge size classes start at 4 MiB
// on x86-64 with 4 KiB pages). Each thread keeps a few large blocks live, replaces them with
// blocks of 64 KiB..--max-size (log-uniform), and touches every page, so page-fault and
// mapping costs dominate. Fixed work.
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <thread>
#include <vector>

#include "arenalab/core/sizes.h"
#include "arenalab/workload/harness.h"
#include "arenalab/workload/latency.h"

namespace wl = arenalab::workload;

int main(int argc, char** argv) {
  wl::Harness h("large_blocks",
                "large blocks (64 KiB..32 MiB, log-uniform) replaced and fully touched");
  std::int64_t threads = 2, live = 4, ops = 2000;
  std::uint64_t max_size = 32ULL << 20;
  h.int_flag("threads", &threads, 2, "worker threads");
  h.int_flag("live", &live, 4, "live blocks per thread");
  h.int_flag("ops", &ops, 150, "replacements per thread");
  h.size_flag("max-size", &max_size, 8ULL << 20, "largest block (smallest is 64 KiB)");
  wl::LatencyRecorder latency(h, 1);  // few calls of microseconds and more: time every one
  if (const int rc = h.parse(argc, argv); rc >= 0) return rc;
  const std::uint64_t min_size = 64 << 10;
  if (threads < 1 || live < 1 || ops < 0 || max_size < min_size || !latency.valid()) {
    std::fprintf(stderr, "wl_large_blocks: need threads, live >= 1 and max-size >= 64K\n");
    return 2;
  }
  const wl::ThreadsRun run = wl::run_threads(threads, [&](std::int64_t t) {
    std::uint64_t rng =
        0x9E3779B97F4A7C15ULL ^ static_cast<std::uint64_t>(t + 1) * 0xBF58476D1CE4E5B9ULL;
    const double lo = std::log(static_cast<double>(min_size));
    const double hi = std::log(static_cast<double>(max_size));
    std::vector<void*> set(static_cast<std::size_t>(live), nullptr);
    std::uint64_t mine = 0;
    wl::OpTimer timer = latency.timer();
    for (std::int64_t k = 0; k < ops + live; ++k) {
      rng ^= rng << 13;
      rng ^= rng >> 7;
      rng ^= rng << 17;
      const double u = static_cast<double>(rng >> 11) / 9007199254740992.0;
      const auto n = static_cast<std::size_t>(std::exp(lo + u * (hi - lo)));
      const std::size_t slot =
          k < live ? static_cast<std::size_t>(k) : rng % static_cast<std::size_t>(live);
      timer.free_op([p = set[slot]] { std::free(p); });
      set[slot] = timer.malloc_op([n] { return std::malloc(n); });
      wl::touch_pages(set[slot], n, static_cast<unsigned char>(k));
      mine += n;
    }
    for (void* p : set) std::free(p);
    latency.merge(timer);
    return mine;
  });
  const double ms = run.ms;
  const std::uint64_t total = run.total;
  const std::uint64_t rss_after = wl::current_rss();
  h.measure("elapsed_ms", ms);
  h.measure("bytes_touched", total);
  h.measure("rss_after_free_bytes", rss_after);
  h.throughput(static_cast<double>(total) / (1 << 20) / (ms / 1000.0), "MiB/s");
  latency.measure(h);
  h.row("bytes allocated and touched", arenalab::format_bytes(static_cast<double>(total)));
  h.row("time", std::to_string(ms) + " ms");
  h.row("RSS after free", arenalab::format_bytes(static_cast<double>(rss_after)));
  h.check("all_bytes_touched",
          total >= static_cast<std::uint64_t>(threads * (ops + live)) * min_size,
          arenalab::format_bytes(static_cast<double>(total)) + " touched");
  return h.finish();
}
