// SPDX-License-Identifier: Apache-2.0
// heap-sites.jsonl's writer (arenalab/preload/heap_sites_file.h), shared by the interposer and
// the attach agent. Format: formats/include/arenalab/formats/heap_sites.h.
#include "arenalab/preload/heap_sites_file.h"

#include <unistd.h>

#include <cerrno>

namespace arenalab::preload {

namespace {

struct Top {
  std::uint32_t id;
  long long objs;
  long long bytes;
};

// Writes `b` as whole lines; kCreate for the header's first write so an older file (or one an
// exec'd image of this process left) is replaced, never appended to.
bool append(const char* dir, const char* name, const Buf& b, bool create) {
  if (b.size() == 0) return true;
  const int fd = open_output(dir, name, create ? OpenMode::kCreate : OpenMode::kAppend);
  if (fd < 0) return false;
  const bool ok = write_all(fd, b.data(), b.size());
  const int err = errno;
  ::close(fd);
  errno = err;
  return ok;
}

}  // namespace

void heap_sites_reset(HeapSitesFile& f, const char* name) {
  Buf b(f.name, sizeof f.name - 1);
  b.str(name);
  f.name[b.size()] = 0;
  f.started = false;
  for (auto& w : f.described) w = 0;
}

bool heap_sites_append(HeapSitesFile& f, const char* dir, std::int64_t pid,
                       std::int64_t sample_bytes, std::uint32_t n, HeapRecordFn record,
                       std::int64_t seq, std::uint64_t t_ms, bool (*allow)(std::size_t)) {
  if (n > kHeapSitesStacks) n = kHeapSitesStacks;
  // The top sites, largest first (insertion into a short sorted array: n * kHeapSitesTop at
  // most).
  Top top[kHeapSitesTop];
  int k_top = 0;
  HeapRecord r{};
  for (std::uint32_t i = 0; i < n; ++i) {
    if (!record(i, &r) || r.objs <= 0) continue;
    if (k_top == kHeapSitesTop && r.bytes <= top[k_top - 1].bytes) continue;
    int j = k_top < kHeapSitesTop ? k_top++ : k_top - 1;
    for (; j > 0 && top[j - 1].bytes < r.bytes; --j) top[j] = top[j - 1];
    top[j] = Top{i, r.objs, r.bytes};
  }
  // One static buffer (callers serialise): the header, the frames of stacks new to the file (at
  // most kHeapSitesTop of 48 frames: ~18 KiB), then the point.
  static char buf[32768];
  Buf b(buf, sizeof buf);
  const bool create = !f.started;
  if (create) {
    for (auto& w : f.described) w = 0;
    b.str("{\"schema\":\"arenalab.heap_sites/1\",\"pid\":")
        .i64(pid)
        .str(",\"sample_bytes\":")
        .i64(sample_bytes)
        .str(",\"top\":")
        .i64(kHeapSitesTop)
        .str("}\n");
  }
  // A stack whose record cannot be read a second time (a sampling thread replacing it between
  // the two reads) is left out of this point altogether: a point never names a stack no line
  // describes.
  int kept = 0;
  for (int k = 0; k < k_top; ++k) {
    const std::uint32_t id = top[k].id;
    const bool described = f.described[id / 64] >> (id % 64) & 1;
    if (!described && !record(id, &r)) continue;
    top[kept++] = top[k];
    if (described) continue;
    b.str("{\"stack\":").u64(id).str(",\"frames\":[");
    for (std::uint32_t fr = 0; fr < r.depth; ++fr) {
      if (fr) b.ch(',');
      b.ch('"').hex(reinterpret_cast<std::uintptr_t>(r.frames[fr])).ch('"');
    }
    b.str("]}\n");
  }
  k_top = kept;
  b.str("{\"seq\":").i64(seq).str(",\"t_ms\":").u64(t_ms).str(",\"sites\":[");
  for (int k = 0; k < k_top; ++k) {
    if (k) b.ch(',');
    b.ch('[').u64(top[k].id).ch(',').i64(top[k].objs).ch(',').i64(top[k].bytes).ch(']');
  }
  b.str("]}\n");
  if (b.overflow()) return true;  // cannot happen with the bounds above; never a cut line
  if (allow && !allow(b.size())) return true;  // stopped with the dumps
  if (!append(dir, f.name, b, create)) return false;
  f.started = true;
  for (int k = 0; k < k_top; ++k)
    f.described[top[k].id / 64] |= std::uint64_t{1} << (top[k].id % 64);
  return true;
}

}  // namespace arenalab::preload
