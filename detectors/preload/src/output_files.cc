// SPDX-License-Identifier: Apache-2.0
// The output files of the interposer (no allocation, no stdio): SIGXFSZ held off around a write,
// whole-or-nothing writes and the bytes written (--max-output), the reason a write stopped, files
// opened beside a directory fd with O_NOFOLLOW (created, appended, or under a temporary name then
// renamed into place), and the heap_v2 dump writer shared by heap and mmap profiles.
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>  // rename
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>

#include "arenalab/preload/format.h"

namespace arenalab::preload {

NoXfsz::NoXfsz() {
  sigset_t xfsz, pending;
  sigemptyset(&xfsz);
  sigaddset(&xfsz, SIGXFSZ);
  pthread_sigmask(SIG_BLOCK, &xfsz, &old_);
  pending_before_ = sigpending(&pending) == 0 && sigismember(&pending, SIGXFSZ);
}

NoXfsz::~NoXfsz() {
  sigset_t xfsz, pending;
  sigemptyset(&xfsz);
  sigaddset(&xfsz, SIGXFSZ);
  if (!pending_before_ && sigpending(&pending) == 0 && sigismember(&pending, SIGXFSZ)) {
    const int saved_errno = errno;
    const timespec zero{0, 0};
    sigtimedwait(&xfsz, nullptr, &zero);  // ours: taken back before it can be delivered
    errno = saved_errno;
  }
  pthread_sigmask(SIG_SETMASK, &old_, nullptr);
}

namespace {
std::atomic<std::int64_t> g_output_bytes{0};
}  // namespace

std::uint64_t output_bytes() {
  const std::int64_t v = g_output_bytes.load(std::memory_order_relaxed);
  return v > 0 ? static_cast<std::uint64_t>(v) : 0;
}
void output_bytes_add(std::int64_t delta) {
  g_output_bytes.fetch_add(delta, std::memory_order_relaxed);
}
void output_bytes_reset() { g_output_bytes.store(0, std::memory_order_relaxed); }

bool write_all(int fd, const char* p, std::size_t n) {
  NoXfsz no_xfsz;
  std::size_t done = 0;
  while (n > 0) {
    const ssize_t w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      if (done > 0) {
        // The file's offset is just past our partial write (O_APPEND files too).
        const int saved_errno = errno;
        const off_t end = ::lseek(fd, 0, SEEK_CUR);
        if (end >= static_cast<off_t>(done)) (void)!::ftruncate(fd, end - static_cast<off_t>(done));
        errno = saved_errno;
      }
      return false;
    }
    p += w;
    n -= static_cast<std::size_t>(w);
    done += static_cast<std::size_t>(w);
  }
  output_bytes_add(static_cast<std::int64_t>(done));
  return true;
}

const char* output_full_reason(int err) {
  switch (err) {
    case EFBIG:
      return "the file size limit (RLIMIT_FSIZE, ulimit -f) was reached";
    case ENOSPC:
      return "the file system is full (ENOSPC)";
    case EDQUOT:
      return "the disk quota is exhausted (EDQUOT)";
    case ELOOP:  // O_NOFOLLOW met a symbolic link
      return "the file was replaced by a symbolic link";
    case EPERM:  // open_output's check
      return "the file was replaced by one this run did not create (a link or another owner's)";
    default:
      return nullptr;
  }
}

namespace {

// 64 unpredictable bits: getrandom(2) (never blocks here), else a mix of what differs between
// processes and calls.
std::uint64_t random64() {
  std::uint64_t v = 0;
  if (syscall(SYS_getrandom, &v, sizeof v, 1 /* GRND_NONBLOCK */) == sizeof v) return v;
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  v = static_cast<std::uint64_t>(ts.tv_nsec) ^ (static_cast<std::uint64_t>(ts.tv_sec) << 30) ^
      (static_cast<std::uint64_t>(getpid()) << 40) ^ reinterpret_cast<std::uintptr_t>(&v);
  v ^= v >> 33;
  v *= 0xff51afd7ed558ccdULL;
  return v ^ (v >> 33);
}

}  // namespace

