// SPDX-License-Identifier: Apache-2.0
// The timeline writer: <out_dir>/timeline.jsonl (the header line, then one sample line per
// interval, appended with write(2) by the sampler thread, sampler_thread.cc), and the outputs
// that stop when a write of theirs fails (output_stopped). run.json's warnings are warnings.cc.
#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include "arenalab/allocators/backend.h"
#include "arenalab/preload/format.h"
#include "arenalab/preload/helper_thread.h"
#include "arenalab/preload/statm.h"
#include "session.h"
#include "state.h"

namespace arenalab::preload {

namespace {

// The timeline is opened for each append and closed again: a program that closes every
// descriptor (daemons do) can neither break our writes nor have its own fds written by us.
bool g_timeline_open = false;
// In the output directory: a temporary name until timeline_publish renames it into place.
char g_timeline_name[kTempNameMax];
char g_timeline_final[64];  // timeline.jsonl, or timeline.<pid>.jsonl for a traced child

// The allocator's books within their share of the sampler's time (StatsPacer, backend.h):
// glibc's mallinfo2 walks every free chunk under the arena's lock. The final sample and the one
// after the purge probe always read them.
StatsPacer g_books;

// A roll (formats/timeline_roll.h: arenalab's own process thins the older part of a long
// timeline into a new file and swaps it in) holds the file's exclusive flock while it copies
// the last lines and swaps; an append takes the shared lock, never waiting for it (LOCK_NB).
// A line that finds the roll's lock waits here, written before the next one; only the
// sampler thread and the exit path append, both under g_write_lock.
char g_pending[16384];
std::size_t g_pending_n = 0;
std::atomic<bool> g_pending_noted{false};

enum class Lock { kHeld, kBusy, kStale, kNone };

// Takes the shared lock on fd, the timeline just opened by name, and checks that the name
// still leads to it: a roll may have swapped its new file in between the open and the lock.
Lock lock_timeline(int fd) {
  if (::flock(fd, LOCK_SH | LOCK_NB) != 0)
    return errno == EWOULDBLOCK ? Lock::kBusy : Lock::kNone;  // no locks here: as before
  struct stat mine {
  }, named{};
  const int dfd = ::open(g_session.out_dir, O_DIRECTORY | O_PATH | O_CLOEXEC);
  if (dfd < 0) return Lock::kHeld;
  const bool same = ::fstat(fd, &mine) == 0 &&
                    ::fstatat(dfd, g_timeline_name, &named, AT_SYMLINK_NOFOLLOW) == 0 &&
                    mine.st_dev == named.st_dev && mine.st_ino == named.st_ino;
  ::close(dfd);
  return same ? Lock::kHeld : Lock::kStale;
}

// Appends whole lines; when the size limit or the disk stops a line (write_all takes its
// partial bytes back), the timeline stops there and run.json's warnings say why. `last`: the
// exit path's lines, which have no next tick to ride on: they wait for a roll, at most 250 ms.
bool timeline_write(const char* p, std::size_t n, bool last = false) {
  if (!g_timeline_open) return false;
  output_cap_allows(Output::kTimeline, n);  // notes the cap when this line reaches it
  for (int attempt = 0;; ++attempt) {
    const int fd = open_output(g_session.out_dir, g_timeline_name, OpenMode::kAppend);
    if (fd < 0) {
      output_stopped(Output::kTimeline, errno);  // replaced by a link or another's file
      return false;
    }
    const Lock lock = lock_timeline(fd);
    if (lock == Lock::kStale && attempt < 8) {
      ::close(fd);
      continue;
    }
    if (lock == Lock::kBusy) {
      ::close(fd);
      if (last && attempt < 250) {
        timespec ms{0, 1000000};
        ::nanosleep(&ms, nullptr);
        continue;
      }
      if (g_pending_n + n <= sizeof g_pending) {
        std::memcpy(g_pending + g_pending_n, p, n);
        g_pending_n += n;
      } else if (!g_pending_noted.exchange(true)) {
        note_status("timeline: a sample line was dropped: ",
                    "the file stayed locked by a roll for longer than 16 KiB of lines", "");
      }
      return true;
    }
    bool ok = true;
    if (g_pending_n > 0) {
      ok = write_all(fd, g_pending, g_pending_n);
      if (ok) g_pending_n = 0;
    }
    ok = ok && write_all(fd, p, n);
    const int err = errno;
    ::close(fd);  // and the lock with it
    if (!ok) output_stopped(Output::kTimeline, err);
    return ok;
  }
}

}  // namespace

void timeline_write_header() {
  static char buf[65536];
  Buf b(buf, sizeof buf - 1);
  b.str("{\"schema\":\"arenalab.timeline/1\",\"pid\":").i64(getpid()).str(",\"command\":[");
  // argv from /proc/self/cmdline (NUL-separated).
  char cmd[16384];
  ssize_t n = 0;
  const int fd = ::open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    n = ::read(fd, cmd, sizeof cmd - 1);
    ::close(fd);
  }
  // The command gets at most kCommandRoom bytes of the line (control characters take 6 bytes
  // each escaped): an argument that does not fit is cut, and the ones after it left out, so
  // the line itself is never cut (issue 21 item 9: a header without its newline swallowed the
  // first sample).
  constexpr std::size_t kCommandRoom = 32 * 1024;
  const std::size_t start = b.size();
  bool cut = false;
  for (ssize_t i = 0; i < n && !cut;) {
    const char* arg = cmd + i;
    const std::size_t len = str_len(arg);
    const std::size_t used = b.size() - start + (i > 0 ? 1 : 0);
    const std::size_t take =
        used < kCommandRoom ? Buf::json_prefix(arg, len, kCommandRoom - used) : 0;
    if (take == 0 && len > 0) {
      cut = true;
      break;
    }
    if (i > 0) b.ch(',');
    b.json_str(arg, take);
    cut = take < len;
    i += static_cast<ssize_t>(len) + 1;
  }
  const char* backend = g_session.id_ok ? backend_name(g_session.id.backend) : "unknown";
  const bool verified = g_session.id_ok && g_session.expected_backend[0] &&
                        str_eq(backend, g_session.expected_backend);
  b.str("],\"allocator\":{\"name\":")
      .json_str(g_session.config_name[0] ? g_session.config_name : backend);
  b.str(",\"backend\":").json_str(backend);
  b.str(",\"library\":").json_str(g_session.id.library);
  b.str(",\"version\":").json_str(g_session.id.version);
  b.str(",\"verified\":").str(verified ? "true" : "false");
  if (g_session.expected_backend[0])
    b.str(",\"expected_backend\":").json_str(g_session.expected_backend);
  b.str("},\"mode\":").json_str(g_session.mode_name);
  b.str(",\"interval_ms\":").dbl(g_session.interval_ms);
  b.str(",\"sample_bytes\":").i64(g_sample_bytes);
  b.str("}\n");
  if (b.overflow()) return;  // cannot happen with the bounds above; never a cut line
  timeline_write(b.data(), b.size());
  if (cut)
    note_status("timeline header: the command line was cut to ", "32 KiB",
                " of escaped text (run.json has it whole)");
}

