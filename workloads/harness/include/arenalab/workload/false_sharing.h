// SPDX-License-Identifier: Apache-2.0
// The false-sharing workloads, after cache-scratch (passive) and cache-thrash (active) from
// Berger et al., "Hoard: A Scalable Memory Allocator for Multithreaded Applications" (ASPLOS
// 2000): one program, two kinds. Workers loop allocate / write / free small objects; in the
// passive kind each first frees an object the main thread allocated next to the others'.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "arenalab/core/sizes.h"
#include "arenalab/workload/harness.h"

namespace wl = arenalab::workload;

struct FalseSharing {
  const char* name;
  const char* description;
  std::int64_t smoke_iterations;
  bool passive;  // the main thread allocates each worker's first object (cache-scratch)
};

inline int run_false_sharing(int argc, char** argv, const FalseSharing& kind) {
  wl::Harness h(kind.name, kind.description);
  std::int64_t threads = 2, iterations = 100000, writes = 200;
  std::uint64_t object = 8;
  h.int_flag("threads", &threads, 2, "worker threads");
  h.int_flag("iterations", &iterations, kind.smoke_iterations,
             "allocate/write/free rounds per thread");
  h.int_flag("writes", &writes, 200, "writes to each byte of the object per round");
  h.size_flag("object-size", &object, 8, "object size (small: several share a cache line)");
  if (const int rc = h.parse(argc, argv); rc >= 0) return rc;
  if (threads < 1 || iterations < 1 || writes < 1 || object < 1) {
    std::fprintf(stderr, "wl_%s: need threads, iterations, writes, object-size >= 1\n", kind.name);
    return 2;
  }
  const auto T = static_cast<std::size_t>(threads);
  std::vector<char*> initial(T, nullptr);
  const bool passive = kind.passive;
  if (passive)
    for (auto& p : initial) p = static_cast<char*>(std::malloc(object));
  std::vector<std::uint64_t> sums(T, 0), rounds(T, 0);
  std::vector<std::uintptr_t> lines(T, 0);  // the cache line of each worker's first own object
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<std::thread> pool;
  for (std::size_t i = 0; i < T; ++i) {
    pool.emplace_back([&, i] {
      if (initial[i]) std::free(initial[i]);
      std::uint64_t sum = 0;
      for (std::int64_t it = 0; it < iterations; ++it) {
        auto* p = static_cast<volatile char*>(std::malloc(object));
        if (it == 0) lines[i] = reinterpret_cast<std::uintptr_t>(p) / 64;
        for (std::int64_t w = 0; w < writes; ++w)
          for (std::uint64_t b = 0; b < object; ++b) p[b] = static_cast<char>(p[b] + 1);
        sum += static_cast<unsigned char>(p[0]);
        std::free(const_cast<char*>(p));
      }
      sums[i] = sum;
      rounds[i] = static_cast<std::uint64_t>(iterations);
    });
  }
  for (auto& t : pool) t.join();
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  std::uint64_t total = 0;
  std::uint64_t done = 0;
  for (auto s : sums) total += s;
  for (auto r : rounds) done += r;
  wl::keep(total);
  const std::set<std::uintptr_t> distinct(lines.begin(), lines.end());
  const std::uint64_t rss_after = wl::current_rss();
  const double total_writes =
      static_cast<double>(threads * iterations * writes) * static_cast<double>(object);
  h.measure("elapsed_ms", ms);
  h.measure("byte_writes", total_writes);
  // Distinct cache lines among the workers' first objects: fewer than the thread count means
  // the allocator placed two threads' objects on one line (the false sharing provoked here).
  h.measure("distinct_first_lines", static_cast<std::uint64_t>(distinct.size()));
  h.measure("rss_after_free_bytes", rss_after);
  h.throughput(total_writes / (ms / 1000.0), "writes/s");
  h.row("byte writes", std::to_string(static_cast<std::uint64_t>(total_writes)));
  h.row("distinct first cache lines", std::to_string(distinct.size()) + " of " + std::to_string(T));
  h.row("time", std::to_string(ms) + " ms");
  const auto expected = static_cast<std::uint64_t>(threads * iterations);
  h.check("all_rounds_done", done == expected,
          std::to_string(done) + " of " + std::to_string(expected) + " rounds completed");
  return h.finish();
}
