// SPDX-License-Identifier: Apache-2.0
// mimalloc adapter: mi_process_info's committed bytes (release builds keep no byte counts of
// live blocks, so `allocated` stays unknown); mi_collect(true) purges.
#include "backend_internal.h"

namespace arenalab::detail {

bool mimalloc_stats(AllocatorStats* out) {
  using ProcessInfoFn = void (*)(std::size_t*, std::size_t*, std::size_t*, std::size_t*,
                                 std::size_t*, std::size_t*, std::size_t*, std::size_t*);
  auto info = lookup<ProcessInfoFn>("mi_process_info");
  if (!info) return false;
  std::size_t elapsed = 0, user = 0, sys = 0, rss = 0, peak_rss = 0, commit = 0, peak_commit = 0,
              faults = 0;
  info(&elapsed, &user, &sys, &rss, &peak_rss, &commit, &peak_commit, &faults);
  out->mapped = commit;  // memory mimalloc has committed from the OS
  return true;
}

bool mimalloc_purge() {
  using CollectFn = void (*)(bool);
  auto collect = lookup<CollectFn>("mi_collect");
  if (!collect) return false;
  collect(true);
  return true;
}

}  // namespace arenalab::detail
