// SPDX-License-Identifier: Apache-2.0
// Test helper: totals over every mapping of /proc/self/smaps (proc(5)), in bytes, and whether
// an address range is still mapped. Reads the file with read(2) into a stack buffer so that the
// measurement itself does not allocate (and cannot map) memory.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace arenalab::offheap::test {

struct SmapsTotals {
  std::uint64_t size = 0;  // sum of "Size:" (mapped virtual bytes)
  std::uint64_t rss = 0;   // sum of "Rss:"
  bool ok = false;
  // Whether a mapping overlapping [lo, hi) exists.
  bool overlaps = false;
};

// Scans /proc/self/smaps line by line; `lo`/`hi` optional range to look for.
inline SmapsTotals read_smaps(std::uintptr_t lo = 0, std::uintptr_t hi = 0) {
  SmapsTotals t;
  const int fd = open("/proc/self/smaps", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return t;
  char buf[1 << 16];
  char line[512];
  std::size_t used = 0;
  ssize_t n;
  auto consume = [&](const char* l) {
    unsigned long long kb = 0;
    unsigned long long a = 0, b = 0;
    if (std::sscanf(l, "Size: %llu kB", &kb) == 1) {
      t.size += kb * 1024;
    } else if (std::sscanf(l, "Rss: %llu kB", &kb) == 1) {
      t.rss += kb * 1024;
    } else if (std::sscanf(l, "%llx-%llx ", &a, &b) == 2 && hi > lo) {
      if (a < hi && lo < b) t.overlaps = true;
    }
  };
  while ((n = read(fd, buf, sizeof buf)) > 0) {
    for (ssize_t i = 0; i < n; ++i) {
      if (buf[i] == '\n' || used + 1 == sizeof line) {
        line[used] = '\0';
        consume(line);
        used = 0;
      } else {
        line[used++] = buf[i];
      }
    }
  }
  close(fd);
  t.ok = n == 0;
  return t;
}

}  // namespace arenalab::offheap::test
