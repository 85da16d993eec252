// SPDX-License-Identifier: Apache-2.0
// Starting a target program and waiting for it with its resource usage (wait4), the one
// seam through which run, watch, matrix, budget and the probe start other programs.
#pragma once

#include <dirent.h>
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
  // The target gets SIGKILL when arenalab dies (PR_SET_PDEATHSIG, set between fork and exec
  // and checked against arenalab having died before it was set). The kernel sends it when the
  // *thread* that forked exits, so spawn from a thread that outlives the target.
  bool die_with_parent = true;
};

// How Child::wait ends a target on request (issue 20): the terminating signals arenalab
// receives while a TerminationSignals guard lives are passed on to the target, a --duration
// sends stop_signal, and a target still running grace_ms after the first stop is SIGKILLed.
struct StopPolicy {
  bool forward_signals = false;  // needs a TerminationSignals guard alive meanwhile
  double duration_ms = 0;        // > 0: send stop_signal this long after the start
  int stop_signal = 2;           // SIGINT
  double grace_ms = 10000;       // after the first stop signal; then SIGKILL
  // Whom a forwarded or --duration stop signal goes to, given the child's pid: the program
  // behind a launcher that must itself finish its work (heaptrack's script, which waits for its
  // trace to be written). Unset, or an empty answer: the child itself.
  std::function<std::vector<pid_t>(pid_t)> signal_targets;
};

// What happened to the stop requests of a wait.
struct StopInfo {
  std::optional<int> received_signal;  // the first terminating signal arenalab received
  bool duration_reached = false;       // --duration ended the run
  std::optional<int> sent_signal;      // the first signal sent to the target to stop it
  std::optional<double> stop_ms;       // when it went out, ms after the start
  bool killed_after_grace = false;     // the target outlived the grace period: SIGKILL
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
  StopInfo stop;    // set by wait() with a StopPolicy
  // The child ended between fork and exec (killed there: by a memory limit it joined, a signal):
  // the program never ran. Told by the kernel's PF_FORKNOEXEC, which exec clears.
  bool before_exec = false;

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
  // The same, ending the target as `stop` says (signals, duration, grace, SIGKILL).
  Result<ExitInfo> wait(const std::function<void()>& on_tick, int tick_ms, const StopPolicy& stop);

 private:
  friend Result<Child> spawn(const SpawnSpec& spec);
  pid_t pid_ = -1;
  int out_fd_ = -1;
  int err_fd_ = -1;
  std::size_t limit_ = 0;
  double start_ms_ = 0;
  bool before_exec_ = false;  // ExitInfo::before_exec
};

// Starts the target. A program that cannot be executed is an error naming it and why; a child
// killed between fork and exec is waited for as any, its ExitInfo::before_exec set.
Result<Child> spawn(const SpawnSpec& spec);

// spawn() then wait().
Result<ExitInfo> run_process(const SpawnSpec& spec, const std::function<void()>& on_tick = {},
                             int tick_ms = 200);

// Milliseconds on the monotonic clock.
double monotonic_ms();

// The program execvp would run for `name`: a name with a '/' as it is; else the first regular,
// executable file of that name along PATH (an empty PATH entry is "."; no PATH: /usr/bin:/bin).
// "" when there is none.
std::string find_program(const std::string& name);

// While an instance lives, SIGINT, SIGTERM, SIGHUP and SIGQUIT do not end this process: each
// is recorded (with whether the terminal sent it to the whole foreground process group) for
// Child::wait to pass on to the target. Instances nest; the outermost restores the old
// dispositions. Signals are recorded from construction on, so one that arrives before the
// target was spawned is still passed on.
class TerminationSignals {
 public:
  TerminationSignals();
  ~TerminationSignals();
  TerminationSignals(const TerminationSignals&) = delete;
  TerminationSignals& operator=(const TerminationSignals&) = delete;

  struct Received {
    int signal = 0;
    bool from_terminal = false;  // si_code SI_KERNEL: the tty sent it to the process group
  };
  // The signals received since the outermost guard was made, in order (at most 32 kept).
  static std::vector<Received> received();
  // The first one, 0 when none.
  static int first();
  // Whether a guard lives now: the signals are being recorded instead of acted on.
  static bool active();
};

