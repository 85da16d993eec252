// SPDX-License-Identifier: Apache-2.0
// sample mode: byte-based Poisson sampling as jemalloc does (prof.c / prof_sample_threshold:
// the distance in bytes to the next sample is exponential with mean --sample-bytes), call
// stacks deduplicated in a table (profile.cc), live sampled bytes per stack, heap profiles in
// jemalloc's heap_v2 text format (read by jeprof, which unbiases counts with the period in the
// header).
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cmath>
#include <cstring>

#include "arenalab/preload/format.h"
#include "profile.h"
#include "state.h"

namespace arenalab::preload {

long long g_sample_bytes = 512 * 1024;
std::atomic<std::uint64_t> g_filter_bits[kFilterSize / 64];

namespace {

// Live sampled blocks: the table starts small and doubles (lock held, on a sampled allocation:
// never on malloc's or free's fast path) up to kMaxBlocks slots, filled to 3/4: 12.6 M live
// samples in 384 MiB at most. The cap was 2^19 slots (393,216 samples), which a 38 MiB leak of
// 64-byte blocks fills at --sample-bytes 64, and the samples past it were dropped silently
// (issue 21 item 5). A table costs 32-64 bytes per live sampled block, and every block sampled
// is a live block of the program (16 bytes or more), so the table stays within a few times the
// program's own heap; what is past the cap is counted (profile_sample_dropped) and reported.
constexpr std::size_t kFirstBlocks = 1 << 12;  // 96 KiB
constexpr std::size_t kMaxBlocks = 1 << 24;    // 384 MiB
// The filter (state.h): g_filter_count holds the sampled blocks per granule behind each bit
// (lock held), saturating at 255: a granule that ever held 255 keeps its bit. A false positive
// only costs a locked lookup.
std::uint8_t* g_filter_count = nullptr;

struct Block {
  std::uintptr_t ptr;  // 0: empty
  std::uint32_t stack;
  // The block's term of g_estimate, computed once when it is sampled (unbias) and taken back
  // as stored when it is freed, so that a sampled block's free computes nothing (in the padding
  // before size: the slot stays 24 bytes).
  float weight;
  std::uint64_t size;
};

Block* g_blocks = nullptr;
std::size_t g_block_cap = 0;  // slots (a power of two)
std::size_t g_block_count = 0;

double g_estimate = 0;  // unbiased live bytes from the samples (lock held)
std::atomic<long long> g_dropped{0};
// A traced fork child names its heap dumps heap.<pid>.<seq>.heap: the parent's stay intact.
pid_t g_dump_pid = 0;

inline std::size_t ptr_hash(std::uintptr_t p) {
  p ^= p >> 33;
  p *= 0xff51afd7ed558ccdULL;
  p ^= p >> 33;
  return static_cast<std::size_t>(p);
}

// A stack's counters change under g_prof_lock only, so an update is a load and a store (no
// locked read-modify-write for the four counters a sample changes; the filter's fetch_or stays
// locked, as free's test reads its bits without the lock); the heap dumps read them without the
// lock and see each counter's old or new value, as before.
inline void counter_add(std::atomic<long long>& c, long long d) {
  c.store(c.load(std::memory_order_relaxed) + d, std::memory_order_relaxed);
}

// A sampled block's weight in the estimate: size / P(sampled), where P(sampled) = 1 - exp(-x),
// x = size / period, for a Poisson process with mean `period` bytes. Below x = 2^-6 (blocks under
// 8 KiB at the default 512 KiB, nearly every sampled block) four terms of the series give it with
// a relative error under x^4 / 120 < 5e-10 (and without 1 - exp(-x)'s cancellation, whose error
// is about 1e-16 / x), so the sampled path does not call libm's exp: its code and table are cold
// at one sample per 512 KiB (docs/interposer.md, "cost37").
// Past x = 40, 1 - exp(-x) is 1 to the last bit of a double, and exp(-x) is not called: beyond
// x ~ 745 it underflows and sets errno to ERANGE, on a malloc that succeeded in the target
// (a 400 MiB block at the default period, 3 MiB at --sample-bytes 4096).
double unbias(double size) {
  const double x = size / static_cast<double>(g_sample_bytes);
  const double p = x < 0x1p-6 ? x * (1.0 - x * (0.5 - x * (1.0 / 6.0 - x * (1.0 / 24.0))))
                   : x > 40   ? 1.0
                              : 1.0 - std::exp(-x);
  return p > 0 ? size / p : size;
}

// Memory for a table the hot paths probe at random: mapped and written now, page by page. A
// table left to fault on first use maps the shared zero page on the first read of each page
// and copies it on the first write, and that copy flushes the TLB of every CPU running the
// process: measured at 13 % of a 2-thread malloc-heavy run, spent under the sampling lock.
void* table_mmap(std::size_t bytes) {
  auto* p = static_cast<volatile char*>(sys_mmap(bytes));
  if (p)
    for (std::size_t i = 0; i < bytes; i += 4096) p[i] = 0;
  return const_cast<char*>(p);
}

// Block table: linear probing with backward-shift deletion (no tombstones). Lock held.
// Puts b in its slot, over a stale entry for the same address (a block freed behind our
// back); true when the slot was empty.
bool block_put(Block* t, std::size_t cap, const Block& b) {
  std::size_t i = ptr_hash(b.ptr) & (cap - 1);
  while (t[i].ptr != 0 && t[i].ptr != b.ptr) i = (i + 1) & (cap - 1);
  const bool fresh = t[i].ptr == 0;
  t[i] = b;
  return fresh;
}

// Doubles the table (lock held); false when at kMaxBlocks or out of memory.
bool block_grow() {
  const std::size_t cap = g_block_cap ? g_block_cap * 2 : kFirstBlocks;
  if (cap > kMaxBlocks) return false;
  auto* t = static_cast<Block*>(table_mmap(cap * sizeof(Block)));
  if (!t) return false;
  for (std::size_t i = 0; i < g_block_cap; ++i)
    if (g_blocks[i].ptr != 0) block_put(t, cap, g_blocks[i]);
  if (g_blocks) sys_munmap(g_blocks, g_block_cap * sizeof(Block));
  g_blocks = t;
  g_block_cap = cap;
  return true;
}

bool block_insert(std::uintptr_t p, std::uint32_t stack, float weight, std::uint64_t size) {
  if (g_block_count + 1 > g_block_cap / 4 * 3 && !block_grow()) return false;
  if (block_put(g_blocks, g_block_cap, Block{p, stack, weight, size})) ++g_block_count;
  return true;
}

bool block_remove(std::uintptr_t p, Block* out) {
  if (!g_blocks) return false;
  const std::size_t mask = g_block_cap - 1;
  std::size_t i = ptr_hash(p) & mask;
  while (g_blocks[i].ptr != p) {
    if (g_blocks[i].ptr == 0) return false;
    i = (i + 1) & mask;
  }
  *out = g_blocks[i];
  // Backward shift: move later entries of the cluster into the hole when allowed.
  std::size_t hole = i;
  for (std::size_t j = (i + 1) & mask; g_blocks[j].ptr != 0; j = (j + 1) & mask) {
    const std::size_t home = ptr_hash(g_blocks[j].ptr) & mask;
    const bool movable = (hole <= j) ? (home <= hole || home > j) : (home <= hole && home > j);
    if (movable) {
      g_blocks[hole] = g_blocks[j];
      hole = j;
    }
  }
  g_blocks[hole].ptr = 0;
  --g_block_count;
  return true;
}

std::uint64_t now_ms_monotonic() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1000 +
         static_cast<std::uint64_t>(ts.tv_nsec) / 1000000;
}

}  // namespace

