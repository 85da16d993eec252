// SPDX-License-Identifier: Apache-2.0
// heaptrack adapter: `heaptrack -o DIR/heaptrack CMD` records every allocation event; arenalab
// replays its trace into live bytes per stack every interval, and runs heaptrack_print.
#include <fmt/format.h>

#include <algorithm>
#include <filesystem>

#include "profilers_internal.h"

namespace arenalab::profilers::detail {

Status run_heaptrack(ProfileRun& run) {
  const ProfileOptions& o = run.options;
  ProfileReport& report = run.report;
  if (which("heaptrack").empty()) return make_error("heaptrack not found in PATH");
  SpawnSpec spec;
  spec.argv = {"heaptrack", "-o", report.out_dir + "/heaptrack"};
  spec.argv.insert(spec.argv.end(), o.command.begin(), o.command.end());
  spec.capture_stdout = o.target_stdout_to_stderr;
  report.cadence = fmt::format(
      "heaptrack records every event; live bytes replayed from its trace every {} s", o.interval_s);
  // No RSS series: the pid is heaptrack's launcher script, not the target.
  auto exit = spawn_and_poll(run, spec, false);
  if (!exit) return exit.error();
  report.exit = *exit;
  const std::string trace_path = report.out_dir + "/heaptrack.zst";
  if (!std::filesystem::exists(trace_path))
    return make_error("heaptrack wrote no trace at " + trace_path + " (" + report.exit.describe() +
                      ")");
  // Adaptive: the run's length is known before the replay; 48 snapshots over it.
  const double interval_ms =
      run.adaptive ? std::max(20.0, report.exit.wall_ms / 48.0) : run.interval_s * 1000.0;
  report.cadence = fmt::format(
      "heaptrack records every event; live bytes replayed from its trace every {:.3g} s{}",
      interval_ms / 1000.0, run.adaptive ? " (the run's duration / 48)" : "");
  auto trace = read_heaptrack_trace(trace_path, interval_ms);
  if (!trace) return trace.error();
  report.dumps.push_back(trace_path);
  for (const auto& snap : trace->snapshots) report.dump_t_ms.push_back(snap.t_ms);
  report.callsites = callsites_from_heaptrack(*trace, run.filter);
  // The trace's last state is after the program's teardown (see HeaptrackTrace::snapshots).
  if (!report.dump_t_ms.empty()) split_exit_dump(run, trace_path);
  if (o.run_tools) {
    ToolCommand t;
    t.purpose = "heaptrack's leaks and peak consumers";
    run_tool(t,
             {"heaptrack_print", "-f", trace_path, "--print-leaks", "1", "--print-peaks", "1",
              "--print-allocators", "0", "--print-temporary", "0", "-n", "10"},
             report.out_dir + "/heaptrack_print.txt");
    report.tools.push_back(std::move(t));
  }
  return Ok{};
}

}  // namespace arenalab::profilers::detail
