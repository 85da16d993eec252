// SPDX-License-Identifier: Apache-2.0
// Start-up (reads ARENALAB_* from the environment), the sampler thread that appends one
// timeline.jsonl line per interval with write(2), gauges, fork and exit handling.
//
// Which process is traced: run() sets ARENALAB_PID=0000000000; the first process that loads
// the library claims it by writing its pid into that very environment string (no allocation,
// inherited by everything it starts). A process with another pid (a forked child, a program
// a child execs) stays passive unless ARENALAB_TRACE_CHILDREN=1; an exec in the same pid (a
// shell script exec'ing the real program) is traced and restarts the timeline with a new header.
#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "arenalab/allocators/backend.h"
#include "format.h"
#include "state.h"

namespace arenalab::preload {
namespace {

constexpr std::size_t kPath = 1024;
char g_out_dir[kPath];
char g_mode_name[16] = "stats";
char g_config_name[128];
char g_expected_backend[32];
double g_interval_ms = 100;
std::uint64_t g_t0_ns = 0;    // CLOCK_MONOTONIC when the target was started
int g_dump_every = 10;        // heap profile every N intervals (sample mode)
int g_jeprof_dump_every = 0;  // jemalloc prof.dump every N samples
bool g_trace_children = false;
pid_t g_owner_pid = 0;  // the process whose files these are
bool g_active = false;
unsigned g_mode_flags = 0;
// The timeline is opened for each append and closed again: a program that closes every
// descriptor (daemons do) can neither break our writes nor have its own fds written by us.
bool g_timeline_open = false;
char g_timeline_path[kPath + 64];
SpinLock g_write_lock;
std::atomic<bool> g_done{false};
Identification g_id;
bool g_id_ok = false;
int g_seq = 0;
int g_jeprof_seq = 0;

// Gauges published by the program (arenalab_gauge_set).
constexpr int kMaxGauges = 64;
struct Gauge {
  char name[64];
  std::atomic<double> value;
  std::atomic<int> ready;
};
Gauge g_gauges[kMaxGauges];
std::atomic<int> g_gauge_count{0};
SpinLock g_gauge_lock;

std::uint64_t mono_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1000000000ULL +
         static_cast<std::uint64_t>(ts.tv_nsec);
}

void copy_env(char* dst, std::size_t cap, const char* name) {
  const char* v = getenv(name);
  dst[0] = 0;
  if (!v) return;
  std::size_t n = str_len(v);
  if (n >= cap) n = cap - 1;
  std::memcpy(dst, v, n);
  dst[n] = 0;
}

std::uint64_t parse_u64(const char* s, std::uint64_t fallback) {
  if (!s || !*s) return fallback;
  std::uint64_t v = 0;
  for (; *s; ++s) {
    if (*s < '0' || *s > '9') return fallback;
    v = v * 10 + static_cast<std::uint64_t>(*s - '0');
  }
  return v;
}

double parse_double(const char* s, double fallback) {
  if (!s || !*s) return fallback;
  double whole = 0, scale = 1;
  bool frac = false;
  for (; *s; ++s) {
    if (*s == '.' && !frac) {
      frac = true;
    } else if (*s >= '0' && *s <= '9') {
      if (frac) {
        scale /= 10;
        whole += (*s - '0') * scale;
      } else {
        whole = whole * 10 + (*s - '0');
      }
    } else {
      return fallback;
    }
  }
  return whole;
}

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

bool timeline_write(const char* p, std::size_t n) {
  if (!g_timeline_open) return false;
  const int fd = ::open(g_timeline_path, O_WRONLY | O_APPEND | O_CLOEXEC);
  if (fd < 0) return false;
  const bool ok = write_all(fd, p, n);
  ::close(fd);
  return ok;
}

void write_header() {
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
  bool first = true;
  for (ssize_t i = 0; i < n;) {
    const char* arg = cmd + i;
    const std::size_t len = str_len(arg);
    if (!first) b.ch(',');
    first = false;
    b.json_str(arg, len);
    i += static_cast<ssize_t>(len) + 1;
  }
  const char* backend = g_id_ok ? backend_name(g_id.backend) : "unknown";
  const bool verified = g_id_ok && g_expected_backend[0] && str_eq(backend, g_expected_backend);
  b.str("],\"allocator\":{\"name\":").json_str(g_config_name[0] ? g_config_name : backend);
  b.str(",\"backend\":").json_str(backend);
  b.str(",\"library\":").json_str(g_id.library);
  b.str(",\"version\":").json_str(g_id.version);
  b.str(",\"verified\":").str(verified ? "true" : "false");
  if (g_expected_backend[0]) b.str(",\"expected_backend\":").json_str(g_expected_backend);
  b.str("},\"mode\":").json_str(g_mode_name);
  b.str(",\"interval_ms\":").dbl(g_interval_ms);
  b.str(",\"sample_bytes\":").i64(g_sample_bytes);
  b.str("}\n");
  timeline_write(b.data(), b.size());
}

void write_sample(bool final) {
  static char buf[16384];
  Buf b(buf, sizeof buf - 1);
  const double t_ms = static_cast<double>(mono_ns() - g_t0_ns) / 1e6;
  b.str("{\"t_ms\":").dbl(static_cast<double>(static_cast<long long>(t_ms * 1000)) / 1000);
  long long rss, anon;
  read_rss(&rss, &anon);
  if (rss >= 0) b.str(",\"rss\":").i64(rss);
  if (anon >= 0) b.str(",\"rss_anon\":").i64(anon);
  if (g_mode_flags & kCount) {
    long long bytes, allocs;
    sum_slots(&bytes, &allocs);
    b.str(",\"live_bytes\":").i64(bytes).str(",\"live_allocs\":").i64(allocs);
  }
  if (g_mode_flags & kMmap) b.str(",\"mmap_bytes\":").i64(mmap_live_bytes());
  if (g_mode_flags & kSample)
    b.str(",\"sampled_live_bytes\":").i64(profile_sampled_live_estimate());
  if (g_id_ok) {
    AllocatorStats st;
    if (read_allocator_stats(g_id.backend, &st)) {
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
  const int ng = g_gauge_count.load(std::memory_order_acquire);
  bool any_gauge = false;
  for (int i = 0; i < ng && i < kMaxGauges; ++i) {
    if (!g_gauges[i].ready.load(std::memory_order_acquire)) continue;
    b.str(any_gauge ? "," : ",\"gauges\":{");
    any_gauge = true;
    b.json_str(g_gauges[i].name).ch(':').dbl(g_gauges[i].value.load(std::memory_order_relaxed));
  }
  if (any_gauge) b.ch('}');
  if (final) b.str(",\"final\":true");
  b.str("}\n");
  if (!b.overflow()) timeline_write(b.data(), b.size());
}

void jemalloc_prof_dump() {
  using MallctlFn = int (*)(const char*, void*, size_t*, void*, size_t);
  auto mallctl = reinterpret_cast<MallctlFn>(dlsym(RTLD_DEFAULT, "mallctl"));
  if (!mallctl) return;
  char path[kPath + 64];
  Buf b(path, sizeof path);
  b.str(g_out_dir).str("/jeprof.").u64(static_cast<std::uint64_t>(g_jeprof_seq++)).str(".heap");
  path[b.size()] = 0;
  const char* p = path;
  mallctl("prof.dump", nullptr, nullptr, &p, sizeof p);
}

// heap.<seq>.heap (sample mode) and mmap.<seq>.heap (sample and full modes) with one seq, so
// the two series share their dump times. Write lock held.
void dump_profiles() {
  bool wrote = false;
  if (g_mode_flags & kSample) wrote = profile_dump_heap(g_seq) || wrote;
  wrote = mmap_sites_dump(g_seq) || wrote;
  if ((g_mode_flags & kSample) || wrote) ++g_seq;
}

void* sampler_main(void*) {
  t_state.busy = 1;  // everything this thread allocates goes straight through
  t_state.sampler = 1;
  const std::uint64_t interval_ns = static_cast<std::uint64_t>(g_interval_ms * 1e6);
  std::uint64_t next = mono_ns();
  long tick = 0;
  while (!g_done.load(std::memory_order_acquire)) {
    next += interval_ns;
    timespec ts{static_cast<time_t>(next / 1000000000ULL), static_cast<long>(next % 1000000000ULL)};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) == EINTR) {
    }
    ++tick;
    g_write_lock.lock();
    if (!g_done.load(std::memory_order_acquire)) {
      write_sample(false);
      profile_flush_at((mono_ns() - g_t0_ns) / 1000000);
      if (g_dump_every > 0 && tick % g_dump_every == 0) dump_profiles();
      if (g_jeprof_dump_every > 0 && tick % g_jeprof_dump_every == 0) jemalloc_prof_dump();
    }
    g_write_lock.unlock();
  }
  return nullptr;
}

bool open_timeline(bool child) {
  Buf b(g_timeline_path, sizeof g_timeline_path);
  b.str(g_out_dir);
  if (child)
    b.str("/timeline.").u64(static_cast<std::uint64_t>(getpid())).str(".jsonl");
  else
    b.str("/timeline.jsonl");
  g_timeline_path[b.size()] = 0;
  const int fd = ::open(g_timeline_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return false;
  ::close(fd);
  g_timeline_open = true;
  return true;
}

// The sampler thread starts with every signal blocked (it inherits the mask set around
// pthread_create), so the program's signals are never delivered to it.
void start_thread() {
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize(&attr, 256 * 1024);
  pthread_t th;
  pthread_create(&th, &attr, sampler_main, nullptr);
  pthread_attr_destroy(&attr);
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
}

void atfork_prepare() {
  profile_atfork_prepare();
  g_mmap_lock.lock();
  g_unwind_arena_lock.lock();
}
void atfork_parent() {
  g_unwind_arena_lock.unlock();
  g_mmap_lock.unlock();
  profile_atfork_parent();
}
void atfork_child() {
  g_unwind_arena_lock.v.store(0);
  g_mmap_lock.v.store(0);
  g_write_lock.v.store(0);
  g_gauge_lock.v.store(0);
  profile_atfork_child();
  mmap_sites_atfork_child();
  if (!g_active) return;
  g_timeline_open = false;
  if (!g_trace_children) {
    // Passive: the hooks forward, nothing is written; the parent's data stay intact.
    g_flags.store(0, std::memory_order_relaxed);
    g_active = false;
    return;
  }
  // Traced child: its own timeline.<pid>.jsonl and heap.<pid>.<seq>.heap; the sampler thread
  // did not survive fork.
  g_owner_pid = getpid();
  g_seq = 0;
  profile_traced_child();
  g_flags.store(hook_flags(g_mode_flags & ~kFull), std::memory_order_relaxed);
  tables_published();
  g_mode_flags &= ~kFull;
  if (open_timeline(true)) {
    write_header();
    start_thread();
  }
}

void arenalab_preload_init();

}  // namespace

// One line in <out_dir>/preload-warnings.txt (run.json's "warnings").
void note_warning(const char* a, const char* b, const char* c) {
  char path[kPath + 64];
  Buf p(path, sizeof path);
  p.str(g_out_dir).str("/preload-warnings.txt");
  path[p.size()] = 0;
  const int fd = ::open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return;
  static char line[2048];
  Buf l(line, sizeof line - 1);
  l.str(a).str(b).str(c).ch('\n');
  write_all(fd, l.data(), l.size());
  ::close(fd);
}

namespace {

__attribute__((constructor(101))) void arenalab_preload_init() {
  t_state.busy++;
  copy_env(g_out_dir, sizeof g_out_dir, "ARENALAB_OUT_DIR");
  if (!g_out_dir[0]) {  // not started by arenalab: stay passive
    g_flags.store(0, std::memory_order_relaxed);
    t_state.busy--;
    return;
  }
  // Claim the target pid in the environment string itself (see the file comment).
  char* pid_env = getenv("ARENALAB_PID");
  const pid_t me = getpid();
  bool child = false;
  if (pid_env) {
    const std::uint64_t claimed = parse_u64(pid_env, 1);
    const std::size_t width = str_len(pid_env);
    if (claimed == 0 && width >= 10) {
      std::uint64_t v = static_cast<std::uint64_t>(me);
      for (std::size_t i = width; i-- > 0;) {
        pid_env[i] = static_cast<char>('0' + v % 10);
        v /= 10;
      }
    } else if (claimed != static_cast<std::uint64_t>(me)) {
      child = true;
    }
  }
  g_trace_children =
      str_eq(getenv("ARENALAB_TRACE_CHILDREN") ? getenv("ARENALAB_TRACE_CHILDREN") : "", "1");
  if (child && !g_trace_children) {
    g_flags.store(0, std::memory_order_relaxed);
    t_state.busy--;
    return;
  }
  copy_env(g_mode_name, sizeof g_mode_name, "ARENALAB_MODE");
  if (!g_mode_name[0]) std::memcpy(g_mode_name, "stats", 6);
  copy_env(g_config_name, sizeof g_config_name, "ARENALAB_ALLOCATOR");
  copy_env(g_expected_backend, sizeof g_expected_backend, "ARENALAB_BACKEND");
  g_interval_ms = parse_double(getenv("ARENALAB_INTERVAL_MS"), 100);
  if (g_interval_ms < 1) g_interval_ms = 1;
  const std::uint64_t sample_bytes = parse_u64(getenv("ARENALAB_SAMPLE_BYTES"), 512 * 1024);
  g_dump_every = static_cast<int>(parse_u64(getenv("ARENALAB_DUMP_EVERY"), 10));
  g_jeprof_dump_every = static_cast<int>(parse_u64(getenv("ARENALAB_JEPROF_DUMP_EVERY"), 0));
  g_t0_ns = parse_u64(getenv("ARENALAB_T0_NS"), 0);
  if (g_t0_ns == 0 || g_t0_ns > mono_ns()) g_t0_ns = mono_ns();

  if (str_eq(g_mode_name, "count"))
    g_mode_flags = kCount | kMmap;
  else if (str_eq(g_mode_name, "sample"))
    g_mode_flags = kSample | kMmap;
  else if (str_eq(g_mode_name, "full"))
    g_mode_flags = kCount | kFull | kMmap;
  else
    g_mode_flags = 0;
  if (child) g_mode_flags &= ~kFull;  // a child's events would interleave with the parent's log

  g_owner_pid = me;
  g_active = true;
  if (!open_timeline(child)) {
    g_active = false;
    g_flags.store(0, std::memory_order_relaxed);
    t_state.busy--;
    return;
  }
  // Identify the malloc that is called: the next definition after this library.
  ensure_resolved();
  // The malloc the program calls is normally ours (first in LD_PRELOAD); a program that
  // defines malloc itself (an allocator linked statically into it) binds ahead of us: then
  // identify that one and say that the hooks see nothing.
  void* called = dlsym(RTLD_DEFAULT, "malloc");
  Dl_info mine{}, theirs{};
  if (!kHooksAllocation) {
    g_id_ok = called && identify_malloc(called, &g_id);
  } else if (called && dladdr(reinterpret_cast<void*>(&arenalab_preload_init), &mine) &&
             dladdr(called, &theirs) && mine.dli_fbase != theirs.dli_fbase) {
    g_id_ok = identify_malloc(called, &g_id);
    note_warning("target bypassed the interposer: malloc is defined by ",
                 theirs.dli_fname ? theirs.dli_fname : "?",
                 " ahead of the preload library (live bytes are not seen)");
  } else {
    g_id_ok = identify_malloc(reinterpret_cast<void*>(g_real.malloc), &g_id);
  }
  profile_init(g_mode_flags, sample_bytes, g_out_dir);
  mmap_sites_init(g_mode_flags, g_out_dir);
  if (g_mode_flags & kSample) t_state.countdown = next_sample_interval(t_state);
  write_header();
  write_sample(false);
  pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
  g_flags.store(hook_flags(g_mode_flags), std::memory_order_release);
  tables_published();
  start_thread();
  t_state.busy--;
}

__attribute__((destructor(101))) void arenalab_preload_fini() { sampler_final(); }

}  // namespace

void sampler_final() {
  if (!g_active || getpid() != g_owner_pid) return;
  t_state.busy++;
  g_write_lock.lock();
  if (!g_done.exchange(true)) {
    write_sample(true);
    profile_flush_at((mono_ns() - g_t0_ns) / 1000000);
    dump_profiles();
    if (g_jeprof_dump_every > 0) jemalloc_prof_dump();
    if (const long long lost = profile_full_dropped(); lost > 0) {
      char n[32];
      Buf b(n, sizeof n - 1);
      b.i64(lost);
      n[b.size()] = 0;
      note_warning("full log incomplete: ", n,
                   " events of threads beyond 4096 at once were not recorded");
    }
  }
  g_write_lock.unlock();
  t_state.busy--;
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
  if (!g_active || getpid() != g_owner_pid || t_state.busy) return;
  const std::uint64_t deadline = mono_ns() + 250 * 1000000ULL;
  while (g_write_lock.v.exchange(1, std::memory_order_acquire) != 0) {
    if (mono_ns() > deadline) return;
    sched_yield();
  }
  g_done.store(true, std::memory_order_release);
}

}  // namespace arenalab::preload

