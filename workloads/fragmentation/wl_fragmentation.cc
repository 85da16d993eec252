// SPDX-License-Identifier: Apache-2.0
// wl_fragmentation: long-lived fragmentation. Phase 1 fills --total with small blocks; phase 2
// frees all but one block in --keep-every (the survivors are long-lived and pin their pages);
// phase 3 allocates the freed volume again as medium blocks that cannot reuse the small holes;
// then everything but the survivors is freed. RSS after that final free, against the survivors'
// bytes, shows how much memory the pinned pages cost under each allocator. Fixed work.
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
  wl::Harness h("fragmentation",
                "small blocks freed except every Nth, then medium blocks: pinned pages");
  std::int64_t threads = 2, keep_every = 16, cycles = 3;
  std::uint64_t total = 256ULL << 20, small = 64, medium = 4096;
  h.int_flag("threads", &threads, 2, "threads, each working on its share of --total");
  h.size_flag("total", &total, 24ULL << 20, "bytes of small blocks per cycle (all threads)");
  h.int_flag("keep-every", &keep_every, 16, "one small block in N survives (long-lived)");
  h.int_flag("cycles", &cycles, 2, "fill / thin / refill cycles (survivors accumulate)");
  h.size_flag("small", &small, 64, "small block size");
  h.size_flag("medium", &medium, 4096, "medium block size");
  wl::LatencyRecorder latency(h);
  if (const int rc = h.parse(argc, argv); rc >= 0) return rc;
  if (threads < 1 || keep_every < 1 || cycles < 1 || small == 0 || medium == 0 || total < small ||
      !latency.valid()) {
    std::fprintf(stderr, "wl_fragmentation: need threads, keep-every, cycles >= 1 and sizes > 0\n");
    return 2;
  }
  const auto T = static_cast<std::size_t>(threads);
  std::vector<std::vector<void*>> survivors(T);
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<std::thread> pool;
  for (std::size_t t = 0; t < T; ++t) {
    pool.emplace_back([&, t] {
      const std::size_t n_small = total / T / small;
      wl::OpTimer timer = latency.timer();
      for (std::int64_t c = 0; c < cycles; ++c) {
        std::vector<void*> blocks(n_small);
        for (auto& p : blocks) {
          p = timer.malloc_op([small] { return std::malloc(small); });
          std::memset(p, 0x5A, small);
        }
        for (std::size_t i = 0; i < blocks.size(); ++i) {
          if (i % static_cast<std::size_t>(keep_every) == 0)
            survivors[t].push_back(blocks[i]);
          else
            timer.free_op([p = blocks[i]] { std::free(p); });
        }
        const std::size_t freed = (n_small - (n_small + keep_every - 1) / keep_every) * small;
        std::vector<void*> med(freed / medium);
        for (auto& p : med) {
          p = timer.malloc_op([medium] { return std::malloc(medium); });
          std::memset(p, 0xA5, medium);
        }
        for (void* p : med) timer.free_op([p] { std::free(p); });
      }
      latency.merge(timer);
    });
  }
  for (auto& th : pool) th.join();
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  std::uint64_t survivor_bytes = 0, survivor_count = 0;
  for (auto& s : survivors) survivor_count += s.size();
  survivor_bytes = survivor_count * small;
  const std::uint64_t rss_survivors = wl::current_rss();  // survivors still live
  for (auto& s : survivors)
    for (void* p : s) std::free(p);
  survivors.clear();
  const std::uint64_t rss_after = wl::current_rss();
  const double allocated = static_cast<double>(total) * static_cast<double>(cycles) * 2.0;
  h.measure("elapsed_ms", ms);
  h.measure("survivor_bytes", survivor_bytes);
  h.measure("rss_with_survivors_bytes", rss_survivors);
  h.measure("rss_after_free_bytes", rss_after);
  h.throughput(allocated / (1 << 20) / (ms / 1000.0), "MiB/s");
  latency.measure(h);
  h.row("survivors", std::to_string(survivor_count) + " blocks, " +
                         arenalab::format_bytes(static_cast<double>(survivor_bytes)));
  h.row("RSS with survivors live", arenalab::format_bytes(static_cast<double>(rss_survivors)));
  h.row("RSS after free", arenalab::format_bytes(static_cast<double>(rss_after)));
  h.row("time", std::to_string(ms) + " ms");
  h.check("rss_holds_survivors", rss_survivors >= survivor_bytes,
          "RSS " + arenalab::format_bytes(static_cast<double>(rss_survivors)) +
              " covers the survivors' " +
              arenalab::format_bytes(static_cast<double>(survivor_bytes)));
  return h.finish();
}
