// SPDX-License-Identifier: Apache-2.0
// Private helpers of detectors/attach: raw /proc reads that keep errno (a vanished pid and a
// refused one must be told apart), and the field parsers both source files use.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

namespace arenalab::attach::detail {

struct Read {
  bool ok = false;
  int err = 0;  // errno of the failed open/read
  std::string text;
};
// Reads a whole file relative to a directory fd (AT_FDCWD: an absolute path). Through an fd
// of /proc/PID, reads fail with ESRCH once that process is gone, even if the pid is reused.
Read read_at(int dir_fd, const char* name);
Read read_path(const std::string& path);

// "Name:   1234 kB" lines -> bytes (kB = KiB); lines without a unit as plain numbers.
std::map<std::string, std::uint64_t> kb_fields(const std::string& text);
// "name 1234" lines (cgroup memory.stat) -> values.
std::map<std::string, std::uint64_t> space_fields(const std::string& text);

struct StatLine {
  char state = '?';
  std::uint64_t flags = 0;  // the kernel's PF_* flags (field 9)
  std::uint64_t start_ticks = 0;
};
inline constexpr std::uint64_t kPfKthread = 0x00200000;  // PF_KTHREAD (include/linux/sched.h)
std::optional<StatLine> parse_stat(const std::string& text);

double boottime_s();   // CLOCK_BOOTTIME, the clock /proc/PID/stat's starttime counts on
double ticks_per_s();  // sysconf(_SC_CLK_TCK)

}  // namespace arenalab::attach::detail
