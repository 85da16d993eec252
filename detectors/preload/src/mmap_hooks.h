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

// The break moved by the program itself (sbrk/brk called from outside the allocator's text):
// memory it takes from the kernel outside malloc, as an anonymous mapping is, and counted with
// them (mmap_bytes), so that a program growing its break reads as its own memory, not as pages
// of the allocator becoming resident (under mimalloc, whose 32 MiB committed at start covered
// it: retention). glibc's malloc moves the break through its internal __sbrk, never through
// these entry points; an allocator that calls sbrk (gperftools' SbrkSysAllocator) is told apart
// by its caller address like its mmaps. Before the next definitions are resolved, glibc's
// exported __sbrk serves both (brk as a move of the break by the difference, which is what
// glibc's sbrk does).
extern "C" __attribute__((visibility("default"))) void* __sbrk(intptr_t);

inline void note_break_move(char* old_end, char* new_end) {
  BusyScope busy(t_state, kWasIdle);
  if (new_end > old_end)
    mmap_note_map(old_end, static_cast<size_t>(new_end - old_end), PROT_READ | PROT_WRITE);
  else if (new_end < old_end)
    mmap_note_unmap(new_end, static_cast<size_t>(old_end - new_end));
}

inline void* hook_sbrk(const void* caller, intptr_t incr) {
  if (!ready()) return __sbrk(incr);
  void* old = (g_real.sbrk ? g_real.sbrk : __sbrk)(incr);
  if (old != reinterpret_cast<void*>(-1) && incr != 0 && tracks_mmap(caller))
    note_break_move(static_cast<char*>(old), static_cast<char*>(old) + incr);
  return old;
}

inline int hook_brk(const void* caller, void* addr) {
  if (!ready() || !g_real.brk) {
    char* cur = static_cast<char*>(__sbrk(0));
    return __sbrk(static_cast<char*>(addr) - cur) == reinterpret_cast<void*>(-1) ? -1 : 0;
  }
  const bool track = tracks_mmap(caller);
  char* old = track ? static_cast<char*>((g_real.sbrk ? g_real.sbrk : __sbrk)(0)) : nullptr;
  const int rc = g_real.brk(addr);
  if (rc == 0 && track) note_break_move(old, static_cast<char*>(addr));
  return rc;
}

}  // namespace
}  // namespace arenalab::preload

#pragma GCC visibility pop
