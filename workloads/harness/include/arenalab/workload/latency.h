// SPDX-License-Identifier: Apache-2.0
// Per-operation latency for the stress workloads: 1 in `period` malloc/free calls is timed with
// clock_gettime(CLOCK_MONOTONIC) (vDSO, no syscall) into a per-thread log-bucketed histogram;
// the threads' histograms are merged and reported as p50/p99/p99.9/max in nanoseconds.
#pragma once

#include <time.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>
#include <mutex>
#include <string>
#include <type_traits>

#include "arenalab/workload/harness.h"

namespace arenalab::workload {

// Log-linear buckets: values below 8 ns exactly, above that 8 sub-buckets per power of two
// (3 bits of mantissa), so a bucket's width is at most 1/8 of its lower bound: a percentile is
// reported as its bucket's upper bound, at most 12.5 % above the true value (never below).
class LatencyHistogram {
 public:
  static constexpr int kSub = 8;
  static constexpr int kBuckets = (64 - 2) * kSub;

  static int bucket_of(std::uint64_t ns) {
    if (ns < kSub) return static_cast<int>(ns);
    const int e = 63 - std::countl_zero(ns);  // >= 3
    const auto mantissa = static_cast<int>((ns >> (e - 3)) & (kSub - 1));
    return (e - 2) * kSub + mantissa;
  }
  // The largest value that falls in bucket b.
  static std::uint64_t upper_of(int b) {
    if (b < kSub) return static_cast<std::uint64_t>(b);
    const int e = b / kSub + 2, mantissa = b % kSub;
    const std::uint64_t lower = static_cast<std::uint64_t>(kSub + mantissa) << (e - 3);
    return lower + (std::uint64_t{1} << (e - 3)) - 1;
  }

  void record(std::uint64_t ns) {
    ++counts_[static_cast<std::size_t>(bucket_of(ns))];
    ++n_;
    max_ = std::max(max_, ns);
  }
  void merge(const LatencyHistogram& o) {
    for (std::size_t i = 0; i < counts_.size(); ++i) counts_[i] += o.counts_[i];
    n_ += o.n_;
    max_ = std::max(max_, o.max_);
  }
  std::uint64_t count() const { return n_; }
  std::uint64_t max() const { return max_; }
  // The non-empty buckets in increasing order as [upper bound ns, count] pairs (the last upper
  // bound capped at the exact maximum): the whole distribution, for a CDF.
  nlohmann::json buckets() const {
    nlohmann::json out = nlohmann::json::array();
    for (int b = 0; b < kBuckets; ++b)
      if (const auto c = counts_[static_cast<std::size_t>(b)]; c > 0)
        out.push_back({std::min(upper_of(b), max_), c});
    return out;
  }
  // The q-quantile (0 < q <= 1): the upper bound of the bucket holding the ceil(q n)-th value,
  // capped at the exact maximum. 0 when empty.
  std::uint64_t quantile(double q) const {
    if (n_ == 0) return 0;
    auto rank = static_cast<std::uint64_t>(q * static_cast<double>(n_));
    if (static_cast<double>(rank) < q * static_cast<double>(n_)) ++rank;
    rank = std::clamp<std::uint64_t>(rank, 1, n_);
    std::uint64_t seen = 0;
    for (int b = 0; b < kBuckets; ++b) {
      seen += counts_[static_cast<std::size_t>(b)];
      if (seen >= rank) return std::min(upper_of(b), max_);
    }
    return max_;
  }

 private:
  std::array<std::uint64_t, kBuckets> counts_{};
  std::uint64_t n_ = 0, max_ = 0;
};

inline std::uint64_t monotonic_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000ull +
         static_cast<std::uint64_t>(ts.tv_nsec);
}

// One thread's sampled timer for malloc and free. period 0: nothing is timed (the call runs
// bare, one predictable branch).
class OpTimer {
 public:
  explicit OpTimer(std::uint64_t period)
      : period_(period), malloc_countdown_(period), free_countdown_(period) {}

