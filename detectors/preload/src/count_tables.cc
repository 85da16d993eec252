// SPDX-License-Identifier: Apache-2.0
// Count mode's tables (count_tables.h): built from the allocator's own answers, checked against
// it as the program runs, turned off for good on the first disagreement; and hook_flags, which
// decides from them and from the allocator-text scan which fast paths the hooks take.
#include "count_tables.h"

#include <errno.h>

#include "allocator_text.h"

namespace arenalab::preload {

std::uint16_t g_class_usable[kClassMax / 8 + 1];
bool g_class_ok = false;
std::atomic<std::uint64_t> g_pages[kPageEntries];
bool g_aligned_inside = true;

namespace {
bool g_class_tried = false;  // once per process (a fork child keeps the parent's table)

// An aligned entry point returned p. Also before the tables are on (count mode counts from the
// first allocation; the constructors of the program's libraries run before ours): such a block
// may still be live when they are. A mark that meets another page's mark sets g_marks_lost,
// which keeps the tables off (hook_flags, tables_published) or turns them off.
bool g_marks_lost = false;

}  // namespace

void build_class_table() {
  if (g_class_tried || !g_real.malloc_usable_size || !g_real.malloc || !g_real.free) return;
  g_class_tried = true;
  for (std::size_t k = 0; k <= kClassMax / 8; ++k) {
    const std::size_t hi = k * 8, lo = k ? hi - 7 : 0;
    std::size_t got[4];
    for (int i = 0; i < 4; ++i) {
      void* p = g_real.malloc(i % 2 ? lo : hi);
      if (!p) return;
      got[i] = g_real.malloc_usable_size(p);
      g_real.free(p);
    }
    if (got[1] != got[0] || got[2] != got[0] || got[3] != got[0] || got[0] < hi || got[0] >= 0xffff)
      return;
    g_class_usable[k] = static_cast<std::uint16_t>(got[0]);
  }
  g_class_ok = true;
}

// g_class_ok goes first: a fork between the two steps must not find the tables still good
// (the child's hook_flags would turn them back on). errno is kept: this runs inside free.
void tables_off(ThreadState& t, const char* a, const char* b) {
  const bool first = __atomic_exchange_n(&g_class_ok, false, __ATOMIC_RELAXED);
  g_flags.fetch_and(~unsigned{kTable}, std::memory_order_relaxed);
  if (first) {
    const int saved_errno = errno;
    {
      BusyScope busy(t);
      note_warning("count mode: ", a, b);
    }
    errno = saved_errno;
  }
}

__attribute__((noinline)) void page_note_aligned(ThreadState& t, const void* p) {
  if (!g_aligned_inside) return page_note(p, kAsk);
  const std::uintptr_t page = page_of(p);
  std::atomic<std::uint64_t>& e = page_entry(page);
  const std::uint64_t want = (std::uint64_t{page} << 16) | kAlwaysAsk;
  std::uint64_t have = e.load(std::memory_order_relaxed);
  while (have != want) {
    if (marked(have)) {
      __atomic_store_n(&g_marks_lost, true, __ATOMIC_RELAXED);
      return tables_off(t, "the page table is off: aligned blocks in two pages that share ",
                        "an entry (counting goes on by asking the allocator)");
    }
    if (e.compare_exchange_weak(have, want, std::memory_order_relaxed)) return;
  }
}

__attribute__((noinline)) std::size_t verify_usable(ThreadState& t, void* p, std::size_t expected,
                                                    const char* what) {
  t.verify = kVerifyEvery;
  const std::size_t real = g_real.malloc_usable_size(p);
  if (real != expected)
    tables_off(t, what,
               "; the tables are off, live bytes may be off by the blocks counted by them");
  return real;
}

// kDirect: the fast paths need not mark the thread busy. Under glibc nothing inside its malloc
// reaches our hooks; under another allocator its own mmap calls are told apart by address.
unsigned hook_flags(unsigned mode_flags) {
  if (!mode_flags) return 0;
  if (!g_glibc_layout) find_allocator_text();
  if (alloc_texts() > 0 && (mode_flags & kCount)) build_class_table();
  unsigned f = mode_flags;
  if (g_glibc_layout || alloc_texts() >= 0) f |= kDirect;
  // glibc's own sizes are read from the block's header (usable()): cheaper than any table.
  if ((f & kDirect) && (f & kCount) && !g_glibc_layout && g_class_ok &&
      !__atomic_load_n(&g_marks_lost, __ATOMIC_RELAXED))
    f |= kTable;
  if ((f & kDirect) && (f & kCount) && g_glibc_layout) f |= kHeader;
  return f;
}

// After g_flags took hook_flags' value: a mark lost between hook_flags and that store turned
// the tables off before they were on; they stay off.
void tables_published() {
  if (__atomic_load_n(&g_marks_lost, __ATOMIC_RELAXED))
    g_flags.fetch_and(~unsigned{kTable}, std::memory_order_relaxed);
}

}  // namespace arenalab::preload
