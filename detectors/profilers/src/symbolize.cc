// SPDX-License-Identifier: Apache-2.0
// libdwfl-based symbolizer. A dump address becomes a file offset (address - mapping start +
// mapping offset), the file offset becomes an ELF virtual address through the PT_LOAD segment
// that holds it, and libdwfl answers symbol and source line for that address.
#include "arenalab/profilers/symbolize.h"

#include <cxxabi.h>
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <gelf.h>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <string_view>
#include <utility>

namespace arenalab::profilers {

namespace {

std::string demangle(const char* name) {
  if (name == nullptr) return "";
  int status = 0;
  char* out = abi::__cxa_demangle(name, nullptr, nullptr, &status);
  if (status == 0 && out != nullptr) {
    std::string s(out);
    std::free(out);
    return s;
  }
  return name;
}

std::string base_name(std::string_view path) {
  const auto slash = path.rfind('/');
  return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

char* no_debuginfo_path = nullptr;
const Dwfl_Callbacks kCallbacks = {
    nullptr,                       // find_elf: we report files by path
    dwfl_standard_find_debuginfo,  // .gnu_debuglink / build-id under /usr/lib/debug
    dwfl_offline_section_address,  // unused for ET_DYN/ET_EXEC
    &no_debuginfo_path,
};

}  // namespace

std::string Frame::describe() const { return describe_as(function, file); }

namespace {

// "f(std::vector<int, std::allocator<int> > const&)" -> "f(std::vector<...> const&)": every
// template argument list at its outermost level reads "<...>". The operators whose names hold
// '<' or '>' ("operator<<", "operator<=>", "operator->") keep them.
std::string elide_template_arguments(std::string_view name) {
  std::string out;
  out.reserve(name.size());
  int depth = 0;
  for (std::size_t i = 0; i < name.size(); ++i) {
    const bool word_start =
        i == 0 || !(std::isalnum(static_cast<unsigned char>(name[i - 1])) || name[i - 1] == '_');
    if (word_start && name.compare(i, 8, "operator") == 0) {
      std::size_t j = i + 8;
      while (j < name.size() && std::string_view("<>=-").find(name[j]) != std::string_view::npos)
        ++j;
      // "operator<" followed by a template argument list ("operator< <int>") keeps the list's
      // own elision: only the operator's characters are copied here.
      if (depth == 0) out.append(name.substr(i, j - i));
      i = j - 1;
      continue;
    }
    const char c = name[i];
    if (c == '<') {
      if (depth++ == 0) out += "<...>";
    } else if (c == '>' && depth > 0) {
      --depth;
    } else if (depth == 0) {
      out += c;
    }
  }
  // An unbalanced name (a '<' never closed) is shown whole rather than cut.
  return depth == 0 ? out : std::string(name);
}

// The file as a reader of this directory names it: relative when it lies under the current
// directory, whole otherwise. A file DWARF left relative to a compilation directory that is
// not known here loses its leading "../" chain, which names nothing to the reader.
std::string display_file(const std::string& file) {
  if (file.empty()) return file;
  if (file.front() != '/') {
    std::string_view rest = file;
    while (rest.starts_with("../") || rest.starts_with("./"))
      rest.remove_prefix(rest.starts_with("./") ? 2 : 3);
    return rest.empty() ? file : std::string(rest);
  }
  std::error_code ec;
  const std::filesystem::path cwd = std::filesystem::current_path(ec);
  if (ec) return file;
  const std::filesystem::path rel = std::filesystem::path(file).lexically_relative(cwd);
  if (rel.empty() || *rel.begin() == "..") return file;
  return rel.string();
}

}  // namespace

std::string Frame::display() const {
  return describe_as(elide_template_arguments(function), display_file(file));
}

std::string Frame::describe_as(const std::string& fn, const std::string& src) const {
  char hex[32];
  std::snprintf(hex, sizeof hex, "0x%llx", static_cast<unsigned long long>(address));
  std::string s = fn.empty() ? std::string(hex) : fn;
  if (!src.empty()) {
    s += " at " + src;
    if (line > 0) s += ":" + std::to_string(line);
  } else if (!module.empty()) {
    s += " in " + base_name(module);
  }
  return s;
}

struct Symbolizer::Impl {
  struct Module {
    Dwfl* dwfl = nullptr;
    Dwfl_Module* mod = nullptr;
    GElf_Addr bias = 0;
    std::vector<GElf_Phdr> loads;
    ~Module() {
      if (dwfl != nullptr) dwfl_end(dwfl);
    }
  };
  std::map<std::string, std::unique_ptr<Module>> modules;  // nullptr: could not open
  std::map<std::pair<std::string, std::uint64_t>, std::vector<Frame>> cache;
  std::string last_error;
  std::size_t opened = 0;

