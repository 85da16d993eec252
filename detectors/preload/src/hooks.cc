// SPDX-License-Identifier: Apache-2.0
// The hooked entry points. Each forwards to the next definition (dlsym RTLD_NEXT: a preloaded
// or linked jemalloc/mimalloc/tcmalloc/tbbmalloc, else glibc) and, by mode, accounts the
// block by its usable size (no header: aligned blocks and blocks from before our
// initialisation stay valid; under the known allocators count mode reads it from two checked
// tables, else from the allocator's malloc_usable_size or glibc's chunk header), samples it,
// or logs it.
//
// Reentrancy: t_state.busy (initial-exec TLS) is set while a hook runs; anything called from
// inside (libstdc++'s operator new calling malloc, dlsym, the unwinder) goes straight through.
// The malloc/free fast paths do not set it under glibc and the known allocators: the
// allocator's own mmap calls are told apart by address instead (from_allocator). While the
// entry points are being resolved, allocations (dlsym's calloc) are served from a static
// bootstrap arena and never given to the allocator.
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <link.h>
#include <pthread.h>
#include <stdarg.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <new>

#include "state.h"

namespace arenalab::preload {

const bool kHooksAllocation = true;

namespace {

bool g_glibc_layout = false;  // see usable()

// ---- bootstrap arena: serves allocations made while dlsym resolves the next malloc ----
// The same static array holds the unwinder arena after it (see below): in_bootstrap() covers
// both, so a free of either kind of block is recognised by one range test.
constexpr std::size_t kBootstrapSize = 256 * 1024;
constexpr std::size_t kUnwindArenaSize = 1024 * 1024;
alignas(64) char g_bootstrap[kBootstrapSize + kUnwindArenaSize];
std::atomic<std::size_t> g_bootstrap_used{0};

// By one unsigned comparison (null is not in it).
inline bool in_bootstrap(const void* p) {
  return reinterpret_cast<std::uintptr_t>(p) - reinterpret_cast<std::uintptr_t>(g_bootstrap) <
         kBootstrapSize + kUnwindArenaSize;
}

// Sample mode's free tests only the filter (state.h): a static block sets its granule's bit
// before anyone can free it, and filter_static keeps sample_free from clearing it.
inline void filter_mark_static(const void* p) {
  const std::size_t i = filter_index(p);
  g_filter_bits[i >> 6].fetch_or(std::uint64_t{1} << (i & 63), std::memory_order_relaxed);
}

// 16-byte header holding the size, then the block (aligned to `align`).
void* bootstrap_alloc(std::size_t size, std::size_t align) {
  if (align < 16) align = 16;
  std::size_t old = g_bootstrap_used.load(std::memory_order_relaxed);
  for (;;) {
    std::size_t start = (old + 16 + align - 1) & ~(align - 1);
    std::size_t end = start + ((size + 15) & ~std::size_t{15});
    if (end > kBootstrapSize) return nullptr;  // bootstrap exhausted: ENOMEM
    if (g_bootstrap_used.compare_exchange_weak(old, end)) {
      std::memcpy(g_bootstrap + start - sizeof(std::size_t), &size, sizeof size);
      filter_mark_static(g_bootstrap + start);
      return g_bootstrap + start;  // static storage: already zero
    }
  }
}

std::size_t bootstrap_size(const void* p) {
  std::size_t size;
  std::memcpy(&size, static_cast<const char*>(p) - sizeof size, sizeof size);
  return size;
}

// ---- unwinder arena: malloc/calloc made inside our stack unwinder (busy == 2, full mode) ----
// The unwinder's first use in each thread makes glibc allocate libunwind's dynamic TLS block
// (__tls_get_addr -> malloc(16)); glibc frees it only when that thread's cached stack is reused
// by a later pthread_create, outside any hook. Counted as the program's, such blocks outlive
// the threads that made them and their replacements need not have the same usable size (a
// 16-byte request gets a 32- or a 48-byte glibc chunk depending on the arena's free chunks):
// live bytes drifted by 16 B steps with the count balanced. Served from here instead, they are
// never counted and never reach the allocator; their frees, from any thread at any time, come
// back through in_bootstrap(). Size classes 16 B << k (up to 4 KiB), a free list per class, the
// capacity in the bootstrap header (so bootstrap_size() and realloc's bootstrap branch apply).
// Full: nullptr, and the caller takes the allocator (counted, balanced by the later free).
constexpr int kUnwindClasses = 9;
void* g_unwind_free[kUnwindClasses];
std::size_t g_unwind_used = 0;  // bytes of the arena carved so far (under the lock)

void* unwind_alloc(std::size_t n) {
  int k = 0;
  while ((std::size_t{16} << k) < n)
    if (++k == kUnwindClasses) return nullptr;
  const std::size_t cap = std::size_t{16} << k;
  g_unwind_arena_lock.lock();
  void* p = g_unwind_free[k];
  if (p) {
    g_unwind_free[k] = *static_cast<void**>(p);
  } else if (g_unwind_used + 16 + cap <= kUnwindArenaSize) {
    p = g_bootstrap + kBootstrapSize + g_unwind_used + 16;
    g_unwind_used += 16 + cap;
    std::memcpy(static_cast<char*>(p) - sizeof cap, &cap, sizeof cap);
  }
  g_unwind_arena_lock.unlock();
  if (p) filter_mark_static(p);
  return p;
}

void* unwind_calloc(std::size_t n, std::size_t size) {
  if (size && n > static_cast<size_t>(-1) / size) return nullptr;
  void* p = unwind_alloc(n * size);
  if (p) std::memset(p, 0, n * size);
  return p;
}

// For a block of the static arenas (in_bootstrap(p)): an unwinder block goes back on its list;
// bootstrap blocks are never reused.
void release_static(void* p) {
  if (static_cast<char*>(p) < g_bootstrap + kBootstrapSize) return;
  const int k = __builtin_ctzll(bootstrap_size(p) / 16);
  g_unwind_arena_lock.lock();
  *static_cast<void**>(p) = g_unwind_free[k];
  g_unwind_free[k] = p;
  g_unwind_arena_lock.unlock();
}

// Frees: true (handled) for blocks of the static arenas.
inline bool free_static(void* p) {
  if (__builtin_expect(!in_bootstrap(p), 1)) return false;
  release_static(p);
  return true;
}

}  // namespace

bool filter_static(std::size_t i) {
  const std::size_t first = filter_index(g_bootstrap);
  const std::size_t span =
      (filter_index(g_bootstrap + sizeof g_bootstrap - 1) - first) & (kFilterSize - 1);
  return ((i - first) & (kFilterSize - 1)) <= span;
}

namespace {

// ---- resolution of the next definitions ----
enum : int { kUnresolved = 0, kResolving = 1, kResolved = 2 };
std::atomic<int> g_resolve_state{kUnresolved};

// The thread resolving; other threads wait (only possible if threads exist before the first
// malloc, which a real process does not do).
template <typename F>
void next(F& fn, const char* name) {
  fn = reinterpret_cast<F>(dlsym(RTLD_NEXT, name));
}

// operator new/delete of the next object (allocator or libstdc++).
struct NewFns {
  void* (*nw_nothrow)(size_t, const std::nothrow_t&);
  void* (*na_nothrow)(size_t, const std::nothrow_t&);
  void* (*nw)(size_t);
  void* (*na)(size_t);
  void* (*nw_al_nothrow)(size_t, std::align_val_t, const std::nothrow_t&);
  void* (*na_al_nothrow)(size_t, std::align_val_t, const std::nothrow_t&);
  void* (*nw_al)(size_t, std::align_val_t);
  void* (*na_al)(size_t, std::align_val_t);
  void (*dl)(void*);
  void (*da)(void*);
  void (*dl_al)(void*, std::align_val_t);
  void (*da_al)(void*, std::align_val_t);
} g_new;

void resolve_new() {
  next(g_new.nw_nothrow, "_ZnwmRKSt9nothrow_t");
  next(g_new.na_nothrow, "_ZnamRKSt9nothrow_t");
  next(g_new.nw, "_Znwm");
  next(g_new.na, "_Znam");
  next(g_new.nw_al_nothrow, "_ZnwmSt11align_val_tRKSt9nothrow_t");
  next(g_new.na_al_nothrow, "_ZnamSt11align_val_tRKSt9nothrow_t");
  next(g_new.nw_al, "_ZnwmSt11align_val_t");
  next(g_new.na_al, "_ZnamSt11align_val_t");
  next(g_new.dl, "_ZdlPv");
  next(g_new.da, "_ZdaPv");
  next(g_new.dl_al, "_ZdlPvSt11align_val_t");
  next(g_new.da_al, "_ZdaPvSt11align_val_t");
}

// An allocator that lacks some entry point (jemalloc 5.3 has no pvalloc or reallocarray)
// leaves glibc's as the next definition, and glibc's returns glibc blocks the allocator's free
// cannot take (the bare program crashes). Such entry points are rebuilt on the allocator's
// own realloc / memalign instead.
const void* object_of(void* fn) {
  Dl_info info{};
  return (fn && dladdr(fn, &info)) ? info.dli_fbase : nullptr;
}
void* emulated_reallocarray(void* p, size_t n, size_t size) {
  if (size && n > static_cast<size_t>(-1) / size) {
    errno = ENOMEM;
    return nullptr;
  }
  return g_real.realloc(p, n * size);
}
void* emulated_pvalloc(size_t n) {
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  return g_real.memalign(page, n ? (n + page - 1) & ~(page - 1) : page);
}
void* emulated_valloc(size_t n) {
  return g_real.memalign(static_cast<size_t>(sysconf(_SC_PAGESIZE)), n);
}
void fix_foreign(RealFns& r) {
  const void* home = object_of(reinterpret_cast<void*>(r.malloc));
  auto foreign = [&](auto fn) { return object_of(reinterpret_cast<void*>(fn)) != home; };
  if (!home || !r.realloc || !r.memalign || foreign(r.realloc) || foreign(r.memalign)) return;
  if (!r.reallocarray || foreign(r.reallocarray)) r.reallocarray = emulated_reallocarray;
  if (!r.pvalloc || foreign(r.pvalloc)) r.pvalloc = emulated_pvalloc;
  if (!r.valloc || foreign(r.valloc)) r.valloc = emulated_valloc;
}

void resolve_slow() {
  int expected = kUnresolved;
  if (g_resolve_state.compare_exchange_strong(expected, kResolving)) {
    t_state.busy++;
    RealFns r{};
    next(r.malloc, "malloc");
    next(r.free, "free");
    next(r.calloc, "calloc");
    next(r.realloc, "realloc");
    next(r.reallocarray, "reallocarray");
    next(r.posix_memalign, "posix_memalign");
    next(r.aligned_alloc, "aligned_alloc");
    next(r.memalign, "memalign");
    next(r.valloc, "valloc");
    next(r.pvalloc, "pvalloc");
    next(r.usable, "malloc_usable_size");
    next(r.free_sized, "free_sized");
    next(r.free_aligned_sized, "free_aligned_sized");
    next(r.mmap, "mmap");
    next(r.mmap64, "mmap64");
    next(r.munmap, "munmap");
    next(r.mremap, "mremap");
    fix_foreign(r);
    {
      void* libc_marker = dlsym(RTLD_NEXT, "gnu_get_libc_version");
      const void* home = object_of(reinterpret_cast<void*>(r.malloc));
      g_glibc_layout = home && libc_marker && object_of(libc_marker) == home &&
                       object_of(reinterpret_cast<void*>(r.usable)) == home;
    }
    g_real = r;
    resolve_new();
    // Count from the very first allocation, not only from our constructor on, so frees of
    // blocks allocated during start-up (libc, ld.so, other constructors) balance. The
    // constructor switches back to passive if this process is not the target.
    if (const char* mode = getenv("ARENALAB_MODE"); mode && getenv("ARENALAB_OUT_DIR")) {
      if (std::strcmp(mode, "count") == 0 || std::strcmp(mode, "full") == 0)
        g_flags.store(kCount, std::memory_order_relaxed);
    }
    t_state.busy--;
    g_resolve_state.store(kResolved, std::memory_order_release);
    return;
  }
  // Another thread resolves; this one waits (never the resolving thread: it is `busy` and
  // served from the bootstrap arena).
  while (g_resolve_state.load(std::memory_order_acquire) != kResolved) sched_yield();
}

inline bool resolving_here() {
  return g_resolve_state.load(std::memory_order_acquire) != kResolved;
}

// Ensures g_real is set; returns false if this thread must use the bootstrap arena.
inline bool ready() {
  if (__builtin_expect(g_resolve_state.load(std::memory_order_acquire) == kResolved, 1))
    return true;
  if (g_resolve_state.load(std::memory_order_acquire) == kResolving && t_state.busy) return false;
  resolve_slow();
  return g_resolve_state.load(std::memory_order_acquire) == kResolved;
}

// ---- accounting ----
// glibc's malloc_usable_size checks that the chunk is in use by reading the *next* chunk's
// header: a cache miss on most calls (measured: 20% of a malloc-heavy run). A live block is in
// use by definition, so when the next malloc is glibc's own (not malloc-debug, which defines
// its own malloc), the size is read from the block's own header instead: mchunk_size at
// mem - 8, flags in the low 3 bits, IS_MMAPPED = 2 (glibc malloc/malloc.c, "memsize").
__attribute__((always_inline)) inline std::size_t header_usable(const void* p) {
  const std::size_t hdr = static_cast<const std::size_t*>(p)[-1];
  return (hdr & ~std::size_t{7}) - ((hdr & 2) ? 16 : 8);
}
__attribute__((always_inline)) inline std::size_t usable(void* p) {
  if (__builtin_expect(g_glibc_layout, 1)) return header_usable(p);
  return g_real.usable ? g_real.usable(p) : 0;
}

// ---- count mode's tables (kTable): usable sizes without asking the allocator ----
// Exact live bytes need each block's usable size twice: when it is allocated and when it is
// freed. Asking the allocator (malloc_usable_size) costs about as much as its malloc or free
// (jemalloc: 4.6 ns of an 11 ns malloc/free pair), so under the known allocators count mode
// reads two tables instead. Both are checked against the allocator as the program runs.
//
// The size-class table: the usable size of malloc(n) for n up to kClassMax, by 8-byte steps.
// Under jemalloc, mimalloc, tcmalloc and tbbmalloc it is the size class of n, the same for every
// block. Built at start-up from the allocator's own answers: both ends of each 8-byte step,
// twice; any disagreement leaves the tables off (g_class_ok false).
constexpr std::size_t kClassMax = 4096;
std::uint16_t g_class_usable[kClassMax / 8 + 1];
bool g_class_ok = false;
bool g_class_tried = false;  // once per process (a fork child keeps the parent's table)

void build_class_table() {
  if (g_class_tried || !g_real.usable || !g_real.malloc || !g_real.free) return;
  g_class_tried = true;
  for (std::size_t k = 0; k <= kClassMax / 8; ++k) {
    const std::size_t hi = k * 8, lo = k ? hi - 7 : 0;
    std::size_t got[4];
    for (int i = 0; i < 4; ++i) {
      void* p = g_real.malloc(i % 2 ? lo : hi);
      if (!p) return;
      got[i] = g_real.usable(p);
      g_real.free(p);
    }
    if (got[1] != got[0] || got[2] != got[0] || got[3] != got[0] || got[0] < hi || got[0] >= 0xffff)
      return;
    g_class_usable[k] = static_cast<std::uint16_t>(got[0]);
  }
  g_class_ok = true;
}

// The page table: the usable size of the blocks that start in a 4 KiB page. The known
// allocators keep small blocks in runs of pages that hold one size class while any of their
// blocks is live (jemalloc's slabs, tcmalloc's spans, mimalloc's and tbbmalloc's pages: 4 KiB and
// up, aligned), and a large block alone in its first page. So count mode's malloc, which knows
// the size from the class table, notes it for the block's page, and the free reads it back with
// one load. An entry is (page << 16) | size, tagged because pages 128 MiB apart share an entry.
// Every allocation counted while the tables are on writes its page's entry (unless it already
// says the same), so an entry left from an earlier use of the page is overwritten before any
// block of the new use can be freed; blocks from before the tables (start-up) find no entry or
// one written for the same use of the page.
//
// The other counted entry points (calloc, realloc, new, malloc beyond the class table) note the
// allocator's own answer for their block, or kAsk (ask the allocator) where it does not fit.
// kAlwaysAsk: an aligned entry point may return a pointer inside a larger block (mimalloc
// does), whose usable size is not its page's, so its page is marked for good. The mark is never
// overwritten, also not by a page sharing its entry: entries change only by compare-and-swap,
// and only from an unmarked value. A mark wanted where another page's mark is turns the tables
// off (counting goes on by asking the allocator). jemalloc's and tcmalloc's aligned blocks are
// plain blocks of a size class (or whole pages), so under those the aligned entry points note
// kAsk instead.
constexpr int kPageShift = 12;
constexpr std::size_t kPageEntries = std::size_t{1} << 15;  // 256 KiB, faulted in as used
constexpr std::uint64_t kAsk = 0, kAlwaysAsk = 0xffff;
std::atomic<std::uint64_t> g_pages[kPageEntries];
bool g_aligned_inside = true;  // the allocator's aligned blocks may start inside another

inline std::uintptr_t page_of(const void* p) {
  return reinterpret_cast<std::uintptr_t>(p) >> kPageShift;
}
inline std::atomic<std::uint64_t>& page_entry(std::uintptr_t page) {
  return g_pages[page & (kPageEntries - 1)];
}
inline bool marked(std::uint64_t entry) { return (entry & 0xffff) == kAlwaysAsk; }

// Turns the tables off for good; the first caller writes the warning (a, b) to run.json.
// g_class_ok goes first: a fork between the two steps must not find the tables still good
// (the child's hook_flags would turn them back on). errno is kept: this runs inside free.
void tables_off(ThreadState& t, const char* a, const char* b) {
  const bool first = __atomic_exchange_n(&g_class_ok, false, __ATOMIC_RELAXED);
  g_flags.fetch_and(~unsigned{kTable}, std::memory_order_relaxed);
  if (first) {
    const int busy = t.busy, saved_errno = errno;
    t.busy = 1;
    note_warning("count mode: ", a, b);
    t.busy = busy;
    errno = saved_errno;
  }
}

// A block of usable size `size` (below kAlwaysAsk), or kAsk, starts at p.
__attribute__((noinline)) void page_write(std::atomic<std::uint64_t>& e, std::uint64_t have,
                                          std::uint64_t want) {
  while (!marked(have) && have != want &&
         !e.compare_exchange_weak(have, want, std::memory_order_relaxed)) {
  }
}
__attribute__((always_inline)) inline void page_note(const void* p, std::uint64_t size) {
  const std::uintptr_t page = page_of(p);
  std::atomic<std::uint64_t>& e = page_entry(page);
  const std::uint64_t want = (std::uint64_t{page} << 16) | size;
  const std::uint64_t have = e.load(std::memory_order_relaxed);
  if (__builtin_expect(have != want, 0)) page_write(e, have, want);
}

// An aligned entry point returned p. Also before the tables are on (count mode counts from the
// first allocation; the constructors of the program's libraries run before ours): such a block
// may still be live when they are. A mark that meets another page's mark sets g_marks_lost,
// which keeps the tables off (hook_flags, tables_published) or turns them off.
bool g_marks_lost = false;

__attribute__((noinline)) void page_note_aligned(ThreadState& t, const void* p) {
  if (!g_aligned_inside) return page_note(p, kAsk);
  const std::uintptr_t page = page_of(p);
  std::atomic<std::uint64_t>& e = page_entry(page);
  const std::uint64_t want = (std::uint64_t{page} << 16) | kAlwaysAsk;
  std::uint64_t have = e.load(std::memory_order_relaxed);
  while (have != want) {
    if (marked(have)) {
      __atomic_store_n(&g_marks_lost, true, __ATOMIC_RELAXED);
      return tables_off(t, "the page table is off: aligned blocks in two pages that share ",
                        "an entry (counting goes on by asking the allocator)");
    }
    if (e.compare_exchange_weak(have, want, std::memory_order_relaxed)) return;
  }
}

// The usable size noted for the block at p; 0 when the allocator must be asked (no entry, an
// entry of another page, kAsk, kAlwaysAsk; also for null and the static arenas' blocks, which
// are never noted).
__attribute__((always_inline)) inline std::size_t page_size_of(const void* p) {
  const std::uintptr_t page = page_of(p);
  const std::uint64_t e = page_entry(page).load(std::memory_order_relaxed);
  const std::size_t size = e & 0xffff;
  return ((e >> 16) == page && size != kAlwaysAsk) ? size : 0;
}

// One table-sized malloc in kVerifyEvery, and one free that found its size in the page table,
// is checked against the allocator's own answer. A disagreement (a configuration where the size
// depends on more than n, or an allocator that mixes sizes in a page) turns the tables off for
// good and says so in run.json's warnings; the blocks counted by them before then may be off by
// the difference.
constexpr long long kVerifyEvery = 4096;

// Returns the allocator's answer; `what` names the table that gave `expected`.
__attribute__((noinline)) std::size_t verify_usable(ThreadState& t, void* p, std::size_t expected,
                                                    const char* what) {
  t.verify = kVerifyEvery;
  const std::size_t real = g_real.usable(p);
  if (real != expected)
    tables_off(t, what,
               "; the tables are off, live bytes may be off by the blocks counted by them");
  return real;
}

// The usable size of a block being freed (count mode).
__attribute__((always_inline)) inline std::size_t usable_old(ThreadState& t, unsigned flags,
                                                             void* p) {
  if (flags & kTable) {
    if (const std::size_t noted = page_size_of(p)) {
      if (__builtin_expect(--t.verify < 0, 0))
        return verify_usable(t, p, noted,
                             "the allocator's usable size of a block differed from the size "
                             "noted for its page");
      return noted;
    }
  }
  return usable(p);
}

// `aligned`: from an aligned entry point (see page_note_aligned).
__attribute__((always_inline)) inline void on_alloc(ThreadState& t, unsigned flags, void* p,
                                                    std::size_t requested, bool aligned = false) {
  if (flags & kCount) {
    const std::size_t u = usable(p);
    if (aligned) {
      if ((flags & kTable) || !g_glibc_layout) page_note_aligned(t, p);  // see there
    } else if (flags & kTable) {
      page_note(p, u < kAlwaysAsk ? u : kAsk);  // the allocator's own answer for this block
    }
    slot_add(t, static_cast<long long>(u), 1);
  }
  if (flags & kSample) {
    t.countdown -= static_cast<long long>(requested);
    if (__builtin_expect(t.countdown <= 0, 0)) sample_alloc(t, p, requested);
  }
  if (flags & kFull) full_alloc(p, requested);
}

__attribute__((always_inline)) inline void on_free(ThreadState& t, unsigned flags, void* p) {
  if (flags & kCount) slot_add(t, -static_cast<long long>(usable_old(t, flags, p)), -1);
  if ((flags & kSample) && __builtin_expect(sample_maybe_tracked(p), 0)) sample_free(p);
  if (flags & kFull) full_free(p);
}

// A scope that marks this thread busy; `active` says whether this call accounts. busy == 2
// means "inside our unwinder": malloc and calloc are then served by the unwinder arena (never
// counted); what the unwinder gets elsewhere (realloc, aligned entry points, a full arena) is
// counted (kCount only), because it may be freed later from a thread-exit destructor or by
// glibc where this thread is not busy.
struct Hook {
  ThreadState& t;
  unsigned flags;
  int prev;
  bool active;
  Hook() : t(t_state), flags(g_flags.load(std::memory_order_relaxed)), prev(t.busy) {
    if (__builtin_expect(prev == 2, 0)) flags &= kCount | kTable;
    active = flags != 0 && (prev == 0 || prev == 2);
    if (active) t.busy = 1;
  }
  ~Hook() {
    if (active) t.busy = prev;
  }
};

// ---- the allocator's own code: its mmap calls are not the program's ----
// An allocator other than glibc maps its memory through the exported mmap, so those calls
// reach our hook. They were told apart by marking the thread busy around every malloc and
// free; that costs about 10 % of a malloc-heavy run under mimalloc or tcmalloc (a store before
// and after the call, and no tail call). Instead the mmap hooks look at their return address:
// a call from the text of the object that defines the next malloc, or of one of the objects
// it needs (libtbbmalloc_proxy's malloc runs in libtbbmalloc), is the allocator's. The C and
// C++ runtime it needs (libc, ld.so, libstdc++, libgcc_s, libm) is not the allocator.
struct TextRange {
  std::uintptr_t lo, hi;
};
constexpr int kMaxAllocTexts = 8;
TextRange g_alloc_text[kMaxAllocTexts];
int g_alloc_texts = -1;        // -1: not found (the fast paths then mark busy)
bool g_alloc_scanned = false;  // the scan runs once (a fork child keeps its result)

const char* base_name(const char* path) {
  const char* slash = std::strrchr(path, '/');
  return slash ? slash + 1 : path;
}

// True when the file name of `path` starts with one of `prefixes`.
template <std::size_t N>
bool name_starts_with(const char* path, const char* const (&prefixes)[N]) {
  const char* base = base_name(path);
  for (const char* prefix : prefixes)
    if (std::strncmp(base, prefix, std::strlen(prefix)) == 0) return true;
  return false;
}

bool runtime_object(const char* path) {
  static const char* const kRuntime[] = {"libc.so",    "ld-linux", "libstdc++",
                                         "libgcc_s",   "libm.so",  "libdl.so",
                                         "libpthread", "librt.so", "libarenalab_preload"};
  return name_starts_with(path, kRuntime);
}

// The allocators whose own mmap calls the tests cover (tests/detectors/profilers/mmap_sites_test.py). An
// allocator that maps memory from anywhere else would have that mmap taken for the program's,
// and a sampled one unwound inside the allocator's locks: for any other allocator the fast
// paths keep marking the thread busy.
bool known_allocator(const char* path) {
  static const char* const kKnown[] = {"libjemalloc.so", "libmimalloc.so", "libtcmalloc.so",
                                       "libtcmalloc_minimal.so", "libtbbmalloc_proxy.so"};
  return name_starts_with(path, kKnown);
}

struct AllocScan {
  std::uintptr_t malloc_addr;
  const char* needed[16];  // DT_NEEDED names of the object defining malloc (but the runtime)
  bool matched[16];        // found loaded
  int n_needed;
  bool found;
  bool truncated;  // more needed objects or text ranges than the arrays hold
  int n_text;      // ranges written to g_alloc_text (published at the end)
};

void add_text_ranges(const dl_phdr_info* info, AllocScan* scan) {
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    if (ph.p_type != PT_LOAD || !(ph.p_flags & PF_X)) continue;
    if (scan->n_text == kMaxAllocTexts) {
      scan->truncated = true;
      return;
    }
    g_alloc_text[scan->n_text++] = {info->dlpi_addr + ph.p_vaddr,
                                    info->dlpi_addr + ph.p_vaddr + ph.p_memsz};
  }
}

// Pass 1: the object whose text holds malloc, if a known allocator: its ranges and the names it
// needs.
int scan_home(dl_phdr_info* info, size_t, void* arg) {
  auto* scan = static_cast<AllocScan*>(arg);
  bool home = false;
  const ElfW(Dyn)* dyn = nullptr;
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    const std::uintptr_t lo = info->dlpi_addr + ph.p_vaddr;
    if (ph.p_type == PT_LOAD && (ph.p_flags & PF_X) && scan->malloc_addr >= lo &&
        scan->malloc_addr < lo + ph.p_memsz)
      home = true;
    if (ph.p_type == PT_DYNAMIC) dyn = reinterpret_cast<const ElfW(Dyn)*>(lo);
  }
  if (!home) return 0;
  if (!info->dlpi_name || !known_allocator(info->dlpi_name)) return 1;
  scan->found = true;
  // Their aligned entry points return plain blocks of a size class, or whole pages.
  static const char* const kAlignedPlain[] = {"libjemalloc.so", "libtcmalloc.so",
                                              "libtcmalloc_minimal.so"};
  if (name_starts_with(info->dlpi_name, kAlignedPlain)) g_aligned_inside = false;
  add_text_ranges(info, scan);
  std::uintptr_t strtab = 0;
  for (const ElfW(Dyn)* d = dyn; d && d->d_tag != DT_NULL; ++d)
    if (d->d_tag == DT_STRTAB) strtab = d->d_un.d_ptr;
  // ld.so relocates DT_STRTAB in place where the dynamic section is writable.
  if (strtab && strtab < info->dlpi_addr) strtab += info->dlpi_addr;
  for (const ElfW(Dyn)* d = dyn; strtab && d && d->d_tag != DT_NULL; ++d) {
    if (d->d_tag != DT_NEEDED) continue;
    const char* name = reinterpret_cast<const char*>(strtab + d->d_un.d_val);
    if (runtime_object(name)) continue;
    if (scan->n_needed == 16) {
      scan->truncated = true;
      break;
    }
    scan->needed[scan->n_needed++] = name;
  }
  return 1;
}

