// SPDX-License-Identifier: Apache-2.0
// Allocator configurations: the shipped file, validation errors, the environment a target gets.
#include <gtest/gtest.h>

#include <algorithm>

#include "arenalab/allocators/registry.h"

namespace arenalab {
namespace {

const std::string kData = ARENALAB_TEST_DATA "/allocators/";

TEST(Registry, ShippedFileHasTheNineConfigurations) {
  auto configs = load_configurations(ARENALAB_SHARE "/allocators.json");
  ASSERT_TRUE(configs.ok()) << configs.error().message;
  for (const char* name :
       {"glibc", "glibc-arena2", "jemalloc", "jemalloc-nodecay", "jemalloc-bgthread", "mimalloc",
        "mimalloc-nopurgedelay", "tcmalloc", "tbbmalloc"}) {
    auto c = find_configuration(*configs, name);
    EXPECT_TRUE(c.ok()) << name;
  }
  auto arena2 = *find_configuration(*configs, "glibc-arena2");
  EXPECT_EQ(arena2.backend, Backend::kGlibc);
  EXPECT_TRUE(arena2.preload.empty());
  ASSERT_EQ(arena2.env.size(), 1u);
  EXPECT_EQ(arena2.env[0], (std::pair<std::string, std::string>{"MALLOC_ARENA_MAX", "2"}));
}

TEST(Registry, UnknownNameListsTheKnownOnes) {
  auto configs = load_configurations(ARENALAB_SHARE "/allocators.json");
  ASSERT_TRUE(configs.ok());
  auto c = find_configuration(*configs, "nosuch");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find("nosuch"), std::string::npos);
  EXPECT_NE(c.error().message.find("jemalloc"), std::string::npos);
}

TEST(Registry, MalformedFilesAreRejectedWithFileAndEntry) {
  struct Case {
    const char* file;
    const char* expect;
  };
  for (const Case& c : {Case{"malformed.json", "not valid JSON"},
                        Case{"bad_backend.json", "unknown backend 'ptmalloc9'"},
                        Case{"no_name.json", "configurations[1]: missing \"name\""},
                        Case{"duplicate.json", "duplicate name 'twice'"},
                        Case{"not_object.json", "\"configurations\" array"},
                        Case{"env_not_string.json", "env.MALLOC_ARENA_MAX must be a string"}}) {
    auto r = load_configurations(kData + c.file);
    ASSERT_FALSE(r.ok()) << c.file;
    EXPECT_NE(r.error().message.find(c.file), std::string::npos) << r.error().message;
    EXPECT_NE(r.error().message.find(c.expect), std::string::npos) << r.error().message;
  }
  auto missing = load_configurations(kData + "does-not-exist.json");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("does-not-exist.json"), std::string::npos);
}

TEST(Registry, MissingLibraryMakesTheConfigurationUnavailable) {
  auto configs = load_configurations(kData + "missing_lib.json");
  ASSERT_TRUE(configs.ok()) << configs.error().message;
  auto c = *find_configuration(*configs, "ghost");
  EXPECT_FALSE(c.available());
  EXPECT_NE(c.unavailable_reason().find("libghostalloc.so.9"), std::string::npos);
  auto probe = probe_configuration(c);
  ASSERT_FALSE(probe.ok());
  EXPECT_NE(probe.error().message.find("ghost"), std::string::npos);
}

TEST(Registry, EnvironmentPutsTheInterposerFirst) {
  Configuration c;
  c.name = "x";
  c.backend = Backend::kJemalloc;
  c.preload = "/some/libjemalloc.so.2";
  c.env = {{"MALLOC_CONF", "narenas:1"}};
  unsetenv("LD_PRELOAD");
  const auto env = configuration_environment(c, "/build/lib/libarenalab_preload.so");
  auto it =
      std::find_if(env.begin(), env.end(), [](const auto& kv) { return kv.first == "LD_PRELOAD"; });
  ASSERT_NE(it, env.end());
  EXPECT_EQ(it->second, "/build/lib/libarenalab_preload.so /some/libjemalloc.so.2");
  EXPECT_NE(std::find(env.begin(), env.end(),
                      std::pair<std::string, std::string>{"MALLOC_CONF", "narenas:1"}),
            env.end());
}

TEST(Registry, MismatchSaysWhatWasFound) {
  Configuration c;
  c.name = "jemalloc";
  c.backend = Backend::kJemalloc;
  Identification id;
  id.backend = Backend::kGlibc;
  std::snprintf(id.library, sizeof id.library, "/lib/x86_64-linux-gnu/libc.so.6");
  const auto m = verification_mismatch(c, id);
  EXPECT_NE(m.find("asks for jemalloc"), std::string::npos);
  EXPECT_NE(m.find("glibc"), std::string::npos);
  EXPECT_NE(m.find("libc.so.6"), std::string::npos);
  id.backend = Backend::kJemalloc;
  EXPECT_TRUE(verification_mismatch(c, id).empty());
}

}  // namespace
}  // namespace arenalab
