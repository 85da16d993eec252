// SPDX-License-Identifier: Apache-2.0
// The interposer's exports against its one list of hooked symbols (hooked_symbols.h): the
// version scripts are generated from the list, and a linker silently ignores a listed name
// that nothing defines, so this checks that each library defines every name it lists, itself.
#include <dlfcn.h>

#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#define ARENALAB_HOOKED_SYMBOLS_LISTS_ONLY 1
#include "hooked_symbols.h"

namespace {

#define ARENALAB_TEST_NAME(name, ...) #name,
const char* const kHooked[] = {ARENALAB_LIBC_HOOKS(ARENALAB_TEST_NAME) ARENALAB_CXX_HOOKS(
    ARENALAB_TEST_NAME) ARENALAB_LOADER_HOOKS(ARENALAB_TEST_NAME)};
const char* const kCommon[] = {ARENALAB_COMMON_EXPORTS(ARENALAB_TEST_NAME)};
#undef ARENALAB_TEST_NAME

// The file name of the object that defines `name` as seen through `h` (empty: not found).
std::string defining_object(void* h, const char* name) {
  void* f = dlsym(h, name);
  Dl_info info{};
  if (!f || !dladdr(f, &info) || !info.dli_fname) return "";
  return std::filesystem::path(info.dli_fname).filename().string();
}

TEST(Exports, HookedLibraryDefinesEveryListedSymbol) {
  void* h = dlopen(ARENALAB_PRELOAD_LIB, RTLD_NOW | RTLD_LOCAL);
  ASSERT_NE(h, nullptr) << dlerror();
  EXPECT_EQ(std::size(kHooked), 20u + 20u + 1u);  // the malloc/mmap/brk family, new/delete, dlopen
  for (const char* name : kHooked)
    EXPECT_EQ(defining_object(h, name), "libarenalab_preload.so") << name;
  for (const char* name : kCommon)
    EXPECT_EQ(defining_object(h, name), "libarenalab_preload.so") << name;
}

TEST(Exports, StatsLibraryDefinesTheCommonExportsOnly) {
  void* h = dlopen(ARENALAB_PRELOAD_STATS_LIB, RTLD_NOW | RTLD_LOCAL);
  ASSERT_NE(h, nullptr) << dlerror();
  for (const char* name : kCommon)
    EXPECT_EQ(defining_object(h, name), "libarenalab_preload_stats.so") << name;
  for (const char* name : kHooked)  // found in a dependency (libc), never in the library
    EXPECT_NE(defining_object(h, name), "libarenalab_preload_stats.so") << name;
}

}  // namespace