// Pass 2: the loaded objects it needs, but for the runtime.
int scan_needed(dl_phdr_info* info, size_t, void* arg) {
  auto* scan = static_cast<AllocScan*>(arg);
  if (!info->dlpi_name || !info->dlpi_name[0] || runtime_object(info->dlpi_name)) return 0;
  const char* base = base_name(info->dlpi_name);
  for (int i = 0; i < scan->n_needed; ++i)
    if (!scan->matched[i] && std::strcmp(base, scan->needed[i]) == 0) {
      scan->matched[i] = true;
      add_text_ranges(info, scan);
    }
  return 0;
}

// Once, from the constructor (before kDirect is set; a fork child keeps the result and never
// scans: another thread of the parent may have held the loader's lock at the fork). The
// address test is taken only when every object the allocator needs was found by its file
// name (a library loaded under another name, or more objects than the arrays hold, keeps the
// busy marking).
void find_allocator_text() {
  if (g_alloc_scanned || !g_real.malloc) return;
  g_alloc_scanned = true;
  AllocScan scan{};
  scan.malloc_addr = reinterpret_cast<std::uintptr_t>(g_real.malloc);
  dl_iterate_phdr(scan_home, &scan);
  if (!scan.found) return;
  if (scan.n_needed) dl_iterate_phdr(scan_needed, &scan);
  for (int i = 0; i < scan.n_needed; ++i)
    if (!scan.matched[i]) return;
  if (scan.truncated) return;
  __atomic_store_n(&g_alloc_texts, scan.n_text, __ATOMIC_RELEASE);
}

