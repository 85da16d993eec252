// SPDX-License-Identifier: Apache-2.0
// Level count of an attach: the GOT of every loaded object is patched so that its calls to the
// malloc family, operator new/delete and mmap/munmap go through the hooks below, which count
// what is live since the attach point (the approach of heaptrack's heaptrack_inject: walk
// dl_iterate_phdr, read each object's DT_JMPREL / DT_RELA with DT_SYMTAB / DT_STRTAB, swap the
// slots naming those symbols). Hooks run on someone else's hot path: no lock, no allocation, no
// TLS, no call to anything hooked; only relaxed atomics on a fixed table. docs/attach.md.
#include "got_hooks.h"

#include "sampling.h"

#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

// level count's dlopen trampoline (assembly, below): outside every namespace, C linkage.
extern "C" void arenalab_h_dlopen();

namespace arenalab::agent {
namespace {

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
std::atomic<Entry*> g_levels[kLevels];

inline std::size_t level_slots(int level) { return std::size_t{1} << (kLevel0Bits + level); }

// Live counts, striped by hash so threads allocating at once mostly touch different lines.
constexpr int kStripes = 64;
struct alignas(64) Stripe {
  std::atomic<long long> bytes{0};
  std::atomic<long long> blocks{0};
};
Stripe g_stripes[kStripes];
std::atomic<long long> g_unknown_frees{0};
std::atomic<long long> g_untracked{0};
std::atomic<long long> g_mmap_bytes{0};
std::atomic<int> g_active{0};
std::atomic<long long> g_relro_pending{0};  // slots left for a later pass: RELRO not yet applied
// Written under g_patch_lock, read by count_read on the sampler thread.
std::atomic<long long> g_passes{0};       // full patch passes
std::atomic<long long> g_maps_unread{0};  // passes without a whole /proc/self/maps
std::atomic<long long> g_maps_bytes{0};   // its size at the last pass

inline bool active() { return g_active.load(std::memory_order_relaxed) != 0; }

// Fibonacci hashing of the pointer (blocks are 16-byte aligned): the top bits of the product.
inline std::uint64_t mix(uptr p) {
  return static_cast<std::uint64_t>(p >> 4) * 0x9E3779B97F4A7C15ULL;
}
inline std::size_t home(std::uint64_t m, int level) {
  return static_cast<std::size_t>(m >> (64 - (kLevel0Bits + level)));
}
inline Stripe& stripe(std::uint64_t m) { return g_stripes[m & (kStripes - 1)]; }

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
void track_add(void* ptr, std::size_t n, unsigned stack1) {
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
      Stripe& s = stripe(m);
      s.bytes.fetch_add(static_cast<long long>(n), std::memory_order_relaxed);
      s.blocks.fetch_add(1, std::memory_order_relaxed);
      if (stack1) sample_live_add(stack1, n);
      return;
    }
  }
  g_untracked.fetch_add(1, std::memory_order_relaxed);
  if (stack1) sample_lost();
}

// Removes the block: true and its entry's packed size (size and stack, as track_add stored it),
// or false and an unknown free when it was not allocated through a hook since the attach.
// Entries never go back to empty (only to tombstones, reused by inserts), so an empty entry
// ends the search in a level.
bool track_take(void* ptr, std::uint64_t* packed) {
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
      const std::size_t n = static_cast<std::size_t>(v & kSizeMask);
      Stripe& s = stripe(m);
      s.bytes.fetch_sub(static_cast<long long>(n), std::memory_order_relaxed);
      s.blocks.fetch_sub(1, std::memory_order_relaxed);
      if (const unsigned stack1 = static_cast<unsigned>(v >> kStackShift))
        sample_live_remove(stack1, n);
      *packed = v;
      return true;
    }
  }
  g_unknown_frees.fetch_add(1, std::memory_order_relaxed);
  return false;
}

// ---- The program's own anonymous mappings since the attach: [start, end) and the bytes still
// counted of each (a partial munmap takes its overlap off). 4096 at a time; more are not counted.
constexpr int kRegions = 4096;
struct Region {
  std::atomic<uptr> start{0};
  std::atomic<uptr> end{0};
  std::atomic<long long> bytes{0};
};
Region g_regions[kRegions];
std::atomic<int> g_regions_hi{0};  // entries at or above this were never used
std::size_t g_page = 4096;

inline uptr page_up(std::size_t n) { return (n + g_page - 1) & ~(g_page - 1); }

void region_add(uptr start, std::size_t len) {
  for (int i = 0; i < kRegions; ++i) {
    Region& r = g_regions[i];
    uptr free_start = 0;
    if (r.start.load(std::memory_order_relaxed) != 0) continue;
    if (!r.start.compare_exchange_strong(free_start, start, std::memory_order_acq_rel)) continue;
    r.end.store(start + len, std::memory_order_release);
    r.bytes.store(static_cast<long long>(len), std::memory_order_release);
    int hi = g_regions_hi.load(std::memory_order_relaxed);
    while (hi < i + 1 && !g_regions_hi.compare_exchange_weak(hi, i + 1)) {
    }
    g_mmap_bytes.fetch_add(static_cast<long long>(len), std::memory_order_relaxed);
    return;
  }
  g_untracked.fetch_add(1, std::memory_order_relaxed);
}

