// SPDX-License-Identifier: Apache-2.0
// fork/exec with a close-on-exec error pipe (so "no such program" is reported by the parent),
// captured streams read with poll, and wait4 for the target's own rusage.
#include "arenalab/core/process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>

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

}  // namespace

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
  if (pid_ <= 0) return make_error("no running child to wait for");
  ExitInfo info;
  double last_tick = monotonic_ms();
  int status = 0;
  rusage ru{};
  // A pidfd becomes readable when the child exits, so poll wakes at once instead of at the
  // next timeout (wall times stay exact). Kernels before 5.3 lack it: then poll times out.
  int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0));
  for (;;) {
    pollfd fds[3];
    nfds_t nfds = 0;
    if (out_fd_ >= 0) fds[nfds++] = {out_fd_, POLLIN, 0};
    if (err_fd_ >= 0) fds[nfds++] = {err_fd_, POLLIN, 0};
    if (pidfd >= 0) fds[nfds++] = {pidfd, POLLIN, 0};
    const int timeout = std::max(1, std::min(tick_ms, pidfd >= 0 ? tick_ms : 5));
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
