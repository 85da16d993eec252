// SPDX-License-Identifier: Apache-2.0
// Start-up: the constructor reads the run from the environment (arenalab/preload/protocol.h),
// decides whether this process is traced, identifies the malloc that is called, and starts the
// timeline, the sampler thread and the hooks; the destructor writes the final sample.
//
// Which process is traced: run() sets ARENALAB_PID=0000000000; the first process that loads
// the library claims it by writing its pid into that very environment string (no allocation,
// inherited by everything it starts). A process with another pid (a forked child, a program
// a child execs) stays passive unless ARENALAB_TRACE_CHILDREN=1; an exec in the same pid (a
// shell script exec'ing the real program) is traced and restarts the timeline with a new header.
#include <dlfcn.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <cstring>

#include "arenalab/allocators/backend.h"
#include "arenalab/preload/format.h"
#include "arenalab/preload/protocol.h"
#include "session.h"
#include "state.h"

namespace arenalab::preload {

Session g_session{.out_dir = {},
                  .mode_name = "stats",
                  .config_name = {},
                  .expected_backend = {},
                  .interval_ms = 100,
                  .t0_ns = 0,
                  .dump_every = 10,
                  .jeprof_dump_every = 0,
                  .trace_children = false,
                  .purge_at_end = false,
                  .max_output = 0,
                  .thin_dumps = true,
                  .owner_pid = 0,
                  .active = false,
                  .mode_flags = 0,
                  .id = {},
                  .id_ok = false};

std::uint64_t mono_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1000000000ULL +
         static_cast<std::uint64_t>(ts.tv_nsec);
}

char* env_value(const char* name) {
  if (!name || !environ) return nullptr;
  const std::size_t n = str_len(name);
  for (char** e = environ; *e; ++e)
    if (std::strncmp(*e, name, n) == 0 && (*e)[n] == '=') return *e + n + 1;
  return nullptr;
}