void region_remove(uptr a, std::size_t len) {
  const uptr b = a + len;
  const int hi = g_regions_hi.load(std::memory_order_acquire);
  for (int i = 0; i < hi; ++i) {
    Region& r = g_regions[i];
    const uptr s = r.start.load(std::memory_order_acquire);
    if (s == 0) continue;
    const uptr e = r.end.load(std::memory_order_acquire);
    const uptr lo = a > s ? a : s, up = b < e ? b : e;
    if (up <= lo) continue;
    long long cur = r.bytes.load(std::memory_order_relaxed), take = 0;
    do {
      take = static_cast<long long>(up - lo) < cur ? static_cast<long long>(up - lo) : cur;
    } while (!r.bytes.compare_exchange_weak(cur, cur - take));
    g_mmap_bytes.fetch_sub(take, std::memory_order_relaxed);
    if (cur - take == 0) {
      uptr expect = s;
      r.start.compare_exchange_strong(expect, 0, std::memory_order_acq_rel);
    }
  }
}

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

// The functions the program would have called: dlsym(RTLD_DEFAULT), the global scope's
// definition, which is what its slots are bound to (a slot bound elsewhere is left alone).
// Set once before any slot is patched; never cleared (a hook copied away stays callable).
void* g_real[kHookCount];

// libstdc++'s operator new variants call its plain or aligned operator new, and its deletes its
// plain or aligned delete, through its own GOT (new_opv.cc, new_opnt.cc, del_ops.cc, ...: Debian's
// libstdc++.so.6 has JUMP_SLOTs for _Znwm, _ZnwmSt11align_val_t, _ZdlPv, _ZdlPvSt11align_val_t).
// Once those four slots are hooked, a variant living in that library only forwards (its inner
// call counts), or a new[] would count twice. A variant defined elsewhere (tcmalloc, a program's
// own) counts itself.
Id ultimate(Id id) {
  switch (id) {
    case id__Znam:
    case id__ZnwmRKSt9nothrow_t:
    case id__ZnamRKSt9nothrow_t:
      return id__Znwm;
    case id__ZnamSt11align_val_t:
    case id__ZnwmSt11align_val_tRKSt9nothrow_t:
    case id__ZnamSt11align_val_tRKSt9nothrow_t:
      return id__ZnwmSt11align_val_t;
    case id__ZdaPv:
    case id__ZdlPvm:
    case id__ZdaPvm:
    case id__ZdlPvRKSt9nothrow_t:
    case id__ZdaPvRKSt9nothrow_t:
      return id__ZdlPv;
    case id__ZdaPvSt11align_val_t:
    case id__ZdlPvmSt11align_val_t:
    case id__ZdaPvmSt11align_val_t:
    case id__ZdlPvSt11align_val_tRKSt9nothrow_t:
    case id__ZdaPvSt11align_val_tRKSt9nothrow_t:
      return id__ZdlPvSt11align_val_t;
    default:
      return id;
  }
}
std::atomic<bool> g_defer[kHookCount];

template <class F>
inline F real(Id id) {
  return reinterpret_cast<F>(g_real[id]);
}

using Alloc1 = void* (*)(std::size_t);
using Alloc2 = void* (*)(std::size_t, uptr);
using Alloc3 = void* (*)(std::size_t, uptr, uptr);
using Free1 = void (*)(void*);
using Free2 = void (*)(void*, uptr);
using Free3 = void (*)(void*, uptr, uptr);

// Level sample: whether this allocation is sampled (sampling.h), its stack id + 1 if so.
inline unsigned pick(std::size_t n) { return sampling() ? sample_pick(n) : 0; }
inline void note_alloc(void* p, std::size_t n) {
  if (p && active()) track_add(p, n, pick(n));
}
inline void note_free(void* p) {
  std::uint64_t packed;
  if (p && active()) (void)track_take(p, &packed);
}
inline bool deferred(Id id) { return g_defer[id].load(std::memory_order_relaxed); }

void* h_malloc(std::size_t n) {
  void* p = real<Alloc1>(id_malloc)(n);
  note_alloc(p, n);
  return p;
}
void h_free(void* p) {
  note_free(p);  // before the real free: once freed, another thread may get the address back
  real<Free1>(id_free)(p);
}
void* h_calloc(std::size_t n, std::size_t s) {
  void* p = real<void* (*)(std::size_t, std::size_t)>(id_calloc)(n, s);
  note_alloc(p, n * s);  // no overflow when p is not null
  return p;
}
void* h_realloc(void* old, std::size_t n) {
  using F = void* (*)(void*, std::size_t);
  if (!active()) return real<F>(id_realloc)(old, n);
  // The old block leaves the table first (realloc frees it, and its address may be handed to
  // another thread at once); it comes back when realloc fails and keeps it.
  std::uint64_t had = 0;
  const bool known = old && track_take(old, &had);
  void* p = real<F>(id_realloc)(old, n);
  if (p)
    track_add(p, n, pick(n));
  else if (old && n != 0 && known)
    track_add(old, static_cast<std::size_t>(had & kSizeMask),
              static_cast<unsigned>(had >> kStackShift));
  return p;
}
int h_posix_memalign(void** out, std::size_t align, std::size_t n) {
  const int rc = real<int (*)(void**, std::size_t, std::size_t)>(id_posix_memalign)(out, align, n);
  if (rc == 0) note_alloc(*out, n);
  return rc;
}
void* h_aligned_alloc(std::size_t align, std::size_t n) {
  void* p = real<void* (*)(std::size_t, std::size_t)>(id_aligned_alloc)(align, n);
  note_alloc(p, n);
  return p;
}
void* h_memalign(std::size_t align, std::size_t n) {
  void* p = real<void* (*)(std::size_t, std::size_t)>(id_memalign)(align, n);
  note_alloc(p, n);
  return p;
}
void* h_valloc(std::size_t n) {
  void* p = real<Alloc1>(id_valloc)(n);
  note_alloc(p, n);
  return p;
}
void* h_pvalloc(std::size_t n) {
  void* p = real<Alloc1>(id_pvalloc)(n);
  note_alloc(p, n);
  return p;
}

