// SPDX-License-Identifier: Apache-2.0
// A fixed-capacity text buffer with its own number formatting and JSON string escaping, for
// writing timeline lines and heap dumps from injected code without stdio or allocation.
#pragma once

#include <signal.h>

#include <cstddef>
#include <cstdint>

namespace arenalab::preload {

class Buf {
 public:
  Buf(char* data, std::size_t cap) : data_(data), cap_(cap) {}
  Buf& str(const char* s);
  Buf& mem(const char* s, std::size_t n);
  Buf& ch(char c);
  Buf& u64(std::uint64_t v);
  Buf& i64(std::int64_t v);
  Buf& hex(std::uint64_t v);  // 0x...
  Buf& dbl(double v);         // integral values plainly, else up to 6 decimals
  Buf& json_str(const char* s, std::size_t n = static_cast<std::size_t>(-1));
  std::size_t size() const { return len_; }
  const char* data() const { return data_; }
  bool overflow() const { return overflow_; }
  void clear() {
    len_ = 0;
    overflow_ = false;
  }

 private:
  char* data_;
  std::size_t cap_;
  std::size_t len_ = 0;
  bool overflow_ = false;
};

// One record of a jemalloc heap_v2 profile: a stack and its live / cumulative counts.
struct HeapRecord {
  void* const* frames;
  std::uint32_t depth;
  long long objs, bytes, acc_objs, acc_bytes;
};
// Fills *out with record i (0 <= i < n); false: no record for i (nothing live).
using HeapRecordFn = bool (*)(std::uint32_t i, HeapRecord* out);

// Writes <path> atomically (through <path>.tmp, then rename) in jemalloc's heap_v2 format:
// "heap_v2/<period>", the totals over all n records, one "@ frames" record per live stack, then
// MAPPED_LIBRARIES (this process's /proc/self/maps, so jeprof maps addresses to objects). Uses
// one static buffer: callers serialise (the sampler's write lock). False on any I/O error.
bool write_heap_v2(const char* path, std::uint64_t period, std::uint32_t n, HeapRecordFn record);

// Blocks SIGXFSZ in the calling thread for the scope, so that a write of ours past the
// file-size limit (ulimit -f) fails with EFBIG instead of killing the program; a SIGXFSZ the
// kernel raised meanwhile (it goes to the writing thread) is taken back at the end, unless one
// was pending already (then it is the program's).
class NoXfsz {
 public:
  NoXfsz();
  ~NoXfsz();
  NoXfsz(const NoXfsz&) = delete;
  NoXfsz& operator=(const NoXfsz&) = delete;

 private:
  sigset_t old_;
  bool pending_before_;
};

// write(2) until done (EINTR retried), under NoXfsz. False on error, errno set; bytes of this
// call that did reach the file before a failure are truncated away again, so a file ends in a
// whole record (a timeline in a whole line) when the size limit or the disk cuts a write.
bool write_all(int fd, const char* p, std::size_t n);

// For errno after a failed write: why writing cannot go on (the size limit, a full disk, the
// quota), or null for any other error.
const char* output_full_reason(int err);

// Length of a NUL-terminated string; string compare (no libc dependence on the hot path).
std::size_t str_len(const char* s);
bool str_eq(const char* a, const char* b);

}  // namespace arenalab::preload
