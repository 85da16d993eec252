// SPDX-License-Identifier: Apache-2.0
// Resolution of the next definitions (resolve.h), generated from the list in hooked_symbols.h,
// and the entry points an allocator lacks, rebuilt on its own (fix_foreign).
#include "resolve.h"

#include <dlfcn.h>
#include <errno.h>
#include <sched.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>

#include "arenalab/allocators/backend.h"
#include "arenalab/preload/protocol.h"

namespace arenalab::preload {

NewFns g_new;
bool g_glibc_layout = false;
std::atomic<int> g_resolve_state{kUnresolved};

namespace {

template <typename F>
void next(F& fn, const char* name) {
  fn = reinterpret_cast<F>(dlsym(RTLD_NEXT, name));
}

void resolve_new() {
#define ARENALAB_NEXT_NEW_NEXT(name) next(g_new.name, #name);
#define ARENALAB_NEXT_NEW_SAME(name)
#define ARENALAB_NEXT_NEW(name, ret, params, kind) ARENALAB_NEXT_NEW_##kind(name)
  ARENALAB_CXX_HOOKS(ARENALAB_NEXT_NEW)
#undef ARENALAB_NEXT_NEW
#undef ARENALAB_NEXT_NEW_SAME
#undef ARENALAB_NEXT_NEW_NEXT
}

// An allocator that lacks some entry point (jemalloc 5.3 has no pvalloc or reallocarray)
// leaves glibc's as the next definition, and glibc's returns glibc blocks the allocator's free
// cannot take (the bare program crashes). Such entry points are rebuilt on the allocator's
// own realloc / memalign instead.
const void* object_of(void* fn) { return object_start(fn); }
void* emulated_reallocarray(void* p, size_t n, size_t size) {
  if (size && n > static_cast<size_t>(-1) / size) {
    errno = ENOMEM;
    return nullptr;
  }
  return g_real.realloc(p, n * size);
}
// As glibc's (malloc/malloc.c, pvalloc and valloc): n rounded up to whole pages without
// overflowing (a request within a page of SIZE_MAX fails), and ENOMEM on failure whatever the
// allocator's memalign leaves in errno.
void* emulated_pvalloc(size_t n) {
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  if (n > SIZE_MAX - page + 1) {
    errno = ENOMEM;
    return nullptr;
  }
  void* p = g_real.memalign(page, n ? (n + page - 1) & ~(page - 1) : page);
  if (!p) errno = ENOMEM;
  return p;
}
void* emulated_valloc(size_t n) {
  void* p = g_real.memalign(static_cast<size_t>(sysconf(_SC_PAGESIZE)), n);
  if (!p) errno = ENOMEM;
  return p;
}
void fix_foreign(RealFns& r) {
  const void* home = object_of(reinterpret_cast<void*>(r.malloc));
  auto foreign = [&](auto fn) { return object_of(reinterpret_cast<void*>(fn)) != home; };
  if (!home || !r.realloc || !r.memalign || foreign(r.realloc) || foreign(r.memalign)) return;
  if (!r.reallocarray || foreign(r.reallocarray)) r.reallocarray = emulated_reallocarray;
  if (!r.pvalloc || foreign(r.pvalloc)) r.pvalloc = emulated_pvalloc;
  if (!r.valloc || foreign(r.valloc)) r.valloc = emulated_valloc;
}

// Count from the very first allocation, not only from our constructor on, so frees of blocks
// allocated during start-up (libc, ld.so, other constructors) balance. The constructor switches
// back to passive if this process is not the target.
unsigned early_flags() {
  namespace protocol = preload::protocol;
  protocol::Mode mode = protocol::Mode::kStats;
  if (!env_value(protocol::kEnvOutDir) ||
      !protocol::parse_mode(env_value(protocol::kEnvMode), &mode))
    return 0;
  return (mode == protocol::Mode::kCount || mode == protocol::Mode::kFull) ? unsigned{kCount} : 0u;
}

}  // namespace

void resolve_slow() {
  int expected = kUnresolved;
  if (g_resolve_state.compare_exchange_strong(expected, kResolving)) {
    {
      BusyScope busy(t_state);
      RealFns r{};
#define ARENALAB_NEXT(name, ret, params) next(r.name, #name);
      ARENALAB_LIBC_HOOKS(ARENALAB_NEXT)
#undef ARENALAB_NEXT
      fix_foreign(r);
      {
        void* libc_marker = dlsym(RTLD_NEXT, "gnu_get_libc_version");
        const void* home = object_of(reinterpret_cast<void*>(r.malloc));
        g_glibc_layout = home && libc_marker && object_of(libc_marker) == home &&
                         object_of(reinterpret_cast<void*>(r.malloc_usable_size)) == home;
      }
      g_real = r;
      resolve_new();
      if (const unsigned f = early_flags()) g_flags.store(f, std::memory_order_relaxed);
    }
    g_resolve_state.store(kResolved, std::memory_order_release);
    if (g_passive.load(std::memory_order_relaxed)) fast_publish();  // decided before resolving
    return;
  }
  // Another thread resolves; this one waits (never the resolving thread: it is `busy` and
  // served from the bootstrap arena).
  while (g_resolve_state.load(std::memory_order_acquire) != kResolved) sched_yield();
}

void ensure_resolved() { ready(); }

}  // namespace arenalab::preload
