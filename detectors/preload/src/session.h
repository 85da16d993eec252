// SPDX-License-Identifier: Apache-2.0
// The traced run as this process sees it (read from the environment by startup.cc, see
// arenalab/preload/protocol.h), and what the parts that write the run's files offer each
// other: the timeline writer and sampler thread (timeline_writer.cc), the gauges (gauges.cc),
// the fork handlers (fork_handlers.cc). Injected code: fixed buffers, no allocation.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>

#include "arenalab/allocators/backend.h"
#include "arenalab/preload/format.h"

#pragma GCC visibility push(hidden)

namespace arenalab::preload {

inline constexpr std::size_t kPathMax = 1024;

struct Session {
  char out_dir[kPathMax];     // ARENALAB_OUT_DIR; empty: not started by arenalab (passive)
  char mode_name[16];         // as given (the timeline header repeats it)
  char config_name[128];      // the allocator configuration's name
  char expected_backend[32];  // the backend that configuration should load
  double interval_ms;         // between two samples, >= 1
  std::uint64_t t0_ns;        // CLOCK_MONOTONIC when the target was started
  int dump_every;             // heap profile every N intervals (sample mode)
  int jeprof_dump_every;      // jemalloc prof.dump every N samples (0: never)
  bool trace_children;        // forked / exec'd children write their own timeline
  bool purge_at_end;          // ARENALAB_PURGE_AT_END: the purge probe after the final sample
  std::uint64_t max_output;   // ARENALAB_MAX_OUTPUT: bytes of output files (0: no cap)
  bool thin_dumps;            // ARENALAB_THIN_DUMPS != "0": older dumps thinned
  pid_t owner_pid;            // the process whose files these are
  bool active;                // this process is traced
  unsigned mode_flags;        // the mode's bits (state.h), without kDirect and its kin
  Identification id;          // the malloc that is called (backend.h)
  bool id_ok;
};
extern Session g_session;

std::uint64_t mono_ns();

// ---- the timeline (timeline_writer.cc) and its sampler thread (sampler_thread.cc) ----
// Starts <out_dir>/timeline.jsonl, or timeline.<pid>.jsonl for a traced child, under a temporary
// name; timeline_publish renames it over the final name (replacing, never truncating, an older
// one) once the header is written. false: not written (the timeline stays closed).
bool timeline_open(bool child);
bool timeline_publish();
void timeline_write_header();
// One sample line; `final`: the last one, written at exit; `after_purge`: the purge probe's.
void timeline_write_sample(bool final, bool after_purge = false);
// Starts the sampler thread (every signal blocked in it).
void sampler_start();
// Whether the run is over for this process (sampler_thread.cc): its sampler saw the end, or
// the runner's ended marker or free lock says so now. No allocation.
bool run_over();
// The fork child: the parent's append in flight is not ours; the child's files are its own.
void timeline_atfork_child();
// Its parts for the sampler thread (sampler_thread.cc) and the warnings (warnings.cc).
void sampler_atfork_child();
void warnings_atfork_child();

// ---- the dumps on the sampler's ticks (dumps.cc; the timeline's write lock held) ----
void dumps_write();         // heap.<seq>.heap and mmap.<seq>.heap, then thins the older ones
void dumps_write_jeprof();  // jemalloc's prof.dump into jeprof.<seq>.heap
void dumps_stop();          // the size limit or the disk stopped a dump: no more dumps
void dumps_atfork_child();  // a traced child numbers its own dumps from 0
// The outputs that stop when the size limit, the disk or the quota stops a write of theirs, or
// their file was replaced by a link (output_full_reason).
enum class Output { kTimeline, kFullLog, kDumps };
// A write of `o` failed with errno `err`: when the size limit, the disk or the quota is why,
// that output stops (the timeline and dumps here; the full log by its caller, on true) and
// run.json's warnings say so, once per output. False for any other error.
bool output_stopped(Output o, int err);
// --max-output: whether `o` may write `n` more bytes. Past the cap (output_bytes() + n over it)
// the full log and the dumps stop for good (false) and run.json's warnings say so once; the
// timeline always may (true), but the sampler then writes one tick in a stride that doubles
// every kCappedLines lines, so it grows with the log of the run's length.
bool output_cap_allows(Output o, std::size_t n);

// ---- gauges (gauges.cc) ----
void gauge_set(const char* name, double value);
// Appends ,"gauges":{...} to a sample line when any gauge is set.
void gauges_append(Buf& b);
void gauges_atfork_child();

// ---- fork handlers (fork_handlers.cc) ----
void install_fork_handlers();

}  // namespace arenalab::preload

#pragma GCC visibility pop
