// SPDX-License-Identifier: Apache-2.0
// wl_mleak: short-lived threads that leave memory behind, after mimalloc-bench's mleak: each of
// --generations waves starts --threads threads; every thread allocates --blocks small blocks,
// frees most of them itself and hands the rest (--keep-percent) to the main thread, then exits.
// The main thread frees the survivors of wave g during wave g+1, so memory from dead threads'
// caches and heaps must be reclaimed. Nothing truly leaks: the name is historical.
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>

#include "arenalab/core/sizes.h"
#include "arenalab/workload/harness.h"
#include "arenalab/workload/latency.h"

namespace wl = arenalab::workload;

int main(int argc, char** argv) {
  wl::Harness h("mleak",
                "waves of short-lived threads leaving blocks behind for the main thread to free");
  std::int64_t threads = 2, generations = 400, blocks = 5000, keep_percent = 10;
  std::uint64_t max_size = 256;
  h.int_flag("threads", &threads, 2, "threads per wave");
  h.int_flag("generations", &generations, 150, "waves of threads");
  h.int_flag("blocks", &blocks, 5000, "blocks each thread allocates");
  h.int_flag("keep-percent", &keep_percent, 10, "percent of its blocks a thread leaves behind");
  h.size_flag("max-size", &max_size, 256, "largest block (sizes 8..max-size)");
  wl::LatencyRecorder latency(h);
  if (const int rc = h.parse(argc, argv); rc >= 0) return rc;
  if (threads < 1 || generations < 1 || blocks < 1 || keep_percent < 0 || keep_percent > 100 ||
      max_size < 8 || !latency.valid()) {
    std::fprintf(stderr,
                 "wl_mleak: need threads, generations, blocks >= 1, keep-percent in 0..100\n");
    return 2;
  }
  std::mutex m;
  std::vector<void*> left, previous;
  std::uint64_t threads_run = 0, left_total = 0;
  std::uint64_t peak_live = 0;
  const auto t0 = std::chrono::steady_clock::now();
  for (std::int64_t g = 0; g < generations; ++g) {
    std::vector<std::thread> wave;
    for (std::int64_t t = 0; t < threads; ++t) {
      wave.emplace_back([&, g, t] {
        std::uint64_t rng = 0x94D049BB133111EBULL * static_cast<std::uint64_t>(g * threads + t + 1);
        std::vector<void*> mine(static_cast<std::size_t>(blocks));
        wl::OpTimer timer = latency.timer();
        for (auto& p : mine) {
          rng ^= rng << 13;
          rng ^= rng >> 7;
          rng ^= rng << 17;
          const std::size_t n = 8 + rng % (max_size - 7);
          p = timer.malloc_op([n] { return std::malloc(n); });
          static_cast<char*>(p)[0] = 1;
        }
        const std::size_t keep = mine.size() * static_cast<std::size_t>(keep_percent) / 100;
        for (std::size_t i = keep; i < mine.size(); ++i)
          timer.free_op([p = mine[i]] { std::free(p); });
        latency.merge(timer);
        std::lock_guard lock(m);
        left.insert(left.end(), mine.begin(), mine.begin() + static_cast<std::ptrdiff_t>(keep));
      });
    }
    // While the wave runs, the main thread frees what the previous wave left behind.
    for (void* p : previous) std::free(p);
    previous.clear();
    for (auto& th : wave) th.join();
    threads_run += static_cast<std::uint64_t>(threads);
    left_total += left.size();
    peak_live = std::max<std::uint64_t>(peak_live, left.size());
    previous.swap(left);
  }
  for (void* p : previous) std::free(p);
  previous.clear();
  previous.shrink_to_fit();
  left.shrink_to_fit();
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  const std::uint64_t rss_after = wl::current_rss();
  const double allocations = static_cast<double>(threads * generations * blocks);
  h.measure("elapsed_ms", ms);
  h.measure("threads_started", threads_run);
  h.measure("blocks_left_behind", left_total);
  h.measure("rss_after_free_bytes", rss_after);
  h.throughput(allocations / (ms / 1000.0), "allocs/s");
  latency.measure(h);
  h.row("threads started", std::to_string(threads_run));
  h.row("blocks left behind", std::to_string(left_total));
  h.row("time", std::to_string(ms) + " ms");
  h.row("RSS after free", arenalab::format_bytes(static_cast<double>(rss_after)));
  const auto expect_left =
      static_cast<std::uint64_t>(threads * generations) *
      (static_cast<std::uint64_t>(blocks) * static_cast<std::uint64_t>(keep_percent) / 100);
  h.check("blocks_handed_over", left_total == expect_left,
          std::to_string(left_total) + " of " + std::to_string(expect_left) +
              " surviving blocks reached the main thread and were freed there");
  return h.finish();
}
