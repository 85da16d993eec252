// SPDX-License-Identifier: Apache-2.0
// libarenalab_agent.so: the agent `arenalab watch --pid --mode stats|count|sample` loads into a
// running process (docs/attach.md). Passive when loaded: no constructor, no TLS, no hook until
// asked. Its entry points start and stop one sampler thread that appends the allocator's own books
// (allocators/backend.h) and RSS to <out_dir>/timeline.jsonl, the format `--mode stats` writes;
// at level count the GOT hooks (hooks.cc) add live bytes since the attach, as `--mode count`;
// at level sample sampled call stacks and heap dumps too (sampling.cc), as `--mode sample`.
// Injected code: no exceptions, no RTTI, static libstdc++, never sanitized.
#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstring>

#include "arenalab/allocators/backend.h"
#include "arenalab/preload/helper_thread.h"
#include "arenalab/preload/statm.h"
#include "got_hooks.h"
#include "sampling.h"

namespace {

constexpr std::size_t kPath = 4096;

struct Config {
  char timeline[kPath + 32];
  char stop_file[kPath + 32];  // arenalab creates it to detach (no second injection)
  unsigned interval_ms = 100;
  std::uint64_t t0_ns = 0;  // CLOCK_BOOTTIME ns of the target's start: t_ms shares level rss's axis
  pid_t watcher = 0;        // arenalab's pid: the sampler stops when that process is gone
  unsigned long long watcher_start = 0;  // its start time (field 22 of /proc/PID/stat)
  bool count = false;                    // levels count and sample: the GOT hooks are in
  unsigned long long sample_bytes = 0;   // level sample: mean bytes between samples (0: off)
  unsigned dump_every = 10;              // level sample: a heap dump every N ticks (0: at the end)
  char out_dir[kPath];
};

Config g_cfg;
// 0 idle, 1 sampling; a start while sampling is refused.
std::atomic<int> g_running{0};
pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
pthread_cond_t g_wake;  // CLOCK_MONOTONIC, set up in arenalab_agent_start
bool g_stop = false;    // under g_lock

std::uint64_t clock_ns(clockid_t c) {
  timespec ts{};
  clock_gettime(c, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1000000000ULL +
         static_cast<std::uint64_t>(ts.tv_nsec);
}

// A line buffer that never overflows: a line that does not fit is dropped whole.
struct Line {
  char buf[16384];
  std::size_t n = 0;
  bool overflow = false;
  void add(const char* fmt, ...) __attribute__((format(printf, 2, 3))) {
    if (overflow) return;
    va_list ap;
    va_start(ap, fmt);
    const int k = vsnprintf(buf + n, sizeof buf - n, fmt, ap);
    va_end(ap);
    if (k < 0 || static_cast<std::size_t>(k) >= sizeof buf - n)
      overflow = true;
    else
      n += static_cast<std::size_t>(k);
  }
  void json_str(const char* s, std::size_t len) {
    add("\"");
    for (std::size_t i = 0; i < len && !overflow; ++i) {
      const unsigned char c = static_cast<unsigned char>(s[i]);
      if (c == '"' || c == '\\')
        add("\\%c", c);
      else if (c < 0x20)
        add("\\u%04x", c);
      else
        add("%c", c);
    }
    add("\"");
  }
};

// Opened for each append and closed again, as the interposer does: a daemon that closes every
// descriptor can neither break our writes nor have its own fds written by us.
void append(const Line& l, bool create) {
  if (l.overflow) return;
  const int flags = O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW | (create ? O_CREAT | O_TRUNC : 0);
  const int fd = open(g_cfg.timeline, flags, 0644);
  if (fd < 0) return;
  std::size_t off = 0;
  while (off < l.n) {
    const ssize_t w = write(fd, l.buf + off, l.n - off);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) break;
    off += static_cast<std::size_t>(w);
  }
  close(fd);
}

long long read_fd_text(const char* path, char* buf, std::size_t size) {
  const int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  const ssize_t n = read(fd, buf, size - 1);
  close(fd);
  if (n < 0) return -1;
  buf[n] = 0;
  return n;
}

// Field 22 (starttime) of /proc/PID/stat, 0 when the process is gone.
unsigned long long start_ticks(pid_t pid) {
  char path[64], buf[1024];
  std::snprintf(path, sizeof path, "/proc/%d/stat", static_cast<int>(pid));
  if (read_fd_text(path, buf, sizeof buf) <= 0) return 0;
  const char* p = std::strrchr(buf, ')');
  if (!p) return 0;
  ++p;
  for (int field = 3; field <= 22; ++field) {  // p points at the space before field `field`
    while (*p == ' ') ++p;
    if (field == 22) return std::strtoull(p, nullptr, 10);
    while (*p && *p != ' ') ++p;
  }
  return 0;
}

void write_header(const arenalab::Identification& id, bool id_ok) {
  static Line l;
  l.n = 0;
  l.overflow = false;
  l.add("{\"schema\":\"arenalab.timeline/1\",\"pid\":%d,\"command\":[", static_cast<int>(getpid()));
  static char cmd[16384];
  const long long n = read_fd_text("/proc/self/cmdline", cmd, sizeof cmd);
  for (long long i = 0, first = 1; i < n; first = 0) {
    const std::size_t len = std::strlen(cmd + i);
    if (!first) l.add(",");
    l.json_str(cmd + i, len);
    i += static_cast<long long>(len) + 1;
  }
  const char* backend = id_ok ? arenalab::backend_name(id.backend) : "unknown";
  l.add("],\"allocator\":{\"name\":\"attached\",\"backend\":\"%s\",\"library\":", backend);
  l.json_str(id.library, std::strlen(id.library));
  l.add(",\"version\":");
  l.json_str(id.version, std::strlen(id.version));
  // Identified from inside, by the malloc the process calls: verified, unlike level rss's guess.
  l.add(",\"verified\":%s},\"mode\":\"%s\",\"interval_ms\":%u,\"sample_bytes\":%llu}\n",
        id_ok ? "true" : "false",
        g_cfg.sample_bytes ? "sample"
        : g_cfg.count      ? "count"
                           : "stats",
        g_cfg.interval_ms, g_cfg.sample_bytes);
  append(l, true);
}

// Level count's figures, as `--mode count` writes them (live_bytes, live_allocs, mmap_bytes),
// and what the counts could not see, as gauges (the classifier does not read gauges).
void add_counts(Line& l, const arenalab::agent::CountTotals& c) {
  l.add(",\"live_bytes\":%lld,\"live_allocs\":%lld,\"mmap_bytes\":%lld", c.live_bytes,
        c.live_allocs, c.mmap_bytes);
  l.add(
      ",\"gauges\":{\"attach_unknown_frees\":%lld,\"attach_untracked\":%lld,"
      "\"attach_hooked_slots\":%lld,\"attach_hooked_objects\":%lld,\"attach_table_bytes\":%lld,"
      "\"attach_relro_pending\":%lld,\"attach_patch_passes\":%lld,\"attach_maps_unread\":%lld,"
      "\"attach_maps_bytes\":%lld,\"attach_relro_kept_writable\":%lld",
      c.unknown_frees, c.untracked, c.slots, c.objects, c.table_bytes, c.relro_pending, c.passes,
      c.maps_unread, c.maps_bytes, c.relro_kept_writable);
  // Level sample: what was not recorded and the stacks kept, as gauges too.
  if (g_cfg.sample_bytes)
    l.add(",\"attach_sample_dropped\":%lld,\"attach_sample_stacks\":%lld",
          arenalab::agent::sample_dropped(), arenalab::agent::sample_stacks());
  l.add("}");
  // Level sample's estimate, as `--mode sample` writes it.
  if (g_cfg.sample_bytes)
    l.add(",\"sampled_live_bytes\":%lld", arenalab::agent::sample_live_estimate());
}

// `counts`: level count's figures for this sample (null at level stats).
void write_sample(const arenalab::Identification& id, bool id_ok, bool final,
                  const arenalab::agent::CountTotals* counts = nullptr) {
  static Line l;
  l.n = 0;
  l.overflow = false;
  const double t_ms = static_cast<double>(clock_ns(CLOCK_BOOTTIME) - g_cfg.t0_ns) / 1e6;
  l.add("{\"t_ms\":%.3f", t_ms);
  // from /proc/self/status, as the interposer reads them
  const arenalab::preload::RssParts r = arenalab::preload::read_status_rss();
  if (r.rss >= 0) l.add(",\"rss\":%lld", r.rss);
  if (r.anon >= 0) l.add(",\"rss_anon\":%lld", r.anon);
  if (r.file >= 0) l.add(",\"rss_file\":%lld", r.file);
  if (r.shmem >= 0) l.add(",\"rss_shmem\":%lld", r.shmem);
  if (r.vm >= 0) l.add(",\"vm_size\":%lld", r.vm);
  // The books within their share of this thread's time (StatsPacer: glibc's mallinfo2 walks
  // every free chunk under the arena's lock); the final sample always reads them.
  static arenalab::StatsPacer books;
  arenalab::AllocatorStats st;
  const std::uint64_t now_ns = clock_ns(CLOCK_MONOTONIC);
  bool read = false;
  if (id_ok && books.due(now_ns, final)) {
    const std::uint64_t cpu0 = arenalab::thread_cpu_ns();
    read = arenalab::read_allocator_stats(id.backend, &st);
    books.took(now_ns, arenalab::thread_cpu_ns() - cpu0);
  }
  if (read) {
    const std::pair<const char*, const std::optional<std::uint64_t>*> fields[] = {
        {"allocated", &st.allocated},
        {"active", &st.active},
        {"resident", &st.resident},
        {"mapped", &st.mapped},
        {"retained", &st.retained}};
    bool any = false;
    for (const auto& [key, v] : fields) {
      if (!*v) continue;
      l.add("%s\"%s\":%llu", any ? "," : ",\"alloc\":{", key, static_cast<unsigned long long>(**v));
      any = true;
    }
    if (any) l.add("}");
  }
  if (counts) add_counts(l, *counts);
  if (final) l.add(",\"final\":true");
  l.add("}\n");
  append(l, false);
}

bool should_stop() {
  if (access(g_cfg.stop_file, F_OK) == 0) return true;
  return start_ticks(g_cfg.watcher) != g_cfg.watcher_start;  // arenalab gone (or pid reused)
}

unsigned g_ticks = 0;

// Level sample: the heap dump of this tick, every dump_every ticks and at the end.
void maybe_dump(bool final) {
  if (!g_cfg.sample_bytes) return;
  const bool due = final || (g_cfg.dump_every && ++g_ticks % g_cfg.dump_every == 0);
  if (!due) return;
  const std::uint64_t t_ms = (clock_ns(CLOCK_BOOTTIME) - g_cfg.t0_ns) / 1000000ULL;
  arenalab::agent::sample_dump(g_cfg.out_dir, t_ms);
}

// One sample; at levels count and sample, objects loaded since the last tick are patched first,
// and the last sample puts every slot back before it is written (its counts taken just before;
// level sample's last dump after the slots are back).
void tick(const arenalab::Identification& id, bool id_ok, bool final) {
  if (!g_cfg.count) {
    write_sample(id, id_ok, final);
    return;
  }
  if (!final) {
    arenalab::agent::count_rescan();
    const arenalab::agent::CountTotals c = arenalab::agent::count_read();
    maybe_dump(false);
    write_sample(id, id_ok, false, &c);
    return;
  }
  arenalab::agent::CountTotals c = arenalab::agent::count_read();
  arenalab::agent::count_stop();
  c.slots = arenalab::agent::count_read().slots;  // 0: every hooked slot is back
  maybe_dump(true);
  write_sample(id, id_ok, true, &c);
}

void* sampler_main(void*) {
  g_cfg.watcher_start = start_ticks(g_cfg.watcher);
  static arenalab::Identification id;
  const bool id_ok = arenalab::identify_current(&id);
  write_header(id, id_ok);
  tick(id, id_ok, false);
  std::uint64_t next = clock_ns(CLOCK_MONOTONIC);
  const std::uint64_t step = static_cast<std::uint64_t>(g_cfg.interval_ms) * 1000000ULL;
  pthread_mutex_lock(&g_lock);
  for (;;) {
    next += step;
    const timespec ts{static_cast<time_t>(next / 1000000000ULL),
                      static_cast<long>(next % 1000000000ULL)};
    while (!g_stop && pthread_cond_timedwait(&g_wake, &g_lock, &ts) != ETIMEDOUT) {
    }
    if (g_stop) break;
    pthread_mutex_unlock(&g_lock);
    const bool stop = should_stop();
    tick(id, id_ok, stop);
    pthread_mutex_lock(&g_lock);
    if (stop) break;
    // A late tick (a busy machine) is not caught up with a burst.
    if (const std::uint64_t now = clock_ns(CLOCK_MONOTONIC); next < now) next = now;
  }
  if (g_stop) tick(id, id_ok, true);
  pthread_mutex_unlock(&g_lock);
  g_running.store(0, std::memory_order_release);
  return nullptr;
}

}  // namespace

