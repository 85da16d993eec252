// SPDX-License-Identifier: Apache-2.0
// RSS and its anonymous part from /proc/self/statm, for the samplers that run inside the target:
// the interposer's (timeline_writer.cc) and the attach agent's (agent.cc).
#pragma once

#include <fcntl.h>
#include <unistd.h>

namespace arenalab::preload {

// statm is "size resident shared ..." in pages, where resident = anon + file + shmem and shared
// = file + shmem, the counters /proc/self/status prints as VmRSS and RssAnon. statm is one short
// line (4.4 us a read here, status 10.5 us: the kernel formats some fifty fields for it), read
// on every tick. Bytes; -1 where unreadable.
inline void read_statm_rss(long long* rss, long long* anon) {
  *rss = -1;
  *anon = -1;
  char buf[256];
  const int fd = ::open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  const ssize_t n = ::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  if (n <= 0) return;
  buf[n] = 0;
  long long v[3] = {-1, -1, -1};
  const char* p = buf;
  for (int i = 0; i < 3; ++i) {
    while (*p == ' ') ++p;
    if (*p < '0' || *p > '9') return;
    long long x = 0;
    while (*p >= '0' && *p <= '9') x = x * 10 + (*p++ - '0');
    v[i] = x;
  }
  const long long page = ::sysconf(_SC_PAGESIZE);
  if (page <= 0 || v[2] > v[1]) return;
  *rss = v[1] * page;
  *anon = (v[1] - v[2]) * page;
}

}  // namespace arenalab::preload