inline bool from_allocator(const void* ret) {
  const auto a = reinterpret_cast<std::uintptr_t>(ret);
  for (int i = 0; i < g_alloc_texts; ++i)
    if (a >= g_alloc_text[i].lo && a < g_alloc_text[i].hi) return true;
  return false;
}

}  // namespace

void ensure_resolved() { ready(); }

// kDirect: the fast paths need not mark the thread busy. Under glibc nothing inside its malloc
// reaches our hooks; under another allocator its own mmap calls are told apart by address.
unsigned hook_flags(unsigned mode_flags) {
  if (!mode_flags) return 0;
  if (!g_glibc_layout) find_allocator_text();
  if (g_alloc_texts > 0 && (mode_flags & kCount)) build_class_table();
  unsigned f = mode_flags;
  if (g_glibc_layout || g_alloc_texts >= 0) f |= kDirect;
  // glibc's own sizes are read from the block's header (usable()): cheaper than any table.
  if ((f & kDirect) && (f & kCount) && !g_glibc_layout && g_class_ok &&
      !__atomic_load_n(&g_marks_lost, __ATOMIC_RELAXED))
    f |= kTable;
  if ((f & kDirect) && (f & kCount) && g_glibc_layout) f |= kHeader;
  return f;
}

// After g_flags took hook_flags' value: a mark lost between hook_flags and that store turned
// the tables off before they were on; they stay off.
void tables_published() {
  if (__atomic_load_n(&g_marks_lost, __ATOMIC_RELAXED))
    g_flags.fetch_and(~unsigned{kTable}, std::memory_order_relaxed);
}

}  // namespace arenalab::preload

