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

// Finds or adds a stack; lock held. Returns its id, or -1 when the table is full.
long find_stack(void* const* frames, int depth, bool* added);
// Finds a stack without the lock (the index is published with release stores), or adds it
// under the lock. For the full log, where every allocation looks its stack up.
long find_stack_shared(void* const* frames, int depth, bool* added);

// Each mode's set-up, from profile_init once the stack table exists.
void sample_init();
void full_log_init();
// The fork child: full mode's log is the parent's.
void full_log_atfork_child();
// A traced fork child names its heap dumps heap.<pid>.<seq>.heap (sample.cc).
void sample_traced_child();

}  // namespace arenalab::preload

#pragma GCC visibility pop
