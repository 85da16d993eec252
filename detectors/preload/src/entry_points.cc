// SPDX-License-Identifier: Apache-2.0
// libarenalab_preload.so's exported entry points (hooked_symbols.h lists them; the version
// script is generated from that list): each is one forward to its hook, but malloc and free
// (malloc_free.cc). The hooks are inline (alloc_hooks.h, new_delete.h, mmap_hooks.h,
// process_hooks.h), so every entry point compiles to its hook's body with no call in between.
//
// Reentrancy: t_state.busy (initial-exec TLS, BusyScope) is set while a hook runs; anything
// called from inside (libstdc++'s operator new calling malloc, dlsym, the unwinder) goes
// straight through. While the entry points are being resolved, allocations (dlsym's calloc)
// are served from a static bootstrap arena and never given to the allocator.
#include <stdarg.h>
#include <sys/mman.h>

#include "alloc_hooks.h"
#include "hooked_symbols.h"
#include "mmap_hooks.h"
#include "new_delete.h"
#include "process_hooks.h"

namespace arenalab::preload {
const bool kHooksAllocation = true;
}  // namespace arenalab::preload

using namespace arenalab::preload;

// ---- the malloc family ----
// malloc and free: in malloc_free.cc (see there why they are not forwards).
ARENALAB_EXPORT void* calloc(size_t n, size_t size) { return hook_calloc(n, size); }
ARENALAB_EXPORT void* realloc(void* p, size_t n) { return hook_realloc(p, n); }
ARENALAB_EXPORT void* reallocarray(void* p, size_t n, size_t size) {
  return realloc_impl(p, n, size, true);
}
ARENALAB_EXPORT int posix_memalign(void** out, size_t align, size_t n) {
  return hook_posix_memalign(out, align, n);
}
ARENALAB_EXPORT void* aligned_alloc(size_t align, size_t n) { return hook_aligned_alloc(align, n); }
ARENALAB_EXPORT void* memalign(size_t align, size_t n) { return hook_memalign(align, n); }
ARENALAB_EXPORT void* valloc(size_t n) { return hook_valloc(n); }
ARENALAB_EXPORT void* pvalloc(size_t n) { return hook_pvalloc(n); }
ARENALAB_EXPORT size_t malloc_usable_size(void* p) { return hook_malloc_usable_size(p); }
ARENALAB_EXPORT void free_sized(void* p, size_t n) { hook_free_sized(p, n); }
ARENALAB_EXPORT void free_aligned_sized(void* p, size_t align, size_t n) {
  hook_free_aligned_sized(p, align, n);
}

// ---- the mmap family (the caller's address tells the allocator's own calls apart) ----
ARENALAB_EXPORT void* mmap(void* addr, size_t len, int prot, int flags, int fd, off_t off) {
  return hook_mmap(false, __builtin_return_address(0), addr, len, prot, flags, fd, off);
}
ARENALAB_EXPORT void* mmap64(void* addr, size_t len, int prot, int flags, int fd, off_t off) {
  return hook_mmap(true, __builtin_return_address(0), addr, len, prot, flags, fd, off);
}
ARENALAB_EXPORT int munmap(void* addr, size_t len) {
  return hook_munmap(__builtin_return_address(0), addr, len);
}
ARENALAB_EXPORT void* mremap(void* old, size_t old_len, size_t new_len, int flags, ...) {
  void* new_addr = nullptr;  // the fifth argument exists only with MREMAP_FIXED
  if (flags & MREMAP_FIXED) {
    va_list ap;
    va_start(ap, flags);
    new_addr = va_arg(ap, void*);
    va_end(ap);
  }
  return hook_mremap(__builtin_return_address(0), old, old_len, new_len, flags, new_addr);
}
ARENALAB_EXPORT int mprotect(void* addr, size_t len, int prot) {
  return hook_mprotect(__builtin_return_address(0), addr, len, prot);
}
// The program's own break: counted with its anonymous mappings (mmap_hooks.h).
ARENALAB_EXPORT void* sbrk(intptr_t incr) { return hook_sbrk(__builtin_return_address(0), incr); }
ARENALAB_EXPORT int brk(void* addr) { return hook_brk(__builtin_return_address(0), addr); }