using namespace arenalab::preload;

#define ARENALAB_EXPORT extern "C" __attribute__((visibility("default")))

// The two common modes have a straight-line path each, chosen by one load of g_flags (nonzero
// only once the next definitions are resolved): no Hook scope, no mode tests after the call.
// Everything else (full mode, start-up, nested calls) takes the general path below it.
namespace {
constexpr unsigned kModeCount = kCount | kMmap;
constexpr unsigned kModeSample = kSample | kMmap;

__attribute__((noinline)) void* malloc_general(size_t n) {
  if (__builtin_expect(!ready(), 0)) return bootstrap_alloc(n, 16);
  Hook h;
  if (!h.active) return g_real.malloc(n);
  if (__builtin_expect(h.prev == 2, 0))  // inside our unwinder: see unwind_alloc
    if (void* q = unwind_alloc(n)) return q;
  void* p = g_real.malloc(n);
  if (p) on_alloc(h.t, h.flags, p, n);
  return p;
}

__attribute__((noinline)) void free_general(void* p) {
  if (!p || free_static(p)) return;
  if (__builtin_expect(!ready(), 0)) return;  // cannot happen for a real block
  Hook h;
  if (h.active) on_free(h.t, h.flags, p);
  g_real.free(p);
}

// Count mode's malloc with the tables on, for n <= kClassMax: the block is counted before the
// call, so that after it the fast path only checks that the page table already has the block's
// page; anything else (a failed malloc, a check due, a page entry to write) is done by
// malloc_count_rest. The frame then holds three registers (n, u, the TLS offset).
__attribute__((noinline)) void* malloc_count_rest(void* p, size_t n) {
  ThreadState& t = t_state;
  const std::size_t u = g_class_usable[(n + 7) >> 3];
  if (p == nullptr) {
    slot_add(t, -static_cast<long long>(u), -1);  // taken back
    return p;
  }
  if (t.verify < 0) {
    const std::size_t real = verify_usable(
        t, p, u, "the allocator's usable size of a block differed from its size class");
    slot_add(t, static_cast<long long>(real) - static_cast<long long>(u), 0);
    page_note(p, real < kAlwaysAsk ? real : kAsk);
    return p;
  }
  page_note(p, u);
  return p;
}

__attribute__((noinline)) void* malloc_count(size_t n) {
  const std::size_t u = g_class_usable[(n + 7) >> 3];
  slot_add(t_state, static_cast<long long>(u), 1);
  void* p = g_real.malloc(n);
  const std::uintptr_t page = page_of(p);
  if (__builtin_expect(
          p != nullptr && --t_state.verify >= 0 &&
              page_entry(page).load(std::memory_order_relaxed) == ((std::uint64_t{page} << 16) | u),
          1))
    return p;
  return malloc_count_rest(p, n);
}

// Count mode's malloc under glibc: the size is read from the block's header after the call.
__attribute__((noinline)) void* malloc_count_header(size_t n) {
  void* p = g_real.malloc(n);
  if (__builtin_expect(p != nullptr, 1))
    slot_add(t_state, static_cast<long long>(header_usable(p)), 1);
  return p;
}

// The rest of malloc: count mode, the sampled allocation, paths that mark busy, the general
// path. Kept out of malloc itself so that sample mode's fast path needs no stack frame (a
// function that may call and then use its arguments saves registers on entry, on every call).
__attribute__((noinline)) void* malloc_rest(unsigned f, size_t n) {
  ThreadState& t = t_state;
  if (__builtin_expect(t.busy == 0, 1)) {
    // With the tables, n > kClassMax (malloc_count takes the rest); without, the allocator is
    // asked. kHeader never gets here: malloc_count_header.
    if ((f & ~kTable) == (kModeCount | kDirect)) {
      void* p = g_real.malloc(n);
      if (__builtin_expect(p != nullptr, 1)) on_alloc(t, f, p, n);
      return p;
    }
    if (f == (kModeSample | kDirect)) {  // the countdown ran out: sample this one
      void* p = g_real.malloc(n);
      if (p) {
        t.busy = 1;
        sample_alloc(t, p, n);
        t.busy = 0;
      }
      return p;
    }
    if (f == kModeCount) {
      t.busy = 1;  // the allocator's own mmap calls are not the program's
      void* p = g_real.malloc(n);
      if (__builtin_expect(p != nullptr, 1)) slot_add(t, static_cast<long long>(usable(p)), 1);
      t.busy = 0;
      return p;
    }
    if (f == kModeSample) {
      t.busy = 1;
      void* p = g_real.malloc(n);
      t.countdown -= static_cast<long long>(n);
      if (__builtin_expect(t.countdown <= 0, 0) && p) sample_alloc(t, p, n);
      t.busy = 0;
      return p;
    }
  }
  return malloc_general(n);
}

// The rest of free (as malloc_rest).
__attribute__((noinline)) void free_rest(unsigned f, void* p) {
  ThreadState& t = t_state;
  if (__builtin_expect(t.busy == 0 && !in_bootstrap(p) && p, 1)) {
    if ((f & ~(kTable | kHeader)) == (kModeCount | kDirect)) {
      slot_add(t, -static_cast<long long>(usable_old(t, f, p)), -1);
      return g_real.free(p);
    }
    if (f == (kModeSample | kDirect)) {  // the filter says it may be a sampled block
      t.busy = 1;
      sample_free(p);
      t.busy = 0;
      return g_real.free(p);
    }
    if (f == kModeCount) {
      slot_add(t, -static_cast<long long>(usable(p)), -1);
      t.busy = 1;
      g_real.free(p);
      t.busy = 0;
      return;
    }
    if (f == kModeSample) {
      t.busy = 1;
      if (__builtin_expect(sample_maybe_tracked(p), 0)) sample_free(p);
      g_real.free(p);
      t.busy = 0;
      return;
    }
  }
  free_general(p);
}

}  // namespace

