// SPDX-License-Identifier: Apache-2.0
// run(): environment for the interposer (ARENALAB_* variables, LD_PRELOAD order), spawning and
// waiting (core/process.h), then run.json (arenalab.run/2, formats/run.h) from the exit status,
// rusage, the timeline header and what the preload library reported (warnings file).
#include "arenalab/runner/runner.h"

#include <dirent.h>
#include <elf.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>
#include <zstd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <queue>
#include <set>
#include <sstream>
#include <unordered_map>

#include "arenalab/allocators/registry.h"
#include "arenalab/analysis/timeline_signals.h"
#include "arenalab/core/files.h"
#include "arenalab/core/text.h"
#include "arenalab/formats/run.h"
#include "arenalab/formats/timeline.h"
#include "arenalab/preload/protocol.h"

namespace arenalab::runner {
namespace fs = std::filesystem;
namespace protocol = preload::protocol;

std::string preload_library_path(protocol::Mode mode) {
  return lib_dir() + "/" + protocol::preload_library(mode);
}

bool is_static_executable(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  Elf64_Ehdr eh{};
  if (!in.read(reinterpret_cast<char*>(&eh), sizeof eh)) return false;
  if (std::memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS64)
    return false;
  if (eh.e_type != ET_EXEC && eh.e_type != ET_DYN) return false;
  bool has_interp = false, has_dynamic = false;
  for (int i = 0; i < eh.e_phnum; ++i) {
    Elf64_Phdr ph{};
    in.seekg(
        static_cast<std::streamoff>(eh.e_phoff + static_cast<std::uint64_t>(i) * eh.e_phentsize));
    if (!in.read(reinterpret_cast<char*>(&ph), sizeof ph)) return false;
    if (ph.p_type == PT_INTERP) has_interp = true;
    if (ph.p_type == PT_DYNAMIC) has_dynamic = true;
  }
  // A static-pie has PT_DYNAMIC but no interpreter; a shared library has neither executable
  // entry nor interpreter, but is not run as a command.
  (void)has_dynamic;
  return !has_interp;
}

std::string secure_exec_reason(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return "";
  // A mount with nosuid runs the file with the caller's ids: no secure mode there.
  struct statvfs fs {};
  if (::statvfs(path.c_str(), &fs) == 0 && (fs.f_flag & ST_NOSUID)) return "";
  // execve(2) switches the effective ids to the file's; ld.so runs in secure mode (AT_SECURE)
  // when they then differ from the real ids, and ignores LD_PRELOAD's unsafe entries.
  std::string why;
  if ((st.st_mode & S_ISUID) && st.st_uid != ::getuid()) {
    const passwd* pw = ::getpwuid(st.st_uid);
    why = "setuid " + (pw ? std::string(pw->pw_name) : "uid " + std::to_string(st.st_uid));
  }
  if ((st.st_mode & S_ISGID) && st.st_gid != ::getgid()) {
    const group* gr = ::getgrgid(st.st_gid);
    why += (why.empty() ? "" : ", ") + std::string("setgid ") +
           (gr ? std::string(gr->gr_name) : "gid " + std::to_string(st.st_gid));
  }
  return why;
}

namespace {

// The processes running now whose environment (/proc/PID/environ: the one exec gave them,
// which fork copies) holds the entry `entry` ("NAME=VALUE"), from one pass over /proc. Compared
// in memory, never kept; an environment that cannot be read (another user's, a zombie's) is
// passed over.
std::vector<pid_t> processes_with_environment(const std::string& entry) {
  std::vector<pid_t> out;
  DIR* proc = ::opendir("/proc");
  if (!proc) return out;
  const std::string needle = std::string(1, '\0') + entry + std::string(1, '\0');
  std::string env;
  char chunk[1 << 14];
  while (const dirent* e = ::readdir(proc)) {
    char* end = nullptr;
    const long n = std::strtol(e->d_name, &end, 10);
    if (n <= 0 || *end != '\0') continue;
    const int fd = ::openat(::dirfd(proc), (std::string(e->d_name) + "/environ").c_str(),
                            O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    env.assign(1, '\0');  // the first entry has no NUL before it
    for (ssize_t got; (got = ::read(fd, chunk, sizeof chunk)) > 0 && env.size() < (1u << 20);)
      env.append(chunk, static_cast<std::size_t>(got));
    ::close(fd);
    env.push_back('\0');  // nor has the last one always after it
    if (env.find(needle) != std::string::npos) out.push_back(static_cast<pid_t>(n));
  }
  ::closedir(proc);
  return out;
}

// argv[0] looked up in PATH as execvp would.

// This runner's lock (protocol::kRunLockPrefix): made O_EXCL in the output directory before the
// spawn and held (flock LOCK_EX, O_CLOEXEC: no target inherits it) for as long as this runner
// lives. The kernel drops it with the descriptor however the runner ends, so a traced daemon
// stops writing even after a SIGKILL here; at a normal end, release() removes the file once
// the ended marker is written.
class RunLock {
 public:
  RunLock(const OutputDir& dir, const std::string& name) : dir_(dir), name_(name) {
    fd_ =
        ::openat(dir.fd(), name.c_str(), O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd_ < 0) {
      error_ = "cannot make " + dir.path() + "/" + name + ": " + std::strerror(errno);
    } else if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      error_ = "cannot lock " + dir.path() + "/" + name + ": " + std::strerror(errno);
      release();
    }
  }
  RunLock(const RunLock&) = delete;
  RunLock& operator=(const RunLock&) = delete;
  ~RunLock() {
    if (fd_ >= 0) ::close(fd_);  // a return on an error after the spawn: the file stays, free
  }
  // Empty when held; else why not (the run goes on: a daemon is then stopped by the marker only).
  const std::string& error() const { return error_; }
  void release() {
    if (fd_ < 0) return;
    ::unlinkat(dir_.fd(), name_.c_str(), 0);
    ::close(fd_);
    fd_ = -1;
  }

 private:
  const OutputDir& dir_;
  std::string name_;
  int fd_ = -1;
  std::string error_;
};

// An earlier run's ended marker or lock file (protocol::kRunEndedPrefix, kRunLockPrefix), a
// regular file: what tells that run's processes still alive (a daemon, what it execs later) that
// their run is over. Removed, a process the old daemon execs after this run started found
// neither and wrote into this run's directory for as long as it lived; so they stay (empty
// files, one per run in the directory), through --force too.
bool run_marker(const OutputDir& dir, const std::string& n) {
  struct stat st {};
  return (n.rfind(protocol::kRunEndedPrefix, 0) == 0 ||
          n.rfind(protocol::kRunLockPrefix, 0) == 0) &&
         ::fstatat(dir.fd(), n.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode);
}

// Files a previous run in the same directory left, which this run would otherwise mix in, and
// anything that could redirect a write: symlinks and temporary names. unlinkat removes a
// symlink itself, never its target. Earlier runs' markers stay (run_marker).
void clear_previous(const OutputDir& dir) {
  for (const std::string& n : dir.entries()) {
    if (run_marker(dir, n)) continue;
    struct stat st {};
    const bool is_link =
        ::fstatat(dir.fd(), n.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode);
    const bool ours =
        n == "timeline.jsonl" || n == "run.json" || n == "allocs.bin" ||
        n == "preload-warnings.txt" || n.rfind(protocol::kRunEndedPrefix, 0) == 0 ||
        n.rfind(protocol::kRunLockPrefix, 0) == 0 ||
        (n.rfind("timeline.", 0) == 0 && n.size() > 6 && n.substr(n.size() - 6) == ".jsonl") ||
        (n.rfind("heap-sites.", 0) == 0 && n.size() > 6 && n.substr(n.size() - 6) == ".jsonl") ||
        ((n.rfind("heap.", 0) == 0 || n.rfind("jeprof.", 0) == 0 || n.rfind("mmap.", 0) == 0) &&
         n.size() > 5 && n.substr(n.size() - 5) == ".heap");
    const bool temporary = n.find(".tmp") != std::string::npos;
    if (ours || temporary || is_link) dir.remove(n);
  }
}

// The interval as the interposer parses it: digits and a point, never an exponent.
std::string interval_text(double ms) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.3f", ms);
  return buf;
}

std::vector<std::string> read_lines(const std::string& path) {
  std::vector<std::string> out;
  std::ifstream in(path);
  std::string line;
  std::set<std::string> seen;
  while (std::getline(in, line))
    if (!line.empty() && seen.insert(line).second) out.push_back(line);
  return out;
}

// Ignores SIGINT/SIGQUIT in arenalab while the target runs (as system(3) does): a Ctrl-C
// reaches the target (same process group); arenalab stays to write run.json.
struct IgnoreInteractiveSignals {
  struct sigaction old_int {
  }, old_quit{};
  IgnoreInteractiveSignals() {
    struct sigaction ign {};
    ign.sa_handler = SIG_IGN;
    sigaction(SIGINT, &ign, &old_int);
    sigaction(SIGQUIT, &ign, &old_quit);
  }
  ~IgnoreInteractiveSignals() {
    sigaction(SIGINT, &old_int, nullptr);
    sigaction(SIGQUIT, &old_quit, nullptr);
  }
};

}  // namespace