void sample_init() {
  block_grow();
  // Touched only on sampled blocks: its pages (4 MiB in all) fault once each as samples reach
  // them, so it is left to fault.
  g_filter_count = static_cast<std::uint8_t*>(sys_mmap(kFilterSize));
}

void sample_traced_child() {
  g_dump_pid = getpid();
  heap_sites_traced_child();
}

long long next_sample_interval(ThreadState& t) {
  if (t.rng == 0) {
    t.rng = reinterpret_cast<std::uintptr_t>(&t) ^
            (static_cast<std::uint64_t>(syscall(SYS_gettid)) << 32) ^ 0x9e3779b97f4a7c15ULL ^
            now_ms_monotonic();
    if (t.rng == 0) t.rng = 1;
  }
  // xorshift64*; u in (0, 1]
  t.rng ^= t.rng >> 12;
  t.rng ^= t.rng << 25;
  t.rng ^= t.rng >> 27;
  const std::uint64_t r = t.rng * 2685821657736338717ULL;
  const double u = (static_cast<double>(r >> 11) + 1.0) * (1.0 / 9007199254740992.0);
  const double d = -std::log(u) * static_cast<double>(g_sample_bytes);
  return static_cast<long long>(d) + 1;
}

long long sample_begin(ThreadState& t) {
  if (t.rng == 0) {
    // A thread's first allocation: its countdown starts at 0, so draw the first interval now
    // (counted from the thread's first byte) instead of sampling every thread's first block.
    t.countdown += next_sample_interval(t);
    if (t.countdown > 0) return 0;
  }
  const long long next = next_sample_interval(t);
  t.countdown = next;
  if (!g_stacks || !g_blocks || !g_filter_count) return 0;
  return next;
}