extern "C" __attribute__((visibility("default"))) void _exit(int status) {
  arenalab::preload::quiesce_for_exit();
  for (;;) syscall(SYS_exit_group, status);
}

extern "C" __attribute__((visibility("default"))) void _Exit(int status) noexcept {
  arenalab::preload::quiesce_for_exit();
  for (;;) syscall(SYS_exit_group, status);
}

// A program publishes a named figure (e.g. the off-heap store's bytes in use); it appears in
// every later sample's "gauges" object. Names longer than 63 bytes are cut; at most 64 gauges.
extern "C" __attribute__((visibility("default"))) void arenalab_gauge_set(const char* name,
                                                                          double value) {
  using namespace arenalab::preload;
  if (!name) return;
  const int n = g_gauge_count.load(std::memory_order_acquire);
  for (int i = 0; i < n && i < kMaxGauges; ++i)
    if (g_gauges[i].ready.load(std::memory_order_acquire) &&
        std::strncmp(g_gauges[i].name, name, sizeof g_gauges[i].name - 1) == 0) {
      g_gauges[i].value.store(value, std::memory_order_relaxed);
      return;
    }
  g_gauge_lock.lock();
  const int m = g_gauge_count.load(std::memory_order_relaxed);
  for (int i = 0; i < m; ++i)
    if (std::strncmp(g_gauges[i].name, name, sizeof g_gauges[i].name - 1) == 0) {
      g_gauges[i].value.store(value, std::memory_order_relaxed);
      g_gauge_lock.unlock();
      return;
    }
  if (m < kMaxGauges) {
    Gauge& g = g_gauges[m];
    std::size_t len = str_len(name);
    if (len > sizeof g.name - 1) len = sizeof g.name - 1;
    std::memcpy(g.name, name, len);
    g.name[len] = 0;
    g.value.store(value, std::memory_order_relaxed);
    g.ready.store(1, std::memory_order_release);
    g_gauge_count.store(m + 1, std::memory_order_release);
  }
  g_gauge_lock.unlock();
}

