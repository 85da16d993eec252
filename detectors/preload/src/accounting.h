// SPDX-License-Identifier: Apache-2.0
// What a hook does with a block, by mode: count its usable size, sample it, log it (on_alloc,
// on_free); and Hook, the recursion guard of the general paths.
#pragma once

#include <cstddef>

#include "count_tables.h"
#include "profile.h"
#include "state.h"

#pragma GCC visibility push(hidden)

namespace arenalab::preload {

// `aligned`: from an aligned entry point (see page_note_aligned). `replaced_bytes`,
// `replaced_allocs`: realloc's old block (on_realloc_old), taken off in the same slot update.
__attribute__((always_inline)) inline void on_alloc(ThreadState& t, unsigned flags, void* p,
                                                    std::size_t requested, bool aligned = false,
                                                    long long replaced_bytes = 0,
                                                    long long replaced_allocs = 0) {
  if (flags & kCount) {
    const std::size_t u = usable(p);
    if (aligned) {
      if ((flags & kTable) || !g_glibc_layout) page_note_aligned(t, p);  // see there
    } else if (flags & kTable) {
      page_note(p, u < kAlwaysAsk ? u : kAsk);  // the allocator's own answer for this block
    }
    slot_add(t, static_cast<long long>(u) - replaced_bytes, 1 - replaced_allocs);
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

// realloc's old block, before the real realloc: what sample and full mode note of a free (once
// the real realloc returns, the address may be another thread's new block), and its usable size
// for count mode, read while the block is there. The count comes off only with the result's
// (on_alloc's replaced_*): one update of the difference, so the sampler never reads live_bytes
// without a block that is still live mid-copy.
__attribute__((always_inline)) inline std::size_t on_realloc_old(ThreadState& t, unsigned flags,
                                                                 void* p) {
  std::size_t u = 0;
  if (flags & kCount) u = usable_old(t, flags, p);
  if ((flags & kSample) && __builtin_expect(sample_maybe_tracked(p), 0)) sample_free(p);
  if (flags & kFull) full_free(p);
  return u;
}

// The hooks' recursion guard: a BusyScope taken only when this call accounts (`active`); busy
// == kUnwinding means "inside our unwinder": malloc and calloc are then served by the unwinder
// arena (never counted); what the unwinder gets elsewhere (realloc, aligned entry points, a full
// arena) is counted (kCount only), because it may be freed later from a thread-exit destructor or
// by glibc where this thread is not busy.
struct Hook {
  ThreadState& t;
  unsigned flags;
  int prev;
  bool active;
  Hook() : t(t_state), flags(g_flags.load(std::memory_order_relaxed)), prev(t.busy) {
    if (__builtin_expect(prev == kUnwinding, 0)) flags &= kCount | kTable;
    active = flags != 0 && (prev == 0 || prev == kUnwinding);
    if (active) t.busy = kBusy;
  }
  ~Hook() {
    if (active) t.busy = prev;
  }
};

// The two common modes have a straight-line path each, chosen by one load of g_flags (nonzero
// only once the next definitions are resolved).
inline constexpr unsigned kModeCount = kCount | kMmap;
inline constexpr unsigned kModeSample = kSample | kMmap;

}  // namespace arenalab::preload

#pragma GCC visibility pop