  Module* module(const std::string& path) {
    auto it = modules.find(path);
    if (it != modules.end()) return it->second.get();
    auto m = std::make_unique<Module>();
    m->dwfl = dwfl_begin(&kCallbacks);
    if (m->dwfl != nullptr) {
      dwfl_report_begin(m->dwfl);
      m->mod = dwfl_report_elf(m->dwfl, base_name(path).c_str(), path.c_str(), -1, 0, false);
      dwfl_report_end(m->dwfl, nullptr, nullptr);
    }
    Elf* elf = m->mod != nullptr ? dwfl_module_getelf(m->mod, &m->bias) : nullptr;
    std::size_t count = 0;
    if (elf == nullptr || elf_getphdrnum(elf, &count) != 0) {
      last_error = path + ": " + dwfl_errmsg(-1);
      modules.emplace(path, nullptr);
      return nullptr;
    }
    for (std::size_t i = 0; i < count; ++i) {
      GElf_Phdr phdr;
      if (gelf_getphdr(elf, static_cast<int>(i), &phdr) != nullptr && phdr.p_type == PT_LOAD)
        m->loads.push_back(phdr);
    }
    ++opened;
    return modules.emplace(path, std::move(m)).first->second.get();
  }
};

Symbolizer::Symbolizer() : impl_(std::make_unique<Impl>()) {}
Symbolizer::~Symbolizer() = default;
std::size_t Symbolizer::modules_opened() const { return impl_->opened; }
const std::string& Symbolizer::last_error() const { return impl_->last_error; }

namespace {

// The qualified, demangled name of a DWARF function entry (following abstract origins and
// specifications), else its plain name.
std::string die_function_name(Dwarf_Die* die) {
  Dwarf_Attribute attr;
  for (int at : {DW_AT_linkage_name, DW_AT_MIPS_linkage_name})
    if (dwarf_attr_integrate(die, at, &attr) != nullptr)
      if (const char* mangled = dwarf_formstring(&attr)) return demangle(mangled);
  const char* name = dwarf_diename(die);
  return name != nullptr ? name : "";
}

// Inlined frames at `pc` (a module address for DWARF, i.e. minus the CU bias), innermost first:
// each inlined subroutine with the location inside it, then the function it was inlined into
// at the call's location (DW_AT_call_file / DW_AT_call_line). The outermost entry carries only
// its call location; its name comes from the symbol table.
void inline_chain(Dwfl_Module* mod, GElf_Addr vaddr, Frame innermost, std::vector<Frame>& out) {
  Dwarf_Addr bias = 0;
  Dwarf_Die* cu = dwfl_module_addrdie(mod, vaddr, &bias);
  // dwarf_getscopes follows the innermost inlined instance into its abstract definition, so
  // the concrete nesting (who it was inlined into) comes from dwarf_getscopes_die on that
  // instance, as eu-addr2line -i does.
  Dwarf_Die* pc_scopes = nullptr;
  const int n_pc = cu != nullptr ? dwarf_getscopes(cu, vaddr - bias, &pc_scopes) : -1;
  Dwarf_Die* scopes = nullptr;
  int n = -1;
  for (int i = 0; i < n_pc; ++i) {
    if (dwarf_tag(&pc_scopes[i]) == DW_TAG_inlined_subroutine) {
      n = dwarf_getscopes_die(&pc_scopes[i], &scopes);
      break;
    }
  }
  std::free(pc_scopes);
  Dwarf_Files* files = nullptr;
  std::size_t nfiles = 0;
  if (cu != nullptr) dwarf_getsrcfiles(cu, &files, &nfiles);
  Frame current = innermost;  // location known, function to be named
  for (int i = 0; i < n; ++i) {
    if (dwarf_tag(&scopes[i]) != DW_TAG_inlined_subroutine) continue;
    current.function = die_function_name(&scopes[i]);
    out.push_back(current);
    // The caller's location: where this inlined body was called.
    Dwarf_Attribute attr;
    Dwarf_Word file_index = 0, line = 0;
    current.file.clear();
    current.line = 0;
    if (dwarf_formudata(dwarf_attr(&scopes[i], DW_AT_call_file, &attr), &file_index) == 0 &&
        files != nullptr && file_index < nfiles)
      if (const char* f = dwarf_filesrc(files, file_index, nullptr, nullptr)) current.file = f;
    if (dwarf_formudata(dwarf_attr(&scopes[i], DW_AT_call_line, &attr), &line) == 0)
      current.line = static_cast<int>(line);
  }
  std::free(scopes);
  current.function = innermost.function;  // the real (symbol table) function
  out.push_back(current);
}

// DWARF names a source file relative to its compilation directory
// ("../../../workloads/leak/wl_leak.cc" for a build in build/workloads/leak): joined with the
// CU's DW_AT_comp_dir and normalized, the file reads the same whichever directory the profile
// is read from. Only where that file exists: a build moved, or a compiler cache that kept
// another directory's comp_dir, would otherwise name a file that is not there.
void absolute_files(Dwfl_Module* mod, GElf_Addr vaddr, std::vector<Frame>& frames) {
  Dwarf_Addr bias = 0;
  Dwarf_Die* cu = dwfl_module_addrdie(mod, vaddr, &bias);
  Dwarf_Attribute attr;
  const char* comp_dir =
      cu != nullptr ? dwarf_formstring(dwarf_attr(cu, DW_AT_comp_dir, &attr)) : nullptr;
  if (comp_dir == nullptr || comp_dir[0] != '/') return;
  for (Frame& f : frames) {
    if (f.file.empty() || f.file.front() == '/') continue;
    const auto whole = (std::filesystem::path(comp_dir) / f.file).lexically_normal();
    std::error_code ec;
    if (std::filesystem::is_regular_file(whole, ec)) f.file = whole.string();
  }
}

}  // namespace

Frame Symbolizer::resolve(std::uint64_t address, const std::vector<Mapping>& mappings) {
  return resolve_inlined(address, mappings).back();
}

std::vector<Frame> Symbolizer::resolve_inlined(std::uint64_t address,
                                               const std::vector<Mapping>& mappings) {
  Frame frame;
  frame.address = address;
  const Mapping* m = find_mapping(mappings, address);
  if (m == nullptr) return {frame};
  std::string path = m->path;
  constexpr std::string_view kDeleted = " (deleted)";
  if (path.size() > kDeleted.size() &&
      path.compare(path.size() - kDeleted.size(), kDeleted.size(), kDeleted) == 0)
    path.resize(path.size() - kDeleted.size());
  frame.module = path;
  if (path.empty() || path.front() != '/') return {frame};  // [vdso], anonymous memory
  // Return address - 1: inside the call instruction, so the line is the call's.
  const std::uint64_t file_offset = address - m->start + m->offset - (address > 0 ? 1 : 0);
  const auto key = std::make_pair(path, file_offset);
  if (auto hit = impl_->cache.find(key); hit != impl_->cache.end()) {
    std::vector<Frame> cached = hit->second;
    for (auto& f : cached) f.address = address;
    return cached;
  }
  std::vector<Frame> frames;
  Impl::Module* mod = impl_->module(path);
  if (mod != nullptr) {
    for (const auto& load : mod->loads) {
      if (file_offset < load.p_offset || file_offset >= load.p_offset + load.p_filesz) continue;
      const GElf_Addr vaddr = file_offset - load.p_offset + load.p_vaddr + mod->bias;
      GElf_Off sym_offset = 0;
      GElf_Sym sym;
      const char* name =
          dwfl_module_addrinfo(mod->mod, vaddr, &sym_offset, &sym, nullptr, nullptr, nullptr);
      frame.function = demangle(name);
      if (Dwfl_Line* line = dwfl_module_getsrc(mod->mod, vaddr); line != nullptr) {
        int lineno = 0;
        const char* src = dwfl_lineinfo(line, nullptr, &lineno, nullptr, nullptr, nullptr);
        if (src != nullptr) {
          frame.file = src;
          frame.line = lineno;
        }
      }
      inline_chain(mod->mod, vaddr, frame, frames);
      absolute_files(mod->mod, vaddr, frames);
      break;
    }
  }
  if (frames.empty()) frames.push_back(frame);
  impl_->cache.emplace(key, frames);
  return frames;
}

bool is_allocator_frame(const Frame& frame) {
  static constexpr std::string_view kModules[] = {
      "libjemalloc",
      "libtcmalloc",
      "libmimalloc",
      "libtbbmalloc",
      "libc.so",
      "libc-",
      "libstdc++",
      "ld-linux",
      "libarenalab_preload",
      "libheaptrack_preload",
      "libheaptrack_inject",
      "libgcc_s",
  };
  const std::string module = base_name(frame.module);
  for (auto prefix : kModules)
    if (std::string_view(module).substr(0, prefix.size()) == prefix) return true;
  // Allocator entry points and internals linked into the program itself (link variants).
  static constexpr std::string_view kExact[] = {
      "malloc", "calloc",  "realloc", "free",    "posix_memalign", "aligned_alloc", "memalign",
      "valloc", "pvalloc", "mallocx", "rallocx", "xallocx",        "sdallocx",      "reallocarray",
  };
  std::string_view fn = frame.function;
  for (auto name : kExact)
    if (fn == name) return true;
  static constexpr std::string_view kPrefixes[] = {
      "je_",
      "prof_",
      "imalloc",
      "ialloc",
      "arena_",
      "tc_",
      "tcmalloc::",
      "operator new",
      "operator delete",
      "mi_",
      "scalable_",
      "arenalab_preload",
      // libstdc++ templates inlined into the program (vector growth, allocator_traits)
      "std::",
      "__gnu_cxx::",
  };
  // A demangled function template names its return type first ("void std::vector<void*,
  // ...>::_M_realloc_insert<...>(...)"): the qualified name is after the first space when that
  // space comes before any '(' or '<'.
  const std::size_t space = fn.find(' ');
  const std::string_view qualified =
      space < fn.find_first_of("(<") ? fn.substr(space + 1) : std::string_view();
  for (auto prefix : kPrefixes)
    if (fn.substr(0, prefix.size()) == prefix || qualified.substr(0, prefix.size()) == prefix)
      return true;
  return false;
}

bool is_wrapper_frame(const Frame& frame) {
  static constexpr std::string_view kPrefixes[] = {
      // redis (zmalloc.c): zmalloc, zmalloc_usable, ztrymalloc_usable, zcalloc, zrealloc, ...
      "zmalloc", "ztry", "zcalloc", "zrealloc", "zstrdup", "zlibc_",
      // CPython (Objects/obmalloc.c, Modules/gcmodule.c, Objects/typeobject.c)
      "PyObject_Malloc", "PyObject_Calloc", "PyObject_Realloc", "_PyObject_Malloc",
      "_PyObject_Calloc", "_PyObject_Realloc", "_PyObject_ArenaMmap", "_PyObject_ArenaMalloc",
      "new_arena", "allocate_from_new_pool", "pymalloc_", "PyMem_", "_PyMem_", "PyObject_GC_",
      "_PyObject_GC_", "gc_alloc", "_PyObject_New", "PyType_GenericAlloc", "_PyType_AllocNoTrack",
      // glib
      "g_malloc", "g_try_malloc", "g_realloc", "g_try_realloc", "g_slice_alloc", "g_memdup",
      "g_strdup", "g_strndup",
      // OpenSSL
      "CRYPTO_malloc", "CRYPTO_zalloc", "CRYPTO_realloc", "CRYPTO_clear_realloc", "CRYPTO_strdup",
      "CRYPTO_strndup", "CRYPTO_memdup",
      // the xmalloc family (GNU and many C programs), PHP, Ruby
      "xmalloc", "xcalloc", "xrealloc", "xzalloc", "xstrdup", "emalloc", "_emalloc", "ecalloc",
      "_ecalloc", "erealloc", "_erealloc", "safe_emalloc", "_safe_emalloc", "ruby_xmalloc",
      "ruby_xcalloc", "ruby_xrealloc", "objspace_xmalloc", "objspace_xcalloc", "objspace_xrealloc"};
  const std::string_view fn = frame.function;
  for (auto prefix : kPrefixes)
    if (fn.substr(0, prefix.size()) == prefix) return true;
  return false;
}

bool SiteFilter::skips(const Frame& frame) const {
  if (builtin_wrappers && is_wrapper_frame(frame)) return true;
  for (const auto& re : skip)
    if (std::regex_search(frame.function, re)) return true;
  return false;
}

std::size_t first_user_frame(const std::vector<Frame>& frames, const SiteFilter& filter) {
  for (std::size_t i = 0; i < frames.size(); ++i)
    if (!is_allocator_frame(frames[i]) && !filter.skips(frames[i])) return i;
  return frames.size();
}

}  // namespace arenalab::profilers
