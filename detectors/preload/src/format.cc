// SPDX-License-Identifier: Apache-2.0
// Number and JSON-string formatting into a caller-provided buffer (no allocation, no stdio),
// and the heap_v2 dump writer shared by heap and mmap profiles.
#include "format.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>  // rename
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>

namespace arenalab::preload {

Buf& Buf::mem(const char* s, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) {
    if (len_ + 1 >= cap_) {
      overflow_ = true;
      break;
    }
    data_[len_++] = s[i];
  }
  return *this;
}

Buf& Buf::str(const char* s) { return mem(s, str_len(s)); }

Buf& Buf::ch(char c) { return mem(&c, 1); }

Buf& Buf::u64(std::uint64_t v) {
  char tmp[24];
  int n = 0;
  do {
    tmp[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v);
  char out[24];
  for (int i = 0; i < n; ++i) out[i] = tmp[n - 1 - i];
  return mem(out, static_cast<std::size_t>(n));
}

Buf& Buf::i64(std::int64_t v) {
  if (v < 0) {
    ch('-');
    return u64(static_cast<std::uint64_t>(-(v + 1)) + 1);
  }
  return u64(static_cast<std::uint64_t>(v));
}

Buf& Buf::hex(std::uint64_t v) {
  static const char kDigits[] = "0123456789abcdef";
  char tmp[18];
  int n = 0;
  do {
    tmp[n++] = kDigits[v & 15];
    v >>= 4;
  } while (v);
  str("0x");
  char out[18];
  for (int i = 0; i < n; ++i) out[i] = tmp[n - 1 - i];
  return mem(out, static_cast<std::size_t>(n));
}

Buf& Buf::dbl(double v) {
  if (std::isnan(v) || std::isinf(v)) return str("null");  // JSON has no NaN
  if (v < 0) {
    ch('-');
    v = -v;
  }
  if (v >= 9.2e18) return u64(static_cast<std::uint64_t>(9.2e18));
  const auto whole = static_cast<std::uint64_t>(v);
  double frac = v - static_cast<double>(whole);
  auto micro = static_cast<std::uint64_t>(frac * 1e6 + 0.5);
  std::uint64_t w = whole;
  if (micro >= 1000000) {
    ++w;
    micro -= 1000000;
  }
  u64(w);
  if (micro == 0) return *this;
  char digits[6];
  for (int i = 5; i >= 0; --i) {
    digits[i] = static_cast<char>('0' + micro % 10);
    micro /= 10;
  }
  int n = 6;
  while (n > 0 && digits[n - 1] == '0') --n;
  ch('.');
  return mem(digits, static_cast<std::size_t>(n));
}

Buf& Buf::json_str(const char* s, std::size_t n) {
  static const char kHex[] = "0123456789abcdef";
  ch('"');
  for (std::size_t i = 0; i < n && s[i]; ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == '"' || c == '\\') {
      ch('\\');
      ch(static_cast<char>(c));
    } else if (c == '\n') {
      str("\\n");
    } else if (c == '\t') {
      str("\\t");
    } else if (c < 0x20) {
      str("\\u00");
      ch(kHex[c >> 4]);
      ch(kHex[c & 15]);
    } else {
      ch(static_cast<char>(c));
    }
  }
  return ch('"');
}

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
    default:
      return nullptr;
  }
}

std::size_t str_len(const char* s) {
  std::size_t n = 0;
  while (s[n]) ++n;
  return n;
}

bool str_eq(const char* a, const char* b) {
  while (*a && *a == *b) {
    ++a;
    ++b;
  }
  return *a == *b;
}

bool write_heap_v2(const char* path, std::uint64_t period, std::uint32_t n, HeapRecordFn record) {
  char tmp[1200];
  Buf bt(tmp, sizeof tmp - 1);
  bt.str(path).str(".tmp");
  if (bt.overflow()) return false;
  tmp[bt.size()] = 0;
  const int fd = ::open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
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
  ::close(fd);
  if (!ok || ::rename(tmp, path) != 0) {
    const int err = errno;  // the failed write's (or rename's), for the caller
    ::unlink(tmp);
    errno = err;
    return false;
  }
  return true;
}

}  // namespace arenalab::preload
