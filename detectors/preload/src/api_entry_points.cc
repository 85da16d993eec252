// SPDX-License-Identifier: Apache-2.0
// What both libraries export (ARENALAB_COMMON_EXPORTS in hooked_symbols.h), each a one-line
// forward: the gauge API (arenalab/gauge.h), the counters query, and _exit/_Exit.
#include <sys/syscall.h>
#include <unistd.h>

#define ARENALAB_GAUGE_PROVIDER 1
#include "arenalab/gauge.h"
#include "hooked_symbols.h"
#include "session.h"
#include "state.h"

using namespace arenalab::preload;

// _exit/_Exit end the process with no destructor: quiesce_for_exit waits out a timeline append
// in flight first (timeline_writer.cc).
ARENALAB_EXPORT void _exit(int status) {
  quiesce_for_exit();
  for (;;) syscall(SYS_exit_group, status);
}
ARENALAB_EXPORT void _Exit(int status) noexcept {
  quiesce_for_exit();
  for (;;) syscall(SYS_exit_group, status);
}

// A program publishes a named figure (e.g. the off-heap store's bytes in use); it appears in
// every later sample's "gauges" object. Names longer than 63 bytes are cut; at most 64 gauges.
ARENALAB_EXPORT void arenalab_gauge_set(const char* name, double value) { gauge_set(name, value); }

// For tests and programs that check themselves: the interposer's exact counters. Returns the
// active mode bits (0: stats mode) or -1 when this process is not traced (passive). out[0]
// live bytes (usable sizes), out[1] live allocations, out[2] anonymous mmap bytes.
ARENALAB_EXPORT int arenalab_preload_counters(long long* out) {
  if (!g_session.active) return -1;
  sum_slots(&out[0], &out[1]);
  out[2] = mmap_live_bytes();
  return static_cast<int>(g_flags.load(std::memory_order_relaxed));
}
