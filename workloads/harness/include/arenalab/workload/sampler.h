// SPDX-License-Identifier: Apache-2.0
// A periodic sampler thread for workloads that watch memory over time: every interval it
// records RSS (statm), the allocator's books and one workload gauge. Header-only.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "arenalab/workload/harness.h"

namespace arenalab::workload {

struct Sample {
  double t_ms = 0;                         // since the sampler started
  std::uint64_t rss = 0;                   // VmRSS, bytes
  std::optional<std::uint64_t> allocated;  // allocator's allocated bytes, when it reports them
  std::optional<std::uint64_t> mapped;     // allocator's mapped/committed bytes, when reported
  std::int64_t gauge = 0;                  // the workload's own figure (e.g. bytes it holds)
};

// The figure "the heap" stands for: the allocator's allocated bytes where it reports them,
// else its mapped (committed) bytes; empty when it reports neither (tbbmalloc).
struct Books {
  std::uint64_t bytes = 0;
  const char* field = "";
};
inline std::optional<Books> heap_books(const AllocatorStats& s) {
  if (s.allocated) return Books{*s.allocated, "allocated"};
  if (s.mapped) return Books{*s.mapped, "mapped"};
  return std::nullopt;
}

// A series as the workloads' "samples" measurement: one object per sample, {t_ms, rss, <gauge>,
// allocated, mapped}; the gauge under `gauge_key` (none when null: a sampler without a gauge),
// the allocator's books only where it reports them (absent, never 0).
inline nlohmann::json samples_json(const std::vector<Sample>& series,
                                   const char* gauge_key = "held") {
  nlohmann::json js = nlohmann::json::array();
  for (const auto& s : series) {
    nlohmann::json o = {{"t_ms", s.t_ms}, {"rss", s.rss}};
    if (gauge_key) o[gauge_key] = s.gauge;
    if (s.allocated) o["allocated"] = *s.allocated;
    if (s.mapped) o["mapped"] = *s.mapped;
    js.push_back(std::move(o));
  }
  return js;
}

class Sampler {
 public:
  // `gauge` (optional) is called from the sampler thread; it must be thread-safe.
  Sampler(const Harness& h, double interval_ms, std::function<std::int64_t()> gauge = {})
      : h_(h), interval_ms_(interval_ms), gauge_(std::move(gauge)) {
    samples_.reserve(4096);
  }
  ~Sampler() { stop(); }
  Sampler(const Sampler&) = delete;
  Sampler& operator=(const Sampler&) = delete;

  void start() {
    t0_ = std::chrono::steady_clock::now();
    thread_ = std::thread([this] { run(); });
  }
  // Takes one last sample and joins. Idempotent.
  void stop() {
    {
      std::lock_guard lock(mu_);
      if (!thread_.joinable()) return;
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  // One sample now, from the calling thread (also recorded in the series).
  Sample sample_now() {
    Sample s = take();
    std::lock_guard lock(mu_);
    samples_.push_back(s);
    return s;
  }
  double elapsed_ms() const {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0_)
        .count();
  }
  std::vector<Sample> samples() const {
    std::lock_guard lock(mu_);
    auto copy = samples_;
    std::sort(copy.begin(), copy.end(),
              [](const Sample& a, const Sample& b) { return a.t_ms < b.t_ms; });
    return copy;
  }

 private:
  Sample take() const {
    Sample s;
    s.t_ms = elapsed_ms();
    s.rss = current_rss();
    const AllocatorStats st = h_.allocator_stats();
    s.allocated = st.allocated;
    s.mapped = st.mapped;
    if (gauge_) s.gauge = gauge_();
    return s;
  }
  void run() {
    std::unique_lock lock(mu_);
    auto next = std::chrono::steady_clock::now();
    const auto step = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
        std::chrono::duration<double, std::milli>(interval_ms_));
    while (true) {
      lock.unlock();
      Sample s = take();
      lock.lock();
      samples_.push_back(s);
      if (stop_) break;
      next += step;
      cv_.wait_until(lock, next, [this] { return stop_; });
    }
  }

  const Harness& h_;
  double interval_ms_;
  std::function<std::int64_t()> gauge_;
  std::chrono::steady_clock::time_point t0_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::vector<Sample> samples_;
  std::thread thread_;
};

}  // namespace arenalab::workload
