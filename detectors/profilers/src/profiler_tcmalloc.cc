// SPDX-License-Identifier: Apache-2.0
// tcmalloc adapter: gperftools' heap profiler in the full libtcmalloc, a dump per SIGUSR2
// (HEAPPROFILESIGNAL) that arenalab sends every interval; google-pprof reads the dumps.
#include <fmt/format.h>
#include <signal.h>

#include <cstdlib>

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

Status run_tcmalloc(ProfileRun& run) {
  const ProfileOptions& o = run.options;
  ProfileReport& report = run.report;
  auto config = configuration(o, "tcmalloc");
  if (!config) return config.error();
  if (config->preload_path().find("minimal") != std::string::npos)
    return make_error("the tcmalloc configuration preloads " + config->preload_path() +
                      ", which has no heap profiler (need the full libtcmalloc)");
  // Time cadence: gperftools 2.10's HEAP_PROFILE_TIME_INTERVAL takes whole seconds only, so
  // arenalab sends the HEAPPROFILESIGNAL signal (SIGUSR2) every interval instead, once the
  // target catches it: gperftools installs its handler in libtcmalloc's initializer, which runs
  // after the library is mapped, and until then SIGUSR2 kills the target. Waiting for the
  // mapping alone lost that race under load (a target killed by SIGUSR2 with 0 dumps, 1 run in
  // 8 at --interval 0.01 beside 3 busy loops). The volume-based triggers are switched off (0);
  // a last dump is written at exit.
  SpawnSpec spec;
  spec.argv = o.command;
  spec.capture_stdout = o.target_stdout_to_stderr;
  spec.set_env = {{"LD_PRELOAD", config->preload_path()},
                  {"HEAPPROFILE", report.out_dir + "/gperftools"},
                  {"HEAPPROFILESIGNAL", std::to_string(SIGUSR2)},
                  {"HEAP_PROFILE_ALLOCATION_INTERVAL", "0"},
                  {"HEAP_PROFILE_INUSE_INTERVAL", "0"},
                  // gperftools logs "Dumping heap profile to ..." per dump at verbosity 0.
                  {"PERFTOOLS_VERBOSE", "-1"}};
  report.notes.push_back(
      "tcmalloc: dumps are requested with SIGUSR2; a target that handles SIGUSR2 itself "
      "gets fewer dumps");
  DumpThinner thinner(report.out_dir, {"gperftools."}, realtime_ns() - kMtimeSlackNs, run.adaptive);
  run.thinner = &thinner;
  double last_signal_ms = monotonic_ms();
  bool handler_set = false;  // once caught, the handler stays (gperftools never removes it)
  auto exit = spawn_and_poll(run, spec, true, [&](pid_t pid) {
    if (monotonic_ms() - last_signal_ms < run.interval_s * 1000.0) return;
    if (!handler_set) handler_set = catches_signal(pid, SIGUSR2);
    if (handler_set) {
      ::kill(pid, SIGUSR2);
      last_signal_ms = monotonic_ms();
    }
  });
  if (run.adaptive) thinner.poll();  // what came after the last poll
  report.cadence = fmt::format(
      "gperftools heap profiler, a dump per SIGUSR2 (HEAPPROFILESIGNAL) sent {} (written at "
      "the target's next allocation) + a dump at exit",
      cadence_text(run));
  run.thinner = nullptr;
  if (!exit) return exit.error();
  report.exit = *exit;
  report.dumps = dump_files(report.out_dir, "gperftools.", ".heap", run.since_ns - kMtimeSlackNs);
  if (auto st = add_dump_callsites(run, report.dumps, SiteSource::kHeap); !st) return st;
  // An ordinary exit writes the last dump from gperftools' own destructor, after the program's
  // teardown: the state at exit.
  if (report.exit.exit_code && !report.dumps.empty()) split_exit_dump(run, report.dumps.back());
  if (o.run_tools) pprof_tools(report, "google-pprof", run.binary, report.dumps);
  return Ok{};
}

}  // namespace arenalab::profilers::detail
