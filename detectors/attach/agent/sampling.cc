// SPDX-License-Identifier: Apache-2.0
// Level sample of an attach: byte-based Poisson sampling on level count's hooks, call stacks,
// and the dumps `arenalab run --mode sample` writes (sampling.h). The sampling scheme is the
// interposer's (detectors/preload/src/sample.cc, jemalloc's prof_sample): the bytes to the next
// sample are exponential with mean `period`, drawn anew after each sample, so a block of s bytes
// is sampled with probability 1 - exp(-s / period) and the dumps unbias as jeprof does. The
// agent has no TLS (it is loaded after the threads exist), so the countdowns are 64 stripes
// chosen by thread: each stripe is its own Poisson process over the bytes of the threads that
// share it, which keeps every allocation's probability the same.
#include "sampling.h"

#include <execinfo.h>
#include <link.h>
#include <pthread.h>
#include <sched.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <cstring>

#include "arenalab/preload/format.h"
#include "arenalab/preload/heap_sites_file.h"
#include "arenalab/preload/stack.h"

namespace arenalab::agent {
namespace {

using uptr = std::uintptr_t;
namespace pl = arenalab::preload;

static_assert(kMaxSampleStacks < pl::kHeapSitesStacks, "every stack id must fit the file");

using pl::kMaxDepth;
using pl::Stack;
constexpr int kOwnFrames = 8;  // room for this library's frames at the top of a capture
constexpr std::size_t kStackIndex = 1 << 17;

Stack* g_stacks = nullptr;         // kMaxSampleStacks entries (MAP_NORESERVE)
std::uint32_t* g_index = nullptr;  // hash -> id + 1, open addressing
std::atomic<std::uint32_t> g_count{0};
std::atomic<bool> g_on{false};
unsigned long long g_period = 512 * 1024;
std::atomic<long long> g_dropped{0};
uptr g_self_lo = 0, g_self_hi = 0;  // this library's executable segment

// The stack table's lock: taken on a sampled allocation only (about once per `period` bytes),
// held across fork by the atfork handlers so a child never inherits it held.
std::atomic<int> g_lock{0};
void lock() {
  while (g_lock.exchange(1, std::memory_order_acquire) != 0) sched_yield();
}
void unlock() { g_lock.store(0, std::memory_order_release); }

// The threads inside the unwinder now (no TLS here): a sampled allocation made by the unwinder
// itself is not sampled again.
constexpr int kUnwinders = 64;
std::atomic<pthread_t> g_unwinding[kUnwinders];

struct alignas(64) Countdown {
  std::atomic<long long> left{0};
  std::atomic<std::uint64_t> rng{0};
};
constexpr int kCountdowns = 64;
Countdown g_countdowns[kCountdowns];

inline Countdown& countdown_of_thread() {
  const std::uint64_t t = static_cast<std::uint64_t>(pthread_self());
  return g_countdowns[(t * 0x9E3779B97F4A7C15ULL) >> 58];
}

// The distance to the next sample, exponential with mean g_period (xorshift64*, u in (0, 1]).
long long next_interval(Countdown& c) {
  std::uint64_t x = c.rng.load(std::memory_order_relaxed);
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  c.rng.store(x, std::memory_order_relaxed);
  const std::uint64_t r = x * 2685821657736338717ULL;
  const double u = (static_cast<double>(r >> 11) + 1.0) * (1.0 / 9007199254740992.0);
  return static_cast<long long>(-std::log(u) * static_cast<double>(g_period)) + 1;
}

// Finds or adds a stack; lock held. Its id, or -1 when the table is full.
long find_stack(void* const* frames, int depth) {
  bool added;
  return pl::intern_stack(g_stacks, kMaxSampleStacks, g_index, kStackIndex, g_count, frames, depth,
                          &added);
}

int find_self(dl_phdr_info* info, std::size_t, void*) {
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    if (ph.p_type != PT_LOAD || !(ph.p_flags & PF_X)) continue;
    const uptr lo = info->dlpi_addr + ph.p_vaddr;
    const uptr self = reinterpret_cast<uptr>(&find_self);
    if (self >= lo && self < lo + ph.p_memsz) {
      g_self_lo = lo;
      g_self_hi = lo + ph.p_memsz;
      return 1;
    }
  }
  return 0;
}

// The calling thread's stack without this library's frames (the hook, this function): the
// innermost frame is the program's call of malloc. 0 frames when this thread is already
// unwinding (an allocation made by the unwinder) or too many threads are.
int capture(void** frames) {
  const pthread_t self = pthread_self();
  int claimed = -1;
  for (int i = 0; i < kUnwinders; ++i) {
    if (pthread_equal(g_unwinding[i].load(std::memory_order_acquire), self)) return 0;
  }
  for (int i = 0; i < kUnwinders && claimed < 0; ++i) {
    pthread_t none{};
    if (g_unwinding[i].compare_exchange_strong(none, self, std::memory_order_acq_rel)) claimed = i;
  }
  if (claimed < 0) return 0;
  void* raw[kMaxDepth + kOwnFrames];
  const int n = backtrace(raw, kMaxDepth + kOwnFrames);
  g_unwinding[claimed].store(pthread_t{}, std::memory_order_release);
  int i = 0;
  while (i < n && reinterpret_cast<uptr>(raw[i]) >= g_self_lo &&
         reinterpret_cast<uptr>(raw[i]) < g_self_hi)
    ++i;
  int out = 0;
  for (; i < n && out < kMaxDepth; ++i) frames[out++] = raw[i];
  return out;
}

// ---- the dumps (the sampler thread only) ----
// The kept dumps are thinned evenly, as `arenalab profile` thins an adaptive run's
// (kAdaptiveMaxDumps, detectors/profilers): dump s stays while s is a multiple of g_stride or
// the newest, and the stride doubles once more than kDumpsKept would stay, so 33..64 evenly
// spaced dumps remain whatever the attach's length. Not the interposer's geometric spread
// (heap_dump_kept): the profile after detach classifies each call site's series across the
// kept dumps in equal-time blocks, and the geometric spread's sparse older half left 7 or 8
// blocks of two points or more of the 8 the trend test needs, fewer when a loaded machine
// delayed the first ticks (attach.stats.sample_leak_jemalloc: "too little data: 7 blocks").
constexpr long kDumpsKept = 64;
int g_seq = 0;
long g_stride = 1;
bool g_dumps_failed = false;
pl::HeapSitesFile g_sites;

bool stack_record(std::uint32_t i, pl::HeapRecord* r) {
  return pl::fill_heap_record(g_stacks[i], r);
}

void dump_name(long seq, char* name, std::size_t cap) {
  pl::Buf b(name, cap - 1);
  b.str("heap.").u64(static_cast<std::uint64_t>(seq)).str(".heap");
  name[b.size()] = 0;
}

void* map_table(std::size_t bytes) {
  void* m = mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  return m == MAP_FAILED ? nullptr : m;
}

void at_fork_prepare() { lock(); }
void at_fork_release() { unlock(); }

}  // namespace