void timeline_write_sample(bool final, bool after_purge) {
  static char buf[16384];
  Buf b(buf, sizeof buf - 1);
  const double t_ms = static_cast<double>(mono_ns() - g_session.t0_ns) / 1e6;
  b.str("{\"t_ms\":").dbl(static_cast<double>(static_cast<long long>(t_ms * 1000)) / 1000);
  const RssParts r = read_status_rss();
  if (r.rss >= 0) b.str(",\"rss\":").i64(r.rss);
  if (r.anon >= 0) b.str(",\"rss_anon\":").i64(r.anon);
  if (r.file >= 0) b.str(",\"rss_file\":").i64(r.file);
  if (r.shmem >= 0) b.str(",\"rss_shmem\":").i64(r.shmem);
  if (r.vm >= 0) b.str(",\"vm_size\":").i64(r.vm);
  if (g_session.mode_flags & kCount) {
    long long bytes, allocs;
    sum_slots(&bytes, &allocs);
    b.str(",\"live_bytes\":").i64(bytes).str(",\"live_allocs\":").i64(allocs);
  }
  if (g_session.mode_flags & kMmap) {
    b.str(",\"mmap_bytes\":").i64(mmap_live_bytes());
    b.str(",\"mmap_reserved_bytes\":").i64(mmap_reserved_bytes());
  }
  if (g_session.mode_flags & kSample)
    b.str(",\"sampled_live_bytes\":").i64(profile_sampled_live_estimate());
  const std::uint64_t now_ns = mono_ns();
  if (g_session.id_ok && g_books.due(now_ns, final || after_purge)) {
    AllocatorStats st;
    const std::uint64_t cpu0 = thread_cpu_ns();
    const bool read = read_allocator_stats(g_session.id.backend, &st);
    g_books.took(now_ns, thread_cpu_ns() - cpu0);
    if (read) {
      Buf mark = b;
      b.str(",\"alloc\":{");
      bool any = false;
      auto put = [&](const char* k, const std::optional<std::uint64_t>& v) {
        if (!v) return;
        if (any) b.ch(',');
        any = true;
        b.json_str(k).ch(':').u64(*v);
      };
      put("allocated", st.allocated);
      put("active", st.active);
      put("resident", st.resident);
      put("mapped", st.mapped);
      put("retained", st.retained);
      if (any)
        b.ch('}');
      else
        b = mark;
    }
  }
  gauges_append(b);
  if (final) b.str(",\"final\":true");
  if (after_purge) b.str(",\"after_purge\":true");
  b.str("}\n");
  if (!b.overflow()) timeline_write(b.data(), b.size(), final || after_purge);
}

