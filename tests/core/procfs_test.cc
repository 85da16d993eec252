// SPDX-License-Identifier: Apache-2.0
// procfs readers against known values: a mapping of known size touched page by page.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "arenalab/procfs/procfs.h"

namespace arenalab::procfs {
namespace {

TEST(Procfs, MappingRssCountsExactlyTheTouchedPages) {
  const std::size_t page = page_size();
  const std::size_t pages = 256;
  void* p = mmap(nullptr, pages * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(p, MAP_FAILED);
  // No transparent huge pages: the count must be page-exact.
  madvise(p, pages * page, MADV_NOHUGEPAGE);
  auto* bytes = static_cast<volatile char*>(p);
  const auto addr = reinterpret_cast<std::uintptr_t>(p);
  auto before = mapping_containing(addr);
  ASSERT_TRUE(before.ok()) << before.error().message;
  EXPECT_EQ(before->rss, 0u);
  for (std::size_t i = 0; i < 100; ++i) bytes[i * page] = 1;
  auto after = mapping_containing(addr);
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->rss, 100 * page);
  EXPECT_LE(after->start, addr);
  EXPECT_GT(after->end, addr);
  for (std::size_t i = 100; i < pages; ++i) bytes[i * page] = 1;
  EXPECT_EQ(mapping_containing(addr)->rss, pages * page);
  munmap(p, pages * page);
}

TEST(Procfs, StatusAndRollupSeeTouchedAnonymousMemory) {
  const std::size_t size = 64u << 20;
  auto s0 = read_status();
  auto r0 = read_smaps_rollup();
  ASSERT_TRUE(s0.ok() && r0.ok());
  void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(p, MAP_FAILED);
  auto* bytes = static_cast<volatile char*>(p);
  for (std::size_t off = 0; off < size; off += page_size()) bytes[off] = 1;
  auto s1 = read_status();
  auto r1 = read_smaps_rollup();
  ASSERT_TRUE(s1.ok() && r1.ok());
  EXPECT_GE(s1->vm_rss - s0->vm_rss, size - (1u << 20));
  EXPECT_GE(s1->vm_hwm, s1->vm_rss);
  ASSERT_TRUE(s1->rss_anon.has_value());
  EXPECT_GE(r1->anonymous() - r0->anonymous(), size - (1u << 20));
  EXPECT_GE(r1->private_dirty(), size);
  munmap(p, size);
  auto s2 = read_status();
  EXPECT_LT(s2->vm_rss, s1->vm_rss - size / 2);
}

TEST(Procfs, IoCountsReadSyscalls) {
  auto before = read_io();
  ASSERT_TRUE(before.ok()) << before.error().message;
  char buf[16];
  int fd = open("/proc/self/stat", O_RDONLY);
  ASSERT_GE(fd, 0);
  for (int i = 0; i < 10; ++i) ASSERT_GE(pread(fd, buf, sizeof buf, 0), 0);
  close(fd);
  auto after = read_io();
  ASSERT_TRUE(after.ok());
  EXPECT_GE(after->syscr - before->syscr, 10u);
}

TEST(Procfs, AnotherPidIsReadable) {
  const pid_t child = fork();
  if (child == 0) {
    pause();
    _exit(0);
  }
  auto s = read_status(child);
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_GT(s->vm_rss, 0u);
  EXPECT_TRUE(read_smaps_rollup(child).ok());
  kill(child, SIGKILL);
  waitpid(child, nullptr, 0);
}

TEST(Procfs, VanishedPidIsAnErrorNamingPidAndFile) {
  const pid_t child = fork();
  if (child == 0) _exit(0);
  waitpid(child, nullptr, 0);  // reaped: the pid is gone
  auto s = read_status(child);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find(std::to_string(child)), std::string::npos);
  EXPECT_NE(s.error().message.find("status"), std::string::npos);
  auto r = read_smaps_rollup(child);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("smaps_rollup"), std::string::npos);
  EXPECT_FALSE(read_io(child).ok());
  EXPECT_FALSE(mapping_containing(0x1000, child).ok());
}

TEST(Procfs, ChildrenUsageIncludesReapedChildren) {
  const pid_t child = fork();
  if (child == 0) {
    volatile double x = 0;
    for (int i = 0; i < 20000000; ++i) x = x + i;
    _exit(0);
  }
  waitpid(child, nullptr, 0);
  const auto u = children_usage();
  EXPECT_GT(u.user_ms + u.sys_ms, 0);
  EXPECT_GT(u.max_rss_bytes, 0u);
}

TEST(Procfs, MemTotalIsPositive) {
  auto m = mem_total();
  ASSERT_TRUE(m.ok());
  EXPECT_GT(*m, 64ull << 20);
}

}  // namespace
}  // namespace arenalab::procfs
