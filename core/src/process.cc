// SPDX-License-Identifier: Apache-2.0
// fork/exec with a close-on-exec error pipe (so "no such program" is reported by the parent),
// captured streams read with poll, and wait4 for the target's own rusage.
#include "arenalab/core/process.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <unordered_set>
#include <utility>

extern char** environ;

namespace arenalab {
namespace {

void append_tail(std::string& buf, const char* data, std::size_t n, std::size_t limit) {
  buf.append(data, n);
  if (buf.size() > limit) buf.erase(0, buf.size() - limit);
}

// Reads what is available; returns false at EOF or error.
bool drain(int fd, std::string& buf, std::size_t limit) {
  char chunk[16384];
  for (;;) {
    const ssize_t n = ::read(fd, chunk, sizeof chunk);
    if (n > 0) {
      append_tail(buf, chunk, static_cast<std::size_t>(n), limit);
      continue;
    }
    if (n == 0) return false;
    if (errno == EINTR) continue;
    return errno == EAGAIN || errno == EWOULDBLOCK;
  }
}

void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

// TerminationSignals' state. The handler only stores into lock-free atomics, which is
// async-signal-safe (signal-safety(7)); the four signals are blocked while it runs, so it never
// interrupts itself.
constexpr int kTermSignals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
constexpr int kMaxReceived = 32;
std::atomic<int> g_received_count{0};
std::atomic<int> g_received_sig[kMaxReceived];
std::atomic<bool> g_received_tty[kMaxReceived];
int g_guard_depth = 0;  // guards are made and dropped on one thread
struct sigaction g_old_actions[std::size(kTermSignals)];
bool g_installed[std::size(kTermSignals)];

extern "C" void on_termination_signal(int sig, siginfo_t* info, void*) {
  const int n = g_received_count.load(std::memory_order_relaxed);
  if (n < kMaxReceived) {
    g_received_sig[n].store(sig, std::memory_order_relaxed);
    // SI_KERNEL: the terminal's line discipline sent it (Ctrl-C, Ctrl-\, hangup) to the whole
    // foreground process group; kill(2) gives SI_USER.
    g_received_tty[n].store(info != nullptr && info->si_code == SI_KERNEL,
                            std::memory_order_relaxed);
  }
  g_received_count.store(n + 1, std::memory_order_release);
}

// What a look at /proc/N/stat needs: the parent and the name (between the first '(' and the
// last ')', as the name may itself hold spaces and parentheses).
struct StatFields {
  char state = 0;
  pid_t ppid = 0;
  unsigned long flags = 0;  // the kernel's PF_* flags (field 9)
  std::string comm;
};

bool read_stat(int proc_fd, pid_t pid, StatFields& out) {
  char path[32];
  std::snprintf(path, sizeof path, "%d/stat", static_cast<int>(pid));
  const int fd = ::openat(proc_fd, path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char buf[1024];
  const ssize_t n = ::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  if (n <= 0) return false;
  buf[n] = '\0';
  const char* open_paren = std::strchr(buf, '(');
  const char* close_paren = std::strrchr(buf, ')');
  if (!open_paren || !close_paren || close_paren < open_paren) return false;
  char state = 0;
  int ppid = 0;
  unsigned long flags = 0;
  if (std::sscanf(close_paren + 1, " %c %d %*d %*d %*d %*d %lu", &state, &ppid, &flags) != 3)
    return false;
  out.state = state;
  out.ppid = static_cast<pid_t>(ppid);
  out.flags = flags;
  out.comm.assign(open_paren + 1, close_paren);
  return true;
}

// The pids /proc lists now (processes, not threads), sorted. `dir` is rewound first.
std::vector<pid_t> list_pids(DIR* dir) {
  std::vector<pid_t> out;
  ::rewinddir(dir);
  while (dirent* e = ::readdir(dir)) {
    const char* name = e->d_name;
    if (*name < '1' || *name > '9') continue;
    out.push_back(static_cast<pid_t>(std::atoi(name)));
  }
  std::sort(out.begin(), out.end());
  return out;
}

// The processes below `root` among `known` (each with its parent), parents first.
std::vector<DescendantWatch::Process> tree_below(pid_t root,
                                                 std::vector<DescendantWatch::Process> known) {
  std::sort(known.begin(), known.end(),
            [](const auto& a, const auto& b) { return a.ppid < b.ppid; });
  std::vector<DescendantWatch::Process> out;
  std::vector<pid_t> queue{root};
  // Each pid is looked up once: a snapshot taken while pids are reused can hold a cycle.
  std::unordered_set<pid_t> visited{root};
  for (std::size_t i = 0; i < queue.size(); ++i) {
    auto lo = std::lower_bound(known.begin(), known.end(), queue[i],
                               [](const auto& p, pid_t v) { return p.ppid < v; });
    for (; lo != known.end() && lo->ppid == queue[i]; ++lo) {
      if (!visited.insert(lo->pid).second) continue;
      queue.push_back(lo->pid);
      out.push_back(*lo);
    }
  }
  return out;
}

// Every process /proc lists, with its parent: one pass.
std::vector<DescendantWatch::Process> all_processes(DIR* dir) {
  std::vector<DescendantWatch::Process> out;
  StatFields f;
  for (pid_t p : list_pids(dir))
    if (read_stat(::dirfd(dir), p, f)) out.push_back({p, f.ppid, f.comm});
  return out;
}

// `pid` and everything below it, parents first.
std::vector<pid_t> process_tree(pid_t pid) {
  std::vector<pid_t> tree{pid};
  DIR* d = ::opendir("/proc");
  if (!d) return tree;
  for (const auto& p : tree_below(pid, all_processes(d))) tree.push_back(p.pid);
  ::closedir(d);
  return tree;
}

// The pids whose parent is `parent`.
std::vector<pid_t> children_of(pid_t parent) {
  std::vector<pid_t> out;
  DIR* d = ::opendir("/proc");
  if (!d) return out;
  for (const auto& p : all_processes(d))
    if (p.ppid == parent) out.push_back(p.pid);
  ::closedir(d);
  return out;
}

// A whole file of /proc into `buf` (its size is not known before: read until the end).
bool read_proc_file(const char* path, std::string& buf) {
  const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  buf.clear();
  char chunk[4096];
  for (;;) {
    const ssize_t n = ::read(fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ::close(fd);
      return n == 0;
    }
    buf.append(chunk, static_cast<std::size_t>(n));
  }
}

// Whether our child `pid` (not reaped yet) never exec'd: PF_FORKNOEXEC in its flags (field 9 of
// /proc/PID/stat; include/linux/sched.h), which fork sets and the kernel clears at exec
// (begin_new_exec) before it closes the close-on-exec descriptors. A child whose error pipe
// ended with the flag still set died between fork and exec (killed there: a memory limit it
// joined below what exec takes, a kill that came first). Readable while the child is a zombie;
// false when unreadable.
bool never_execed(pid_t pid) {
  constexpr unsigned long kPfForkNoExec = 0x40;
  const int proc = ::open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (proc < 0) return false;
  StatFields f;
  const bool ok = read_stat(proc, pid, f);
  ::close(proc);
  return ok && (f.flags & kPfForkNoExec) != 0;
}

}  // namespace

TerminationSignals::TerminationSignals() {
  if (g_guard_depth++ > 0) return;
  g_received_count.store(0);
  struct sigaction sa {};
  sa.sa_sigaction = on_termination_signal;
  // SA_RESTART keeps reads in the tick callbacks going; poll(2) still returns EINTR, so the
  // wait loop sees the signal at once.
  sa.sa_flags = SA_SIGINFO | SA_RESTART;
  sigemptyset(&sa.sa_mask);
  for (int sig : kTermSignals) sigaddset(&sa.sa_mask, sig);
  for (std::size_t i = 0; i < std::size(kTermSignals); ++i) {
    g_installed[i] = false;
    struct sigaction old {};
    ::sigaction(kTermSignals[i], nullptr, &old);
    // A signal ignored when arenalab started (nohup, a background job of a script) stays
    // ignored, as shells do: whoever started us asked not to be stopped by it.
    if (old.sa_handler == SIG_IGN && !(old.sa_flags & SA_SIGINFO)) continue;
    ::sigaction(kTermSignals[i], &sa, &g_old_actions[i]);
    g_installed[i] = true;
  }
}

TerminationSignals::~TerminationSignals() {
  if (--g_guard_depth > 0) return;
  for (std::size_t i = 0; i < std::size(kTermSignals); ++i)
    if (g_installed[i]) ::sigaction(kTermSignals[i], &g_old_actions[i], nullptr);
}

std::vector<TerminationSignals::Received> TerminationSignals::received() {
  const int n = std::min(g_received_count.load(std::memory_order_acquire), kMaxReceived);
  std::vector<Received> out;
  for (int i = 0; i < n; ++i)
    out.push_back({g_received_sig[i].load(std::memory_order_relaxed),
                   g_received_tty[i].load(std::memory_order_relaxed)});
  return out;
}

int TerminationSignals::first() {
  if (g_received_count.load(std::memory_order_acquire) == 0) return 0;
  return g_received_sig[0].load(std::memory_order_relaxed);
}

bool TerminationSignals::active() { return g_guard_depth > 0; }

std::vector<pid_t> process_children(pid_t pid) { return children_of(pid); }

std::optional<std::string> running_comm(pid_t pid) {
  const int proc = ::open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (proc < 0) return std::nullopt;
  StatFields f;
  const bool ok = read_stat(proc, pid, f);
  ::close(proc);
  if (!ok || f.state == 'Z' || f.state == 'X') return std::nullopt;
  return f.comm;
}

std::vector<std::string> process_command(pid_t pid) {
  std::string text;
  const std::string path = "/proc/" + std::to_string(pid) + "/cmdline";
  if (!read_proc_file(path.c_str(), text)) return {};
  std::vector<std::string> out;
  for (std::size_t at = 0; at < text.size();) {
    const auto end = std::min(text.find('\0', at), text.size());
    out.push_back(text.substr(at, end - at));
    at = end + 1;
  }
  return out;
}

std::vector<pid_t> process_descendants(pid_t pid) {
  auto tree = process_tree(pid);
  tree.erase(tree.begin());
  return tree;
}

DescendantWatch::DescendantWatch() {
  proc_ = ::opendir("/proc");
  // /proc/loadavg's last pid is of our pid namespace; the pids /proc lists are of its mount's.
  // They are one namespace when /proc/self is our pid.
  char self[32] = {};
  const ssize_t n = ::readlink("/proc/self", self, sizeof self - 1);
  same_namespace_ = n > 0 && std::atoi(self) == ::getpid();
  std::string text;
  if (read_proc_file("/proc/sys/kernel/pid_max", text))
    pid_max_ = std::strtoull(text.c_str(), nullptr, 10);
  primed_ = read_counters(cursor_, forks_, entities_);
}

DescendantWatch::~DescendantWatch() {
  if (proc_) ::closedir(proc_);
}

bool DescendantWatch::read_counters(std::uint64_t& cursor, std::uint64_t& forks,
                                    std::uint64_t& entities) {
  // "0.41 0.82 1.20 12/176 16728": the entities that exist and the last pid handed out.
  std::string text;
  unsigned long long c = 0, e = 0;
  if (!read_proc_file("/proc/loadavg", text) ||
      std::sscanf(text.c_str(), "%*s %*s %*s %*u/%llu %llu", &e, &c) != 2)
    return false;
  if (!read_proc_file("/proc/stat", stat_buf_)) return false;
  const auto at = stat_buf_.find("\nprocesses ");
  if (at == std::string::npos) return false;
  forks = std::strtoull(stat_buf_.c_str() + at + 11, nullptr, 10);
  cursor = c;
  entities = e;
  return true;
}

std::vector<DescendantWatch::Process> DescendantWatch::scan(pid_t root) {
  last_reads_ = 0;
  last_full_ = true;
  if (!proc_) return {};
  // Read before the listing: a pid handed out after this is either listed now or new to the
  // next look.
  std::uint64_t cursor = 0, forks = 0, entities = 0;
  const bool counters = read_counters(cursor, forks, entities);
  std::vector<pid_t> listing = list_pids(proc_);

  // Pids are handed out from the one after the last, upwards, wrapping to 300 (1 in a child
  // namespace), skipping those in use. A whole cycle since the last look needs at least
  // pid_max - 300 less the pids in use: each entity holds at most three (its pid, its process
  // group's and its session's), and entities can have grown by one per fork meanwhile.
  bool incremental = primed_ && same_namespace_ && counters && forks >= forks_ && pid_max_ > 300;
  if (incremental) incremental = 4 * (forks - forks_) + 3 * entities_ < pid_max_ - 300;
  std::vector<Process> known;
  StatFields f;
  auto look = [&](pid_t p) {
    ++last_reads_;
    if (read_stat(::dirfd(proc_), p, f)) known.push_back({p, f.ppid, f.comm});
  };
  if (incremental) {
    // (cursor_, cursor], cyclically: the pids handed out since the last look.
    auto handed_out = [&](pid_t p) {
      const auto v = static_cast<std::uint64_t>(p);
      if (cursor_ == cursor) return false;
      if (cursor_ < cursor) return v > cursor_ && v <= cursor;
      return v > cursor_ || v <= cursor;
    };
    // Absent from the last listing: handed out before the last look's counters were read, but
    // not yet in /proc when it listed. Before the first look there is no listing, and none
    // needed: the root and all below it were handed out after the watch was made.
    auto unlisted = [&](pid_t p) {
      return listed_ && !std::binary_search(listing_.begin(), listing_.end(), p);
    };
    for (pid_t p : listing)
      if (std::binary_search(members_.begin(), members_.end(), p) || unlisted(p) || handed_out(p))
        look(p);
  } else {
    for (pid_t p : listing) look(p);
  }
  auto out = tree_below(root, std::move(known));
  last_full_ = !incremental;
  primed_ = counters;
  cursor_ = cursor;
  forks_ = forks;
  entities_ = entities;
  listing_ = std::move(listing);
  listed_ = true;
  members_.clear();
  for (const auto& p : out) members_.push_back(p.pid);
  std::sort(members_.begin(), members_.end());
  return out;
}

int exit_by_signal(int sig) {
  std::fflush(nullptr);
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  ::sigaction(sig, &dfl, nullptr);
  // SIGQUIT's default action dumps core: arenalab's own core file is not what was asked for.
  const rlimit no_core{0, 0};
  ::setrlimit(RLIMIT_CORE, &no_core);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, sig);
  ::sigprocmask(SIG_UNBLOCK, &set, nullptr);
  ::raise(sig);
  return 128 + sig;
}

int parse_signal(const std::string& name) {
  std::string n;
  for (char c : name) n += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (n.rfind("SIG", 0) == 0) n = n.substr(3);
  static const std::pair<const char*, int> kNames[] = {
      {"INT", SIGINT},   {"TERM", SIGTERM}, {"HUP", SIGHUP},   {"QUIT", SIGQUIT},
      {"KILL", SIGKILL}, {"USR1", SIGUSR1}, {"USR2", SIGUSR2},
  };
  for (const auto& [k, v] : kNames)
    if (n == k || n == std::to_string(v)) return v;
  return 0;
}

std::string signal_name(int sig) {
  const char* n = sigabbrev_np(sig);
  return n ? std::string("SIG") + n : "signal " + std::to_string(sig);
}

std::string find_program(const std::string& name) {
  if (name.find('/') != std::string::npos) return name;
  const char* env = std::getenv("PATH");
  const std::string dirs = env != nullptr ? env : "/usr/bin:/bin";
  std::size_t start = 0;
  while (start <= dirs.size()) {
    std::size_t end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    std::string dir = dirs.substr(start, end - start);
    if (dir.empty()) dir = ".";
    const std::string candidate = dir + "/" + name;
    struct stat st {};
    if (::access(candidate.c_str(), X_OK) == 0 && ::stat(candidate.c_str(), &st) == 0 &&
        S_ISREG(st.st_mode))
      return candidate;
    start = end + 1;
  }
  return "";
}

double monotonic_ms() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

int ExitInfo::shell_status() const {
  if (exit_code) return *exit_code;
  if (signal) return 128 + *signal;
  return 1;
}

std::string ExitInfo::describe() const {
  if (exit_code) return "exit " + std::to_string(*exit_code);
  if (signal) {
    const char* name = sigabbrev_np(*signal);
    return std::string("killed by SIG") + (name ? name : std::to_string(*signal).c_str()) +
           (core_dumped ? " (core dumped)" : "");
  }
  return "unknown status";
}

Child::Child(Child&& o) noexcept { *this = std::move(o); }

Child& Child::operator=(Child&& o) noexcept {
  if (this != &o) {
    close_fd(out_fd_);
    close_fd(err_fd_);
    pid_ = std::exchange(o.pid_, -1);
    out_fd_ = std::exchange(o.out_fd_, -1);
    err_fd_ = std::exchange(o.err_fd_, -1);
    limit_ = o.limit_;
    start_ms_ = o.start_ms_;
    before_exec_ = o.before_exec_;
  }
  return *this;
}

Child::~Child() {
  close_fd(out_fd_);
  close_fd(err_fd_);
  // A Child dropped without wait() is killed and reaped, never left as a zombie.
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
  }
}

