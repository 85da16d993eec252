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
#include <pthread.h>
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
// Live sampled blocks: the table starts small and doubles (lock held) up to kMaxBlocks slots.
constexpr std::size_t kFirstBlocks = 1 << 12;  // 96 KiB
constexpr std::size_t kMaxBlocks = 1 << 19;    // 12 MiB
// The filter (state.h): g_filter_count holds the sampled blocks per granule behind each bit
// (lock held), saturating at 255: a granule that ever held 255 keeps its bit. A false positive
// only costs a locked lookup.
std::uint8_t* g_filter_count = nullptr;

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
std::size_t g_block_cap = 0;  // slots (a power of two)
std::size_t g_block_count = 0;

double g_estimate = 0;  // unbiased live bytes from the samples (lock held)
std::atomic<long long> g_dropped{0};
char g_out_dir[1024];
// A traced fork child names its heap dumps heap.<pid>.<seq>.heap: the parent's stay intact.
pid_t g_dump_pid = 0;

int (*g_unwind)(void**, int) = nullptr;

// Full log: one buffer per thread, so allocating threads never wait for each other. Each
// record carries CLOCK_MONOTONIC ns; the reader orders the threads' records by it. A buffer is
// written out (one O_APPEND write of whole records) when full, every interval by the sampler,
// and when its thread exits (then it is free for the next thread).
bool g_full_on = false;  // the file is opened per write (see timeline_write in sampler.cc)
char g_full_path[1100];
constexpr std::size_t kLogBuf = 64 * 1024 - 64;
constexpr int kMaxLogs = 4096;
struct ThreadLog {
  SpinLock lock;  // the owner appends, the sampler flushes: uncontended but for the flush
  std::atomic<int> owned;
  std::size_t len;
  char data[kLogBuf];
};
ThreadLog* g_logs[kMaxLogs];
std::atomic<int> g_log_count{0};
SpinLock g_log_create_lock;
pthread_key_t g_log_key;
bool g_log_key_ok = false;
std::atomic<long long> g_log_dropped{0};  // events of threads beyond kMaxLogs

inline std::size_t ptr_hash(std::uintptr_t p) {
  p ^= p >> 33;
  p *= 0xff51afd7ed558ccdULL;
  p ^= p >> 33;
  return static_cast<std::size_t>(p);
}

// Finds or adds a stack; lock held. Returns its id, or -1 when the table is full.
long find_stack(void* const* frames, int depth, bool* added) {
  *added = false;
  const std::uint64_t h = frames_hash(frames, depth);
  for (std::size_t i = h & (kStackHashSize - 1);; i = (i + 1) & (kStackHashSize - 1)) {
    const std::uint32_t slot = __atomic_load_n(&g_stack_index[i], __ATOMIC_RELAXED);
    if (slot == 0) {
      const std::uint32_t id = g_stack_count.load(std::memory_order_relaxed);
      if (id >= kMaxStacks) return -1;
      Stack& s = g_stacks[id];
      s.hash = h;
      s.depth = static_cast<std::uint32_t>(depth);
      std::memcpy(s.frames, frames, sizeof(void*) * static_cast<std::size_t>(depth));
      __atomic_store_n(&g_stack_index[i], id + 1, __ATOMIC_RELEASE);  // lock-free readers
      g_stack_count.store(id + 1, std::memory_order_release);         // publish to the dumper
      *added = true;
      return id;
    }
    const Stack& s = g_stacks[slot - 1];
    if (same_stack(s, h, frames, depth)) return slot - 1;
  }
}

// Finds a stack without the lock (the index is published with release stores), or adds it
// under the lock. For the full log, where every allocation looks its stack up.
long find_stack_shared(void* const* frames, int depth, bool* added) {
  *added = false;
  const std::uint64_t h = frames_hash(frames, depth);
  for (std::size_t i = h & (kStackHashSize - 1);; i = (i + 1) & (kStackHashSize - 1)) {
    const std::uint32_t slot = __atomic_load_n(&g_stack_index[i], __ATOMIC_ACQUIRE);
    if (slot == 0) break;
    const Stack& s = g_stacks[slot - 1];
    if (same_stack(s, h, frames, depth)) return slot - 1;
  }
  g_prof_lock.lock();
  const long id = find_stack(frames, depth, added);
  g_prof_lock.unlock();
  return id;
}

