// SPDX-License-Identifier: Apache-2.0
// fork: the interposer's locks are held across it (so the child finds its tables consistent)
// and reset in the child; an untraced child turns passive, a traced one (ARENALAB_TRACE_CHILDREN)
// starts its own timeline and sampler thread.
#include <pthread.h>
#include <unistd.h>

#include "session.h"
#include "state.h"

namespace arenalab::preload {

namespace {

void atfork_prepare() {
  profile_atfork_prepare();
  g_mmap_lock.lock();
  g_unwind_arena_lock.lock();
}
void atfork_parent() {
  g_unwind_arena_lock.unlock();
  g_mmap_lock.unlock();
  profile_atfork_parent();
}
void atfork_child() {
  g_unwind_arena_lock.v.store(0);
  g_mmap_lock.v.store(0);
  timeline_atfork_child();
  gauges_atfork_child();
  profile_atfork_child();
  mmap_sites_atfork_child();
  if (!g_session.active) return;
  // Untraced, or forked after the run ended (a daemon left behind by it, whose sampler saw
  // the end or whose run's files say so now): passive.
  if (!g_session.trace_children || run_over()) {
    // Passive: the hooks forward, nothing is written; the parent's data stay intact.
    g_flags.store(0, std::memory_order_relaxed);
    publish_passive();
    g_session.active = false;
    return;
  }
  // Traced child: its own timeline.<pid>.jsonl and heap.<pid>.<seq>.heap; the sampler thread
  // did not survive fork.
  g_session.owner_pid = getpid();
  profile_traced_child();
  g_flags.store(hook_flags(g_session.mode_flags & ~kFull), std::memory_order_relaxed);
  tables_published();
  // Stats mode in this library: g_flags is 0 for good, as in a passive process.
  if (g_flags.load(std::memory_order_relaxed) == 0)
    publish_passive();
  else
    fast_publish();
  g_session.mode_flags &= ~kFull;
  if (timeline_open(true)) {
    timeline_write_header();
    if (timeline_publish()) sampler_start();
  }
}

}  // namespace

void install_fork_handlers() { pthread_atfork(atfork_prepare, atfork_parent, atfork_child); }

}  // namespace arenalab::preload