Result<RunResult> run(const RunOptions& o) {
  if (o.command.empty()) return make_error("no command given (arenalab run ... -- CMD ARGS)");
  if (!(o.interval_ms >= kMinIntervalMs && o.interval_ms <= kMaxIntervalMs))
    return make_error("--interval must be between 1 and 3600000 ms");
  if (o.sample_bytes == 0) return make_error("--sample-bytes must be > 0");

  const std::string cfg_path =
      o.allocators_file.empty() ? default_configurations_path() : o.allocators_file;
  auto configs = load_configurations(cfg_path);
  if (!configs) return configs.error();
  auto config = find_configuration(*configs, o.allocator);
  if (!config) return config.error();
  if (const auto why = config->unavailable_reason(); !why.empty())
    return make_error("configuration '" + config->name + "': " + why);
  const std::string preload = preload_library_path(o.mode);
  if (::access(preload.c_str(), R_OK) != 0)
    return make_error("interposer library " + preload +
                      " not found (build targets arenalab_preload, arenalab_preload_stats)");

  RunResult result;
  std::string out = o.out_dir.empty() ? "arenalab-run-" + std::to_string(::getpid()) : o.out_dir;
  // Checked (and made) before the target starts: a directory we cannot use is an error now,
  // not after the run.
  // --force empties the directory here, earlier runs' markers kept (run_marker).
  const bool force = o.out_existing == ExistingDir::kEmpty;
  auto dir = OutputDir::open(out, force ? ExistingDir::kAccept : o.out_existing);
  if (!dir) return dir.error();
  if (force) {
    for (const std::string& n : dir->entries()) {
      if (run_marker(*dir, n)) continue;
      struct stat st {};
      const bool is_dir =
          ::fstatat(dir->fd(), n.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
      if (is_dir) {
        if (auto r = dir->remove_subdir(n); !r) return r.error();
      } else if (::unlinkat(dir->fd(), n.c_str(), 0) != 0 && errno != ENOENT) {
        return make_error("cannot remove " + dir->path() + "/" + n + ": " + std::strerror(errno));
      }
    }
  } else if (o.out_existing == ExistingDir::kAccept) {
    clear_previous(*dir);
  }
  std::error_code ec;
  out = dir->path();
  result.out_dir = out;
  result.timeline_path = out + "/timeline.jsonl";
  result.run_json_path = out + "/run.json";

  SpawnSpec spec;
  spec.argv = o.command;
  spec.set_env = configuration_environment(*config, preload);
  std::string malloc_conf;
  for (const auto& [k, v] : spec.set_env)
    if (k == "MALLOC_CONF") malloc_conf = v;
  auto set = [&](const std::string& k, const std::string& v) {
    auto it = std::find_if(spec.set_env.begin(), spec.set_env.end(),
                           [&](const auto& kv) { return kv.first == k; });
    if (it != spec.set_env.end())
      it->second = v;
    else
      spec.set_env.emplace_back(k, v);
  };
  set(protocol::kEnvOutDir, out);
  set(protocol::kEnvMode, protocol::mode_name(o.mode));
  set(protocol::kEnvIntervalMs, interval_text(o.interval_ms));
  set(protocol::kEnvSampleBytes, std::to_string(o.sample_bytes));
  set(protocol::kEnvAllocator, config->name);
  set(protocol::kEnvBackend, backend_name(config->backend));
  set(protocol::kEnvPid,
      protocol::kPidPlaceholder);  // claimed by the first process that loads the preload
  set(protocol::kEnvDumpEvery, std::to_string(std::max(0, o.heap_dump_every)));
  set(protocol::kEnvJeprofDumpEvery, std::to_string(std::max(0, o.jemalloc_prof_dump_every)));
  set(protocol::kEnvTraceChildren, o.trace_children ? "1" : "0");
  if (o.purge_at_end) set(protocol::kEnvPurgeAtEnd, "1");
  if (o.max_output > 0) set(protocol::kEnvMaxOutput, std::to_string(o.max_output));
  if (!o.thin_dumps) set(protocol::kEnvThinDumps, "0");
  for (const auto& [k, v] : o.extra_env) {
    if (k == "MALLOC_CONF" && !malloc_conf.empty()) {
      malloc_conf += "," + v;
      set(k, malloc_conf);
    } else {
      set(k, v);
    }
  }
  spec.child_setup = o.child_setup;
  spec.capture_stdout = o.capture_output;
  spec.capture_stderr = o.capture_output;

  const std::string program = find_program(o.command[0]);
  if (!program.empty() && is_static_executable(program))
    result.warnings.push_back("target bypassed the interposer: static binary (" + program + ")");
  if (const std::string why = program.empty() ? "" : secure_exec_reason(program); !why.empty())
    result.warnings.push_back(
        "setuid/setgid target: the interposer cannot load; stats from outside only (" +
        utf8_escaped(program) + " is " + why + ")");

  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  const std::string t0_ns = std::to_string(static_cast<std::uint64_t>(ts.tv_sec) * 1000000000ULL +
                                           static_cast<std::uint64_t>(ts.tv_nsec));
  set(protocol::kEnvT0Ns, t0_ns);
  // Held until this function returns, however the runner ends (protocol::kRunLockPrefix).
  RunLock run_lock(*dir, std::string(protocol::kRunLockPrefix) + t0_ns);
  if (!run_lock.error().empty())
    result.warnings.push_back(run_lock.error() +
                              ": a traced daemon is not stopped if arenalab is killed");
  // Made before the spawn: what exists then is none of the target's (DescendantWatch).
  std::optional<DescendantWatch> descendants;
  if (!o.trace_children) descendants.emplace();
  // Made before the spawn, so a signal that comes while the target starts is passed on too.
  std::optional<TerminationSignals> forward;
  if (o.stop.forward_signals) forward.emplace();
  auto child = spawn(spec);
  if (!child) {
    // Nothing of this run ever ran (the command could not start): no process needs the lock
    // or a marker, and a command that cannot start leaves no file.
    run_lock.release();
    return child.error();
  }
  Result<ExitInfo> exit = make_error("not run");
  {
    // Not over a caller's TerminationSignals guard: the caller records the signals and acts on
    // them (matrix stops its running cell); ignoring them here would lose them.
    std::optional<IgnoreInteractiveSignals> ignore;
    if (!o.stop.forward_signals && !TerminationSignals::active()) ignore.emplace();
    const pid_t pid = child->pid();
    result.pid = pid;
    const double start = child->started_ms();
    // Child::wait wakes at once when the target exits (a pidfd; every 5 ms on kernels without
    // one), on a signal, and at a stop's deadline; besides those it need only wake when one of
    // the periodic jobs below is due: the caller's on_tick, the scan for children, the roll
    // check. A fixed 5 ms wake-up cost about 1 ms of CPU per second of the target's run.
    const double tick_ms = std::max(1, o.tick_ms);
    double last_tick = start;
    // Without --trace-children only the target is watched: note the processes it starts (every
    // 500 ms, from /proc), to name the ones that ran for a while unwatched. Each look reads the
    // known ones and those that may be new since the last (DescendantWatch), not every process.
    struct Seen {
      std::string comm;
      double first_ms = 0, last_ms = 0;
    };
    std::map<pid_t, Seen> children;
    double last_scan = start;
    // Rolling the timeline (RunOptions::roll_every_bytes): its size is looked at once a second.
    double last_roll_check = start;
    std::uint64_t roll_at = o.roll_every_bytes;
    bool roll_failed = false;
    std::function<void()> tick = [&] {
      const double now = monotonic_ms();
      if (!o.trace_children && now - last_scan >= 500) {
        last_scan = now;
        for (auto& c : descendants->scan(pid)) {
          auto [it, fresh] = children.try_emplace(c.pid);
          if (fresh) it->second.first_ms = now - start;
          // Its name now: a wrapper script (bash) may have exec'd into the program since.
          it->second.comm = std::move(c.comm);
          it->second.last_ms = now - start;
        }
      }
      if (o.roll_every_bytes > 0 && !roll_failed && now - last_roll_check >= 1000) {
        last_roll_check = now;
        struct stat st {};
        if (::lstat(result.timeline_path.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
            static_cast<std::uint64_t>(st.st_size) >= roll_at) {
          auto r = analysis::roll_timeline(result.timeline_path, o.roll);
          if (!r) {
            roll_failed = true;  // said once; the timeline grows on, whole
            result.warnings.push_back("timeline not rolled: " + r.error().message);
          } else {
            result.rolls += r->rolled;
            roll_at = (r->rolled ? r->bytes_after : static_cast<std::uint64_t>(st.st_size)) +
                      o.roll_every_bytes;
          }
        }
      }
      if (o.on_tick && now - last_tick >= tick_ms) {
        last_tick = now;
        o.on_tick(RunProgress{pid, now - start, result.timeline_path});
      }
    };
    int wake_ms = 1000;  // the roll check's period, and an upper bound
    if (o.on_tick) wake_ms = std::min(wake_ms, static_cast<int>(tick_ms));
    if (!o.trace_children) wake_ms = std::min(wake_ms, 500);
    exit = child->wait(tick, wake_ms, o.stop);
    // A child forked since the last look whose parent then exited (a daemon: fork, then the
    // parent exits) is no descendant any more: the kernel hands it to init or a subreaper as
    // its parent exits, before the target can be waited for, so no look by parent finds it.
    // It still carries this run's environment: one last look at the processes holding this
    // run's ARENALAB_T0_NS (unique to it) names it. One that exec'd with another environment
    // stays unseen.
    if (!o.trace_children) {
      const double now = monotonic_ms();
      for (pid_t p : processes_with_environment(std::string(protocol::kEnvT0Ns) + "=" + t0_ns)) {
        if (p == pid || p == ::getpid() || children.count(p)) continue;
        if (auto comm = running_comm(p)) children[p] = {*comm, now - start, now - start};
      }
    }
    // "Ran longer than a few samples": seen over at least 3 intervals (and one scan period).
    // A child still running when the target exited (a daemon: the parent forks and exits) ran
    // unwatched for as long as it lives on, not for the span seen: it is named so, whatever
    // that span.
    std::string unwatched;
    int named = 0, more = 0;
    for (const auto& [c, seen] : children) {
      const auto now = running_comm(c);
      const bool running = now && *now == seen.comm;
      if (!running && seen.last_ms - seen.first_ms < std::max(500.0, 3 * o.interval_ms)) continue;
      if (named++ >= 8) {
        ++more;
        continue;
      }
      std::string span = "still running when " + std::to_string(pid) + " exited, not watched";
      if (!running) {
        char s[32];
        std::snprintf(s, sizeof s, "%.1f s", (seen.last_ms - seen.first_ms) / 1000);
        span = s;
      }
      unwatched += (unwatched.empty() ? "" : ", ") + utf8_escaped(seen.comm) + " (pid " +
                   std::to_string(c) + ", " + span + ")";
    }
    if (more > 0) unwatched += " and " + std::to_string(more) + " more";
    if (!unwatched.empty())
      result.warnings.push_back("child processes ran unwatched: " + unwatched +
                                "; only the target is measured (--trace-children watches them)");
  }
  if (!exit) return exit.error();
  result.exit = *exit;

  // What the process said about itself.
  // Streamed (the header and a count): a week-long run's samples are never held whole.
  timeline::Header header;
  std::size_t samples = 0;
  auto tl = timeline::scan_timeline(
      result.timeline_path, [&](timeline::Header&& h) { header = std::move(h); },
      [&](timeline::Sample&& s) {
        // A rolled history counts the samples it stands for (below), not its lines.
        if (!s.after_purge && !(header.history && s.t_ms < header.history->until_ms)) ++samples;
      });
  if (tl && header.history) samples += static_cast<std::size_t>(header.history->samples);
  if (tl) {
    const auto& a = header.allocator;
    result.id.backend = a.backend;
    std::snprintf(result.id.library, sizeof result.id.library, "%s", a.library.c_str());
    std::snprintf(result.id.version, sizeof result.id.version, "%s", a.version.c_str());
    result.mismatch = verification_mismatch(*config, result.id);
    result.verified = result.mismatch.empty();
    result.samples = samples;
    if (!result.verified) result.warnings.push_back(result.mismatch);
  } else {
    result.mismatch = "no identification: " + tl.error().message;
    bool static_warned = false;  // already said why (static, setuid/setgid)
    for (const auto& w : result.warnings)
      static_warned |=
          w.find("static binary") != std::string::npos || w.rfind("setuid/setgid target", 0) == 0;
    if (!static_warned)
      result.warnings.push_back(
          "target bypassed the interposer: no timeline was written (a static binary, a setuid "
          "program, or the preload library was not loaded)");
  }
  for (const auto& w : read_lines(out + "/preload-warnings.txt")) result.warnings.push_back(w);

  for (const auto& e : fs::directory_iterator(out, ec))
    if (e.is_regular_file(ec) &&
        e.path().filename().string().rfind(protocol::kRunLockPrefix, 0) != 0)
      result.files.push_back(e.path().filename().string());
  result.files.push_back("run.json");
  std::sort(result.files.begin(), result.files.end());

  RunRecord rec;
  rec.command = utf8_escaped(o.command);
  rec.mode = o.mode;
  rec.interval_ms = o.interval_ms;
  if (o.mode == protocol::Mode::kSample) rec.sample_bytes = o.sample_bytes;
  rec.configuration = config->name;
  rec.configured_backend = config->backend;
  rec.identified_backend = result.id.backend;
  rec.library = result.id.library;
  rec.version = result.id.version;
  rec.verified = result.verified;
  if (!result.verified) rec.mismatch = result.mismatch;
  rec.exit = exit_record(result.exit);
  rec.wall_ms = result.exit.wall_ms;
  rec.user_ms = result.exit.user_ms;
  rec.sys_ms = result.exit.sys_ms;
  rec.peak_rss_bytes = static_cast<double>(result.exit.max_rss_bytes);
  rec.minor_faults = static_cast<double>(result.exit.minor_faults);
  rec.major_faults = static_cast<double>(result.exit.major_faults);
  rec.timeline_samples = result.samples;
  rec.files = result.files;
  rec.warnings = result.warnings;
  if (const auto& s = result.exit.stop; s.stop_ms) {
    StopRecord stop;
    stop.at_ms = *s.stop_ms;
    stop.killed_after_grace = s.killed_after_grace;
    if (s.received_signal) stop.received = signal_name(*s.received_signal);
    if (s.duration_reached) stop.duration_ms = o.stop.duration_ms;
    if (s.sent_signal) stop.signal = signal_name(*s.sent_signal);
    rec.stop = stop;
  }
  // The target has run: a file we cannot write is a warning, never the loss of its status.
  if (auto st = dir->write_file("run.json", formats::document_text(run_to_json(rec))); !st) {
    result.warnings.push_back(st.error().message);
    result.run_json_path.clear();
  }
  // The run is over: a traced child still running (a daemon) stops writing here at its next
  // tick (protocol::kRunEndedPrefix), instead of appending for as long as it lives.
  if (auto fd = dir->create_file(std::string(protocol::kRunEndedPrefix) + t0_ns)) ::close(*fd);
  run_lock.release();
  return result;
}

namespace {

// A decoder's view of the decompressed records it holds at the moment, d[i, end). Reading past
// `end` sets short_read: the record goes on in bytes not decompressed yet (or, at the log's end,
// was cut by a kill).
struct Cursor {
  const char* d;
  std::size_t i, end;
  bool short_read = false;
  bool need(std::uint64_t n) {  // whether n more bytes are here
    if (n <= end - i) return true;
    short_read = true;
    return false;
  }
  template <class T>
  bool get(T& v) {
    if (!need(sizeof v)) return false;
    std::memcpy(&v, d + i, sizeof v);
    i += sizeof v;
    return true;
  }
  bool varint(std::uint64_t& v) {
    v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (!need(1)) return false;
      const auto b = static_cast<unsigned char>(d[i++]);
      v |= static_cast<std::uint64_t>(b & 0x7f) << shift;
      if (!(b & 0x80)) return true;
    }
    return false;  // longer than 10 bytes: damaged
  }
  bool delta(std::uint64_t& base) {  // a zigzag delta applied to base
    std::uint64_t z = 0;
    if (!varint(z)) return false;
    base += (z >> 1) ^ (~(z & 1) + 1);
    return true;
  }
};

using RecordFn = std::function<void(const FullLogRecord&)>;
using preload::protocol::kFullLogMaxRecordBytes;

// What a decoder made of the bytes it was given: every whole record decoded, the cursor at the
// first byte of the record the next bytes complete (kMore), or the log ends here (kEnd: a damaged
// record; what came before is kept). An unknown record is an error naming its byte offset in the
// decompressed log (`base` is the offset of d[0]).
enum class Decoded { kMore, kEnd };

// The decoding state that lasts from one piece of the log to the next.
struct DecodeState {
  std::uint64_t ns = 0, ptr = 0;  // ARENALAB-FULL/3: the thread buffer's previous event
  FullLogRecord r;
};

Error unknown_record(const std::string& path, const char* what, char tag, std::uint64_t at) {
  return make_error(printable(path) + ": unknown " + what + " '" + printable(std::string(1, tag)) +
                    "' at byte " + std::to_string(at));
}

// The fixed-width records of ARENALAB-FULL/2.
Result<Decoded> decode_full_log_v2(Cursor& c, std::uint64_t base, const std::string& path,
                                   DecodeState& state, const RecordFn& fn) {
  FullLogRecord& r = state.r;
  while (c.i < c.end) {
    const std::size_t at = c.i;
    r.tag = c.d[c.i++];
    bool whole = true;
    if (r.tag == 'S') {
      std::uint32_t depth = 0;
      whole = c.get(r.stack) && c.get(depth) && c.need(depth * 8ULL);
      if (whole) {
        r.frames.resize(depth);
        std::memcpy(r.frames.data(), c.d + c.i, depth * 8ULL);
        c.i += depth * 8ULL;
      }
    } else if (r.tag == 'A') {
      whole = c.get(r.ns) && c.get(r.ptr) && c.get(r.size) && c.get(r.stack);
    } else if (r.tag == 'F') {
      whole = c.get(r.ns) && c.get(r.ptr);
    } else if (r.tag == 'T') {
      whole = c.get(r.t_ms);
    } else {
      return unknown_record(path, "record", r.tag, base + at);
    }
    if (!whole) {
      c.i = at;
      return Decoded::kMore;  // every field is fixed width: only ever short
    }
    fn(r);
  }
  return Decoded::kMore;
}

// ARENALAB-FULL/3: varints, deltas from the thread's previous record since its buffer's 'B'.
Result<Decoded> decode_full_log_v3(Cursor& c, std::uint64_t base, const std::string& path,
                                   DecodeState& state, const RecordFn& fn) {
  FullLogRecord& r = state.r;
  while (c.i < c.end) {
    const std::size_t at = c.i;
    const std::uint64_t ns = state.ns, ptr = state.ptr;  // kept for a record cut here
    r.tag = c.d[c.i++];
    if (r.tag == 'B') {
      state.ns = state.ptr = 0;
      continue;
    }
    std::uint64_t id = 0, depth = 0;
    bool whole = true;
    if (r.tag == 'S') {
      whole = c.varint(id) && c.varint(depth) && id < kFullLogNoStack && c.need(depth);
      if (whole) {
        r.stack = static_cast<std::uint32_t>(id);
        r.frames.assign(depth, 0);
        std::uint64_t f = 0;
        for (auto& frame : r.frames) {
          if (!(whole = c.delta(f))) break;
          frame = f;
        }
      }
    } else if (r.tag == 'A') {
      whole = c.delta(state.ns) && c.delta(state.ptr) && c.varint(r.size) && c.varint(id);
      r.ns = state.ns;
      r.ptr = state.ptr;
      r.stack =
          id == 0 || id > kFullLogNoStack ? kFullLogNoStack : static_cast<std::uint32_t>(id - 1);
    } else if (r.tag == 'F') {
      whole = c.delta(state.ns) && c.delta(state.ptr);
      r.ns = state.ns;
      r.ptr = state.ptr;
    } else if (r.tag == 'T') {
      whole = c.get(r.t_ms);
    } else {
      return unknown_record(path, "record", r.tag, base + at);
    }
    if (!whole) {
      if (!c.short_read) return Decoded::kEnd;  // damaged
      c.i = at;
      state.ns = ns;
      state.ptr = ptr;
      return Decoded::kMore;
    }
    fn(r);
  }
  return Decoded::kMore;
}

// ARENALAB-FULL/4: each thread buffer is a 'C' record, the byte lengths of its six streams
// (stacks, tags, times, addresses, sizes, stack ids) then the streams; times and addresses are
// deltas from the buffer's previous event. A record is decoded once all its bytes are here.
Result<Decoded> decode_full_log_v4(Cursor& top, std::uint64_t base, const std::string& path,
                                   DecodeState& state, const RecordFn& fn) {
  enum { kStacks, kTags, kTimes, kAddrs, kSizes, kIds, kStreams };
  FullLogRecord& r = state.r;
  while (top.i < top.end) {
    const std::size_t at = top.i;
    const char tag = top.d[top.i++];
    if (tag == 'T') {
      if (!top.get(r.t_ms)) {
        top.i = at;
        return Decoded::kMore;
      }
      r.tag = 'T';
      fn(r);
      continue;
    }
    if (tag != 'C') return unknown_record(path, "record", tag, base + at);
    std::uint64_t len[kStreams] = {}, total = 0;
    bool whole = true;
    for (auto& n : len) {
      whole = whole && top.varint(n);
      // No writer's thread buffer is this long (protocol.h): damaged, never waited for.
      if (whole && (n > kFullLogMaxRecordBytes || (total += n) > kFullLogMaxRecordBytes))
        return Decoded::kEnd;
    }
    if (whole) whole = top.need(total);
    if (!whole) {
      if (!top.short_read) return Decoded::kEnd;
      top.i = at;
      return Decoded::kMore;
    }
    Cursor s[kStreams] = {};
    for (int k = 0; k < kStreams; ++k) {
      s[k] = Cursor{top.d, top.i, top.i + len[k]};
      top.i += len[k];
    }
    std::uint64_t id = 0, depth = 0;
    while (s[kStacks].i < s[kStacks].end) {
      if (!s[kStacks].varint(id) || !s[kStacks].varint(depth) || id >= kFullLogNoStack ||
          depth > len[kStacks])
        return Decoded::kEnd;  // damaged
      r.tag = 'S';
      r.stack = static_cast<std::uint32_t>(id);
      r.frames.assign(depth, 0);
      std::uint64_t f = 0;
      for (auto& frame : r.frames) {
        if (!s[kStacks].delta(f)) return Decoded::kEnd;
        frame = f;
      }
      fn(r);
    }
    std::uint64_t ns = 0, ptr = 0;
    for (std::size_t e = s[kTags].i; e < s[kTags].end; ++e) {
      r.tag = top.d[e];
      if (r.tag != 'A' && r.tag != 'F') return unknown_record(path, "event", r.tag, base + e);
      if (!s[kTimes].delta(ns) || !s[kAddrs].delta(ptr)) return Decoded::kEnd;
      r.ns = ns;
      r.ptr = ptr;
      if (r.tag == 'A') {
        if (!s[kSizes].varint(r.size) || !s[kIds].varint(id)) return Decoded::kEnd;
        r.stack =
            id == 0 || id > kFullLogNoStack ? kFullLogNoStack : static_cast<std::uint32_t>(id - 1);
      }
      fn(r);
    }
  }
  return Decoded::kMore;
}

// The decompressed log, fed piece by piece: whole records are decoded as they arrive and only a
// record's start waits for the bytes that complete it, so memory is one record (at most
// kFullLogMaxRecordBytes) plus a piece, whatever the log's length.
class FullLogDecoder {
 public:
  FullLogDecoder(const std::string& path, RecordFn fn) : path_(path), fn_(std::move(fn)) {}

  Status feed(const char* p, std::size_t n) {
    bytes_ += n;
    if (ended_) return Ok{};
    pending_.append(p, n);
    if (!decode_) {
      if (pending_.size() < kMagicBytes) return Ok{};
      if (pending_.compare(0, kMagicBytes, "ARENALAB-FULL/4\n") == 0) set(4, decode_full_log_v4);
      if (pending_.compare(0, kMagicBytes, "ARENALAB-FULL/3\n") == 0) set(3, decode_full_log_v3);
      if (pending_.compare(0, kMagicBytes, "ARENALAB-FULL/2\n") == 0) set(2, decode_full_log_v2);
      if (!decode_) return not_a_log();
      pending_.erase(0, kMagicBytes);
      base_ = kMagicBytes;
    }
    Cursor c{pending_.data(), 0, pending_.size()};
    auto d = decode_(c, base_, path_, state_, fn_);
    if (!d) return d.error();
    pending_.erase(0, c.i);
    base_ += c.i;
    // A record longer than any writer's (a damaged or hostile log) ends it, never waited for.
    if (*d == Decoded::kEnd || pending_.size() > kFullLogMaxRecordBytes) end();
    return Ok{};
  }
  // At the log's end: what is left is a record cut by a kill, dropped.
  Status finish() { return decode_ ? Status(Ok{}) : not_a_log(); }
  // Stops decoding: the rest of the log is not wanted.
  void end() {
    ended_ = true;
    std::string().swap(pending_);
  }
  bool ended() const { return ended_; }
  FullLogRead read() const { return {version_, bytes_}; }

 private:
  static constexpr std::size_t kMagicBytes = 16;
  using Decode = Result<Decoded> (*)(Cursor&, std::uint64_t, const std::string&, DecodeState&,
                                     const RecordFn&);
  void set(int version, Decode decode) {
    version_ = version;
    decode_ = decode;
  }
  Error not_a_log() const {
    return make_error(printable(path_) + ": not an arenalab full log (expected ARENALAB-FULL/4)");
  }
  const std::string& path_;
  RecordFn fn_;
  Decode decode_ = nullptr;
  int version_ = 0;
  std::uint64_t bytes_ = 0, base_ = 0;
  bool ended_ = false;
  std::string pending_;
  DecodeState state_;
};

}  // namespace

Status for_each_full_log_record(const std::string& path, const RecordFn& fn, FullLogRead* read) {
  auto opened = open_input_file(path);  // a FIFO, device or directory: refused, never waited on
  if (!opened) {  // "cannot read P: why" said as "cannot read full log P: why"
    std::string m = opened.error().message;
    if (m.rfind("cannot read ", 0) == 0) m.insert(12, "full log ");
    return make_error(m);
  }
  struct Fd {
    int fd;
    ~Fd() { ::close(fd); }
  } fd{*opened};
  auto read_some = [&](char* p, std::size_t cap) -> Result<std::size_t> {
    std::size_t got = 0;
    while (got < cap) {
      const ssize_t n = ::read(fd.fd, p + got, cap - got);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0)
        return make_error("cannot read full log " + printable(path) + ": " + std::strerror(errno));
      if (n == 0) break;
      got += static_cast<std::size_t>(n);
    }
    return got;
  };
  // Sizes a program can have been given: no allocator returns a block of more than PTRDIFF_MAX
  // (SIZE_MAX / 2) bytes (a difference of two pointers into it must fit; glibc, jemalloc and
  // mimalloc refuse such requests), so a larger size is a damaged log, refused here where every
  // reader's totals start. The allocations' sum bounds each total a reader keeps (live bytes,
  // signed in FullLogSummary; a site's bytes): held to PTRDIFF_MAX as well (2^63 bytes, 29
  // years of allocating at 10 GB/s), none of them wraps.
  constexpr std::uint64_t kMaxSize = PTRDIFF_MAX;
  std::uint64_t record = 0, allocated = 0;
  std::optional<Error> bad;
  FullLogDecoder decoder(path, [&](const FullLogRecord& r) {
    if (bad) return;
    ++record;
    if (r.tag == 'A') {
      if (r.size > kMaxSize)
        bad = make_error(printable(path) + ": record " + std::to_string(record) + " allocates " +
                         std::to_string(r.size) +
                         " bytes, more than any allocation can be (PTRDIFF_MAX, " +
                         std::to_string(kMaxSize) + ")");
      else if (r.size > kMaxSize - allocated)
        bad = make_error(printable(path) + ": record " + std::to_string(record) +
                         " brings the allocations' sum past PTRDIFF_MAX bytes (a damaged log)");
      if (bad) return;
      allocated += r.size;
    }
    fn(r);
  });
  auto feed = [&](const char* p, std::size_t n) -> Status {
    Status st = decoder.feed(p, n);
    if (!st) return st;
    if (bad) return *bad;
    return Ok{};
  };
  auto done = [&]() -> Status {
    if (read) *read = decoder.read();
    return decoder.finish();
  };

  // The file is a sequence of zstd frames, or (written before issue 21) the records themselves.
  std::vector<char> in(std::max<std::size_t>(ZSTD_DStreamInSize(), 1 << 16));
  auto got = read_some(in.data(), in.size());
  if (!got) return got.error();
  static const char kZstdMagic[4] = {'\x28', '\xb5', '\x2f', '\xfd'};
  if (*got < 4 || std::memcmp(in.data(), kZstdMagic, 4) != 0) {  // an uncompressed log
    while (*got > 0 && !decoder.ended()) {
      if (Status st = feed(in.data(), *got); !st) return st;
      got = read_some(in.data(), in.size());
      if (!got) return got.error();
    }
    return done();
  }
  std::unique_ptr<ZSTD_DCtx, decltype(&ZSTD_freeDCtx)> dctx(ZSTD_createDCtx(), ZSTD_freeDCtx);
  if (!dctx) return make_error(printable(path) + ": cannot make a zstd context");
  std::vector<char> out(ZSTD_DStreamOutSize());
  while (*got > 0 && !decoder.ended()) {
    ZSTD_inBuffer zin{in.data(), *got, 0};
    while (zin.pos < zin.size) {
      ZSTD_outBuffer zout{out.data(), out.size(), 0};
      const std::size_t r = ZSTD_decompressStream(dctx.get(), &zout, &zin);
      if (Status st = feed(out.data(), zout.pos); !st) return st;
      if (ZSTD_isError(r)) return done();  // damaged from here on: keep what came before
      if (decoder.ended()) return done();
    }
    got = read_some(in.data(), in.size());
    if (!got) return got.error();
  }
  // At the end, a frame cut short by a kill has given what its whole blocks held.
  while (!decoder.ended()) {
    ZSTD_inBuffer zin{nullptr, 0, 0};
    ZSTD_outBuffer zout{out.data(), out.size(), 0};
    const std::size_t r = ZSTD_decompressStream(dctx.get(), &zout, &zin);
    if (Status st = feed(out.data(), zout.pos); !st) return st;
    if (ZSTD_isError(r) || zout.pos == 0) break;
  }
  return done();
}

