// SPDX-License-Identifier: Apache-2.0
// Anonymous mappings the program made itself: a sorted array of [start, end) ranges in memory
// mapped with the raw syscall, so munmap/mremap of part of a range, or of memory we never
// counted (a file mapping, the allocator's chunks), subtract exactly what was counted.
// mmap is a system call already: a spin lock here costs nothing measurable. In sample and full
// modes each range also carries the id of the call stack that mapped it (mmap_sites.cc), so
// bytes leave the right stack however the range is later cut.
#include <cstring>

#include "state.h"

namespace arenalab::preload {

SpinLock g_mmap_lock;

namespace {
struct Range {
  std::uintptr_t start, end;
  std::uint32_t site;  // mmap_sites.cc id, kNoMmapSite without a stack
};
constexpr std::size_t kMaxRanges = 1 << 20;  // 24 MiB of address space, touched as used
Range* g_ranges = nullptr;
std::size_t g_count = 0;
std::atomic<long long> g_live{0};

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

// Removes [a, b) from the table; returns bytes removed. Lock held.
std::size_t remove_locked(std::uintptr_t a, std::uintptr_t b) {
  std::size_t removed = 0;
  std::size_t i = lower(a);
  while (i < g_count && g_ranges[i].start < b) {
    Range r = g_ranges[i];
    const std::uintptr_t cut_lo = r.start > a ? r.start : a;
    const std::uintptr_t cut_hi = r.end < b ? r.end : b;
    removed += cut_hi - cut_lo;
    if (cut_lo == r.start && cut_hi == r.end) {
      erase_at(i);
      mmap_sites_add_locked(r.site, -static_cast<long long>(cut_hi - cut_lo), -1);
      continue;
    }
    if (cut_lo == r.start) {
      g_ranges[i].start = cut_hi;
    } else if (cut_hi == r.end) {
      g_ranges[i].end = cut_lo;
    } else {  // a hole in the middle: split
      g_ranges[i].end = cut_lo;
      if (insert_at(i + 1, Range{cut_hi, r.end, r.site})) {
        mmap_sites_add_locked(r.site, 0, 1);  // one range more
      } else {                                // lost track of the tail
        removed += r.end - cut_hi;
        mmap_sites_add_locked(r.site, -static_cast<long long>(r.end - cut_hi), 0);
      }
      ++i;
    }
    mmap_sites_add_locked(r.site, -static_cast<long long>(cut_hi - cut_lo), 0);
    ++i;
  }
  return removed;
}

bool ensure_table() {
  if (g_ranges) return true;
  g_ranges = static_cast<Range*>(sys_mmap(kMaxRanges * sizeof(Range)));
  return g_ranges != nullptr;
}
}  // namespace

void mmap_note_map(void* addr, size_t len) {
  const auto a = reinterpret_cast<std::uintptr_t>(addr);
  const std::uintptr_t b = a + page_round(len);
  // The caller's stack, unwound before the lock is taken (sample and full modes; else 0).
  void* frames[48];
  const int depth = mmap_sites_capture(frames, 48);
  g_mmap_lock.lock();
  if (ensure_table()) {
    // Stale entries (the range was unmapped behind our back) leave their stacks first.
    const std::size_t stale = remove_locked(a, b);
    if (stale) g_live.fetch_sub(static_cast<long long>(stale), std::memory_order_relaxed);
    const std::uint32_t site = mmap_sites_intern_locked(frames, depth);
    if (insert_at(lower(a), Range{a, b, site})) {
      g_live.fetch_add(static_cast<long long>(b - a), std::memory_order_relaxed);
      mmap_sites_add_locked(site, static_cast<long long>(b - a), 1);
    }
  }
  g_mmap_lock.unlock();
}

size_t mmap_note_unmap(void* addr, size_t len) {
  const auto a = reinterpret_cast<std::uintptr_t>(addr);
  const std::uintptr_t b = a + page_round(len);
  std::size_t removed = 0;
  g_mmap_lock.lock();
  if (g_ranges) removed = remove_locked(a, b);
  g_mmap_lock.unlock();
  if (removed) g_live.fetch_sub(static_cast<long long>(removed), std::memory_order_relaxed);
  return removed;
}

long long mmap_live_bytes() { return g_live.load(std::memory_order_relaxed); }

}  // namespace arenalab::preload