namespace {

namespace protocol = preload::protocol;

void copy_env(char* dst, std::size_t cap, const char* name) {
  const char* v = env_value(name);
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

// A non-negative decimal with an optional fraction and exponent ("100", "2.5", "1e+06": the
// runner formats with an ostream, which writes 1000000 as 1e+06; issue 21 item 12). Anything
// else, or a value that is not finite, gives the fallback.
double parse_double(const char* s, double fallback) {
  if (!s || !*s) return fallback;
  double whole = 0, scale = 1;
  bool frac = false, digits = false;
  for (; *s && *s != 'e' && *s != 'E'; ++s) {
    if (*s == '.' && !frac) {
      frac = true;
    } else if (*s >= '0' && *s <= '9') {
      digits = true;
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
  if (!digits) return fallback;
  if (*s == 'e' || *s == 'E') {
    ++s;
    const bool negative = *s == '-';
    if (*s == '+' || *s == '-') ++s;
    if (!*s) return fallback;
    int exp = 0;
    for (; *s; ++s) {
      if (*s < '0' || *s > '9' || exp > 400) return fallback;
      exp = exp * 10 + (*s - '0');
    }
    for (int i = 0; i < exp; ++i) whole = negative ? whole / 10 : whole * 10;
  }
  return __builtin_isfinite(whole) ? whole : fallback;
}

// The hook bits of a mode (state.h).
unsigned mode_flags(protocol::Mode m) {
  switch (m) {
    case protocol::Mode::kStats:
      return 0;
    case protocol::Mode::kCount:
      return kCount | kMmap;
    case protocol::Mode::kSample:
      return kSample | kMmap;
    case protocol::Mode::kFull:
      return kCount | kFull | kMmap;
  }
  return 0;
}

// Claims the target pid in the environment string itself (see the file comment); true when
// this process is not the one that claimed it (a child).
bool claim_pid(pid_t me) {
  char* pid_env = env_value(protocol::kEnvPid);
  if (!pid_env) return false;
  const std::uint64_t claimed = parse_u64(pid_env, 1);
  const std::size_t width = str_len(pid_env);
  if (claimed == 0 && width >= 10) {
    std::uint64_t v = static_cast<std::uint64_t>(me);
    for (std::size_t i = width; i-- > 0;) {
      pid_env[i] = static_cast<char>('0' + v % 10);
      v /= 10;
    }
    return false;
  }
  return claimed != static_cast<std::uint64_t>(me);
}

void arenalab_preload_init();

// Identifies the malloc that is called: the next definition after this library. The malloc the
// program calls is normally ours (first in LD_PRELOAD); a program that defines malloc itself
// (an allocator linked statically into it) binds ahead of us: then identify that one and say
// that the hooks see nothing.
void identify() {
  Session& s = g_session;
  ensure_resolved();
  void* called = dlsym(RTLD_DEFAULT, "malloc");
  // The objects are compared by their start (object_start: no search of their symbols).
  auto foreign = [&] {
    const void* mine = object_start(reinterpret_cast<void*>(&arenalab_preload_init));
    const void* theirs = object_start(called);
    return mine && theirs && mine != theirs;
  };
  if (!kHooksAllocation) {
    s.id_ok = called && identify_malloc(called, &s.id);
  } else if (called && foreign()) {
    s.id_ok = identify_malloc(called, &s.id);
    Dl_info theirs{};
    dladdr(called, &theirs);  // its name, for the warning
    note_warning("target bypassed the interposer: malloc is defined by ",
                 theirs.dli_fname ? theirs.dli_fname : "?",
                 " ahead of the preload library (live bytes are not seen)");
  } else {
    s.id_ok = identify_malloc(reinterpret_cast<void*>(g_real.malloc), &s.id);
  }
}

__attribute__((constructor(101))) void arenalab_preload_init() {
  BusyScope busy(t_state);
  Session& s = g_session;
  copy_env(s.out_dir, sizeof s.out_dir, protocol::kEnvOutDir);
  if (!s.out_dir[0]) {  // not started by arenalab: stay passive
    g_flags.store(0, std::memory_order_relaxed);
    publish_passive();
    return;
  }
  const pid_t me = getpid();
  const bool child = claim_pid(me);
  const char* trace = env_value(protocol::kEnvTraceChildren);
  s.trace_children = str_eq(trace ? trace : "", "1");
  const char* purge = env_value(protocol::kEnvPurgeAtEnd);
  s.purge_at_end = str_eq(purge ? purge : "", "1");
  if (child && !s.trace_children) {
    g_flags.store(0, std::memory_order_relaxed);
    publish_passive();
    return;
  }
  copy_env(s.mode_name, sizeof s.mode_name, protocol::kEnvMode);
  if (!s.mode_name[0]) std::memcpy(s.mode_name, "stats", 6);
  copy_env(s.config_name, sizeof s.config_name, protocol::kEnvAllocator);
  copy_env(s.expected_backend, sizeof s.expected_backend, protocol::kEnvBackend);
  s.interval_ms = parse_double(env_value(protocol::kEnvIntervalMs), 100);
  if (s.interval_ms < 1) s.interval_ms = 1;
  const std::uint64_t sample_bytes = parse_u64(env_value(protocol::kEnvSampleBytes), 512 * 1024);
  s.dump_every = static_cast<int>(parse_u64(env_value(protocol::kEnvDumpEvery), 10));
  s.jeprof_dump_every = static_cast<int>(parse_u64(env_value(protocol::kEnvJeprofDumpEvery), 0));
  s.t0_ns = parse_u64(env_value(protocol::kEnvT0Ns), 0);
  s.max_output = parse_u64(env_value(protocol::kEnvMaxOutput), 0);
  const char* thin = env_value(protocol::kEnvThinDumps);
  s.thin_dumps = !str_eq(thin ? thin : "", "0");
  if (s.t0_ns == 0 || s.t0_ns > mono_ns()) s.t0_ns = mono_ns();

  protocol::Mode mode = protocol::Mode::kStats;
  s.mode_flags = protocol::parse_mode(s.mode_name, &mode) ? mode_flags(mode) : 0;
  if (child) s.mode_flags &= ~kFull;  // a child's events would interleave with the parent's log

  // Started after the run ended (exec'd by a daemon the run left behind): no timeline.
  if (run_over()) {
    g_flags.store(0, std::memory_order_relaxed);
    publish_passive();
    return;
  }
  s.owner_pid = me;
  s.active = true;
  if (!timeline_open(child)) {
    s.active = false;
    g_flags.store(0, std::memory_order_relaxed);
    publish_passive();
    return;
  }
  identify();
  profile_init(s.mode_flags, sample_bytes, s.out_dir);
  mmap_sites_init(s.mode_flags, s.out_dir);
  if (child) {
    // A traced child that exec'd: its dumps are heap.<pid>.<seq>.heap and it writes no mmap
    // dumps, as a forked one (fork_handlers.cc), so the parent's heap.<seq>.heap and
    // mmap.<seq>.heap are neither replaced nor thinned by it.
    profile_traced_child();
    mmap_sites_atfork_child();
  }
  if (s.mode_flags & kSample) t_state.countdown = next_sample_interval(t_state);
  timeline_write_header();
  timeline_write_sample(false);
  if (!timeline_publish()) {
    s.active = false;
    g_flags.store(0, std::memory_order_relaxed);
    publish_passive();
    return;
  }
  install_fork_handlers();
  g_flags.store(hook_flags(s.mode_flags), std::memory_order_release);
  tables_published();
  // Stats mode in this library: g_flags is 0 for good, as in a passive process.
  if (g_flags.load(std::memory_order_relaxed) == 0)
    publish_passive();
  else
    fast_publish();
  sampler_start();
}

__attribute__((destructor(101))) void arenalab_preload_fini() { sampler_final(); }

}  // namespace

}  // namespace arenalab::preload
