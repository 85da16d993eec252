// SPDX-License-Identifier: Apache-2.0
// Finding the target of an attach: does the pid exist, may we read its memory figures, which
// memory cgroup holds it. Reads /proc only (proc(5)); never signals the target.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <sstream>

#include "arenalab/attach/attach.h"
#include "attach_internal.h"

namespace arenalab::attach {
namespace detail {

Read read_at(int dir_fd, const char* name) {
  Read r;
  const int fd = ::openat(dir_fd, name, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    r.err = errno;
    return r;
  }
  char buf[8192];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) {
      r.text.append(buf, static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0) {
      if (errno == EINTR) continue;
      r.err = errno;
    }
    break;
  }
  ::close(fd);
  r.ok = r.err == 0;
  return r;
}

Read read_path(const std::string& path) { return read_at(AT_FDCWD, path.c_str()); }

std::map<std::string, std::uint64_t> kb_fields(const std::string& text) {
  std::map<std::string, std::uint64_t> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    const char* p = line.c_str() + colon + 1;
    char* end = nullptr;
    errno = 0;
    const unsigned long long v = std::strtoull(p, &end, 10);
    if (end == p || errno != 0) continue;
    out[line.substr(0, colon)] = std::strstr(end, "kB") ? v * 1024ULL : v;
  }
  return out;
}

std::map<std::string, std::uint64_t> space_fields(const std::string& text) {
  std::map<std::string, std::uint64_t> out;
  std::istringstream in(text);
  std::string key;
  unsigned long long v = 0;
  while (in >> key >> v) out[key] = v;
  return out;
}

std::optional<StatLine> parse_stat(const std::string& text) {
  // "pid (comm) state ppid ...": comm may hold spaces and parentheses; it ends at the last ')'.
  const auto close = text.rfind(')');
  if (close == std::string::npos || close + 2 >= text.size()) return std::nullopt;
  StatLine s;
  s.state = text[close + 2];
  std::istringstream in(text.substr(close + 2));
  std::string field;
  // Fields after comm start at 3 (state); starttime is field 22.
  for (int i = 3; i <= 22 && in >> field; ++i) {
    if (i == 9) s.flags = std::strtoull(field.c_str(), nullptr, 10);
    if (i == 22) s.start_ticks = std::strtoull(field.c_str(), nullptr, 10);
  }
  if (s.start_ticks == 0) return std::nullopt;
  return s;
}

