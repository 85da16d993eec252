// SPDX-License-Identifier: Apache-2.0
// bm_alloc: allocator microbenchmarks (Google Benchmark), built once per link variant
// (bm_alloc = glibc, bm_alloc-<backend> linked against that allocator): malloc/free pairs per
// size class, batch allocate then free, and frees on another thread. A MemoryManager reports
// the benchmark's own allocations (count, bytes, peak live bytes) in its memory run.
#include <benchmark/benchmark.h>

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "arenalab/allocators/backend.h"

namespace {

// Counting is on only during the MemoryManager's separate run, so timed runs pay one relaxed
// load per call.
std::atomic<bool> g_counting{false};
std::atomic<std::int64_t> g_allocs{0}, g_bytes{0}, g_live{0}, g_peak{0};

inline void* counted_malloc(std::size_t n) {
  void* p = std::malloc(n);
  if (g_counting.load(std::memory_order_relaxed)) {
    g_allocs.fetch_add(1, std::memory_order_relaxed);
    g_bytes.fetch_add(static_cast<std::int64_t>(n), std::memory_order_relaxed);
    const auto live = g_live.fetch_add(static_cast<std::int64_t>(n), std::memory_order_relaxed) +
                      static_cast<std::int64_t>(n);
    auto peak = g_peak.load(std::memory_order_relaxed);
    while (live > peak && !g_peak.compare_exchange_weak(peak, live, std::memory_order_relaxed)) {
    }
  }
  return p;
}
inline void counted_free(void* p, std::size_t n) {
  if (g_counting.load(std::memory_order_relaxed))
    g_live.fetch_sub(static_cast<std::int64_t>(n), std::memory_order_relaxed);
  std::free(p);
}

class CountingMemoryManager : public benchmark::MemoryManager {
 public:
  void Start() override {
    g_allocs = 0;
    g_bytes = 0;
    g_live = 0;
    g_peak = 0;
    g_counting = true;
  }
  // benchmark 1.7 (Debian 12) passes a pointer.
  void Stop(Result* result) override {
    g_counting = false;
    result->num_allocs = g_allocs.load();
    result->max_bytes_used = g_peak.load();
    result->total_allocated_bytes = g_bytes.load();
    result->net_heap_growth = g_live.load();
  }
};

void BM_MallocFree(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  for (auto _ : state) {
    void* p = counted_malloc(n);
    benchmark::DoNotOptimize(p);
    counted_free(p, n);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_MallocFree)->RangeMultiplier(4)->Range(16, 1 << 20);

void BM_BatchAllocThenFree(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  constexpr std::size_t kBatch = 1000;
  std::vector<void*> blocks(kBatch);
  for (auto _ : state) {
    for (auto& p : blocks) {
      p = counted_malloc(n);
      benchmark::DoNotOptimize(p);
    }
    for (void* p : blocks) counted_free(p, n);
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(kBatch));
}
BENCHMARK(BM_BatchAllocThenFree)->RangeMultiplier(8)->Range(16, 32768);

// Blocks allocated here are freed by a helper thread (remote frees), batch by batch.
class RemoteFreer {
 public:
  RemoteFreer() : worker_([this] { loop(); }) {}
  ~RemoteFreer() {
    {
      std::lock_guard lock(m_);
      stop_ = true;
    }
    cv_.notify_all();
    worker_.join();
  }
  void free_and_wait(std::vector<void*>& batch, std::size_t n) {
    std::unique_lock lock(m_);
    batch_ = &batch;
    size_ = n;
    cv_.notify_all();
    cv_.wait(lock, [this] { return batch_ == nullptr; });
  }

 private:
  void loop() {
    std::unique_lock lock(m_);
    for (;;) {
      cv_.wait(lock, [this] { return stop_ || batch_ != nullptr; });
      if (stop_) return;
      for (void* p : *batch_) counted_free(p, size_);
      batch_ = nullptr;
      cv_.notify_all();
    }
  }
  std::mutex m_;
  std::condition_variable cv_;
  std::vector<void*>* batch_ = nullptr;
  std::size_t size_ = 0;
  bool stop_ = false;
  std::thread worker_;
};

void BM_CrossThreadFree(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  constexpr std::size_t kBatch = 256;
  RemoteFreer freer;
  std::vector<void*> blocks(kBatch);
  for (auto _ : state) {
    for (auto& p : blocks) {
      p = counted_malloc(n);
      benchmark::DoNotOptimize(p);
    }
    freer.free_and_wait(blocks, n);
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(kBatch));
}
BENCHMARK(BM_CrossThreadFree)->RangeMultiplier(16)->Range(16, 4096)->UseRealTime();

}  // namespace

int main(int argc, char** argv) {
  arenalab::Identification id;
  arenalab::identify_current(&id);
  benchmark::AddCustomContext("allocator", arenalab::backend_name(id.backend));
  benchmark::AddCustomContext("allocator_library", id.library);
  benchmark::AddCustomContext("allocator_version", id.version);
  static CountingMemoryManager mm;
  benchmark::RegisterMemoryManager(&mm);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 2;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  benchmark::RegisterMemoryManager(nullptr);
  return 0;
}