// Ends this process as the signal convention says for "stopped by `sig`": default
// disposition, no core file, the signal raised, so the parent sees WIFSIGNALED (a shell
// prints 128+sig, and a script stops on an interrupted command). Flushes stdio first.
// Returns 128+sig only if the signal did not end the process.
int exit_by_signal(int sig);

// The processes below `pid` (children, their children, ...), from /proc; empty when it has none.
// One pass over /proc (every /proc/N/stat), parents first.
std::vector<pid_t> process_descendants(pid_t pid);
// The processes whose parent is `pid` (one pass over /proc).
std::vector<pid_t> process_children(pid_t pid);
// The name (/proc/PID/stat's comm) of `pid` while it runs: nullopt when it is gone or a zombie
// (ended, not yet reaped).
std::optional<std::string> running_comm(pid_t pid);
// Its command line (/proc/PID/cmdline, NUL-separated), empty when unreadable.
std::vector<std::string> process_command(pid_t pid);

// The processes below `root`, followed from one look to the next at the cost of what changed
// (the runner looks every 500 ms while its target runs). This kernel interface has no list of a
// process's children without CONFIG_PROC_CHILDREN, so a look that reads every /proc/N/stat
// costs each process on the machine; this one reads the stat of the known descendants and of
// the processes that may be new since the last look, and lists /proc (one getdents):
//  - a new process is one absent from the last listing, or one whose pid was handed out since
//    the last look: pids are handed out cyclically, and /proc/loadavg's fifth field is the
//    last one (of the reader's pid namespace), so a pid reused since the last look lies between
//    the two values read;
//  - a process that is not a descendant never becomes one (an orphan is adopted by a
//    subreaper or init, an ancestor, never by a process of another branch), so the others
//    need no second look.
// The watch is made before the root starts (the runner makes it before the spawn): what exists
// then is no descendant, so even the first look reads only what is new since.
// A look reads every /proc/N/stat instead (as process_descendants does) when it cannot rely on
// that: a /proc of another pid namespace than ours, /proc/loadavg or the fork counter
// (/proc/stat "processes") unreadable, or as many forks since the last look as the pid space
// could cycle through. Its one blind spot is a whole cycle of pids handed out by forks that then
// fail (a fork bomb held by a pids limit), which the fork counter does not count.
class DescendantWatch {
 public:
  DescendantWatch();
  ~DescendantWatch();
  DescendantWatch(const DescendantWatch&) = delete;
  DescendantWatch& operator=(const DescendantWatch&) = delete;

  struct Process {
    pid_t pid = 0;
    pid_t ppid = 0;
    std::string comm;  // its name now (a wrapper may have exec'd since)
  };
  // The descendants of `root` now, parents first. One root per watch, started after it was made.
  std::vector<Process> scan(pid_t root);

  // What the last scan did: whether it read every process's stat, and how many it read.
  bool last_was_full() const { return last_full_; }
  std::size_t last_reads() const { return last_reads_; }

 private:
  // The last pid handed out, the forks since boot and the scheduling entities, from
  // /proc/loadavg and /proc/stat; false when one is missing.
  bool read_counters(std::uint64_t& cursor, std::uint64_t& forks, std::uint64_t& entities);

  DIR* proc_ = nullptr;
  bool same_namespace_ = false;
  std::uint64_t pid_max_ = 0;
  bool primed_ = false;  // cursor_, forks_ and entities_ hold the last look's values
  bool listed_ = false;  // listing_ too (not before the first look)
  std::uint64_t cursor_ = 0, forks_ = 0, entities_ = 0;
  std::string stat_buf_;        // /proc/stat, read into the same buffer each time
  std::vector<pid_t> listing_;  // sorted
  std::vector<pid_t> members_;  // the descendants at the last scan
  bool last_full_ = false;
  std::size_t last_reads_ = 0;
};

// "SIGINT", "INT", "int", "2" -> 2; 0 for anything else (only the signals worth stopping a
// target with: INT TERM HUP QUIT KILL USR1 USR2).
int parse_signal(const std::string& name);
// 2 -> "SIGINT".
std::string signal_name(int sig);

}  // namespace arenalab
