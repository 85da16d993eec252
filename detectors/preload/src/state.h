// SPDX-License-Identifier: Apache-2.0
// The interposer's internal API (heaptrack's libheaptrack.h plays this part there): the next
// allocator's entry points, the mode bits, per-thread state (initial-exec TLS, plain data: first
// use never allocates) with its recursion guard, the counters, and what each part offers the
// others. Everything here is injected code: no allocation, no exceptions, no stdio.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "arenalab/preload/stack.h"
#include "hooked_symbols.h"

// Everything declared here is defined inside this library: hidden, so the compiler reads a
// global in one RIP-relative instruction instead of through the GOT (the hot paths' g_flags
// and g_real: a load and an indirect jump each, not two instructions).
#pragma GCC visibility push(hidden)

namespace arenalab::preload {

// What the hooks do (bits): stats mode hooks nothing; count adds exact live bytes of the malloc
// family; sample adds byte-based Poisson sampling with stacks; full logs every event.
enum : unsigned {
  kCount = 1u << 0,
  kSample = 1u << 1,
  kFull = 1u << 2,
  kMmap = 1u << 3,  // anonymous mmap/munmap/mremap accounting
  // The fast paths need not mark the thread busy: the next malloc is glibc's own (nothing
  // inside it reaches our hooks: glibc calls its internal mmap, not the exported one), or
  // another allocator whose code was found, so the mmap hooks tell its calls apart by address.
  kDirect = 1u << 4,
  // Count mode reads usable sizes from its tables (count_tables.h): the size-class table at malloc,
  // the page table at free. Only with kDirect, under the known allocators; cleared for good when
  // a check finds a table wrong.
  kTable = 1u << 5,
  // Count mode reads usable sizes from glibc's chunk headers (count_tables.h): only with kDirect,
  // when the next malloc is glibc's own.
  kHeader = 1u << 6,
};

// The g_flags value for a mode's flags: adds kDirect where it holds (count_tables.cc).
unsigned hook_flags(unsigned mode_flags);
// Called right after g_flags took hook_flags' value (count_tables.cc).
void tables_published();

// The next definition of each C entry point (hooked_symbols.h), resolved by resolve.cc; null
// where the next objects define none (free_sized before glibc 2.39).
struct RealFns {
#define ARENALAB_REAL_FN(name, ret, params) ret(*name) params;
  ARENALAB_LIBC_HOOKS(ARENALAB_REAL_FN)
#undef ARENALAB_REAL_FN
};
extern RealFns g_real;

// Active hook bits; 0 in stats mode and in processes that are not traced (passive).
extern std::atomic<unsigned> g_flags;

// What the exported malloc and free call once the flags are known (malloc_free.cc): in sample
// mode with kDirect, the allocator's malloc and free (the filter test is in the exported `free`
// itself, before it calls through g_fast_free), so that neither reads g_flags on its fast path;
// in every other state the general entries, which read g_flags and take count mode's paths or the
// rest. Set by fast_publish after each store of g_flags that may change the mode (startup, fork
// child); a stale value is harmless, as the general entries handle every mode.
extern std::atomic<void* (*)(size_t)> g_fast_malloc;
extern std::atomic<void (*)(void*)> g_fast_free;
void fast_publish();
// g_flags is 0 for good (a passive process: not started by arenalab, an untraced child, a
// failed start; or stats mode in this library), so malloc and free forward through the fast
// pointers once the next definitions are resolved (publish_passive, and resolve.cc after
// resolving).
extern std::atomic<bool> g_passive;
void publish_passive();  // g_flags.store(0) first

// Live counters: one cache line per thread, summed by the sampler. Single writer per slot
// (relaxed load + store, no lock prefix); slot 0 is shared by threads beyond kMaxSlots
// (atomic add, in slot_add_slow). A thread freeing another thread's block subtracts from its own
// slot.
struct alignas(64) Slot {
  std::atomic<long long> bytes;
  std::atomic<long long> allocs;
};

struct ThreadLog;  // full mode's per-thread buffer (full_log.cc)

// Per-thread state. Plain zero-initialised data in initial-exec TLS: reading it is one
// %fs-relative load and its first use runs no constructor and allocates nothing.
struct ThreadState {
  int busy;             // inside a hook or internal code (BusyScope): nested calls go through
  Slot* slotp;          // this thread's own counter slot (null: none yet, or none left)
  long long countdown;  // sample mode: bytes until the next sample (<= 0: sample now)
  long long verify;     // count mode: table-sized mallocs until the next check (count_tables)
  unsigned long long rng;
  int sampler;     // this is the sampler thread
  ThreadLog* log;  // full mode: this thread's log buffer (null: none yet)
};
// The asm name lets countdown_take reach it from inline assembly.
extern __thread ThreadState t_state asm("arenalab_preload_t_state")
    __attribute__((tls_model("initial-exec")));

// Sample mode's malloc fast path: takes n off this thread's countdown and returns true while it
// stays above 0. On x86-64 one read-modify-write on the %fs-relative word whose flags the branch
// reads (the TLS offset load, subq, jle: 3 instructions); GCC compiles the C++ form to a load, a
// sub, a store and a test (6). Counted by `scripts/bench-overhead --instructions`.
inline bool countdown_take(std::size_t n) {
#if defined(__x86_64__) && defined(__GCC_ASM_FLAG_OUTPUTS__)
  long off;
  asm("movq arenalab_preload_t_state@gottpoff(%%rip), %0" : "=r"(off));
  bool positive;
  asm volatile("subq %[n], %%fs:%c[at](%[off])"
               : "=@ccg"(positive)
               : [off] "r"(off), [n] "r"(n), [at] "i"(__builtin_offsetof(ThreadState, countdown))
               : "memory");
  return positive;
#else
  ThreadState& t = t_state;
  const long long c = t.countdown - static_cast<long long>(n);
  t.countdown = c;
  return c > 0;
#endif
}

// Count and full modes have no countdown: each thread's is parked far above 0 at its first
// malloc, so that malloc takes g_fast_malloc without a test of g_flags (2^62 bytes: never
// used up).
inline constexpr long long kCountdownParked = 1LL << 62;

// busy values: 0 outside our code; kBusy inside a hook or internal code (nested calls forward
// without accounting); kUnwinding inside our stack unwinder (see Hook in accounting.h).
inline constexpr int kBusy = 1;
inline constexpr int kUnwinding = 2;

// The recursion guard (memray's RecursionGuard, heaptrack's): marks the thread `value` for the
// scope and puts the previous value back at its end. Inline and trivially small, so a scope
// compiles to the two stores the hand-written pairs were (checked with objdump; README's
// overhead table). No exceptions in this library: the destructor runs on every return.
struct WasIdle {};  // tag: the caller has just seen busy == 0 (nothing to read back)
inline constexpr WasIdle kWasIdle{};
class BusyScope {
 public:
  explicit BusyScope(ThreadState& t, int value = kBusy) : t_(t), prev_(t.busy) { t.busy = value; }
  BusyScope(ThreadState& t, WasIdle) : t_(t), prev_(0) { t.busy = kBusy; }
  ~BusyScope() { t_.busy = prev_; }
  BusyScope(const BusyScope&) = delete;
  BusyScope& operator=(const BusyScope&) = delete;
  int prev() const { return prev_; }