// ---- operator new ----
// The nothrow variants: nested in a hook (libstdc++'s nothrow new calls the throwing one inside
// a try block), straight to the next nothrow definition.
ARENALAB_EXPORT void* _Znwm(size_t n) {
  return new_impl(n, g_new._ZnwmRKSt9nothrow_t, g_new._Znwm);
}
ARENALAB_EXPORT void* _Znam(size_t n) {
  return new_impl(n, g_new._ZnamRKSt9nothrow_t, g_new._Znam);
}
ARENALAB_EXPORT void* _ZnwmRKSt9nothrow_t(size_t n, const std::nothrow_t&) noexcept {
  return new_nothrow_impl(n, g_new._ZnwmRKSt9nothrow_t);
}
ARENALAB_EXPORT void* _ZnamRKSt9nothrow_t(size_t n, const std::nothrow_t&) noexcept {
  return new_nothrow_impl(n, g_new._ZnamRKSt9nothrow_t);
}
ARENALAB_EXPORT void* _ZnwmSt11align_val_t(size_t n, std::align_val_t al) {
  return new_al_impl(n, al, g_new._ZnwmSt11align_val_tRKSt9nothrow_t, g_new._ZnwmSt11align_val_t);
}
ARENALAB_EXPORT void* _ZnamSt11align_val_t(size_t n, std::align_val_t al) {
  return new_al_impl(n, al, g_new._ZnamSt11align_val_tRKSt9nothrow_t, g_new._ZnamSt11align_val_t);
}
ARENALAB_EXPORT void* _ZnwmSt11align_val_tRKSt9nothrow_t(size_t n, std::align_val_t al,
                                                         const std::nothrow_t&) noexcept {
  return new_al_nothrow_impl(n, al, g_new._ZnwmSt11align_val_tRKSt9nothrow_t);
}
ARENALAB_EXPORT void* _ZnamSt11align_val_tRKSt9nothrow_t(size_t n, std::align_val_t al,
                                                         const std::nothrow_t&) noexcept {
  return new_al_nothrow_impl(n, al, g_new._ZnamSt11align_val_tRKSt9nothrow_t);
}

// ---- operator delete: every variant forwards to the unsized one of the next object (the size
// and the nothrow tag are only hints; all allocators accept the unsized form for any block) ----
ARENALAB_EXPORT void _ZdlPv(void* p) noexcept { delete_impl(p, g_new._ZdlPv); }
ARENALAB_EXPORT void _ZdaPv(void* p) noexcept { delete_impl(p, g_new._ZdaPv); }
ARENALAB_EXPORT void _ZdlPvm(void* p, size_t) noexcept { delete_impl(p, g_new._ZdlPv); }
ARENALAB_EXPORT void _ZdaPvm(void* p, size_t) noexcept { delete_impl(p, g_new._ZdaPv); }
ARENALAB_EXPORT void _ZdlPvRKSt9nothrow_t(void* p, const std::nothrow_t&) noexcept {
  delete_impl(p, g_new._ZdlPv);
}
ARENALAB_EXPORT void _ZdaPvRKSt9nothrow_t(void* p, const std::nothrow_t&) noexcept {
  delete_impl(p, g_new._ZdaPv);
}
ARENALAB_EXPORT void _ZdlPvSt11align_val_t(void* p, std::align_val_t al) noexcept {
  delete_al_impl(p, al, g_new._ZdlPvSt11align_val_t);
}
ARENALAB_EXPORT void _ZdaPvSt11align_val_t(void* p, std::align_val_t al) noexcept {
  delete_al_impl(p, al, g_new._ZdaPvSt11align_val_t);
}
ARENALAB_EXPORT void _ZdlPvmSt11align_val_t(void* p, size_t, std::align_val_t al) noexcept {
  delete_al_impl(p, al, g_new._ZdlPvSt11align_val_t);
}
ARENALAB_EXPORT void _ZdaPvmSt11align_val_t(void* p, size_t, std::align_val_t al) noexcept {
  delete_al_impl(p, al, g_new._ZdaPvSt11align_val_t);
}
ARENALAB_EXPORT void _ZdlPvSt11align_val_tRKSt9nothrow_t(void* p, std::align_val_t al,
                                                         const std::nothrow_t&) noexcept {
  delete_al_impl(p, al, g_new._ZdlPvSt11align_val_t);
}
ARENALAB_EXPORT void _ZdaPvSt11align_val_tRKSt9nothrow_t(void* p, std::align_val_t al,
                                                         const std::nothrow_t&) noexcept {
  delete_al_impl(p, al, g_new._ZdaPvSt11align_val_t);
}

// ---- the loader ----
ARENALAB_EXPORT void* dlopen(const char* file, int flags) { return hook_dlopen(file, flags); }
