// SPDX-License-Identifier: Apache-2.0
// malloc and free, the hot paths: the exported entry points themselves (malloc: the countdown
// and a tail call through g_fast_malloc; free: the filter test and a tail call through
// g_fast_free) and the rest of each (count mode with the tables, sample mode's sampled free, the
// sampled allocation, the paths that mark the thread busy, the general paths).
//
// The only exported entry points not written as one-line forwards in entry_points.cc: GCC's
// static branch estimate changes when free's body is inlined into a forward (measured: count
// mode's table path then takes a branch it did not before). Their code is checked with objdump
// of malloc, free, malloc_any and free_any, and counted by scripts/bench-overhead
// --instructions.
#include "accounting.h"
#include "bootstrap.h"
#include "count_tables.h"
#include "hooked_symbols.h"
#include "resolve.h"
#include "state.h"

namespace arenalab::preload {

namespace {

__attribute__((noinline)) void* malloc_general(size_t n) {
  if (__builtin_expect(!ready(), 0)) return bootstrap_alloc(n, 16);
  Hook h;
  if (!h.active) return g_real.malloc(n);
  if (__builtin_expect(h.prev == kUnwinding, 0))  // inside our unwinder: see unwind_alloc
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

// Sample mode's malloc once the countdown ran out (kDirect): the allocation, then its sample,
// unwound in this frame (sample_alloc_inline), so that the unwinder walks one frame of ours
// (malloc and malloc_out reach it by tail calls). Nested in our code it takes the general path.
__attribute__((noinline)) void* malloc_sample_out(size_t n) {
  ThreadState& t = t_state;
  if (__builtin_expect(t.busy != 0, 0)) return malloc_general(n);
  void* p = g_real.malloc(n);
  // Above 0: reached through malloc_any while g_fast_malloc was not yet the allocator's.
  if (p && t.countdown <= 0) {
    BusyScope busy(t, kWasIdle);
    sample_alloc_inline(t, p, n);
  }
  return p;
}

// The rest of malloc: count mode, the sampled allocation, paths that mark busy, the general
// path. Kept out of malloc itself so that sample mode's fast path needs no stack frame (a
// function that may call and then use its arguments saves registers on entry, on every call).
__attribute__((noinline)) void* malloc_rest(size_t n, unsigned f) {
  ThreadState& t = t_state;
  if (__builtin_expect(t.busy == 0, 1)) {
    // With the tables, n > kClassMax (malloc_count takes the rest); without, the allocator is
    // asked. kHeader never gets here: malloc_count_header.
    if ((f & ~kTable) == (kModeCount | kDirect)) {
      void* p = g_real.malloc(n);
      if (__builtin_expect(p != nullptr, 1)) on_alloc(t, f, p, n);
      return p;
    }
    if (f == (kModeSample | kDirect)) return malloc_sample_out(n);  // the countdown ran out
    if (f == kModeCount) {
      BusyScope busy(t, kWasIdle);  // the allocator's own mmap calls are not the program's
      void* p = g_real.malloc(n);
      if (__builtin_expect(p != nullptr, 1)) slot_add(t, static_cast<long long>(usable(p)), 1);
      return p;
    }
    if (f == kModeSample) {
      BusyScope busy(t, kWasIdle);
      void* p = g_real.malloc(n);  // malloc took n off the countdown already
      if (__builtin_expect(t.countdown <= 0, 0) && p) sample_alloc(t, p, n);
      return p;
    }
  }
  return malloc_general(n);
}

// The rest of free (as malloc_rest).
__attribute__((noinline)) void free_rest(void* p, unsigned f) {
  ThreadState& t = t_state;
  if (__builtin_expect(t.busy == 0 && !in_bootstrap(p) && p, 1)) {
    if ((f & ~(kTable | kHeader)) == (kModeCount | kDirect)) {
      slot_add(t, -static_cast<long long>(usable_old(t, f, p)), -1);
      return g_real.free(p);
    }
    if (f == (kModeSample | kDirect)) {  // the filter says it may be a sampled block
      {
        BusyScope busy(t, kWasIdle);
        sample_free(p);
      }
      return g_real.free(p);
    }
    if (f == kModeCount) {
      slot_add(t, -static_cast<long long>(usable(p)), -1);
      BusyScope busy(t, kWasIdle);
      g_real.free(p);
      return;
    }
    if (f == kModeSample) {
      BusyScope busy(t, kWasIdle);
      if (__builtin_expect(sample_maybe_tracked(p), 0)) sample_free(p);
      g_real.free(p);
      return;
    }
  }
  free_general(p);
}

// malloc in any state but sample mode's fast path: count mode's paths, then the rest.
__attribute__((noinline)) void* malloc_any(size_t n) {
  const unsigned f = g_flags.load(std::memory_order_acquire);
  if (f == (kModeCount | kDirect | kTable) && t_state.busy == 0 && n <= kClassMax)
    return malloc_count(n);
  if (f == (kModeCount | kDirect | kHeader) && t_state.busy == 0) return malloc_count_header(n);
  return malloc_rest(n, f);
}

// malloc when the countdown is at or below 0: in sample mode the countdown ran out; count and
// full modes, which have no countdown, park it far above 0 (kCountdownParked) so that their
// mallocs take g_fast_malloc (malloc_any) from then on; so does a passive process (g_passive:
// it forwards for good). Never parked in any other state: a thread whose countdown was parked
// before sample mode started would never be sampled.
__attribute__((noinline)) void* malloc_out(size_t n) {
  const unsigned f = g_flags.load(std::memory_order_acquire);
  if ((f & kCount) || (f == 0 && g_passive.load(std::memory_order_relaxed)))
    t_state.countdown = kCountdownParked;
  if (f == (kModeSample | kDirect)) return malloc_sample_out(n);
  return malloc_any(n);
}

// free in any state but sample mode's fast path (a block the filter does not know).
__attribute__((noinline)) void free_any(void* p) {
  const unsigned f = g_flags.load(std::memory_order_acquire);
  if (f == (kModeCount | kDirect | kTable)) {
    ThreadState& t = t_state;
    Slot* s = t.slotp;
    const std::size_t u = page_size_of(p);
    if (__builtin_expect(t.busy == 0 && s != nullptr && u != 0 && t.verify > 0, 1)) {
      --t.verify;
      slot_bump(s, -static_cast<long long>(u), -1);
      return g_real.free(p);
    }
  } else if (f == (kModeCount | kDirect | kHeader)) {  // glibc: the size is in the header
    ThreadState& t = t_state;
    Slot* s = t.slotp;
    if (__builtin_expect(t.busy == 0 && s != nullptr && p != nullptr && !in_bootstrap(p), 1)) {
      const std::size_t u = header_usable(p);
      slot_bump(s, -static_cast<long long>(u), -1);
      return g_real.free(p);
    }
  } else if (f == (kModeSample | kDirect) && !sample_maybe_tracked(p)) {
    return g_real.free(p);  // g_fast_free was not the allocator's free yet
  }
  return free_rest(p, f);
}

}  // namespace

std::atomic<void* (*)(size_t)> g_fast_malloc{malloc_any};
std::atomic<void (*)(void*)> g_fast_free{free_any};

std::atomic<bool> g_passive{false};

void fast_publish() {
  const unsigned f = g_flags.load(std::memory_order_acquire);
  // A passive process forwards everything, as sample mode's fast paths do (the filter still
  // sends the static arenas' blocks to free_any), once the next definitions are known.
  const bool sample = f == (kModeSample | kDirect) ||
                      (f == 0 && g_passive.load(std::memory_order_relaxed) &&
                       g_resolve_state.load(std::memory_order_acquire) == kResolved);
  g_fast_malloc.store(sample ? g_real.malloc : malloc_any, std::memory_order_release);
  g_fast_free.store(sample ? g_real.free : free_any, std::memory_order_release);
}

void publish_passive() {
  g_passive.store(true, std::memory_order_relaxed);
  fast_publish();
}

}  // namespace arenalab::preload

using namespace arenalab::preload;

// malloc: the countdown first, in every state. Sample mode's fast path (kDirect) is a
// read-modify-write of the thread's countdown and a tail call through g_fast_malloc, which is
// then the allocator's malloc (fast_publish): no flag is read. Count and full modes park the
// countdown (malloc_out), so their mallocs take g_fast_malloc = malloc_any; every other state
// (not resolved yet, passive, stats) keeps the countdown at or below 0 and takes malloc_out.
// Nested calls need no busy test in sample mode: a nested call forwards the same way (the
// general path would forward it too). Its bytes come off the countdown, so the hooks whose next
// definition calls malloc put the countdown back (new_impl); the unwinder's first-use mallocs
// are undone by sample_alloc_inline.
ARENALAB_EXPORT void* malloc(size_t n) {
  if (__builtin_expect(countdown_take(n), 1))
    return g_fast_malloc.load(std::memory_order_relaxed)(n);
  return malloc_out(n);
}

// free: the filter test, then one indirect call chosen when the mode started (fast_publish):
// the allocator's free in sample mode (and in a passive process), free_any (count and full
// modes' paths, the rest) otherwise. A set bit (a granule holding a sampled block or a block of
// the static arenas, whose bits are set for good: filter_mark_static) takes free_any, which
// looks the block up or recognises it. Nested calls need no busy test: a free nested in a hook
// forwards the same way; a nested free of a sampled block goes to free_rest, which forwards it
// without a lookup (our operator delete has already taken the block out).
//
// The test was in free_sample, behind the indirect call (free: `jmp *g_fast_free`): one
// instruction less in sample mode and none in count mode, but two indirect jumps in a row on
// every free (the program's PLT jump, then ours, then the allocator's). With the test here,
// sample mode's free has the floor's shape (a test, one indirect jump after the PLT's), and
// count and full modes pay the test (8 instructions) before their indirect call. Measured in
// time, not in instructions (docs/interposer.md, "cost35").
ARENALAB_EXPORT void free(void* p) {
  if (__builtin_expect(!sample_maybe_tracked(p), 1))
    return g_fast_free.load(std::memory_order_relaxed)(p);
  return free_any(p);
}