double unbias(double size) {
  // P(sampled) = 1 - exp(-size / period) for a Poisson process with mean `period` bytes.
  const double p = 1.0 - std::exp(-size / static_cast<double>(g_sample_bytes));
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

bool block_insert(std::uintptr_t p, std::uint32_t stack, std::uint64_t size) {
  if (g_block_count + 1 > g_block_cap / 4 * 3 && !block_grow()) return false;
  if (block_put(g_blocks, g_block_cap, Block{p, stack, size})) ++g_block_count;
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

// ---- full log (binary, little endian; documented in docs/interposer.md) ----
std::uint64_t now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1000000000ULL +
         static_cast<std::uint64_t>(ts.tv_nsec);
}

// Appends `len` bytes to the log file (fd < 0: opened for this write).
void full_write(int fd, const void* data, std::size_t len) {
  if (!g_full_on || len == 0) return;
  const bool own = fd < 0;
  if (own) fd = ::open(g_full_path, O_WRONLY | O_APPEND | O_CLOEXEC);
  if (fd < 0) return;
  write_all(fd, static_cast<const char*>(data), len);
  if (own) ::close(fd);
}

void log_flush_locked(ThreadLog* l, int fd) {
  full_write(fd, l->data, l->len);
  l->len = 0;
}

void log_put(ThreadLog* l, const void* data, std::size_t n) {
  if (l->len + n > kLogBuf) log_flush_locked(l, -1);
  std::memcpy(l->data + l->len, data, n);
  l->len += n;
}

template <typename T>
void log_put_v(ThreadLog* l, const T& v) {
  log_put(l, &v, sizeof v);
}

// Thread exit (pthread key destructor): the buffer is written out and freed for reuse. If a
// later destructor of the same thread allocates, it takes a log again (glibc then runs the
// destructors once more).
void log_release(void* arg) {
  auto* l = static_cast<ThreadLog*>(arg);
  l->lock.lock();
  log_flush_locked(l, -1);
  l->lock.unlock();
  t_state.log = nullptr;
  l->owned.store(0, std::memory_order_release);
}

ThreadLog* log_acquire(ThreadState& t) {
  const int n = g_log_count.load(std::memory_order_acquire);
  ThreadLog* l = nullptr;
  for (int i = 0; i < n && !l; ++i) {
    int expected = 0;
    if (g_logs[i]->owned.load(std::memory_order_relaxed) == 0 &&
        g_logs[i]->owned.compare_exchange_strong(expected, 1))
      l = g_logs[i];
  }
  if (!l) {
    g_log_create_lock.lock();
    const int m = g_log_count.load(std::memory_order_relaxed);
    if (m < kMaxLogs) {
      l = static_cast<ThreadLog*>(sys_mmap(sizeof(ThreadLog)));
      if (l) {
        l->owned.store(1, std::memory_order_relaxed);
        g_logs[m] = l;
        g_log_count.store(m + 1, std::memory_order_release);
      }
    }
    g_log_create_lock.unlock();
  }
  if (!l) return nullptr;
  t.log = l;
  if (g_log_key_ok) pthread_setspecific(g_log_key, l);
  return l;
}

inline ThreadLog* my_log(ThreadState& t) {
  auto* l = static_cast<ThreadLog*>(t.log);
  return l ? l : log_acquire(t);
}

}  // namespace

namespace {
// The address range of this library's executable segment (for capture_stack()).
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

}  // namespace

// ---- stacks (state.h): shared with mmap_sites.cc ----
std::uint64_t frames_hash(void* const* frames, int depth) {
  std::uint64_t h = 1469598103934665603ULL;
  for (int i = 0; i < depth; ++i) {
    h ^= reinterpret_cast<std::uintptr_t>(frames[i]);
    h *= 1099511628211ULL;
    h ^= h >> 29;
  }
  return h ? h : 1;
}

int capture_stack(void** frames, int max) {
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
  for (; i < n && out < max; ++i) frames[out++] = raw[i];
  return out;
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
  block_grow();
  // Touched only on sampled blocks: its 64 pages fault once each, so it is left to fault.
  g_filter_count = static_cast<std::uint8_t*>(sys_mmap(kFilterSize));
  if (flags & kFull) {
    Buf b(g_full_path, sizeof g_full_path);
    b.str(g_out_dir).str("/allocs.bin");
    g_full_path[b.size()] = 0;
    const int fd = ::open(g_full_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd >= 0) {
      write_all(fd, "ARENALAB-FULL/2\n", 16);
      ::close(fd);
      g_full_on = true;
      g_log_key_ok = pthread_key_create(&g_log_key, log_release) == 0;
    }
  }
}

