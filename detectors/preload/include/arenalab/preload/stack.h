// SPDX-License-Identifier: Apache-2.0
// A call stack's entry in a sampling table, shared by the interposer's sample mode and the
// attach agent's level sample (both write heap_v2 dumps and heap-sites.jsonl through the
// writers of format.h and heap_sites_file.h), the one table that interns stacks (also the
// interposer's mmap sites), and the one conversion to a dump record.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "arenalab/preload/format.h"

namespace arenalab::preload {

inline constexpr int kMaxDepth = 48;

struct Stack {
  std::uint64_t hash;
  std::uint32_t depth;
  void* frames[kMaxDepth];
  std::atomic<long long> live_objs;
  std::atomic<long long> live_bytes;
  std::atomic<long long> total_objs;  // cumulative (for the [accum] column)
  std::atomic<long long> total_bytes;
};

// The hash of a stack's frames, never 0: the key of the interning tables below. Two lanes of
// one multiply per frame, mixed at the end (full mode hashes every allocation's stack: 8
// instructions a frame with a mix per frame, callgrind); the final mix carries every bit of both
// lanes into the low bits the tables index by.
inline std::uint64_t frames_hash(void* const* frames, int depth) {
  constexpr std::uint64_t k = 0x9E3779B97F4A7C15ULL;
  std::uint64_t a = 1469598103934665603ULL,
                b = 1099511628211ULL ^ static_cast<std::uint64_t>(depth);
  int i = 0;
  for (; i + 1 < depth; i += 2) {
    a = (a ^ reinterpret_cast<std::uintptr_t>(frames[i])) * k;
    b = (b ^ reinterpret_cast<std::uintptr_t>(frames[i + 1])) * k;
  }
  if (i < depth) a = (a ^ reinterpret_cast<std::uintptr_t>(frames[i])) * k;
  std::uint64_t h = a ^ ((b << 31) | (b >> 33));
  h ^= h >> 32;
  h *= k;
  h ^= h >> 29;
  return h ? h : 1;
}

// True when a stored stack entry (fields hash, depth, frames) is this stack.
template <typename Entry>
bool same_stack(const Entry& e, std::uint64_t hash, void* const* frames, int depth) {
  return e.hash == hash && e.depth == static_cast<std::uint32_t>(depth) &&
         __builtin_memcmp(e.frames, frames, sizeof(void*) * static_cast<std::size_t>(depth)) == 0;
}

// Finds a stack in an interning table, or adds it: `entries` (fields hash, depth, frames: Stack,
// the interposer's mmap sites) numbered from 0 by `count`, at most `max` of them; `index` an
// open-addressing array of `index_size` entries (a power of two, larger than max) holding an
// entry's id + 1, 0 where empty, each stored with release so that a reader without the lock
// can search it. The caller holds the table's lock; nothing is allocated or called (it runs
// inside allocation hooks). The stack's id, or -1 when the table is full; *added says whether it
// was new.
template <typename Entry>
long intern_stack(Entry* entries, std::uint32_t max, std::uint32_t* index, std::size_t index_size,
                  std::atomic<std::uint32_t>& count, void* const* frames, int depth, bool* added) {
  *added = false;
  const std::uint64_t h = frames_hash(frames, depth);
  for (std::size_t i = h & (index_size - 1);; i = (i + 1) & (index_size - 1)) {
    const std::uint32_t slot = __atomic_load_n(&index[i], __ATOMIC_RELAXED);
    if (slot == 0) {
      const std::uint32_t id = count.load(std::memory_order_relaxed);
      if (id >= max) return -1;
      Entry& e = entries[id];
      e.hash = h;
      e.depth = static_cast<std::uint32_t>(depth);
      __builtin_memcpy(e.frames, frames, sizeof(void*) * static_cast<std::size_t>(depth));
      __atomic_store_n(&index[i], id + 1, __ATOMIC_RELEASE);  // for readers without the lock
      count.store(id + 1, std::memory_order_release);         // published to the dumper
      *added = true;
      return id;
    }
    if (same_stack(entries[slot - 1], h, frames, depth)) return slot - 1;
  }
}

// Fills *r from s; false when nothing of s is live (no record).
inline bool fill_heap_record(const Stack& s, HeapRecord* r) {
  r->objs = s.live_objs.load(std::memory_order_relaxed);
  if (r->objs <= 0) return false;
  r->frames = s.frames;
  r->depth = s.depth;
  r->bytes = s.live_bytes.load(std::memory_order_relaxed);
  r->acc_objs = s.total_objs.load(std::memory_order_relaxed);
  r->acc_bytes = s.total_bytes.load(std::memory_order_relaxed);
  return true;
}

}  // namespace arenalab::preload
