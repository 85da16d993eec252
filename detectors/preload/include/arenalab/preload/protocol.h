// SPDX-License-Identifier: Apache-2.0
// The runner <-> interposer protocol: the environment variables the runner sets for the target
// and the interposer reads in its constructor, the modes, and the library file names. Included
// by detectors/runner and by the injected library itself, so everything here is constexpr data
// and allocation-free functions (no std::string): usable in a constructor that runs before
// the program's malloc is resolved.
#pragma once

#include <cstddef>

#include "arenalab/formats/run_mode.h"

namespace arenalab::preload::protocol {

// The output directory (absolute); its absence keeps the interposer passive.
inline constexpr char kEnvOutDir[] = "ARENALAB_OUT_DIR";
// One of the mode names below; absent: stats.
inline constexpr char kEnvMode[] = "ARENALAB_MODE";
// Sampling interval in ms, decimal digits with an optional fraction ("100", "2.5").
inline constexpr char kEnvIntervalMs[] = "ARENALAB_INTERVAL_MS";
// Sample mode's mean bytes between samples (decimal).
inline constexpr char kEnvSampleBytes[] = "ARENALAB_SAMPLE_BYTES";
// The configuration's name and the backend it expects (allocators.json), for the header.
inline constexpr char kEnvAllocator[] = "ARENALAB_ALLOCATOR";
inline constexpr char kEnvBackend[] = "ARENALAB_BACKEND";
// kPidPlaceholder when set; the first process that loads the library overwrites the digits in
// place with its pid (no allocation; inherited by everything it starts).
inline constexpr char kEnvPid[] = "ARENALAB_PID";
inline constexpr char kPidPlaceholder[] = "0000000000";
// Sample mode: a heap profile every N intervals; jemalloc prof.dump every N samples (0: off).
inline constexpr char kEnvDumpEvery[] = "ARENALAB_DUMP_EVERY";
inline constexpr char kEnvJeprofDumpEvery[] = "ARENALAB_JEPROF_DUMP_EVERY";
// "1": forked and exec'd children are traced too (timeline.<pid>.jsonl), else passive.
inline constexpr char kEnvTraceChildren[] = "ARENALAB_TRACE_CHILDREN";
// "1": at the end (the exit path, after the final sample) the interposer asks the allocator to
// purge (allocators/backend.h purge_allocator) and writes one more sample, "after_purge":true,
// with what came back (--purge-at-end).
inline constexpr char kEnvPurgeAtEnd[] = "ARENALAB_PURGE_AT_END";
// --max-output: the bytes (decimal) each traced process may write to its output files; past
// them the full log and the dumps stop and the timeline thins out (timeline_writer.cc). Absent
// or 0: no cap.
inline constexpr char kEnvMaxOutput[] = "ARENALAB_MAX_OUTPUT";
// "0": keep every heap.<seq>.heap and mmap.<seq>.heap (a caller that thins them itself:
// profile's adaptive cadence); else older dumps are thinned to a geometric spread
// (timeline_writer.cc dump_profiles).
inline constexpr char kEnvThinDumps[] = "ARENALAB_THIN_DUMPS";
// CLOCK_MONOTONIC in ns when the runner started the target: the timeline's t_ms = 0.
inline constexpr char kEnvT0Ns[] = "ARENALAB_T0_NS";
// The run is over: the runner makes <out_dir>/<kRunEndedPrefix><ARENALAB_T0_NS> (empty) once the
// target exited and run.json is written; a traced process still running then (a daemon) stops
// sampling and writing at its next tick (sampler_thread.cc). Named by the run's T0, so that one
// a previous run left never stops this one's.
inline constexpr char kRunEndedPrefix[] = ".arenalab-ended.";
// The runner is alive: before the spawn it makes <out_dir>/<kRunLockPrefix><ARENALAB_T0_NS>
// (O_EXCL) and holds an flock(LOCK_EX) on it (its descriptor O_CLOEXEC, so no target inherits
// it) until it ends; at a normal end it writes the kRunEndedPrefix marker, then removes it. The
// kernel drops the lock with the runner's last descriptor, however it ends (SIGKILL too), so a
// traced process that finds the file free (flock LOCK_SH|LOCK_NB succeeds), or, once it saw it
// held, finds it gone, knows the run is over without the marker (sampler_thread.cc run_ended).
// Whatever its parentage: a daemon double-forked and reparented to init sees it the same.
inline constexpr char kRunLockPrefix[] = ".arenalab-running.";

// Tests only: "glibc" makes sample and full modes unwind with backtrace(3) instead of libunwind.
inline constexpr char kEnvUnwind[] = "ARENALAB_UNWIND";

// The libraries in the runner's lib_dir(): stats mode preloads the one without allocation hooks.
inline constexpr char kPreloadLibrary[] = "libarenalab_preload.so";
inline constexpr char kPreloadStatsLibrary[] = "libarenalab_preload_stats.so";

// What the interposer records: the closed set run.json carries too, owned by
// formats/run_mode.h (docs/interposer.md "Modes").
using Mode = formats::RunMode;
constexpr const char* mode_name(Mode m) { return formats::run_mode_name(m); }
// True and *out set when `name` (NUL-terminated, may be null) is a mode's name.
constexpr bool parse_mode(const char* name, Mode* out) {
  return formats::parse_run_mode(name, out);
}

// The longest record of a full-mode log (allocs.bin) any writer makes, with room to spare: a
// thread buffer of ARENALAB-FULL/4 is at most 336 KiB (full_log.cc checks), of /2 and /3 64 KiB.
// Readers take a longer record for a damaged log rather than wait for its end.
inline constexpr std::size_t kFullLogMaxRecordBytes = 1 << 20;

// The library a mode preloads.
constexpr const char* preload_library(Mode m) {
  return m == Mode::kStats ? kPreloadStatsLibrary : kPreloadLibrary;
}

}  // namespace arenalab::preload::protocol
