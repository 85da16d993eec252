// SPDX-License-Identifier: Apache-2.0
// Readers for /proc/PID/{status,smaps_rollup,smaps,io} (proc(5)). pid 0 means the calling
// process. A vanished or unreadable pid is an error value naming the pid and the file.
// Sizes are bytes (the kernel reports kB = KiB; converted here).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "arenalab/core/result.h"

namespace arenalab::procfs {

struct Status {
  std::uint64_t vm_rss = 0;                // VmRSS
  std::uint64_t vm_hwm = 0;                // VmHWM: peak RSS
  std::optional<std::uint64_t> vm_size;    // VmSize: every mapping, resident or not
  std::optional<std::uint64_t> rss_anon;   // RssAnon
  std::optional<std::uint64_t> rss_file;   // RssFile
  std::optional<std::uint64_t> rss_shmem;  // RssShmem
  int threads = 0;
};
Result<Status> read_status(pid_t pid = 0);

// Every "Name: N kB" field of smaps_rollup, in bytes, keyed by the kernel's name
// ("Rss", "Pss", "Anonymous", "Private_Dirty", "Swap", ...).
struct SmapsRollup {
  std::map<std::string, std::uint64_t> fields;
  std::uint64_t rss() const { return get("Rss"); }
  std::uint64_t anonymous() const { return get("Anonymous"); }
  std::uint64_t private_dirty() const { return get("Private_Dirty"); }
  std::uint64_t get(const std::string& name) const {
    auto it = fields.find(name);
    return it == fields.end() ? 0 : it->second;
  }
};
Result<SmapsRollup> read_smaps_rollup(pid_t pid = 0);

// The mapping that contains `address` in /proc/PID/smaps: its range and Rss.
struct Mapping {
  std::uintptr_t start = 0;
  std::uintptr_t end = 0;
  std::uint64_t rss = 0;
  std::uint64_t anonymous = 0;
  std::string path;  // backing file, "[heap]", "" for anonymous
};
Result<Mapping> mapping_containing(std::uintptr_t address, pid_t pid = 0);

// /proc/PID/io: characters and syscalls (rchar, wchar, syscr, syscw, read_bytes, write_bytes).
struct Io {
  std::uint64_t rchar = 0, wchar = 0, syscr = 0, syscw = 0, read_bytes = 0, write_bytes = 0;
};
Result<Io> read_io(pid_t pid = 0);

// getrusage(RUSAGE_CHILDREN): the waited-for children of the calling process.
struct ChildrenUsage {
  double user_ms = 0, sys_ms = 0;
  std::uint64_t max_rss_bytes = 0;
  long minor_faults = 0, major_faults = 0;
};
ChildrenUsage children_usage();

// MemTotal from /proc/meminfo, bytes.
Result<std::uint64_t> mem_total();

// System page size.
std::uint64_t page_size();

}  // namespace arenalab::procfs
