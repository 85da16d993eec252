// SPDX-License-Identifier: Apache-2.0
// libarenalab_unwind_floor.so: the floor of full mode's goal (issue 25: full mode <= 0.5x of
// heaptrack's time), for scripts/bench-overhead --real. Its malloc, calloc and realloc forward
// as libarenalab_forward.so does and then walk the caller's stack exactly as full mode does
// (profile.cc, profile.h): libunwind's unw_backtrace, loaded privately (RTLD_LOCAL) with its
// per-thread cache, up to kMaxDepth + kSkipFrames frames, from the hook's own frame. Nothing
// else: no stack table, no record, no clock, no write, no runner. heaptrack calls the same
// unw_backtrace on every allocation too, so what a program costs under this library is what
// any tool that unwinds every allocation with this unwinder costs at least; full mode's own work
// is what it costs beyond. A benchmark tool, not a detector: it records nothing.
//
// The unwinder's own allocations (glibc's dynamic TLS block for libunwind's per-thread cache, on
// its first use in a thread) reach malloc again inside the walk: a thread-local flag forwards
// them without a walk. memalign and its kin, and operator new where it does not call malloc,
// are not hooked (the real programs of the benchmark allocate through malloc).
#include <atomic>

#include "arenalab/preload/stack.h"
#include "forward_common.h"

namespace {

using namespace arenalab::bench_forward;

// What full mode passes unw_backtrace (profile.h: kMaxDepth + kSkipFrames).
constexpr int kFrames = arenalab::preload::kMaxDepth + 4;

MallocFn g_malloc = nullptr;
FreeFn g_free = nullptr;
CallocFn g_calloc = nullptr;
ReallocFn g_realloc = nullptr;
std::atomic<int (*)(void**, int)> g_unwind{nullptr};  // set by the constructor
__thread bool t_walking __attribute__((tls_model("initial-exec"))) = false;

bool resolve() {
  return arenalab::bench_forward::resolve([](const Next& next) {
    g_malloc = next.malloc;
    g_free = next.free;
    g_calloc = next.calloc;
    g_realloc = next.realloc;
  });
}

// One walk of the caller's stack, as full mode's capture_stack_in_place makes it.
__attribute__((always_inline)) inline void walk() {
  int (*const unwind)(void**, int) = g_unwind.load(std::memory_order_acquire);
  if (!unwind || t_walking) return;
  t_walking = true;
  void* raw[kFrames];
  unwind(raw, kFrames);
  asm volatile("" : : "r"(raw) : "memory");
  t_walking = false;
}

// libunwind, as profile_init loads it: privately, per-thread caching, primed.
__attribute__((constructor)) void load_unwinder() {
  resolve();
  t_walking = true;
  if (void* h = dlopen("libunwind.so.8", RTLD_NOW | RTLD_LOCAL)) {
    auto unwind = reinterpret_cast<int (*)(void**, int)>(dlsym(h, "unw_backtrace"));
    using Policy = int (*)(void*, int);
    auto set_policy = reinterpret_cast<Policy>(dlsym(h, "_ULx86_64_set_caching_policy"));
    auto** space = reinterpret_cast<void**>(dlsym(h, "_ULx86_64_local_addr_space"));
    if (set_policy && space && *space) set_policy(*space, 2 /* UNW_CACHE_PER_THREAD */);
    if (unwind) {
      void* prime[4];
      unwind(prime, 4);
      g_unwind.store(unwind, std::memory_order_release);
    }
  }
  t_walking = false;
}

}  // namespace

FORWARD_EXPORT void* malloc(std::size_t n) {
  void* p;
  if (__builtin_expect(g_malloc != nullptr, 1))
    p = g_malloc(n);
  else
    p = resolve() ? g_malloc(n) : buf_alloc(n);
  walk();
  return p;
}

FORWARD_EXPORT void free(void* p) {
  if (__builtin_expect(g_free != nullptr && !in_buf(p), 1)) return g_free(p);
  if (!in_buf(p) && resolve()) g_free(p);
}

FORWARD_EXPORT void* calloc(std::size_t n, std::size_t size) {
  void* p;
  if (__builtin_expect(g_calloc != nullptr, 1)) {
    p = g_calloc(n, size);
  } else {
    if (size && n > static_cast<std::size_t>(-1) / size) return nullptr;
    p = resolve() ? g_calloc(n, size) : buf_alloc(n * size);
  }
  walk();
  return p;
}

FORWARD_EXPORT void* realloc(void* p, std::size_t n) {
  if (in_buf(p)) return realloc_from_buf(p, n, malloc);
  void* q;
  if (__builtin_expect(g_realloc != nullptr, 1))
    q = g_realloc(p, n);
  else
    q = resolve() ? g_realloc(p, n) : buf_alloc(n);
  walk();
  return q;
}
