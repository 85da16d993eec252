// SPDX-License-Identifier: Apache-2.0
// The static arenas (bootstrap.h): the bootstrap arena's bump allocator and the unwinder
// arena's size classes, both in one static array that sample mode's filter marks for good.
#include "bootstrap.h"

#include <errno.h>

#include <atomic>
#include <cstring>

namespace arenalab::preload {

alignas(64) char g_bootstrap[kBootstrapSize + kUnwindArenaSize];
void* g_unwind_free[kUnwindClasses];

namespace {

std::atomic<std::size_t> g_bootstrap_used{0};

// Sample mode's free tests only the filter (state.h): a static block sets its granule's bit
// before anyone can free it, and filter_static keeps sample_free from clearing it.
inline void filter_mark_static(const void* p) {
  const std::size_t i = filter_index(p);
  g_filter_bits[i >> 6].fetch_or(std::uint64_t{1} << (i & 63), std::memory_order_relaxed);
}

}  // namespace

// 16-byte header holding the size, then the block (aligned to `align`). A size or alignment
// beyond the arena, or an alignment that is not a power of two, fails before any arithmetic
// could wrap (a wrapped end would pass the bound and hand out a block for SIZE_MAX).
void* bootstrap_alloc(std::size_t size, std::size_t align) {
  if (size > kBootstrapSize || align > kBootstrapSize || (align & (align - 1)) != 0) {
    errno = align & (align - 1) ? EINVAL : ENOMEM;
    return nullptr;
  }
  if (align < 16) align = 16;
  std::size_t old = g_bootstrap_used.load(std::memory_order_relaxed);
  for (;;) {
    std::size_t start = (old + 16 + align - 1) & ~(align - 1);
    std::size_t end = start + ((size + 15) & ~std::size_t{15});
    if (end > kBootstrapSize) return nullptr;  // bootstrap exhausted: ENOMEM
    if (g_bootstrap_used.compare_exchange_weak(old, end)) {
      std::memcpy(g_bootstrap + start - sizeof(std::size_t), &size, sizeof size);
      filter_mark_static(g_bootstrap + start);
      return g_bootstrap + start;  // static storage: already zero
    }
  }
}

namespace {

// ---- unwinder arena: malloc/calloc made inside our stack unwinder (busy == kUnwinding) ----
// The unwinder's first use in each thread makes glibc allocate libunwind's dynamic TLS block
// (__tls_get_addr -> malloc(16)); glibc frees it only when that thread's cached stack is reused
// by a later pthread_create, outside any hook. Counted as the program's, such blocks outlive
// the threads that made them and their replacements need not have the same usable size (a
// 16-byte request gets a 32- or a 48-byte glibc chunk depending on the arena's free chunks):
// live bytes drifted by 16 B steps with the count balanced. Served from here instead, they are
// never counted and never reach the allocator; their frees, from any thread at any time, come
// back through in_bootstrap(). Size classes 16 B << k (up to 4 KiB), a free list per class, the
// capacity in the bootstrap header (so bootstrap_size() and realloc's bootstrap branch apply).
// Full: nullptr, and the caller takes the allocator (counted, balanced by the later free).
std::size_t g_unwind_used = 0;  // bytes of the arena carved so far (under the lock)

}  // namespace

void* unwind_alloc(std::size_t n) {
  int k = 0;
  while ((std::size_t{16} << k) < n)
    if (++k == kUnwindClasses) return nullptr;
  const std::size_t cap = std::size_t{16} << k;
  g_unwind_arena_lock.lock();
  void* p = g_unwind_free[k];
  if (p) {
    g_unwind_free[k] = *static_cast<void**>(p);
  } else if (g_unwind_used + 16 + cap <= kUnwindArenaSize) {
    p = g_bootstrap + kBootstrapSize + g_unwind_used + 16;
    g_unwind_used += 16 + cap;
    std::memcpy(static_cast<char*>(p) - sizeof cap, &cap, sizeof cap);
  }
  g_unwind_arena_lock.unlock();
  if (p) filter_mark_static(p);
  return p;
}

void* unwind_calloc(std::size_t n, std::size_t size) {
  if (size && n > static_cast<size_t>(-1) / size) return nullptr;
  void* p = unwind_alloc(n * size);
  if (p) std::memset(p, 0, n * size);
  return p;
}

bool filter_static(std::size_t i) {
  const std::size_t first = filter_index(g_bootstrap);
  const std::size_t span =
      (filter_index(g_bootstrap + sizeof g_bootstrap - 1) - first) & (kFilterSize - 1);
  return ((i - first) & (kFilterSize - 1)) <= span;
}

}  // namespace arenalab::preload
