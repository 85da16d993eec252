// SPDX-License-Identifier: Apache-2.0
// The usable sizes count mode counts: glibc's chunk header, the allocator's own answer, or two
// tables (kTable) that spare asking the allocator: the size-class table at malloc and the page
// table at free, both checked against the allocator as the program runs (count_tables.cc).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "resolve.h"
#include "state.h"

#pragma GCC visibility push(hidden)

namespace arenalab::preload {

// ---- usable sizes without a table ----
// glibc's malloc_usable_size checks that the chunk is in use by reading the *next* chunk's
// header: a cache miss on most calls (measured: 20% of a malloc-heavy run). A live block is in
// use by definition, so when the next malloc is glibc's own (not malloc-debug, which defines
// its own malloc), the size is read from the block's own header instead: mchunk_size at
// mem - 8, flags in the low 3 bits, IS_MMAPPED = 2 (glibc malloc/malloc.c, "memsize").
__attribute__((always_inline)) inline std::size_t header_usable(const void* p) {
  const std::size_t hdr = static_cast<const std::size_t*>(p)[-1];
  return (hdr & ~std::size_t{7}) - ((hdr & 2) ? 16 : 8);
}
__attribute__((always_inline)) inline std::size_t usable(void* p) {
  if (__builtin_expect(g_glibc_layout, 1)) return header_usable(p);
  return g_real.malloc_usable_size ? g_real.malloc_usable_size(p) : 0;
}

// ---- count mode's tables (kTable): usable sizes without asking the allocator ----
// Exact live bytes need each block's usable size twice: when it is allocated and when it is
// freed. Asking the allocator (malloc_usable_size) costs about as much as its malloc or free
// (jemalloc: 4.6 ns of an 11 ns malloc/free pair), so under the known allocators count mode
// reads two tables instead. Both are checked against the allocator as the program runs.
//
// The size-class table: the usable size of malloc(n) for n up to kClassMax, by 8-byte steps.
// Under jemalloc, mimalloc, tcmalloc and tbbmalloc it is the size class of n, the same for every
// block. Built at start-up from the allocator's own answers: both ends of each 8-byte step,
// twice; any disagreement leaves the tables off (g_class_ok false).
inline constexpr std::size_t kClassMax = 4096;
extern std::uint16_t g_class_usable[kClassMax / 8 + 1];
extern bool g_class_ok;
// Builds the size-class table once per process (a fork child keeps the parent's table).
void build_class_table();

// The page table: the usable size of the blocks that start in a 4 KiB page. The known
// allocators keep small blocks in runs of pages that hold one size class while any of their
// blocks is live (jemalloc's slabs, tcmalloc's spans, mimalloc's and tbbmalloc's pages: 4 KiB and
// up, aligned), and a large block alone in its first page. So count mode's malloc, which knows
// the size from the class table, notes it for the block's page, and the free reads it back with
// one load. An entry is (page << 16) | size, tagged because pages 128 MiB apart share an entry.
// Every allocation counted while the tables are on writes its page's entry (unless it already
// says the same), so an entry left from an earlier use of the page is overwritten before any
// block of the new use can be freed; blocks from before the tables (start-up) find no entry or
// one written for the same use of the page.
//
// The other counted entry points (calloc, realloc, new, malloc beyond the class table) note the
// allocator's own answer for their block, or kAsk (ask the allocator) where it does not fit.
// kAlwaysAsk: an aligned entry point may return a pointer inside a larger block (mimalloc
// does), whose usable size is not its page's, so its page is marked for good. The mark is never
// overwritten, also not by a page sharing its entry: entries change only by compare-and-swap,
// and only from an unmarked value. A mark wanted where another page's mark is turns the tables
// off (counting goes on by asking the allocator). jemalloc's and tcmalloc's aligned blocks are
// plain blocks of a size class (or whole pages), so under those the aligned entry points note
// kAsk instead.
inline constexpr int kPageShift = 12;
inline constexpr std::size_t kPageEntries = std::size_t{1} << 15;  // 256 KiB, faulted in as used
inline constexpr std::uint64_t kAsk = 0, kAlwaysAsk = 0xffff;
extern std::atomic<std::uint64_t> g_pages[kPageEntries];
// The allocator's aligned blocks may start inside another (set by the allocator-text scan).
extern bool g_aligned_inside;

inline std::uintptr_t page_of(const void* p) {
  return reinterpret_cast<std::uintptr_t>(p) >> kPageShift;
}
inline std::atomic<std::uint64_t>& page_entry(std::uintptr_t page) {
  return g_pages[page & (kPageEntries - 1)];
}
inline bool marked(std::uint64_t entry) { return (entry & 0xffff) == kAlwaysAsk; }

// Turns the tables off for good; the first caller writes the warning (a, b) to run.json.
void tables_off(ThreadState& t, const char* a, const char* b);

// A block of usable size `size` (below kAlwaysAsk), or kAsk, starts at p. page_write is the rare
// part: out of line, but static (a copy in each file that notes pages) so that GCC sees which
// registers it clobbers where it is called (IPA-RA): malloc's paths keep their values in
// caller-saved registers across it, as when it lived in the same file as the hooks.
__attribute__((noinline)) static void page_write(std::atomic<std::uint64_t>& e, std::uint64_t have,
                                                 std::uint64_t want) {
  while (!marked(have) && have != want &&
         !e.compare_exchange_weak(have, want, std::memory_order_relaxed)) {
  }
}
__attribute__((always_inline)) inline void page_note(const void* p, std::uint64_t size) {
  const std::uintptr_t page = page_of(p);
  std::atomic<std::uint64_t>& e = page_entry(page);
  const std::uint64_t want = (std::uint64_t{page} << 16) | size;
  const std::uint64_t have = e.load(std::memory_order_relaxed);
  if (__builtin_expect(have != want, 0)) page_write(e, have, want);
}

// An aligned entry point returned p (count_tables.cc).
void page_note_aligned(ThreadState& t, const void* p);

// The usable size noted for the block at p; 0 when the allocator must be asked (no entry, an
// entry of another page, kAsk, kAlwaysAsk; also for null and the static arenas' blocks, which
// are never noted).
__attribute__((always_inline)) inline std::size_t page_size_of(const void* p) {
  const std::uintptr_t page = page_of(p);
  const std::uint64_t e = page_entry(page).load(std::memory_order_relaxed);
  const std::size_t size = e & 0xffff;
  return ((e >> 16) == page && size != kAlwaysAsk) ? size : 0;
}

// One table-sized malloc in kVerifyEvery, and one free that found its size in the page table,
// is checked against the allocator's own answer. A disagreement (a configuration where the size
// depends on more than n, or an allocator that mixes sizes in a page) turns the tables off for
// good and says so in run.json's warnings; the blocks counted by them before then may be off by
// the difference.
inline constexpr long long kVerifyEvery = 4096;

// Returns the allocator's answer; `what` names the table that gave `expected`.
std::size_t verify_usable(ThreadState& t, void* p, std::size_t expected, const char* what);

// The usable size of a block being freed (count mode).
__attribute__((always_inline)) inline std::size_t usable_old(ThreadState& t, unsigned flags,
                                                             void* p) {
  if (flags & kTable) {
    if (const std::size_t noted = page_size_of(p)) {
      if (__builtin_expect(--t.verify < 0, 0))
        return verify_usable(t, p, noted,
                             "the allocator's usable size of a block differed from the size "
                             "noted for its page");
      return noted;
    }
  }
  return usable(p);
}

}  // namespace arenalab::preload

#pragma GCC visibility pop
