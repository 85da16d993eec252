// SPDX-License-Identifier: Apache-2.0
// heap-sites.jsonl (sample mode): the per-call-site series in one appended file. Thinning keeps
// a geometric spread of heap dumps (dumps.cc); the live bytes of the top sites at every dump,
// thinned away or not, stay here. Format: formats/include/arenalab/formats/heap_sites.h.
#include <unistd.h>

#include <cerrno>
#include <cstdint>

#include "format.h"
#include "profile.h"
#include "session.h"
#include "state.h"

namespace arenalab::preload {

namespace {

// The sites a point lists: the kSitesTop largest by sampled live bytes. 16 entries are ~500
// bytes a point, about a timeline line's size.
constexpr int kSitesTop = 16;

bool g_started = false;  // this process wrote its header (the file is its own from then on)
pid_t g_child_pid = 0;   // a traced fork child writes heap-sites.<pid>.jsonl
// Stacks whose frames this file already holds (one bit per stack id).
std::uint64_t g_described[kMaxStacks / 64];

void file_name(char* name, std::size_t cap) {
  Buf b(name, cap - 1);
  b.str("heap-sites.");
  if (g_child_pid) b.u64(static_cast<std::uint64_t>(g_child_pid)).ch('.');
  b.str("jsonl");
  name[b.size()] = 0;
}

struct Top {
  std::uint32_t id;
  long long bytes;
};

// Writes `b` as whole lines (counted in --max-output); kCreate for the header's first write so an
// older run's file (or one an exec'd image of this process left) is replaced, never appended to.
bool append(const Buf& b, bool create) {
  if (b.size() == 0) return true;
  if (!output_cap_allows(Output::kDumps, b.size())) return true;  // stopped with the dumps
  char name[64];
  file_name(name, sizeof name);
  const int fd =
      open_output(g_session.out_dir, name, create ? OpenMode::kCreate : OpenMode::kAppend);
  if (fd < 0) return false;
  const bool ok = write_all(fd, b.data(), b.size());
  const int err = errno;
  ::close(fd);
  errno = err;
  return ok;
}

}  // namespace

void heap_sites_traced_child() {
  g_child_pid = getpid();
  g_started = false;
  for (auto& w : g_described) w = 0;
}

bool heap_sites_write(int seq, std::uint64_t t_ms) {
  if (!g_stacks || !(g_session.mode_flags & kSample)) return true;
  // The top sites, largest first (insertion into a short sorted array: n * kSitesTop at most).
  Top top[kSitesTop];
  int n = 0;
  const std::uint32_t stacks = g_stack_count.load(std::memory_order_acquire);
  for (std::uint32_t i = 0; i < stacks; ++i) {
    const Stack& s = g_stacks[i];
    if (s.live_objs.load(std::memory_order_relaxed) <= 0) continue;
    const long long bytes = s.live_bytes.load(std::memory_order_relaxed);
    if (n == kSitesTop && bytes <= top[n - 1].bytes) continue;
    int j = n < kSitesTop ? n++ : n - 1;
    for (; j > 0 && top[j - 1].bytes < bytes; --j) top[j] = top[j - 1];
    top[j] = Top{i, bytes};
  }
  // The write lock is held (dumps.cc), so one static buffer serves: the header, the frames of
  // stacks new to the file (at most kSitesTop of kMaxDepth frames: ~18 KiB), then the point.
  static char buf[32768];
  Buf b(buf, sizeof buf);
  const bool create = !g_started;
  if (create) {
    for (auto& w : g_described) w = 0;
    b.str("{\"schema\":\"arenalab.heap_sites/1\",\"pid\":")
        .i64(getpid())
        .str(",\"sample_bytes\":")
        .i64(g_sample_bytes)
        .str(",\"top\":")
        .i64(kSitesTop)
        .str("}\n");
  }
  for (int k = 0; k < n; ++k) {
    const std::uint32_t id = top[k].id;
    if (g_described[id / 64] >> (id % 64) & 1) continue;
    const Stack& s = g_stacks[id];
    b.str("{\"stack\":").u64(id).str(",\"frames\":[");
    for (std::uint32_t f = 0; f < s.depth; ++f) {
      if (f) b.ch(',');
      b.ch('"').hex(reinterpret_cast<std::uintptr_t>(s.frames[f])).ch('"');
    }
    b.str("]}\n");
  }
  b.str("{\"seq\":").i64(seq).str(",\"t_ms\":").u64(t_ms).str(",\"sites\":[");
  for (int k = 0; k < n; ++k) {
    const Stack& s = g_stacks[top[k].id];
    if (k) b.ch(',');
    b.ch('[').u64(top[k].id).ch(',').i64(s.live_objs.load(std::memory_order_relaxed));
    b.ch(',').i64(top[k].bytes).ch(']');
  }
  b.str("]}\n");
  if (b.overflow()) return true;  // cannot happen with the bounds above; never a cut line
  if (!append(b, create)) return false;
  g_started = true;
  for (int k = 0; k < n; ++k) g_described[top[k].id / 64] |= std::uint64_t{1} << (top[k].id % 64);
  return true;
}

}  // namespace arenalab::preload
