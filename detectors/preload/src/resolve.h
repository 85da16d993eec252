// SPDX-License-Identifier: Apache-2.0
// Resolution of the next definitions (dlsym RTLD_NEXT: a preloaded or linked jemalloc,
// mimalloc, tcmalloc or tbbmalloc, else glibc) of every hooked symbol (hooked_symbols.h), once,
// on the first call of any hook. While it runs, the resolving thread is busy and its
// allocations (dlsym's calloc) are served from the bootstrap arena.
#pragma once

#include <atomic>
#include <new>

#include "state.h"

#pragma GCC visibility push(hidden)

namespace arenalab::preload {

// operator new/delete of the next object (allocator or libstdc++): the NEXT entries of
// ARENALAB_CXX_HOOKS, by mangled name.
struct NewFns {
#define ARENALAB_NEW_FN_NEXT(name, ret, params) ret(*name) params;
#define ARENALAB_NEW_FN_SAME(name, ret, params)
#define ARENALAB_NEW_FN(name, ret, params, kind) ARENALAB_NEW_FN_##kind(name, ret, params)
  ARENALAB_CXX_HOOKS(ARENALAB_NEW_FN)
#undef ARENALAB_NEW_FN
#undef ARENALAB_NEW_FN_SAME
#undef ARENALAB_NEW_FN_NEXT
};
extern NewFns g_new;

// True when the next malloc is glibc's own (not malloc-debug): usable sizes are then read from
// the chunk header (accounting.h).
extern bool g_glibc_layout;

enum : int { kUnresolved = 0, kResolving = 1, kResolved = 2 };
extern std::atomic<int> g_resolve_state;

// The first thread resolves; others wait (only possible if threads exist before the first
// malloc, which a real process does not do).
void resolve_slow();

// Ensures g_real is set; returns false if this thread must use the bootstrap arena.
inline bool ready() {
  if (__builtin_expect(g_resolve_state.load(std::memory_order_acquire) == kResolved, 1))
    return true;
  if (g_resolve_state.load(std::memory_order_acquire) == kResolving && t_state.busy) return false;
  resolve_slow();
  return g_resolve_state.load(std::memory_order_acquire) == kResolved;
}

}  // namespace arenalab::preload

#pragma GCC visibility pop
