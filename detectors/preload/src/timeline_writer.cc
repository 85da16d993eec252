// SPDX-License-Identifier: Apache-2.0
// The timeline writer: <out_dir>/timeline.jsonl (the header line, then one sample line per
// interval, appended with write(2) by the sampler thread), the dumps on the same ticks
// (dumps.cc), the final sample at exit, run.json's warnings (preload-warnings.txt), and _exit's
// wait for an append in flight.
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
#include "arenalab/preload/helper_thread.h"
#include "arenalab/preload/format.h"
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
SpinLock g_write_lock;
std::atomic<bool> g_done{false};

// --max-output (output_cap_allows): set once the cap is reached. The timeline then writes the
// ticks that are multiples of g_cap_stride only, doubling it every kCappedLines lines.
std::atomic<bool> g_capped{false};
constexpr long kCappedLines = 1024;
long g_cap_stride = 1;
long g_cap_lines = 0;

// preload-warnings.txt (note_warning): this process's bytes reserved in it, and the warnings
// past its share that were not written.
std::atomic<std::uint64_t> g_warn_bytes{0};
std::atomic<std::uint64_t> g_warn_dropped{0};

// Reads VmRSS and RssAnon (kB) from /proc/self/status.
void read_rss(long long* rss, long long* anon) {
  *rss = -1;
  *anon = -1;
  char buf[4096];
  const int fd = ::open("/proc/self/status", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  ssize_t n = ::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  if (n <= 0) return;
  buf[n] = 0;
  auto field = [&](const char* key) -> long long {
    const char* p = std::strstr(buf, key);
    if (!p) return -1;
    p += str_len(key);
    while (*p == ' ' || *p == '\t') ++p;
    long long v = 0;
    while (*p >= '0' && *p <= '9') v = v * 10 + (*p++ - '0');
    return v * 1024;
  };
  *rss = field("\nVmRSS:");
  *anon = field("\nRssAnon:");
}

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
  long long rss, anon;
  read_rss(&rss, &anon);
  if (rss >= 0) b.str(",\"rss\":").i64(rss);
  if (anon >= 0) b.str(",\"rss_anon\":").i64(anon);
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
  if (g_session.id_ok) {
    AllocatorStats st;
    if (read_allocator_stats(g_session.id.backend, &st)) {
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

namespace {

// Whether a tick count that went from `prev` to `tick` passed a multiple of `every` (> 0): a
// wake after a stall advances the count by the ticks it skipped, so "tick % every == 0" could
// step over a dump that fell due during the stall.
bool crossed(long prev, long tick, long every) { return tick / every != prev / every; }

// One sample per interval on an absolute schedule (CLOCK_MONOTONIC deadlines: no drift). `tick`
// counts the intervals since start, the ones skipped after a stall included, so dump_every and
// the --max-output stride stay periods of time.
//
// After a stall (SIGSTOP, a starved machine) the deadline is long past. Catching up on the
// schedule wrote every missed tick back to back (a 1 s stop at 100 ms gave 9 samples within
// 1 ms of each other, repeating one moment). So once a wake is more than one interval late,
// the missed ticks are skipped and the schedule restarts from now: the timeline shows the stall
// as one long gap, then samples a full interval apart. A wake less late than that keeps the
// schedule (the next sample comes early by the lateness).
void* sampler_main(void*) {
  BusyScope busy(t_state);  // everything this thread allocates goes straight through
  t_state.sampler = 1;
  const std::uint64_t interval_ns = static_cast<std::uint64_t>(g_session.interval_ms * 1e6);
  std::uint64_t next = mono_ns();
  long tick = 0;
  while (!g_done.load(std::memory_order_acquire)) {
    next += interval_ns;
    timespec ts{static_cast<time_t>(next / 1000000000ULL), static_cast<long>(next % 1000000000ULL)};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) == EINTR) {
    }
    const long prev = tick++;
    if (const std::uint64_t now = mono_ns(); now > next + interval_ns) {
      tick += static_cast<long>((now - next) / interval_ns);  // the ticks skipped
      next = now;
    }
    g_write_lock.lock();
    if (!g_done.load(std::memory_order_acquire)) {
      // Past --max-output the timeline keeps one tick in g_cap_stride (output_cap_allows).
      if (!g_capped.load(std::memory_order_relaxed)) {
        timeline_write_sample(false);
      } else if (crossed(prev, tick, g_cap_stride)) {
        timeline_write_sample(false);
        if (++g_cap_lines % kCappedLines == 0) g_cap_stride *= 2;
      }
      profile_flush_at((mono_ns() - g_session.t0_ns) / 1000000);
      if (g_session.dump_every > 0 && crossed(prev, tick, g_session.dump_every)) dumps_write();
      if (g_session.jeprof_dump_every > 0 && crossed(prev, tick, g_session.jeprof_dump_every))
        dumps_write_jeprof();
    }
    g_write_lock.unlock();
  }
  return nullptr;
}

}  // namespace

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

// The sampler thread starts with every signal blocked, so the program's signals are never
// delivered to it.
void sampler_start() { start_helper_thread(sampler_main); }

void timeline_atfork_child() {
  g_write_lock.v.store(0);
  g_timeline_open = false;
  g_pending_n = 0;  // the parent's lines
  dumps_atfork_child();
  g_capped.store(false, std::memory_order_relaxed);
  g_cap_stride = 1;
  g_cap_lines = 0;
  output_bytes_reset();
  g_warn_bytes.store(0, std::memory_order_relaxed);  // the child's share is its own
  g_warn_dropped.store(0, std::memory_order_relaxed);
}

bool output_cap_allows(Output o, std::size_t n) {
  const std::uint64_t cap = g_session.max_output;
  if (cap == 0) return true;
  if (!g_capped.load(std::memory_order_relaxed) && output_bytes() + n <= cap) return true;
  if (!g_capped.exchange(true)) {
    char why[192];
    Buf w(why, sizeof why - 1);
    w.str("--max-output ")
        .u64(cap)
        .str(" bytes reached at t_ms=")
        .u64((mono_ns() - g_session.t0_ns) / 1000000)
        .str(": the full log, heap and mmap dumps stopped; the timeline goes on, thinned");
    why[w.size()] = 0;
    note_status("output capped: ", why,
                " (its gap between samples doubles every 1024 lines), with its final sample");
  }
  return o == Output::kTimeline;
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

namespace {

// preload-warnings.txt is bounded (a program that dlopens with RTLD_DEEPBIND in a loop warns on
// every call): each traced process may append kWarnShareDiv-th of --max-output (at least
// kWarnMinShare), or kWarnDefaultCap without a cap. Past it repeated warnings are dropped and
// counted; the status lines (note_status: the cap reached, a file cut, what was dropped) each come
// at most once per process and have kWarnStatusRoom more. Every byte is also counted in
// output_bytes (write_all), so warnings take their part of --max-output like any other file.
constexpr std::uint64_t kWarnShareDiv = 8;
constexpr std::uint64_t kWarnMinShare = 4096;
constexpr std::uint64_t kWarnDefaultCap = 1 << 20;
constexpr std::uint64_t kWarnStatusRoom = 4096;

std::uint64_t warn_share() {
  const std::uint64_t cap = g_session.max_output;
  if (cap == 0) return kWarnDefaultCap;
  return cap / kWarnShareDiv > kWarnMinShare ? cap / kWarnShareDiv : kWarnMinShare;
}

// Takes n bytes of the file's room when they fit under `limit` (threads race here: a
// compare-and-swap, never a lock, so a fork in the middle leaves nothing held).
bool warn_reserve(std::uint64_t n, std::uint64_t limit) {
  std::uint64_t cur = g_warn_bytes.load(std::memory_order_relaxed);
  do {
    if (cur + n > limit) return false;
  } while (!g_warn_bytes.compare_exchange_weak(cur, cur + n, std::memory_order_relaxed));
  return true;
}

// The line is formatted on this call's stack, never in a shared buffer (16 threads warning at
// once tore about one line in ten), and appended with one write(2): O_APPEND writes of a regular
// file do not interleave. A text longer than the buffer is cut, but the line always ends with
// its newline. write_all blocks SIGXFSZ: a size limit gives EFBIG here, never a signal.
void warn_line(bool status, const char* a, const char* b, const char* c) {
  char line[2048];
  Buf l(line, sizeof line - 1);  // holds at most sizeof line - 2 bytes: room for the '\n'
  l.str(a).str(b).str(c);
  line[l.size()] = '\n';
  const std::size_t n = l.size() + 1;
  const std::uint64_t share = warn_share();
  if (!warn_reserve(n, status ? share + kWarnStatusRoom : share)) {
    if (status || g_warn_dropped.fetch_add(1, std::memory_order_relaxed) != 0) return;
    char why[160];
    Buf w(why, sizeof why - 1);
    w.str(" bytes at t_ms=")
        .u64((mono_ns() - g_session.t0_ns) / 1000000)
        .str(g_session.max_output ? " (from --max-output)" : " (the default without --max-output)")
        .str("; later warnings of this process are dropped, their number follows at exit");
    why[w.size()] = 0;
    char cap[32];
    Buf cb(cap, sizeof cap - 1);
    cb.u64(share);
    cap[cb.size()] = 0;
    char head[64];
    Buf h(head, sizeof head - 1);
    h.str("preload warnings cut: their share of ").str(cap);
    head[h.size()] = 0;
    warn_line(true, head, why, "");
    return;
  }
  const int fd = open_output(g_session.out_dir, "preload-warnings.txt", OpenMode::kAppend);
  if (fd < 0) return;
  write_all(fd, line, n);
  ::close(fd);
}

// The last warning line of a process that dropped some (sampler_final): how many.
void warn_final() {
  const std::uint64_t dropped = g_warn_dropped.load(std::memory_order_relaxed);
  if (dropped == 0) return;
  char n[32];
  Buf b(n, sizeof n - 1);
  b.u64(dropped);
  n[b.size()] = 0;
  warn_line(true, "preload warnings dropped: ", n,
            " warnings past this process's share of preload-warnings.txt were not written");
}

}  // namespace

// One line in <out_dir>/preload-warnings.txt (run.json's "warnings"). Any thread may warn at
// any time (a dlopen hook, count mode's tables, the sampler); no lock.
void note_warning(const char* a, const char* b, const char* c) { warn_line(false, a, b, c); }
void note_status(const char* a, const char* b, const char* c) { warn_line(true, a, b, c); }

void sampler_final() {
  if (!g_session.active || getpid() != g_session.owner_pid) return;
  BusyScope busy(t_state);
  NoXfsz no_xfsz;  // jemalloc's prof.dump writes from this thread too, beyond write_all
  g_write_lock.lock();
  if (!g_done.exchange(true)) {
    timeline_write_sample(true);
    // The purge probe (--purge-at-end): only here, once, on the exit path of the traced
    // process, never on an allocation path. What a purge gives back is memory the allocator
    // kept but could return; what stays is held by live blocks (fragmentation).
    if (g_session.purge_at_end && g_session.id_ok && purge_allocator(g_session.id.backend))
      timeline_write_sample(true, true);
    profile_flush_at((mono_ns() - g_session.t0_ns) / 1000000);
    dumps_write();
    if (g_session.jeprof_dump_every > 0) dumps_write_jeprof();
    if (const long long lost = profile_full_dropped(); lost > 0) {
      char n[32];
      Buf b(n, sizeof n - 1);
      b.i64(lost);
      n[b.size()] = 0;
      note_status("full log incomplete: ", n,
                  " events of threads beyond 4096 at once were not recorded");
    }
    if (const long long dropped = profile_sample_dropped(); dropped > 0) {
      char n[32];
      Buf b(n, sizeof n - 1);
      b.i64(dropped);
      n[b.size()] = 0;
      note_status("sample mode: ", n,
                  " samples dropped (the table of live sampled blocks or of stacks was full): "
                  "sampled_live_bytes and the heap profiles undercount");
    }
    warn_final();  // the last line: how many warnings were dropped
  }
  g_write_lock.unlock();
}

// _exit/_Exit end the process with no destructor, and exit_group kills the sampler thread
// wherever it is: in the middle of an append, the kernel stops a regular-file write at a page
// boundary once the fatal signal is pending, and the timeline ends in a cut line (seen about
// once in 1000 _exits of a traced child whose lines span pages). So the exiting thread first
// takes the write lock, which waits out an append in flight, and keeps it. Skipped for another
// process's files (a vfork child shares our memory) and inside our own code (a signal handler
// may call _exit there); bounded, because a handler's thread may hold a lock the sampler waits
// for (malloc's, in stats mode).
void quiesce_for_exit() {
  if (!g_session.active || getpid() != g_session.owner_pid || t_state.busy) return;
  const std::uint64_t deadline = mono_ns() + 250 * 1000000ULL;
  while (g_write_lock.v.exchange(1, std::memory_order_acquire) != 0) {
    if (mono_ns() > deadline) return;
    sched_yield();
  }
  g_done.store(true, std::memory_order_release);
}

}  // namespace arenalab::preload
