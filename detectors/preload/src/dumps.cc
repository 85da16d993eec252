// SPDX-License-Identifier: Apache-2.0
// The dumps the sampler writes on its ticks: heap.<seq>.heap (sample mode), mmap.<seq>.heap
// (sample and full modes) and jemalloc's own jeprof.<seq>.heap, their numbering, and the
// thinning that keeps their number bounded. Called with the timeline's write lock held.
#include <dlfcn.h>

#include <cerrno>
#include <cstdint>

#include "arenalab/allocators/backend.h"
#include "arenalab/preload/format.h"
#include "arenalab/preload/heap_sites_file.h"
#include "session.h"
#include "state.h"

namespace arenalab::preload {

namespace {

int g_seq = 0;
int g_jeprof_seq = 0;
bool g_dumps_stopped = false;  // a dump hit the size limit or a full disk
bool g_wrote_mmap = false;     // this process wrote mmap.<seq>.heap dumps (thinned with heap.*)
std::uint64_t g_last_dump_bytes = 0;  // what the previous dump wrote: the next one's estimate

// heap.<seq>.heap (sample mode) and mmap.<seq>.heap (sample and full modes) share one seq, so
// the two series share their dump times, and are thinned alike (heap_dump_kept,
// arenalab/preload/heap_sites_file.h: the first, the last 15 and a geometric spread remain). The
// full series of the total stays in one file: the timeline's sampled_live_bytes (sample mode)
// and mmap_bytes, at every interval; the top heap sites' series at every dump in
// heap-sites.jsonl (heap_sites.cc). Write lock held.
void thin_dumps(long n) {
  for (int j = kHeapDumpDenseLog + 1; j < 62 && (1L << j) < n; ++j) {
    const long s = n - (1L << j);
    if (!heap_dump_kept(s, n - 1) || heap_dump_kept(s, n)) continue;
    char name[64];
    std::uint64_t freed = 0;
    if (g_session.mode_flags & kSample) {
      profile_heap_dump_name(static_cast<int>(s), name, sizeof name);
      freed += remove_output(g_session.out_dir, name);
    }
    if (g_wrote_mmap) {
      Buf b(name, sizeof name - 1);
      b.str("mmap.").u64(static_cast<std::uint64_t>(s)).str(".heap");
      name[b.size()] = 0;
      freed += remove_output(g_session.out_dir, name);
    }
    output_bytes_add(-static_cast<std::int64_t>(freed));
  }
}

}  // namespace

void dumps_write_jeprof() {
  // jemalloc writes these itself (uncounted); past the cap they stop with the other dumps.
  if (!output_cap_allows(Output::kDumps, 0)) return;
  auto mallctl = reinterpret_cast<MallctlFn>(dlsym(RTLD_DEFAULT, "mallctl"));
  if (!mallctl) return;
  char path[kPathMax + 64];
  Buf b(path, sizeof path);
  b.str(g_session.out_dir)
      .str("/jeprof.")
      .u64(static_cast<std::uint64_t>(g_jeprof_seq++))
      .str(".heap");
  path[b.size()] = 0;
  const char* p = path;
  mallctl("prof.dump", nullptr, nullptr, &p, sizeof p);
}

void dumps_write() {
  if (g_dumps_stopped) return;
  // --max-output: a dump is estimated at the size of the one before it.
  if (!output_cap_allows(Output::kDumps, g_last_dump_bytes)) return;
  const std::uint64_t before = output_bytes();
  bool wrote = false;
  if (g_session.mode_flags & kSample) {
    errno = 0;
    const bool ok = profile_dump_heap(g_seq);
    if (!ok) output_stopped(Output::kDumps, errno);
    wrote = ok || wrote;
    // The top sites' series: every dump's point stays in heap-sites.jsonl, thinned or not.
    if (ok && !heap_sites_write(g_seq, (mono_ns() - g_session.t0_ns) / 1000000))
      output_stopped(Output::kDumps, errno);
  }
  if (g_dumps_stopped) return;
  errno = 0;  // false with errno 0: mmap sites are off
  if (const bool ok = mmap_sites_dump(g_seq); ok) {
    wrote = true;
    g_wrote_mmap = true;
  } else if (errno != 0) {
    output_stopped(Output::kDumps, errno);
  }
  const std::uint64_t after = output_bytes();
  // Stored only when it changes: a pass that wrote nothing (count mode has no dumps) dirties no
  // page of ours (a store of 0 to an untouched bss page costs the program 4 KiB of RSS, which
  // a watch of `sleep 5` reads as growth).
  if (const std::uint64_t wrote_bytes = after > before ? after - before : 0;
      wrote_bytes != g_last_dump_bytes)
    g_last_dump_bytes = wrote_bytes;
  if ((g_session.mode_flags & kSample) || wrote) {
    if (g_session.thin_dumps) thin_dumps(g_seq);
    ++g_seq;
  }
}

void dumps_stop() { g_dumps_stopped = true; }

void dumps_atfork_child() {
  g_seq = 0;
  g_wrote_mmap = false;  // a traced child's dumps are heap.<pid>.<seq>.heap only
  g_last_dump_bytes = 0;
}

}  // namespace arenalab::preload
