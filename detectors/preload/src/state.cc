// SPDX-License-Identifier: Apache-2.0
// The interposer's shared state (state.h), linked into both libraries: libarenalab_preload.so
// (the hooks, entry_points.cc) and libarenalab_preload_stats.so (stats mode: no hooks,
// stats_only.cc).
#include <sched.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "state.h"

namespace arenalab::preload {

RealFns g_real;
std::atomic<unsigned> g_flags{0};
__thread ThreadState t_state __attribute__((tls_model("initial-exec")));
Slot g_slots[kMaxSlots];
std::atomic<int> g_slot_high{1};  // slot 0 is the shared one
SpinLock g_unwind_arena_lock;

void slot_add_slow(ThreadState& t, long long bytes, long long allocs) {
  if (g_slot_high.load(std::memory_order_relaxed) < kMaxSlots) {
    const int s = g_slot_high.fetch_add(1, std::memory_order_relaxed);
    if (s < kMaxSlots) {
      Slot* slot = &g_slots[s];
      t.slotp = slot;
      return slot_add(t, bytes, allocs);
    }
  }
  g_slots[0].bytes.fetch_add(bytes, std::memory_order_relaxed);
  g_slots[0].allocs.fetch_add(allocs, std::memory_order_relaxed);
}

void sum_slots(long long* bytes, long long* allocs) {
  long long b = 0, a = 0;
  const int n = g_slot_high.load(std::memory_order_relaxed);
  for (int i = 0; i < n && i < kMaxSlots; ++i) {
    b += g_slots[i].bytes.load(std::memory_order_relaxed);
    a += g_slots[i].allocs.load(std::memory_order_relaxed);
  }
  *bytes = b;
  *allocs = a;
}

// Test-and-test-and-set: waiters spin on a plain load (the line stays shared, not bounced by
// exchanges) with a pause, and yield the CPU only after about a microsecond: the sections are
// short, and on a 2-core machine an early yield costs a context switch each time.
void SpinLock::lock() {
  for (int spins = 0;; ++spins) {
    if (v.load(std::memory_order_relaxed) == 0 && v.exchange(1, std::memory_order_acquire) == 0)
      return;
    if (spins < 256)
      __builtin_ia32_pause();
    else
      sched_yield();
  }
}

void* sys_mmap(size_t len) {
  void* p = reinterpret_cast<void*>(
      syscall(SYS_mmap, nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  return (reinterpret_cast<long>(p) < 0 && reinterpret_cast<long>(p) > -4096) ? nullptr : p;
}

void sys_munmap(void* p, size_t len) { syscall(SYS_munmap, p, len); }

}  // namespace arenalab::preload
