// SPDX-License-Identifier: Apache-2.0
// Symbolization of dump addresses with elfutils libdwfl: function (ELF symbol table, demangled)
// and file:line (DWARF, where debug info exists). Addresses map to modules through the dump's
// MAPPED_LIBRARIES section, so PIE executables and shared objects resolve at any load address.
#pragma once

#include <cstdint>
#include <memory>
#include <regex>
#include <string>
#include <vector>

#include "arenalab/profilers/heap_profile.h"

namespace arenalab::profilers {

struct Frame {
  std::uint64_t address = 0;  // as in the dump
  std::string function;       // "" when unknown
  std::string file;           // "" without debug info
  int line = 0;
  std::string module;  // path of the mapped object, "" when outside every file mapping
  // "leak_some(unsigned long) at leaky.cc:7" / "0x7f.. in libfoo.so" / "0x7f..".
  std::string describe() const;
  // As a person reads it in a text listing: template argument lists shortened to "<...>" and
  // the file relative to the current directory when it lies under it. JSON and keys keep
  // describe().
  std::string display() const;

 private:
  std::string describe_as(const std::string& fn, const std::string& src) const;
};

class Symbolizer {
 public:
  Symbolizer();
  ~Symbolizer();
  Symbolizer(const Symbolizer&) = delete;
  Symbolizer& operator=(const Symbolizer&) = delete;

  // Resolves one address of a stack. Stack entries are return addresses (except perhaps the
  // first), so the lookup uses address - 1 to land inside the call instruction, as pprof does.
  // Module handles and results are cached per module path and module-relative address.
  // The function containing the address, with the source line inside that function (for an
  // address in inlined code: the line of the outermost inlined call).
  Frame resolve(std::uint64_t address, const std::vector<Mapping>& mappings);
  // All frames at the address, innermost first: the inlined functions (from DWARF inline
  // scopes), then the function they were inlined into, as resolve() returns it.
  std::vector<Frame> resolve_inlined(std::uint64_t address, const std::vector<Mapping>& mappings);

  std::size_t modules_opened() const;
  // Why the last module that could not be opened failed ("" if none failed).
  const std::string& last_error() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// True for frames of the allocator machinery: the allocators (jemalloc, tcmalloc, mimalloc,
// TBB, glibc's libc), libstdc++ (operator new), the dynamic loader, heaptrack's and arenalab's
// interposers, and allocator entry points linked into the program itself (malloc, je_*, ...).
bool is_allocator_frame(const Frame& frame);

// True for the allocation wrappers of runtimes and libraries, which would hide the caller if
// named as the site: redis' zmalloc family, CPython's object allocator (PyObject_Malloc,
// _PyObject_ArenaMmap, PyMem_*, the GC allocators), glib's g_malloc family, zlib's zcalloc,
// OpenSSL's CRYPTO_malloc family, the common xmalloc family, PHP's emalloc, Ruby's ruby_xmalloc.
bool is_wrapper_frame(const Frame& frame);

// Which frames first_user_frame passes over besides the allocator machinery.
struct SiteFilter {
  bool builtin_wrappers = true;  // is_wrapper_frame
  std::vector<std::regex> skip;  // `--skip REGEX`: functions any of these finds (regex_search)
  bool skips(const Frame& frame) const;
};

// Index of the first frame that is neither allocator machinery nor skipped by `filter`
// (frames.size() if none): the call site.
std::size_t first_user_frame(const std::vector<Frame>& frames, const SiteFilter& filter = {});

}  // namespace arenalab::profilers
