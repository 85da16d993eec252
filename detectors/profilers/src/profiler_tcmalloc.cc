// SPDX-License-Identifier: Apache-2.0
// tcmalloc adapter: gperftools' heap profiler in the full libtcmalloc, a dump per SIGURG
// (HEAPPROFILESIGNAL) that arenalab sends every interval; google-pprof reads the dumps.
#include <fmt/format.h>

#include <signal.h>

#include <cstdlib>
#include <filesystem>

#include "arenalab/core/files.h"
#include "profilers_internal.h"

namespace arenalab::profilers::detail {

namespace {

// Whether process `pid` has a handler for `sig` (bit sig-1 of SigCgt in /proc/PID/status, hex).
// false when unreadable (the process is gone or not started).
bool catches_signal(pid_t pid, int sig) {
  auto status = read_file("/proc/" + std::to_string(pid) + "/status");
  if (!status) return false;
  const auto at = status->find("\nSigCgt:");
  if (at == std::string::npos) return false;
  const char* p = status->c_str() + at + 8;
  while (*p == ' ' || *p == '\t') ++p;
  char* end = nullptr;
  const unsigned long long mask = std::strtoull(p, &end, 16);
  return end != p && ((mask >> (sig - 1)) & 1) != 0;
}

}  // namespace

// The dump signal: one whose default action is to ignore it (POSIX, signal(7)), so that an image
// without gperftools' handler yet (just exec'd, its libtcmalloc not initialized) lets it pass.
// With SIGUSR2 (default: terminate) a target that exec'd between the look at SigCgt and kill(2)
// died of it: no check can close that window, a signal that kills nobody does. SIGURG is sent
// otherwise only for a socket's out-of-band data to the process that asked for it (F_SETOWN);
// SIGWINCH, the other such signal, comes from the terminal to the whole foreground group.
constexpr int kDumpSignal = SIGURG;

Status run_tcmalloc(ProfileRun& run) {
  const ProfileOptions& o = run.options;
  ProfileReport& report = run.report;
  auto config = configuration(o, "tcmalloc");
  if (!config) return config.error();
  if (config->preload_path().find("minimal") != std::string::npos)
    return make_error("the tcmalloc configuration preloads " + config->preload_path() +
                      ", which has no heap profiler (need the full libtcmalloc)");
  // Time cadence: gperftools 2.10's HEAP_PROFILE_TIME_INTERVAL takes whole seconds only, so
  // arenalab sends the HEAPPROFILESIGNAL signal (kDumpSignal) every interval instead, once the
  // target catches it: gperftools installs its handler in libtcmalloc's initializer, which runs
  // after the library is mapped, and a signal sent before is lost (with SIGUSR2 it killed the
  // target: 1 run in 8 at --interval 0.01 beside 3 busy loops, when arenalab waited for the
  // mapping alone). The volume-based triggers are switched off (0); a last dump is written at
  // exit.
  SpawnSpec spec;
  spec.argv = o.command;
  spec.capture_stdout = o.target_stdout_to_stderr;
  spec.set_env = {{"LD_PRELOAD", config->preload_path()},
                  {"HEAPPROFILE", report.out_dir + "/gperftools"},
                  {"HEAPPROFILESIGNAL", std::to_string(kDumpSignal)},
                  {"HEAP_PROFILE_ALLOCATION_INTERVAL", "0"},
                  {"HEAP_PROFILE_INUSE_INTERVAL", "0"},
                  // gperftools logs "Dumping heap profile to ..." per dump at verbosity 0.
                  {"PERFTOOLS_VERBOSE", "-1"}};
  report.notes.push_back(
      "tcmalloc: dumps are requested with SIGURG; a target that handles SIGURG itself "
      "gets fewer dumps");
  DumpThinner thinner(report.out_dir, {"gperftools."}, realtime_ns() - kMtimeSlackNs, run.adaptive);
  run.thinner = &thinner;
  double last_signal_ms = monotonic_ms();
  // A target that execs (a wrapper script: a pyenv shim, a launcher) starts each new image with
  // kDumpSignal at its default action, ignored, until that image's libtcmalloc installs the
  // handler again: so the handler is looked up before every signal, never remembered (a signal
  // sent to an image without it is lost, and would not keep the cadence). Each
  // later image names its dumps `gperftools_<pid>.NNNN.heap` (gperftools marks HEAPPROFILE as
  // used in the environment it passes on); the series is the last image's: the program the
  // wrapper ran. Forked children write under their own pids and are not the target.
  pid_t target_pid = 0;
  std::string exec_prefix;
  auto exec_dumps = [&] {
    return exec_prefix.empty()
               ? std::vector<std::string>{}
               : dump_files(report.out_dir, exec_prefix, ".heap", run.since_ns - kMtimeSlackNs);
  };
  bool exec_series = false;
  std::string exec_binary;  // the program the wrapper ran
  auto exit = spawn_and_poll(run, spec, true, [&](pid_t pid) {
    if (target_pid == 0) {
      target_pid = pid;
      exec_prefix = "gperftools_" + std::to_string(pid) + ".";
    }
    if (!exec_series && !exec_dumps().empty()) {
      exec_series = true;
      thinner.set_series(exec_prefix);
      std::error_code ec;
      exec_binary = std::filesystem::read_symlink("/proc/" + std::to_string(pid) + "/exe", ec);
    }
    if (monotonic_ms() - last_signal_ms < run.interval_s * 1000.0) return;
    if (catches_signal(pid, kDumpSignal)) {
      ::kill(pid, kDumpSignal);
      last_signal_ms = monotonic_ms();
    }
  });
  if (run.adaptive) thinner.poll();  // what came after the last poll
  report.cadence = fmt::format(
      "gperftools heap profiler, a dump per SIGURG (HEAPPROFILESIGNAL) sent {} (written at "
      "the target's next allocation) + a dump at exit",
      cadence_text(run));
  run.thinner = nullptr;
  if (!exit) return exit.error();
  report.exit = *exit;
  report.dumps = exec_dumps();
  if (!report.dumps.empty()) {
    report.notes.push_back(fmt::format(
        "the target execed another program under its pid {} (a wrapper script): the series is "
        "that program's dumps ({}NNNN.heap)",
        target_pid, exec_prefix));
    if (!exec_binary.empty()) run.binary = exec_binary;  // what google-pprof symbolizes
  } else {
    report.dumps = dump_files(report.out_dir, "gperftools.", ".heap", run.since_ns - kMtimeSlackNs);
  }
  if (auto st = add_dump_callsites(run, report.dumps, SiteSource::kHeap); !st) return st;
  // An ordinary exit writes the last dump from gperftools' own destructor, after the program's
  // teardown: the state at exit.
  if (report.exit.exit_code && !report.dumps.empty()) split_exit_dump(run, report.dumps.back());
  if (o.run_tools) pprof_tools(report, run.out, "google-pprof", run.binary, report.dumps);
  return Ok{};
}

}  // namespace arenalab::profilers::detail
