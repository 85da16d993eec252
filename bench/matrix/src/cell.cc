// SPDX-License-Identifier: Apache-2.0
// execute_cell: one cell in its own process (see matrix.h for the identification methods).
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>

#include "arenalab/core/files.h"
#include "arenalab/core/process.h"
#include "arenalab/formats/timeline.h"
#include "arenalab/formats/workload.h"
#include "arenalab/matrix/matrix.h"
#include "arenalab/procfs/procfs.h"
#include "arenalab/runner/runner.h"

namespace arenalab::matrix {
namespace {

constexpr int kTimelineMs = 20;  // --timeline sampling interval (procfs), milliseconds

// The last `lines` lines of a captured stream, trimmed.
std::string tail_lines(const std::string& text, int lines) {
  std::string t = text;
  while (!t.empty() && (t.back() == '\n' || t.back() == ' ')) t.pop_back();
  std::size_t pos = t.size();
  for (int i = 0; i < lines && pos != std::string::npos && pos > 0; ++i)
    pos = t.rfind('\n', pos - 1);
  return pos == std::string::npos || pos == 0 ? t : t.substr(pos + 1);
}

// What running the process gave, before its output is read.
struct Ran {
  ExitInfo exit;
  bool timed_out = false;
  bool runner = false;  // identification comes from the interposer (else from the output)
  Identification id;
  bool verified = false;
  std::string mismatch, timeline_path;
};

// Runs in a cell's process before exec: the cell dies with the matrix. A matrix killed (even
// with SIGKILL) leaves no cell running on, which would share the CPU with, and write into the
// directory of, the same cell run again by --resume. Async-signal-safe (prctl, getppid).
std::function<bool()> die_with_matrix() {
  const pid_t matrix = ::getpid();
  return [matrix] {
    if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) return true;  // best effort
    return ::getppid() == matrix;  // the matrix died before the prctl: do not start the cell
  };
}

// Workloads built here run under arenalab::runner in stats mode: the interposer identifies,
// inside the process, the object defining the malloc it calls, and samples RSS and the
// allocator's books into timeline.jsonl.
Result<Ran> run_with_runner(const CellRequest& req, const std::vector<std::string>& argv) {
  runner::RunOptions o;
  o.command = argv;
  o.allocator = req.configuration.name;
  o.allocators_file = req.allocators_file;
  o.mode = preload::protocol::Mode::kStats;
  o.interval_ms = req.timeline ? kTimelineMs : 100;
  o.out_dir = req.cell_dir;
  o.capture_output = true;
  o.child_setup = die_with_matrix();
  o.extra_env = {{"ARENALAB_CONFIGURATION", req.configuration.name}};
  bool timed_out = false;
  o.on_tick = [&](const runner::RunProgress& p) {
    if (p.elapsed_ms > req.timeout_s * 1000 && !timed_out) {
      timed_out = true;
      ::kill(p.pid, SIGKILL);
    }
  };
  o.tick_ms = 200;
  auto r = runner::run(o);
  if (!r) return r.error();
  Ran ran;
  ran.exit = std::move(r->exit);
  ran.timed_out = timed_out;
  ran.runner = true;
  ran.id = r->id;
  ran.verified = r->verified;
  ran.mismatch = r->mismatch;
  if (req.timeline && std::filesystem::exists(r->timeline_path))
    ran.timeline_path = r->timeline_path;
  return ran;
}

// A real-program driver runs as a plain child: the interposer would identify the driver (the
// first process to load it claims the run), not the server it starts. The driver reports what
// the dynamic linker bound its target's malloc to (LD_DEBUG=bindings) in its JSON instead.
// --timeline samples the driver's RSS from /proc.
Result<Ran> run_plain(const CellRequest& req, const std::vector<std::string>& argv) {
  SpawnSpec spec;
  spec.argv = argv;
  spec.set_env = configuration_environment(req.configuration);
  spec.set_env.emplace_back("ARENALAB_CONFIGURATION", req.configuration.name);
  spec.capture_stdout = true;
  spec.capture_stderr = true;
  spec.capture_limit = 64 << 10;
  spec.stdin_null = true;
  spec.child_setup = die_with_matrix();
  auto child = spawn(spec);
  if (!child) return child.error();
  std::vector<timeline::Sample> samples;
  bool timed_out = false;
  const pid_t pid = child->pid();
  const double start = child->started_ms();
  auto on_tick = [&] {
    const double now = monotonic_ms();
    if (now - start > req.timeout_s * 1000 && !timed_out) {
      timed_out = true;
      ::kill(pid, SIGKILL);
      return;
    }
    if (!req.timeline) return;
    auto st = procfs::read_status(pid);
    if (!st) return;  // exited between ticks
    timeline::Sample s;
    s.t_ms = now - start;
    s.rss = static_cast<double>(st->vm_rss);
    if (st->rss_anon) s.rss_anon = static_cast<double>(*st->rss_anon);
    samples.push_back(s);
  };
  on_tick();  // a first sample at start: a smoke cell may end before the first tick
  auto exit = child->wait(on_tick, req.timeline ? kTimelineMs : 200);
  if (!exit) return exit.error();
  Ran ran;
  ran.exit = std::move(*exit);
  ran.timed_out = timed_out;
  if (req.timeline && !samples.empty()) {
    timeline::Header h;
    h.schema = "arenalab.timeline/1";
    h.pid = pid;
    h.command = argv;
    h.allocator = {req.configuration.name, "", "", "", false};
    h.mode = "procfs";  // the driver's RSS from /proc only
    h.interval_ms = kTimelineMs;
    std::string text = timeline::header_line(h) + "\n";
    for (const auto& s : samples) text += timeline::sample_line(s) + "\n";
    const std::string path = req.cell_dir + "/timeline.jsonl";
    if (make_directories(req.cell_dir) && write_file_atomic(path, text)) ran.timeline_path = path;
  }
  return ran;
}

}  // namespace

