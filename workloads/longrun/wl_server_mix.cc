// SPDX-License-Identifier: Apache-2.0
// wl_server_mix (issue 24, long-term fragmentation): --threads workers serve requests for
// --duration seconds. Each request allocates --request short-lived buffers and one session
// object kept in the thread's session cache (bounded to --live bytes, random eviction); a few
// sessions (--keep per mille) outlive every phase in a bounded FIFO. Every --phase seconds the
// size classes change (16-256 B, 512 B-8 KiB, 16-128 KiB, then 64 B-64 KiB mixed), so the cache
// turns over from one class to the next while older objects pin the pages of the last one. The
// bytes held stay flat; how RSS follows them over minutes is the allocator's.
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <deque>
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
// The size classes of each phase, cycled: [smallest, largest] bytes, log-uniform within.
constexpr std::pair<double, double> kPhaseBands[] = {
    {16, 256}, {512, 8 << 10}, {16 << 10, 128 << 10}, {64, 64 << 10}};
constexpr int kPhases = sizeof kPhaseBands / sizeof kPhaseBands[0];

struct Block {
  void* p;
  std::size_t size;
};
}  // namespace

int main(int argc, char** argv) {
  wl::Harness h("server_mix",
                "server-like requests whose size classes change by phase; RSS over minutes");
  std::int64_t threads = 4, request = 32, keep_per_mille = 4, seed = 1;
  std::uint64_t live = 16ULL << 20;
  double duration_s = 120, phase_s = 10, interval_ms = 100;
  h.int_flag("threads", &threads, 2, "worker threads");
  h.double_flag("duration", &duration_s, 1.5, "seconds to run");
  h.double_flag("phase", &phase_s, 0.25, "seconds per size-class phase");
  h.size_flag("live", &live, 4ULL << 20, "session cache per thread (bytes held)");
  h.int_flag("request", &request, 32, "short-lived buffers per request");
  h.int_flag("keep", &keep_per_mille, 4,
             "sessions in 1000 that outlive the phases (FIFO of live/8 per thread)");
  h.double_flag("interval", &interval_ms, 25, "sampling interval in ms");
  h.int_flag("seed", &seed, 1, "random seed");
  if (const int rc = h.parse(argc, argv); rc >= 0) return rc;
  if (threads < 1 || request < 0 || keep_per_mille < 0 || keep_per_mille > 1000 ||
      duration_s <= 0 || phase_s <= 0 || interval_ms <= 0 || live < (64 << 10)) {
    std::fprintf(stderr,
                 "wl_server_mix: need --threads >= 1, --duration, --phase, --interval > 0, "
                 "--live >= 64K, 0 <= --keep <= 1000, --request >= 0\n");
    return 2;
  }

  std::atomic<std::uint64_t> requests{0};
  // m.held: bytes in session caches and the long-lived FIFOs
  wl::longrun::Meter m(h, interval_ms);

  auto worker = [&](int index) {
    std::mt19937_64 rng(static_cast<std::uint64_t>(seed) * 7919 + static_cast<unsigned>(index));
    std::uniform_real_distribution<double> unit(0, 1);
    std::vector<Block> cache, temps;
    std::deque<Block> kept;
    std::size_t cache_bytes = 0, kept_bytes = 0;
    std::uint64_t my_requests = 0;
    auto alloc = [&](int phase) {
      const auto [lo, hi] = kPhaseBands[phase];
      const auto size = static_cast<std::size_t>(
          std::exp(std::log(lo) + unit(rng) * (std::log(hi) - std::log(lo))));
      void* p = std::malloc(size);
      if (!p) std::abort();  // out of memory is not a result this workload can report
      wl::touch_pages(p, size);
      return Block{p, size};
    };
    while (true) {
      const double t = m.clock.seconds();
      if (t >= duration_s) break;
      const int phase = static_cast<int>(t / phase_s) % kPhases;
      for (std::int64_t i = 0; i < request; ++i) temps.push_back(alloc(phase));
      const Block session = alloc(phase);
      if (unit(rng) * 1000 < static_cast<double>(keep_per_mille)) {
        kept.push_back(session);
        kept_bytes += session.size;
        m.held += static_cast<std::int64_t>(session.size);
        while (kept_bytes > live / 8) {
          std::free(kept.front().p);
          kept_bytes -= kept.front().size;
          m.held -= static_cast<std::int64_t>(kept.front().size);
          kept.pop_front();
        }
      } else {
        cache.push_back(session);
        cache_bytes += session.size;
        m.held += static_cast<std::int64_t>(session.size);
        while (cache_bytes > live) {  // evict a random session
          const std::size_t k =
              static_cast<std::size_t>(unit(rng) * static_cast<double>(cache.size()));
          const Block b = cache[std::min(k, cache.size() - 1)];
          cache[std::min(k, cache.size() - 1)] = cache.back();
          cache.pop_back();
          std::free(b.p);
          cache_bytes -= b.size;
          m.held -= static_cast<std::int64_t>(b.size);
        }
      }
      for (const Block& b : temps) std::free(b.p);  // the request's buffers go with it
      temps.clear();
      ++my_requests;
    }
    for (const Block& b : cache) std::free(b.p);
    for (const Block& b : kept) std::free(b.p);
    m.held -= static_cast<std::int64_t>(cache_bytes + kept_bytes);
    requests += my_requests;
  };

  h.progress(std::to_string(threads) + " threads for " + wl::longrun::fixed(duration_s, 1) +
             " s, phases of " + wl::longrun::fixed(phase_s, 2) + " s");
  const auto run = m.run(threads, worker);

  h.measure("duration_s", run.ran_s);
  h.measure("requests", requests.load());
  h.measure("phases", static_cast<std::int64_t>(run.ran_s / phase_s) + 1);
  h.throughput(static_cast<double>(requests.load()) / run.ran_s, "requests/s");
  wl::longrun::report_over_time(h, run.series, m.rss0);
  // The program's own bound: what it holds never exceeds the caches it sized (+ a session each).
  wl::longrun::report_run(
      h, run, threads, duration_s, std::to_string(requests.load()) + " requests",
      static_cast<double>(threads) * (static_cast<double>(live) * 9 / 8 + (128 << 10)));
  return h.finish();
}
