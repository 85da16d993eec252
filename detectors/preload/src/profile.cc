// SPDX-License-Identifier: Apache-2.0
// Call stacks for sample and full modes (and mmap_sites.cc): the unwinder (libunwind, loaded
// privately, else glibc's backtrace), this library's own frames dropped, and the table that
// deduplicates stacks; profile_init sets it up and each mode's part after it.
//
// All tables live in memory mapped with the raw syscall; the only lock is taken on the rare
// sampled path (about once per --sample-bytes allocated), and on every event in full mode.
#include <dlfcn.h>
#include <execinfo.h>
#include <link.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include "arenalab/preload/format.h"
#include "arenalab/preload/protocol.h"
#include "profile.h"
#include "state.h"

namespace arenalab::preload {

SpinLock g_prof_lock;
std::uintptr_t g_self_lo = 0, g_self_hi = 0;
int (*g_unwind)(void**, int) = nullptr;
Stack* g_stacks = nullptr;
std::atomic<std::uint32_t> g_stack_count{0};
char g_profile_dir[1024];

namespace {

namespace protocol = preload::protocol;

std::uint32_t* g_stack_index = nullptr;  // hash -> stack id + 1

// The address range of this library's executable segment (for capture_stack()).
void find_self_text() {
  dl_iterate_phdr(
      [](dl_phdr_info* info, size_t, void*) -> int {
        for (int i = 0; i < info->dlpi_phnum; ++i) {
          const ElfW(Phdr)& ph = info->dlpi_phdr[i];
          if (ph.p_type != PT_LOAD || !(ph.p_flags & PF_X)) continue;
          const std::uintptr_t lo = info->dlpi_addr + ph.p_vaddr;
          const std::uintptr_t self = reinterpret_cast<std::uintptr_t>(&find_self_text);
          if (self >= lo && self < lo + ph.p_memsz) {
            g_self_lo = lo;
            g_self_hi = lo + ph.p_memsz;
            return 1;
          }
        }
        return 0;
      },
      nullptr);
}

}  // namespace

// Finds or adds a stack; lock held. Returns its id, or -1 when the table is full.
long find_stack(void* const* frames, int depth, bool* added) {
  return intern_stack(g_stacks, kMaxStacks, g_stack_index, kStackHashSize, g_stack_count, frames,
                      depth, added);
}

// Finds a stack without the lock (the index is published with release stores), or adds it
// under the lock. For the full log, where every allocation looks its stack up.
long find_stack_shared(void* const* frames, int depth, std::uint64_t h, bool* added) {
  *added = false;
  for (std::size_t i = h & (kStackHashSize - 1);; i = (i + 1) & (kStackHashSize - 1)) {
    const std::uint32_t slot = __atomic_load_n(&g_stack_index[i], __ATOMIC_ACQUIRE);
    if (slot == 0) break;
    const Stack& s = g_stacks[slot - 1];
    if (same_stack(s, h, frames, depth)) return slot - 1;
  }
  g_prof_lock.lock();
  const long id = find_stack(frames, depth, added);
  g_prof_lock.unlock();
  return id;
}

// ---- stacks (state.h): shared with mmap_sites.cc ----
int capture_stack(void** frames, int max) { return capture_stack_inline(frames, max); }

void profile_init(unsigned flags, unsigned long long sample_bytes, const char* out_dir) {
  if (sample_bytes) g_sample_bytes = static_cast<long long>(sample_bytes);
  std::size_t n = str_len(out_dir);
  if (n >= sizeof g_profile_dir) n = sizeof g_profile_dir - 1;
  std::memcpy(g_profile_dir, out_dir, n);
  g_profile_dir[n] = 0;
  if (!(flags & (kSample | kFull))) return;
  find_self_text();
  // libunwind's unw_backtrace caches unwind info per address (fast); loaded privately so its
  // exported _Unwind_Backtrace/backtrace do not interpose on the program's. Fallback: glibc
  // backtrace(). Either is primed here, so its first-use allocations happen now.
  const char* unwinder = env_value(protocol::kEnvUnwind);  // "glibc": backtrace(3) only
  if (unwinder && str_eq(unwinder, "glibc")) {
  } else if (void* h = dlopen("libunwind.so.8", RTLD_NOW | RTLD_LOCAL)) {
    g_unwind = reinterpret_cast<int (*)(void**, int)>(dlsym(h, "unw_backtrace"));
    // Per-thread caching: the default global cache takes a lock (and blocks signals around
    // it) on every unwind, which two allocating threads then contend for.
    using Policy = int (*)(void*, int);
    auto set_policy = reinterpret_cast<Policy>(dlsym(h, "_ULx86_64_set_caching_policy"));
    auto** space = reinterpret_cast<void**>(dlsym(h, "_ULx86_64_local_addr_space"));
    if (set_policy && space && *space) set_policy(*space, 2 /* UNW_CACHE_PER_THREAD */);
  }
  if (!g_unwind) g_unwind = &backtrace;
  void* prime[4];
  g_unwind(prime, 4);
  g_stacks = static_cast<Stack*>(sys_mmap(kMaxStacks * sizeof(Stack)));
  g_stack_index = static_cast<std::uint32_t*>(sys_mmap(kStackHashSize * sizeof(std::uint32_t)));
  sample_init();
  if (flags & kFull) full_log_init();
}

void profile_atfork_prepare() { g_prof_lock.lock(); }
void profile_atfork_parent() { g_prof_lock.unlock(); }
void profile_traced_child() { sample_traced_child(); }

void profile_atfork_child() {
  g_prof_lock.v.store(0);
  full_log_atfork_child();
}

}  // namespace arenalab::preload
