// SPDX-License-Identifier: Apache-2.0
// Memory cgroups for `arenalab budget`: where this process's own cgroup lives (cgroup v2 or the
// v1 memory hierarchy), and a child group arenalab creates under it, limits, fills, reads and
// removes. Nothing here writes to a cgroup arenalab did not create (see kernel
// Documentation/admin-guide/cgroup-v1/memory.rst and cgroup-v2.rst for the files used).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "arenalab/core/result.h"

namespace arenalab::budget {

enum class CgroupVersion { kV1, kV2 };
const char* version_name(CgroupVersion v);  // "v1", "v2"

// Where this process's own cgroups are, in the file system (pure: from the text of
// /proc/self/cgroup and /proc/self/mountinfo, so tests feed sample contents).
struct OwnCgroups {
  std::optional<std::string> v2_dir;         // own group in the mounted v2 hierarchy
  std::optional<std::string> v1_memory_dir;  // own group in the mounted v1 memory hierarchy
  std::vector<std::string> notes;            // why a hierarchy was not usable (for messages)
};
// Errors: malformed lines (naming the line). A hierarchy that is not mounted, or whose mount
// does not contain our path (another cgroup namespace), is absent with a note, not an error.
Result<OwnCgroups> locate_own_cgroups(std::string_view proc_self_cgroup,
                                      std::string_view proc_self_mountinfo);

// The memory cgroup arenalab works under: its own group, and which interface it uses.
struct MemoryParent {
  CgroupVersion version = CgroupVersion::kV1;
  std::string dir;  // own cgroup directory (never written to; children are created in it)
};
// The rule: v2 where our v2 group's children get the memory controller (cgroup.subtree_control
// lists "memory"), else the v1 memory hierarchy. `read` reads a file (injected for tests;
// empty optional when unreadable). Errors say why neither is usable.
using FileReader = std::function<std::optional<std::string>(const std::string& path)>;
Result<MemoryParent> choose_memory_parent(const OwnCgroups& own, FileReader read);

// Both steps on the live /proc/self files.
Result<MemoryParent> discover_memory_parent();

// Decodes the octal escapes (\040 space, \011 tab, \012 newline, \134 backslash) of mountinfo.
std::string unescape_mount_path(std::string_view s);

// The figures read from a group. Absent when the kernel does not provide the file.
struct GroupUsage {
  std::optional<std::uint64_t> current;   // memory.current | memory.usage_in_bytes, bytes
  std::optional<std::uint64_t> peak;      // memory.peak | memory.max_usage_in_bytes, bytes
  std::optional<std::uint64_t> oom_kill;  // memory.events | memory.oom_control "oom_kill"
  std::optional<std::uint64_t> oom;       // v2 memory.events "oom" (limit hit, reclaim failed)
  std::optional<std::uint64_t> failcnt;   // v1 memory.failcnt (times the limit was hit)
};

// A child memory cgroup created by arenalab under its own group. Move-only; the destructor
// removes it (killing what is left inside: only processes arenalab put there).
class Group {
 public:
  // Creates <parent.dir>/<name> (fails if it exists: never adopt a group) and sets the limit
  // (bytes) with swap disabled for the group: v2 memory.max + memory.swap.max 0; v1
  // memory.limit_in_bytes, memory.memsw.limit_in_bytes (when present) and memory.swappiness 0.
  // On any failure the directory is removed again. `warnings` collects settings that could
  // not be applied but do not invalidate the limit.
  static Result<Group> create(const MemoryParent& parent, const std::string& name,
                              std::uint64_t limit_bytes, std::vector<std::string>* warnings);

  Group() = default;
  Group(Group&& o) noexcept;
  Group& operator=(Group&& o) noexcept;
  Group(const Group&) = delete;
  Group& operator=(const Group&) = delete;
  ~Group();

  const std::string& dir() const { return dir_; }
  CgroupVersion version() const { return version_; }
  std::uint64_t limit() const { return limit_; }
  // The limit as the kernel stored it (it rounds down to pages).
  std::optional<std::uint64_t> effective_limit() const;

  // Moves the calling process into the group. Async-signal-safe (open, write, close only):
  // meant for SpawnSpec::child_setup between fork and exec. False on failure.
  bool attach_self() const noexcept;
  // Moves `pid` into the group (from the parent side).
  Status attach(pid_t pid) const;
  // The pids inside (cgroup.procs).
  std::vector<pid_t> pids() const;

  GroupUsage read_usage() const;

  // Kills every process still inside (SIGKILL), waits up to `timeout_ms` for the group to
  // empty and removes it. Idempotent. Errors name the directory.
  Status remove(int timeout_ms = 3000);

 private:
  std::string dir_;
  std::string procs_path_;  // cgroup.procs, precomputed so attach_self needs no allocation
  CgroupVersion version_ = CgroupVersion::kV1;
  std::uint64_t limit_ = 0;
};

// The kernel log lines (klogctl ring buffer, what dmesg shows) that mention an OOM kill of
// `pid`: "Memory cgroup out of memory: Killed process <pid> (...) ... anon-rss:...". Errors
// when the log cannot be read (no CAP_SYSLOG and dmesg_restrict).
Result<std::vector<std::string>> kernel_oom_lines(pid_t pid);

}  // namespace arenalab::budget
