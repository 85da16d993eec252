// SPDX-License-Identifier: Apache-2.0
// The static arenas: the bootstrap arena serves allocations made while dlsym resolves the next
// malloc, the unwinder arena those made inside our stack unwinder. Their blocks never reach the
// allocator; one range test (in_bootstrap) recognises both kinds when they are freed.
#pragma once

#include <cstddef>
#include <cstdint>

#include "state.h"

#pragma GCC visibility push(hidden)

namespace arenalab::preload {

// The same static array holds the unwinder arena after it (see bootstrap.cc): in_bootstrap()
// covers both, so a free of either kind of block is recognised by one range test.
inline constexpr std::size_t kBootstrapSize = 256 * 1024;
inline constexpr std::size_t kUnwindArenaSize = 1024 * 1024;
extern char g_bootstrap[kBootstrapSize + kUnwindArenaSize];

// By one unsigned comparison (null is not in it).
inline bool in_bootstrap(const void* p) {
  return reinterpret_cast<std::uintptr_t>(p) - reinterpret_cast<std::uintptr_t>(g_bootstrap) <
         kBootstrapSize + kUnwindArenaSize;
}

// A block of `size` bytes aligned to `align` (at least 16), zeroed (static storage); null when
// the arena is exhausted (ENOMEM).
void* bootstrap_alloc(std::size_t size, std::size_t align);
// The size recorded for a block of either arena (its capacity for an unwinder block), in the
// 16-byte header before it.
inline std::size_t bootstrap_size(const void* p) {
  std::size_t size;
  __builtin_memcpy(&size, static_cast<const char*>(p) - sizeof size, sizeof size);
  return size;
}
// The unwinder arena (busy == kUnwinding): null when the request is above its largest class or
// the arena is full (the caller then takes the allocator).
void* unwind_alloc(std::size_t n);
void* unwind_calloc(std::size_t n, std::size_t size);
// The unwinder arena's free lists, one per size class 16 B << k (bootstrap.cc).
inline constexpr int kUnwindClasses = 9;
extern void* g_unwind_free[kUnwindClasses];

// For a block of the static arenas (in_bootstrap(p)): an unwinder block goes back on its list;
// bootstrap blocks are never reused.
inline void release_static(void* p) {
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

}  // namespace arenalab::preload

#pragma GCC visibility pop
