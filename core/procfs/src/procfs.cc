// SPDX-License-Identifier: Apache-2.0
// procfs parsing. Files are read whole (they are small, and the kernel produces them in one
// go); fields are "Name:   value kB" lines.
#include "arenalab/procfs/procfs.h"

#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

namespace arenalab::procfs {
namespace {

std::string proc_path(pid_t pid, const char* file) {
  return pid == 0 ? std::string("/proc/self/") + file : "/proc/" + std::to_string(pid) + "/" + file;
}

std::string who(pid_t pid) { return pid == 0 ? "self" : "pid " + std::to_string(pid); }

Result<std::string> slurp(pid_t pid, const char* file) {
  const std::string path = proc_path(pid, file);
  std::ifstream in(path);
  if (!in) {
    const int err = errno;
    if (err == ENOENT || err == ESRCH)
      return make_error(who(pid) + ": " + path + " not found (process gone?)");
    return make_error(who(pid) + ": cannot read " + path + ": " + std::strerror(err));
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  if (ss.str().empty() && pid != 0)
    return make_error(who(pid) + ": " + path + " is empty (process exiting?)");
  return ss.str();
}

// "Name:   1234 kB" -> (Name, bytes). Lines without a kB unit are returned as plain numbers.
bool parse_field(const std::string& line, std::string* name, std::uint64_t* value, bool* in_kb) {
  const auto colon = line.find(':');
  if (colon == std::string::npos) return false;
  *name = line.substr(0, colon);
  const char* p = line.c_str() + colon + 1;
  char* end = nullptr;
  errno = 0;
  const unsigned long long v = std::strtoull(p, &end, 10);
  if (end == p || errno != 0) return false;
  *in_kb = std::strstr(end, "kB") != nullptr;
  *value = *in_kb ? v * 1024ULL : v;
  return true;
}

}  // namespace

Result<Status> read_status(pid_t pid) {
  auto text = slurp(pid, "status");
  if (!text) return text.error();
  Status s;
  bool have_rss = false;
  std::istringstream in(*text);
  std::string line, name;
  std::uint64_t v = 0;
  bool kb = false;
  while (std::getline(in, line)) {
    if (!parse_field(line, &name, &v, &kb)) continue;
    if (name == "VmRSS") {
      s.vm_rss = v;
      have_rss = true;
    } else if (name == "VmHWM") {
      s.vm_hwm = v;
    } else if (name == "VmSize") {
      s.vm_size = v;
    } else if (name == "RssAnon") {
      s.rss_anon = v;
    } else if (name == "RssFile") {
      s.rss_file = v;
    } else if (name == "RssShmem") {
      s.rss_shmem = v;
    } else if (name == "Threads") {
      s.threads = static_cast<int>(v);
    }
  }
  if (!have_rss)
    return make_error(who(pid) + ": " + proc_path(pid, "status") + " has no VmRSS line (zombie?)");
  return s;
}

Result<SmapsRollup> read_smaps_rollup(pid_t pid) {
  auto text = slurp(pid, "smaps_rollup");
  if (!text) return text.error();
  SmapsRollup r;
  std::istringstream in(*text);
  std::string line, name;
  std::uint64_t v = 0;
  bool kb = false;
  while (std::getline(in, line))
    if (parse_field(line, &name, &v, &kb) && kb) r.fields[name] = v;
  if (r.fields.find("Rss") == r.fields.end())
    return make_error(who(pid) + ": " + proc_path(pid, "smaps_rollup") + " has no Rss field");
  return r;
}

Result<Mapping> mapping_containing(std::uintptr_t address, pid_t pid) {
  auto text = slurp(pid, "smaps");
  if (!text) return text.error();
  std::istringstream in(*text);
  std::string line, name;
  bool inside = false;
  Mapping m;
  std::uint64_t v = 0;
  bool kb = false;
  while (std::getline(in, line)) {
    unsigned long long lo = 0, hi = 0;
    // A header line: "start-end perms offset dev inode [path]".
    if (std::sscanf(line.c_str(), "%llx-%llx ", &lo, &hi) == 2 && line.find(':') > line.find(' ')) {
      if (inside) break;
      if (address >= lo && address < hi) {
        inside = true;
        m.start = lo;
        m.end = hi;
        // The path is the sixth field, if any.
        std::istringstream hs(line);
        std::string f;
        for (int i = 0; i < 5 && hs >> f; ++i) {
        }
        std::getline(hs, m.path);
        const auto first = m.path.find_first_not_of(' ');
        m.path = first == std::string::npos ? "" : m.path.substr(first);
      }
      continue;
    }
    if (!inside || !parse_field(line, &name, &v, &kb)) continue;
    if (name == "Rss") m.rss = v;
    if (name == "Anonymous") m.anonymous = v;
  }
  if (!inside) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(address));
    return make_error(who(pid) + ": no mapping contains " + buf + " in " + proc_path(pid, "smaps"));
  }
  return m;
}

Result<Io> read_io(pid_t pid) {
  auto text = slurp(pid, "io");
  if (!text) return text.error();
  Io io;
  std::istringstream in(*text);
  std::string line, name;
  std::uint64_t v = 0;
  bool kb = false;
  bool any = false;
  while (std::getline(in, line)) {
    if (!parse_field(line, &name, &v, &kb)) continue;
    any = true;
    if (name == "rchar")
      io.rchar = v;
    else if (name == "wchar")
      io.wchar = v;
    else if (name == "syscr")
      io.syscr = v;
    else if (name == "syscw")
      io.syscw = v;
    else if (name == "read_bytes")
      io.read_bytes = v;
    else if (name == "write_bytes")
      io.write_bytes = v;
  }
  if (!any) return make_error(who(pid) + ": " + proc_path(pid, "io") + " has no counters");
  return io;
}

ChildrenUsage children_usage() {
  rusage ru{};
  getrusage(RUSAGE_CHILDREN, &ru);
  ChildrenUsage u;
  u.user_ms = static_cast<double>(ru.ru_utime.tv_sec) * 1e3 +
              static_cast<double>(ru.ru_utime.tv_usec) / 1e3;
  u.sys_ms = static_cast<double>(ru.ru_stime.tv_sec) * 1e3 +
             static_cast<double>(ru.ru_stime.tv_usec) / 1e3;
  u.max_rss_bytes = static_cast<std::uint64_t>(ru.ru_maxrss) * 1024;
  u.minor_faults = ru.ru_minflt;
  u.major_faults = ru.ru_majflt;
  return u;
}

Result<std::uint64_t> mem_total() {
  std::ifstream in("/proc/meminfo");
  std::string line, name;
  std::uint64_t v = 0;
  bool kb = false;
  while (std::getline(in, line))
    if (parse_field(line, &name, &v, &kb) && name == "MemTotal") return v;
  return make_error("/proc/meminfo: no MemTotal line");
}

std::uint64_t page_size() { return static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE)); }

}  // namespace arenalab::procfs
