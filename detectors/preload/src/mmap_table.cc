// SPDX-License-Identifier: Apache-2.0
// Anonymous mappings the program made itself: a sorted array of [start, end) ranges in memory
// mapped with the raw syscall, so munmap/mremap of part of a range, or of memory we never
// counted (a file mapping, the allocator's chunks), subtract exactly what was counted.
// mmap is a system call already: a spin lock here costs nothing measurable. In sample and full
// modes each range also carries the id of the call stack that mapped it (mmap_sites.cc), so
// bytes leave the right stack however the range is later cut. A range mapped PROT_NONE (an
// address-space reservation: the JVM reserves its whole maximum heap so, 8 GB under a 75 MB RSS)
// is kept but counted apart, as reserved, until mprotect (or mmap MAP_FIXED over it) makes it
// accessible: `mmap_bytes` and the call sites' bytes are accessible bytes (issue 21 item 7).
#include <sys/mman.h>

#include <cstring>

#include "state.h"

namespace arenalab::preload {

SpinLock g_mmap_lock;

namespace {
struct Range {
  std::uintptr_t start, end;
  std::uint32_t site;      // mmap_sites.cc id, kNoMmapSite without a stack
  std::uint32_t reserved;  // 1: PROT_NONE (counted in g_reserved, not g_live nor its site)
};
constexpr std::size_t kMaxRanges = 1 << 20;  // 24 MiB of address space, touched as used
Range* g_ranges = nullptr;
std::size_t g_count = 0;
std::atomic<long long> g_live{0};      // accessible bytes (mmap_bytes)
std::atomic<long long> g_reserved{0};  // PROT_NONE bytes (mmap_reserved_bytes)

bool is_reserved(int prot) { return (prot & (PROT_READ | PROT_WRITE | PROT_EXEC)) == 0; }

// What a range of `bytes` bytes counts for: its site's bytes only when accessible.
long long site_bytes(const Range& r, std::uintptr_t bytes) {
  return r.reserved ? 0 : static_cast<long long>(bytes);
}

// Moves `bytes` between the two totals as a range's state changes.
void count_bytes(bool reserved, long long bytes) {
  (reserved ? g_reserved : g_live).fetch_add(bytes, std::memory_order_relaxed);
}

// First index whose end > addr.
std::size_t lower(std::uintptr_t addr) {
  std::size_t lo = 0, hi = g_count;
  while (lo < hi) {
    std::size_t mid = (lo + hi) / 2;
    if (g_ranges[mid].end <= addr)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

bool insert_at(std::size_t i, Range r) {
  if (g_count >= kMaxRanges) {
    return false;
  }
  std::memmove(&g_ranges[i + 1], &g_ranges[i], (g_count - i) * sizeof(Range));
  g_ranges[i] = r;
  ++g_count;
  return true;
}

void erase_at(std::size_t i) {
  std::memmove(&g_ranges[i], &g_ranges[i + 1], (g_count - i - 1) * sizeof(Range));
  --g_count;
}

std::size_t page_round(std::size_t len) { return (len + 4095) & ~std::size_t{4095}; }

// Removes [a, b) from the table and from the totals; returns the bytes removed (accessible or
// reserved). `*reserved_out`: whether the last range cut was reserved. Lock held.
std::size_t remove_locked(std::uintptr_t a, std::uintptr_t b, bool* reserved_out = nullptr) {
  std::size_t removed = 0;
  std::size_t i = lower(a);
  while (i < g_count && g_ranges[i].start < b) {
    Range r = g_ranges[i];
    if (reserved_out) *reserved_out = r.reserved != 0;
    const std::uintptr_t cut_lo = r.start > a ? r.start : a;
    const std::uintptr_t cut_hi = r.end < b ? r.end : b;
    removed += cut_hi - cut_lo;
    count_bytes(r.reserved, -static_cast<long long>(cut_hi - cut_lo));
    if (cut_lo == r.start && cut_hi == r.end) {
      erase_at(i);
      mmap_sites_add_locked(r.site, -site_bytes(r, cut_hi - cut_lo), -1);
      continue;
    }
    if (cut_lo == r.start) {
      g_ranges[i].start = cut_hi;
    } else if (cut_hi == r.end) {
      g_ranges[i].end = cut_lo;
    } else {  // a hole in the middle: split
      g_ranges[i].end = cut_lo;
      if (insert_at(i + 1, Range{cut_hi, r.end, r.site, r.reserved})) {
        mmap_sites_add_locked(r.site, 0, 1);  // one range more
      } else {                                // lost track of the tail
        removed += r.end - cut_hi;
        count_bytes(r.reserved, -static_cast<long long>(r.end - cut_hi));
        mmap_sites_add_locked(r.site, -site_bytes(r, r.end - cut_hi), 0);
      }
      ++i;
    }
    mmap_sites_add_locked(r.site, -site_bytes(r, cut_hi - cut_lo), 0);
    ++i;
  }
  return removed;
}

// Sets [a, b) of the table's ranges reserved or accessible (mprotect), splitting a range the
// change cuts: at most two more ranges per range. A range that cannot be split (the table is
// full) keeps its state. Lock held.
void protect_locked(std::uintptr_t a, std::uintptr_t b, std::uint32_t reserved) {
  std::size_t i = lower(a);
  while (i < g_count && g_ranges[i].start < b) {
    const Range r = g_ranges[i];
    if (r.reserved == reserved) {
      ++i;
      continue;
    }
    const std::uintptr_t lo = r.start > a ? r.start : a;
    const std::uintptr_t hi = r.end < b ? r.end : b;
    const int pieces = (lo > r.start) + (hi < r.end);
    if (g_count + static_cast<std::size_t>(pieces) > kMaxRanges) {
      ++i;
      continue;
    }
    // [r.start, lo) and [hi, r.end) keep the old state; [lo, hi) takes the new one.
    if (lo > r.start) {
      g_ranges[i].end = lo;
      ++i;
      insert_at(i, Range{lo, hi, r.site, reserved});
    } else {
      g_ranges[i].end = hi;
      g_ranges[i].reserved = reserved;
    }
    if (hi < r.end) insert_at(i + 1, Range{hi, r.end, r.site, r.reserved});
    const auto bytes = static_cast<long long>(hi - lo);
    count_bytes(r.reserved, -bytes);
    count_bytes(reserved, bytes);
    // The site holds accessible bytes; the pieces are ranges of its own.
    mmap_sites_add_locked(r.site, reserved ? -bytes : bytes, 0);
    if (pieces) mmap_sites_add_locked(r.site, 0, pieces);
    i += 1 + (hi < r.end);
  }
}

bool ensure_table() {
  if (g_ranges) return true;
  g_ranges = static_cast<Range*>(sys_mmap(kMaxRanges * sizeof(Range)));
  return g_ranges != nullptr;
}
}  // namespace

void mmap_note_map(void* addr, size_t len, int prot) {
  const auto a = reinterpret_cast<std::uintptr_t>(addr);
  const std::uintptr_t b = a + page_round(len);
  const std::uint32_t reserved = is_reserved(prot) ? 1 : 0;
  // The caller's stack, unwound before the lock is taken (sample and full modes; else 0).
  void* frames[48];
  const int depth = mmap_sites_capture(frames, 48);
  g_mmap_lock.lock();
  if (ensure_table()) {
    // Stale entries (the range was unmapped behind our back) leave their stacks first.
    remove_locked(a, b);
    const std::uint32_t site = mmap_sites_intern_locked(frames, depth);
    const Range r{a, b, site, reserved};
    if (insert_at(lower(a), r)) {
      count_bytes(reserved, static_cast<long long>(b - a));
      mmap_sites_add_locked(site, site_bytes(r, b - a), 1);
    }
  }
  g_mmap_lock.unlock();
}

size_t mmap_note_unmap(void* addr, size_t len, bool* reserved) {
  const auto a = reinterpret_cast<std::uintptr_t>(addr);
  const std::uintptr_t b = a + page_round(len);
  std::size_t removed = 0;
  g_mmap_lock.lock();
  if (g_ranges) removed = remove_locked(a, b, reserved);
  g_mmap_lock.unlock();
  return removed;
}

void mmap_note_protect(void* addr, size_t len, int prot) {
  const auto a = reinterpret_cast<std::uintptr_t>(addr);
  const std::uintptr_t b = a + page_round(len);
  g_mmap_lock.lock();
  if (g_ranges) protect_locked(a, b, is_reserved(prot) ? 1 : 0);
  g_mmap_lock.unlock();
}

long long mmap_live_bytes() { return g_live.load(std::memory_order_relaxed); }
long long mmap_reserved_bytes() { return g_reserved.load(std::memory_order_relaxed); }

}  // namespace arenalab::preload