void sample_alloc(ThreadState& t, void* p, size_t size) {
  if (t.rng == 0) {
    // A thread's first allocation: its countdown starts at 0, so draw the first interval now
    // (counted from the thread's first byte) instead of sampling every thread's first block.
    t.countdown += next_sample_interval(t);
    if (t.countdown > 0) return;
  }
  const long long next = next_sample_interval(t);
  t.countdown = next;
  if (!g_stacks || !g_blocks || !g_filter_count) return;
  void* frames[kMaxDepth];
  const int depth = capture_stack(frames, kMaxDepth);
  t.countdown = next;  // the unwinder's own mallocs (its first use) do not count
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
  if (const std::size_t i = filter_index(p); g_filter_count[i] != 0xff && g_filter_count[i]++ == 0)
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
    if (const std::size_t i = filter_index(p);
        g_filter_count[i] != 0xff && --g_filter_count[i] == 0 && !filter_static(i))
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

// Full log records: 'S' id:u32 depth:u32 frames:u64[depth] | 'A' ns:u64 ptr:u64 size:u64
// stack:u32 | 'F' ns:u64 ptr:u64 | 'T' ms:u64 (time since the target started, written at each
// interval). ns is CLOCK_MONOTONIC; records of different threads are ordered by it.
void full_alloc(void* p, size_t size) {
  if (!g_full_on) return;
  ThreadState& t = t_state;
  void* frames[kMaxDepth];
  const int depth = capture_stack(frames, kMaxDepth);
  bool added = false;
  long id = find_stack_shared(frames, depth, &added);
  ThreadLog* l = my_log(t);
  if (!l) {
    g_log_dropped.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  const std::uint64_t ns = now_ns();
  l->lock.lock();
  if (added) {
    log_put_v(l, 'S');
    log_put_v(l, static_cast<std::uint32_t>(id));
    log_put_v(l, static_cast<std::uint32_t>(depth));
    log_put(l, frames, sizeof(void*) * static_cast<std::size_t>(depth));
  }
  char rec[1 + 8 + 8 + 8 + 4];
  rec[0] = 'A';
  const std::uint64_t ptr = reinterpret_cast<std::uint64_t>(p), sz = size;
  const std::uint32_t sid = id < 0 ? 0xffffffffu : static_cast<std::uint32_t>(id);
  std::memcpy(rec + 1, &ns, 8);
  std::memcpy(rec + 9, &ptr, 8);
  std::memcpy(rec + 17, &sz, 8);
  std::memcpy(rec + 25, &sid, 4);
  log_put(l, rec, sizeof rec);
  l->lock.unlock();
}

void full_free(void* p) {
  if (!g_full_on) return;
  ThreadLog* l = my_log(t_state);
  if (!l) {
    g_log_dropped.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  char rec[1 + 8 + 8];
  rec[0] = 'F';
  const std::uint64_t ns = now_ns(), ptr = reinterpret_cast<std::uint64_t>(p);
  std::memcpy(rec + 1, &ns, 8);
  std::memcpy(rec + 9, &ptr, 8);
  l->lock.lock();
  log_put(l, rec, sizeof rec);
  l->lock.unlock();
}

void profile_flush_at(std::uint64_t t_ms) {
  if (!g_full_on) return;
  const int fd = ::open(g_full_path, O_WRONLY | O_APPEND | O_CLOEXEC);
  if (fd < 0) return;
  const int n = g_log_count.load(std::memory_order_acquire);
  for (int i = 0; i < n; ++i) {
    g_logs[i]->lock.lock();
    log_flush_locked(g_logs[i], fd);
    g_logs[i]->lock.unlock();
  }
  char rec[1 + 8];
  rec[0] = 'T';
  std::memcpy(rec + 1, &t_ms, 8);
  full_write(fd, rec, sizeof rec);
  ::close(fd);
}

long long profile_full_dropped() { return g_log_dropped.load(std::memory_order_relaxed); }

bool profile_dump_heap(int seq) {
  if (!g_stacks) return false;
  char path[1100];
  Buf bp(path, sizeof path - 1);
  bp.str(g_out_dir).str("/heap.");
  if (g_dump_pid) bp.u64(static_cast<std::uint64_t>(g_dump_pid)).ch('.');
  bp.u64(static_cast<std::uint64_t>(seq)).str(".heap");
  path[bp.size()] = 0;
  // heap_v2/<mean sample period in bytes>: jeprof unbiases each record by it.
  return write_heap_v2(path, static_cast<std::uint64_t>(g_sample_bytes),
                       g_stack_count.load(std::memory_order_acquire),
                       [](std::uint32_t i, HeapRecord* r) {
                         const Stack& s = g_stacks[i];
                         r->objs = s.live_objs.load(std::memory_order_relaxed);
                         if (r->objs <= 0) return false;
                         r->frames = s.frames;
                         r->depth = s.depth;
                         r->bytes = s.live_bytes.load(std::memory_order_relaxed);
                         r->acc_objs = s.total_objs.load(std::memory_order_relaxed);
                         r->acc_bytes = s.total_bytes.load(std::memory_order_relaxed);
                         return true;
                       });
}

void profile_atfork_prepare() { g_prof_lock.lock(); }
void profile_atfork_parent() { g_prof_lock.unlock(); }
void profile_traced_child() { g_dump_pid = getpid(); }

void profile_atfork_child() {
  g_prof_lock.v.store(0);
  // The child never writes the parent's full log (nor touches its thread logs, whose locks
  // other threads may have held at the fork).
  g_full_on = false;
  t_state.log = nullptr;
}

}  // namespace arenalab::preload
