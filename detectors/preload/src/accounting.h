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
