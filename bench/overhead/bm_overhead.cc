// SPDX-License-Identifier: Apache-2.0
// The interposer overhead benchmark's target: a malloc-heavy program. T threads (default 2)
// each do N operations (default 20 M) on a private table of 4096 slots: free the block in a
// random slot and malloc a new one of a random size in 16 B .. 1 KiB. --smoke: 200 k ops.
// Prints the elapsed time of the loop and a checksum (so nothing is optimised away).
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

struct Rng {
  std::uint64_t s;
  std::uint64_t next() {  // xorshift64*
    s ^= s >> 12;
    s ^= s << 25;
    s ^= s >> 27;
    return s * 2685821657736338717ULL;
  }
};

std::uint64_t worker(std::uint64_t ops, unsigned seed) {
  constexpr std::size_t kSlots = 4096;
  std::vector<unsigned char*> slots(kSlots, nullptr);
  Rng rng{0x9e3779b97f4a7c15ULL * (seed + 1)};
  std::uint64_t sum = 0;
  for (std::uint64_t i = 0; i < ops; ++i) {
    const std::uint64_t r = rng.next();
    const std::size_t slot = r % kSlots;
    const std::size_t size = 16 + (r >> 32) % (1024 - 16 + 1);
    std::free(slots[slot]);
    auto* p = static_cast<unsigned char*>(std::malloc(size));
    p[0] = static_cast<unsigned char>(i);
    p[size - 1] = static_cast<unsigned char>(size);
    sum += p[size - 1];
    slots[slot] = p;
  }
  for (auto* p : slots) std::free(p);
  return sum;
}

}  // namespace

int main(int argc, char** argv) {
  std::uint64_t ops = 20'000'000;
  unsigned threads = 2;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--smoke") {
      ops = 200'000;
    } else if (a == "--ops" && i + 1 < argc) {
      ops = std::strtoull(argv[++i], nullptr, 10);
    } else if (a == "--threads" && i + 1 < argc) {
      threads = static_cast<unsigned>(std::strtoul(argv[++i], nullptr, 10));
    } else {
      std::fprintf(stderr, "usage: %s [--smoke] [--ops N] [--threads T]\n", argv[0]);
      return 2;
    }
  }
  if (ops == 0 || threads == 0) {
    std::fprintf(stderr, "bm_overhead: --ops and --threads must be > 0\n");
    return 2;
  }
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::uint64_t> sums(threads);
  std::vector<std::thread> pool;
  for (unsigned t = 0; t < threads; ++t) pool.emplace_back([&, t] { sums[t] = worker(ops, t); });
  for (auto& th : pool) th.join();
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::uint64_t total = 0;
  for (auto v : sums) total += v;
  std::printf("bm_overhead: %u threads x %llu ops in %.3f s (checksum %llu)\n", threads,
              static_cast<unsigned long long>(ops), s, static_cast<unsigned long long>(total));
  return 0;
}
