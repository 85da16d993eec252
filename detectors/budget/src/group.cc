// SPDX-License-Identifier: Apache-2.0
// A memory cgroup arenalab creates, limits, fills, reads and removes. File names and semantics:
// kernel Documentation/admin-guide/cgroup-v2.rst ("Memory") and cgroup-v1/memory.rst.
#include <fcntl.h>
#include <sys/klog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <sstream>
#include <thread>

#include "arenalab/budget/cgroup.h"
#include "arenalab/core/files.h"
#include "arenalab/core/process.h"

namespace arenalab::budget {
namespace {

bool exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

// cgroup files take one write(2) of the whole value; an ofstream could split or buffer it and
// report the kernel's EINVAL/EBUSY late, so write directly.
Status write_value(const std::string& path, const std::string& value) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return make_error("cannot open " + path + ": " + std::strerror(errno));
  const ssize_t n = ::write(fd, value.data(), value.size());
  const int err = errno;
  ::close(fd);
  if (n != static_cast<ssize_t>(value.size()))
    return make_error("cannot write '" + value + "' to " + path + ": " + std::strerror(err));
  return Ok{};
}

std::optional<std::uint64_t> read_number(const std::string& path) {
  auto text = read_file(path);
  if (!text) return std::nullopt;
  std::istringstream in(*text);
  std::string w;
  if (!(in >> w)) return std::nullopt;
  if (w == "max") return std::numeric_limits<std::uint64_t>::max();
  try {
    return std::stoull(w);
  } catch (...) {
    return std::nullopt;
  }
}

// "key value" lines (memory.events, memory.oom_control): the value of `key`.
std::optional<std::uint64_t> read_keyed(const std::string& path, const std::string& key) {
  auto text = read_file(path);
  if (!text) return std::nullopt;
  std::istringstream in(*text);
  std::string k;
  std::uint64_t v = 0;
  while (in >> k >> v)
    if (k == key) return v;
  return std::nullopt;
}

}  // namespace

Result<Group> Group::create(const MemoryParent& parent, const std::string& name,
                            std::uint64_t limit_bytes, std::vector<std::string>* warnings) {
  if (name.empty() || name.find('/') != std::string::npos || name == "." || name == "..")
    return make_error("invalid cgroup name '" + name + "'");
  Group g;
  const std::string dir = parent.dir + "/" + name;
  if (::mkdir(dir.c_str(), 0755) != 0) {
    const int err = errno;
    if (err == EEXIST)
      return make_error("cgroup " + dir +
                        " already exists; arenalab never adopts a group it did not create");
    return make_error("cannot create cgroup " + dir + ": " + std::strerror(err) +
                      (err == EACCES || err == EPERM || err == EROFS
                           ? " (needs root or a delegated cgroup)"
                           : ""));
  }
  // From here on the destructor removes the directory on any failure.
  g.dir_ = dir;
  g.procs_path_ = dir + "/cgroup.procs";
  g.version_ = parent.version;
  g.limit_ = limit_bytes;
  const std::string limit = std::to_string(limit_bytes);
  auto warn = [&](const Status& s) {
    if (!s && warnings) warnings->push_back(s.error().message);
  };
  if (parent.version == CgroupVersion::kV2) {
    if (!exists(dir + "/memory.max"))
      return make_error("cgroup " + dir +
                        " has no memory.max: the memory controller is not "
                        "enabled for it");
    if (auto s = write_value(dir + "/memory.max", limit); !s) return s.error();
    // No swap for the group (the machine may have none anyway; then the file still exists).
    if (exists(dir + "/memory.swap.max")) warn(write_value(dir + "/memory.swap.max", "0"));
    // The whole group goes when the kernel OOM-kills in it, like a container.
    if (exists(dir + "/memory.oom.group")) warn(write_value(dir + "/memory.oom.group", "1"));
  } else {
    if (auto s = write_value(dir + "/memory.limit_in_bytes", limit); !s) return s.error();
    // memsw = memory + swap; equal to the memory limit means no swap. It must be set after
    // the memory limit (the kernel requires memsw >= memory). Present only with swap accounting.
    if (exists(dir + "/memory.memsw.limit_in_bytes")) {
      if (auto s = write_value(dir + "/memory.memsw.limit_in_bytes", limit); !s) return s.error();
    }
    warn(write_value(dir + "/memory.swappiness", "0"));
  }
  return g;
}

Group::Group(Group&& o) noexcept { *this = std::move(o); }

Group& Group::operator=(Group&& o) noexcept {
  if (this != &o) {
    (void)remove();
    dir_ = std::exchange(o.dir_, std::string());
    procs_path_ = std::exchange(o.procs_path_, std::string());
    version_ = o.version_;
    limit_ = o.limit_;
  }
  return *this;
}

