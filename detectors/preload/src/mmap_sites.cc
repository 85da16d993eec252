// SPDX-License-Identifier: Apache-2.0
// mmap call sites (sample and full modes): the call stack of every anonymous mmap the program
// makes itself, deduplicated, with the live mapped bytes per stack; munmap, mremap and MAP_FIXED
// give bytes back to the stack that mapped them through the mmap table (mmap_table.cc, which
// keeps a site id per range, so a partial munmap subtracts exactly the cut part). Written every
// heap-dump interval as <out_dir>/mmap.<seq>.heap in jemalloc's heap_v2 format with period 1
// (every mapping recorded, as jemalloc writes with lg_prof_sample:0), so jeprof reads it too.
//
// mmaps are rare and large: every one is recorded, no sampling. The stack is taken outside the
// lock with the unwinder sample mode uses (capture_stack in profile.cc: libunwind's unw_backtrace,
// else backtrace(3)); the stack table and the ranges share g_mmap_lock; tables are raw-syscall
// memory.
#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include "arenalab/preload/format.h"
#include "state.h"

namespace arenalab::preload {
namespace {

constexpr std::size_t kMaxSites = 1 << 14;      // distinct stacks (about 7 MiB, touched as used)
constexpr std::size_t kSiteHashSize = 1 << 15;  // open addressing over site ids

struct Site {
  std::uint64_t hash;
  std::uint32_t depth;
  void* frames[kMaxDepth];
  std::atomic<long long> live_ranges;  // mapped ranges (a hole punched by munmap makes two)
  std::atomic<long long> live_bytes;
  std::atomic<long long> total_maps;  // cumulative (the [accum] column)
  std::atomic<long long> total_bytes;
};

bool g_on = false;    // sample or full mode with mmap accounting, tables mapped
bool g_dump = false;  // this process writes the dumps (off in a fork child)
Site* g_sites = nullptr;
std::atomic<std::uint32_t> g_site_count{0};
std::uint32_t* g_site_index = nullptr;  // hash -> site id + 1
char g_out_dir[1024];
}  // namespace

void mmap_sites_init(unsigned flags, const char* out_dir) {
  if (!(flags & kMmap) || !(flags & (kSample | kFull))) return;
  std::size_t n = str_len(out_dir);
  if (n >= sizeof g_out_dir) n = sizeof g_out_dir - 1;
  std::memcpy(g_out_dir, out_dir, n);
  g_out_dir[n] = 0;
  g_sites = static_cast<Site*>(sys_mmap(kMaxSites * sizeof(Site)));
  g_site_index = static_cast<std::uint32_t*>(sys_mmap(kSiteHashSize * sizeof(std::uint32_t)));
  g_on = g_sites && g_site_index;
  g_dump = g_on;
}

// Stacks come from profile.cc's capture_stack (profile_init, called first, loads the unwinder).
int mmap_sites_capture(void** frames, int max) {
  if (!g_on || max <= 0) return 0;
  return capture_stack(frames, max < kMaxDepth ? max : kMaxDepth);
}

std::uint32_t mmap_sites_intern_locked(void* const* frames, int depth) {
  if (!g_on || depth <= 0) return kNoMmapSite;
  if (depth > kMaxDepth) depth = kMaxDepth;
  bool added;
  const long id = intern_stack(g_sites, kMaxSites, g_site_index, kSiteHashSize, g_site_count,
                               frames, depth, &added);
  return id < 0 ? kNoMmapSite : static_cast<std::uint32_t>(id);  // full: counted, no stack
}

void mmap_sites_add_locked(std::uint32_t site, long long bytes, int ranges) {
  if (site == kNoMmapSite || !g_on || site >= g_site_count.load(std::memory_order_relaxed)) return;
  Site& s = g_sites[site];
  s.live_bytes.fetch_add(bytes, std::memory_order_relaxed);
  s.live_ranges.fetch_add(ranges, std::memory_order_relaxed);
  if (bytes > 0) {  // a new mapping (a split adds a range, not bytes)
    s.total_bytes.fetch_add(bytes, std::memory_order_relaxed);
    s.total_maps.fetch_add(ranges, std::memory_order_relaxed);
  }
}

bool mmap_sites_dump(int seq) {
  if (!g_dump) return false;
  char name[64];
  Buf bp(name, sizeof name - 1);
  bp.str("mmap.").u64(static_cast<std::uint64_t>(seq)).str(".heap");
  name[bp.size()] = 0;
  // Period 1: jeprof's and our parser's unbiasing factor 1 / (1 - exp(-size)) is 1 for every
  // mapping, so the counts are read as exact. Objects are the live ranges.
  return write_heap_v2(g_out_dir, name, 1, g_site_count.load(std::memory_order_acquire),
                       [](std::uint32_t i, HeapRecord* r) {
                         const Site& s = g_sites[i];
                         r->bytes = s.live_bytes.load(std::memory_order_relaxed);
                         if (r->bytes <= 0) return false;
                         r->objs = s.live_ranges.load(std::memory_order_relaxed);
                         if (r->objs <= 0) r->objs = 1;
                         r->frames = s.frames;
                         r->depth = s.depth;
                         r->acc_objs = s.total_maps.load(std::memory_order_relaxed);
                         r->acc_bytes = s.total_bytes.load(std::memory_order_relaxed);
                         return true;
                       });
}

void mmap_sites_atfork_child() {
  // The table stays (the child's ranges still name their sites); the parent's dump files are
  // the parent's: a child never overwrites them.
  g_dump = false;
}

}  // namespace arenalab::preload
