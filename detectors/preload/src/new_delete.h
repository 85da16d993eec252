// SPDX-License-Identifier: Apache-2.0
// C++ operator new and delete, inline: one body per exported variant in entry_points.cc.
#pragma once

#include <cstddef>
#include <cstdint>
#include <new>

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

// ---- operator new / delete ----
// The allocators define their own operator new (which does not call malloc), libstdc++'s
// calls malloc: either way the next definition runs with `busy` set and the block is accounted
// here once. The nothrow variant is called first so no exception crosses this frame; only if
// it fails is the throwing variant called (outside the busy scope) to get the standard
// new_handler / std::bad_alloc behaviour.
template <typename NoThrow, typename Throw>
inline void* new_impl(size_t n, NoThrow nothrow_fn, Throw throw_fn) {
  if (!ready()) return bootstrap_alloc(n, 16);
  // Nested (libstdc++'s nothrow new calls the throwing one inside a try block): forward.
  ThreadState& t = t_state;
  if (t.busy) return throw_fn(n);
  // busy is set even in stats mode, so that nested call takes the line above.
  const unsigned flags = g_flags.load(std::memory_order_relaxed);
  const long long countdown = t.countdown;
  void* p;
  {
    BusyScope busy(t, kWasIdle);
    p = nothrow_fn ? nothrow_fn(n, std::nothrow) : g_real.malloc(n);
    t.countdown = countdown;  // libstdc++'s new calls malloc, whose fast path took n off already
    if (p && flags) on_alloc(t, flags, p, n);
  }
  if (!p) p = throw_fn(n);  // throws std::bad_alloc, or the new_handler made room
  return p;
}

template <typename NoThrow, typename Throw>
inline void* new_al_impl(size_t n, std::align_val_t al, NoThrow nothrow_fn, Throw throw_fn) {
  if (!ready()) return bootstrap_alloc(n, static_cast<size_t>(al));
  ThreadState& t = t_state;
  if (t.busy) return throw_fn(n, al);
  const unsigned flags = g_flags.load(std::memory_order_relaxed);
  const long long countdown = t.countdown;
  void* p;
  {
    BusyScope busy(t, kWasIdle);
    const size_t align = static_cast<size_t>(al);
    // aligned_alloc wants a multiple of the alignment: rounded up unless that wraps (then
    // nothing fits: the throwing variant below reports it).
    if (nothrow_fn)
      p = nothrow_fn(n, al, std::nothrow);
    else
      p = n <= SIZE_MAX - (align - 1) ? g_real.aligned_alloc(align, (n + align - 1) & ~(align - 1))
                                      : nullptr;
    t.countdown = countdown;  // as in new_impl
    if (p && flags) on_alloc(t, flags, p, n, true);
  }
  if (!p) p = throw_fn(n, al);
  return p;
}

// The nothrow news: nested in a hook, straight to the next nothrow definition.
inline void* new_nothrow_impl(size_t n, void* (*nothrow_fn)(size_t, const std::nothrow_t&)) {
  if (t_state.busy && nothrow_fn) return nothrow_fn(n, std::nothrow);
  return new_impl(n, nothrow_fn, [](size_t) -> void* { return nullptr; });
}
inline void* new_al_nothrow_impl(size_t n, std::align_val_t al,
                                 void* (*nothrow_fn)(size_t, std::align_val_t,
                                                     const std::nothrow_t&)) {
  if (t_state.busy && nothrow_fn) return nothrow_fn(n, al, std::nothrow);
  return new_al_impl(n, al, nothrow_fn, [](size_t, std::align_val_t) -> void* { return nullptr; });
}

template <typename Del>
__attribute__((noinline)) void delete_rest(void* p, Del del) {
  const unsigned flags = g_flags.load(std::memory_order_acquire);
  const unsigned f = flags & ~(kDirect | kTable | kHeader);
  ThreadState& t = t_state;
  if (__builtin_expect(
          t.busy == 0 && p && !in_bootstrap(p) && (f == kModeCount || f == kModeSample), 1)) {
    if (f == kModeCount) slot_add(t, -static_cast<long long>(usable_old(t, flags, p)), -1);
    BusyScope busy(t, kWasIdle);
    if (f == kModeSample && __builtin_expect(sample_maybe_tracked(p), 0)) sample_free(p);
    if (del)
      del(p);
    else
      g_real.free(p);
    return;
  }
  if (!p || free_static(p) || !ready()) return;
  Hook h;
  if (h.active) on_free(h.t, h.flags, p);
  if (del)
    del(p);
  else
    g_real.free(p);
}

// Sample mode's operator delete has free's fast path (malloc_free.cc): a block the filter does
// not know (null included) goes to the next operator delete (or free) as a tail call, with no
// frame and no busy mark; a nested call forwards the same way. Everything else: delete_rest.
template <typename Del>
__attribute__((always_inline)) inline void delete_impl(void* p, Del del) {
  if (__builtin_expect(g_flags.load(std::memory_order_acquire) == (kModeSample | kDirect) &&
                           !sample_maybe_tracked(p),
                       1)) {
    if (del) return del(p);
    return g_real.free(p);
  }
  delete_rest(p, del);
}

template <typename Del>
inline void delete_al_impl(void* p, std::align_val_t al, Del del) {
  if (!p || free_static(p) || !ready()) return;
  Hook h;
  if (h.active) on_free(h.t, h.flags, p);
  if (del)
    del(p, al);
  else
    g_real.free(p);
}

}  // namespace
}  // namespace arenalab::preload

#pragma GCC visibility pop
