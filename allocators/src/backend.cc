// SPDX-License-Identifier: Apache-2.0
// In-process identification: dladdr finds the object that defines the
// called malloc; marker symbols looked up in that very object say which allocator it is.
#include <dlfcn.h>
#include <gnu/libc-version.h>
#include <link.h>

#include <cstdio>
#include <cstring>

#include "arenalab/allocators/backend.h"
#include "arenalab/gauge.h"
#include "backend_internal.h"

namespace arenalab {

namespace {

void copy_str(char* dst, std::size_t cap, const char* src) {
  if (!src) src = "";
  std::snprintf(dst, cap, "%s", src);
}

// True if `symbol`, looked up from `handle`, is defined inside the object loaded at `base`.
void* symbol_in_object(void* handle, const char* symbol, const void* base) {
  void* sym = dlsym(handle, symbol);
  if (!sym || object_start(sym) != base) return nullptr;
  return sym;
}

// The shared object that contains `addr`, as dladdr names it (its link map's l_name), without
// dladdr's search of its symbols; false for the main program (dladdr names it by argv[0]) and
// where _dl_find_object is missing or does not answer.
bool shared_object_of(const void* addr, Dl_info* info) {
#if defined(__GLIBC_PREREQ) && __GLIBC_PREREQ(2, 35)
  dl_find_object found{};
  if (_dl_find_object(const_cast<void*>(addr), &found) != 0 || !found.dlfo_link_map) return false;
  const char* name = found.dlfo_link_map->l_name;
  if (!name || !*name) return false;
  info->dli_fname = name;
  info->dli_fbase = found.dlfo_map_start;
  return true;
#else
  (void)addr;
  (void)info;
  return false;
#endif
}

// The malloc the arenalab interposer forwards to: the first object after it, in the global
// lookup order (dl_iterate_phdr visits objects in load order), that defines malloc. This is
// what dlsym(RTLD_NEXT, "malloc") returns inside the interposer.
struct NextMalloc {
  const char* interposer;
  bool seen = false;
  void* found = nullptr;
};

int find_next_malloc(dl_phdr_info* info, std::size_t, void* data) {
  auto* st = static_cast<NextMalloc*>(data);
  const char* name = info->dlpi_name;
  if (!st->seen) {
    st->seen = name && std::strcmp(name, st->interposer) == 0;
    return 0;
  }
  if (!name || !*name) return 0;
  void* handle = dlopen(name, RTLD_LAZY | RTLD_NOLOAD);
  if (!handle) return 0;
  void* sym = dlsym(handle, "malloc");
  Dl_info di{};
  if (sym && dladdr(sym, &di) != 0 && di.dli_fname && std::strcmp(di.dli_fname, name) == 0)
    st->found = sym;
  dlclose(handle);
  return st->found ? 1 : 0;
}

}  // namespace

bool identify_malloc(void* malloc_fn, Identification* out) {
  *out = Identification{};
  if (!malloc_fn) return false;
  Dl_info info{};
  ElfW(Sym)* symbol = nullptr;  // dladdr1 fills a const pointer through void**
  // A program linked without PIE that takes malloc's address (Debian's python3) gets a
  // canonical PLT entry: every reference to malloc, dlsym(RTLD_DEFAULT) included, resolves to
  // that stub in the program, which dladdr finds as an *undefined* symbol. The stub jumps to
  // the real definition, the first object after the program in lookup order that defines
  // malloc (dl_iterate_phdr names the program ""). Only an executable has such stubs: in a
  // shared object the address is the definition, and its object is all that is needed.
  if (!shared_object_of(malloc_fn, &info) &&
      (dladdr1(malloc_fn, &info, reinterpret_cast<void**>(&symbol), RTLD_DL_SYMENT) == 0 ||
       !info.dli_fname))
    return false;
  if (symbol != nullptr && symbol->st_shndx == SHN_UNDEF) {
    NextMalloc next{""};
    dl_iterate_phdr(find_next_malloc, &next);
    if (next.found && next.found != malloc_fn) return identify_malloc(next.found, out);
  }
  copy_str(out->library, sizeof out->library, info.dli_fname);
  // The main program (malloc linked statically) cannot be reopened by name: then search the
  // global scope, which starts with it; symbol_in_object still checks the defining object.
  void* handle = dlopen(info.dli_fname, RTLD_LAZY | RTLD_NOLOAD);
  if (!handle) handle = dlopen(nullptr, RTLD_LAZY);
  if (!handle) return true;  // library known, backend unknown
  const void* base = info.dli_fbase;

  // Under the arenalab interposer (it exports arenalab_gauge_set), identify what it forwards to.
  if (symbol_in_object(handle, ARENALAB_GAUGE_SET_SYMBOL, base)) {
    NextMalloc next{info.dli_fname};
    dl_iterate_phdr(find_next_malloc, &next);
    dlclose(handle);
    return next.found ? identify_malloc(next.found, out) : true;
  }

  if (void* v = symbol_in_object(handle, "mallctl", base)) {
    out->backend = Backend::kJemalloc;
    auto mallctl = reinterpret_cast<MallctlFn>(v);
    const char* version = nullptr;
    std::size_t len = sizeof version;
    if (mallctl("version", &version, &len, nullptr, 0) == 0)
      copy_str(out->version, sizeof out->version, version);
  } else if (void* v = symbol_in_object(handle, "mi_version", base)) {
    out->backend = Backend::kMimalloc;
    const int ver = reinterpret_cast<int (*)()>(v)();  // e.g. 209 for 2.0.9
    std::snprintf(out->version, sizeof out->version, "%d.%d.%d", ver / 100, (ver / 10) % 10,
                  ver % 10);
  } else if (void* v = symbol_in_object(handle, "tc_version", base)) {
    out->backend = Backend::kTcmalloc;
    int major = 0, minor = 0;
    const char* patch = nullptr;
    const char* s =
        reinterpret_cast<const char* (*)(int*, int*, const char**)>(v)(&major, &minor, &patch);
    copy_str(out->version, sizeof out->version, s);
  } else if (symbol_in_object(handle, "__TBB_malloc_proxy", base) ||
             symbol_in_object(handle, "scalable_malloc", base)) {
    out->backend = Backend::kTbbmalloc;  // tbbmalloc exposes no version of its own
  } else if (symbol_in_object(handle, "gnu_get_libc_version", base)) {
    out->backend = Backend::kGlibc;
    copy_str(out->version, sizeof out->version, gnu_get_libc_version());
  }
  dlclose(handle);
  return true;
}

const void* object_start(const void* addr) {
  if (!addr) return nullptr;
#if defined(__GLIBC_PREREQ) && __GLIBC_PREREQ(2, 35)
  dl_find_object found{};
  if (_dl_find_object(const_cast<void*>(addr), &found) == 0) return found.dlfo_map_start;
#endif
  Dl_info info{};
  return dladdr(addr, &info) != 0 ? info.dli_fbase : nullptr;
}

bool identify_current(Identification* out) {
  return identify_malloc(dlsym(RTLD_DEFAULT, "malloc"), out);
}

}  // namespace arenalab
