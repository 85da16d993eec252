// SPDX-License-Identifier: Apache-2.0
// libarenalab_forward_min.so: the least an LD_PRELOAD interposer's malloc family can do, for
// scripts/bench-overhead --instructions. libarenalab_forward.so (the floor of issue 25's goals)
// tests its function pointers for null on every call; here each pointer starts at a function
// that resolves the next definitions on the first call, so malloc is one indirect jump and free
// the test for the static buffer's blocks (which dlsym may have been served) and one. Nothing a
// forwarder can drop: the lower bound of what the extra call layer costs in instructions.
#include "forward_common.h"

namespace {

using namespace arenalab::bench_forward;

void* first_malloc(std::size_t n);
void first_free(void* p);
void* first_calloc(std::size_t n, std::size_t size);
void* first_realloc(void* p, std::size_t n);

std::atomic<MallocFn> g_malloc{first_malloc};
std::atomic<FreeFn> g_free{first_free};
std::atomic<CallocFn> g_calloc{first_calloc};
std::atomic<ReallocFn> g_realloc{first_realloc};

// True once the next definitions are in the pointers.
bool resolve() {
  return arenalab::bench_forward::resolve([](const Next& next) {
    g_malloc.store(next.malloc, std::memory_order_relaxed);
    g_free.store(next.free, std::memory_order_relaxed);
    g_calloc.store(next.calloc, std::memory_order_relaxed);
    g_realloc.store(next.realloc, std::memory_order_relaxed);
  });
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

FORWARD_EXPORT void* malloc(std::size_t n) { return g_malloc.load(std::memory_order_relaxed)(n); }

FORWARD_EXPORT void free(void* p) {
  if (__builtin_expect(!in_buf(p), 1)) return g_free.load(std::memory_order_relaxed)(p);
}

FORWARD_EXPORT void* calloc(std::size_t n, std::size_t size) {
  return g_calloc.load(std::memory_order_relaxed)(n, size);
}

FORWARD_EXPORT void* realloc(void* p, std::size_t n) {
  if (in_buf(p)) return realloc_from_buf(p, n, malloc);
  return g_realloc.load(std::memory_order_relaxed)(p, n);
}
