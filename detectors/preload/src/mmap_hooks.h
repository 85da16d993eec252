// SPDX-License-Identifier: Apache-2.0
// The mmap family's hooks (and mprotect), inline (entry_points.cc): anonymous mappings the program
// makes itself, counted in the mmap table. Not the allocator's: those come from its text (the
// caller address, from_allocator) or happen inside a hook, with busy set.
#pragma once

#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstddef>

#include "allocator_text.h"
#include "resolve.h"
#include "state.h"

#pragma GCC visibility push(hidden)

namespace arenalab::preload {
// Internal linkage: this header is entry_points.cc's alone, and GCC inlines internal functions
// by the same rules as when the hooks were one file (an external inline template is not
// inlined into the exported operator new, for one).
namespace {

inline bool tracks_mmap(const void* caller) {
  return (g_flags.load(std::memory_order_relaxed) & kMmap) && t_state.busy == 0 &&
         !from_allocator(caller);
}

// `is64`: mmap64 (its next definition, else mmap's); `caller`: the exported entry point's
// return address.
inline void* hook_mmap(bool is64, const void* caller, void* addr, size_t len, int prot, int flags,
                       int fd, off_t off) {
  if (!ready()) return reinterpret_cast<void*>(syscall(SYS_mmap, addr, len, prot, flags, fd, off));
  void* (*fn)(void*, size_t, int, int, int, off_t) = is64 ? g_real.mmap64 : g_real.mmap;
  if (!fn) fn = g_real.mmap;
  void* p = fn(addr, len, prot, flags, fd, off);
  if (p != MAP_FAILED && (flags & MAP_ANONYMOUS) && tracks_mmap(caller)) {
    BusyScope busy(t_state, kWasIdle);
    if (flags & MAP_FIXED) mmap_note_unmap(p, len);  // replaces what was there
    mmap_note_map(p, len, prot);
  }
  return p;
}

inline int hook_munmap(const void* caller, void* addr, size_t len) {
  if (!ready()) return static_cast<int>(syscall(SYS_munmap, addr, len));
  const int rc = g_real.munmap(addr, len);
  if (rc == 0 && tracks_mmap(caller)) {
    BusyScope busy(t_state, kWasIdle);
    mmap_note_unmap(addr, len);
  }
  return rc;
}

// `new_addr`: mremap's fifth argument, read by the entry point when MREMAP_FIXED is set.
inline void* hook_mremap(const void* caller, void* old, size_t old_len, size_t new_len, int flags,
                         void* new_addr) {
  if (!ready())
    return reinterpret_cast<void*>(syscall(SYS_mremap, old, old_len, new_len, flags, new_addr));
  void* p = g_real.mremap(old, old_len, new_len, flags, new_addr);
  if (p != MAP_FAILED && tracks_mmap(caller)) {
    BusyScope busy(t_state, kWasIdle);
    // Only a mapping we counted moves: the table knows whether `old` was the program's. The
    // moved range keeps its protection (a reservation stays one).
    bool reserved = false;
    if (mmap_note_unmap(old, old_len, &reserved) > 0)
      mmap_note_map(p, new_len, reserved ? PROT_NONE : PROT_READ);
  }
  return p;
}

// Counted mappings made accessible or PROT_NONE (a reservation committed or given back).
inline int hook_mprotect(const void* caller, void* addr, size_t len, int prot) {
  if (!ready()) return static_cast<int>(syscall(SYS_mprotect, addr, len, prot));
  const int rc = g_real.mprotect(addr, len, prot);
  if (rc == 0 && tracks_mmap(caller)) {
    BusyScope busy(t_state, kWasIdle);
    mmap_note_protect(addr, len, prot);
  }
  return rc;
}

}  // namespace
}  // namespace arenalab::preload

#pragma GCC visibility pop