// Sample mode's malloc needs no busy test either: a nested call forwards the same way (the
// general path would forward it too). Its bytes come off the countdown, so the hooks whose
// next definition calls malloc put the countdown back (new_impl); the unwinder's first-use
// mallocs are undone by sample_alloc.
ARENALAB_EXPORT void* malloc(size_t n) {
  const unsigned f = g_flags.load(std::memory_order_acquire);
  ThreadState& t = t_state;
  if (__builtin_expect(f == (kModeSample | kDirect), 1)) {
    const long long c = t.countdown - static_cast<long long>(n);
    t.countdown = c;
    if (__builtin_expect(c > 0, 1)) return g_real.malloc(n);
  } else if (f == (kModeCount | kDirect | kTable) && t.busy == 0 && n <= kClassMax) {
    return malloc_count(n);
  } else if (f == (kModeCount | kDirect | kHeader) && t.busy == 0) {
    return malloc_count_header(n);
  }
  return malloc_rest(f, n);
}

// Sample mode's free needs no busy test: a free nested in a hook (libstdc++'s operator delete
// inside ours, the sampler thread) forwards the same way. A nested free of a sampled block
// goes to free_rest, which forwards it without a lookup, as before: our operator delete has
// already taken the block out. Blocks of the static arenas never reach the allocator: their
// filter bits are set for good (filter_mark_static), and free_rest recognises them.
//
// Count mode's free with the tables on: a block whose size the page table has, freed outside
// our hooks by a thread with a counter slot, is counted out in place (no stack frame either).
// Null and the static arenas' blocks have no entry. Under glibc the same, with the size from
// the block's header. Everything else goes to free_rest.
ARENALAB_EXPORT void free(void* p) {
  const unsigned f = g_flags.load(std::memory_order_acquire);
  if (__builtin_expect(f == (kModeSample | kDirect) && !sample_maybe_tracked(p), 1))
    return g_real.free(p);  // free(nullptr) included: every allocator takes it
  if (f == (kModeCount | kDirect | kTable)) {
    ThreadState& t = t_state;
    Slot* s = static_cast<Slot*>(t.slotp);
    const std::size_t u = page_size_of(p);
    if (__builtin_expect(t.busy == 0 && s != nullptr && u != 0 && t.verify > 0, 1)) {
      --t.verify;
      slot_bump(s, -static_cast<long long>(u), -1);
      return g_real.free(p);
    }
  } else if (f == (kModeCount | kDirect | kHeader)) {  // glibc: the size is in the header
    ThreadState& t = t_state;
    Slot* s = static_cast<Slot*>(t.slotp);
    if (__builtin_expect(t.busy == 0 && s != nullptr && p != nullptr && !in_bootstrap(p), 1)) {
      const std::size_t u = header_usable(p);
      slot_bump(s, -static_cast<long long>(u), -1);
      return g_real.free(p);
    }
  }
  return free_rest(f, p);
}

