// SPDX-License-Identifier: Apache-2.0
// libarenalab_forward.so: the floor of any LD_PRELOAD interposer, for scripts/bench-overhead.
// Its malloc family only forwards to the next definition (a preloaded allocator, else glibc):
// no flag, no counter, a tail call each. What bm_overhead costs under it is what the extra call
// layer alone costs in front of that allocator; arenalab's count and sample modes add their
// work on top of it. A benchmark tool, not a detector: it records nothing.
//
// dlsym may allocate while the next definitions are resolved (the first call): those requests
// are served from a static buffer, whose blocks are never passed to the allocator.
#include "forward_common.h"

namespace {

using namespace arenalab::bench_forward;

MallocFn g_malloc = nullptr;
FreeFn g_free = nullptr;
CallocFn g_calloc = nullptr;
ReallocFn g_realloc = nullptr;

bool resolve() {
  return arenalab::bench_forward::resolve([](const Next& next) {
    g_malloc = next.malloc;
    g_free = next.free;
    g_calloc = next.calloc;
    g_realloc = next.realloc;
  });
}

}  // namespace

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
  if (in_buf(p)) return realloc_from_buf(p, n, malloc);
  if (__builtin_expect(g_realloc != nullptr, 1)) return g_realloc(p, n);
  return resolve() ? g_realloc(p, n) : buf_alloc(n);
}