double boottime_s() {
  timespec ts{};
  ::clock_gettime(CLOCK_BOOTTIME, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

double ticks_per_s() {
  static const double hz = static_cast<double>(::sysconf(_SC_CLK_TCK));
  return hz;
}

}  // namespace detail

using namespace detail;

std::optional<CgroupDir> locate_cgroup(const std::string& proc_pid_cgroup,
                                       const std::string& self_mountinfo,
                                       const std::function<bool(const std::string&)>& exists) {
  // mountinfo (proc(5)): "id parent maj:min root mountpoint opts [tags] - fstype source super".
  struct Mount {
    std::string root, point;
  };
  std::optional<Mount> v2, v1_memory;
  std::istringstream mi(self_mountinfo);
  std::string line;
  while (std::getline(mi, line)) {
    const auto dash = line.find(" - ");
    if (dash == std::string::npos) continue;
    std::istringstream head(line.substr(0, dash)), tail(line.substr(dash + 3));
    std::string id, parent, dev, root, point, fstype, source, super;
    head >> id >> parent >> dev >> root >> point;
    tail >> fstype >> source >> super;
    if (fstype == "cgroup2" && !v2) v2 = Mount{root, point};
    if (fstype == "cgroup" && !v1_memory &&
        ("," + super + ",").find(",memory,") != std::string::npos)
      v1_memory = Mount{root, point};
  }
  // The group's path inside the hierarchy, under the mount that shows it.
  auto join = [](const Mount& m, const std::string& path) -> std::optional<std::string> {
    if (m.root == "/") return path == "/" ? m.point : m.point + path;
    if (path.rfind(m.root, 0) != 0) return std::nullopt;  // mounted from below the group
    return m.point + path.substr(m.root.size());
  };
  std::optional<CgroupDir> v1_dir;
  std::istringstream cg(proc_pid_cgroup);
  while (std::getline(cg, line)) {
    // "hierarchy-id:controllers:path" (cgroups(7)); v2 is "0::path".
    const auto a = line.find(':');
    const auto b = a == std::string::npos ? a : line.find(':', a + 1);
    if (b == std::string::npos) continue;
    const std::string ctrl = line.substr(a + 1, b - a - 1), path = line.substr(b + 1);
    if (line.compare(0, a, "0") == 0 && ctrl.empty() && v2) {
      if (auto d = join(*v2, path); d && exists(*d + "/memory.current")) return CgroupDir{*d, "v2"};
    } else if (v1_memory && ("," + ctrl + ",").find(",memory,") != std::string::npos) {
      if (auto d = join(*v1_memory, path); d && exists(*d + "/memory.usage_in_bytes"))
        v1_dir = CgroupDir{*d, "v1"};
    }
  }
  return v1_dir;
}

Result<Target> inspect(pid_t pid) {
  const std::string who = "pid " + std::to_string(pid);
  if (pid <= 0) return make_error(who + " is not a process id (expected a positive number)");
  const std::string dir = "/proc/" + std::to_string(pid);
  const Read stat = read_path(dir + "/stat");
  if (!stat.ok) {
    if (stat.err == ENOENT || stat.err == ESRCH)
      return make_error(who + " does not exist (no " + dir + ")");
    return make_error(who + ": cannot read " + dir + "/stat: " + std::strerror(stat.err));
  }
  const auto st = parse_stat(stat.text);
  if (!st) return make_error(who + ": " + dir + "/stat is not in the expected format");
  if (st->state == 'Z' || st->state == 'X')
    return make_error(who + " has exited (a zombie its parent has not reaped)");
  // A kernel thread has no user memory (its smaps_rollup answers ESRCH, which would read as
  // "exited"): told by its flags, before any of its files is read.
  if ((st->flags & kPfKthread) != 0) {
    std::string comm;
    if (const Read c = read_path(dir + "/comm"); c.ok) comm = c.text.substr(0, c.text.find('\n'));
    return make_error(who + (comm.empty() ? "" : " (" + comm + ")") +
                      " is a kernel thread: it has no user memory to watch");
  }
  // The target is a process, and not this one. /proc/TID answers for any thread though only
  // process ids are listed, so a thread's id read as a process of its own; and arenalab itself
  // (its pid, `exec arenalab watch --pid $$`, or one of its threads) cannot ptrace itself
  // (PTRACE_SEIZE answers EPERM, which read as "not ours to trace") and at level rss would
  // watch the watcher.
  if (const Read status = read_path(dir + "/status"); status.ok) {
    const auto f = kb_fields(status.text);
    if (const auto tg = f.find("Tgid"); tg != f.end()) {
      const auto tgid = static_cast<pid_t>(tg->second);
      if (tgid == ::getpid())
        return make_error(who + " is this arenalab itself: give the pid of the process to watch");
      if (tgid != pid)
        return make_error(who + " is a thread of process " + std::to_string(tgid) +
                          ": give the process id (--pid " + std::to_string(tgid) + ")");
    }
  }
  Target t;
  t.pid = pid;
  t.start_ticks = st->start_ticks;
  t.started_s_ago = boottime_s() - static_cast<double>(st->start_ticks) / ticks_per_s();
  if (const Read c = read_path(dir + "/comm"); c.ok) t.comm = c.text.substr(0, c.text.find('\n'));
  if (const Read c = read_path(dir + "/cmdline"); c.ok) {
    std::string arg;
    for (char ch : c.text) {
      if (ch == '\0') {
        t.command.push_back(arg);
        arg.clear();
      } else {
        arg += ch;
      }
    }
    if (!arg.empty()) t.command.push_back(arg);
    // A program that rewrote its title (redis-server's "redis-server 127.0.0.1:6379",
    // setproctitle) leaves the rest of its old argv area as NULs: dozens of empty "arguments".
    // Dropped from the end (an empty last argument of a program that did not is lost with them).
    while (!t.command.empty() && t.command.back().empty()) t.command.pop_back();
  }
  const Read status = read_path(dir + "/status");
  if (!status.ok)
    return make_error(who + ": cannot read " + dir + "/status: " + std::strerror(status.err));
  const auto uid_at = status.text.find("\nUid:");
  if (uid_at != std::string::npos)
    t.uid = static_cast<uid_t>(std::strtoul(status.text.c_str() + uid_at + 5, nullptr, 10));
  const std::string name = t.comm.empty() ? who : who + " (" + t.comm + ")";
  // smaps_rollup needs PTRACE_MODE_READ (proc(5)): the same user, or CAP_SYS_PTRACE.
  const Read rollup = read_path(dir + "/smaps_rollup");
  if (!rollup.ok) {
    if (rollup.err == EACCES || rollup.err == EPERM)
      return make_error(name + ", uid " + std::to_string(t.uid) + ", is not ours to read: " + dir +
                        "/smaps_rollup needs its user or CAP_SYS_PTRACE (we are uid " +
                        std::to_string(::getuid()) + ")");
    if (rollup.err == ENOENT || rollup.err == ESRCH)
      return make_error(who + " exited while being looked at");
    return make_error(name + ": cannot read " + dir +
                      "/smaps_rollup: " + std::strerror(rollup.err));
  }
  if (rollup.text.empty() || status.text.find("\nVmRSS:") == std::string::npos)
    return make_error(name + " has no user memory to watch (a kernel thread?)");
  char exe[4096];
  const ssize_t n = ::readlink((dir + "/exe").c_str(), exe, sizeof exe - 1);
  if (n > 0) t.exe.assign(exe, static_cast<std::size_t>(n));
  const Read cg = read_path(dir + "/cgroup");
  const Read mi = read_path("/proc/self/mountinfo");
  if (cg.ok && mi.ok) {
    auto d = locate_cgroup(cg.text, mi.text, [](const std::string& p) {
      struct stat sb {};
      return ::stat(p.c_str(), &sb) == 0;
    });
    if (d) {
      t.cgroup = d->dir;
      t.cgroup_version = d->version;
    } else {
      t.cgroup_note = "no memory cgroup of the target is mounted here (or it is the root group)";
    }
  } else {
    t.cgroup_note = "cannot read " + dir + "/cgroup or /proc/self/mountinfo";
  }
  return t;
}

}  // namespace arenalab::attach
