// SPDX-License-Identifier: Apache-2.0
// sample mode: byte-based Poisson sampling as jemalloc does (prof.c / prof_sample_threshold:
// the distance in bytes to the next sample is exponential with mean --sample-bytes), call
// stacks deduplicated in a table, live sampled bytes per stack, heap profiles in jemalloc's
// heap_v2 text format (read by jeprof, which unbiases counts with the period in the header).
// full mode: every allocation and free, with its stack, appended to a compact binary log.
//
// All tables live in memory mapped with the raw syscall; the only lock is taken on the rare
// sampled path (about once per --sample-bytes allocated), and on every event in full mode.
#include <dlfcn.h>
#include <execinfo.h>
#include <fcntl.h>
#include <link.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <cstring>

#include "format.h"
#include "state.h"

namespace arenalab::preload {

long long g_sample_bytes = 512 * 1024;
std::atomic<std::uint64_t> g_filter_bits[kFilterSize / 64];

namespace {

constexpr int kMaxDepth = 48;
// Frames dropped from the top of a stack: those inside this library (the hook, sample_alloc,
// capture), found by address, so inlining decisions never shift the stack.
constexpr int kSkipFrames = 4;  // upper bound on our own frames, for the capture buffer
std::uintptr_t g_self_lo = 0, g_self_hi = 0;
constexpr std::size_t kMaxStacks = 1 << 16;
constexpr std::size_t kStackHashSize = 1 << 17;  // open addressing over stack ids
constexpr std::size_t kMaxBlocks = 1 << 19;      // live sampled blocks
// The filter (state.h): g_filter_count holds the sampled blocks per page behind each bit (lock
// held). A false positive only costs a locked lookup.
std::uint32_t* g_filter_count = nullptr;

struct Stack {
  std::uint64_t hash;
  std::uint32_t depth;
  void* frames[kMaxDepth];
  std::atomic<long long> live_objs;
  std::atomic<long long> live_bytes;
  std::atomic<long long> total_objs;  // cumulative (for the [accum] column)
  std::atomic<long long> total_bytes;
};

struct Block {
  std::uintptr_t ptr;  // 0: empty
  std::uint32_t stack;
  std::uint64_t size;
};

SpinLock g_prof_lock;
unsigned g_prof_flags = 0;
Stack* g_stacks = nullptr;
std::atomic<std::uint32_t> g_stack_count{0};
std::uint32_t* g_stack_index = nullptr;  // hash -> stack id + 1
Block* g_blocks = nullptr;
std::size_t g_block_count = 0;

double g_estimate = 0;  // unbiased live bytes from the samples (lock held)
std::atomic<long long> g_dropped{0};
char g_out_dir[1024];

int (*g_unwind)(void**, int) = nullptr;

// Full log: one buffer, flushed when full and every interval.
bool g_full_on = false;  // opened per flush (see timeline_write in sampler.cc)
char g_full_path[1100];
constexpr std::size_t kFullBuf = 1 << 20;
char* g_full_buf = nullptr;
std::size_t g_full_len = 0;

inline std::size_t ptr_hash(std::uintptr_t p) {
  p ^= p >> 33;
  p *= 0xff51afd7ed558ccdULL;
  p ^= p >> 33;
  return static_cast<std::size_t>(p);
}

std::uint64_t frames_hash(void* const* frames, int depth) {
  std::uint64_t h = 1469598103934665603ULL;
  for (int i = 0; i < depth; ++i) {
    h ^= reinterpret_cast<std::uintptr_t>(frames[i]);
    h *= 1099511628211ULL;
    h ^= h >> 29;
  }
  return h ? h : 1;
}

int capture(void** frames) {
  void* raw[kMaxDepth + kSkipFrames];
  // busy = 2 while unwinding: see Hook in hooks.cc.
  const int saved = t_state.busy;
  t_state.busy = 2;
  int n = g_unwind ? g_unwind(raw, kMaxDepth + kSkipFrames) : 0;
  t_state.busy = saved;
  int i = 0;
  while (i < n && reinterpret_cast<std::uintptr_t>(raw[i]) >= g_self_lo &&
         reinterpret_cast<std::uintptr_t>(raw[i]) < g_self_hi)
    ++i;
  int out = 0;
  for (; i < n && out < kMaxDepth; ++i) frames[out++] = raw[i];
  return out;
}

// The address range of this library's executable segment (for capture()).
void find_self_text() {
  dl_iterate_phdr(
      [](dl_phdr_info* info, size_t, void*) -> int {
        for (int i = 0; i < info->dlpi_phnum; ++i) {
          const ElfW(Phdr)& ph = info->dlpi_phdr[i];
          if (ph.p_type != PT_LOAD || !(ph.p_flags & PF_X)) continue;
          const std::uintptr_t lo = info->dlpi_addr + ph.p_vaddr;
          const std::uintptr_t self = reinterpret_cast<std::uintptr_t>(&find_self_text);
          if (self >= lo && self < lo + ph.p_memsz) {
            g_self_lo = lo;
            g_self_hi = lo + ph.p_memsz;
            return 1;
          }
        }
        return 0;
      },
      nullptr);
}

void full_put(const void* data, std::size_t n);

// Finds or adds a stack; lock held. Returns its id, or -1 when the table is full.
long find_stack(void* const* frames, int depth, bool* added) {
  *added = false;
  const std::uint64_t h = frames_hash(frames, depth);
  for (std::size_t i = h & (kStackHashSize - 1);; i = (i + 1) & (kStackHashSize - 1)) {
    const std::uint32_t slot = g_stack_index[i];
    if (slot == 0) {
      const std::uint32_t id = g_stack_count.load(std::memory_order_relaxed);
      if (id >= kMaxStacks) return -1;
      Stack& s = g_stacks[id];
      s.hash = h;
      s.depth = static_cast<std::uint32_t>(depth);
      std::memcpy(s.frames, frames, sizeof(void*) * static_cast<std::size_t>(depth));
      g_stack_index[i] = id + 1;
      g_stack_count.store(id + 1, std::memory_order_release);  // publish to the dumper
      *added = true;
      return id;
    }
    const Stack& s = g_stacks[slot - 1];
    if (s.hash == h && s.depth == static_cast<std::uint32_t>(depth) &&
        std::memcmp(s.frames, frames, sizeof(void*) * static_cast<std::size_t>(depth)) == 0)
      return slot - 1;
  }
}

double unbias(double size) {
  // P(sampled) = 1 - exp(-size / period) for a Poisson process with mean `period` bytes.
  const double p = 1.0 - std::exp(-size / static_cast<double>(g_sample_bytes));
  return p > 0 ? size / p : size;
}

// Block table: linear probing with backward-shift deletion (no tombstones). Lock held.
bool block_insert(std::uintptr_t p, std::uint32_t stack, std::uint64_t size) {
  if (g_block_count >= kMaxBlocks * 3 / 4) return false;
  std::size_t i = ptr_hash(p) & (kMaxBlocks - 1);
  while (g_blocks[i].ptr != 0) {
    if (g_blocks[i].ptr == p) break;  // a stale entry (freed behind our back): replace
    i = (i + 1) & (kMaxBlocks - 1);
  }
  if (g_blocks[i].ptr == 0) ++g_block_count;
  g_blocks[i] = Block{p, stack, size};
  return true;
}

bool block_remove(std::uintptr_t p, Block* out) {
  std::size_t i = ptr_hash(p) & (kMaxBlocks - 1);
  while (g_blocks[i].ptr != p) {
    if (g_blocks[i].ptr == 0) return false;
    i = (i + 1) & (kMaxBlocks - 1);
  }
  *out = g_blocks[i];
  // Backward shift: move later entries of the cluster into the hole when allowed.
  std::size_t hole = i;
  for (std::size_t j = (i + 1) & (kMaxBlocks - 1); g_blocks[j].ptr != 0;
       j = (j + 1) & (kMaxBlocks - 1)) {
    const std::size_t home = ptr_hash(g_blocks[j].ptr) & (kMaxBlocks - 1);
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

// ---- full log (binary, little endian; documented in docs/interposer.md) ----
void full_flush_locked() {
  if (g_full_on && g_full_len) {
    const int fd = ::open(g_full_path, O_WRONLY | O_APPEND | O_CLOEXEC);
    if (fd >= 0) {
      write_all(fd, g_full_buf, g_full_len);
      ::close(fd);
    }
  }
  g_full_len = 0;
}

void full_put(const void* data, std::size_t n) {
  if (g_full_len + n > kFullBuf) full_flush_locked();
  std::memcpy(g_full_buf + g_full_len, data, n);
  g_full_len += n;
}

template <typename T>
void full_put_v(const T& v) {
  full_put(&v, sizeof v);
}

}  // namespace

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

void profile_init(unsigned flags, unsigned long long sample_bytes, const char* out_dir) {
  g_prof_flags = flags;
  if (sample_bytes) g_sample_bytes = static_cast<long long>(sample_bytes);
  std::size_t n = str_len(out_dir);
  if (n >= sizeof g_out_dir) n = sizeof g_out_dir - 1;
  std::memcpy(g_out_dir, out_dir, n);
  g_out_dir[n] = 0;
  if (!(flags & (kSample | kFull))) return;
  find_self_text();
  // libunwind's unw_backtrace caches unwind info per address (fast); loaded privately so its
  // exported _Unwind_Backtrace/backtrace do not interpose on the program's. Fallback: glibc
  // backtrace(). Either is primed here, so its first-use allocations happen now.
  const char* unwinder = getenv("ARENALAB_UNWIND");  // "glibc": backtrace(3) only
  if (unwinder && str_eq(unwinder, "glibc")) {
  } else if (void* h = dlopen("libunwind.so.8", RTLD_NOW | RTLD_LOCAL)) {
    g_unwind = reinterpret_cast<int (*)(void**, int)>(dlsym(h, "unw_backtrace"));
    // Per-thread caching: the default global cache takes a lock (and blocks signals around
    // it) on every unwind, which two allocating threads then contend for.
    using Policy = int (*)(void*, int);
    auto set_policy = reinterpret_cast<Policy>(dlsym(h, "_ULx86_64_set_caching_policy"));
    auto** space = reinterpret_cast<void**>(dlsym(h, "_ULx86_64_local_addr_space"));
    if (set_policy && space && *space) set_policy(*space, 2 /* UNW_CACHE_PER_THREAD */);
  }
  if (!g_unwind) g_unwind = &backtrace;
  void* prime[4];
  g_unwind(prime, 4);
  g_stacks = static_cast<Stack*>(sys_mmap(kMaxStacks * sizeof(Stack)));
  g_stack_index = static_cast<std::uint32_t*>(sys_mmap(kStackHashSize * sizeof(std::uint32_t)));
  g_blocks = static_cast<Block*>(sys_mmap(kMaxBlocks * sizeof(Block)));
  g_filter_count = static_cast<std::uint32_t*>(sys_mmap(kFilterSize * sizeof(std::uint32_t)));
  if (flags & kFull) {
    g_full_buf = static_cast<char*>(sys_mmap(kFullBuf));
    Buf b(g_full_path, sizeof g_full_path);
    b.str(g_out_dir).str("/allocs.bin");
    g_full_path[b.size()] = 0;
    const int fd = ::open(g_full_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd >= 0) {
      ::close(fd);
      g_full_on = true;
    }
    full_put("ARENALAB-FULL/1\n", 16);
  }
}

void sample_alloc(ThreadState& t, void* p, size_t size) {
  if (t.rng == 0) {
    // A thread's first allocation: its countdown starts at 0, so draw the first interval now
    // (counted from the thread's first byte) instead of sampling every thread's first block.
    t.countdown += next_sample_interval(t);
    if (t.countdown > 0) return;
  }
  t.countdown = next_sample_interval(t);
  if (!g_stacks) return;
  void* frames[kMaxDepth];
  const int depth = capture(frames);
  g_prof_lock.lock();
  bool added;
  const long id = find_stack(frames, depth, &added);
  if (id < 0 ||
      !block_insert(reinterpret_cast<std::uintptr_t>(p), static_cast<std::uint32_t>(id), size)) {
    g_prof_lock.unlock();
    g_dropped.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  Stack& s = g_stacks[id];
  s.live_objs.fetch_add(1, std::memory_order_relaxed);
  s.live_bytes.fetch_add(static_cast<long long>(size), std::memory_order_relaxed);
  s.total_objs.fetch_add(1, std::memory_order_relaxed);
  s.total_bytes.fetch_add(static_cast<long long>(size), std::memory_order_relaxed);
  if (const std::size_t i = filter_index(p); g_filter_count[i]++ == 0)
    g_filter_bits[i >> 6].fetch_or(std::uint64_t{1} << (i & 63), std::memory_order_relaxed);
  g_estimate += unbias(static_cast<double>(size));
  g_prof_lock.unlock();
}

void sample_free(void* p) {
  g_prof_lock.lock();
  Block b;
  if (block_remove(reinterpret_cast<std::uintptr_t>(p), &b)) {
    Stack& s = g_stacks[b.stack];
    s.live_objs.fetch_sub(1, std::memory_order_relaxed);
    s.live_bytes.fetch_sub(static_cast<long long>(b.size), std::memory_order_relaxed);
    if (const std::size_t i = filter_index(p); --g_filter_count[i] == 0)
      g_filter_bits[i >> 6].fetch_and(~(std::uint64_t{1} << (i & 63)), std::memory_order_relaxed);
    g_estimate -= unbias(static_cast<double>(b.size));
  }
  g_prof_lock.unlock();
}

long long profile_sampled_live_estimate() {
  g_prof_lock.lock();
  const double e = g_estimate;
  g_prof_lock.unlock();
  return e > 0 ? static_cast<long long>(e + 0.5) : 0;
}

// Full log records: 'S' id:u32 depth:u32 frames:u64[depth] | 'A' ptr:u64 size:u64 stack:u32 |
// 'F' ptr:u64 | 'T' ms:u64 (time since the target started, written at each flush).
void full_alloc(void* p, size_t size) {
  if (!g_full_on) return;
  void* frames[kMaxDepth];
  const int depth = capture(frames);
  g_prof_lock.lock();
  bool added;
  long id = find_stack(frames, depth, &added);
  if (added) {
    full_put_v('S');
    full_put_v(static_cast<std::uint32_t>(id));
    full_put_v(static_cast<std::uint32_t>(depth));
    full_put(frames, sizeof(void*) * static_cast<std::size_t>(depth));
  }
  full_put_v('A');
  full_put_v(reinterpret_cast<std::uint64_t>(p));
  full_put_v(static_cast<std::uint64_t>(size));
  full_put_v(static_cast<std::uint32_t>(id < 0 ? 0xffffffffu : static_cast<std::uint32_t>(id)));
  g_prof_lock.unlock();
}

void full_free(void* p) {
  if (!g_full_on) return;
  g_prof_lock.lock();
  full_put_v('F');
  full_put_v(reinterpret_cast<std::uint64_t>(p));
  g_prof_lock.unlock();
}

void profile_flush_at(std::uint64_t t_ms) {
  if (!g_full_on) return;
  g_prof_lock.lock();
  full_put_v('T');
  full_put_v(t_ms);
  full_flush_locked();
  g_prof_lock.unlock();
}

bool profile_dump_heap(int seq) {
  if (!g_stacks) return false;
  char path[1100], tmp[1120];
  Buf bp(path, sizeof path);
  bp.str(g_out_dir).str("/heap.").u64(static_cast<std::uint64_t>(seq)).str(".heap");
  path[bp.size()] = 0;
  Buf bt(tmp, sizeof tmp);
  bt.str(path).str(".tmp");
  tmp[bt.size()] = 0;
  const int fd = ::open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return false;
  static char buf[1 << 16];
  Buf b(buf, sizeof buf);
  const std::uint32_t n = g_stack_count.load(std::memory_order_acquire);
  long long tot_objs = 0, tot_bytes = 0, acc_objs = 0, acc_bytes = 0;
  for (std::uint32_t i = 0; i < n; ++i) {
    tot_objs += g_stacks[i].live_objs.load(std::memory_order_relaxed);
    tot_bytes += g_stacks[i].live_bytes.load(std::memory_order_relaxed);
    acc_objs += g_stacks[i].total_objs.load(std::memory_order_relaxed);
    acc_bytes += g_stacks[i].total_bytes.load(std::memory_order_relaxed);
  }
  // heap_v2/<mean sample period in bytes>, then the totals, then one record per stack.
  b.str("heap_v2/").u64(static_cast<std::uint64_t>(g_sample_bytes)).ch('\n');
  b.str("  t*: ")
      .i64(tot_objs)
      .str(": ")
      .i64(tot_bytes)
      .str(" [")
      .i64(acc_objs)
      .str(": ")
      .i64(acc_bytes)
      .str("]\n");
  bool ok = true;
  for (std::uint32_t i = 0; i < n; ++i) {
    const Stack& s = g_stacks[i];
    const long long objs = s.live_objs.load(std::memory_order_relaxed);
    const long long bytes = s.live_bytes.load(std::memory_order_relaxed);
    if (objs <= 0) continue;
    if (b.size() > sizeof buf - 2048) {
      ok = ok && write_all(fd, b.data(), b.size());
      b.clear();
    }
    b.ch('@');
    for (std::uint32_t f = 0; f < s.depth; ++f)
      b.ch(' ').hex(reinterpret_cast<std::uintptr_t>(s.frames[f]));
    b.ch('\n');
    b.str("  t*: ")
        .i64(objs)
        .str(": ")
        .i64(bytes)
        .str(" [")
        .i64(s.total_objs.load(std::memory_order_relaxed))
        .str(": ")
        .i64(s.total_bytes.load(std::memory_order_relaxed))
        .str("]\n");
  }
  b.str("\nMAPPED_LIBRARIES:\n");
  ok = ok && write_all(fd, b.data(), b.size());
  // The process's mappings, so jeprof can map addresses to objects.
  const int maps = ::open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
  if (maps >= 0) {
    for (;;) {
      const ssize_t r = ::read(maps, buf, sizeof buf);
      if (r <= 0) break;
      ok = ok && write_all(fd, buf, static_cast<std::size_t>(r));
    }
    ::close(maps);
  }
  ::close(fd);
  if (!ok || ::rename(tmp, path) != 0) {
    ::unlink(tmp);
    return false;
  }
  return true;
}

void profile_atfork_prepare() { g_prof_lock.lock(); }
void profile_atfork_parent() { g_prof_lock.unlock(); }
void profile_atfork_child() {
  g_prof_lock.v.store(0);
  // The child never writes the parent's full log.
  g_full_on = false;
  g_full_len = 0;
}

}  // namespace arenalab::preload