ARENALAB_EXPORT void* calloc(size_t n, size_t size) {
  if (__builtin_expect(!ready(), 0)) {
    if (size && n > static_cast<size_t>(-1) / size) return nullptr;
    return bootstrap_alloc(n * size, 16);
  }
  Hook h;
  if (!h.active) return g_real.calloc(n, size);
  if (__builtin_expect(h.prev == 2, 0))  // inside our unwinder: see unwind_alloc
    if (void* q = unwind_calloc(n, size)) return q;
  void* p = g_real.calloc(n, size);
  if (p) on_alloc(h.t, h.flags, p, n * size);
  return p;
}

namespace {
// realloc semantics shared by realloc and reallocarray: old block accounted out before the
// call (its address may be reused by another thread at once), the result in after; a failed
// realloc leaves the old block live, so it is accounted back in.
void* realloc_impl(void* p, size_t n, size_t count, bool array) {
  if (p && in_bootstrap(p)) {  // a bootstrap block moves to the real allocator
    size_t total = n;
    if (array) {
      if (count && n > static_cast<size_t>(-1) / count) {
        errno = ENOMEM;
        return nullptr;
      }
      total = n * count;
    }
    void* q = malloc(total);
    if (q) {
      std::memcpy(q, p, bootstrap_size(p) < total ? bootstrap_size(p) : total);
      release_static(p);
    }
    return q;
  }
  if (__builtin_expect(!ready(), 0)) {
    size_t total = array ? n * count : n;
    return bootstrap_alloc(total, 16);
  }
  Hook h;
  if (!h.active) return array ? g_real.reallocarray(p, n, count) : g_real.realloc(p, n);
  if (p) on_free(h.t, h.flags, p);
  void* q = array ? g_real.reallocarray(p, n, count) : g_real.realloc(p, n);
  const size_t total = array ? n * count : n;
  if (q) {
    on_alloc(h.t, h.flags, q, total);
  } else if (p && total != 0) {
    on_alloc(h.t, h.flags, p, total);  // failed: the old block is still live
  }
  return q;
}
}  // namespace