Result<Child> spawn(const SpawnSpec& spec) {
  if (spec.argv.empty()) return make_error("no command given");

  // Environment of the child: ours, minus unset, plus set (set wins).
  std::map<std::string, std::string> env;
  for (char** e = environ; e && *e; ++e) {
    const char* eq = std::strchr(*e, '=');
    if (eq) env[std::string(*e, static_cast<std::size_t>(eq - *e))] = eq + 1;
  }
  for (const auto& name : spec.unset_env) env.erase(name);
  for (const auto& [k, v] : spec.set_env) env[k] = v;
  std::vector<std::string> env_strings;
  env_strings.reserve(env.size());
  for (const auto& [k, v] : env) env_strings.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> argv_copy = spec.argv;
  std::vector<char*> argv;
  for (auto& a : argv_copy) argv.push_back(a.data());
  argv.push_back(nullptr);

  int err_pipe[2];
  if (::pipe2(err_pipe, O_CLOEXEC) != 0)
    return make_error(std::string("pipe: ") + std::strerror(errno));
  int out_pipe[2] = {-1, -1};
  int errs_pipe[2] = {-1, -1};
  if (spec.capture_stdout && ::pipe2(out_pipe, O_CLOEXEC) != 0)
    return make_error(std::string("pipe: ") + std::strerror(errno));
  if (spec.capture_stderr && ::pipe2(errs_pipe, O_CLOEXEC) != 0)
    return make_error(std::string("pipe: ") + std::strerror(errno));

  const double start = monotonic_ms();
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) return make_error(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    // Child: only async-signal-safe calls from here to exec.
    if (spec.capture_stdout) ::dup2(out_pipe[1], STDOUT_FILENO);
    if (spec.capture_stderr) ::dup2(errs_pipe[1], STDERR_FILENO);
    if (spec.stdin_null) {
      const int devnull = ::open("/dev/null", O_RDONLY);
      if (devnull >= 0) ::dup2(devnull, STDIN_FILENO);
    }
    int err = 0;
    // SIGKILL when arenalab dies. If it died before prctl ran, the child was reparented
    // already and no signal would come: check the parent after setting it.
    if (spec.die_with_parent && (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || ::getppid() != parent))
      ::_exit(127);
    if (!spec.cwd.empty() && ::chdir(spec.cwd.c_str()) != 0) err = errno;
    if (err == 0 && spec.child_setup && !spec.child_setup()) err = -1;
    if (err == 0) {
      ::execvpe(argv[0], argv.data(), envp.data());
      err = errno;
    }
    ssize_t ignored = ::write(err_pipe[1], &err, sizeof err);
    (void)ignored;
    ::_exit(127);
  }
  ::close(err_pipe[1]);
  if (spec.capture_stdout) ::close(out_pipe[1]);
  if (spec.capture_stderr) ::close(errs_pipe[1]);

  Child child;
  child.pid_ = pid;
  child.start_ms_ = start;
  child.limit_ = spec.capture_limit;
  child.out_fd_ = spec.capture_stdout ? out_pipe[0] : -1;
  child.err_fd_ = spec.capture_stderr ? errs_pipe[0] : -1;
  for (int fd : {child.out_fd_, child.err_fd_})
    if (fd >= 0) ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);

  int child_err = 0;
  ssize_t n;
  do {
    n = ::read(err_pipe[0], &child_err, sizeof child_err);
  } while (n < 0 && errno == EINTR);
  ::close(err_pipe[0]);
  // The pipe ended by the child's death, not by exec: it is waited for as any target, and its
  // ExitInfo says the program never ran.
  child.before_exec_ = n == 0 && never_execed(pid);
  if (n == static_cast<ssize_t>(sizeof child_err)) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    child.pid_ = -1;
    if (child_err == -1)
      return make_error("cannot start '" + spec.argv[0] + "': setup in the child failed");
    return make_error("cannot run '" + spec.argv[0] + "': " + std::strerror(child_err));
  }
  return child;
}