Group::~Group() {
  if (auto s = remove(); !s) {
    // A destructor cannot return it; the caller's explicit remove() is where it is reported.
    const std::string line = "arenalab budget: " + s.error().message + "\n";
    ssize_t ignored = ::write(STDERR_FILENO, line.data(), line.size());
    (void)ignored;
  }
}

std::optional<std::uint64_t> Group::effective_limit() const {
  return read_number(dir_ +
                     (version_ == CgroupVersion::kV2 ? "/memory.max" : "/memory.limit_in_bytes"));
}

bool Group::attach_self() const noexcept {
  // Async-signal-safe: no allocation; procs_path_ was built before fork.
  const int fd = ::open(procs_path_.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char buf[24];
  char* end = buf + sizeof buf;
  char* p = end;
  // pid 0 means "the writing process" in cgroup.procs, but an explicit pid is clearer in traces.
  long pid = static_cast<long>(::getpid());
  do {
    *--p = static_cast<char>('0' + pid % 10);
    pid /= 10;
  } while (pid > 0);
  const ssize_t n = ::write(fd, p, static_cast<std::size_t>(end - p));
  ::close(fd);
  return n == end - p;
}

Status Group::attach(pid_t pid) const { return write_value(procs_path_, std::to_string(pid)); }

std::vector<pid_t> Group::pids() const {
  std::vector<pid_t> out;
  auto text = read_file(procs_path_);
  if (!text) return out;
  std::istringstream in(*text);
  for (long p; in >> p;) out.push_back(static_cast<pid_t>(p));
  return out;
}

GroupUsage Group::read_usage() const {
  GroupUsage u;
  if (dir_.empty()) return u;
  if (version_ == CgroupVersion::kV2) {
    u.current = read_number(dir_ + "/memory.current");
    u.peak = read_number(dir_ + "/memory.peak");  // Linux >= 5.19
    u.oom = read_keyed(dir_ + "/memory.events", "oom");
    u.oom_kill = read_keyed(dir_ + "/memory.events", "oom_kill");
  } else {
    u.current = read_number(dir_ + "/memory.usage_in_bytes");
    u.peak = read_number(dir_ + "/memory.max_usage_in_bytes");
    u.oom_kill = read_keyed(dir_ + "/memory.oom_control", "oom_kill");  // Linux >= 4.13
    u.failcnt = read_number(dir_ + "/memory.failcnt");
  }
  return u;
}

Status Group::remove(int timeout_ms) {
  if (dir_.empty()) return Ok{};
  const double deadline = monotonic_ms() + timeout_ms;
  for (;;) {
    // Only processes inside our own group: the target and whatever it started.
    if (version_ == CgroupVersion::kV2 && exists(dir_ + "/cgroup.kill"))
      (void)write_value(dir_ + "/cgroup.kill", "1");
    for (pid_t p : pids()) ::kill(p, SIGKILL);
    if (::rmdir(dir_.c_str()) == 0 || errno == ENOENT) {
      dir_.clear();
      return Ok{};
    }
    const int err = errno;
    if (err != EBUSY || monotonic_ms() > deadline)
      return make_error("cannot remove cgroup " + dir_ + ": " + std::strerror(err));
    // Killed processes leave the group once the kernel has torn them down (and their
    // parent, possibly us, has reaped them).
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

Result<std::vector<std::string>> kernel_oom_lines(pid_t pid) {
  const int size = ::klogctl(10 /* SYSLOG_ACTION_SIZE_BUFFER */, nullptr, 0);
  if (size <= 0)
    return make_error(std::string("cannot read the kernel log (klogctl): ") + std::strerror(errno));
  std::string buf(static_cast<std::size_t>(size), '\0');
  const int n = ::klogctl(3 /* SYSLOG_ACTION_READ_ALL */, buf.data(), size);
  if (n < 0)
    return make_error(std::string("cannot read the kernel log (klogctl): ") + std::strerror(errno));
  buf.resize(static_cast<std::size_t>(n));
  // The OOM killer logs "oom-kill:...,pid=<pid>,..." and "Killed process <pid> (comm) ...
  // anon-rss:..kB" (mm/oom_kill.c).
  const std::string killed = "Killed process " + std::to_string(pid) + " (";
  const std::string field = ",pid=" + std::to_string(pid) + ",";
  std::vector<std::string> out;
  std::istringstream in(buf);
  for (std::string line; std::getline(in, line);) {
    if (line.find(killed) == std::string::npos && line.find(field) == std::string::npos) continue;
    if (line.size() > 2 && line[0] == '<') line.erase(0, line.find('>') + 1);  // "<3>" level
    out.push_back(line);
  }
  return out;
}

}  // namespace arenalab::budget