ARENALAB_EXPORT void* realloc(void* p, size_t n) { return realloc_impl(p, n, 1, false); }

ARENALAB_EXPORT void* reallocarray(void* p, size_t n, size_t size) {
  return realloc_impl(p, n, size, true);
}

ARENALAB_EXPORT int posix_memalign(void** out, size_t align, size_t n) {
  if (__builtin_expect(!ready(), 0)) {
    *out = bootstrap_alloc(n, align);
    return *out ? 0 : ENOMEM;
  }
  Hook h;
  if (!h.active) return g_real.posix_memalign(out, align, n);
  int rc = g_real.posix_memalign(out, align, n);
  if (rc == 0 && *out) on_alloc(h.t, h.flags, *out, n, true);
  return rc;
}

#define ARENALAB_ALIGNED_HOOK(name, params, call, req, align_expr)              \
  ARENALAB_EXPORT void* name params {                                           \
    if (__builtin_expect(!ready(), 0)) return bootstrap_alloc(req, align_expr); \
    Hook h;                                                                     \
    if (!h.active) return g_real.call;                                          \
    void* p = g_real.call;                                                      \
    if (p) on_alloc(h.t, h.flags, p, req, true);                                \
    return p;                                                                   \
  }

ARENALAB_ALIGNED_HOOK(aligned_alloc, (size_t align, size_t n), aligned_alloc(align, n), n, align)
ARENALAB_ALIGNED_HOOK(memalign, (size_t align, size_t n), memalign(align, n), n, align)
ARENALAB_ALIGNED_HOOK(valloc, (size_t n), valloc(n), n, 4096)
ARENALAB_ALIGNED_HOOK(pvalloc, (size_t n), pvalloc(n), n, 4096)

ARENALAB_EXPORT size_t malloc_usable_size(void* p) {
  if (!p) return 0;
  if (in_bootstrap(p)) return bootstrap_size(p);
  if (!ready() || !g_real.usable) return 0;
  return g_real.usable(p);
}

// C23 free_sized / free_aligned_sized: forwarded when the next object has them, else free().
ARENALAB_EXPORT void free_sized(void* p, size_t n) {
  if (!p || free_static(p) || !ready()) return;
  Hook h;
  if (h.active) on_free(h.t, h.flags, p);
  if (g_real.free_sized)
    g_real.free_sized(p, n);
  else
    g_real.free(p);
}

ARENALAB_EXPORT void free_aligned_sized(void* p, size_t align, size_t n) {
  if (!p || free_static(p) || !ready()) return;
  Hook h;
  if (h.active) on_free(h.t, h.flags, p);
  if (g_real.free_aligned_sized)
    g_real.free_aligned_sized(p, align, n);
  else
    g_real.free(p);
}

// ---- operator new / delete ----
// The allocators define their own operator new (which does not call malloc), libstdc++'s
// calls malloc: either way the next definition runs with `busy` set and the block is accounted
// here once. The nothrow variant is called first so no exception crosses this frame; only if
// it fails is the throwing variant called (outside the busy scope) to get the standard
// new_handler / std::bad_alloc behaviour.
namespace {
template <typename NoThrow, typename Throw>
inline void* new_impl(size_t n, NoThrow nothrow_fn, Throw throw_fn) {
  if (!ready()) return bootstrap_alloc(n, 16);
  // Nested (libstdc++'s nothrow new calls the throwing one inside a try block): forward.
  ThreadState& t = t_state;
  if (t.busy) return throw_fn(n);
  // busy is set even in stats mode, so that nested call takes the line above.
  const unsigned flags = g_flags.load(std::memory_order_relaxed);
  const long long countdown = t.countdown;
  t.busy = 1;
  void* p = nothrow_fn ? nothrow_fn(n, std::nothrow) : g_real.malloc(n);
  t.countdown = countdown;  // libstdc++'s new calls malloc, whose fast path took n off already
  if (p && flags) on_alloc(t, flags, p, n);
  t.busy = 0;
  if (!p) p = throw_fn(n);  // throws std::bad_alloc, or the new_handler made room
  return p;
}

template <typename NoThrow, typename Throw>
inline void* new_al_impl(size_t n, std::align_val_t al, NoThrow nothrow_fn, Throw throw_fn) {
  if (!ready()) return bootstrap_alloc(n, static_cast<size_t>(al));
  ThreadState& t = t_state;
  if (t.busy) return throw_fn(n, al);
  const unsigned flags = g_flags.load(std::memory_order_relaxed);
  const long long countdown = t.countdown;
  t.busy = 1;
  const size_t align = static_cast<size_t>(al);
  void* p = nothrow_fn ? nothrow_fn(n, al, std::nothrow)
                       : g_real.aligned_alloc(align, (n + align - 1) & ~(align - 1));
  t.countdown = countdown;  // as in new_impl
  if (p && flags) on_alloc(t, flags, p, n, true);
  t.busy = 0;
  if (!p) p = throw_fn(n, al);
  return p;
}

template <typename Del>
inline void delete_impl(void* p, Del del) {
  const unsigned flags = g_flags.load(std::memory_order_acquire);
  const unsigned f = flags & ~(kDirect | kTable | kHeader);
  ThreadState& t = t_state;
  if (__builtin_expect(
          t.busy == 0 && p && !in_bootstrap(p) && (f == kModeCount || f == kModeSample), 1)) {
    if (f == kModeCount) slot_add(t, -static_cast<long long>(usable_old(t, flags, p)), -1);
    t.busy = 1;
    if (f == kModeSample && __builtin_expect(sample_maybe_tracked(p), 0)) sample_free(p);
    if (del)
      del(p);
    else
      g_real.free(p);
    t.busy = 0;
    return;
  }
  if (!p || free_static(p) || !ready()) return;
  Hook h;
  if (h.active) on_free(h.t, h.flags, p);
  if (del)
    del(p);
  else
    g_real.free(p);
}

template <typename Del>
inline void delete_al_impl(void* p, std::align_val_t al, Del del) {
  if (!p || free_static(p) || !ready()) return;
  Hook h;
  if (h.active) on_free(h.t, h.flags, p);
  if (del)
    del(p, al);
  else
    g_real.free(p);
}
}  // namespace

