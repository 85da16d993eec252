// SPDX-License-Identifier: Apache-2.0
// The ELF scan behind allocator_text.h: which executable segments belong to the object that
// defines the next malloc and to the objects it needs (but the C and C++ runtime).
#include "allocator_text.h"

#include <elf.h>
#include <link.h>

#include <cstring>

#include "count_tables.h"
#include "state.h"

namespace arenalab::preload {

TextRange g_alloc_text[kMaxAllocTexts];
int g_alloc_texts = -1;

namespace {

bool g_alloc_scanned = false;  // the scan runs once (a fork child keeps its result)

const char* base_name(const char* path) {
  const char* slash = std::strrchr(path, '/');
  return slash ? slash + 1 : path;
}

// True when the file name of `path` starts with one of `prefixes`.
template <std::size_t N>
bool name_starts_with(const char* path, const char* const (&prefixes)[N]) {
  const char* base = base_name(path);
  for (const char* prefix : prefixes)
    if (std::strncmp(base, prefix, std::strlen(prefix)) == 0) return true;
  return false;
}

bool runtime_object(const char* path) {
  static const char* const kRuntime[] = {"libc.so",    "ld-linux", "libstdc++",
                                         "libgcc_s",   "libm.so",  "libdl.so",
                                         "libpthread", "librt.so", "libarenalab_preload"};
  return name_starts_with(path, kRuntime);
}

// The allocators whose own mmap calls the tests cover
// (tests/detectors/profilers/mmap_sites_test.py). An allocator that maps memory from anywhere else
// would have that mmap taken for the program's, and a sampled one unwound inside the allocator's
// locks: for any other allocator the fast paths keep marking the thread busy.
bool known_allocator(const char* path) {
  static const char* const kKnown[] = {"libjemalloc.so", "libmimalloc.so", "libtcmalloc.so",
                                       "libtcmalloc_minimal.so", "libtbbmalloc_proxy.so"};
  return name_starts_with(path, kKnown);
}

struct AllocScan {
  std::uintptr_t malloc_addr;
  const char* needed[16];  // DT_NEEDED names of the object defining malloc (but the runtime)
  bool matched[16];        // found loaded
  int n_needed;
  bool found;
  bool truncated;  // more needed objects or text ranges than the arrays hold
  int n_text;      // ranges written to g_alloc_text (published at the end)
};

void add_text_ranges(const dl_phdr_info* info, AllocScan* scan) {
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    if (ph.p_type != PT_LOAD || !(ph.p_flags & PF_X)) continue;
    if (scan->n_text == kMaxAllocTexts) {
      scan->truncated = true;
      return;
    }
    g_alloc_text[scan->n_text++] = {info->dlpi_addr + ph.p_vaddr,
                                    info->dlpi_addr + ph.p_vaddr + ph.p_memsz};
  }
}

// Pass 1: the object whose text holds malloc, if a known allocator: its ranges and the names it
// needs.
int scan_home(dl_phdr_info* info, size_t, void* arg) {
  auto* scan = static_cast<AllocScan*>(arg);
  bool home = false;
  const ElfW(Dyn)* dyn = nullptr;
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    const std::uintptr_t lo = info->dlpi_addr + ph.p_vaddr;
    if (ph.p_type == PT_LOAD && (ph.p_flags & PF_X) && scan->malloc_addr >= lo &&
        scan->malloc_addr < lo + ph.p_memsz)
      home = true;
    if (ph.p_type == PT_DYNAMIC) dyn = reinterpret_cast<const ElfW(Dyn)*>(lo);
  }
  if (!home) return 0;
  if (!info->dlpi_name || !known_allocator(info->dlpi_name)) return 1;
  scan->found = true;
  // Their aligned entry points return plain blocks of a size class, or whole pages.
  static const char* const kAlignedPlain[] = {"libjemalloc.so", "libtcmalloc.so",
                                              "libtcmalloc_minimal.so"};
  if (name_starts_with(info->dlpi_name, kAlignedPlain)) g_aligned_inside = false;
  add_text_ranges(info, scan);
  std::uintptr_t strtab = 0;
  for (const ElfW(Dyn)* d = dyn; d && d->d_tag != DT_NULL; ++d)
    if (d->d_tag == DT_STRTAB) strtab = d->d_un.d_ptr;
  // ld.so relocates DT_STRTAB in place where the dynamic section is writable.
  if (strtab && strtab < info->dlpi_addr) strtab += info->dlpi_addr;
  for (const ElfW(Dyn)* d = dyn; strtab && d && d->d_tag != DT_NULL; ++d) {
    if (d->d_tag != DT_NEEDED) continue;
    const char* name = reinterpret_cast<const char*>(strtab + d->d_un.d_val);
    if (runtime_object(name)) continue;
    if (scan->n_needed == 16) {
      scan->truncated = true;
      break;
    }
    scan->needed[scan->n_needed++] = name;
  }
  return 1;
}

// Pass 2: the loaded objects it needs, but for the runtime.
int scan_needed(dl_phdr_info* info, size_t, void* arg) {
  auto* scan = static_cast<AllocScan*>(arg);
  if (!info->dlpi_name || !info->dlpi_name[0] || runtime_object(info->dlpi_name)) return 0;
  const char* base = base_name(info->dlpi_name);
  for (int i = 0; i < scan->n_needed; ++i)
    if (!scan->matched[i] && std::strcmp(base, scan->needed[i]) == 0) {
      scan->matched[i] = true;
      add_text_ranges(info, scan);
    }
  return 0;
}

}  // namespace

// Once, from the constructor (before kDirect is set; a fork child keeps the result and never
// scans: another thread of the parent may have held the loader's lock at the fork). The
// address test is taken only when every object the allocator needs was found by its file
// name (a library loaded under another name, or more objects than the arrays hold, keeps the
// busy marking).
void find_allocator_text() {
  if (g_alloc_scanned || !g_real.malloc) return;
  g_alloc_scanned = true;
  AllocScan scan{};
  scan.malloc_addr = reinterpret_cast<std::uintptr_t>(g_real.malloc);
  dl_iterate_phdr(scan_home, &scan);
  if (!scan.found) return;
  if (scan.n_needed) dl_iterate_phdr(scan_needed, &scan);
  for (int i = 0; i < scan.n_needed; ++i)
    if (!scan.matched[i]) return;
  if (scan.truncated) return;
  __atomic_store_n(&g_alloc_texts, scan.n_text, __ATOMIC_RELEASE);
}

}  // namespace arenalab::preload