void sample_record(void* p, size_t size, void* const* frames, int depth) {
  const float weight = static_cast<float>(unbias(static_cast<double>(size)));
  g_prof_lock.lock();
  bool added;
  const long id = find_stack(frames, depth, &added);
  if (id < 0 || !block_insert(reinterpret_cast<std::uintptr_t>(p), static_cast<std::uint32_t>(id),
                              weight, size)) {
    g_prof_lock.unlock();
    g_dropped.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  Stack& s = g_stacks[id];
  counter_add(s.live_objs, 1);
  counter_add(s.live_bytes, static_cast<long long>(size));
  counter_add(s.total_objs, 1);
  counter_add(s.total_bytes, static_cast<long long>(size));
  if (const std::size_t i = filter_index(p); g_filter_count[i] != 0xff && g_filter_count[i]++ == 0)
    g_filter_bits[i >> 6].fetch_or(std::uint64_t{1} << (i & 63), std::memory_order_relaxed);
  g_estimate += static_cast<double>(weight);
  g_prof_lock.unlock();
}

void sample_alloc(ThreadState& t, void* p, size_t size) { sample_alloc_inline(t, p, size); }

void sample_free(void* p) {
  g_prof_lock.lock();
  Block b;
  if (block_remove(reinterpret_cast<std::uintptr_t>(p), &b)) {
    Stack& s = g_stacks[b.stack];
    counter_add(s.live_objs, -1);
    counter_add(s.live_bytes, -static_cast<long long>(b.size));
    if (const std::size_t i = filter_index(p);
        g_filter_count[i] != 0xff && --g_filter_count[i] == 0 && !filter_static(i))
      g_filter_bits[i >> 6].fetch_and(~(std::uint64_t{1} << (i & 63)), std::memory_order_relaxed);
    g_estimate -= static_cast<double>(b.weight);
  }
  g_prof_lock.unlock();
}

long long profile_sample_dropped() { return g_dropped.load(std::memory_order_relaxed); }

long long profile_sampled_live_estimate() {
  g_prof_lock.lock();
  const double e = g_estimate;
  g_prof_lock.unlock();
  return e > 0 ? static_cast<long long>(e + 0.5) : 0;
}

void profile_heap_dump_name(int seq, char* name, std::size_t cap) {
  Buf bp(name, cap - 1);
  bp.str("heap.");
  if (g_dump_pid) bp.u64(static_cast<std::uint64_t>(g_dump_pid)).ch('.');
  bp.u64(static_cast<std::uint64_t>(seq)).str(".heap");
  name[bp.size()] = 0;
}

bool profile_dump_heap(int seq) {
  if (!g_stacks) return false;
  char name[64];
  profile_heap_dump_name(seq, name, sizeof name);
  // heap_v2/<mean sample period in bytes>: jeprof unbiases each record by it.
  return write_heap_v2(
      g_profile_dir, name, static_cast<std::uint64_t>(g_sample_bytes),
      g_stack_count.load(std::memory_order_acquire),
      [](std::uint32_t i, HeapRecord* r) { return fill_heap_record(g_stacks[i], r); });
}

}  // namespace arenalab::preload
