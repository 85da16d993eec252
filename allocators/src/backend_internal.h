// SPDX-License-Identifier: Apache-2.0
// Private: function types of the backends' C interfaces, looked up with dlsym, and the
// per-backend adapters behind read_allocator_stats / purge_allocator.
#pragma once

#include <dlfcn.h>

#include <cstddef>

#include "arenalab/allocators/backend.h"

namespace arenalab::detail {

bool glibc_stats(AllocatorStats* out);
bool glibc_purge();
bool jemalloc_stats(AllocatorStats* out);
bool jemalloc_purge();
bool mimalloc_stats(AllocatorStats* out);
bool mimalloc_purge();
bool tcmalloc_stats(AllocatorStats* out);
bool tcmalloc_purge();
bool tbbmalloc_stats(AllocatorStats* out);
bool tbbmalloc_purge();

// dlsym(RTLD_DEFAULT, name) cast to F.
template <typename F>
F lookup(const char* name) {
  return reinterpret_cast<F>(dlsym(RTLD_DEFAULT, name));
}

}  // namespace arenalab::detail
