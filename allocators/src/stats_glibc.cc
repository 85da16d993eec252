// SPDX-License-Identifier: Apache-2.0
// glibc adapter: mallinfo2(3) sums every arena (glibc >= 2.33); malloc_trim(3) purges.
#include <malloc.h>

#include "backend_internal.h"

namespace arenalab::detail {

bool glibc_stats(AllocatorStats* out) {
  using Mallinfo2Fn = struct mallinfo2 (*)();
  // Resolved by name so a process whose malloc is another allocator does not call glibc's
  // accounting by accident; the caller dispatches on the identified backend.
  auto mallinfo2_fn = lookup<Mallinfo2Fn>("mallinfo2");
  if (!mallinfo2_fn) return false;
  const struct mallinfo2 mi = mallinfo2_fn();
  out->allocated = mi.uordblks + mi.hblkhd;  // in-use chunks in arenas + mmapped chunks
  out->mapped = mi.arena + mi.hblkhd;        // arena space from sbrk/mmap'd heaps + mmapped chunks
  out->retained = mi.fordblks;               // free chunks the arenas keep
  return true;
}

bool glibc_purge() {
  using TrimFn = int (*)(size_t);
  auto trim = lookup<TrimFn>("malloc_trim");
  if (!trim) return false;
  trim(0);
  return true;
}

}  // namespace arenalab::detail
