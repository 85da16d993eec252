// SPDX-License-Identifier: Apache-2.0
// A small target for the profiler tests: leak_some_records() keeps every buffer it allocates
// (a leak in a named, non-main function) while churn_buffers() and cached_window() allocate
// and free (churn, and a bounded window). --mmap leaks through mmap(2) instead of malloc;
// --free-at-exit frees the leak just before exit (a teardown that hides it from an exit dump).
// --churn-held-ms reports how long it held its churn buffers: the truth a count of temporary
// allocations is held to.
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

// The leak: never freed. A plain array rather than std::vector keeps operator new out of the
// program, so only the functions below allocate; external linkage keeps the compiler from
// proving the stores (and so the allocations) dead.
void* g_kept[1 << 16];
std::size_t g_kept_count = 0;
bool g_fixed = false;  // --fixed: keep only the 16 newest records (the bug fixed), from the start

namespace {
void* g_window[16] = {};            // bounded: each slot is freed when reused
volatile unsigned char g_sink = 0;  // keeps the churn from being optimized away

// --churn-held-ms MS: churn buffers held longer than MS, counted two ways on CLOCK_MONOTONIC
// (the clock the interposer stamps its records with): from malloc's return to free's call (the
// program's own hold, which a record's lifetime includes) and from malloc's call to free's
// return (which includes it). Under load a preemption between the two stretches a hold.
std::int64_t g_held_limit_ns = -1;
int g_held_inner_over = 0, g_held_outer_over = 0;

std::int64_t mono_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}
}  // namespace

__attribute__((noinline)) void leak_some_records(std::size_t bytes) {
  auto* p = static_cast<unsigned char*>(std::malloc(bytes));
  std::memset(p, 1, bytes);
  if (g_fixed) {
    std::free(g_kept[g_kept_count % 16]);
    g_kept[g_kept_count++ % 16] = p;
    return;
  }
  if (g_kept_count < (1 << 16)) g_kept[g_kept_count++] = p;
}

__attribute__((noinline)) void leak_some_mappings(std::size_t bytes) {
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) std::abort();
  std::memset(p, 1, bytes);
  if (g_kept_count < (1 << 16)) g_kept[g_kept_count++] = p;
}

__attribute__((noinline)) void churn_buffers(std::size_t bytes) {
  const bool timed = g_held_limit_ns >= 0;
  const std::int64_t t0 = timed ? mono_ns() : 0;
  auto* p = static_cast<unsigned char*>(std::malloc(bytes));
  const std::int64_t t1 = timed ? mono_ns() : 0;
  std::memset(p, 2, bytes);
  g_sink = g_sink + p[bytes / 2];
  const std::int64_t t2 = timed ? mono_ns() : 0;
  std::free(p);
  if (timed) {
    const std::int64_t t3 = mono_ns();
    g_held_inner_over += t2 - t1 > g_held_limit_ns;
    g_held_outer_over += t3 - t0 > g_held_limit_ns;
  }
}

__attribute__((noinline)) void cached_window(int i, std::size_t bytes) {
  std::free(g_window[i % 16]);
  g_window[i % 16] = std::malloc(bytes);
  std::memset(g_window[i % 16], 3, bytes);
}

int main(int argc, char** argv) {
  double seconds = 3;
  bool use_mmap = false;
  bool free_at_exit = false;  // teardown frees what was kept (as Python's finalization does)
  double held_ms = -1;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--mmap")
      use_mmap = true;
    else if (a == "--fixed")
      g_fixed = true;
    else if (a == "--free-at-exit")
      free_at_exit = true;
    else if (a == "--seconds" && i + 1 < argc)
      seconds = std::atof(argv[++i]);
    else if (a == "--churn-held-ms" && i + 1 < argc)
      held_ms = std::atof(argv[++i]);
    else if (a == "--marker" && i + 1 < argc)
      ++i;  // a tag a test finds this process by in ps; nothing else
    else {
      std::fprintf(stderr,
                   "usage: %s [--seconds S] [--mmap] [--fixed] [--free-at-exit] "
                   "[--churn-held-ms MS] [--marker TAG]\n",
                   argv[0]);
      return 2;
    }
  }
  if (held_ms >= 0) g_held_limit_ns = static_cast<std::int64_t>(held_ms * 1e6);
  // Every 20 ms: 256 KiB leaked, 20 x 128 KiB churned, one 64 KiB window slot replaced. A sleep
  // after each tick, not a deadline on the clock: a profiler that slows each allocation (heaptrack
  // writes each one to a pipe) would leave a clock-kept program always behind, catching up in
  // bursts with no sleep between, which fill that pipe and stall it (a 1 s run under heaptrack
  // kept 19-22 of its 48 snapshots, 4 runs in 6 under load; 6 in 6 with the sleep).
  const int ticks = static_cast<int>(seconds * 50);
  // --fixed: the working set (the 16 records, the 16 window slots) is allocated before the first
  // tick, as a program sizing its buffers at start does, so it is in place in the program's
  // first moments. Filled by the ticks, it took 16 x 20 ms plus start-up (0.5-0.7 s under
  // load), which reached the blocks a verdict takes the start level from: bounded, not stable.
  std::size_t prefilled = 0;
  if (g_fixed && !use_mmap) {
    for (int i = 0; i < 16; ++i) {
      leak_some_records(256 * 1024);
      cached_window(i, 64 * 1024);
    }
    prefilled = 16;
  }
  for (int t = 0; t < ticks; ++t) {
    if (use_mmap)
      leak_some_mappings(256 * 1024);
    else
      leak_some_records(256 * 1024);
    for (int j = 0; j < 20; ++j) churn_buffers(128 * 1024);
    cached_window(t, 64 * 1024);
    usleep(20000);
  }
  std::printf("leaky_program: %zu blocks kept\n", g_kept_count - prefilled);
  if (g_held_limit_ns >= 0)
    std::printf(
        "leaky_program: %d churn buffers, held over %g ms: %d from malloc's return to free's "
        "call, %d from malloc's call to free's return\n",
        ticks * 20, held_ms, g_held_inner_over, g_held_outer_over);
  if (free_at_exit && !use_mmap) {
    // Teardown, as a destructor would: freed just before exit, so the dump taken at exit sees
    // none of it while the regular dumps before saw it grow.
    for (std::size_t i = 0; i < g_kept_count; ++i) std::free(g_kept[i]);
    for (auto& w : g_window) std::free(w);
  }
  return 0;
}
