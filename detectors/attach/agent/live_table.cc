// SPDX-License-Identifier: Apache-2.0
// Level count's table of live blocks and of the program's anonymous mappings since the attach
// (agent_internal.h). Hooks run on someone else's hot path: no lock, no allocation, no TLS, no
// call to anything hooked; only relaxed atomics on a fixed table. docs/attach.md.
#include "agent_internal.h"

#include <sys/mman.h>

#include <atomic>
#include <cstdint>

namespace arenalab::agent::detail {

std::atomic<Entry*> g_levels[kLevels];
Stripe g_stripes[kStripes];
std::atomic<long long> g_unknown_frees{0};
std::atomic<long long> g_untracked{0};
std::atomic<long long> g_mmap_bytes{0};
std::atomic<int> g_active{0};

// The table of a level, mapped by the first thread that needs it (a plain mmap system call of
// the agent's own, not a hooked one; the loser of a race unmaps its copy).
Entry* level_table(int level, bool create) {
  Entry* t = g_levels[level].load(std::memory_order_acquire);
  if (t || !create) return t;
  void* m = mmap(nullptr, level_slots(level) * sizeof(Entry), PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (m == MAP_FAILED) return nullptr;
  Entry* mine = static_cast<Entry*>(m);
  if (!g_levels[level].compare_exchange_strong(t, mine, std::memory_order_acq_rel)) {
    munmap(m, level_slots(level) * sizeof(Entry));
    return t;
  }
  return mine;
}

// `stack1`: level sample's stack id + 1 of a sampled block, else 0.
bool track_add(void* ptr, std::size_t n, unsigned stack1, bool count) {
  const uptr p = reinterpret_cast<uptr>(ptr);
  const std::uint64_t m = mix(p);
  for (int level = 0; level < kLevels; ++level) {
    Entry* t = level_table(level, true);
    if (!t) break;
    const std::size_t mask = level_slots(level) - 1, h = home(m, level);
    for (std::size_t i = 0; i < kProbe; ++i) {
      Entry& e = t[(h + i) & mask];
      uptr k = e.key.load(std::memory_order_relaxed);
      if (k != kEmpty && k != kTomb) continue;
      if (!e.key.compare_exchange_strong(k, p, std::memory_order_acq_rel)) continue;
      // The block's free comes after this returns (the program hands the pointer on after
      // it), so the size is there when it is read.
      e.size.store((static_cast<std::uint64_t>(stack1) << kStackShift) | (n & kSizeMask),
                   std::memory_order_release);
      if (!count) return true;
      Stripe& s = stripe(m);
      s.bytes.fetch_add(static_cast<long long>(n), std::memory_order_relaxed);
      s.blocks.fetch_add(1, std::memory_order_relaxed);
      if (stack1) sample_live_add(stack1, n);
      return true;
    }
  }
  g_untracked.fetch_add(1, std::memory_order_relaxed);
  if (stack1) sample_lost();
  return false;
}

// Removes the block: true and its entry's packed size (size and stack, as track_add stored it),
// or false and an unknown free when it was not allocated through a hook since the attach.
// Entries never go back to empty (only to tombstones, reused by inserts), so an empty entry
// ends the search in a level.
bool track_take(void* ptr, std::uint64_t* packed, bool count) {
  const uptr p = reinterpret_cast<uptr>(ptr);
  const std::uint64_t m = mix(p);
  for (int level = 0; level < kLevels; ++level) {
    Entry* t = level_table(level, false);
    if (!t) break;
    const std::size_t mask = level_slots(level) - 1, h = home(m, level);
    for (std::size_t i = 0; i < kProbe; ++i) {
      Entry& e = t[(h + i) & mask];
      uptr k = e.key.load(std::memory_order_acquire);
      if (k == kEmpty) break;
      if (k != p) continue;
      const std::uint64_t v = e.size.load(std::memory_order_acquire);
      if (!e.key.compare_exchange_strong(k, kTomb, std::memory_order_acq_rel)) break;
      if (count) track_uncount(ptr, v);
      *packed = v;
      return true;
    }
  }
  g_unknown_frees.fetch_add(1, std::memory_order_relaxed);
  return false;
}

// A taken block's bytes off its stripe (and its sampled stack's live bytes).
void track_uncount(void* ptr, std::uint64_t packed) {
  const std::size_t n = static_cast<std::size_t>(packed & kSizeMask);
  Stripe& s = stripe(mix(reinterpret_cast<uptr>(ptr)));
  s.bytes.fetch_sub(static_cast<long long>(n), std::memory_order_relaxed);
  s.blocks.fetch_sub(1, std::memory_order_relaxed);
  if (const unsigned stack1 = static_cast<unsigned>(packed >> kStackShift))
    sample_live_remove(stack1, n);
}

Region g_regions[kRegions];
std::atomic<int> g_regions_hi{0};  // entries at or above this were never used
std::size_t g_page = 4096;

}  // namespace arenalab::agent::detail
