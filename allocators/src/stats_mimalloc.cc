// SPDX-License-Identifier: Apache-2.0
// mimalloc adapter: mi_process_info's committed bytes (release builds keep no byte counts of
// live blocks, so `allocated` stays unknown); the purge is mi_collect(true) with the purge delay
// set to 0 for the call (below).
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

// mi_collect(true) alone frees the calling thread's pages and reclaims (from the main thread)
// the segments of threads that exited, but the free spans in those segments are only scheduled
// for decommit, `decommit_delay` / `purge_delay` ms later (mimalloc 2.0.9 default 25 ms; 2.1
// 10 ms) and only when some thread later allocates or collects. A program whose workers have
// exited then keeps all of it: measured on wl_arena_retention --smoke under mimalloc 2.0.9,
// the purge returned 16 KiB of 92 MiB. With the delay 0 the same collect decommits at once
// (the same run returns 91.3-91.7 MiB). The option's index is 15 in both: mimalloc keeps its option
// enum binary compatible (2.0 `mi_option_decommit_delay` was renamed `mi_option_purge_delay`
// in 2.1 at the same place), and the previous value is put back after the call. Not covered:
// spans freed earlier in a segment the calling thread still owns and uses wait for its next
// allocation there (2.0.9 forces them only for abandoned segments; see README, deferred_release).
bool mimalloc_purge() {
  using CollectFn = void (*)(bool);
  using OptionGetFn = long (*)(int);
  using OptionSetFn = void (*)(int, long);
  constexpr int kPurgeDelayOption = 15;  // mi_option_decommit_delay (2.0) / purge_delay (2.1+)
  auto collect = lookup<CollectFn>("mi_collect");
  if (!collect) return false;
  auto get = lookup<OptionGetFn>("mi_option_get");
  auto set = lookup<OptionSetFn>("mi_option_set");
  if (get && set) {
    const long delay_ms = get(kPurgeDelayOption);
    set(kPurgeDelayOption, 0);
    collect(true);
    set(kPurgeDelayOption, delay_ms);
  } else {
    collect(true);
  }
  return true;
}

}  // namespace arenalab::detail
