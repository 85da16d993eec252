// SPDX-License-Identifier: Apache-2.0
// wl_xmalloc: producer/consumer, after Lever & Boreham's xmalloc-test ("malloc() Performance in
// a Multithreaded Linux Environment", USENIX 2000): producers allocate blocks and hand them
// through a queue to consumers, which free them, so every free is remote. Fixed work: each
// producer allocates --blocks blocks in batches.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "arenalab/core/sizes.h"
#include "arenalab/workload/harness.h"
#include "arenalab/workload/latency.h"

namespace wl = arenalab::workload;

namespace {
struct Queue {
  std::mutex m;
  std::condition_variable cv;
  std::deque<std::vector<void*>> batches;
  int producers_left = 0;
};
}  // namespace

int main(int argc, char** argv) {
  wl::Harness h("xmalloc",
                "producers allocate, consumers free: every free is remote (xmalloc-like)");
  std::int64_t threads = 2, blocks = 2000000, batch = 256;
  std::uint64_t max_size = 512;
  h.int_flag("threads", &threads, 2, "threads, split evenly into producers and consumers (>= 2)");
  h.int_flag("blocks", &blocks, 300000, "blocks each producer allocates");
  h.int_flag("batch", &batch, 256, "blocks per hand-over");
  h.size_flag("max-size", &max_size, 512, "largest block (sizes 8..max-size)");
  wl::LatencyRecorder latency(h);
  if (const int rc = h.parse(argc, argv); rc >= 0) return rc;
  if (threads < 1 || blocks < 1 || batch < 1 || max_size < 8 || !latency.valid()) {
    std::fprintf(stderr, "wl_xmalloc: need threads, blocks, batch >= 1 and max-size >= 8\n");
    return 2;
  }
  // One thread still means one producer and one consumer: the pattern needs both.
  const int producers = std::max<int>(1, static_cast<int>(threads) / 2);
  const int consumers = std::max<int>(1, static_cast<int>(threads) - producers);
  Queue q;
  q.producers_left = producers;
  std::vector<std::uint64_t> freed(static_cast<std::size_t>(consumers), 0);
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<std::thread> pool;
  for (int p = 0; p < producers; ++p) {
    pool.emplace_back([&, p] {
      std::uint64_t rng = 0x2545F4914F6CDD1DULL * static_cast<std::uint64_t>(p + 1);
      std::vector<void*> cur;
      cur.reserve(static_cast<std::size_t>(batch));
      wl::OpTimer timer = latency.timer();  // mallocs here; the frees are the consumers'

      for (std::int64_t i = 0; i < blocks; ++i) {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        const std::size_t n = 8 + rng % (max_size - 7);
        auto* b = timer.malloc_op([n] { return static_cast<unsigned char*>(std::malloc(n)); });
        b[0] = 0xA5;
        cur.push_back(b);
        if (static_cast<std::int64_t>(cur.size()) == batch || i + 1 == blocks) {
          std::lock_guard lock(q.m);
          q.batches.push_back(std::move(cur));
          cur = {};
          cur.reserve(static_cast<std::size_t>(batch));
          q.cv.notify_one();
        }
      }
      latency.merge(timer);
      std::lock_guard lock(q.m);
      --q.producers_left;
      q.cv.notify_all();
    });
  }
  for (int c = 0; c < consumers; ++c) {
    pool.emplace_back([&, c] {
      std::uint64_t mine = 0;
      wl::OpTimer timer = latency.timer();
      for (;;) {
        std::vector<void*> got;
        {
          std::unique_lock lock(q.m);
          q.cv.wait(lock, [&] { return !q.batches.empty() || q.producers_left == 0; });
          if (q.batches.empty()) break;
          got = std::move(q.batches.front());
          q.batches.pop_front();
        }
        for (void* b : got) {
          if (static_cast<unsigned char*>(b)[0] == 0xA5) ++mine;
          timer.free_op([b] { std::free(b); });
        }
      }
      latency.merge(timer);
      freed[static_cast<std::size_t>(c)] = mine;
    });
  }
  for (auto& t : pool) t.join();
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  std::uint64_t total_freed = 0;
  for (auto f : freed) total_freed += f;
  const std::uint64_t expected =
      static_cast<std::uint64_t>(producers) * static_cast<std::uint64_t>(blocks);
  const std::uint64_t rss_after = wl::current_rss();
  h.measure("elapsed_ms", ms);
  h.measure("producers", producers);
  h.measure("consumers", consumers);
  h.measure("blocks_freed", total_freed);
  h.measure("rss_after_free_bytes", rss_after);
  h.throughput(static_cast<double>(total_freed) / (ms / 1000.0), "blocks/s");
  latency.measure(h);
  h.row("producers / consumers", std::to_string(producers) + " / " + std::to_string(consumers));
  h.row("blocks handed over", std::to_string(total_freed));
  h.row("time", std::to_string(ms) + " ms");
  h.row("RSS after free", arenalab::format_bytes(static_cast<double>(rss_after)));
  h.check("all_blocks_freed", total_freed == expected,
          std::to_string(total_freed) + " of " + std::to_string(expected) +
              " blocks arrived intact and were freed by a consumer");
  return h.finish();
}
