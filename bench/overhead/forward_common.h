// SPDX-License-Identifier: Apache-2.0
// What bench/overhead's two forwarders share (libarenalab_forward.so, the floor of issue 25's
// goals, and libarenalab_forward_min.so, the least a forwarder can do): the static buffer that
// serves dlsym's own allocations while the next definitions are resolved, and the resolution
// itself, run once by one thread while the others wait. Each forwarder includes it once.
#pragma once

#include <dlfcn.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace arenalab::bench_forward {

using MallocFn = void* (*)(std::size_t);
using FreeFn = void (*)(void*);
using CallocFn = void* (*)(std::size_t, std::size_t);
using ReallocFn = void* (*)(void*, std::size_t);

// The next definitions (a preloaded allocator, else glibc).
struct Next {
  MallocFn malloc;
  FreeFn free;
  CallocFn calloc;
  ReallocFn realloc;
};

inline std::atomic<int> g_state{0};  // 0 unresolved, 1 resolving, 2 resolved
alignas(16) inline char g_buf[64 * 1024];
inline std::atomic<std::size_t> g_used{0};
inline __thread bool t_resolving __attribute__((tls_model("initial-exec"))) = false;

inline bool in_buf(const void* p) {
  return reinterpret_cast<std::uintptr_t>(p) - reinterpret_cast<std::uintptr_t>(g_buf) <
         sizeof g_buf;
}

inline void* buf_alloc(std::size_t n) {  // zeroed (static storage), never reused
  if (n > sizeof g_buf) return nullptr;
  const std::size_t size = (n + 15) & ~std::size_t{15};
  const std::size_t at = g_used.fetch_add(size);
  return at + size <= sizeof g_buf ? g_buf + at : nullptr;
}

// True once the next definitions are known and handed to publish(const Next&); false for the
// resolving thread's nested calls (dlsym allocating: served from the buffer). Another thread
// waits for the resolution.
template <typename Publish>
bool resolve(Publish publish) {
  if (g_state.load(std::memory_order_acquire) == 2) return true;
  if (t_resolving) return false;
  int expected = 0;
  if (g_state.compare_exchange_strong(expected, 1)) {
    t_resolving = true;
    publish(Next{reinterpret_cast<MallocFn>(dlsym(RTLD_NEXT, "malloc")),
                 reinterpret_cast<FreeFn>(dlsym(RTLD_NEXT, "free")),
                 reinterpret_cast<CallocFn>(dlsym(RTLD_NEXT, "calloc")),
                 reinterpret_cast<ReallocFn>(dlsym(RTLD_NEXT, "realloc"))});
    t_resolving = false;
    g_state.store(2, std::memory_order_release);
    return true;
  }
  while (g_state.load(std::memory_order_acquire) != 2) {
  }
  return true;
}

// realloc of a buffer block: it moves to the allocator through malloc_fn (its old size is
// unknown: copy what the buffer holds from p on, up to n).
inline void* realloc_from_buf(void* p, std::size_t n, void* (*malloc_fn)(std::size_t)) {
  void* q = malloc_fn(n);
  if (q) {
    const std::size_t room = static_cast<std::size_t>(g_buf + sizeof g_buf - static_cast<char*>(p));
    std::memcpy(q, p, n < room ? n : room);
  }
  return q;
}

}  // namespace arenalab::bench_forward

#define FORWARD_EXPORT extern "C" __attribute__((visibility("default")))
