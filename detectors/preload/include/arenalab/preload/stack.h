// SPDX-License-Identifier: Apache-2.0
// A call stack's entry in a sampling table, shared by the interposer's sample mode and the
// attach agent's level sample (both write heap_v2 dumps and heap-sites.jsonl through the
// writers of format.h and heap_sites_file.h), and the one conversion to a dump record.
#pragma once

#include <atomic>
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
