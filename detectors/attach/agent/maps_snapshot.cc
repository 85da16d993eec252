// SPDX-License-Identifier: Apache-2.0
// Level count's snapshot of /proc/self/maps and the loader's word on an object, which the GOT
// patcher (got_patch.cc) asks before writing a slot (agent_internal.h). docs/attach.md, "RELRO".
#include "agent_internal.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <link.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>

namespace arenalab::agent::detail {

std::atomic<long long> g_maps_unread{0};  // passes without a whole /proc/self/maps
std::atomic<long long> g_maps_bytes{0};   // its size at the last pass

namespace {

// /proc/self/maps as it was at the start of a patch or restore pass, to know whether a page is
// writable now: read once per pass in chunks of a static buffer, each whole line parsed as it
// comes into an array of (start, end, writable) mapped by the agent itself (grown by mremap, kept
// for the next pass): any size of maps, and no allocation from the target's malloc.
struct MapRange {
  uptr lo, hi;
  bool writable;
};
MapRange* g_ranges = nullptr;
std::size_t g_ranges_cap = 0, g_nranges = 0;
bool g_ranges_sorted = true;  // the kernel lists mappings by address; checked, not assumed
bool g_maps_ok = false;
char g_chunk[64 * 1024];  // a line of maps is at most ~80 bytes and a path (PATH_MAX)

bool ranges_push(uptr lo, uptr hi, bool w) {
  if (g_nranges == g_ranges_cap) {
    const std::size_t cap = g_ranges_cap ? 2 * g_ranges_cap : 4096;
    void* m = g_ranges ? mremap(g_ranges, g_ranges_cap * sizeof(MapRange), cap * sizeof(MapRange),
                                MREMAP_MAYMOVE)
                       : mmap(nullptr, cap * sizeof(MapRange), PROT_READ | PROT_WRITE,
                              MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) return false;
    g_ranges = static_cast<MapRange*>(m);
    g_ranges_cap = cap;
  }
  if (g_nranges && lo < g_ranges[g_nranges - 1].lo) g_ranges_sorted = false;
  g_ranges[g_nranges++] = {lo, hi, w};
  return true;
}

// Hex digits from p up to e; false when there are none.
bool parse_hex(const char*& p, const char* e, uptr* v) {
  uptr x = 0;
  const char* s = p;
  for (; p < e; ++p) {
    const char c = *p;
    const int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (d < 0) break;
    x = x << 4 | static_cast<uptr>(d);
  }
  *v = x;
  return p != s;
}

// One line "lo-hi perms ...", [p, e) without its newline.
bool parse_maps_line(const char* p, const char* e) {
  uptr lo = 0, hi = 0;
  if (!parse_hex(p, e, &lo) || p == e || *p++ != '-' || !parse_hex(p, e, &hi)) return false;
  if (e - p < 3 || p[0] != ' ') return false;
  return ranges_push(lo, hi, p[2] == 'w');
}

}  // namespace

// The object (its dlpi_addr + 1) the loader was seen done with before the current snapshot was
// read; 0: none (write_slot).
uptr g_snapshot_after = 0;

void snapshot_maps() {
  g_snapshot_after = 0;
  g_maps_ok = false;
  g_nranges = 0;
  g_ranges_sorted = true;
  const int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    g_maps_unread.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  std::size_t have = 0;  // bytes of a line not yet whole, at the chunk's start
  long long total = 0;
  bool ok = true;
  for (;;) {
    const ssize_t n = read(fd, g_chunk + have, sizeof g_chunk - have);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) ok = false;
    if (n <= 0) break;
    total += n;
    have += static_cast<std::size_t>(n);
    const char* line = g_chunk;
    const char* end = g_chunk + have;
    for (const char* nl; ok && (nl = static_cast<const char*>(
                                    std::memchr(line, '\n', static_cast<std::size_t>(end - line))));
         line = nl + 1)
      ok = parse_maps_line(line, nl);
    if (!ok) break;
    have = static_cast<std::size_t>(end - line);
    std::memmove(g_chunk, line, have);
    if (have == sizeof g_chunk) {  // a line longer than the chunk: not a maps line
      ok = false;
      break;
    }
  }
  close(fd);
  if (ok && have) ok = parse_maps_line(g_chunk, g_chunk + have);  // a last line without '\n'
  g_maps_ok = ok && g_nranges > 0;
  g_maps_bytes.store(total, std::memory_order_relaxed);
  if (!g_maps_ok) g_maps_unread.fetch_add(1, std::memory_order_relaxed);
}

// 1 writable, 0 mapped but not writable, -1 unknown (no snapshot, or not in it).
int page_writable(uptr addr) {
  if (!g_maps_ok) return -1;
  if (!g_ranges_sorted) {
    for (std::size_t i = 0; i < g_nranges; ++i)
      if (addr >= g_ranges[i].lo && addr < g_ranges[i].hi) return g_ranges[i].writable ? 1 : 0;
    return -1;
  }
  std::size_t lo = 0, hi = g_nranges;  // the last range starting at or below addr
  while (lo < hi) {
    const std::size_t mid = lo + (hi - lo) / 2;
    if (g_ranges[mid].lo <= addr)
      lo = mid + 1;
    else
      hi = mid;
  }
  if (lo == 0 || addr >= g_ranges[lo - 1].hi) return -1;
  return g_ranges[lo - 1].writable ? 1 : 0;
}

// Whether the loader is done with the object that maps `addr`: _dl_find_object (glibc 2.35)
// knows an object only from the end of the dlopen that loaded it, after every new object was
// relocated and its RELRO made read-only (dl-open.c: _dl_find_object_update follows the
// _dl_relocate_object calls, each of which ends in _dl_protect_relro); it forgets it at the
// start of dlclose. Lock-free and allocation-free (the unwinder calls it), so it may run under
// dl_iterate_phdr. Without it (an older glibc) no object counts as done: the caller defers.
FindObject g_find_object = nullptr;
std::atomic<long long> g_relro_kept_writable{0};  // slots written on RELRO the program keeps RW

// 1 the loader is done with the object mapping addr, 0 it is not (still being loaded), -1
// cannot tell (no _dl_find_object).
int loader_done(uptr addr) {
  if (!g_find_object) return -1;
  dl_find_object r;
  if (g_find_object(reinterpret_cast<void*>(addr), &r) != 0) return 0;
  return addr >= reinterpret_cast<uptr>(r.dlfo_map_start) &&
         addr < reinterpret_cast<uptr>(r.dlfo_map_end);
}

}  // namespace arenalab::agent::detail
