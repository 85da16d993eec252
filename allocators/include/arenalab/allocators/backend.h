// SPDX-License-Identifier: Apache-2.0
// The allocator backends arenalab knows, and the one contract every backend adapter meets:
// identification of the malloc a process really calls, stats read in-process, and purge.
//
// Everything here is resolved at run time with dlsym, so one binary works under any
// LD_PRELOAD or link variant. Nothing here allocates or throws: the preload library uses it
// from its sampler thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "arenalab/formats/allocator_backend.h"

namespace arenalab {

// jemalloc: int mallctl(const char*, void*, size_t*, void*, size_t) (jemalloc(3) "MALLCTL"),
// looked up with dlsym by the stats adapter and the interposer's prof.dump.
using MallctlFn = int (*)(const char*, void*, std::size_t*, void*, std::size_t);

// The backends and their names: one closed set, owned by formats (the names are what files
// carry; detectors/analysis compares the enum). Header only, nothing allocates.
using formats::Backend;
using formats::backend_from_name;  // the inverse of backend_name; kUnknown for anything else
using formats::backend_name;       // "glibc", "jemalloc", ..., "unknown"
using formats::kAllBackends;

// Which object defines the malloc a process calls, and that allocator's version.
struct Identification {
  Backend backend = Backend::kUnknown;
  char library[512] = {};  // path of the object defining malloc ("" if unknown)
  char version[64] = {};   // "5.3.0-0-g54eaed1d8b56b1aa528be3bdd1877e59c56fa90c", "" if not exposed
};

// Identifies the object that defines `malloc_fn` (the address of the malloc that is called:
// dlsym(RTLD_DEFAULT) in a plain process, dlsym(RTLD_NEXT) inside an interposer).
// Returns false if no loaded object contains that address.
bool identify_malloc(void* malloc_fn, Identification* out);

// identify_malloc(dlsym(RTLD_DEFAULT, "malloc")).
bool identify_current(Identification* out);

// The start of the loaded object that contains `addr` (dladdr's dli_fbase), nullptr when none
// does: glibc's _dl_find_object (2.35 on; lock-free, allocation-free, a search of the sorted
// objects) where it answers, else dladdr, which also searches the object's symbols for the
// nearest one (about 70,000 instructions in libc). For "is this the same object".
const void* object_start(const void* addr);

// The allocator's own books, read in-process. Fields a backend cannot report are empty:
// never zero for "unknown". Sizes are bytes.
struct AllocatorStats {
  std::optional<std::uint64_t> allocated;  // bytes the program holds (requested or usable)
  std::optional<std::uint64_t> active;     // bytes in pages with live allocations
  std::optional<std::uint64_t> resident;   // allocator memory resident in RAM
  std::optional<std::uint64_t> mapped;     // bytes mapped from the OS and not returned
  std::optional<std::uint64_t> retained;   // freed by the program but kept from the OS
};

// Reads the stats of `backend` from the process's loaded allocator. Returns false when that
// backend's interface is not present in the process (nothing loaded defines it).
bool read_allocator_stats(Backend backend, AllocatorStats* out);

// The books cost what the backend makes them cost: jemalloc's, mimalloc's and tcmalloc's are
// counters (microseconds), but glibc's mallinfo2 walks every free chunk of every arena, each under
// that arena's lock (15 ms of CPU with 100 000 free chunks, the program's mallocs in that arena
// waiting the while). A sampler that reads them on a period gives them a share of its time, not
// a place in every tick: after a read that took `cpu_ns` of the thread's CPU, the next is due no
// sooner than cpu_ns / kShare later (counters: every tick; that walk: every 15 s). A sample
// between two reads carries no books (not read: absent, never the last read copied forward).
// The cost is the smaller of the last two reads': one read slowed by a one-off (the first
// call's set-up, page faults, a preemption's cache misses) does not cost the next ticks their
// books, while a walk that is expensive every time still gets only its share (the first read is
// excused: it is the one that pays the set-up).
// Times are any one monotonic clock's nanoseconds; no allocation, no lock (one reader thread).
struct StatsPacer {
  static constexpr double kShare = 1e-3;  // at most 0.1 % of a core
  std::uint64_t due_ns = 0;
  std::uint64_t last_cpu_ns = 0;
  bool due(std::uint64_t now_ns, bool always = false) const { return always || now_ns >= due_ns; }
  void took(std::uint64_t now_ns, std::uint64_t cpu_ns) {
    const std::uint64_t cost = cpu_ns < last_cpu_ns ? cpu_ns : last_cpu_ns;
    last_cpu_ns = cpu_ns;
    due_ns = now_ns + static_cast<std::uint64_t>(static_cast<double>(cost) / kShare);
  }
};

// The calling thread's CPU time in ns (CLOCK_THREAD_CPUTIME_ID; 0 when unavailable).
std::uint64_t thread_cpu_ns();

// Returns freed memory to the OS: glibc malloc_trim(0), jemalloc arena.<all>.purge,
// mimalloc mi_collect(true) (purge delay 0 for the call), tcmalloc
// MallocExtension_ReleaseFreeMemory, tbbmalloc
// scalable_allocation_command(TBBMALLOC_CLEAN_ALL_BUFFERS). False if not available.
bool purge_allocator(Backend backend);

}  // namespace arenalab
