// SPDX-License-Identifier: Apache-2.0
// wl_shbench: LIFO and reverse-order frees, after MicroQuill's SmartHeap benchmarks sh6bench /
// sh8bench (as run by mimalloc-bench): each round allocates a batch of blocks of a size that
// varies per round, frees one half in LIFO (reverse allocation) order and the other half in
// allocation order; with --cross (sh8bench-like) a partner thread frees the second half.
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

#include "arenalab/core/sizes.h"
#include "arenalab/workload/harness.h"
#include "arenalab/workload/latency.h"

namespace wl = arenalab::workload;

int main(int argc, char** argv) {
  wl::Harness h("shbench", "batches freed in LIFO and reverse order (sh6bench/sh8bench-like)");
  std::int64_t threads = 2, rounds = 400, batch = 5000;
  std::uint64_t max_size = 1000;
  bool cross = false;
  h.int_flag("threads", &threads, 2, "worker threads");
  h.int_flag("rounds", &rounds, 60, "rounds per thread");
  h.int_flag("batch", &batch, 5000, "blocks per round");
  h.size_flag("max-size", &max_size, 1000, "largest block; sizes cycle 1..max-size by round");
  h.bool_flag("cross", &cross, "a partner thread frees half of each batch (sh8bench-like)");
  wl::LatencyRecorder latency(h);
  if (const int rc = h.parse(argc, argv); rc >= 0) return rc;
  if (threads < 1 || rounds < 1 || batch < 2 || max_size < 1 || !latency.valid()) {
    std::fprintf(stderr, "wl_shbench: need threads, rounds >= 1, batch >= 2, max-size >= 1\n");
    return 2;
  }
  const wl::ThreadsRun run = wl::run_threads(threads, [&](std::int64_t t) {
    std::vector<char*> blocks(static_cast<std::size_t>(batch));
    std::uint64_t mine = 0;
    wl::OpTimer timer = latency.timer();
    for (std::int64_t r = 0; r < rounds; ++r) {
      // Sizes sweep the small classes: round r uses 1 + (r*37 + t*11) % max_size bytes, and
      // every fourth block in a round is twice that, as sh6bench mixes sizes.
      const std::size_t base = 1 + static_cast<std::size_t>((r * 37 + t * 11)) % max_size;
      for (std::size_t i = 0; i < blocks.size(); ++i) {
        const std::size_t n = (i % 4 == 3) ? 2 * base : base;
        blocks[i] = timer.malloc_op([n] { return static_cast<char*>(std::malloc(n)); });
        blocks[i][0] = static_cast<char>(i);
      }
      const std::size_t half = blocks.size() / 2;
      // First half, LIFO: the most recently allocated first.
      for (std::size_t i = half; i-- > 0;) {
        mine += blocks[i][0] == static_cast<char>(i);
        timer.free_op([p = blocks[i]] { std::free(p); });
      }
      // Second half in allocation order, here or on a partner thread.
      auto forward = [&blocks, half](wl::OpTimer& t) {
        std::uint64_t n = 0;
        for (std::size_t i = half; i < blocks.size(); ++i) {
          n += blocks[i][0] == static_cast<char>(i);
          t.free_op([p = blocks[i]] { std::free(p); });
        }
        return n;
      };
      if (cross) {
        std::uint64_t n = 0;
        std::thread partner([&] {
          wl::OpTimer partner_timer = latency.timer();
          n = forward(partner_timer);
          latency.merge(partner_timer);
        });
        partner.join();
        mine += n;
      } else {
        mine += forward(timer);
      }
    }
    latency.merge(timer);
    return mine;
  });
  const double ms = run.ms;
  const std::uint64_t total = run.total;
  const std::uint64_t expected = static_cast<std::uint64_t>(threads * rounds * batch);
  const std::uint64_t rss_after = wl::current_rss();
  h.measure("elapsed_ms", ms);
  h.measure("blocks", expected);
  h.measure("rss_after_free_bytes", rss_after);
  h.throughput(static_cast<double>(expected) / (ms / 1000.0), "allocs/s");
  latency.measure(h);
  h.row("blocks", std::to_string(expected));
  h.row("time", std::to_string(ms) + " ms");
  h.row("RSS after free", arenalab::format_bytes(static_cast<double>(rss_after)));
  h.check("blocks_intact", total == expected,
          std::to_string(total) + " of " + std::to_string(expected) +
              " blocks held their mark until freed");
  return h.finish();
}
