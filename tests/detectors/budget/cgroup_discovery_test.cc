// SPDX-License-Identifier: Apache-2.0
// Own-cgroup discovery on sample /proc/self/cgroup + mountinfo contents (tests/data/budget):
// pure v1, v1 in a container (mount root = own group), pure v2, hybrid (this machine's layout:
// v1 memory with an empty v2 hierarchy beside it), escapes, namespaces, malformed input.
#include <gtest/gtest.h>

#include <map>

#include "arenalab/budget/cgroup.h"
#include "arenalab/core/files.h"

namespace arenalab::budget {
namespace {

std::string data(const std::string& name) {
  auto r = read_file(std::string(ARENALAB_TEST_DATA) + "/budget/" + name);
  EXPECT_TRUE(r.ok()) << name;
  return r.ok() ? *r : std::string();
}

OwnCgroups locate(const std::string& base) {
  auto r = locate_own_cgroups(data(base + ".cgroup"), data(base + ".mountinfo"));
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  return r.ok() ? *r : OwnCgroups{};
}

// A file system of cgroup files for choose_memory_parent.
FileReader files(std::map<std::string, std::string> contents) {
  return [contents = std::move(contents)](const std::string& p) -> std::optional<std::string> {
    auto it = contents.find(p);
    if (it == contents.end()) return std::nullopt;
    return it->second;
  };
}

TEST(CgroupDiscovery, V1HostMemoryHierarchy) {
  const OwnCgroups own = locate("v1");
  EXPECT_FALSE(own.v2_dir.has_value());
  ASSERT_TRUE(own.v1_memory_dir.has_value());
  EXPECT_EQ(*own.v1_memory_dir, "/sys/fs/cgroup/memory/docker/3f1c2a");
  auto parent =
      choose_memory_parent(own, files({{"/sys/fs/cgroup/memory/docker/3f1c2a/memory.limit_in_bytes",
                                        "9223372036854771712\n"}}));
  ASSERT_TRUE(parent.ok()) << parent.error().message;
  EXPECT_EQ(parent->version, CgroupVersion::kV1);
  EXPECT_EQ(parent->dir, "/sys/fs/cgroup/memory/docker/3f1c2a");
}

TEST(CgroupDiscovery, V1ContainerMountsOnlyItsOwnSubtree) {
  const OwnCgroups own = locate("v1-container");
  ASSERT_TRUE(own.v1_memory_dir.has_value());
  // The mount's root is /docker/3f1c2a: our group is the mount point itself.
  EXPECT_EQ(*own.v1_memory_dir, "/sys/fs/cgroup/memory");
}

TEST(CgroupDiscovery, V2UnifiedWithMemoryDelegated) {
  const OwnCgroups own = locate("v2");
  EXPECT_FALSE(own.v1_memory_dir.has_value());
  ASSERT_TRUE(own.v2_dir.has_value());
  const std::string dir = "/sys/fs/cgroup/user.slice/user-1000.slice/session-2.scope";
  EXPECT_EQ(*own.v2_dir, dir);
  auto parent =
      choose_memory_parent(own, files({{dir + "/cgroup.controllers", "cpu io memory pids\n"},
                                       {dir + "/cgroup.subtree_control", "memory pids\n"}}));
  ASSERT_TRUE(parent.ok()) << parent.error().message;
  EXPECT_EQ(parent->version, CgroupVersion::kV2);
  EXPECT_EQ(parent->dir, dir);
}

TEST(CgroupDiscovery, V2WithoutMemoryForChildrenSaysWhyAndChangesNothing) {
  const OwnCgroups own = locate("v2");
  const std::string dir = *own.v2_dir;
  auto parent =
      choose_memory_parent(own, files({{dir + "/cgroup.controllers", "cpu io memory pids\n"},
                                       {dir + "/cgroup.subtree_control", "pids\n"}}));
  ASSERT_FALSE(parent.ok());
  EXPECT_NE(parent.error().message.find("cgroup.subtree_control"), std::string::npos)
      << parent.error().message;
  EXPECT_EQ(parent.error().message.find('\n'), std::string::npos);
}

TEST(CgroupDiscovery, HybridPrefersV1MemoryWhenV2HasNoMemoryController) {
  const OwnCgroups own = locate("hybrid");
  ASSERT_TRUE(own.v2_dir.has_value());
  EXPECT_EQ(*own.v2_dir, "/sys/fs/cgroup/unified");
  ASSERT_TRUE(own.v1_memory_dir.has_value());
  EXPECT_EQ(*own.v1_memory_dir, "/sys/fs/cgroup/memory/box/7c83477e");
  auto parent =
      choose_memory_parent(own, files({{"/sys/fs/cgroup/unified/cgroup.controllers", "hugetlb\n"},
                                       {"/sys/fs/cgroup/unified/cgroup.subtree_control", "\n"},
                                       {"/sys/fs/cgroup/memory/box/7c83477e/memory.limit_in_bytes",
                                        "9223372036854771712\n"}}));
  ASSERT_TRUE(parent.ok()) << parent.error().message;
  EXPECT_EQ(parent->version, CgroupVersion::kV1);
  EXPECT_EQ(parent->dir, "/sys/fs/cgroup/memory/box/7c83477e");
}

TEST(CgroupDiscovery, HybridPrefersV2WhenItsChildrenGetMemory) {
  const OwnCgroups own = locate("hybrid");
  auto parent = choose_memory_parent(
      own, files({{"/sys/fs/cgroup/unified/cgroup.controllers", "memory\n"},
                  {"/sys/fs/cgroup/unified/cgroup.subtree_control", "memory\n"},
                  {"/sys/fs/cgroup/memory/box/7c83477e/memory.limit_in_bytes", "1\n"}}));
  ASSERT_TRUE(parent.ok());
  EXPECT_EQ(parent->version, CgroupVersion::kV2);
}

TEST(CgroupDiscovery, NothingUsableIsOneLineNamingEveryReason) {
  const OwnCgroups own = locate("hybrid");
  auto parent = choose_memory_parent(own, files({}));  // nothing readable
  ASSERT_FALSE(parent.ok());
  const std::string& m = parent.error().message;
  EXPECT_NE(m.find("no usable memory cgroup"), std::string::npos) << m;
  EXPECT_NE(m.find("memory.limit_in_bytes"), std::string::npos) << m;
  EXPECT_EQ(m.find('\n'), std::string::npos);
}

TEST(CgroupDiscovery, MountPointEscapesAreDecoded) {
  const OwnCgroups own = locate("v2-escaped");
  ASSERT_TRUE(own.v2_dir.has_value());
  EXPECT_EQ(*own.v2_dir, "/mnt/my cgroups/svc");
  EXPECT_EQ(unescape_mount_path("a\\011b\\134c\\012"), "a\tb\\c\n");
  EXPECT_EQ(unescape_mount_path("trailing\\04"), "trailing\\04");
}

TEST(CgroupDiscovery, GroupOutsideTheNamespaceIsNotUsed) {
  const OwnCgroups own = locate("v2-outside");
  EXPECT_FALSE(own.v2_dir.has_value());
  ASSERT_FALSE(own.notes.empty());
  EXPECT_NE(own.notes[0].find("outside this cgroup namespace"), std::string::npos);
}

TEST(CgroupDiscovery, MalformedInputNamesTheFileAndLine) {
  auto a = locate_own_cgroups(data("malformed.cgroup"), data("v2.mountinfo"));
  ASSERT_FALSE(a.ok());
  EXPECT_NE(a.error().message.find("/proc/self/cgroup:2"), std::string::npos) << a.error().message;
  auto b = locate_own_cgroups(data("v2.cgroup"), data("malformed.mountinfo"));
  ASSERT_FALSE(b.ok());
  EXPECT_NE(b.error().message.find("/proc/self/mountinfo:1"), std::string::npos)
      << b.error().message;
}

TEST(CgroupDiscovery, LiveProcessFindsSomethingOrSaysWhy) {
  // On any machine: either a parent directory, or one line explaining why not.
  auto parent = discover_memory_parent();
  if (parent.ok())
    EXPECT_FALSE(parent->dir.empty());
  else
    EXPECT_EQ(parent.error().message.find('\n'), std::string::npos);
}

}  // namespace
}  // namespace arenalab::budget
