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
  // How many bytes of s (at most n, stopping at NUL) json_str writes within `room` bytes,
  // quotes included (0 when not even "" fits): a field cut there is still a JSON string.
  static std::size_t json_prefix(const char* s, std::size_t n, std::size_t room);
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

// Writes <dir>/<name> atomically (write_output's temporary, then renameat) in jemalloc's
// heap_v2 format: "heap_v2/<period>", the totals over all n records, one "@ frames" record per
// live stack, then MAPPED_LIBRARIES (this process's /proc/self/maps, so jeprof maps addresses
// to objects). Uses one static buffer: callers serialise (the sampler's write lock). False on
// any I/O error, errno set.
bool write_heap_v2(const char* dir, const char* name, std::uint64_t period, std::uint32_t n,
                   HeapRecordFn record);

// ---- output files (issue 21: no file clobbered through a link, even when run as root) ----
// Every file is opened relative to the output directory (opened again for each call: the
// program may close any descriptor, and a kept one could be reused for another directory),
// never through a symbolic link (O_NOFOLLOW), and written only when it is a regular file with
// one link owned by this process's user (else EPERM); files are created 0600 (they hold
// command lines and /proc/PID/maps).
enum class OpenMode {
  kAppend,  // append, creating the file when absent
  kCreate,  // a new empty file: one of that name is unlinked first, never truncated (it may
            // be a hard link to someone else's file)
  kTemp,    // a new file named <name>.tmp.<16 random hex digits> (O_EXCL); see commit_temp
};
// Returns the descriptor (O_WRONLY, O_CLOEXEC) or -1 with errno. kTemp writes the name it chose
// into temp_name (at least kTempNameMax bytes).
inline constexpr std::size_t kTempNameMax = 256;
int open_output(const char* dir, const char* name, OpenMode mode, char* temp_name = nullptr);
// Renames the temporary to <dir>/<name> (renameat, relative to the directory), or removes it
// when !ok. True when renamed.
bool commit_temp(const char* dir, const char* temp_name, const char* name, bool ok);

// Removes <dir>/<name> (relative to the directory, never through a link: a link itself is
// removed, its target untouched); returns the bytes the regular file held (0 when absent or not
// a regular file).
std::uint64_t remove_output(const char* dir, const char* name);

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

// The bytes this process wrote through write_all, less those of the dumps it removed again
// (the thinning in sampler_thread.cc): what --max-output caps (session.h output_cap_allows).
// Per traced process: a traced fork child starts again from 0 (its files are its own).
std::uint64_t output_bytes();
void output_bytes_add(std::int64_t delta);
void output_bytes_reset();

// For errno after a failed write or open_output: why writing cannot go on (the size limit, a
// full disk, the quota, the file replaced by a link), or null for any other error.
const char* output_full_reason(int err);

// Length of a NUL-terminated string; string compare (no libc dependence on the hot path).
std::size_t str_len(const char* s);
bool str_eq(const char* a, const char* b);

}  // namespace arenalab::preload