Result<ExitInfo> Child::wait(const std::function<void()>& on_tick, int tick_ms) {
  return wait(on_tick, tick_ms, StopPolicy{});
}

Result<ExitInfo> Child::wait(const std::function<void()>& on_tick, int tick_ms,
                             const StopPolicy& stop) {
  if (pid_ <= 0) return make_error("no running child to wait for");
  ExitInfo info;
  double last_tick = monotonic_ms();
  std::size_t signals_seen = 0;
  // A stop signal goes to the child, or to whom stop.signal_targets names.
  auto send = [&](int sig) {
    std::vector<pid_t> to;
    if (stop.signal_targets) to = stop.signal_targets(pid_);
    if (to.empty()) to.push_back(pid_);
    for (pid_t p : to) ::kill(p, sig);
  };
  // Sends the stop requests that are due; returns ms until the next deadline (or tick_ms).
  auto stop_step = [&]() -> double {
    const double now = monotonic_ms() - start_ms_;
    auto stopping = [&](int sig) {
      if (!info.stop.stop_ms) {
        info.stop.stop_ms = now;
        info.stop.sent_signal = sig;
      }
    };
    if (stop.forward_signals) {
      const auto got = TerminationSignals::received();
      for (; signals_seen < got.size(); ++signals_seen) {
        const auto& r = got[signals_seen];
        if (!info.stop.received_signal) info.stop.received_signal = r.signal;
        // The terminal sent it to our whole process group, the target's too (unless the
        // target moved to a group of its own): a second copy would read as "I insist"
        // (redis-server exits at once on a second SIGINT).
        const bool target_has_it = r.from_terminal && ::getpgid(pid_) == ::getpgrp();
        if (!target_has_it) send(r.signal);
        stopping(r.signal);
      }
    }
    if (stop.duration_ms > 0 && !info.stop.stop_ms && now >= stop.duration_ms) {
      send(stop.stop_signal);
      info.stop.duration_reached = true;
      stopping(stop.stop_signal);
    }
    double next = tick_ms;
    if (info.stop.stop_ms && !info.stop.killed_after_grace) {
      const double kill_at = *info.stop.stop_ms + std::max(0.0, stop.grace_ms);
      if (now >= kill_at) {
        // The target and what it started: a wrapper killed here would leave its children.
        for (pid_t p : process_tree(pid_)) ::kill(p, SIGKILL);
        info.stop.killed_after_grace = true;
      } else {
        next = std::min(next, kill_at - now);
      }
    } else if (stop.duration_ms > 0 && !info.stop.stop_ms) {
      next = std::min(next, stop.duration_ms - now);
    }
    return next;
  };
  int status = 0;
  rusage ru{};
  // A pidfd becomes readable when the child exits, so poll wakes at once instead of at the
  // next timeout (wall times stay exact). Kernels before 5.3 lack it: then poll times out.
  // While a stop can come, arenalab adopts what the target leaves behind (a wrapper's children
  // when the wrapper ends on the signal): PR_SET_CHILD_SUBREAPER, so they can be stopped too.
  const bool adopt = stop.forward_signals || stop.duration_ms > 0;
  int was_subreaper = 0;
  if (adopt) {
    ::prctl(PR_GET_CHILD_SUBREAPER, &was_subreaper);
    ::prctl(PR_SET_CHILD_SUBREAPER, 1);
  }
  int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0));
  for (;;) {
    pollfd fds[3];
    nfds_t nfds = 0;
    if (out_fd_ >= 0) fds[nfds++] = {out_fd_, POLLIN, 0};
    if (err_fd_ >= 0) fds[nfds++] = {err_fd_, POLLIN, 0};
    if (pidfd >= 0) fds[nfds++] = {pidfd, POLLIN, 0};
    const double until_stop = stop_step();
    const int timeout = std::max(
        1, std::min({tick_ms, pidfd >= 0 ? tick_ms : 5, static_cast<int>(until_stop) + 1}));
    if (nfds > 0) {
      ::poll(fds, nfds, timeout);
      if (out_fd_ >= 0 && !drain(out_fd_, info.out, limit_)) close_fd(out_fd_);
      if (err_fd_ >= 0 && !drain(err_fd_, info.err, limit_)) close_fd(err_fd_);
    } else {
      ::usleep(static_cast<useconds_t>(timeout) * 1000);
    }
    const pid_t r = ::wait4(pid_, &status, WNOHANG, &ru);
    if (r == pid_) break;
    if (r < 0 && errno != EINTR) {
      if (pidfd >= 0) ::close(pidfd);
      return make_error("wait4(" + std::to_string(pid_) + "): " + std::strerror(errno));
    }
    const double now = monotonic_ms();
    if (on_tick && now - last_tick >= tick_ms) {
      last_tick = now;
      on_tick();
    }
  }
  info.wall_ms = monotonic_ms() - start_ms_;
  info.before_exec = before_exec_;
  if (adopt) {
    // Stopped: the target's descendants it left behind (now ours) get the same stop signal,
    // the rest of the grace period, then SIGKILL; all of them reaped. Not stopped: they are
    // left to run (a daemon the target started on purpose).
    if (info.stop.stop_ms) {
      const pid_t target = pid_;
      auto leftovers = [&] {
        std::vector<pid_t> out;
        for (pid_t c : children_of(::getpid()))
          if (c != target) out.push_back(c);
        return out;
      };
      const int sig = info.stop.sent_signal.value_or(SIGTERM);
      for (pid_t c : leftovers()) ::kill(c, sig);
      const double kill_at = start_ms_ + *info.stop.stop_ms + std::max(0.0, stop.grace_ms);
      for (;;) {
        int st = 0;
        while (::waitpid(-1, &st, WNOHANG) > 0) {
        }
        const auto left = leftovers();
        if (left.empty()) break;
        if (monotonic_ms() >= kill_at) {
          for (pid_t c : left)
            for (pid_t p : process_tree(c)) ::kill(p, SIGKILL);
          for (pid_t c : left) ::waitpid(c, &st, 0);
          break;
        }
        ::usleep(10000);
      }
    }
    ::prctl(PR_SET_CHILD_SUBREAPER, was_subreaper);
  }
  // A signal that came after the last look, as the target ended, still says how the run ended.
  if (stop.forward_signals && !info.stop.received_signal)
    if (const int sig = TerminationSignals::first(); sig != 0) info.stop.received_signal = sig;
  if (pidfd >= 0) ::close(pidfd);
  pid_ = -1;
  // Whatever is still buffered in the pipes (grandchildren may keep them open: do not block).
  if (out_fd_ >= 0) drain(out_fd_, info.out, limit_);
  if (err_fd_ >= 0) drain(err_fd_, info.err, limit_);
  close_fd(out_fd_);
  close_fd(err_fd_);
  if (WIFEXITED(status)) info.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) {
    info.signal = WTERMSIG(status);
    info.core_dumped = WCOREDUMP(status);
  }
  info.user_ms = static_cast<double>(ru.ru_utime.tv_sec) * 1e3 +
                 static_cast<double>(ru.ru_utime.tv_usec) / 1e3;
  info.sys_ms = static_cast<double>(ru.ru_stime.tv_sec) * 1e3 +
                static_cast<double>(ru.ru_stime.tv_usec) / 1e3;
  info.max_rss_bytes = static_cast<std::uint64_t>(ru.ru_maxrss) * 1024;  // ru_maxrss is KiB
  info.minor_faults = ru.ru_minflt;
  info.major_faults = ru.ru_majflt;
  info.voluntary_switches = ru.ru_nvcsw;
  info.involuntary_switches = ru.ru_nivcsw;
  return info;
}

Result<ExitInfo> run_process(const SpawnSpec& spec, const std::function<void()>& on_tick,
                             int tick_ms) {
  auto child = spawn(spec);
  if (!child) return child.error();
  return child->wait(on_tick, tick_ms);
}

}  // namespace arenalab
