// SPDX-License-Identifier: Apache-2.0
// What the long-running workloads share: the run itself (worker threads under the sampler until
// --duration), and what they report about memory over time: the sampler's series (RSS, the bytes
// the program holds, the allocator's books), RSS per quarter of the run, the ratio of RSS to the
// bytes held at the start and the end, and the two checks every one makes. Header-only,
// workloads/longrun only.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "arenalab/core/quantile.h"
#include "arenalab/core/sizes.h"
#include "arenalab/workload/harness.h"
#include "arenalab/workload/sampler.h"

namespace arenalab::workload::longrun {

inline std::string fixed(double v, int decimals = 2) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

// Measures samples, rss_q1..q4_bytes (median RSS of each quarter of the run), held_q1..q4_bytes,
// rss_to_held_first / _last (RSS above the start per byte held, first and last quarter) and
// rss_growth_q2_to_q4_bytes; rows for the terminal. The growth verdict itself is the matrix's (the
// classifier on the cell's timeline).
inline void report_over_time(Harness& h, const std::vector<Sample>& series, std::uint64_t rss0) {
  h.measure("samples", samples_json(series));
  h.measure("rss_start_bytes", rss0);
  if (series.size() < 4) return;
  const double t_end = series.back().t_ms;
  double rss_q[4] = {}, held_q[4] = {};
  for (int q = 0; q < 4; ++q) {
    std::vector<double> rss, held;
    for (const auto& s : series)
      if (s.t_ms >= t_end * q / 4 && (s.t_ms < t_end * (q + 1) / 4 || q == 3)) {
        rss.push_back(static_cast<double>(s.rss));
        held.push_back(static_cast<double>(s.gauge));
      }
    rss_q[q] = rss.empty() ? 0 : median_of(std::move(rss));
    held_q[q] = held.empty() ? 0 : median_of(std::move(held));
    h.measure("rss_q" + std::to_string(q + 1) + "_bytes", rss_q[q]);
    h.measure("held_q" + std::to_string(q + 1) + "_bytes", held_q[q]);
  }
  // RSS above the start (the program's own code and stacks out) per byte held.
  const double base = static_cast<double>(rss0);
  const double first = std::max(rss_q[0] - base, 0.0) / std::max(held_q[0], 4096.0);
  const double last = std::max(rss_q[3] - base, 0.0) / std::max(held_q[3], 4096.0);
  h.measure("rss_to_held_first", first);
  h.measure("rss_to_held_last", last);
  h.measure("rss_growth_q2_to_q4_bytes", rss_q[3] - rss_q[1]);
  h.row("RSS by quarter of the run", format_bytes(rss_q[0]) + ", " + format_bytes(rss_q[1]) + ", " +
                                         format_bytes(rss_q[2]) + ", " + format_bytes(rss_q[3]));
  h.row("bytes held by quarter", format_bytes(held_q[0]) + ", " + format_bytes(held_q[1]) + ", " +
                                     format_bytes(held_q[2]) + ", " + format_bytes(held_q[3]));
  h.row("RSS above start / held, first and last quarter", fixed(first) + " -> " + fixed(last));
}

// Seconds since construction: the clock a long run's workers and its report read.
class Clock {
 public:
  double seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }

 private:
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

struct Run {
  double ran_s = 0;            // seconds on the meter's clock when the last worker returned
  std::vector<Sample> series;  // the sampler's, closed by one last sample
};

// What a long run measures from: RSS at its start, the bytes the program holds (its workers add
// and subtract them), the clock, and the sampler of RSS, the allocator's books and `held`.
struct Meter {
  Meter(const Harness& h, double interval_ms)
      : sampler(h, interval_ms, [this] { return held.load(); }) {}

  // Runs worker(0) .. worker(threads - 1), one thread each, under the sampler; waits for all.
  template <class Worker>
  Run run(std::int64_t threads, Worker& worker) {
    sampler.start();
    std::vector<std::thread> pool;
    for (int i = 0; i < threads; ++i) pool.emplace_back(worker, i);
    for (auto& t : pool) t.join();
    Run r;
    r.ran_s = clock.seconds();
    sampler.stop();
    r.series = sampler.samples();
    return r;
  }

  const std::uint64_t rss0 = current_rss();
  std::atomic<std::int64_t> held{0};
  const Clock clock;
  Sampler sampler;
};

// After report_over_time: the "threads x duration" row (`done`: what the threads did, e.g. "812
// requests"), and the two checks: what the program held never exceeded `held_bound`, its own
// bound, and it ran for the whole --duration.
inline void report_run(Harness& h, const Run& run, std::int64_t threads, double duration_s,
                       const std::string& done, double held_bound) {
  h.row("threads x duration",
        std::to_string(threads) + " x " + fixed(run.ran_s, 1) + " s (" + done + ")");
  std::int64_t held_max = 0;
  for (const auto& s : run.series) held_max = std::max(held_max, s.gauge);
  h.check("held_bytes_bounded", static_cast<double>(held_max) <= held_bound,
          "held at most " + format_bytes(static_cast<double>(held_max)) + " (bound " +
              format_bytes(held_bound) + ")");
  h.check("ran_for_duration", run.ran_s >= duration_s,
          "ran " + fixed(run.ran_s, 2) + " s of --duration " + fixed(duration_s, 2) + " s");
}

}  // namespace arenalab::workload::longrun
