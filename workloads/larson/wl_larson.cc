// SPDX-License-Identifier: Apache-2.0
// wl_larson: server-style churn with cross-thread frees, after Larson & Krishnan, "Memory
// allocation for long-running server applications" (ISMM 1998). Each thread replaces random
// slots of a slot array with new random-sized blocks; after every epoch the arrays rotate
// between threads, so most frees release blocks another thread allocated. Fixed work.
#include <barrier>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <thread>
#include <vector>

#include "arenalab/core/sizes.h"
#include "arenalab/workload/harness.h"
#include "arenalab/workload/latency.h"

namespace wl = arenalab::workload;

namespace {
std::uint64_t xorshift(std::uint64_t& s) {
  s ^= s << 13;
  s ^= s >> 7;
  s ^= s << 17;
  return s;
}
std::string fmt_latency(const arenalab::workload::LatencyHistogram& l) {
  return std::to_string(l.quantile(0.5)) + "/" + std::to_string(l.quantile(0.99)) + "/" +
         std::to_string(l.quantile(0.999)) + "/" + std::to_string(l.max());
}
}  // namespace

int main(int argc, char** argv) {
  wl::Harness h("larson", "server-style random churn with cross-thread frees (larson-like)");
  std::int64_t threads = 2, slots = 4000, epochs = 40, ops = 40000;
  std::uint64_t min_size = 16, max_size = 1024;
  std::int64_t latency_sample = wl::kDefaultLatencyPeriod;
  h.int_flag("threads", &threads, 2, "worker threads");
  h.int_flag("slots", &slots, 2000, "live blocks per thread");
  h.int_flag("epochs", &epochs, 10, "epochs; the slot arrays rotate between threads after each");
  h.int_flag("ops", &ops, 40000, "replacements per thread per epoch");
  h.size_flag("min-size", &min_size, 16, "smallest block");
  h.size_flag("max-size", &max_size, 1024, "largest block");
  h.int_flag("latency-sample", &latency_sample, wl::kDefaultLatencyPeriod,
             "time 1 in N malloc and free calls (p50/p99/p99.9/max); 0: no timing");
  if (const int rc = h.parse(argc, argv); rc >= 0) return rc;
  if (threads < 1 || slots < 1 || epochs < 1 || ops < 0 || min_size == 0 || max_size < min_size ||
      latency_sample < 0) {
    std::fprintf(stderr,
                 "wl_larson: need threads, slots, epochs >= 1 and 0 < min-size <= max-size\n");
    return 2;
  }
  const auto T = static_cast<std::size_t>(threads);
  const auto S = static_cast<std::size_t>(slots);
  std::vector<std::vector<char*>> arrays(T, std::vector<char*>(S, nullptr));
  std::vector<std::uint64_t> cross(T, 0), checks(T, 0);
  std::barrier sync(static_cast<std::ptrdiff_t>(T));
  const auto period = static_cast<std::uint64_t>(latency_sample);
  wl::LatencyHistogram malloc_latency, free_latency;  // merged from the threads at their end
  std::mutex merge;
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<std::thread> pool;
  for (std::size_t i = 0; i < T; ++i) {
    pool.emplace_back([&, i] {
      std::uint64_t rng = 0x9E3779B97F4A7C15ULL * (i + 1);
      std::uint64_t my_cross = 0, my_check = 0;  // local: no false sharing between counters
      wl::OpTimer timer(period);                 // this thread's histograms
      const std::size_t span = max_size - min_size + 1;
      // Epoch 0 fills this thread's own array; later epochs work on a neighbour's array.
      for (std::int64_t e = 0; e < epochs; ++e) {
        auto& arr = arrays[(i + static_cast<std::size_t>(e)) % T];
        if (e == 0) {
          for (auto& p : arr) {
            const std::size_t n = min_size + xorshift(rng) % span;
            p = static_cast<char*>(std::malloc(n));
            p[0] = static_cast<char>(i);
          }
        }
        for (std::int64_t k = 0; k < ops; ++k) {
          const std::size_t slot = xorshift(rng) % S;
          char* old = arr[slot];
          if (static_cast<std::size_t>(static_cast<unsigned char>(old[0])) != i) ++my_cross;
          my_check += static_cast<unsigned char>(old[0]);
          timer.free_op([old] { std::free(old); });
          const std::size_t n = min_size + xorshift(rng) % span;
          char* p = timer.malloc_op([n] { return static_cast<char*>(std::malloc(n)); });
          p[0] = static_cast<char>(i);
          p[n - 1] = 1;
          arr[slot] = p;
        }
        sync.arrive_and_wait();
      }
      cross[i] = my_cross;
      checks[i] = my_check;
      const std::lock_guard lock(merge);
      malloc_latency.merge(timer.mallocs());
      free_latency.merge(timer.frees());
    });
  }
  for (auto& t : pool) t.join();
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  std::uint64_t cross_total = 0;
  for (auto c : cross) cross_total += c;
  for (auto c : checks) wl::keep(c);
  for (auto& arr : arrays)
    for (char* p : arr) std::free(p);
  arrays.clear();
  arrays.shrink_to_fit();
  const std::uint64_t rss_after = wl::current_rss();
  const double total_ops = static_cast<double>(threads * epochs * ops);
  h.measure("elapsed_ms", ms);
  h.measure("operations", total_ops);
  h.measure("cross_thread_frees", cross_total);
  h.measure("rss_after_free_bytes", rss_after);
  h.throughput(total_ops / (ms / 1000.0), "ops/s");
  wl::measure_latency(h, malloc_latency, free_latency, period);
  h.row("replacements", std::to_string(static_cast<std::int64_t>(total_ops)));
  h.row("cross-thread frees", std::to_string(cross_total));
  h.row("time", std::to_string(ms) + " ms");
  h.row("RSS after free", arenalab::format_bytes(static_cast<double>(rss_after)));
  if (period > 0)
    h.row("malloc p50/p99/p99.9/max",
          fmt_latency(malloc_latency) + " ns (1 in " + std::to_string(period) + " timed)");
  // With more than one thread, every epoch after the first frees blocks of another thread.
  h.check("cross_thread_frees", threads == 1 || cross_total > 0,
          std::to_string(cross_total) + " frees released another thread's block");
  return h.finish();
}
