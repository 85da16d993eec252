// SPDX-License-Identifier: Apache-2.0
// The one list of the symbols this library defines for the program (memray's hooks.h is the
// model). From it come: the table of next definitions (RealFns, NewFns in resolve.h), their
// resolution with dlsym(RTLD_NEXT) (resolve.cc), the declarations every definition in
// entry_points.cc / api_entry_points.cc must match, and the version scripts (exports.map.in,
// exports_stats.map.in: CMake runs them through the preprocessor). Plain macros only: the
// version scripts include this file as C. exports_test checks that the built libraries define
// every name listed here (a version script names symbols; it does not check they exist).
#pragma once

// X(name, return type, (parameter types)): C entry points of the malloc and mmap families,
// each with a next definition resolved into RealFns::name.
#define ARENALAB_LIBC_HOOKS(X)                            \
  X(malloc, void*, (size_t))                              \
  X(free, void, (void*))                                  \
  X(calloc, void*, (size_t, size_t))                      \
  X(realloc, void*, (void*, size_t))                      \
  X(reallocarray, void*, (void*, size_t, size_t))         \
  X(posix_memalign, int, (void**, size_t, size_t))        \
  X(aligned_alloc, void*, (size_t, size_t))               \
  X(memalign, void*, (size_t, size_t))                    \
  X(valloc, void*, (size_t))                              \
  X(pvalloc, void*, (size_t))                             \
  X(malloc_usable_size, size_t, (void*))                  \
  X(free_sized, void, (void*, size_t))                    \
  X(free_aligned_sized, void, (void*, size_t, size_t))    \
  X(mmap, void*, (void*, size_t, int, int, int, off_t))   \
  X(mmap64, void*, (void*, size_t, int, int, int, off_t)) \
  X(munmap, int, (void*, size_t))                         \
  X(mremap, void*, (void*, size_t, size_t, int, ...))     \
  X(mprotect, int, (void*, size_t, int))                  \
  X(sbrk, void*, (intptr_t))                              \
  X(brk, int, (void*))

// X(mangled name, return type, (parameter types), NEXT or SAME): C++ operator new and delete.
// NEXT: resolved into NewFns::<mangled name>; SAME: a delete variant whose size or nothrow tag
// is only a hint, forwarded to the plain delete of the same kind (every allocator accepts it).
#define ARENALAB_CXX_HOOKS(X)                                                                     \
  X(_Znwm, void*, (size_t), NEXT)                                                                 \
  X(_Znam, void*, (size_t), NEXT)                                                                 \
  X(_ZnwmRKSt9nothrow_t, void*, (size_t, const std::nothrow_t&), NEXT)                            \
  X(_ZnamRKSt9nothrow_t, void*, (size_t, const std::nothrow_t&), NEXT)                            \
  X(_ZnwmSt11align_val_t, void*, (size_t, std::align_val_t), NEXT)                                \
  X(_ZnamSt11align_val_t, void*, (size_t, std::align_val_t), NEXT)                                \
  X(_ZnwmSt11align_val_tRKSt9nothrow_t, void*, (size_t, std::align_val_t, const std::nothrow_t&), \
    NEXT)                                                                                         \
  X(_ZnamSt11align_val_tRKSt9nothrow_t, void*, (size_t, std::align_val_t, const std::nothrow_t&), \
    NEXT)                                                                                         \
  X(_ZdlPv, void, (void*), NEXT)                                                                  \
  X(_ZdaPv, void, (void*), NEXT)                                                                  \
  X(_ZdlPvm, void, (void*, size_t), SAME)                                                         \
  X(_ZdaPvm, void, (void*, size_t), SAME)                                                         \
  X(_ZdlPvRKSt9nothrow_t, void, (void*, const std::nothrow_t&), SAME)                             \
  X(_ZdaPvRKSt9nothrow_t, void, (void*, const std::nothrow_t&), SAME)                             \
  X(_ZdlPvSt11align_val_t, void, (void*, std::align_val_t), NEXT)                                 \
  X(_ZdaPvSt11align_val_t, void, (void*, std::align_val_t), NEXT)                                 \
  X(_ZdlPvmSt11align_val_t, void, (void*, size_t, std::align_val_t), SAME)                        \
  X(_ZdaPvmSt11align_val_t, void, (void*, size_t, std::align_val_t), SAME)                        \
  X(_ZdlPvSt11align_val_tRKSt9nothrow_t, void, (void*, std::align_val_t, const std::nothrow_t&),  \
    SAME)                                                                                         \
  X(_ZdaPvSt11align_val_tRKSt9nothrow_t, void, (void*, std::align_val_t, const std::nothrow_t&),  \
    SAME)

// X(name, return type, (parameter types)): dlopen, watched for RTLD_DEEPBIND (the hooked
// library only: stats mode hooks nothing the program calls).
#define ARENALAB_LOADER_HOOKS(X) X(dlopen, void*, (const char*, int))

// X(name, return type, (parameter types)): what both libraries export: the public API
// (arenalab/gauge.h, the counters query) and the process exits that wait out a timeline append.
#define ARENALAB_COMMON_EXPORTS(X)                   \
  X(arenalab_gauge_set, void, (const char*, double)) \
  X(arenalab_preload_counters, int, (long long*))    \
  X(_exit, void, (int))                              \
  X(_Exit, void, (int))

// ARENALAB_HOOKED_SYMBOLS_LISTS_ONLY: the lists alone (tests/detectors/preload/exports_test.cc,
// which must not declare the operators under their mangled names).
#if defined(__cplusplus) && !defined(ARENALAB_HOOKED_SYMBOLS_LISTS_ONLY)
#include <sys/types.h>

#include <cstddef>
#include <new>

// The declarations every exported definition must match (a definition of another type is a
// compile error here, not a silent second overload).
#define ARENALAB_DECLARE_C(name, ret, params) ret name params;
#define ARENALAB_DECLARE_CXX(name, ret, params, kind) ret name params;
extern "C" {
ARENALAB_LIBC_HOOKS(ARENALAB_DECLARE_C)
ARENALAB_CXX_HOOKS(ARENALAB_DECLARE_CXX)
ARENALAB_LOADER_HOOKS(ARENALAB_DECLARE_C)
ARENALAB_COMMON_EXPORTS(ARENALAB_DECLARE_C)
}
#undef ARENALAB_DECLARE_C
#undef ARENALAB_DECLARE_CXX

// What the exported definitions are marked with (the version script decides what is exported;
// this keeps -fvisibility=hidden from hiding them first).
#define ARENALAB_EXPORT extern "C" __attribute__((visibility("default")))
#endif