int sample_start(unsigned long long period, char* why, std::size_t why_size) {
  g_period = period ? period : 512 * 1024;
  if (!g_stacks) {
    g_stacks = static_cast<Stack*>(map_table(kMaxSampleStacks * sizeof(Stack)));
    g_index = static_cast<std::uint32_t*>(map_table(kStackIndex * sizeof(std::uint32_t)));
    if (!g_stacks || !g_index) {
      std::snprintf(why, why_size, "cannot map the agent's stack table");
      return 1;
    }
    // Registered once (the agent is never unloaded): a fork while a thread holds the stack
    // table's lock leaves the child's copy free.
    pthread_atfork(at_fork_prepare, at_fork_release, at_fork_release);
    dl_iterate_phdr(find_self, nullptr);
  } else {  // a new attach: a new table (its pages back to zero)
    madvise(g_stacks, kMaxSampleStacks * sizeof(Stack), MADV_DONTNEED);
    madvise(g_index, kStackIndex * sizeof(std::uint32_t), MADV_DONTNEED);
  }
  g_count.store(0);
  g_dropped.store(0);
  g_seq = 0;
  g_stride = 1;
  g_dumps_failed = false;
  pl::heap_sites_reset(g_sites, "heap-sites.jsonl");
  // glibc's backtrace loads libgcc_s on its first call (a dlopen, which allocates): done now,
  // on the injected thread before any hook is in, never inside one.
  void* prime[4];
  if (backtrace(prime, 4) <= 0) {
    std::snprintf(why, why_size, "backtrace(3) found no frame (libgcc_s.so.1 not loadable?)");
    return 1;
  }
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  std::uint64_t seed = static_cast<std::uint64_t>(ts.tv_nsec) ^
                       (static_cast<std::uint64_t>(getpid()) << 32) ^ 0x9E3779B97F4A7C15ULL;
  for (Countdown& c : g_countdowns) {
    seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
    c.rng.store(seed | 1);
    c.left.store(next_interval(c));
  }
  g_on.store(true, std::memory_order_release);
  return 0;
}