extern "C" {

// Starts the sampler: every interval_ms it appends a sample to <out_dir>/timeline.jsonl (created
// with its header first), t_ms counted from t0_ns (CLOCK_BOOTTIME ns; 0: now). It stops at
// arenalab_agent_stop(), when <out_dir>/agent.stop appears, or when process watcher_pid (the
// arenalab that attached; 0: none) is gone, writing one last sample marked "final". level 0:
// stats (the books); 1: count (the GOT hooks go in now, and are put back before the final
// sample). level 2 | (N << 8): sample (count's hooks, and allocations sampled with a mean of
// sample_bytes bytes between samples; heap.<seq>.heap and a heap-sites.jsonl point every N
// ticks, N = 0: at the end only, and at the end). Returns 0 started, 1 already sampling, 2 bad
// arguments, 3 no thread, 4 the hooks could not go in (the reason in <out_dir>/agent.error).
__attribute__((visibility("default"))) int arenalab_agent_start(const char* out_dir,
                                                                unsigned interval_ms,
                                                                unsigned long long t0_ns,
                                                                int watcher_pid, int level,
                                                                unsigned long long sample_bytes) {
  const int base = level & 0xff;
  if (!out_dir || out_dir[0] != '/' || std::strlen(out_dir) >= kPath || interval_ms == 0 ||
      base < 0 || base > 2 || (base == 2 && sample_bytes == 0) || (base != 2 && level != base))
    return 2;
  int idle = 0;
  if (!g_running.compare_exchange_strong(idle, 1)) return 1;
  std::snprintf(g_cfg.timeline, sizeof g_cfg.timeline, "%s/timeline.jsonl", out_dir);
  std::snprintf(g_cfg.stop_file, sizeof g_cfg.stop_file, "%s/agent.stop", out_dir);
  g_cfg.interval_ms = interval_ms;
  g_cfg.t0_ns = t0_ns ? t0_ns : clock_ns(CLOCK_BOOTTIME);
  g_cfg.watcher = watcher_pid;
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&g_wake, &ca);
  pthread_condattr_destroy(&ca);
  g_stop = false;
  g_cfg.count = base >= 1;
  g_cfg.sample_bytes = base == 2 ? sample_bytes : 0;
  g_cfg.dump_every = static_cast<unsigned>(level) >> 8;
  std::snprintf(g_cfg.out_dir, sizeof g_cfg.out_dir, "%s", out_dir);
  g_ticks = 0;
  if (g_cfg.count) {
    static char why[256];
    if (arenalab::agent::count_start(why, sizeof why, g_cfg.sample_bytes) != 0) {
      static char path[kPath + 32];
      std::snprintf(path, sizeof path, "%s/agent.error", out_dir);
      const int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
      if (fd >= 0) {
        (void)!write(fd, why, std::strlen(why));
        close(fd);
      }
      g_running.store(0);
      return 4;
    }
  }
  // Every signal blocked in the sampler: the program's signals never land on it.
  if (arenalab::preload::start_helper_thread(sampler_main) != 0) {
    if (g_cfg.count) arenalab::agent::count_stop();
    g_running.store(0);
    return 3;
  }
  return 0;
}

// Asks the sampler to write its final sample and end; returns at once (the library stays
// loaded: dlclose of injected code is a known crash source). 0 stopping, 1 not sampling.
__attribute__((visibility("default"))) int arenalab_agent_stop() {
  if (g_running.load() == 0) return 1;
  pthread_mutex_lock(&g_lock);
  g_stop = true;
  pthread_cond_signal(&g_wake);
  pthread_mutex_unlock(&g_lock);
  return 0;
}

// 1 while a sampler runs (tests, and a second attach's message).
__attribute__((visibility("default"))) int arenalab_agent_running() { return g_running.load(); }
}
