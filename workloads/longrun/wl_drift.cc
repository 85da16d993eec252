// SPDX-License-Identifier: Apache-2.0
// wl_drift (issue 24, long-term fragmentation): a population of long-lived objects holding
// --live bytes in all, replaced one at a time at random for --duration seconds while the size
// distribution drifts: its centre moves log-uniformly from --min-size to --max-size and back
// over each --cycle (default: one cycle over the run), +- 1.5 octaves around it. The bytes held
// stay at --live; which allocator's RSS follows them as the sizes drift, over minutes, is the
// finding.
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <numbers>
#include <random>
#include <string>
#include <vector>

#include "arenalab/core/sizes.h"
#include "arenalab/workload/harness.h"
#include "arenalab/workload/sampler.h"
#include "over_time.h"

namespace wl = arenalab::workload;
using arenalab::format_bytes;

namespace {
struct Block {
  void* p;
  std::size_t size;
};
}  // namespace

int main(int argc, char** argv) {
  wl::Harness h("drift", "a long-lived population whose size distribution drifts; RSS over time");
  std::int64_t threads = 2, seed = 1;
  std::uint64_t live = 64ULL << 20, min_size = 16, max_size = 64ULL << 10;
  double duration_s = 120, cycle_s = 0, interval_ms = 100;
  h.int_flag("threads", &threads, 2, "threads, each owning its share of the population");
  h.double_flag("duration", &duration_s, 1.5, "seconds to run");
  h.double_flag("cycle", &cycle_s, 0, "seconds per small -> large -> small cycle (0: --duration)");
  h.size_flag("live", &live, 8ULL << 20, "bytes the population holds (all threads)");
  h.size_flag("min-size", &min_size, 16, "centre of the size distribution at the start");
  h.size_flag("max-size", &max_size, 64ULL << 10, "centre at the middle of a cycle");
  h.double_flag("interval", &interval_ms, 25, "sampling interval in ms");
  h.int_flag("seed", &seed, 1, "random seed");
  if (const int rc = h.parse(argc, argv); rc >= 0) return rc;
  if (threads < 1 || duration_s <= 0 || cycle_s < 0 || interval_ms <= 0 || min_size == 0 ||
      max_size < min_size || live < max_size * 16) {
    std::fprintf(stderr,
                 "wl_drift: need --threads >= 1, --duration, --interval > 0, --cycle >= 0, "
                 "0 < --min-size <= --max-size, --live >= 16 x --max-size\n");
    return 2;
  }
  const double cycle = cycle_s > 0 ? cycle_s : duration_s;
  const double lo = std::log2(static_cast<double>(min_size));
  const double hi = std::log2(static_cast<double>(max_size));

  std::atomic<std::uint64_t> replaced{0};
  wl::longrun::Meter m(h, interval_ms);

  auto worker = [&](int index) {
    std::mt19937_64 rng(static_cast<std::uint64_t>(seed) * 104729 + static_cast<unsigned>(index));
    std::uniform_real_distribution<double> unit(0, 1);
    const auto target = static_cast<std::int64_t>(live / static_cast<std::uint64_t>(threads));
    std::vector<Block> pop;
    std::int64_t mine = 0;
    std::uint64_t my_replaced = 0;
    auto draw = [&](double t) {
      const double centre = lo + (hi - lo) * (1 - std::cos(2 * std::numbers::pi * t / cycle)) / 2;
      const double l = std::clamp(centre + (unit(rng) * 3 - 1.5), 3.0, 40.0);
      const auto size = static_cast<std::size_t>(std::exp2(l));
      void* p = std::malloc(size);
      if (!p) std::abort();  // out of memory is not a result this workload can report
      wl::touch_pages(p, size);
      mine += static_cast<std::int64_t>(size);
      m.held += static_cast<std::int64_t>(size);
      pop.push_back({p, size});
    };
    auto drop = [&](std::size_t k) {
      const Block b = pop[k];
      pop[k] = pop.back();
      pop.pop_back();
      std::free(b.p);
      mine -= static_cast<std::int64_t>(b.size);
      m.held -= static_cast<std::int64_t>(b.size);
    };
    while (mine < target) draw(0);
    std::uint64_t step = 0;
    double t = 0;
    while ((step++ & 255) != 0 || (t = m.clock.seconds()) < duration_s) {
      // One replacement: a random object dies, one of today's sizes is born; then the
      // population is brought back to its bytes (sizes drift, so counts change).
      drop(static_cast<std::size_t>(unit(rng) * static_cast<double>(pop.size())) % pop.size());
      draw(t);
      while (mine > target && pop.size() > 1)
        drop(static_cast<std::size_t>(unit(rng) * static_cast<double>(pop.size())) % pop.size());
      while (mine < target) draw(t);
      ++my_replaced;
    }
    for (const Block& b : pop) std::free(b.p);
    m.held -= mine;
    replaced += my_replaced;
  };

  h.progress(std::to_string(threads) + " threads, " + format_bytes(static_cast<double>(live)) +
             " live, " + wl::longrun::fixed(duration_s, 1) + " s");
  const auto run = m.run(threads, worker);

  h.measure("duration_s", run.ran_s);
  h.measure("replacements", replaced.load());
  h.throughput(static_cast<double>(replaced.load()) / run.ran_s, "replacements/s");
  wl::longrun::report_over_time(h, run.series, m.rss0);
  // The program's own bound: each thread ends a replacement below its share plus one object, and
  // within one it drops an object and draws another before trimming, so it can briefly hold its
  // share plus two objects of the largest size (the bound was one, and a run at the edge read
  // "held at most 8.4 MiB (bound 8.4 MiB)").
  wl::longrun::report_run(h, run, threads, duration_s,
                          std::to_string(replaced.load()) + " replacements",
                          static_cast<double>(live) + 2 * static_cast<double>(threads) *
                                                          std::exp2(std::min(hi + 1.5, 40.0)));
  return h.finish();
}
