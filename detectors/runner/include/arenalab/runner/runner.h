// SPDX-License-Identifier: Apache-2.0
// arenalab::runner: runs a command under an allocator configuration with the interposer
// (build/lib/libarenalab_preload.so) first in LD_PRELOAD, and writes run.json. The API other
// parts code against (docs/architecture.md); fields beyond it are additions.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "arenalab/allocators/backend.h"
#include "arenalab/core/files.h"
#include "arenalab/core/process.h"
#include "arenalab/core/result.h"
#include "arenalab/formats/timeline_roll.h"
#include "arenalab/preload/protocol.h"

namespace arenalab::runner {

struct RunProgress {  // passed to on_tick while the target runs
  pid_t pid = 0;
  double elapsed_ms = 0;
  std::string timeline_path;
};

struct RunOptions {
  std::vector<std::string> command;  // CMD ARGS...
  std::string allocator = "glibc";   // configuration name (registry.h)
  std::string allocators_file;       // empty: default_configurations_path()
  preload::protocol::Mode mode = preload::protocol::Mode::kStats;
  double interval_ms = 100;  // kMinIntervalMs .. kMaxIntervalMs
  std::uint64_t sample_bytes = 512 * 1024;
  std::string out_dir;  // empty: ./arenalab-run-<pid> (created)
  // An existing out_dir with files in it: kAccept removes the files an earlier run of the
  // runner left there (and any symlink or temporary file); the command line asks for
  // kRefuseNonEmpty, or kEmpty under --force. Either way the directory is made 0700 or
  // checked (core/files.h OutputDir) before the target starts.
  ExistingDir out_existing = ExistingDir::kAccept;
  // Signals to arenalab, --duration, grace period (core/process.h). The library default
  // forwards nothing (SIGINT and SIGQUIT are then ignored while the target runs, as system(3)
  // does); run, watch and budget forward.
  StopPolicy stop;
  // Merged after the configuration's env; MALLOC_CONF given here is appended to the
  // configuration's with ','.
  std::vector<std::pair<std::string, std::string>> extra_env;
  std::function<bool()> child_setup;  // runs in the child before exec (e.g. join a cgroup)
  bool capture_output = false;        // capture stdout/stderr tails instead of inheriting
  std::function<void(const RunProgress&)> on_tick;  // about every tick_ms
  int tick_ms = 1000;
  // >0: the sampler calls mallctl("prof.dump") every N samples, writing
  // <out_dir>/jeprof.<seq>.heap (jemalloc with prof:true).
  int jemalloc_prof_dump_every = 0;
  // Additions:
  bool trace_children = false;  // forked children write timeline.<pid>.jsonl
  // At the target's normal exit, the interposer asks its allocator to purge and records one
  // more sample ("after_purge"): what a purge returns (retention's kind, issue 19 class 7).
  bool purge_at_end = false;
  int heap_dump_every = 10;  // sample mode: heap.<seq>.heap every N intervals (and at exit)
  // --max-output: bytes each traced process may write to its output files (0: no cap). Past
  // them the interposer stops the full log and the dumps, and thins the timeline out
  // (protocol.h kEnvMaxOutput); run.json's warnings say when.
  std::uint64_t max_output = 0;
  // false: the interposer keeps every heap/mmap dump (the caller thins them: profile's
  // adaptive cadence); true: older ones are thinned to a geometric spread (kEnvThinDumps).
  bool thin_dumps = true;
  // A timeline that stays small however long the run (formats/timeline_roll.h): each time
  // timeline.jsonl has grown by roll_every_bytes since the last roll, the runner rolls it (its
  // last roll.recent_ms whole, the older part a history of at most roll.max_blocks blocks of
  // picks). 0: never. Runs shorter than a roll_every_bytes of lines are never rolled.
  std::uint64_t roll_every_bytes = 8u << 20;
  timeline::RollOptions roll;
};

struct RunResult {
  pid_t pid = 0;  // the target's, known from the spawn on (0: it never started)
  ExitInfo exit;  // core/process.h
  std::string out_dir, timeline_path, run_json_path;
  Identification id;                  // from the timeline header (inside the target)
  bool verified = false;              // id.backend == configuration backend
  std::string mismatch;               // when not verified
  std::vector<std::string> warnings;  // e.g. "target bypassed the interposer: static binary"
  // Additions:
  std::size_t samples = 0;         // timeline samples written (a rolled history's included)
  std::size_t rolls = 0;           // times the timeline was rolled
  std::vector<std::string> files;  // files in out_dir after the run (names)
};

inline constexpr double kMinIntervalMs = 1;        // the interposer's floor
inline constexpr double kMaxIntervalMs = 3600000;  // one hour

// Errors: unknown configuration, missing library, bad option, an output directory that cannot
// be used (checked before the target starts), cannot exec. Once the target ran, a failure to
// write run.json is a warning: the target's status is never lost.
Result<RunResult> run(const RunOptions& options);

// build/lib/libarenalab_preload.so (lib_dir(), $ARENALAB_LIB_DIR overrides); for mode stats
// libarenalab_preload_stats.so, the same sampler without any allocation hook.
std::string preload_library_path(preload::protocol::Mode mode = preload::protocol::Mode::kCount);

// Whether `path` is an ELF executable without a program interpreter (statically linked):
// LD_PRELOAD cannot reach it. False for anything unreadable or dynamic.
bool is_static_executable(const std::string& path);

// Why exec'ing `path` runs it in secure mode, where ld.so drops LD_PRELOAD and the interposer
// cannot load ("setuid nobody", "setgid shadow"); "" when it does not: no set-id bit, the bit
// names the caller's own real id, or the file lives on a nosuid mount.
std::string secure_exec_reason(const std::string& path);

// One record of a full-mode log, decoded (the layouts are in docs/interposer.md).
inline constexpr std::uint32_t kFullLogNoStack = 0xffffffffu;  // the stack table was full
struct FullLogRecord {
  char tag = 0;                   // 'S' a new stack, 'A' an allocation, 'F' a free, 'T' time
  std::uint64_t ns = 0, ptr = 0;  // A, F: CLOCK_MONOTONIC ns, the block's address
  std::uint64_t size = 0;         // A: the requested size
  std::uint32_t stack = kFullLogNoStack;  // A: its stack's id; S: the new stack's id
  std::uint64_t t_ms = 0;                 // T: ms since the target started
  std::vector<std::uint64_t> frames;      // S: innermost first
};
// What reading a full-mode log found: its format (2, 3 or 4) and how many bytes its records
// decompressed to (the magic included).
struct FullLogRead {
  int version = 0;
  std::uint64_t bytes = 0;
};
// Calls fn with each record of the full-mode log at `path` (<out_dir>/allocs.bin) in file order:
// a sequence of zstd frames (or, written before issue 21, the records themselves) holding the
// magic "ARENALAB-FULL/4\n" (or /3 and /2 of earlier builds) then the records (/4: each thread
// buffer's new stacks before its events). The log is decompressed and decoded piece by piece:
// memory is one record (at most preload::protocol::kFullLogMaxRecordBytes) and a piece, however
// long the log. A damaged frame or record ends the log, a record cut by a kill too: what came
// before is kept. Errors name `path`: unreadable, not a full log, an unknown record (with its
// byte offset in the decompressed log), a size past PTRDIFF_MAX. `read`, when given, is filled.
Status for_each_full_log_record(const std::string& path,
                                const std::function<void(const FullLogRecord&)>& fn,
                                FullLogRead* read = nullptr);

// The same records with the allocations and frees ('A', 'F') in time order: by ns, events of
// equal ns in file order (what a stable sort of them all would give), the others ('S', 'T')
// as they are decoded. Threads' buffers interleave in the file by when they were written, so
// the log is read twice: the first pass notes where each run of non-decreasing times starts
// and its first time; the second holds an event only while a later run may still bring an
// earlier one (it is passed on once its time is at most the least time any record still to
// come can have). Memory is those held events (the buffers whose times overlap a later one's:
// about a writing interval's worth), never the whole log's. A log that changes between the
// passes is an error naming `path`; otherwise errors as for_each_full_log_record.
Status for_each_full_log_record_in_time_order(const std::string& path,
                                              const std::function<void(const FullLogRecord&)>& fn);

// The full-mode log (<out_dir>/allocs.bin) summarised.
struct FullLogSummary {
  std::uint64_t allocs = 0, frees = 0, stacks = 0;
  std::uint64_t allocated_bytes = 0;  // sum of requested sizes
  std::int64_t live_bytes = 0;        // requested bytes of blocks allocated and not freed
  std::uint64_t live_blocks = 0;
  double last_t_ms = 0;
};
Result<FullLogSummary> read_full_log(const std::string& path);

}  // namespace arenalab::runner
