// SPDX-License-Identifier: Apache-2.0
// The process-level hooks, inline for entry_points.cc: dlopen (RTLD_DEEPBIND bypasses us).
#pragma once

#include <dlfcn.h>

#include "session.h"
#include "state.h"

#pragma GCC visibility push(hidden)

namespace arenalab::preload {
// Internal linkage: this header is entry_points.cc's alone, and GCC inlines internal functions
// by the same rules as when the hooks were one file (an external inline template is not
// inlined into the exported operator new, for one).
namespace {

// dlopen with RTLD_DEEPBIND: the library binds malloc to its own dependencies' (libc's)
// definition ahead of ours, so its allocations bypass the interposer. Noted in
// <out_dir>/preload-warnings.txt (run.json's warnings), then forwarded as a tail call so
// glibc still sees the program as the caller (its RUNPATH and $ORIGIN apply).
inline void* hook_dlopen(const char* file, int flags) {
  static void* (*real)(const char*, int) = nullptr;
  if (!real) real = reinterpret_cast<void* (*)(const char*, int)>(dlsym(RTLD_NEXT, "dlopen"));
  if ((flags & RTLD_DEEPBIND) && g_session.active && kHooksAllocation)
    note_warning("target bypassed the interposer: dlopen(", file ? file : "NULL",
                 ", RTLD_DEEPBIND): that library's malloc calls are not seen");
  return real(file, flags);
}

}  // namespace
}  // namespace arenalab::preload

#pragma GCC visibility pop