Status for_each_full_log_record_in_time_order(const std::string& path, const RecordFn& fn) {
  // Pass 1: where each run of non-decreasing times starts (in the events' file order) and its
  // first time, the least of the run's.
  std::vector<std::uint64_t> least_from;  // then: the least time of run k and every later run
  std::uint64_t events = 0, prev = 0;
  Status st = for_each_full_log_record(path, [&](const FullLogRecord& r) {
    if (r.tag != 'A' && r.tag != 'F') return;
    if (events == 0 || r.ns < prev) least_from.push_back(r.ns);
    prev = r.ns;
    ++events;
  });
  if (!st) return st;
  for (std::size_t k = least_from.size(); k-- > 1;)
    least_from[k - 1] = std::min(least_from[k - 1], least_from[k]);

  // Pass 2: every event goes into a heap by (ns, file order); after each, the events at or
  // below the least time any event still to come can have are passed on: a later event of the
  // same run has at least this one's time, one of a later run at least least_from[run + 1], and
  // one of equal time comes after them in file order.
  struct Held {
    std::uint64_t ns, ptr, size, seq;
    std::uint32_t stack;
    char tag;
    bool operator>(const Held& o) const { return ns != o.ns ? ns > o.ns : seq > o.seq; }
  };
  std::priority_queue<Held, std::vector<Held>, std::greater<>> held;
  FullLogRecord out;
  auto pass_on = [&](const Held& h) {
    out.tag = h.tag;
    out.ns = h.ns;
    out.ptr = h.ptr;
    out.size = h.size;
    out.stack = h.stack;
    fn(out);
  };
  std::uint64_t seq = 0;
  std::size_t run = 0;
  bool changed = false;
  st = for_each_full_log_record(path, [&](const FullLogRecord& r) {
    if (changed) return;
    if (r.tag != 'A' && r.tag != 'F') {
      fn(r);
      return;
    }
    if (seq > 0 && r.ns < prev) ++run;
    if (seq >= events || run >= least_from.size()) {
      changed = true;
      return;
    }
    prev = r.ns;
    const Held e{
        r.ns, r.ptr, r.tag == 'A' ? r.size : 0, seq++, r.tag == 'A' ? r.stack : kFullLogNoStack,
        r.tag};
    const std::uint64_t bound =
        run + 1 < least_from.size() ? std::min(r.ns, least_from[run + 1]) : r.ns;
    if (held.empty() && e.ns <= bound) {  // in order: nothing to hold
      pass_on(e);
      return;
    }
    held.push(e);
    while (!held.empty() && held.top().ns <= bound) {
      pass_on(held.top());
      held.pop();
    }
  });
  if (!st) return st;
  if (changed || seq != events)
    return make_error(printable(path) + ": changed while it was read (" + std::to_string(events) +
                      " allocations and frees, then " + (changed ? "more" : std::to_string(seq)) +
                      ")");
  for (; !held.empty(); held.pop()) pass_on(held.top());
  return Ok{};
}

Result<FullLogSummary> read_full_log(const std::string& path) {
  FullLogSummary s;
  // Each thread's records are in order; threads' buffers interleave by when they were
  // written: the events come in time order, only the live blocks are kept.
  std::unordered_map<std::uint64_t, std::uint64_t> live;
  Status st = for_each_full_log_record_in_time_order(path, [&](const FullLogRecord& r) {
    if (r.tag == 'S') {
      ++s.stacks;
    } else if (r.tag == 'A') {
      ++s.allocs;
      s.allocated_bytes += r.size;
      live[r.ptr] = r.size;
    } else if (r.tag == 'F') {
      ++s.frees;
      live.erase(r.ptr);
    } else if (r.tag == 'T') {
      s.last_t_ms = std::max(s.last_t_ms, static_cast<double>(r.t_ms));
    }
  });
  if (!st) return st.error();
  for (const auto& [p, size] : live) s.live_bytes += static_cast<std::int64_t>(size);
  s.live_blocks = live.size();
  return s;
}

}  // namespace arenalab::runner
