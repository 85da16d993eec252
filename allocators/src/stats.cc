// SPDX-License-Identifier: Apache-2.0
// Dispatch from a backend to its adapter (one file per backend: stats_<backend>.cc).
#include <dlfcn.h>
#include <time.h>

#include "arenalab/allocators/backend.h"
#include "backend_internal.h"

namespace arenalab {

bool read_allocator_stats(Backend backend, AllocatorStats* out) {
  *out = AllocatorStats{};
  switch (backend) {
    case Backend::kGlibc:
      return detail::glibc_stats(out);
    case Backend::kJemalloc:
      return detail::jemalloc_stats(out);
    case Backend::kMimalloc:
      return detail::mimalloc_stats(out);
    case Backend::kTcmalloc:
      return detail::tcmalloc_stats(out);
    case Backend::kTbbmalloc:
      return detail::tbbmalloc_stats(out);
    case Backend::kUnknown:
      break;
  }
  return false;
}

std::uint64_t thread_cpu_ns() {
  timespec ts{};
  if (::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0) return 0;
  return static_cast<std::uint64_t>(ts.tv_sec) * 1000000000ULL +
         static_cast<std::uint64_t>(ts.tv_nsec);
}

bool purge_allocator(Backend backend) {
  switch (backend) {
    case Backend::kGlibc:
      return detail::glibc_purge();
    case Backend::kJemalloc:
      return detail::jemalloc_purge();
    case Backend::kMimalloc:
      return detail::mimalloc_purge();
    case Backend::kTcmalloc:
      return detail::tcmalloc_purge();
    case Backend::kTbbmalloc:
      return detail::tbbmalloc_purge();
    case Backend::kUnknown:
      break;
  }
  return false;
}

}  // namespace arenalab
