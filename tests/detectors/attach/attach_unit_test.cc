// SPDX-License-Identifier: Apache-2.0
// detectors/attach units: where a process's memory cgroup is, from sample /proc texts, and the
// refusals of inspect() on pids that are not there.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>
#include <csignal>
#include <fstream>

#include <set>

#include "arenalab/attach/attach.h"

namespace arenalab::attach {
namespace {

// The mounts of this build machine's kind: v1 controllers beside an empty v2 hierarchy.
const char* kHybridMounts =
    "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
    "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
    "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
    "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";
const char* kV2Mounts =
    "30 24 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 "
    "rw,nsdelegate,memory_recursiveprot\n";

auto files(std::set<std::string> present) {
  return [present](const std::string& p) { return present.count(p) > 0; };
}

TEST(LocateCgroup, V2GroupWithMemoryCurrent) {
  auto d = locate_cgroup("0::/system.slice/redis.service\n", kV2Mounts,
                         files({"/sys/fs/cgroup/system.slice/redis.service/memory.current"}));
  ASSERT_TRUE(d);
  EXPECT_EQ(d->dir, "/sys/fs/cgroup/system.slice/redis.service");
  EXPECT_EQ(d->version, "v2");
}

TEST(LocateCgroup, V2RootGroupHasNoFigures) {
  // The root group has no memory.current: nothing to read, not an error.
  EXPECT_FALSE(locate_cgroup("0::/\n", kV2Mounts, files({})));
}

TEST(LocateCgroup, HybridFallsBackToV1Memory) {
  auto d =
      locate_cgroup("9:name=systemd:/\n4:memory:/process_api/abc\n1:cpu:/\n0::/\n", kHybridMounts,
                    files({"/sys/fs/cgroup/memory/process_api/abc/memory.usage_in_bytes"}));
  ASSERT_TRUE(d);
  EXPECT_EQ(d->dir, "/sys/fs/cgroup/memory/process_api/abc");
  EXPECT_EQ(d->version, "v1");
}

TEST(LocateCgroup, MountFromBelowTheGroupIsNotUsed) {
  // Our mount shows only /a of the hierarchy: a group at /b cannot be reached from here.
  const char* mounts = "35 31 0:32 /a /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n";
  EXPECT_FALSE(locate_cgroup("4:memory:/b\n", mounts, [](const std::string&) { return true; }));
  auto d = locate_cgroup("4:memory:/a/x\n", mounts, [](const std::string&) { return true; });
  ASSERT_TRUE(d);
  EXPECT_EQ(d->dir, "/sys/fs/cgroup/memory/x");
}

TEST(Inspect, RefusesWhatIsNoProcess) {
  auto r = inspect(0);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("not a process id"), std::string::npos);
  // pid_max is at most 2^22 (proc(5)): this pid cannot exist.
  r = inspect(4194304 + 7);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("does not exist"), std::string::npos) << r.error().message;
  EXPECT_EQ(r.error().message.find('\n'), std::string::npos);
}

TEST(Inspect, FindsAProcess) {
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::execlp("sleep", "sleep", "10", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  // Once exec'd (its comm is sleep's), inspect it as any target.
  for (int i = 0; i < 200; ++i) {
    std::ifstream comm("/proc/" + std::to_string(child) + "/comm");
    std::string name;
    if (std::getline(comm, name) && name == "sleep") break;
    ::usleep(10000);
  }
  auto r = inspect(child);
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->pid, child);
  ASSERT_FALSE(r->command.empty());
  EXPECT_EQ(r->command[0], "sleep");
  EXPECT_GT(r->start_ticks, 0u);
  EXPECT_GE(r->started_s_ago, 0.0);
}

// arenalab's own pid is not a target (it cannot ptrace itself, and would watch the watcher).
TEST(Inspect, RefusesItself) {
  auto r = inspect(::getpid());
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("is this arenalab itself"), std::string::npos)
      << r.error().message;
}

}  // namespace
}  // namespace arenalab::attach
