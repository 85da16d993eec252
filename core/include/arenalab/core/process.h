// SPDX-License-Identifier: Apache-2.0
// Starting a target program and waiting for it with its resource usage (wait4), the one
// seam through which run, watch, matrix, budget and the probe start other programs.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "arenalab/core/result.h"

namespace arenalab {

struct SpawnSpec {
  std::vector<std::string> argv;                             // argv[0] is looked up in PATH
  std::vector<std::pair<std::string, std::string>> set_env;  // added or replaced
  std::vector<std::string> unset_env;
  bool capture_stdout = false;  // otherwise inherited (the target's output is untouched)
  bool capture_stderr = false;
  std::size_t capture_limit = 1 << 20;  // bytes kept per stream (the tail when exceeded)
  bool stdin_null = false;
  std::string cwd;  // empty: inherit
  // Runs in the child between fork and exec; returning false aborts the exec (exit 127).
  // Must only make async-signal-safe calls (write, open, close).
  std::function<bool()> child_setup;
};

struct ExitInfo {
  std::optional<int> exit_code;  // set when the target exited
  std::optional<int> signal;     // set when a signal ended it
  bool core_dumped = false;
  double wall_ms = 0;  // from spawn to reaping
  double user_ms = 0;
  double sys_ms = 0;
  std::uint64_t max_rss_bytes = 0;  // ru_maxrss of the target (and its waited-for children)
  long minor_faults = 0;
  long major_faults = 0;
  long voluntary_switches = 0;
  long involuntary_switches = 0;
  std::string out;  // captured stdout (tail), if asked
  std::string err;  // captured stderr (tail), if asked

  // The shell's convention: the exit code, or 128 + signal.
  int shell_status() const;
  std::string describe() const;  // "exit 0", "killed by SIGKILL"
};

class Child {
 public:
  Child() = default;
  Child(Child&&) noexcept;
  Child& operator=(Child&&) noexcept;
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  ~Child();

  pid_t pid() const { return pid_; }
  double started_ms() const { return start_ms_; }

  // Waits for the target, reading captured streams; `on_tick` runs about every `tick_ms`
  // while it lives (for live output and samplers). Reaps it; rusage from wait4.
  Result<ExitInfo> wait(const std::function<void()>& on_tick = {}, int tick_ms = 200);

 private:
  friend Result<Child> spawn(const SpawnSpec& spec);
  pid_t pid_ = -1;
  int out_fd_ = -1;
  int err_fd_ = -1;
  std::size_t limit_ = 0;
  double start_ms_ = 0;
};

// Starts the target. A program that cannot be executed is an error naming it and why.
Result<Child> spawn(const SpawnSpec& spec);

// spawn() then wait().
Result<ExitInfo> run_process(const SpawnSpec& spec, const std::function<void()>& on_tick = {},
                             int tick_ms = 200);

// Milliseconds on the monotonic clock.
double monotonic_ms();

}  // namespace arenalab
