// SPDX-License-Identifier: Apache-2.0
// A sampled allocation with cold caches, for sample mode's per-sample cost (docs/interposer.md,
// "cost37"). In bm_overhead a sample comes once per 512 KiB allocated, about 1,000 calls apart,
// and the loop's own heap traffic between two samples leaves the sampled path's code and tables
// out of the caches; timed there, a sample's cost is lost in the loop's spread. Here each timed
// call follows an eviction: the program writes random lines of a buffer (--evict-kib, 4 MiB by
// default), then times one free (of the block the last malloc returned), evicts again and times
// one malloc. It prints the median ns of each over --pairs calls. Under `arenalab run --mode
// sample --sample-bytes 1` every malloc is sampled and every free is a sampled block's; with the
// default sample size practically none is: the difference is a cold sample's cost.
#include <time.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

std::uint64_t now_ns() {
  timespec t{};
  clock_gettime(CLOCK_MONOTONIC, &t);
  return static_cast<std::uint64_t>(t.tv_sec) * 1000000000ULL +
         static_cast<std::uint64_t>(t.tv_nsec);
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t pairs = 1000, evict_kib = 4096, size = 64;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    std::size_t* target = a == "--pairs"       ? &pairs
                          : a == "--evict-kib" ? &evict_kib
                          : a == "--size"      ? &size
                                               : nullptr;
    char* end = nullptr;
    if (!target || i + 1 >= argc || (*target = std::strtoul(argv[++i], &end, 10), *end != 0)) {
      std::fprintf(stderr, "usage: %s [--pairs N] [--evict-kib K] [--size BYTES]\n", argv[0]);
      return 2;
    }
  }
  if (pairs == 0 || evict_kib == 0 || size == 0) {
    std::fprintf(stderr, "bm_sample_cold: --pairs, --evict-kib and --size must be > 0\n");
    return 2;
  }
  const std::size_t lines = evict_kib * 1024 / 64;
  std::vector<std::uint64_t> buf(lines * 8, 1);
  std::vector<std::uint64_t> t_malloc(pairs), t_free(pairs);
  std::uint64_t x = 88172645463325252ULL;
  auto evict = [&] {  // random lines, as a heap's own traffic
    for (std::size_t j = 0; j < lines; ++j) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      buf[(x % lines) * 8] += j;
    }
  };
  void* prev = std::malloc(size);
  for (std::size_t i = 0; i < pairs; ++i) {
    evict();
    const std::uint64_t t0 = now_ns();
    std::free(prev);
    const std::uint64_t t1 = now_ns();
    evict();
    const std::uint64_t t2 = now_ns();
    void* volatile p = std::malloc(size);
    const std::uint64_t t3 = now_ns();
    prev = p;
    t_free[i] = t1 - t0;
    t_malloc[i] = t3 - t2;
  }
  std::free(prev);
  std::uint64_t sum = 0;
  for (const auto v : buf) sum += v;
  std::sort(t_malloc.begin(), t_malloc.end());
  std::sort(t_free.begin(), t_free.end());
  const auto at = [&](const std::vector<std::uint64_t>& v, std::size_t q) {
    return static_cast<unsigned long long>(v[(v.size() - 1) * q / 4]);
  };
  std::printf(
      "bm_sample_cold: malloc %llu ns, free %llu ns (median of %zu; quartiles %llu-%llu, "
      "%llu-%llu; checksum %llu)\n",
      at(t_malloc, 2), at(t_free, 2), pairs, at(t_malloc, 1), at(t_malloc, 3), at(t_free, 1),
      at(t_free, 3), static_cast<unsigned long long>(sum & 0xff));
  return 0;
}