ARENALAB_EXPORT void* _Znwm(size_t n) { return new_impl(n, g_new.nw_nothrow, g_new.nw); }
ARENALAB_EXPORT void* _Znam(size_t n) { return new_impl(n, g_new.na_nothrow, g_new.na); }
ARENALAB_EXPORT void* _ZnwmRKSt9nothrow_t(size_t n, const std::nothrow_t&) noexcept {
  if (t_state.busy && g_new.nw_nothrow) return g_new.nw_nothrow(n, std::nothrow);
  return new_impl(n, g_new.nw_nothrow, [](size_t) -> void* { return nullptr; });
}
ARENALAB_EXPORT void* _ZnamRKSt9nothrow_t(size_t n, const std::nothrow_t&) noexcept {
  if (t_state.busy && g_new.na_nothrow) return g_new.na_nothrow(n, std::nothrow);
  return new_impl(n, g_new.na_nothrow, [](size_t) -> void* { return nullptr; });
}
ARENALAB_EXPORT void* _ZnwmSt11align_val_t(size_t n, std::align_val_t al) {
  return new_al_impl(n, al, g_new.nw_al_nothrow, g_new.nw_al);
}
ARENALAB_EXPORT void* _ZnamSt11align_val_t(size_t n, std::align_val_t al) {
  return new_al_impl(n, al, g_new.na_al_nothrow, g_new.na_al);
}
ARENALAB_EXPORT void* _ZnwmSt11align_val_tRKSt9nothrow_t(size_t n, std::align_val_t al,
                                                         const std::nothrow_t&) noexcept {
  if (t_state.busy && g_new.nw_al_nothrow) return g_new.nw_al_nothrow(n, al, std::nothrow);
  return new_al_impl(n, al, g_new.nw_al_nothrow,
                     [](size_t, std::align_val_t) -> void* { return nullptr; });
}
ARENALAB_EXPORT void* _ZnamSt11align_val_tRKSt9nothrow_t(size_t n, std::align_val_t al,
                                                         const std::nothrow_t&) noexcept {
  if (t_state.busy && g_new.na_al_nothrow) return g_new.na_al_nothrow(n, al, std::nothrow);
  return new_al_impl(n, al, g_new.na_al_nothrow,
                     [](size_t, std::align_val_t) -> void* { return nullptr; });
}
// Every delete variant forwards to the unsized one of the next object (the size is only a
// hint; all allocators accept the unsized form for any block).
ARENALAB_EXPORT void _ZdlPv(void* p) noexcept { delete_impl(p, g_new.dl); }
ARENALAB_EXPORT void _ZdaPv(void* p) noexcept { delete_impl(p, g_new.da); }
ARENALAB_EXPORT void _ZdlPvm(void* p, size_t) noexcept { delete_impl(p, g_new.dl); }
ARENALAB_EXPORT void _ZdaPvm(void* p, size_t) noexcept { delete_impl(p, g_new.da); }
ARENALAB_EXPORT void _ZdlPvRKSt9nothrow_t(void* p, const std::nothrow_t&) noexcept {
  delete_impl(p, g_new.dl);
}
ARENALAB_EXPORT void _ZdaPvRKSt9nothrow_t(void* p, const std::nothrow_t&) noexcept {
  delete_impl(p, g_new.da);
}
ARENALAB_EXPORT void _ZdlPvSt11align_val_t(void* p, std::align_val_t al) noexcept {
  delete_al_impl(p, al, g_new.dl_al);
}
ARENALAB_EXPORT void _ZdaPvSt11align_val_t(void* p, std::align_val_t al) noexcept {
  delete_al_impl(p, al, g_new.da_al);
}
ARENALAB_EXPORT void _ZdlPvmSt11align_val_t(void* p, size_t, std::align_val_t al) noexcept {
  delete_al_impl(p, al, g_new.dl_al);
}
ARENALAB_EXPORT void _ZdaPvmSt11align_val_t(void* p, size_t, std::align_val_t al) noexcept {
  delete_al_impl(p, al, g_new.da_al);
}
ARENALAB_EXPORT void _ZdlPvSt11align_val_tRKSt9nothrow_t(void* p, std::align_val_t al,
                                                         const std::nothrow_t&) noexcept {
  delete_al_impl(p, al, g_new.dl_al);
}
ARENALAB_EXPORT void _ZdaPvSt11align_val_tRKSt9nothrow_t(void* p, std::align_val_t al,
                                                         const std::nothrow_t&) noexcept {
  delete_al_impl(p, al, g_new.da_al);
}

// ---- mmap family: anonymous mappings the program makes itself (not the allocator's: those
// come from its text, see from_allocator, or happen inside a hook, with busy set) ----
namespace {
inline bool tracks_mmap(const void* caller) {
  return (g_flags.load(std::memory_order_relaxed) & kMmap) && t_state.busy == 0 &&
         !from_allocator(caller);
}
void* do_mmap(void* (*fn)(void*, size_t, int, int, int, off_t), const void* caller, void* addr,
              size_t len, int prot, int flags, int fd, off_t off) {
  if (!fn) fn = g_real.mmap;
  void* p = fn(addr, len, prot, flags, fd, off);
  if (p != MAP_FAILED && (flags & MAP_ANONYMOUS) && tracks_mmap(caller)) {
    t_state.busy = 1;
    if (flags & MAP_FIXED) mmap_note_unmap(p, len);  // replaces what was there
    mmap_note_map(p, len);
    t_state.busy = 0;
  }
  return p;
}
}  // namespace

ARENALAB_EXPORT void* mmap(void* addr, size_t len, int prot, int flags, int fd, off_t off) {
  if (!ready()) return reinterpret_cast<void*>(syscall(SYS_mmap, addr, len, prot, flags, fd, off));
  return do_mmap(g_real.mmap, __builtin_return_address(0), addr, len, prot, flags, fd, off);
}

ARENALAB_EXPORT void* mmap64(void* addr, size_t len, int prot, int flags, int fd, off_t off) {
  if (!ready()) return reinterpret_cast<void*>(syscall(SYS_mmap, addr, len, prot, flags, fd, off));
  return do_mmap(g_real.mmap64, __builtin_return_address(0), addr, len, prot, flags, fd, off);
}

ARENALAB_EXPORT int munmap(void* addr, size_t len) {
  if (!ready()) return static_cast<int>(syscall(SYS_munmap, addr, len));
  const int rc = g_real.munmap(addr, len);
  if (rc == 0 && tracks_mmap(__builtin_return_address(0))) {
    t_state.busy = 1;
    mmap_note_unmap(addr, len);
    t_state.busy = 0;
  }
  return rc;
}

ARENALAB_EXPORT void* mremap(void* old, size_t old_len, size_t new_len, int flags, ...) {
  void* new_addr = nullptr;
  if (flags & MREMAP_FIXED) {
    va_list ap;
    va_start(ap, flags);
    new_addr = va_arg(ap, void*);
    va_end(ap);
  }
  if (!ready())
    return reinterpret_cast<void*>(syscall(SYS_mremap, old, old_len, new_len, flags, new_addr));
  void* p = g_real.mremap(old, old_len, new_len, flags, new_addr);
  if (p != MAP_FAILED && tracks_mmap(__builtin_return_address(0))) {
    t_state.busy = 1;
    // Only a mapping we counted moves: the table knows whether `old` was the program's.
    if (mmap_note_unmap(old, old_len) > 0) mmap_note_map(p, new_len);
    t_state.busy = 0;
  }
  return p;
}
