// SPDX-License-Identifier: Apache-2.0
// TBB malloc adapter: tbbmalloc publishes no byte counters, so every stats field stays
// unknown; scalable_allocation_command(TBBMALLOC_CLEAN_ALL_BUFFERS = 0) purges its caches.
#include "backend_internal.h"

namespace arenalab::detail {

bool tbbmalloc_stats(AllocatorStats* out) {
  // Present when the process has tbbmalloc loaded; nothing to report but presence.
  return lookup<void*>("scalable_allocation_command") != nullptr;
}

bool tbbmalloc_purge() {
  using CommandFn = int (*)(int, void*);
  auto command = lookup<CommandFn>("scalable_allocation_command");
  if (!command) return false;
  // TBBMALLOC_OK (0), or TBBMALLOC_NO_EFFECT (4) when nothing was cached: both mean done.
  const int rc = command(/*TBBMALLOC_CLEAN_ALL_BUFFERS*/ 0, nullptr);
  return rc == 0 || rc == 4;
}

}  // namespace arenalab::detail
