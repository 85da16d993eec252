// SPDX-License-Identifier: Apache-2.0
// The one writer of heap-sites.jsonl (format and reader: formats/include/arenalab/formats/
// heap_sites.h): the top call sites' sampled live bytes at every heap dump, appended to one
// file. Shared by the interposer's sample mode (src/heap_sites.cc) and the attach agent's level
// sample (detectors/attach/agent). Injected code: one static buffer, no allocation; callers
// serialise their calls (the interposer's write lock, the agent's sampler thread).
#pragma once

#include <cstddef>
#include <cstdint>

#include "arenalab/preload/format.h"

namespace arenalab::preload {

// The stack ids one file can describe (the interposer's and the agent's stack tables hold at
// most this many).
inline constexpr std::uint32_t kHeapSitesStacks = 1 << 16;
// The sites a point lists: the largest by sampled live bytes. 16 entries are ~500 bytes a point,
// about a timeline line's size.
inline constexpr int kHeapSitesTop = 16;

struct HeapSitesFile {
  char name[64];  // heap-sites.jsonl (heap-sites.<pid>.jsonl for a traced fork child)
  bool started;   // the header is written: the file is this writer's from then on
  std::uint64_t described[kHeapSitesStacks / 64];  // stacks whose frames the file holds
};

// Starts a new file named `name` at the next append (which replaces one of that name).
void heap_sites_reset(HeapSitesFile& f, const char* name);

// Appends the point of dump `seq` (t_ms since the target started) to <dir>/<f.name>: the header
// first when the file is new, then the frames of stacks new to the file, then the point. `n`
// stacks are read through `record` (HeapRecordFn: false for a stack with nothing live).
// `allow(bytes)`: whether that many more bytes may be written (--max-output); when it says no,
// nothing is written and true returned. False with errno when a write failed.
bool heap_sites_append(HeapSitesFile& f, const char* dir, std::int64_t pid,
                       std::int64_t sample_bytes, std::uint32_t n, HeapRecordFn record,
                       std::int64_t seq, std::uint64_t t_ms, bool (*allow)(std::size_t));

// Which heap dumps a thinned series keeps (issue 21 item 6c: two files a second forever): once
// dump n is written, an older dump s is kept while s == 0 or s is a multiple of 2^(j - 3),
// where 2^j <= n - s < 2^(j+1) is its age in dumps: the last 15 all, then 8 per doubling of
// age, evenly spread (79 of 3,600 dumps, 115 of a day's at one a second). A dump once removed
// is never wanted again, so after dump n only the dumps s = n - 2^j (j > 3) whose
// heap_dump_kept(s, n - 1) && !heap_dump_kept(s, n) need removing: log2(n) names per dump.
inline constexpr int kHeapDumpDenseLog = 3;
inline bool heap_dump_kept(long s, long n) {
  if (s <= 0 || s >= n) return true;
  const int j = 63 - __builtin_clzl(static_cast<unsigned long>(n - s));
  return j <= kHeapDumpDenseLog || s % (1L << (j - kHeapDumpDenseLog)) == 0;
}

}  // namespace arenalab::preload
