// SPDX-License-Identifier: Apache-2.0
// heaptrack adapter: `heaptrack -o DIR/heaptrack CMD` records every allocation event; arenalab
// replays its trace into live bytes per stack every interval, and runs heaptrack_print.
#include <fmt/format.h>

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <string_view>

#include "arenalab/core/files.h"
#include "profilers_internal.h"

namespace arenalab::profilers::detail {

namespace {

// The programs heaptrack's launcher runs under its preload: its children with
// DUMP_HEAPTRACK_OUTPUT in their environment (the launcher sets it for the program alone, not
// for heaptrack_interpret or the compressor that write the trace).
std::vector<pid_t> traced_programs(pid_t launcher) {
  std::vector<pid_t> out;
  for (pid_t p : process_children(launcher)) {
    const std::string dir = "/proc/" + std::to_string(p);
    auto env = read_file(dir + "/environ");
    if (env && (env->rfind("DUMP_HEAPTRACK_OUTPUT=", 0) == 0 ||
                env->find(std::string_view("\0DUMP_HEAPTRACK_OUTPUT=", 23)) != std::string::npos))
      out.push_back(p);
  }
  return out;
}

}  // namespace

Status run_heaptrack(ProfileRun& run) {
  const ProfileOptions& o = run.options;
  ProfileReport& report = run.report;
  if (which("heaptrack").empty()) return make_error("heaptrack not found in PATH");
  SpawnSpec spec;
  spec.argv = {"heaptrack", "-o", report.out_dir + "/heaptrack"};
  spec.argv.insert(spec.argv.end(), o.command.begin(), o.command.end());
  // The program as found in PATH, not its bare name: heaptrack's launcher looks the name up with
  // `command -v`, which answers a shell builtin's name (true, echo, printf, kill, test) with the
  // builtin, and refuses it as "not found" in several lines of its own.
  spec.argv[3] = find_program(o.command[0]);
  spec.capture_stdout = o.target_stdout_to_stderr;
  report.cadence = fmt::format(
      "heaptrack records every event; live bytes replayed from its trace every {} s", o.interval_s);
  // A signal to arenalab goes to the traced program alone: the launcher then waits for
  // heaptrack_interpret to finish the trace, which a signal to the launcher would leave
  // unfinished (it would exit at once, the program left running). The launcher gets a process
  // group of its own, so that a terminal's Ctrl-C reaches arenalab alone and is passed on from
  // there, rather than to the interpreter and the compressor too, which would cut the trace.
  spec.child_setup = [] { return ::setpgid(0, 0) == 0; };
  // A group that is not the terminal's foreground one is stopped (SIGTTIN) when it reads the
  // terminal, and the profile would wait forever: a target on a terminal reads an empty stdin.
  if (::isatty(STDIN_FILENO)) spec.stdin_null = true;
  // No RSS series: the pid is heaptrack's launcher script, not the target.
  auto exit = spawn_and_poll(run, spec, false, {}, traced_programs);
  if (!exit) return exit.error();
  report.exit = *exit;
  const std::string trace_path = report.out_dir + "/heaptrack.zst";
  if (!std::filesystem::exists(trace_path))
    return make_error("heaptrack wrote no trace at " + trace_path + " (" + report.exit.describe() +
                      ")");
  // Adaptive: 48 snapshots over the traced program's own run, the trace's span (its last
  // timestamp), known before the replay. Not over the launcher's wall time: heaptrack's start-up
  // and its interpreter finishing after the target add seconds under load (a 1 s run spanned
  // 1.3 s of trace in 2.9 s of wall time, and kept 22 of the 48 snapshots).
  double span_ms = -1;
  if (run.adaptive) {
    auto span = heaptrack_trace_span_ms(trace_path);
    if (!span) return span.error();
    span_ms = *span;
  }
  const double interval_ms =
      run.adaptive ? std::max(20.0, span_ms / 48.0) : run.interval_s * 1000.0;
  report.cadence = fmt::format(
      "heaptrack records every event; live bytes replayed from its trace every {:.3g} s{}",
      interval_ms / 1000.0, run.adaptive ? " (the traced run's duration / 48)" : "");
  auto trace = read_heaptrack_trace(trace_path, interval_ms, span_ms);
  if (!trace) return trace.error();
  // Stalls of a second or more change what the series can show: say where they were.
  double stalled_ms = 0;
  const HeaptrackTrace::Stall* longest = nullptr;
  for (const auto& st : trace->stalls) {
    stalled_ms += st.to_ms - st.from_ms;
    if (longest == nullptr || st.to_ms - st.from_ms > longest->to_ms - longest->from_ms)
      longest = &st;
  }
  if (stalled_ms >= 1000 && longest != nullptr)
    report.notes.push_back(fmt::format(
        "heaptrack held the program up for {:.1f} s in all (its trace has no timestamp from "
        "{:.1f} s to {:.1f} s, the longest stall: its recorder could not keep up, e.g. on a "
        "loaded machine); no snapshot is taken inside a stall, and a program that paces itself "
        "by the clock catches up after it in a burst",
        stalled_ms / 1000, longest->from_ms / 1000, longest->to_ms / 1000));
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
             run.out, "heaptrack_print.txt");
    report.tools.push_back(std::move(t));
  }
  return Ok{};
}

}  // namespace arenalab::profilers::detail
