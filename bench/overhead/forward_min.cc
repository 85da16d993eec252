// SPDX-License-Identifier: Apache-2.0
// libarenalab_forward_min.so: the least an LD_PRELOAD interposer's malloc family can do, for
// scripts/bench-overhead --instructions. libarenalab_forward.so (the floor of issue 25's goals)
// tests its function pointers for null on every call; here each pointer starts at a function
// that resolves the next definitions on the first call, so malloc is one indirect jump and free
// the test for the static buffer's blocks (which dlsym may have been served) and one. Nothing a
// forwarder can drop: the lower bound of what the extra call layer costs in instructions.
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

void* first_malloc(std::size_t n);
void first_free(void* p);
void* first_calloc(std::size_t n, std::size_t size);
void* first_realloc(void* p, std::size_t n);

std::atomic<MallocFn> g_malloc{first_malloc};
std::atomic<FreeFn> g_free{first_free};
std::atomic<CallocFn> g_calloc{first_calloc};
std::atomic<ReallocFn> g_realloc{first_realloc};
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

// True once the next definitions are in the pointers; false for the resolving thread's nested
// calls (another thread waits for the resolution).
bool resolve() {
  if (g_state.load(std::memory_order_acquire) == 2) return true;
  if (t_resolving) return false;
  int expected = 0;
  if (g_state.compare_exchange_strong(expected, 1)) {
    t_resolving = true;
    auto m = reinterpret_cast<MallocFn>(dlsym(RTLD_NEXT, "malloc"));
    auto f = reinterpret_cast<FreeFn>(dlsym(RTLD_NEXT, "free"));
    auto c = reinterpret_cast<CallocFn>(dlsym(RTLD_NEXT, "calloc"));
    auto r = reinterpret_cast<ReallocFn>(dlsym(RTLD_NEXT, "realloc"));
    g_malloc.store(m, std::memory_order_relaxed);
    g_free.store(f, std::memory_order_relaxed);
    g_calloc.store(c, std::memory_order_relaxed);
    g_realloc.store(r, std::memory_order_relaxed);
    t_resolving = false;
    g_state.store(2, std::memory_order_release);
    return true;
  }
  while (g_state.load(std::memory_order_acquire) != 2) {
  }
  return true;
}

void* first_malloc(std::size_t n) {
  return resolve() ? g_malloc.load(std::memory_order_relaxed)(n) : buf_alloc(n);
}
void first_free(void* p) {
  if (resolve()) g_free.load(std::memory_order_relaxed)(p);
}
void* first_calloc(std::size_t n, std::size_t size) {
  if (resolve()) return g_calloc.load(std::memory_order_relaxed)(n, size);
  if (size && n > static_cast<std::size_t>(-1) / size) return nullptr;
  return buf_alloc(n * size);
}
void* first_realloc(void* p, std::size_t n) {
  return resolve() ? g_realloc.load(std::memory_order_relaxed)(p, n) : buf_alloc(n);
}

}  // namespace

#define FORWARD_EXPORT extern "C" __attribute__((visibility("default")))

FORWARD_EXPORT void* malloc(std::size_t n) { return g_malloc.load(std::memory_order_relaxed)(n); }

FORWARD_EXPORT void free(void* p) {
  if (__builtin_expect(!in_buf(p), 1)) return g_free.load(std::memory_order_relaxed)(p);
}

FORWARD_EXPORT void* calloc(std::size_t n, std::size_t size) {
  return g_calloc.load(std::memory_order_relaxed)(n, size);
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
  return g_realloc.load(std::memory_order_relaxed)(p, n);
}
