// SPDX-License-Identifier: Apache-2.0
// What sample mode (sample.cc) and full mode (full_log.cc) share (profile.cc): the call-stack
// table, its lock, the output directory, and each mode's set-up.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "arenalab/preload/stack.h"
#include "state.h"

#pragma GCC visibility push(hidden)

namespace arenalab::preload {

inline constexpr std::size_t kMaxStacks = 1 << 16;
inline constexpr std::size_t kStackHashSize = 1 << 17;  // open addressing over stack ids

// Guards the stack table's inserts and sample mode's block table.
extern SpinLock g_prof_lock;
extern Stack* g_stacks;  // kMaxStacks entries, mapped by profile_init (null: off)
extern std::atomic<std::uint32_t> g_stack_count;
extern char g_profile_dir[1024];  // the output directory

// The unwinder (libunwind's unw_backtrace, else backtrace(3)) and this library's executable
// segment, whose frames are dropped from the top of a stack (set by profile_init).
extern int (*g_unwind)(void**, int);
extern std::uintptr_t g_self_lo, g_self_hi;
// Frames dropped from the top of a stack: those inside this library (the hook, sample_alloc,
// capture), found by address, so inlining decisions never shift the stack.
inline constexpr int kSkipFrames = 4;  // upper bound on our own frames, for the capture buffer

// capture_stack (state.h), inline: full mode unwinds every allocation, and each frame of ours
// costs the unwinder what one of the program's does (about 130 instructions, callgrind), so
// full_alloc does not add capture_stack's frame to walk. The stack is left in `raw` (room for
// kMaxDepth + kSkipFrames frames): returns where it starts in raw, *depth its length (at most
// kMaxDepth), so that full mode copies no frame (a copy loop was 190 instructions an allocation
// of sqlite3, callgrind).
__attribute__((always_inline)) inline void** capture_stack_in_place(void** raw, int* depth) {
  int n = 0;
  {
    BusyScope unwinding(t_state, kUnwinding);  // see Hook in accounting.h
    n = g_unwind ? g_unwind(raw, kMaxDepth + kSkipFrames) : 0;
  }
  int i = 0;
  while (i < n && reinterpret_cast<std::uintptr_t>(raw[i]) >= g_self_lo &&
         reinterpret_cast<std::uintptr_t>(raw[i]) < g_self_hi)
    ++i;
  *depth = n - i < kMaxDepth ? n - i : kMaxDepth;
  return raw + i;
}

__attribute__((always_inline)) inline int capture_stack_inline(void** frames, int max) {
  void* raw[kMaxDepth + kSkipFrames];
  int n = 0;
  void** const s = capture_stack_in_place(raw, &n);
  if (n > max) n = max;
  __builtin_memcpy(frames, s, sizeof(void*) * static_cast<std::size_t>(n));
  return n;
}

// Sample mode's sampled allocation (the countdown at or below 0), unwound in the caller's own
// frame: each frame of ours costs the unwinder about 150 instructions (callgrind), so malloc's
// sampled path (malloc_sample_out) walks one frame of ours where it walked three (malloc_rest,
// sample_alloc, capture_stack).
__attribute__((always_inline)) inline void sample_alloc_inline(ThreadState& t, void* p,
                                                               size_t size) {
  const long long next = sample_begin(t);
  if (next == 0) return;
  void* raw[kMaxDepth + kSkipFrames];
  int depth = 0;
  void* const* const frames = capture_stack_in_place(raw, &depth);
  t.countdown = next;  // the unwinder's own mallocs (its first use) do not count
  sample_record(p, size, frames, depth);
}

// Full mode's allocation (on_alloc, accounting.h): unwound in the hook's own frame, so that the
// unwinder walks one frame of ours less (about 108 instructions an allocation of sqlite3,
// callgrind), then logged (full_log.cc).
extern bool g_full_on;
void full_log_alloc(void* p, size_t size, void* const* frames, int depth);
__attribute__((always_inline)) inline void full_alloc(void* p, size_t size) {
  if (!g_full_on) return;
  void* raw[kMaxDepth + kSkipFrames];
  int depth = 0;
  void* const* const frames = capture_stack_in_place(raw, &depth);
  full_log_alloc(p, size, frames, depth);
}

// Finds or adds a stack; lock held. Returns its id, or -1 when the table is full.
long find_stack(void* const* frames, int depth, bool* added);
// Finds a stack without the lock (the index is published with release stores), or adds it
// under the lock. For the full log, where every allocation looks its stack up; `hash` is
// frames_hash(frames, depth).
long find_stack_shared(void* const* frames, int depth, std::uint64_t hash, bool* added);

// Each mode's set-up, from profile_init once the stack table exists.
void sample_init();
void full_log_init();
// The fork child: full mode's log is the parent's.
void full_log_atfork_child();
// A traced fork child names its heap dumps heap.<pid>.<seq>.heap (sample.cc).
void sample_traced_child();

}  // namespace arenalab::preload

#pragma GCC visibility pop