bool timeline_open(bool child) {
  Buf b(g_timeline_final, sizeof g_timeline_final - 1);
  if (child)
    b.str("timeline.").u64(static_cast<std::uint64_t>(getpid())).str(".jsonl");
  else
    b.str("timeline.jsonl");
  g_timeline_final[b.size()] = 0;
  // Written under a temporary name and renamed into place once it holds its header
  // (timeline_publish): a reader never sees the file empty or half-headed, not even when the
  // target execs and its new image starts the timeline again (a pyenv shim exec'ing python).
  const int fd = open_output(g_session.out_dir, g_timeline_final, OpenMode::kTemp, g_timeline_name);
  if (fd < 0) return false;
  ::close(fd);
  g_timeline_open = true;
  return true;
}

bool timeline_publish() {
  if (!g_timeline_open) return false;
  if (!commit_temp(g_session.out_dir, g_timeline_name, g_timeline_final, true)) {
    g_timeline_open = false;
    return false;
  }
  std::memcpy(g_timeline_name, g_timeline_final, sizeof g_timeline_final);
  return true;
}

void timeline_atfork_child() {
  g_timeline_open = false;
  g_pending_n = 0;         // the parent's lines
  g_books = StatsPacer{};  // the child's first sample reads its books
  dumps_atfork_child();
  output_bytes_reset();
  sampler_atfork_child();
  warnings_atfork_child();
}

bool output_stopped(Output o, int err) {
  const char* reason = output_full_reason(err);
  if (!reason) return false;
  static std::atomic<bool> noted[3];
  if (noted[static_cast<int>(o)].exchange(true)) return true;
  const char* what = "timeline cut: ";
  if (o == Output::kTimeline) g_timeline_open = false;  // no later line
  if (o == Output::kFullLog) what = "full log cut: ";
  if (o == Output::kDumps) {
    what = "heap dumps stopped: ";
    dumps_stop();
  }
  char at[64];
  Buf b(at, sizeof at - 1);
  b.str(" at t_ms=")
      .u64((mono_ns() - g_session.t0_ns) / 1000000)
      .str("; nothing later was written");
  at[b.size()] = 0;
  char why[160];
  Buf w(why, sizeof why - 1);
  w.str(reason).str(at);
  why[w.size()] = 0;
  note_status(what, why, "");
  return true;
}

}  // namespace arenalab::preload