  template <typename F>
  auto malloc_op(F&& f) {
    return timed(malloc_, malloc_countdown_, static_cast<F&&>(f));
  }
  template <typename F>
  auto free_op(F&& f) {
    return timed(free_, free_countdown_, static_cast<F&&>(f));
  }
  const LatencyHistogram& mallocs() const { return malloc_; }
  const LatencyHistogram& frees() const { return free_; }

 private:
  template <typename F>
  auto timed(LatencyHistogram& h, std::uint64_t& countdown, F&& f) {
    if (period_ == 0 || --countdown != 0) return f();
    countdown = period_;
    const std::uint64_t t0 = monotonic_ns();
    if constexpr (std::is_void_v<decltype(f())>) {
      f();
      h.record(monotonic_ns() - t0);
    } else {
      auto r = f();
      h.record(monotonic_ns() - t0);
      return r;
    }
  }
  // One countdown per operation: with a shared one, alternating calls would time only one kind.
  std::uint64_t period_, malloc_countdown_, free_countdown_;
  LatencyHistogram malloc_, free_;
};

// The merged histograms as measurements: malloc_p50_ns, malloc_p99_ns, malloc_p999_ns,
// malloc_max_ns, malloc_latency_samples, malloc_latency_histogram (buckets() above: at most a
// few hundred pairs), the same for free, and latency_sample_period. Each
// sample includes the cost of one clock read (about 20 ns with the vDSO); nothing is subtracted.
// Nothing is measured when period is 0 (timing off).
inline void measure_latency(Harness& h, const LatencyHistogram& mallocs,
                            const LatencyHistogram& frees, std::uint64_t period) {
  if (period == 0) return;
  for (const auto& [op, hist] :
       {std::pair{std::string("malloc"), &mallocs}, std::pair{std::string("free"), &frees}}) {
    if (hist->count() == 0) continue;
    h.measure(op + "_p50_ns", hist->quantile(0.50));
    h.measure(op + "_p99_ns", hist->quantile(0.99));
    h.measure(op + "_p999_ns", hist->quantile(0.999));
    h.measure(op + "_max_ns", hist->max());
    h.measure(op + "_latency_samples", hist->count());
    h.measure(op + "_latency_histogram", hist->buckets());
  }
  h.measure("latency_sample_period", period);
}

// The default sampling period of the stress workloads: 1 in 256 calls timed. A timed call
// costs about 86 ns more here (two clock reads of about 40 ns each in this VM, plus the
// histogram), and glibc's small malloc or free takes about 14 ns in a tight loop: 1 in 64 added
// about 1.3 ns a call (up to 10 % of the cheapest calls; larson's CPU time +7 %), 1 in 256
// adds about 0.3 ns (docs/matrix.md, "Overhead of timing"; scripts/bench-latency-overhead).
inline constexpr std::int64_t kDefaultLatencyPeriod = 256;

// A workload's timing in one place: the --latency-sample flag (registered before parse), one
// OpTimer per thread, the threads' histograms merged as each ends, the figures measured.
class LatencyRecorder {
 public:
  // default_period: 1 in N calls timed unless --latency-sample says otherwise (a workload of
  // few, slow calls times every one: two clock reads are nothing next to them).
  explicit LatencyRecorder(Harness& h, std::int64_t default_period = kDefaultLatencyPeriod)
      : period_(default_period) {
    h.int_flag("latency-sample", &period_, default_period,
               "time 1 in N malloc and free calls (p50/p99/p99.9/max); 0: no timing");
  }
  // After parse: a negative period is a bad flag.
  bool valid() const { return period_ >= 0; }
  std::uint64_t period() const {
    return static_cast<std::uint64_t>(std::max<std::int64_t>(0, period_));
  }
  OpTimer timer() const { return OpTimer(period()); }
  // Thread-safe: each thread merges its own timer when it ends.
  void merge(const OpTimer& t) {
    const std::lock_guard lock(mutex_);
    mallocs_.merge(t.mallocs());
    frees_.merge(t.frees());
  }
  void measure(Harness& h) const { measure_latency(h, mallocs_, frees_, period()); }
  const LatencyHistogram& mallocs() const { return mallocs_; }

 private:
  std::int64_t period_ = kDefaultLatencyPeriod;
  std::mutex mutex_;
  LatencyHistogram mallocs_, frees_;
};

}  // namespace arenalab::workload