Cell execute_cell(const CellRequest& req) {
  Cell cell;
  cell.workload = req.workload.name;
  cell.configuration = req.configuration.name;
  cell.threads = req.threads;
  std::vector<std::string> argv = {req.workload.program, "--json"};
  if (req.smoke) argv.push_back("--smoke");
  if (req.threads > 0 && req.workload.threads_flag) {
    argv.push_back("--threads");
    argv.push_back(std::to_string(req.threads));
  }
  cell.command = argv;
  const bool via_runner = req.use_runner && req.workload.category != "real";
  auto ran = via_runner ? run_with_runner(req, argv) : run_plain(req, argv);
  // Without --timeline the runner's files are not kept.
  if (via_runner && !req.timeline) {
    std::error_code ec;
    std::filesystem::remove_all(req.cell_dir, ec);
  }
  if (!ran) {
    cell.status = CellStatus::kError;
    cell.message = ran.error().message;
    return cell;
  }
  const bool timed_out = ran->timed_out;
  cell.timeline_path = ran->timeline_path;
  const ExitInfo& e = ran->exit;
  cell.exit_code = e.exit_code;
  cell.signal = e.signal;
  cell.wall_ms = e.wall_ms;
  cell.user_ms = e.user_ms;
  cell.sys_ms = e.sys_ms;
  cell.peak_rss_bytes = static_cast<double>(e.max_rss_bytes);
  cell.peak_rss_source = "rusage";
  cell.minor_faults = static_cast<double>(e.minor_faults);
  cell.major_faults = static_cast<double>(e.major_faults);

  // The workload's result (formats/workload.h): the last arenalab.workload line of stdout.
  auto found = workload::find_workload_report(e.out, req.workload.program + " --json output");
  std::optional<workload::WorkloadReport> doc;
  std::string unreadable;
  if (found)
    doc = std::move(*found);
  else
    unreadable = found.error().message;
  if (doc) {
    cell.measurements = doc->measurements;
    cell.rss_after_free_bytes = doc->rss_after_free_bytes();
    // A driver whose measured process is its child (a server) reports that process's peak.
    if (const auto p = doc->peak_rss_bytes()) {
      cell.peak_rss_bytes = *p;
      cell.peak_rss_source = "workload";
    }
    cell.throughput = doc->throughput();
    if (cell.throughput) cell.throughput_unit = doc->throughput_unit();
    cell.identified_backend = doc->backend;
    cell.identified_library = doc->library;
    cell.identified_version = doc->version;
    cell.identification_method = doc->method.empty() ? "harness" : doc->method;
  }
  if (ran->runner) {
    cell.identified_backend = backend_name(ran->id.backend);
    cell.identified_library = ran->id.library;
    cell.identified_version = ran->id.version;
    cell.identification_method = "runner";
    cell.verified = ran->verified;
    cell.mismatch = ran->mismatch;
  } else if (!cell.identified_backend.empty() && cell.identified_backend != "unknown") {
    Identification id;
    id.backend = backend_from_name(cell.identified_backend);
    std::snprintf(id.library, sizeof id.library, "%s", cell.identified_library.c_str());
    cell.mismatch = verification_mismatch(req.configuration, id);
    cell.verified = cell.mismatch.empty();
  } else if (doc) {
    cell.mismatch = "the cell reported no identification of its allocator";
  }

  if (timed_out) {
    cell.status = CellStatus::kTimeout;
    cell.message = "killed after the cell timeout of " +
                   std::to_string(static_cast<int>(req.timeout_s)) + " s";
  } else if (e.signal) {
    cell.status = CellStatus::kCrashed;
    cell.message = e.describe();
  } else if (e.exit_code && *e.exit_code != 0) {
    cell.status = CellStatus::kFailed;
    cell.message = e.describe();
    if (doc)
      for (const auto& c : doc->checks)
        if (!c.pass) cell.message += "; check " + c.name + " failed: " + c.detail;
  } else if (!doc) {
    cell.status = CellStatus::kError;
    cell.message = unreadable.empty() ? "exit 0 but no JSON result on stdout" : unreadable;
  } else if (!cell.verified) {
    cell.status = CellStatus::kUnverified;
  } else {
    cell.status = CellStatus::kOk;
  }
  if (cell.status != CellStatus::kOk) cell.stderr_tail = tail_lines(e.err, 8);
  return cell;
}

}  // namespace arenalab::matrix
