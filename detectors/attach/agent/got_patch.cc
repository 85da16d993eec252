// SPDX-License-Identifier: Apache-2.0
// Level count's GOT patching: every loaded object's slots naming a hooked symbol (hooks.cc) are
// swapped for the hook and put back at the stop (the approach of heaptrack's heaptrack_inject:
// walk dl_iterate_phdr, read each object's DT_JMPREL / DT_RELA with DT_SYMTAB / DT_STRTAB, swap
// the slots naming those symbols); count_start ... count_read of got_hooks.h. docs/attach.md.
#include "agent_internal.h"
#include "got_hooks.h"
#include "sampling.h"

#include <dlfcn.h>
#include <elf.h>
#include <link.h>
#include <pthread.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstring>

namespace arenalab::agent {
namespace detail {
namespace {

std::atomic<long long> g_relro_pending{0};  // slots left for a later pass: RELRO not yet applied
// Written under g_patch_lock, read by count_read on the sampler thread.
std::atomic<long long> g_passes{0};  // full patch passes

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

}  // namespace

void patch_loaded_since() {
  pthread_mutex_lock(&g_patch_lock);
  patch_loaded_since_locked();
  pthread_mutex_unlock(&g_patch_lock);
}

namespace {

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
}  // namespace detail

using namespace detail;

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
