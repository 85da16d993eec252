// SPDX-License-Identifier: Apache-2.0
// wl_pareto_churn: churn with heavy-tailed sizes. Object sizes in real programs are roughly
// Pareto-distributed (many small, a few huge); each thread keeps a live set and replaces random
// members with blocks whose size is drawn from a Pareto(alpha, min) law, capped, by inverse
// transform sampling: size = min / U^(1/alpha). Every block is written. Fixed work.
#include <chrono>
#include <cmath>
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
  wl::Harness h("pareto_churn", "random churn with Pareto-distributed sizes, all blocks written");
  std::int64_t threads = 2, live = 4000, ops = 400000;
  double alpha = 1.3;
  std::uint64_t min_size = 16, cap = 1 << 20;
  h.int_flag("threads", &threads, 2, "worker threads");
  h.int_flag("live", &live, 2000, "live blocks per thread");
  h.int_flag("ops", &ops, 200000, "replacements per thread");
  h.double_flag("alpha", &alpha, 1.3, "Pareto shape (smaller: heavier tail)");
  h.size_flag("min-size", &min_size, 16, "Pareto scale: the smallest block");
  h.size_flag("max-size", &cap, 1 << 20, "cap on a block");
  wl::LatencyRecorder latency(h);
  if (const int rc = h.parse(argc, argv); rc >= 0) return rc;
  if (threads < 1 || live < 1 || ops < 0 || alpha <= 0 || min_size == 0 || cap < min_size ||
      !latency.valid()) {
    std::fprintf(stderr,
                 "wl_pareto_churn: need threads, live >= 1, alpha > 0, 0 < min-size <= max-size\n");
    return 2;
  }
  const wl::ThreadsRun run = wl::run_threads(threads, [&](std::int64_t t) {
    std::uint64_t rng = 0xD1B54A32D192ED03ULL * static_cast<std::uint64_t>(t + 1);
    auto next = [&rng] {
      rng ^= rng << 13;
      rng ^= rng >> 7;
      rng ^= rng << 17;
      return rng;
    };
    auto draw = [&] {
      const double u = (static_cast<double>(next() >> 11) + 1.0) / 9007199254740993.0;  // (0,1]
      const double s = static_cast<double>(min_size) / std::pow(u, 1.0 / alpha);
      return static_cast<std::size_t>(std::min(s, static_cast<double>(cap)));
    };
    std::vector<void*> set(static_cast<std::size_t>(live), nullptr);
    std::uint64_t mine = 0;
    wl::OpTimer timer = latency.timer();
    for (std::int64_t k = 0; k < ops + live; ++k) {
      const std::size_t slot =
          k < live ? static_cast<std::size_t>(k) : next() % static_cast<std::size_t>(live);
      timer.free_op([p = set[slot]] { std::free(p); });
      const std::size_t n = draw();
      set[slot] = timer.malloc_op([n] { return std::malloc(n); });
      std::memset(set[slot], static_cast<int>(k), n);
      mine += n;
    }
    for (void* p : set) std::free(p);
    latency.merge(timer);
    return mine;
  });
  const double ms = run.ms;
  const std::uint64_t total = run.total;
  const std::uint64_t rss_after = wl::current_rss();
  const double allocations = static_cast<double>(threads * (ops + live));
  h.measure("elapsed_ms", ms);
  h.measure("allocations", allocations);
  h.measure("bytes_allocated", total);
  h.measure("rss_after_free_bytes", rss_after);
  h.throughput(allocations / (ms / 1000.0), "allocs/s");
  latency.measure(h);
  h.row("allocations", std::to_string(static_cast<std::uint64_t>(allocations)));
  h.row("bytes allocated", arenalab::format_bytes(static_cast<double>(total)));
  h.row("mean size", arenalab::format_bytes(static_cast<double>(total) / allocations));
  h.row("time", std::to_string(ms) + " ms");
  h.row("RSS after free", arenalab::format_bytes(static_cast<double>(rss_after)));
  // The Pareto mean is alpha*min/(alpha-1) for alpha > 1; the sample mean must exceed min.
  h.check("sizes_heavy_tailed", total / static_cast<std::uint64_t>(allocations) > min_size,
          "mean block " + arenalab::format_bytes(static_cast<double>(total) / allocations) +
              " exceeds the minimum " + arenalab::format_bytes(static_cast<double>(min_size)));
  return h.finish();
}