 private:
  ThreadState& t_;
  const int prev_;
};

inline constexpr int kMaxSlots = 8192;
extern Slot g_slots[kMaxSlots];
extern std::atomic<int> g_slot_high;  // slots in use (upper bound for the sum)

// The slow path of slot_add: the thread's first counted allocation claims its slot; a thread
// beyond kMaxSlots adds to the shared slot 0 (atomically) every time and keeps no slot.
void slot_add_slow(ThreadState& t, long long bytes, long long allocs);

// The owner's update of its own slot: plain load and store, no lock prefix.
inline void slot_bump(Slot* s, long long bytes, long long allocs) {
  s->bytes.store(s->bytes.load(std::memory_order_relaxed) + bytes, std::memory_order_relaxed);
  s->allocs.store(s->allocs.load(std::memory_order_relaxed) + allocs, std::memory_order_relaxed);
}

inline void slot_add(ThreadState& t, long long bytes, long long allocs) {
  Slot* s = t.slotp;
  if (__builtin_expect(s == nullptr, 0)) return slot_add_slow(t, bytes, allocs);
  slot_bump(s, bytes, allocs);
}

void sum_slots(long long* bytes, long long* allocs);

// A test-and-set spin lock with yield: for the rare paths only (mmap table, sampled blocks,
// full log, gauges); never on the count-mode malloc path. Reset in the fork child.
struct SpinLock {
  std::atomic<int> v{0};
  void lock();
  // Inline, for a lock taken on every event (full mode's thread buffer): true when taken.
  bool try_lock() {
    return v.load(std::memory_order_relaxed) == 0 && v.exchange(1, std::memory_order_acquire) == 0;
  }
  void unlock() { v.store(0, std::memory_order_release); }
};

// mmap accounting (mmap_table.cc): ranges the program mapped anonymously itself, with `prot`:
// a PROT_NONE range is a reservation, counted apart until made accessible (mprotect).
void mmap_note_map(void* addr, size_t len, int prot);
// Returns the bytes of tracked mappings removed (accessible or reserved); `*reserved` (when
// given) tells whether the last range cut was a reservation.
size_t mmap_note_unmap(void* addr, size_t len, bool* reserved = nullptr);
void mmap_note_protect(void* addr, size_t len, int prot);
long long mmap_live_bytes();      // accessible bytes: the timeline's mmap_bytes
long long mmap_reserved_bytes();  // PROT_NONE bytes: mmap_reserved_bytes
extern SpinLock g_mmap_lock;
// Guards the unwinder arena's free lists (bootstrap.h); held across fork like the mmap table's
// lock.
extern SpinLock g_unwind_arena_lock;

// Stacks (profile.cc, set up by profile_init in sample and full modes): the calling thread's
// stack with this library's own frames dropped (busy = kUnwinding while unwinding: see Hook in
// accounting.h). The tables' hash and interning: arenalab/preload/stack.h.
int capture_stack(void** frames, int max);

// Sampling (sample.cc) and the full log (full_log.cc); profile_init and the fork hooks in
// profile.cc.
void profile_init(unsigned flags, unsigned long long sample_bytes, const char* out_dir);
void sample_alloc(ThreadState& t, void* p, size_t size);  // called when countdown <= 0
// sample_alloc's two halves around the unwinding (sample_alloc_inline, profile.h): the next
// interval drawn and put in the countdown, returned (0: nothing to record: a thread's first
// interval, or sampling not set up); then the block recorded with its stack (lock held inside).
long long sample_begin(ThreadState& t);
void sample_record(void* p, size_t size, void* const* frames, int depth);
void sample_free(void* p);  // cheap filter first
// Filter over the 1 KiB granule of a block's address: bit set when a sampled block starts in
// that granule (sample.cc keeps the per-granule counts behind each bit). Every free in sample
// mode reads one bit, and the bits a heap touches are few (a 64 MiB heap: 8 KiB of bitmap), so
// the read mostly stays in L1; a byte per 64-byte line (64 KiB) missed it on most frees. With
// one sample per 512 KiB, about 1 free in 512 hits a set bit and looks the block up (locked).
// The index is the low 32 bits of the address over 1 KiB (granules 4 GiB apart alias): a
// 32-bit move masks it, so the test is 8 instructions (in free); the bitmap is 512 KiB of
// zero pages, of which a heap reads the few its addresses map to. The static arenas' blocks
// (bootstrap.h) set their granule's bit when handed out, and those bits are never cleared
// (filter_static): sample mode's free tests the filter alone, and a block of theirs always
// takes the slow path that recognises it.
inline constexpr std::size_t kFilterSize = std::size_t{1} << 22;  // granules
extern std::atomic<std::uint64_t> g_filter_bits[kFilterSize / 64];
inline std::size_t filter_index(const void* p) {
  return static_cast<std::uint32_t>(reinterpret_cast<std::uintptr_t>(p)) >> 10;
}
// True for a filter index that a granule of the static arenas maps to (bootstrap.cc; false in
// libarenalab_preload_stats.so, which has none).
bool filter_static(std::size_t i);
inline bool sample_maybe_tracked(void* p) {
  const std::size_t i = filter_index(p);
  return (g_filter_bits[i >> 6].load(std::memory_order_relaxed) >> (i & 63)) & 1;
}
void full_free(void* p);
void profile_flush_at(std::uint64_t t_ms);  // write buffered full-log events
long long profile_full_dropped();           // full-log events lost (threads beyond 4096)
long long profile_full_unstacked();         // full-log allocations logged without their stack
// Writes <out_dir>/heap.<seq>.heap (jemalloc heap_v2) atomically; returns false on failure.
bool profile_dump_heap(int seq);
// The name of that dump (heap.<seq>.heap, heap.<pid>.<seq>.heap in a traced fork child) into
// name[cap] (cap >= 64).
void profile_heap_dump_name(int seq, char* name, std::size_t cap);
long long profile_sampled_live_estimate();
// Samples not recorded (the table of live sampled blocks at its cap, or the stack table full):
// sampled_live_bytes and the heap profiles undercount by them; run.json's warnings say so.
long long profile_sample_dropped();
// heap-sites.jsonl (heap_sites.cc, sample mode; write lock held): the top call sites' sampled
// live bytes at dump `seq`, taken at t_ms. False with errno when a write failed.
bool heap_sites_write(int seq, std::uint64_t t_ms);
void heap_sites_traced_child();  // a traced fork child's file is heap-sites.<pid>.jsonl
void profile_atfork_prepare();
void profile_atfork_parent();
void profile_atfork_child();
void profile_traced_child();  // a traced fork child: its own dump names from now on
long long next_sample_interval(ThreadState& t);
extern long long g_sample_bytes;

// The sampler thread (sampler_thread.cc): the final sample and dumps at exit.
void sampler_final();
// Before _exit: waits out a timeline append in flight and lets no other start.
void quiesce_for_exit();
// A line for run.json's warnings (preload-warnings.txt, warnings.cc): a+b+c. Bounded per process (a
// share of
// --max-output, 1 MiB without it): past it warnings are dropped, the first drop noted and the
// number dropped written at exit. note_status is for lines a process writes at most once (a
// file cut, the cap reached, what was lost): they have a reserved room beyond the share.
void note_warning(const char* a, const char* b, const char* c);
void note_status(const char* a, const char* b, const char* c);
// The last warning line of a process that dropped some: how many (warnings.cc).
void warn_final();

// Resolves the next definitions now if not done yet (resolve.cc; stats_only.cc resolves malloc,
// for identification only).
void ensure_resolved();
// The value of NAME in the process's environment as it was handed over (`environ` walked here),
// null when absent. Never getenv(3): a program may define its own (bash's reads its shell
// variables and answered null for every name before they were set up, so the run looked
// untraced).
char* env_value(const char* name);
// True in libarenalab_preload.so, whose malloc family are the hooks; false in
// libarenalab_preload_stats.so (stats mode), which defines no allocation entry point.
extern const bool kHooksAllocation;

// Raw system calls that never go through our hooks.
void* sys_mmap(size_t len);
void sys_munmap(void* p, size_t len);

// mmap call sites (mmap_sites.cc), sample and full modes: the stack of every anonymous mmap the
// program makes itself and the live bytes per stack; the mmap table keeps a site id per range.
inline constexpr std::uint32_t kNoMmapSite = 0xffffffffu;
void mmap_sites_init(unsigned flags, const char* out_dir);
// The caller's stack from the first frame outside this library (0 frames when off). No lock.
int mmap_sites_capture(void** frames, int max);
// g_mmap_lock held: the site id of a stack (kNoMmapSite when off, empty or the table is full);
// adds bytes and ranges to a site (negative when they go).
std::uint32_t mmap_sites_intern_locked(void* const* frames, int depth);
void mmap_sites_add_locked(std::uint32_t site, long long bytes, int ranges);
// Writes <out_dir>/mmap.<seq>.heap (heap_v2, period 1) atomically; false when off or failed.
bool mmap_sites_dump(int seq);
void mmap_sites_atfork_child();

}  // namespace arenalab::preload

#pragma GCC visibility pop