// operator new / delete: the extra arguments (std::align_val_t, const std::nothrow_t&, the size
// of a sized delete) are one register each, passed on as they came. A throwing new unwinds
// through the hook (x86-64 GCC emits unwind tables for it; it holds nothing to clean up).
#define ARENALAB_NEW1(n)                     \
  void* h_##n(std::size_t s) {               \
    void* p = real<Alloc1>(id_##n)(s);       \
    if (!deferred(id_##n)) note_alloc(p, s); \
    return p;                                \
  }
#define ARENALAB_NEW2(n)                     \
  void* h_##n(std::size_t s, uptr a) {       \
    void* p = real<Alloc2>(id_##n)(s, a);    \
    if (!deferred(id_##n)) note_alloc(p, s); \
    return p;                                \
  }
#define ARENALAB_NEW3(n)                       \
  void* h_##n(std::size_t s, uptr a, uptr b) { \
    void* p = real<Alloc3>(id_##n)(s, a, b);   \
    if (!deferred(id_##n)) note_alloc(p, s);   \
    return p;                                  \
  }
#define ARENALAB_DEL1(n)                 \
  void h_##n(void* p) {                  \
    if (!deferred(id_##n)) note_free(p); \
    real<Free1>(id_##n)(p);              \
  }
#define ARENALAB_DEL2(n)                 \
  void h_##n(void* p, uptr a) {          \
    if (!deferred(id_##n)) note_free(p); \
    real<Free2>(id_##n)(p, a);           \
  }
#define ARENALAB_DEL3(n)                 \
  void h_##n(void* p, uptr a, uptr b) {  \
    if (!deferred(id_##n)) note_free(p); \
    real<Free3>(id_##n)(p, a, b);        \
  }
ARENALAB_NEW1(_Znwm)
ARENALAB_NEW1(_Znam)
ARENALAB_NEW2(_ZnwmRKSt9nothrow_t)
ARENALAB_NEW2(_ZnamRKSt9nothrow_t)
ARENALAB_NEW2(_ZnwmSt11align_val_t)
ARENALAB_NEW2(_ZnamSt11align_val_t)
ARENALAB_NEW3(_ZnwmSt11align_val_tRKSt9nothrow_t)
ARENALAB_NEW3(_ZnamSt11align_val_tRKSt9nothrow_t)
ARENALAB_DEL1(_ZdlPv)
ARENALAB_DEL1(_ZdaPv)
ARENALAB_DEL2(_ZdlPvm)
ARENALAB_DEL2(_ZdaPvm)
ARENALAB_DEL2(_ZdlPvSt11align_val_t)
ARENALAB_DEL2(_ZdaPvSt11align_val_t)
ARENALAB_DEL3(_ZdlPvmSt11align_val_t)
ARENALAB_DEL3(_ZdaPvmSt11align_val_t)
ARENALAB_DEL2(_ZdlPvRKSt9nothrow_t)
ARENALAB_DEL2(_ZdaPvRKSt9nothrow_t)
ARENALAB_DEL3(_ZdlPvSt11align_val_tRKSt9nothrow_t)
ARENALAB_DEL3(_ZdaPvSt11align_val_tRKSt9nothrow_t)

using MmapFn = void* (*)(void*, std::size_t, int, int, int, off_t);
void* map_hook(Id id, void* addr, std::size_t len, int prot, int flags, int fd, off_t off) {
  if (!active()) return real<MmapFn>(id)(addr, len, prot, flags, fd, off);
  // MAP_FIXED replaces what was there: taken off first, as a munmap would.
  if ((flags & MAP_FIXED) && addr) region_remove(reinterpret_cast<uptr>(addr), page_up(len));
  void* r = real<MmapFn>(id)(addr, len, prot, flags, fd, off);
  if (r != MAP_FAILED && (flags & MAP_ANONYMOUS) && prot != PROT_NONE)
    region_add(reinterpret_cast<uptr>(r), page_up(len));
  return r;
}
void* h_mmap(void* a, std::size_t l, int p, int f, int fd, off_t o) {
  return map_hook(id_mmap, a, l, p, f, fd, o);
}
void* h_mmap64(void* a, std::size_t l, int p, int f, int fd, off_t o) {
  return map_hook(id_mmap64, a, l, p, f, fd, o);
}
int h_munmap(void* a, std::size_t len) {
  if (active()) region_remove(reinterpret_cast<uptr>(a), page_up(len));
  return real<int (*)(void*, std::size_t)>(id_munmap)(a, len);
}

// dlopen: objects a hooked call loads are patched before dlopen returns to its caller (no tick
// to wait for), below. glibc's dlopen takes its caller from its return address (dlopen.c:
// RETURN_ADDRESS (0)): the caller's namespace, and its DT_RPATH / DT_RUNPATH and $ORIGIN for a
// name without '/' or with '$'. A hook that called the real dlopen would make the agent that
// caller, so the hook is a trampoline (arenalab_h_dlopen, in assembly below) that asks
// dlopen_scope_kept() first: only when the caller's scope cannot change the result (a path with
// '/' and no '$', a caller in the base namespace or in no object) does it call dlopen itself
// and patch what was loaded (dlopen_and_patch); otherwise it jumps to the real dlopen with the
// caller's return address untouched, exactly as the unhooked call, and the sampler's next tick
// patches the new objects. Constructors run inside dlopen, before either: what they allocate is
// not counted.
void patch_loaded_since();  // below

extern "C" {
__attribute__((visibility("hidden"))) void* arenalab_real_dlopen = nullptr;

__attribute__((visibility("hidden"), used)) int arenalab_dlopen_scope_kept(const char* file, int,
                                                                           void* caller) {
  if (!active() || !file || !std::strchr(file, '/') || std::strchr(file, '$')) return 0;
  Dl_info info;
  link_map* lm = nullptr;
  if (!dladdr1(caller, &info, reinterpret_cast<void**>(&lm), RTLD_DL_LINKMAP) || !lm)
    return 1;  // not in an object (JIT code): glibc takes the base namespace, as a call from here
  Lmid_t ns = LM_ID_BASE;
  if (dlinfo(lm, RTLD_DI_LMID, &ns) != 0) return 0;
  return ns == LM_ID_BASE ? 1 : 0;
}

__attribute__((visibility("hidden"), used)) void* arenalab_dlopen_and_patch(const char* file,
                                                                            int mode) {
  void* h = reinterpret_cast<void* (*)(const char*, int)>(arenalab_real_dlopen)(file, mode);
  if (h && active()) patch_loaded_since();
  return h;
}
}

// rdi file, esi mode; 16-byte stack alignment at the inner call (entry: rsp = 8 mod 16, two
// pushes and 8 more make it 0). No frame stays behind on the jumping path.
__asm__(R"(
  .text
  .p2align 4
  .type arenalab_h_dlopen, @function
  .hidden arenalab_h_dlopen
arenalab_h_dlopen:
  pushq %rdi
  pushq %rsi
  subq $8, %rsp
  movq 24(%rsp), %rdx
  call arenalab_dlopen_scope_kept
  addq $8, %rsp
  popq %rsi
  popq %rdi
  testl %eax, %eax
  jnz 1f
  jmp *arenalab_real_dlopen(%rip)
1:
  jmp arenalab_dlopen_and_patch
  .size arenalab_h_dlopen, .-arenalab_h_dlopen
)");
// The trampoline's entry, named as a pointer like the other hooks (kHooks takes their values).
void (*const h_dlopen)() = &arenalab_h_dlopen;

struct HookDef {
  const char* name;
  uptr hook;
  Kind kind;
};
const HookDef kHooks[kHookCount] = {
#define ARENALAB_DEF(n, k) {#n, reinterpret_cast<uptr>(h_##n), k},
    ARENALAB_COUNT_HOOKS(ARENALAB_DEF)
#undef ARENALAB_DEF
};

int hook_id(const char* name) {
  for (int i = 0; i < kHookCount; ++i)
    if (std::strcmp(kHooks[i].name, name) == 0) return i;
  return -1;
}

// ---- Patching: the start call (on the injected thread), the sampler thread and a hooked dlopen
// patch and restore under g_patch_lock (the list of saved slots is theirs). Its order with the
// loader's locks is always this lock first (dl_iterate_phdr inside it); nothing under it takes
// the loader's dl_load_lock (no dlsym, no dlopen).
pthread_mutex_t g_patch_lock = PTHREAD_MUTEX_INITIALIZER;
struct Saved {
  uptr slot;
  uptr old;
  int id;
};
constexpr int kMaxSaved = 16384;
Saved g_saved[kMaxSaved];
int g_nsaved = 0;
long long g_objects = 0;  // objects with a slot patched in the last pass
unsigned long long g_adds = 0;

bool in_load(const dl_phdr_info* info, uptr addr, bool writable_only) {
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    if (ph.p_type != PT_LOAD || (writable_only && !(ph.p_flags & PF_W))) continue;
    const uptr lo = info->dlpi_addr + ph.p_vaddr;
    if (addr >= lo && addr < lo + ph.p_memsz) return true;
  }
  return false;
}

// /proc/self/maps as it was at the start of a patch or restore pass, to know whether a page is
// writable now: read once per pass in chunks of a static buffer, each whole line parsed as it
// comes into an array of (start, end, writable) mapped by the agent itself (grown by mremap, kept
// for the next pass): any size of maps, and no allocation from the target's malloc.
struct MapRange {
  uptr lo, hi;
  bool writable;
};
MapRange* g_ranges = nullptr;
std::size_t g_ranges_cap = 0, g_nranges = 0;
bool g_ranges_sorted = true;  // the kernel lists mappings by address; checked, not assumed
bool g_maps_ok = false;
char g_chunk[64 * 1024];  // a line of maps is at most ~80 bytes and a path (PATH_MAX)

bool ranges_push(uptr lo, uptr hi, bool w) {
  if (g_nranges == g_ranges_cap) {
    const std::size_t cap = g_ranges_cap ? 2 * g_ranges_cap : 4096;
    void* m = g_ranges ? mremap(g_ranges, g_ranges_cap * sizeof(MapRange), cap * sizeof(MapRange),
                                MREMAP_MAYMOVE)
                       : mmap(nullptr, cap * sizeof(MapRange), PROT_READ | PROT_WRITE,
                              MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) return false;
    g_ranges = static_cast<MapRange*>(m);
    g_ranges_cap = cap;
  }
  if (g_nranges && lo < g_ranges[g_nranges - 1].lo) g_ranges_sorted = false;
  g_ranges[g_nranges++] = {lo, hi, w};
  return true;
}

// Hex digits from p up to e; false when there are none.
bool parse_hex(const char*& p, const char* e, uptr* v) {
  uptr x = 0;
  const char* s = p;
  for (; p < e; ++p) {
    const char c = *p;
    const int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (d < 0) break;
    x = x << 4 | static_cast<uptr>(d);
  }
  *v = x;
  return p != s;
}

// One line "lo-hi perms ...", [p, e) without its newline.
bool parse_maps_line(const char* p, const char* e) {
  uptr lo = 0, hi = 0;
  if (!parse_hex(p, e, &lo) || p == e || *p++ != '-' || !parse_hex(p, e, &hi)) return false;
  if (e - p < 3 || p[0] != ' ') return false;
  return ranges_push(lo, hi, p[2] == 'w');
}

// The object (its dlpi_addr + 1) the loader was seen done with before the current snapshot was
// read; 0: none (write_slot).
uptr g_snapshot_after = 0;

void snapshot_maps() {
  g_snapshot_after = 0;
  g_maps_ok = false;
  g_nranges = 0;
  g_ranges_sorted = true;
  const int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    g_maps_unread.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  std::size_t have = 0;  // bytes of a line not yet whole, at the chunk's start
  long long total = 0;
  bool ok = true;
  for (;;) {
    const ssize_t n = read(fd, g_chunk + have, sizeof g_chunk - have);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) ok = false;
    if (n <= 0) break;
    total += n;
    have += static_cast<std::size_t>(n);
    const char* line = g_chunk;
    const char* end = g_chunk + have;
    for (const char* nl; ok && (nl = static_cast<const char*>(
                                    std::memchr(line, '\n', static_cast<std::size_t>(end - line))));
         line = nl + 1)
      ok = parse_maps_line(line, nl);
    if (!ok) break;
    have = static_cast<std::size_t>(end - line);
    std::memmove(g_chunk, line, have);
    if (have == sizeof g_chunk) {  // a line longer than the chunk: not a maps line
      ok = false;
      break;
    }
  }
  close(fd);
  if (ok && have) ok = parse_maps_line(g_chunk, g_chunk + have);  // a last line without '\n'
  g_maps_ok = ok && g_nranges > 0;
  g_maps_bytes.store(total, std::memory_order_relaxed);
  if (!g_maps_ok) g_maps_unread.fetch_add(1, std::memory_order_relaxed);
}

// 1 writable, 0 mapped but not writable, -1 unknown (no snapshot, or not in it).
int page_writable(uptr addr) {
  if (!g_maps_ok) return -1;
  if (!g_ranges_sorted) {
    for (std::size_t i = 0; i < g_nranges; ++i)
      if (addr >= g_ranges[i].lo && addr < g_ranges[i].hi) return g_ranges[i].writable ? 1 : 0;
    return -1;
  }
  std::size_t lo = 0, hi = g_nranges;  // the last range starting at or below addr
  while (lo < hi) {
    const std::size_t mid = lo + (hi - lo) / 2;
    if (g_ranges[mid].lo <= addr)
      lo = mid + 1;
    else
      hi = mid;
  }
  if (lo == 0 || addr >= g_ranges[lo - 1].hi) return -1;
  return g_ranges[lo - 1].writable ? 1 : 0;
}

// Whether the loader is done with the object that maps `addr`: _dl_find_object (glibc 2.35)
// knows an object only from the end of the dlopen that loaded it, after every new object was
// relocated and its RELRO made read-only (dl-open.c: _dl_find_object_update follows the
// _dl_relocate_object calls, each of which ends in _dl_protect_relro); it forgets it at the
// start of dlclose. Lock-free and allocation-free (the unwinder calls it), so it may run under
// dl_iterate_phdr. Without it (an older glibc) no object counts as done: the caller defers.
using FindObject = int (*)(void*, dl_find_object*);
FindObject g_find_object = nullptr;
std::atomic<long long> g_relro_kept_writable{0};  // slots written on RELRO the program keeps RW

// 1 the loader is done with the object mapping addr, 0 it is not (still being loaded), -1
// cannot tell (no _dl_find_object).
int loader_done(uptr addr) {
  if (!g_find_object) return -1;
  dl_find_object r;
  if (g_find_object(reinterpret_cast<void*>(addr), &r) != 0) return 0;
  return addr >= reinterpret_cast<uptr>(r.dlfo_map_start) &&
         addr < reinterpret_cast<uptr>(r.dlfo_map_end);
}

// Writes a pointer into a slot of `info` with one atomic store. A page writable now is written
// as it is. A read-only one inside PT_GNU_RELRO (glibc's _dl_protect_relro: from the segment's
// start rounded down to its end rounded down) is made writable for the store and read-only
// again. Anything else is not written.
//
// The pass reads /proc/self/maps once, so a page's protection must not change between that read
// and the store. The loader is what changes it: a dlopen in another thread adds its object to
// the list dl_iterate_phdr walks before relocating it, and makes its RELRO pages read-only only
// after. So `patching`, a RELRO page seen writable is an object still being loaded: it is not
// written (neither stored to, which would fault once the loader's mprotect lands before the
// store, nor protected, which would fault the loader's own relocation writes), and the next pass
// (the sampler's next tick, or the hooked dlopen's pass after it returns) patches it read-only.
// Where glibc says (loader_done), the object's state is asked instead of guessed: one the loader
// is not done with is left to a later pass whatever the snapshot said (a RELRO page seen
// read-only may be an earlier instance's, dlclosed since, with a new one loading at its
// address); one it is done with can no longer have its protections changed by the loader, but
// the snapshot may predate the loader's mprotect, so a page of it seen writable is looked up in
// a snapshot read after that answer (once per object and pass): still writable, the program
// made it so (and keeps it: else every tick would pass again over a page that never turns
// read-only), and it is written as any writable page; read-only, as any read-only RELRO page.
// Outside RELRO the loader never changes a page's protection. At restore, a slot was patched
// on a page seen read-only or outside RELRO, so a writable RELRO page there is written as it is.
// (Why not pwrite to /proc/self/mem, which cannot fault: docs/attach.md, "RELRO".)
bool write_slot(const dl_phdr_info* info, uptr slot, uptr value, bool patching) {
  uptr relro_lo = 0, relro_hi = 0;
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    if (ph.p_type != PT_GNU_RELRO) continue;
    relro_lo = (info->dlpi_addr + ph.p_vaddr) & ~(g_page - 1);
    relro_hi = (info->dlpi_addr + ph.p_vaddr + ph.p_memsz) & ~(g_page - 1);
  }
  const uptr page = slot & ~(g_page - 1);
  const bool relro = page >= relro_lo && page < relro_hi;
  int w = page_writable(slot);
  if (patching && relro) {
    const int done = loader_done(slot);
    if (done == 0 || (done < 0 && w == 1)) {
      g_relro_pending.fetch_add(1, std::memory_order_relaxed);
      return false;  // still being relocated by a dlopen in another thread: a later pass
    }
    if (done == 1 && w == 1) {
      if (g_snapshot_after != info->dlpi_addr + 1) {
        snapshot_maps();  // read after the loader was seen done with this object
        g_snapshot_after = info->dlpi_addr + 1;
      }
      w = page_writable(slot);
      if (w == 1) g_relro_kept_writable.fetch_add(1, std::memory_order_relaxed);
    }
  }
  // Unknown (no snapshot): RELRO pages are taken to be read-only, others writable.
  const bool ro = w == 0 || (w < 0 && relro);
  if (ro && !relro) return false;  // read-only and not RELRO: not ours to change
  if (ro && mprotect(reinterpret_cast<void*>(page), g_page, PROT_READ | PROT_WRITE) != 0)
    return false;
  __atomic_store_n(reinterpret_cast<uptr*>(slot), value, __ATOMIC_RELEASE);
  if (ro) mprotect(reinterpret_cast<void*>(page), g_page, PROT_READ);
  return true;
}

const char* base_name(const char* path) {
  const char* s = std::strrchr(path, '/');
  return s ? s + 1 : path;
}
bool starts(const char* s, const char* prefix) {
  return std::strncmp(s, prefix, std::strlen(prefix)) == 0;
}

// d_ptr of a loaded object: glibc relocates them in place on x86-64; a value below the load
// address is still an offset (the vdso, ports with a read-only dynamic section).
template <class T>
T* dyn_ptr(const dl_phdr_info* info, ElfW(Addr) v) {
  return reinterpret_cast<T*>(v < info->dlpi_addr ? v + info->dlpi_addr : v);
}

void patch_relocs(const dl_phdr_info* info, const ElfW(Rela) * rel, std::size_t bytes,
                  const ElfW(Sym) * symtab, const char* strtab, bool skip_c, int* patched,
                  bool* hooked) {
  for (std::size_t i = 0; i < bytes / sizeof(ElfW(Rela)); ++i) {
    const ElfW(Rela)& r = rel[i];
    const auto type = ELF64_R_TYPE(r.r_info);
    const auto sym = ELF64_R_SYM(r.r_info);
    if (sym == 0) continue;
    if (type != R_X86_64_JUMP_SLOT && type != R_X86_64_GLOB_DAT &&
        !(type == R_X86_64_64 && r.r_addend == 0))
      continue;
    const int id = hook_id(strtab + symtab[sym].st_name);
    if (id < 0 || !g_real[id] || (skip_c && kHooks[id].kind != kCxx)) continue;
    const uptr slot = info->dlpi_addr + r.r_offset;
    if (!in_load(info, slot, true)) continue;  // not in a writable segment: never written here
    const uptr cur = __atomic_load_n(reinterpret_cast<uptr*>(slot), __ATOMIC_ACQUIRE);
    if (cur == kHooks[id].hook) {  // patched in an earlier pass
      ++*patched;
      hooked[id] = true;
      continue;
    }
    // Only a slot bound to the global definition (or, for a lazy PLT slot, still pointing at
    // its own stub) is taken: one bound elsewhere (RTLD_DEEPBIND, a wrapper the program set in
    // a function-pointer table) would be forwarded to the wrong function.
    const uptr want = reinterpret_cast<uptr>(g_real[id]);
    if (cur != want && !(type == R_X86_64_JUMP_SLOT && in_load(info, cur, false))) continue;
    if (g_nsaved == kMaxSaved) return;
    if (!write_slot(info, slot, kHooks[id].hook, true)) continue;
    // A slot saved before (its object dlclosed and another loaded at the same address, or the
    // slot put back by someone since) keeps one entry: the newest value is what goes back.
    int k = 0;
    while (k < g_nsaved && g_saved[k].slot != slot) ++k;
    g_saved[k] = {slot, cur, id};
    if (k == g_nsaved) ++g_nsaved;
    ++*patched;
    hooked[id] = true;
  }
}

int patch_object(dl_phdr_info* info, std::size_t, void*) {
  const char* name = info->dlpi_name ? info->dlpi_name : "";
  const char* b = base_name(name);
  // Not ourselves, not the loader (its own malloc is not the program's), not the vdso.
  if (in_load(info, reinterpret_cast<uptr>(&patch_object), false)) return 0;
  if (starts(b, "ld-linux") || starts(b, "ld-") || starts(b, "linux-vdso") ||
      starts(b, "linux-gate"))
    return 0;
  // The allocator's own library (its calls to mmap and to itself are the allocator's, not the
  // program's). glibc's libc is kept: its malloc calls its internals directly, and the calls it
  // makes through its GOT (strdup, getline, fopen, ...) are made for the program.
  const bool libc = starts(b, "libc.so");
  if (!libc && (starts(b, "libjemalloc") || starts(b, "libtcmalloc") || starts(b, "libmimalloc") ||
                starts(b, "libtbbmalloc") ||
                in_load(info, reinterpret_cast<uptr>(g_real[id_malloc]), false)))
    return 0;
  // An object that defines operator new (libstdc++) calls malloc from it: hooking both would
  // count a new twice, so only its new/delete slots are taken.
  const bool skip_c =
      g_real[id__Znwm] && in_load(info, reinterpret_cast<uptr>(g_real[id__Znwm]), false);
  const ElfW(Dyn)* dyn = nullptr;
  for (int i = 0; i < info->dlpi_phnum; ++i)
    if (info->dlpi_phdr[i].p_type == PT_DYNAMIC)
      dyn = reinterpret_cast<const ElfW(Dyn)*>(info->dlpi_addr + info->dlpi_phdr[i].p_vaddr);
  if (!dyn) return 0;
  const ElfW(Sym)* symtab = nullptr;
  const char* strtab = nullptr;
  const ElfW(Rela)* rela = nullptr, *jmprel = nullptr;
  std::size_t rela_bytes = 0, jmprel_bytes = 0;
  for (const ElfW(Dyn)* d = dyn; d->d_tag != DT_NULL; ++d) {
    switch (d->d_tag) {
      case DT_SYMTAB:
        symtab = dyn_ptr<const ElfW(Sym)>(info, d->d_un.d_ptr);
        break;
      case DT_STRTAB:
        strtab = dyn_ptr<const char>(info, d->d_un.d_ptr);
        break;
      case DT_RELA:
        rela = dyn_ptr<const ElfW(Rela)>(info, d->d_un.d_ptr);
        break;
      case DT_RELASZ:
        rela_bytes = d->d_un.d_val;
        break;
      case DT_JMPREL:
        jmprel = dyn_ptr<const ElfW(Rela)>(info, d->d_un.d_ptr);
        break;
      case DT_PLTRELSZ:
        jmprel_bytes = d->d_un.d_val;
        break;
      default:
        break;
    }
  }
  if (!symtab || !strtab) return 0;
  int patched = 0;
  bool hooked[kHookCount] = {};
  if (rela) patch_relocs(info, rela, rela_bytes, symtab, strtab, skip_c, &patched, hooked);
  if (jmprel) patch_relocs(info, jmprel, jmprel_bytes, symtab, strtab, skip_c, &patched, hooked);
  if (patched) ++g_objects;
  if (skip_c)  // the library of operator new: its variants forward once its bases are hooked
    for (int i = 0; i < kHookCount; ++i) {
      const Id base = ultimate(static_cast<Id>(i));
      if (base != i && g_real[i] && in_load(info, reinterpret_cast<uptr>(g_real[i]), false))
        g_defer[i].store(hooked[base], std::memory_order_relaxed);
    }
  return 0;
}

int read_adds(dl_phdr_info* info, std::size_t size, void* out) {
  if (size >= offsetof(dl_phdr_info, dlpi_subs))
    *static_cast<unsigned long long*>(out) = info->dlpi_adds;
  return 1;  // the counter is the same in every entry: one is enough
}

// The last pass left slots of an object still being loaded: the next tick passes again even if
// nothing was loaded since. (A RELRO page the program itself keeps writable is written, not
// left: write_slot asks whether the loader is done with its object. Only on a glibc without
// _dl_find_object would such a page make every tick a full pass, attach_relro_pending climbing.)
bool g_retry = false;

// Marks the saved slots that lie in a loaded object (bit 30 of Saved::id is borrowed as the
// mark, cleared again by drop_unloaded).
int mark_loaded(dl_phdr_info* info, std::size_t, void*) {
  for (int i = 0; i < g_nsaved; ++i)
    if (g_saved[i].slot && in_load(info, g_saved[i].slot, true)) g_saved[i].id |= 1 << 30;
  return 0;
}

// Forgets the slots of objects dlclosed since they were patched (their memory is gone, and a
// program that dlopens and dlcloses in a loop would otherwise fill g_saved with them); order kept.
void drop_unloaded() {
  dl_iterate_phdr(mark_loaded, nullptr);
  int n = 0;
  for (int i = 0; i < g_nsaved; ++i) {
    if (!(g_saved[i].id & (1 << 30))) continue;
    g_saved[n] = g_saved[i];
    g_saved[n++].id &= ~(1 << 30);
  }
  g_nsaved = n;
}

void patch_all() {
  g_passes.fetch_add(1, std::memory_order_relaxed);
  drop_unloaded();
  dl_iterate_phdr(read_adds, &g_adds);
  snapshot_maps();
  const long long pending = g_relro_pending.load(std::memory_order_relaxed);
  dl_iterate_phdr(patch_object, nullptr);
  g_retry = g_relro_pending.load(std::memory_order_relaxed) != pending;
}

// Objects loaded since the last pass (cheap when none was: one dl_iterate_phdr), or all again
// when the last one left an object still being loaded; lock held.
void patch_loaded_since_locked() {
  if (!active()) return;  // detached meanwhile: nothing goes in again
  unsigned long long adds = 0;
  dl_iterate_phdr(read_adds, &adds);
  if (adds == g_adds && !g_retry) return;
  g_objects = 0;
  patch_all();
}

void patch_loaded_since() {
  pthread_mutex_lock(&g_patch_lock);
  patch_loaded_since_locked();
  pthread_mutex_unlock(&g_patch_lock);
}

int restore_object(dl_phdr_info* info, std::size_t, void*) {
  // One entry per slot (patch_relocs keeps the newest value seen before a patch), newest first;
  // a slot that no longer holds a hook (someone wrote it since) is left alone.
  for (int i = g_nsaved - 1; i >= 0; --i) {
    Saved& s = g_saved[i];
    if (s.slot == 0 || !in_load(info, s.slot, true)) continue;
    if (__atomic_load_n(reinterpret_cast<uptr*>(s.slot), __ATOMIC_ACQUIRE) == kHooks[s.id].hook)
      write_slot(info, s.slot, s.old, false);
    s.slot = 0;
  }
  return 0;
}

}  // namespace

int count_start(char* why, std::size_t why_size, unsigned long long sample_bytes) {
  g_page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
  // A new attach counts from its own point: every level back to zero pages (kept mapped: a
  // hook still running from the last attach may be reading one).
  for (int level = 0; level < kLevels; ++level)
    if (Entry* t = g_levels[level].load())
      madvise(t, level_slots(level) * sizeof(Entry), MADV_DONTNEED);
  if (!level_table(0, true)) {
    std::snprintf(why, why_size, "cannot map the agent's pointer table (%zu KiB)",
                  level_slots(0) * sizeof(Entry) >> 10);
    return 1;
  }
  for (Stripe& s : g_stripes) {
    s.bytes.store(0);
    s.blocks.store(0);
  }
  for (Region& r : g_regions) {
    r.start.store(0);
    r.end.store(0);
    r.bytes.store(0);
  }
  g_regions_hi.store(0);
  g_unknown_frees.store(0);
  g_untracked.store(0);
  g_mmap_bytes.store(0);
  g_relro_pending.store(0);
  g_passes.store(0);
  g_relro_kept_writable.store(0);
  g_maps_unread.store(0);
  g_maps_bytes.store(0);
  g_retry = false;
  g_nsaved = 0;
  g_objects = 0;
  for (std::atomic<bool>& d : g_defer) d.store(false);
  for (int i = 0; i < kHookCount; ++i) g_real[i] = dlsym(RTLD_DEFAULT, kHooks[i].name);
  arenalab_real_dlopen = g_real[id_dlopen];
  g_find_object = reinterpret_cast<FindObject>(dlsym(RTLD_DEFAULT, "_dl_find_object"));
  if (!g_real[id_malloc] || !g_real[id_free]) {
    std::snprintf(why, why_size, "no malloc/free in the target's global scope");
    return 1;
  }
  if (sample_bytes && sample_start(sample_bytes, why, why_size) != 0) return 1;
  g_active.store(1);
  pthread_mutex_lock(&g_patch_lock);
  patch_all();
  pthread_mutex_unlock(&g_patch_lock);
  return 0;
}

void count_rescan() {
  pthread_mutex_lock(&g_patch_lock);
  patch_loaded_since_locked();
  pthread_mutex_unlock(&g_patch_lock);
}

void count_stop() {
  pthread_mutex_lock(&g_patch_lock);
  snapshot_maps();
  dl_iterate_phdr(restore_object, nullptr);
  g_nsaved = 0;  // slots of objects unloaded since were not written: their memory is gone
  g_objects = 0;
  sample_stop();
  g_active.store(0);
  pthread_mutex_unlock(&g_patch_lock);
}

CountTotals count_read() {
  CountTotals t;
  for (const Stripe& s : g_stripes) {
    t.live_bytes += s.bytes.load(std::memory_order_relaxed);
    t.live_allocs += s.blocks.load(std::memory_order_relaxed);
  }
  t.mmap_bytes = g_mmap_bytes.load(std::memory_order_relaxed);
  t.unknown_frees = g_unknown_frees.load(std::memory_order_relaxed);
  t.untracked = g_untracked.load(std::memory_order_relaxed);
  t.relro_pending = g_relro_pending.load(std::memory_order_relaxed);
  t.passes = g_passes.load(std::memory_order_relaxed);
  t.relro_kept_writable = g_relro_kept_writable.load(std::memory_order_relaxed);
  t.maps_unread = g_maps_unread.load(std::memory_order_relaxed);
  t.maps_bytes = g_maps_bytes.load(std::memory_order_relaxed);
  int live = 0;
  for (int i = 0; i < g_nsaved; ++i) live += g_saved[i].slot != 0;
  t.slots = live;
  t.objects = g_objects;
  for (int level = 0; level < kLevels; ++level)
    if (g_levels[level].load(std::memory_order_relaxed))
      t.table_bytes += static_cast<long long>(level_slots(level) * sizeof(Entry));
  return t;
}

}  // namespace arenalab::agent
