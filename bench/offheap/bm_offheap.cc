// SPDX-License-Identifier: Apache-2.0
// bm_offheap: put/get throughput and RSS per payload byte of arenalab::offheap::Store against
// std::unordered_map<uint64_t, std::vector<std::byte>>, at 10 M x 16 B and 1 M x 1 KiB
// (--smoke: 200 k x 16 B and 20 k x 1 KiB). Each iteration runs in a fresh fork()ed child, so
// RSS is measured from a clean process (no memory retained by an earlier iteration) under
// whatever allocator LD_PRELOAD names; the child reports its figures through a pipe.
#include <sys/wait.h>
#include <unistd.h>

#include <time.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <unordered_map>
#include <vector>

#include <benchmark/benchmark.h>

#include "arenalab/allocators/backend.h"
#include "arenalab/offheap/store.h"

namespace {

bool g_huge_pages = false;  // --huge-pages: the store's regions on transparent huge pages

using Clock = std::chrono::steady_clock;

// What one child measured.
struct Sample {
  double put_s = 0, get_s = 0;          // wall seconds
  double put_cpu_s = 0, get_cpu_s = 0;  // CPU seconds of the (single-threaded) child, user + sys
  std::uint64_t rss_before = 0, rss_after_put = 0;
  std::uint64_t region_resident = 0;  // store only: mincore over its regions
  std::uint64_t region_mapped = 0;    // store only
  std::uint64_t checksum_errors = 0;
  int ok = 0;
};

// VmRSS from /proc/self/statm (pages -> bytes), read without allocating.
std::uint64_t rss_now() {
  FILE* f = std::fopen("/proc/self/statm", "r");
  if (!f) return 0;
  unsigned long long size = 0, resident = 0;
  const int n = std::fscanf(f, "%llu %llu", &size, &resident);
  std::fclose(f);
  return n == 2 ? resident * static_cast<std::uint64_t>(sysconf(_SC_PAGESIZE)) : 0;
}

// CPU time of the calling thread (user + system, so page-fault handling counts), seconds.
double cpu_now() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// Keys: splitmix64 of the index (distinct, random-looking); gets visit them in a permuted
// order (stride coprime to N), so neither container gets its insertion order back.
std::uint64_t key_of(std::uint64_t i) {
  std::uint64_t z = i + 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}
constexpr std::uint64_t kStride = 1000003;  // prime, does not divide 10^7 or 10^6

template <typename Put, typename Get>
void run_phases(std::uint64_t count, std::size_t size, Sample* s, Put put, Get get) {
  std::vector<std::byte> src(size), dst(size);
  for (std::size_t b = 0; b < size; ++b) src[b] = static_cast<std::byte>(b * 7);
  s->rss_before = rss_now();
  const double c0 = cpu_now();
  const auto t0 = Clock::now();
  for (std::uint64_t i = 0; i < count; ++i) {
    std::memcpy(src.data(), &i, std::min(size, sizeof i));  // each payload distinct
    put(key_of(i), src.data());
  }
  const auto t1 = Clock::now();
  const double c1 = cpu_now();
  s->rss_after_put = rss_now();
  std::uint64_t bad = 0;
  const double c2 = cpu_now();
  const auto t2 = Clock::now();
  for (std::uint64_t n = 0, i = 0; n < count; ++n, i = (i + kStride) % count) {
    get(key_of(i), dst.data());
    std::uint64_t v = 0;
    std::memcpy(&v, dst.data(), std::min(size, sizeof v));
    bad += (v != (size >= 8 ? i : (i & ((1ULL << (size * 8)) - 1))));
  }
  const auto t3 = Clock::now();
  const double c3 = cpu_now();
  s->put_cpu_s = c1 - c0;
  s->get_cpu_s = c3 - c2;
  s->put_s = std::chrono::duration<double>(t1 - t0).count();
  s->get_s = std::chrono::duration<double>(t3 - t2).count();
  s->checksum_errors = bad;
}

void child_store(std::uint64_t count, std::size_t size, Sample* s) {
  auto opened = arenalab::offheap::Store::open({.max_payload = 4096, .huge_pages = g_huge_pages});
  if (!opened.ok()) return;
  // Never destroyed: the child _exits, and teardown is outside what is measured anyway.
  auto& store = *new arenalab::offheap::Store(std::move(opened).value());
  std::uint64_t failed = 0;
  run_phases(
      count, size, s,
      [&](std::uint64_t k, const std::byte* p) { failed += !store.put(k, p, size).ok(); },
      [&](std::uint64_t k, std::byte* out) { failed += !store.get(k, out, size).ok(); });
  s->region_resident = store.resident_bytes().ok() ? store.resident_bytes().value() : 0;
  s->region_mapped = store.bytes_mapped();
  s->checksum_errors += failed;
  s->ok = 1;
}

void child_map(std::uint64_t count, std::size_t size, Sample* s) {
  // Never destroyed (the child _exits): freeing 10 M nodes would only slow the benchmark down.
  auto& map = *new std::unordered_map<std::uint64_t, std::vector<std::byte>>();
  run_phases(
      count, size, s, [&](std::uint64_t k, const std::byte* p) { map.try_emplace(k, p, p + size); },
      [&](std::uint64_t k, std::byte* out) {
        auto it = map.find(k);
        if (it != map.end()) std::memcpy(out, it->second.data(), it->second.size());
      });
  benchmark::DoNotOptimize(map.size());
  s->ok = 1;
}

// One iteration = one child. Manual time = the put phase's CPU time; the rest are counters.
void bm(benchmark::State& state, bool store) {
  const auto count = static_cast<std::uint64_t>(state.range(0));
  const auto size = static_cast<std::size_t>(state.range(1));
  for (auto _ : state) {
    int fds[2];
    if (pipe(fds) != 0) {
      state.SkipWithError("pipe failed");
      return;
    }
    std::fflush(nullptr);
    const pid_t pid = fork();
    if (pid == 0) {
      close(fds[0]);
      Sample s;
      if (store) {
        child_store(count, size, &s);
      } else {
        child_map(count, size, &s);
      }
      const ssize_t w = write(fds[1], &s, sizeof s);
      _exit(w == static_cast<ssize_t>(sizeof s) ? 0 : 1);  // no destructors: teardown untimed
    }
    close(fds[1]);
    Sample s;
    const ssize_t r = pid > 0 ? read(fds[0], &s, sizeof s) : -1;
    close(fds[0]);
    int status = 0;
    if (pid > 0) waitpid(pid, &status, 0);
    if (r != static_cast<ssize_t>(sizeof s) || !s.ok || !WIFEXITED(status) ||
        WEXITSTATUS(status) != 0) {
      state.SkipWithError("child failed (out of memory?)");
      return;
    }
    if (s.checksum_errors != 0) {
      state.SkipWithError("payloads read back wrong");
      return;
    }
    // On a shared machine wall time mostly measures the other tenants: the headline figures
    // are operations per CPU-second of the child (user + sys, so page faults count).
    state.SetIterationTime(s.put_cpu_s);
    const double payload = static_cast<double>(count) * static_cast<double>(size);
    const double ops = static_cast<double>(count);
    state.counters["put_Mops"] = ops / s.put_cpu_s / 1e6;
    state.counters["get_Mops"] = ops / s.get_cpu_s / 1e6;
    state.counters["put_Mops_wall"] = ops / s.put_s / 1e6;
    state.counters["get_Mops_wall"] = ops / s.get_s / 1e6;
    state.counters["rss_per_payload_B"] =
        (static_cast<double>(s.rss_after_put) - static_cast<double>(s.rss_before)) / payload;
    if (store) {
      state.counters["region_rss_per_payload_B"] = static_cast<double>(s.region_resident) / payload;
      state.counters["region_mapped_per_payload_B"] =
          static_cast<double>(s.region_mapped) / payload;
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  bool smoke = false;
  std::vector<char*> args;
  for (int i = 0; i < argc; ++i) {
    if (std::strcmp(argv[i], "--smoke") == 0) {
      smoke = true;
    } else if (std::strcmp(argv[i], "--huge-pages") == 0) {
      g_huge_pages = true;
    } else {
      args.push_back(argv[i]);
    }
  }
  const std::int64_t small_n = smoke ? 200000 : 10000000;
  const std::int64_t large_n = smoke ? 20000 : 1000000;
  for (const bool store : {true, false}) {
    const char* name = store ? "offheap_store" : "unordered_map";
    for (auto [n, size] :
         {std::pair{small_n, std::int64_t{16}}, std::pair{large_n, std::int64_t{1024}}}) {
      benchmark::RegisterBenchmark(name, [store](benchmark::State& st) { bm(st, store); })
          ->Args({n, size})
          ->ArgNames({"n", "bytes"})
          ->Iterations(1)
          ->UseManualTime()
          ->Unit(benchmark::kMillisecond);
    }
  }
  arenalab::Identification id{};
  if (arenalab::identify_current(&id)) {
    benchmark::AddCustomContext("allocator_backend", arenalab::backend_name(id.backend));
    benchmark::AddCustomContext("allocator_library", id.library);
  }
  benchmark::AddCustomContext("smoke", smoke ? "true" : "false");
  benchmark::AddCustomContext("store_huge_pages", g_huge_pages ? "true" : "false");
  int n = static_cast<int>(args.size());
  benchmark::Initialize(&n, args.data());
  if (benchmark::ReportUnrecognizedArguments(n, args.data())) return 2;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
