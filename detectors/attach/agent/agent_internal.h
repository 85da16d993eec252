// SPDX-License-Identifier: Apache-2.0
// Level count's internals, shared by its files (a split by concern of one translation unit):
// live_table.cc (the blocks and mappings live since the attach), hooks.cc (the hook functions
// and the real ones they forward to), maps_snapshot.cc (/proc/self/maps as a pass saw it) and
// got_patch.cc (the GOT patching, count_start ... count_read of got_hooks.h). Everything here is
// in namespace detail, hidden: nothing of it leaves libarenalab_agent.so (agent.map). The tiny
// helpers a hook calls are inline here so the hot path stays as it was in one file.
#pragma once

#include "sampling.h"

#include <dlfcn.h>
#include <link.h>
#include <sys/types.h>

#include <atomic>
#include <cstddef>
#include <cstdint>

// level count's dlopen trampoline (assembly, hooks.cc): outside every namespace, C linkage.
extern "C" void arenalab_h_dlopen();

// Hidden, declarations included (so that a hook reaches them directly, never through the GOT).
#pragma GCC visibility push(hidden)
namespace arenalab::agent::detail {

using uptr = std::uintptr_t;

// ---- The blocks allocated since the attach: open-addressing tables of (pointer, size). A free
// finds its block here or not at all: a block allocated before the attach (or through a path no
// hook sees) is not in them, so its free leaves the counts alone (live never goes negative).
// Level 0 has 2^16 entries of 16 bytes; when an insert finds no room within kProbe entries it
// goes on to the next level, twice the size, mapped on first use (MAP_NORESERVE: pages are
// touched as entries land on them), up to 2^23 entries: about 32 bytes of table per block live
// since the attach, 255 MiB of address space at most. A block that finds no room anywhere is not
// counted (attach_untracked).
constexpr int kLevels = 8;
constexpr int kLevel0Bits = 16;
constexpr std::size_t kProbe = 32;
constexpr uptr kEmpty = 0, kTomb = 1;
struct Entry {
  std::atomic<uptr> key;
  std::atomic<std::uint64_t> size;  // the requested size; level sample: its stack id + 1 above
                                    // kStackShift (sampling.h), 0 when not sampled
};
extern std::atomic<Entry*> g_levels[kLevels];

inline std::size_t level_slots(int level) { return std::size_t{1} << (kLevel0Bits + level); }

// Live counts, striped by hash so threads allocating at once mostly touch different lines.
constexpr int kStripes = 64;
struct alignas(64) Stripe {
  std::atomic<long long> bytes{0};
  std::atomic<long long> blocks{0};
};
extern Stripe g_stripes[kStripes];
extern std::atomic<long long> g_unknown_frees;
extern std::atomic<long long> g_untracked;
extern std::atomic<long long> g_mmap_bytes;
extern std::atomic<int> g_active;
extern std::atomic<long long> g_maps_unread;  // passes without a whole /proc/self/maps
extern std::atomic<long long> g_maps_bytes;   // its size at the last pass

inline bool active() { return g_active.load(std::memory_order_relaxed) != 0; }

// Fibonacci hashing of the pointer (blocks are 16-byte aligned): the top bits of the product.
inline std::uint64_t mix(uptr p) {
  return static_cast<std::uint64_t>(p >> 4) * 0x9E3779B97F4A7C15ULL;
}
inline std::size_t home(std::uint64_t m, int level) {
  return static_cast<std::size_t>(m >> (64 - (kLevel0Bits + level)));
}
inline Stripe& stripe(std::uint64_t m) { return g_stripes[m & (kStripes - 1)]; }

// live_table.cc: the table of a level (mapped on first use when `create`); a block in and out.
Entry* level_table(int level, bool create);
// `count` false: the entry alone, its bytes left as they were (realloc's old block: its bytes
// come off with track_uncount once the new block is counted, so live bytes never read low
// mid-copy; a failed realloc puts the entry back uncounted, its bytes never having left).
bool track_add(void* ptr, std::size_t n, unsigned stack1, bool count = true);  // false: no room
bool track_take(void* ptr, std::uint64_t* packed, bool count = true);
void track_uncount(void* ptr, std::uint64_t packed);

// ---- The program's own anonymous mappings since the attach: [start, end) and the bytes still
// counted of each (a partial munmap takes its overlap off). 4096 at a time; more are not counted.
constexpr int kRegions = 4096;
struct Region {
  std::atomic<uptr> start{0};
  std::atomic<uptr> end{0};
  std::atomic<long long> bytes{0};
};
extern Region g_regions[kRegions];
extern std::atomic<int> g_regions_hi;  // entries at or above this were never used
extern std::size_t g_page;

inline uptr page_up(std::size_t n) { return (n + g_page - 1) & ~(g_page - 1); }

// ---- The hooked symbols (one list: the ids, the real functions, the hooks, the names).
enum Kind : unsigned char { kC, kCxx, kMap, kDl };
#define ARENALAB_COUNT_HOOKS(X)                \
  X(malloc, kC)                                \
  X(free, kC)                                  \
  X(calloc, kC)                                \
  X(realloc, kC)                               \
  X(posix_memalign, kC)                        \
  X(aligned_alloc, kC)                         \
  X(memalign, kC)                              \
  X(valloc, kC)                                \
  X(pvalloc, kC)                               \
  X(_Znwm, kCxx)                               \
  X(_Znam, kCxx)                               \
  X(_ZnwmRKSt9nothrow_t, kCxx)                 \
  X(_ZnamRKSt9nothrow_t, kCxx)                 \
  X(_ZnwmSt11align_val_t, kCxx)                \
  X(_ZnamSt11align_val_t, kCxx)                \
  X(_ZnwmSt11align_val_tRKSt9nothrow_t, kCxx)  \
  X(_ZnamSt11align_val_tRKSt9nothrow_t, kCxx)  \
  X(_ZdlPv, kCxx)                              \
  X(_ZdaPv, kCxx)                              \
  X(_ZdlPvm, kCxx)                             \
  X(_ZdaPvm, kCxx)                             \
  X(_ZdlPvSt11align_val_t, kCxx)               \
  X(_ZdaPvSt11align_val_t, kCxx)               \
  X(_ZdlPvmSt11align_val_t, kCxx)              \
  X(_ZdaPvmSt11align_val_t, kCxx)              \
  X(_ZdlPvRKSt9nothrow_t, kCxx)                \
  X(_ZdaPvRKSt9nothrow_t, kCxx)                \
  X(_ZdlPvSt11align_val_tRKSt9nothrow_t, kCxx) \
  X(_ZdaPvSt11align_val_tRKSt9nothrow_t, kCxx) \
  X(mmap, kMap)                                \
  X(mmap64, kMap)                              \
  X(munmap, kMap)                              \
  X(dlopen, kDl)

enum Id : int {
#define ARENALAB_ID(n, k) id_##n,
  ARENALAB_COUNT_HOOKS(ARENALAB_ID)
#undef ARENALAB_ID
      kHookCount
};

// hooks.cc: the real functions (dlsym(RTLD_DEFAULT), set once before any slot is patched), the
// base an operator new/delete variant of libstdc++ forwards to, and whether a variant forwards.
extern void* g_real[kHookCount];
Id ultimate(Id id);
extern std::atomic<bool> g_defer[kHookCount];

template <class F>
inline F real(Id id) {
  return reinterpret_cast<F>(g_real[id]);
}

struct HookDef {
  const char* name;
  uptr hook;
  Kind kind;
};
extern const HookDef kHooks[kHookCount];
int hook_id(const char* name);
extern "C" void* arenalab_real_dlopen;

// maps_snapshot.cc: /proc/self/maps read at a pass; whether a page is writable in it (1, 0, -1
// unknown); whether the loader is done with the object mapping an address (1, 0, -1 unknown).
void snapshot_maps();
int page_writable(uptr addr);
int loader_done(uptr addr);
extern uptr g_snapshot_after;
using FindObject = int (*)(void*, dl_find_object*);
extern FindObject g_find_object;
extern std::atomic<long long> g_relro_kept_writable;

// got_patch.cc: patches objects loaded since the last pass, under the patch lock.
void patch_loaded_since();

}  // namespace arenalab::agent::detail
#pragma GCC visibility pop
