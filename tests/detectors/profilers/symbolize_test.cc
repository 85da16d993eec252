// SPDX-License-Identifier: Apache-2.0
// libdw symbolization of this test's own (PIE) code and of libc, through a MAPPED_LIBRARIES
// section built from /proc/self/maps, and the allocator-frame rule.
#include <dlfcn.h>
#include <gtest/gtest.h>

#include <string>

#include "arenalab/core/files.h"
#include "arenalab/profilers/heap_profile.h"
#include "arenalab/profilers/symbolize.h"

namespace arenalab::profilers {
namespace {

constexpr int kTargetFirstLine = __LINE__ + 2;
__attribute__((noinline)) int symbolize_test_target(int x) {
  asm volatile("" ::: "memory");
  return x * 3 + 1;
}
constexpr int kTargetLastLine = __LINE__ - 1;

std::vector<Mapping> self_mappings() {
  auto maps = read_file("/proc/self/maps");
  EXPECT_TRUE(maps.ok());
  // The same text a dump carries: parse it through the gperftools parser.
  auto dump = parse_gperftools_heap(
      "heap profile: 0: 0 [0: 0] @ heapprofile\n\nMAPPED_LIBRARIES:\n" + *maps, "self");
  EXPECT_TRUE(dump.ok()) << dump.error().message;
  return dump.ok() ? dump->mappings : std::vector<Mapping>{};
}

TEST(Symbolizer, ResolvesOwnFunctionWithFileAndLine) {
  const auto maps = self_mappings();
  ASSERT_FALSE(maps.empty());
  EXPECT_EQ(symbolize_test_target(1), 4);
  // A return address would point just after a call; +1 models that (the lookup uses - 1).
  const auto address = reinterpret_cast<std::uint64_t>(&symbolize_test_target) + 1;
  Symbolizer symbolizer;
  const Frame f = symbolizer.resolve(address, maps);
  EXPECT_NE(f.function.find("symbolize_test_target"), std::string::npos) << f.describe();
  EXPECT_NE(f.file.find("symbolize_test.cc"), std::string::npos) << f.describe();
  // DWARF's file is relative to the compilation directory; the frame carries it whole where
  // that file exists (a compiler cache may have kept another directory's comp_dir).
  if (f.file.front() == '/') {
    EXPECT_EQ(f.file.find("/../"), std::string::npos) << f.file;
  }
  EXPECT_EQ(f.display().find("../"), std::string::npos) << f.display();
  EXPECT_GE(f.line, kTargetFirstLine);
  EXPECT_LE(f.line, kTargetLastLine);
  EXPECT_NE(f.module.find("profilers_test"), std::string::npos);
  EXPECT_FALSE(is_allocator_frame(f));
  // Cached: a second lookup opens nothing new and answers the same.
  const std::size_t opened = symbolizer.modules_opened();
  const Frame again = symbolizer.resolve(address, maps);
  EXPECT_EQ(again.function, f.function);
  EXPECT_EQ(again.line, f.line);
  EXPECT_EQ(symbolizer.modules_opened(), opened);
}

// The text listings shorten template argument lists and keep operators whole; describe() (JSON,
// keys) keeps the name as demangled.
TEST(Frame, DisplayShortensTemplatesAndKeepsOperators) {
  Frame f{0x10, "f(std::vector<int, std::allocator<int> > const&, std::map<K, std::pair<A, B> >*)",
          "/no/such/dir/x.cc", 7, "/bin/x"};
  EXPECT_EQ(f.display(), "f(std::vector<...> const&, std::map<...>*) at /no/such/dir/x.cc:7");
  EXPECT_NE(f.describe().find("std::allocator<int>"), std::string::npos);
  f.function = "std::ostream& operator<< <char>(std::ostream&, Foo<int> const&)";
  EXPECT_EQ(f.display().substr(0, f.display().find(" at ")),
            "std::ostream& operator<< <...>(std::ostream&, Foo<...> const&)");
  f.function = "Ptr<T>::operator->() const";
  EXPECT_EQ(f.display().substr(0, f.display().find(" at ")), "Ptr<...>::operator->() const");
  f.function = "cooperator<int>::run()";  // "operator" inside a word is not the keyword
  EXPECT_EQ(f.display().substr(0, f.display().find(" at ")), "cooperator<...>::run()");
  f.function = "broken<unclosed(int)";  // unbalanced: shown whole
  EXPECT_EQ(f.display().substr(0, f.display().find(" at ")), "broken<unclosed(int)");
  f.file = "../../../workloads/leak/wl_leak.cc";  // relative to a directory not known here
  EXPECT_EQ(f.display(), "broken<unclosed(int) at workloads/leak/wl_leak.cc:7");
}

TEST(Symbolizer, ResolvesSharedObjectAndCallsItAllocator) {
  const auto maps = self_mappings();
  void* handle = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
  ASSERT_NE(handle, nullptr);
  void* fn = dlsym(handle, "malloc");
  ASSERT_NE(fn, nullptr);
  Symbolizer symbolizer;
  const Frame f = symbolizer.resolve(reinterpret_cast<std::uint64_t>(fn) + 1, maps);
  EXPECT_NE(f.module.find("libc.so"), std::string::npos) << f.describe();
  EXPECT_NE(f.function.find("malloc"), std::string::npos) << f.describe();
  EXPECT_TRUE(is_allocator_frame(f));
  dlclose(handle);
}

TEST(Symbolizer, UnmappedAddressesStayAddresses) {
  Symbolizer symbolizer;
  const Frame f = symbolizer.resolve(0x1234, {});
  EXPECT_TRUE(f.function.empty());
  EXPECT_TRUE(f.module.empty());
  EXPECT_EQ(f.describe(), "0x1234");
  // A mapping whose file does not exist: no crash, no name, the module kept.
  std::vector<Mapping> ghost = {{0x1000, 0x2000, 0, "r-xp", "/nonexistent/libghost.so"}};
  const Frame g = symbolizer.resolve(0x1800, ghost);
  EXPECT_TRUE(g.function.empty());
  EXPECT_EQ(g.module, "/nonexistent/libghost.so");
  EXPECT_FALSE(symbolizer.last_error().empty());
}

TEST(AllocatorFrames, FirstUserFrameSkipsAllocatorLibcAndStdlib) {
  std::vector<Frame> frames = {
      {1, "je_prof_backtrace", "", 0, "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2"},
      {2, "operator new(unsigned long)", "", 0, "/usr/lib/x86_64-linux-gnu/libstdc++.so.6"},
      {3, "std::__new_allocator<int>::allocate(unsigned long, void const*)", "", 0, "/bin/app"},
      {4, "", "", 0, "/usr/lib/libarenalab_preload.so"},
      {5, "malloc", "", 0, "/bin/app-jemalloc"},  // allocator linked into the program
      {6, "Store::grow(unsigned long)", "store.cc", 42, "/bin/app"},
      {7, "main", "main.cc", 3, "/bin/app"},
  };
  EXPECT_EQ(first_user_frame(frames), 5u);
  EXPECT_EQ(frames[5].describe(), "Store::grow(unsigned long) at store.cc:42");
  EXPECT_EQ(first_user_frame({}), 0u);
  // A function template's demangled name starts with its return type.
  const std::vector<Frame> vector_growth = {
      {1,
       "void std::vector<void*, std::allocator<void*> >::_M_realloc_insert<void* const&>("
       "__gnu_cxx::__normal_iterator<void**, std::vector<void*, std::allocator<void*> > >, "
       "void* const&)",
       "", 0, "/bin/wl_leak"},
      {2, "(anonymous namespace)::leak_into_registry(Kind, unsigned long)", "wl_leak.cc", 42,
       "/bin/wl_leak"},
  };
  EXPECT_EQ(first_user_frame(vector_growth), 1u);
}

// Stacks as redis-server and python3 record them (function names from their dumps): the site
// is the caller of the allocation wrapper, not the wrapper.
TEST(AllocatorFrames, WrappersAreNotTheSite) {
  const std::vector<Frame> redis = {
      {1, "", "", 0, "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2"},
      {2, "zmalloc_usable", "", 0, "/usr/bin/redis-check-rdb"},
      {3, "_sdsnewlen", "", 0, "/usr/bin/redis-check-rdb"},
      {4, "createStringObject", "", 0, "/usr/bin/redis-check-rdb"},
  };
  EXPECT_EQ(first_user_frame(redis), 2u);
  SiteFilter builtin_off;
  builtin_off.builtin_wrappers = false;
  EXPECT_EQ(first_user_frame(redis, builtin_off), 1u);  // the wrapper itself, as before
  SiteFilter sds;
  sds.skip.emplace_back("^_?sds");  // --skip '^_?sds': the string library too
  EXPECT_EQ(first_user_frame(redis, sds), 3u);

  const std::vector<Frame> python = {
      {1, "_PyObject_ArenaMmap", "", 0, "/usr/bin/python3.11"},
      {2, "new_arena", "", 0, "/usr/bin/python3.11"},
      {3, "pymalloc_alloc", "", 0, "/usr/bin/python3.11"},
      {4, "_PyObject_Malloc", "", 0, "/usr/bin/python3.11"},
      {5, "PyObject_Malloc", "", 0, "/usr/bin/python3.11"},
      {6, "_PyObject_GC_New", "", 0, "/usr/bin/python3.11"},
      {7, "PyList_New", "", 0, "/usr/bin/python3.11"},
  };
  EXPECT_EQ(first_user_frame(python), 6u);
  for (const char* fn :
       {"g_malloc0", "xmalloc", "zcalloc", "PyMem_Malloc", "ruby_xmalloc2", "CRYPTO_zalloc"})
    EXPECT_TRUE(is_wrapper_frame({1, fn, "", 0, "/bin/x"})) << fn;
  for (const char* fn : {"leak_some_records(unsigned long)", "main", "createStringObject"})
    EXPECT_FALSE(is_wrapper_frame({1, fn, "", 0, "/bin/x"})) << fn;
}

}  // namespace
}  // namespace arenalab::profilers
