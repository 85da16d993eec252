// SPDX-License-Identifier: Apache-2.0
// The rest of the malloc family (calloc, realloc, reallocarray, the aligned entry points,
// malloc_usable_size, free_sized, free_aligned_sized): inline, one body per exported entry
// point in entry_points.cc. Each forwards to the next definition and accounts the block (Hook).
#pragma once

#include <errno.h>

#include <cstddef>
#include <cstring>

#include "accounting.h"
#include "bootstrap.h"
#include "resolve.h"
#include "state.h"

#pragma GCC visibility push(hidden)

namespace arenalab::preload {
// Internal linkage: this header is entry_points.cc's alone, and GCC inlines internal functions
// by the same rules as when the hooks were one file (an external inline template is not
// inlined into the exported operator new, for one).
namespace {

__attribute__((always_inline)) inline void* hook_calloc(size_t n, size_t size) {
  if (__builtin_expect(!ready(), 0)) {
    if (size && n > static_cast<size_t>(-1) / size) return nullptr;
    return bootstrap_alloc(n * size, 16);
  }
  Hook h;
  if (!h.active) return g_real.calloc(n, size);
  if (__builtin_expect(h.prev == kUnwinding, 0))  // inside our unwinder: see unwind_alloc
    if (void* q = unwind_calloc(n, size)) return q;
  void* p = g_real.calloc(n, size);
  if (p) on_alloc(h.t, h.flags, p, n * size);
  return p;
}

// realloc semantics shared by realloc and reallocarray: the old block's free noted before the
// call (its address may be reused by another thread at once) and its usable size read then; the
// count changes once, after the call, by the difference (new block in, old out); a failed
// realloc leaves the old block live (counted as it was), realloc(p, 0) that frees it takes it out.
inline void* realloc_impl(void* p, size_t n, size_t count, bool array) {
  if (p && in_bootstrap(p)) {  // a bootstrap block moves to the real allocator
    size_t total = n;
    if (array) {
      if (count && n > static_cast<size_t>(-1) / count) {
        errno = ENOMEM;
        return nullptr;
      }
      total = n * count;
    }
    void* q = ::malloc(total);  // the exported hook: counted
    if (q) {
      std::memcpy(q, p, bootstrap_size(p) < total ? bootstrap_size(p) : total);
      release_static(p);
    }
    return q;
  }
  // n * count overflowing: reallocarray fails (ENOMEM) and the old block stays live; the size
  // is then only the sample countdown's weight, saturated.
  size_t total = n;
  const bool overflow = array && __builtin_mul_overflow(n, count, &total);
  if (overflow) total = static_cast<size_t>(-1);
  if (__builtin_expect(!ready(), 0)) {
    if (overflow) {
      errno = ENOMEM;
      return nullptr;
    }
    return bootstrap_alloc(total, 16);
  }
  Hook h;
  if (!h.active) return array ? g_real.reallocarray(p, n, count) : g_real.realloc(p, n);
  const long long old_bytes = p ? static_cast<long long>(on_realloc_old(h.t, h.flags, p)) : 0;
  const long long old_allocs = p ? 1 : 0;
  void* q = array ? g_real.reallocarray(p, n, count) : g_real.realloc(p, n);
  if (q) {
    on_alloc(h.t, h.flags, q, total, false, old_bytes, old_allocs);
  } else if (p && (total != 0 || overflow)) {
    // Failed: the old block is still live (realloc(p, 0) alone frees it). errno is the
    // allocator's: accounting must not change it.
    const int saved_errno = errno;
    on_alloc(h.t, h.flags, p, total, false, old_bytes, old_allocs);
    errno = saved_errno;
  } else if (p && (h.flags & kCount)) {
    slot_add(h.t, -old_bytes, -old_allocs);  // realloc(p, 0) freed it
  }
  return q;
}

// Sample mode's realloc once its fast path (hook_realloc) has taken n off a countdown that ran
// out, for a block the filter does not know: what realloc_impl does then, without taking n off
// again. Nested in our code it forwards, as realloc_impl's Hook would.
__attribute__((noinline)) void* realloc_sample_rest(void* p, size_t n) {
  ThreadState& t = t_state;
  if (t.busy != 0) return g_real.realloc(p, n);
  void* q = g_real.realloc(p, n);
  BusyScope busy(t, kWasIdle);
  if (q) {
    sample_alloc(t, q, n);
  } else if (p && n != 0) {
    // Failed: the old block is still live and is the one sampled; errno stays the allocator's.
    const int saved_errno = errno;
    sample_alloc(t, p, n);
    errno = saved_errno;
  }
  return q;
}

// realloc. Sample mode's fast path is malloc's and free's together (malloc_free.cc): a block the
// filter does not know (null included) and bytes that leave the countdown above 0 need nothing
// but the forward: one test of g_flags, the filter bit, the countdown, a tail call (about 15
// instructions; realloc_impl's general path, with its frame and its Hook, about 80). Like
// malloc's, it needs no busy test: a nested call forwards the same way.
__attribute__((always_inline)) inline void* hook_realloc(void* p, size_t n) {
  const unsigned f = g_flags.load(std::memory_order_acquire);
  if (__builtin_expect(f == (kModeSample | kDirect) && !sample_maybe_tracked(p), 1)) {
    if (__builtin_expect(countdown_take(n), 1)) return g_real.realloc(p, n);
    return realloc_sample_rest(p, n);
  }
  return realloc_impl(p, n, 1, false);
}

__attribute__((always_inline)) inline int hook_posix_memalign(void** out, size_t align, size_t n) {
  if (__builtin_expect(!ready(), 0)) {
    *out = bootstrap_alloc(n, align);
    if (*out) return 0;
    return (align & (align - 1)) != 0 || align % sizeof(void*) != 0 ? EINVAL : ENOMEM;
  }
  Hook h;
  if (!h.active) return g_real.posix_memalign(out, align, n);
  int rc = g_real.posix_memalign(out, align, n);
  if (rc == 0 && *out) on_alloc(h.t, h.flags, *out, n, true);
  return rc;
}

// aligned_alloc, memalign, valloc and pvalloc: `call` runs the next definition.
template <typename Call>
__attribute__((always_inline)) inline void* aligned_impl(size_t n, size_t align, Call call) {
  if (__builtin_expect(!ready(), 0)) return bootstrap_alloc(n, align);
  Hook h;
  if (!h.active) return call();
  void* p = call();
  if (p) on_alloc(h.t, h.flags, p, n, true);
  return p;
}

__attribute__((always_inline)) inline void* hook_aligned_alloc(size_t align, size_t n) {
  return aligned_impl(n, align, [=] { return g_real.aligned_alloc(align, n); });
}
__attribute__((always_inline)) inline void* hook_memalign(size_t align, size_t n) {
  return aligned_impl(n, align, [=] { return g_real.memalign(align, n); });
}
__attribute__((always_inline)) inline void* hook_valloc(size_t n) {
  return aligned_impl(n, 4096, [=] { return g_real.valloc(n); });
}
__attribute__((always_inline)) inline void* hook_pvalloc(size_t n) {
  return aligned_impl(n, 4096, [=] { return g_real.pvalloc(n); });
}

__attribute__((always_inline)) inline size_t hook_malloc_usable_size(void* p) {
  if (!p) return 0;
  if (in_bootstrap(p)) return bootstrap_size(p);
  if (!ready() || !g_real.malloc_usable_size) return 0;
  return g_real.malloc_usable_size(p);
}

// C23 free_sized / free_aligned_sized: forwarded when the next object has them, else free().
__attribute__((always_inline)) inline void hook_free_sized(void* p, size_t n) {
  if (!p || free_static(p) || !ready()) return;
  Hook h;
  if (h.active) on_free(h.t, h.flags, p);
  if (g_real.free_sized)
    g_real.free_sized(p, n);
  else
    g_real.free(p);
}

__attribute__((always_inline)) inline void hook_free_aligned_sized(void* p, size_t align,
                                                                   size_t n) {
  if (!p || free_static(p) || !ready()) return;
  Hook h;
  if (h.active) on_free(h.t, h.flags, p);
  if (g_real.free_aligned_sized)
    g_real.free_aligned_sized(p, align, n);
  else
    g_real.free(p);
}

}  // namespace
}  // namespace arenalab::preload

#pragma GCC visibility pop
