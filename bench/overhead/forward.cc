// SPDX-License-Identifier: Apache-2.0
// libarenalab_forward.so: the floor of any LD_PRELOAD interposer, for scripts/bench-overhead.
// Its malloc family only forwards to the next definition (a preloaded allocator, else glibc):
// no flag, no counter, a tail call each. What bm_overhead costs under it is what the extra call
// layer alone costs in front of that allocator; arenalab's count and sample modes add their
// work on top of it. A benchmark tool, not a detector: it records nothing.
//
// dlsym may allocate while the next definitions are resolved (the first call): those requests
// are served from a static buffer, whose blocks are never passed to the allocator.
#include <dlfcn.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace {

using MallocFn = void* (*)(std::size_t);
using FreeFn = void (*)(void*);
using CallocFn = void* (*)(std::size_t, std::size_t);
using ReallocFn = void* (*)(void*, std::size_t);

MallocFn g_malloc = nullptr;
FreeFn g_free = nullptr;
CallocFn g_calloc = nullptr;
ReallocFn g_realloc = nullptr;
std::atomic<int> g_state{0};  // 0 unresolved, 1 resolving, 2 resolved

alignas(16) char g_buf[64 * 1024];
std::atomic<std::size_t> g_used{0};

bool in_buf(const void* p) {
  return reinterpret_cast<std::uintptr_t>(p) - reinterpret_cast<std::uintptr_t>(g_buf) <
         sizeof g_buf;
}

void* buf_alloc(std::size_t n) {  // zeroed (static storage), never reused
  if (n > sizeof g_buf) return nullptr;
  const std::size_t size = (n + 15) & ~std::size_t{15};
  const std::size_t at = g_used.fetch_add(size);
  return at + size <= sizeof g_buf ? g_buf + at : nullptr;
}

__thread bool t_resolving __attribute__((tls_model("initial-exec"))) = false;

// True once the next definitions are known; false for the resolving thread's nested calls
// (another thread waits for the resolution).
bool resolve() {
  if (g_state.load(std::memory_order_acquire) == 2) return true;
  if (t_resolving) return false;
  int expected = 0;
  if (g_state.compare_exchange_strong(expected, 1)) {
    t_resolving = true;
    g_malloc = reinterpret_cast<MallocFn>(dlsym(RTLD_NEXT, "malloc"));
    g_free = reinterpret_cast<FreeFn>(dlsym(RTLD_NEXT, "free"));
    g_calloc = reinterpret_cast<CallocFn>(dlsym(RTLD_NEXT, "calloc"));
    g_realloc = reinterpret_cast<ReallocFn>(dlsym(RTLD_NEXT, "realloc"));
    t_resolving = false;
    g_state.store(2, std::memory_order_release);
    return true;
  }
  while (g_state.load(std::memory_order_acquire) != 2) {
  }
  return true;
}

}  // namespace

#define FORWARD_EXPORT extern "C" __attribute__((visibility("default")))

FORWARD_EXPORT void* malloc(std::size_t n) {
  if (__builtin_expect(g_malloc != nullptr, 1)) return g_malloc(n);
  return resolve() ? g_malloc(n) : buf_alloc(n);
}

FORWARD_EXPORT void free(void* p) {
  if (__builtin_expect(g_free != nullptr && !in_buf(p), 1)) return g_free(p);
  if (!in_buf(p) && resolve()) g_free(p);
}

FORWARD_EXPORT void* calloc(std::size_t n, std::size_t size) {
  if (__builtin_expect(g_calloc != nullptr, 1)) return g_calloc(n, size);
  if (size && n > static_cast<std::size_t>(-1) / size) return nullptr;
  return resolve() ? g_calloc(n, size) : buf_alloc(n * size);
}

FORWARD_EXPORT void* realloc(void* p, std::size_t n) {
  if (in_buf(p)) {        // a static block moves to the allocator (its old size is unknown: copy
    void* q = malloc(n);  // what the buffer can hold from p on)
    if (q) {
      const std::size_t room =
          static_cast<std::size_t>(g_buf + sizeof g_buf - static_cast<char*>(p));
      std::memcpy(q, p, n < room ? n : room);
    }
    return q;
  }
  if (__builtin_expect(g_realloc != nullptr, 1)) return g_realloc(p, n);
  return resolve() ? g_realloc(p, n) : buf_alloc(n);
}
