// SPDX-License-Identifier: Apache-2.0
// Level count of an attach: the hooks that the GOT patching (got_patch.cc) points every loaded
// object's calls to the malloc family, operator new/delete and mmap/munmap at, which count what
// is live since the attach point (live_table.cc), and the real functions they forward to. Hooks
// run on someone else's hot path: no lock, no allocation, no TLS, no call to anything hooked;
// only relaxed atomics on a fixed table. docs/attach.md.
#include "agent_internal.h"
#include "sampling.h"

#include <dlfcn.h>
#include <link.h>
#include <sys/mman.h>
#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <cstring>

namespace arenalab::agent::detail {

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

namespace {

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
  // another thread at once), its bytes only once the new block is counted (live bytes never
  // read without a block still live mid-copy); it comes back, uncounted, when realloc fails and
  // keeps it.
  std::uint64_t had = 0;
  const bool known = old && track_take(old, &had, false);
  void* p = real<F>(id_realloc)(old, n);
  if (p) {
    track_add(p, n, pick(n));
    if (known) track_uncount(old, had);
  } else if (old && n != 0 && known) {
    if (!track_add(old, static_cast<std::size_t>(had & kSizeMask),
                   static_cast<unsigned>(had >> kStackShift), false))
      track_uncount(old, had);  // no room for it again: its bytes leave with its entry
  } else if (known) {
    track_uncount(old, had);  // realloc(old, 0) freed it
  }
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

// The table of the program's anonymous mappings (agent_internal.h, live_table.cc) is written
// here only, beside the mmap hooks: in their file these inline into the hooks as they always did.
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

}  // namespace

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

}  // namespace arenalab::agent::detail