// dlopen with RTLD_DEEPBIND: the library binds malloc to its own dependencies' (libc's)
// definition ahead of ours, so its allocations bypass the interposer. Noted in
// <out_dir>/preload-warnings.txt (run.json's warnings), then forwarded as a tail call so
// glibc still sees the program as the caller (its RUNPATH and $ORIGIN apply).
extern "C" __attribute__((visibility("default"))) void* dlopen(const char* file, int flags) {
  using namespace arenalab::preload;
  static void* (*real)(const char*, int) = nullptr;
  if (!real) real = reinterpret_cast<void* (*)(const char*, int)>(dlsym(RTLD_NEXT, "dlopen"));
  if ((flags & RTLD_DEEPBIND) && g_active && kHooksAllocation)
    note_warning("target bypassed the interposer: dlopen(", file ? file : "NULL",
                 ", RTLD_DEEPBIND): that library's malloc calls are not seen");
  return real(file, flags);
}

// For tests and programs that check themselves: the interposer's exact counters. Returns the
// active mode bits (0: stats mode) or -1 when this process is not traced (passive). out[0]
// live bytes (usable sizes), out[1] live allocations, out[2] anonymous mmap bytes.
extern "C" __attribute__((visibility("default"))) int arenalab_preload_counters(long long* out) {
  using namespace arenalab::preload;
  if (!g_active) return -1;
  sum_slots(&out[0], &out[1]);
  out[2] = mmap_live_bytes();
  return static_cast<int>(g_flags.load(std::memory_order_relaxed));
}