void sample_stop() { g_on.store(false, std::memory_order_release); }
bool sampling() { return g_on.load(std::memory_order_relaxed); }

unsigned sample_pick(std::size_t n) {
  Countdown& c = countdown_of_thread();
  const long long before = c.left.fetch_sub(static_cast<long long>(n), std::memory_order_relaxed);
  if (before > static_cast<long long>(n)) return 0;
  // This allocation reached the sample point: the next one is drawn anew (memoryless). Two
  // threads of one stripe crossing at once are both sampled: a rare extra sample, unbiased.
  c.left.store(next_interval(c), std::memory_order_relaxed);
  void* frames[kMaxDepth];
  const int depth = capture(frames);
  if (depth <= 0) {
    g_dropped.fetch_add(1, std::memory_order_relaxed);
    return 0;
  }
  lock();
  const long id = find_stack(frames, depth);
  unlock();
  if (id < 0) {
    g_dropped.fetch_add(1, std::memory_order_relaxed);
    return 0;
  }
  return static_cast<unsigned>(id) + 1;
}

void sample_live_add(unsigned stack1, std::size_t n) {
  Stack& s = g_stacks[stack1 - 1];
  s.live_objs.fetch_add(1, std::memory_order_relaxed);
  s.live_bytes.fetch_add(static_cast<long long>(n), std::memory_order_relaxed);
  s.total_objs.fetch_add(1, std::memory_order_relaxed);
  s.total_bytes.fetch_add(static_cast<long long>(n), std::memory_order_relaxed);
}

void sample_live_remove(unsigned stack1, std::size_t n) {
  Stack& s = g_stacks[stack1 - 1];
  s.live_objs.fetch_sub(1, std::memory_order_relaxed);
  s.live_bytes.fetch_sub(static_cast<long long>(n), std::memory_order_relaxed);
}

void sample_lost() { g_dropped.fetch_add(1, std::memory_order_relaxed); }

bool sample_dump(const char* out_dir, std::uint64_t t_ms) {
  if (g_dumps_failed || !g_stacks) return false;
  char name[64];
  dump_name(g_seq, name, sizeof name);
  const std::uint32_t n = g_count.load(std::memory_order_acquire);
  if (!pl::write_heap_v2(out_dir, name, g_period, n, stack_record) ||
      !pl::heap_sites_append(g_sites, out_dir, getpid(), static_cast<std::int64_t>(g_period), n,
                             stack_record, g_seq, t_ms, nullptr)) {
    g_dumps_failed = true;
    return false;
  }
  // Even thinning (kDumpsKept above); every dump's top sites stay in heap-sites.jsonl. The
  // previous dump was kept as the newest: it goes unless the stride keeps it.
  const long s_now = g_seq;
  if (s_now > 0 && (s_now - 1) % g_stride != 0) {
    dump_name(s_now - 1, name, sizeof name);
    pl::remove_output(out_dir, name);
  }
  // Kept now: the multiples of the stride up to s_now, and s_now itself when it is not one.
  while (s_now / g_stride + 1 + (s_now % g_stride != 0 ? 1 : 0) > kDumpsKept) {
    for (long s = g_stride; s < s_now; s += 2 * g_stride) {  // odd multiples of the old stride
      dump_name(s, name, sizeof name);
      pl::remove_output(out_dir, name);
    }
    g_stride *= 2;
  }
  ++g_seq;
  return true;
}

long long sample_live_estimate() {
  double e = 0;
  const std::uint32_t n = g_count.load(std::memory_order_acquire);
  for (std::uint32_t i = 0; i < n; ++i) {
    const long long objs = g_stacks[i].live_objs.load(std::memory_order_relaxed);
    const long long bytes = g_stacks[i].live_bytes.load(std::memory_order_relaxed);
    if (objs <= 0 || bytes <= 0) continue;
    const double avg = static_cast<double>(bytes) / static_cast<double>(objs);
    const double p = 1.0 - std::exp(-avg / static_cast<double>(g_period));
    e += p > 0 ? static_cast<double>(bytes) / p : static_cast<double>(bytes);
  }
  return static_cast<long long>(e + 0.5);
}

long long sample_dropped() { return g_dropped.load(std::memory_order_relaxed); }
long long sample_stacks() { return g_count.load(std::memory_order_relaxed); }
unsigned long long sample_period() { return g_period; }

}  // namespace arenalab::agent