int open_output(const char* dir, const char* name, OpenMode mode, char* temp_name) {
  const int dfd = ::open(dir, O_DIRECTORY | O_PATH | O_CLOEXEC);
  if (dfd < 0) return -1;
  int flags = O_WRONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY;
  const char* target = name;
  if (mode == OpenMode::kAppend) {
    flags |= O_APPEND | O_CREAT;
  } else if (mode == OpenMode::kCreate) {
    flags |= O_CREAT | O_EXCL;
    if (::unlinkat(dfd, name, 0) != 0 && errno != ENOENT) {
      const int err = errno;
      ::close(dfd);
      errno = err;
      return -1;
    }
  } else {
    flags |= O_CREAT | O_EXCL;
    Buf t(temp_name, kTempNameMax - 1);
    t.str(name).str(".tmp.");
    const std::uint64_t r = random64();
    for (int i = 60; i >= 0; i -= 4) t.ch("0123456789abcdef"[(r >> i) & 15]);
    if (t.overflow()) {
      ::close(dfd);
      errno = ENAMETOOLONG;
      return -1;
    }
    temp_name[t.size()] = 0;
    target = temp_name;
  }
  const int fd = ::openat(dfd, target, flags, 0600);
  int err = errno;
  ::close(dfd);
  if (fd >= 0) {
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1 ||
        st.st_uid != ::geteuid()) {
      ::close(fd);
      errno = EPERM;  // not a file of ours: someone else's, or linked from elsewhere
      return -1;
    }
  }
  errno = err;
  return fd;
}

std::uint64_t remove_output(const char* dir, const char* name) {
  const int dfd = ::open(dir, O_DIRECTORY | O_PATH | O_CLOEXEC);
  if (dfd < 0) return 0;
  struct stat st {};
  std::uint64_t bytes = 0;
  if (::fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
    if (S_ISREG(st.st_mode)) bytes = static_cast<std::uint64_t>(st.st_size);
    if (::unlinkat(dfd, name, 0) != 0) bytes = 0;
  }
  ::close(dfd);
  return bytes;
}

bool commit_temp(const char* dir, const char* temp_name, const char* name, bool ok) {
  const int err = errno;
  const int dfd = ::open(dir, O_DIRECTORY | O_PATH | O_CLOEXEC);
  if (dfd < 0) return false;
  if (ok && ::renameat(dfd, temp_name, dfd, name) == 0) {
    ::close(dfd);
    return true;
  }
  const int rename_err = ok ? errno : err;
  ::unlinkat(dfd, temp_name, 0);
  ::close(dfd);
  errno = rename_err;
  return false;
}

bool write_heap_v2(const char* dir, const char* name, std::uint64_t period, std::uint32_t n,
                   HeapRecordFn record) {
  char tmp[kTempNameMax];
  const int fd = open_output(dir, name, OpenMode::kTemp, tmp);
  if (fd < 0) return false;
  static char buf[1 << 16];
  Buf b(buf, sizeof buf);
  long long objs = 0, bytes = 0, acc_objs = 0, acc_bytes = 0;
  HeapRecord r{};
  for (std::uint32_t i = 0; i < n; ++i) {
    if (!record(i, &r)) continue;
    objs += r.objs;
    bytes += r.bytes;
    acc_objs += r.acc_objs;
    acc_bytes += r.acc_bytes;
  }
  auto counts = [&](long long o, long long by, long long ao, long long ab) {
    b.str("  t*: ").i64(o).str(": ").i64(by).str(" [").i64(ao).str(": ").i64(ab).str("]\n");
  };
  b.str("heap_v2/").u64(period).ch('\n');
  counts(objs, bytes, acc_objs, acc_bytes);
  errno = 0;
  bool ok = true;
  for (std::uint32_t i = 0; i < n; ++i) {
    if (!record(i, &r)) continue;
    if (b.size() > sizeof buf - 2048) {
      ok = ok && write_all(fd, b.data(), b.size());
      b.clear();
    }
    b.ch('@');
    for (std::uint32_t f = 0; f < r.depth; ++f)
      b.ch(' ').hex(reinterpret_cast<std::uintptr_t>(r.frames[f]));
    b.ch('\n');
    counts(r.objs, r.bytes, r.acc_objs, r.acc_bytes);
  }
  b.str("\nMAPPED_LIBRARIES:\n");
  ok = ok && write_all(fd, b.data(), b.size());
  const int maps = ::open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
  if (maps >= 0) {
    for (;;) {
      const ssize_t got = ::read(maps, buf, sizeof buf);
      if (got <= 0) break;
      ok = ok && write_all(fd, buf, static_cast<std::size_t>(got));
    }
    ::close(maps);
  }
  const int err = errno;  // a failed write's, for the caller
  ::close(fd);
  errno = err;
  return commit_temp(dir, tmp, name, ok);
}

}  // namespace arenalab::preload
