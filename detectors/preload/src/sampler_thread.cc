// SPDX-License-Identifier: Apache-2.0
// The sampler thread: one timeline sample per interval (timeline_writer.cc), the dumps on the
// same ticks (dumps.cc), the thinning past --max-output, the final sample at exit, and _exit's
// wait for an append in flight.
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>

#include "arenalab/allocators/backend.h"
#include "arenalab/preload/format.h"
#include "arenalab/preload/helper_thread.h"
#include "arenalab/preload/protocol.h"
#include "profile.h"
#include "session.h"
#include "state.h"

namespace arenalab::preload {

namespace {

// Taken by every timeline append (the sampler's ticks, the exit path) and held by _exit
// (quiesce_for_exit).
SpinLock g_write_lock;
std::atomic<bool> g_done{false};

// --max-output (output_cap_allows): set once the cap is reached. The timeline then writes the
// ticks that are multiples of g_cap_stride only, doubling it every kCappedLines lines.
std::atomic<bool> g_capped{false};
constexpr long kCappedLines = 1024;
long g_cap_stride = 1;
long g_cap_lines = 0;

// Whether a tick count that went from `prev` to `tick` passed a multiple of `every` (> 0): a
// wake after a stall advances the count by the ticks it skipped, so "tick % every == 0" could
// step over a dump that fell due during the stall.
bool crossed(long prev, long tick, long every) { return tick / every != prev / every; }

static_assert(kMaxStacks == 65536, "the full log's warning names the stack table's size");

// Set once this process (or the one it was forked from) saw the runner's lock held
// (protocol::kRunLockPrefix): from then on the lock file gone means the runner is gone too. Not
// before: a process started with the environment set by hand, or by a runner that makes no
// lock, finds no such file and is never stopped for it.
std::atomic<bool> g_runner_seen{false};

// The name <prefix><t0_ns> into `name` (NUL-terminated); false when it does not fit.
bool run_file_name(char (&name)[64], const char* prefix) {
  Buf b(name, sizeof name - 1);
  b.str(prefix).u64(g_session.t0_ns);
  if (b.overflow()) return false;
  name[b.size()] = 0;
  return true;
}

// Whether the run is over: the runner said so (protocol::kRunEndedPrefix), or it is gone
// without saying so (SIGKILL, a crash): its lock (protocol::kRunLockPrefix) is free, or gone
// after it was seen held. Looked up relative to the output directory, following no link, at
// the sampler's tick only; no allocation. Only positive evidence ends the run: a file that
// cannot be opened (no permission, no descriptor left) or a lock that cannot be tested says
// nothing.
bool run_ended() {
  char name[64];
  if (!run_file_name(name, protocol::kRunEndedPrefix)) return false;
  const int dfd = ::open(g_session.out_dir, O_DIRECTORY | O_PATH | O_CLOEXEC);
  if (dfd < 0) return false;
  struct stat st {};
  bool ended = ::fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
  if (!ended && run_file_name(name, protocol::kRunLockPrefix)) {
    // Looked at before it is opened (opening a device or a FIFO can act): a regular file only.
    const bool there = ::fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
    const int lfd =
        !there ? -1
        : S_ISREG(st.st_mode)
            ? ::openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC)
            : -2;
    if (lfd == -1) {
      ended = errno == ENOENT && g_runner_seen.load(std::memory_order_relaxed);
    } else if (lfd >= 0) {
      if (::fstat(lfd, &st) == 0 && S_ISREG(st.st_mode)) {
        if (::flock(lfd, LOCK_SH | LOCK_NB) == 0)
          ended = true;  // nobody holds it: the runner is gone (closing lfd drops ours)
        else if (errno == EWOULDBLOCK)
          g_runner_seen.store(true, std::memory_order_relaxed);
      }
      ::close(lfd);
    }
  }
  ::close(dfd);
  return ended;
}

}  // namespace

// Whether this process should write nothing more for the run: its sampler already saw the run
// end (g_done, inherited by a fork child), or the run's files say so now (run_ended). Asked
// where a new timeline would start (a traced fork child, a traced process's startup), so a
// daemon left behind by an ended run starts no new timeline.<pid>.jsonl in its output dir.
bool run_over() {
  if (g_done.load(std::memory_order_acquire)) return true;
  const int saved = errno;  // asked in the target's own threads (fork child, startup)
  const bool over = run_ended();
  errno = saved;
  return over;
}

namespace {

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
    // Still running after the run ended (a traced daemon), or after the runner was killed:
    // nothing more is written, at exit either (g_done: sampler_final writes nothing).
    if (!g_done.load(std::memory_order_acquire) && run_ended()) {
      g_done.store(true, std::memory_order_release);
      g_write_lock.unlock();
      break;
    }
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

// One status line for a count of lost records; nothing when there are none.
void note_dropped(const char* what, long long n, const char* why) {
  if (n <= 0) return;
  char text[32];
  Buf b(text, sizeof text - 1);
  b.i64(n);
  text[b.size()] = 0;
  note_status(what, text, why);
}

}  // namespace

// The sampler thread starts with every signal blocked, so the program's signals are never
// delivered to it.
// A thread that cannot start leaves the timeline with its first and final samples only: say so.
void sampler_start() {
  const int rc = start_helper_thread(sampler_main);
  if (rc == 0) return;
  char text[32];
  Buf b(text, sizeof text - 1);
  b.str("pthread_create error ").i64(rc);
  text[b.size()] = 0;
  note_status("the sampler thread did not start (", text,
              "): the timeline has its first and final samples only");
}

// The fork child: the parent's append in flight is not ours, the cap the child's own.
void sampler_atfork_child() {
  g_write_lock.v.store(0);
  g_capped.store(false, std::memory_order_relaxed);
  g_cap_stride = 1;
  g_cap_lines = 0;
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
    note_dropped("full log incomplete: ", profile_full_dropped(),
                 " events of threads beyond 4096 at once were not recorded");
    note_dropped("full log: ", profile_full_unstacked(),
                 " allocations were logged without their call stack: the stack table holds 65536 "
                 "distinct stacks (the profile counts them under '(stack not recorded)')");
    note_dropped("sample mode: ", profile_sample_dropped(),
                 " samples dropped (the table of live sampled blocks or of stacks was full): "
                 "sampled_live_bytes and the heap profiles undercount");
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
