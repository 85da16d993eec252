// SPDX-License-Identifier: Apache-2.0
// RSS and its parts for the samplers that run inside the target: the interposer's
// (timeline_writer.cc) and the attach agent's (agent.cc). read_status_rss reads /proc/self/status
// (RssAnon, RssFile, RssShmem apart); read_statm_rss is its fallback.
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

// The resident set and its three parts, bytes, from /proc/self/status: VmRSS = RssAnon + RssFile
// + RssShmem (proc(5), since Linux 4.5). statm's `shared` is file + shmem together, so a file
// read through a mapping (page cache, bounded by the file) and a memfd that leaks look the same
// there. status costs more than statm (the kernel formats some fifty fields; docs/interposer.md
// gives the sampler's cost with each). No allocation, no stdio.
// The same read gives the process's mapped size (VmSize: every mapping, resident or not), which
// tells a fixed mapping becoming resident from mappings that keep being added.
// A part the kernel does not print (before 4.5) stays -1; an unreadable status falls back to
// statm for rss and anon (vm stays -1: not measured).
struct RssParts {
  long long rss = -1, anon = -1, file = -1, shmem = -1, vm = -1;
};
inline RssParts read_status_rss() {
  RssParts out;
  char buf[4096];
  const int fd = ::open("/proc/self/status", O_RDONLY | O_CLOEXEC);
  ssize_t n = -1;
  if (fd >= 0) {
    size_t got = 0;
    while (got < sizeof buf - 1) {
      const ssize_t r = ::read(fd, buf + got, sizeof buf - 1 - got);
      if (r <= 0) break;
      got += static_cast<size_t>(r);
    }
    ::close(fd);
    n = static_cast<ssize_t>(got);
  }
  if (n <= 0) {
    read_statm_rss(&out.rss, &out.anon);
    return out;
  }
  buf[n] = 0;
  // "Name:\t   1234 kB\n" lines; only the five names below are read.
  struct Key {
    const char* name;
    unsigned len;
    long long* dst;
  } keys[] = {{"VmSize:", 7, &out.vm},
              {"VmRSS:", 6, &out.rss},
              {"RssAnon:", 8, &out.anon},
              {"RssFile:", 8, &out.file},
              {"RssShmem:", 9, &out.shmem}};
  const char* p = buf;
  while (*p) {
    for (auto& k : keys) {
      unsigned i = 0;
      while (i < k.len && p[i] == k.name[i]) ++i;
      if (i != k.len) continue;
      const char* q = p + k.len;
      while (*q == ' ' || *q == '\t') ++q;
      if (*q < '0' || *q > '9') break;
      long long x = 0;
      while (*q >= '0' && *q <= '9') x = x * 10 + (*q++ - '0');
      *k.dst = x * 1024;  // the kernel prints kB (KiB)
      break;
    }
    while (*p && *p != '\n') ++p;
    if (*p) ++p;
  }
  if (out.rss < 0) read_statm_rss(&out.rss, &out.anon);
  return out;
}

}  // namespace arenalab::preload
