// SPDX-License-Identifier: Apache-2.0
// execute_cell: one cell in its own process (see matrix.h for the identification methods).
#include <signal.h>

#include <cstring>
#include <nlohmann/json.hpp>

#include "arenalab/core/files.h"
#include "arenalab/core/process.h"
#include "arenalab/matrix/matrix.h"
#include "arenalab/procfs/procfs.h"
#include "arenalab/timeline/timeline.h"

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

// The workload's result: the last stdout line that parses as a JSON object.
std::optional<nlohmann::json> last_json_line(const std::string& out) {
  std::size_t end = out.size();
  while (end > 0) {
    std::size_t start = out.rfind('\n', end - 1);
    start = start == std::string::npos ? 0 : start + 1;
    const std::string line = out.substr(start, end - start);
    if (!line.empty() && line[0] == '{') {
      try {
        auto j = nlohmann::json::parse(line);
        if (j.is_object()) return j;
      } catch (const nlohmann::json::exception&) {
      }
    }
    if (start == 0) break;
    end = start - 1;
  }
  return std::nullopt;
}

std::optional<double> number(const nlohmann::json& j, const char* key) {
  if (!j.contains(key) || !j[key].is_number()) return std::nullopt;
  return j[key].get<double>();
}

}  // namespace

Cell execute_cell(const CellRequest& req) {
  Cell cell;
  cell.workload = req.workload.name;
  cell.configuration = req.configuration.name;
  cell.threads = req.threads;
  SpawnSpec spec;
  spec.argv = {req.workload.program, "--json"};
  if (req.smoke) spec.argv.push_back("--smoke");
  if (req.threads > 0 && req.workload.threads_flag) {
    spec.argv.push_back("--threads");
    spec.argv.push_back(std::to_string(req.threads));
  }
  cell.command = spec.argv;
  spec.set_env = configuration_environment(req.configuration);
  // A driver of a real program reads the configuration it runs under from here.
  spec.set_env.emplace_back("ARENALAB_CONFIGURATION", req.configuration.name);
  spec.set_env.emplace_back("ARENALAB_CELL_DIR", req.cell_dir);
  spec.capture_stdout = true;
  spec.capture_stderr = true;
  spec.capture_limit = 64 << 10;
  spec.stdin_null = true;

  auto child = spawn(spec);
  if (!child) {
    cell.status = "error";
    cell.message = child.error().message;
    return cell;
  }
  // --timeline before the runner lands: VmRSS / RssAnon of the cell process from
  // /proc/<pid>/status at every tick (the allocator series needs the interposer).
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
  if (!exit) {
    cell.status = "error";
    cell.message = exit.error().message;
    return cell;
  }
  const ExitInfo& e = *exit;
  cell.exit_code = e.exit_code;
  cell.signal = e.signal;
  cell.wall_ms = e.wall_ms;
  cell.user_ms = e.user_ms;
  cell.sys_ms = e.sys_ms;
  cell.peak_rss_bytes = static_cast<double>(e.max_rss_bytes);
  cell.peak_rss_source = "rusage";
  cell.minor_faults = static_cast<double>(e.minor_faults);
  cell.major_faults = static_cast<double>(e.major_faults);

  const auto doc = last_json_line(e.out);
  if (doc) {
    if (doc->contains("measurements") && (*doc)["measurements"].is_object()) {
      const auto& m = (*doc)["measurements"];
      cell.measurements = m;
      cell.rss_after_free_bytes = number(m, "rss_after_free_bytes");
      // A driver whose measured process is its child (a server) reports that process's peak.
      if (const auto p = number(m, "peak_rss_bytes")) {
        cell.peak_rss_bytes = *p;
        cell.peak_rss_source = "workload";
      }
      if (m.contains("throughput") && m["throughput"].is_object()) {
        cell.throughput = number(m["throughput"], "value");
        if (m["throughput"].contains("unit") && m["throughput"]["unit"].is_string())
          cell.throughput_unit = m["throughput"]["unit"].get<std::string>();
      }
    }
    if (doc->contains("allocator") && (*doc)["allocator"].is_object()) {
      const auto& a = (*doc)["allocator"];
      cell.identified_backend = a.value("backend", "");
      cell.identified_library = a.value("library", "");
      cell.identified_version = a.value("version", "");
      cell.identification_method = a.value("method", "harness");
    }
  }
  if (!cell.identified_backend.empty() && cell.identified_backend != "unknown") {
    Identification id;
    id.backend = backend_from_name(cell.identified_backend);
    std::strncpy(id.library, cell.identified_library.c_str(), sizeof id.library - 1);
    cell.mismatch = verification_mismatch(req.configuration, id);
    cell.verified = cell.mismatch.empty();
  } else if (doc) {
    cell.mismatch = "the cell reported no identification of its allocator";
  }

  if (req.timeline && !samples.empty()) {
    timeline::Header h;
    h.schema = "arenalab.timeline/1";
    h.pid = pid;
    h.command = cell.command;
    h.allocator = {req.configuration.name, cell.identified_backend, cell.identified_library,
                   cell.identified_version, cell.verified};
    h.mode = "procfs";  // RSS from /proc only; the runner's stats mode adds the allocator books
    h.interval_ms = kTimelineMs;
    std::string text = timeline::header_line(h) + "\n";
    for (const auto& s : samples) text += timeline::sample_line(s) + "\n";
    const std::string path = req.cell_dir + "/timeline.jsonl";
    if (write_file_atomic(path, text)) cell.timeline_path = path;
  }

  if (timed_out) {
    cell.status = "timeout";
    cell.message = "killed after the cell timeout of " +
                   std::to_string(static_cast<int>(req.timeout_s)) + " s";
  } else if (e.signal) {
    cell.status = "crashed";
    cell.message = e.describe();
  } else if (e.exit_code && *e.exit_code != 0) {
    cell.status = "failed";
    cell.message = e.describe();
    if (doc && doc->contains("checks")) {
      for (const auto& c : (*doc)["checks"])
        if (c.is_object() && !c.value("pass", true))
          cell.message += "; check " + c.value("name", "?") + " failed: " + c.value("detail", "");
    }
  } else if (!doc) {
    cell.status = "error";
    cell.message = "exit 0 but no JSON result on stdout";
  } else if (!cell.verified) {
    cell.status = "unverified";
  } else {
    cell.status = "ok";
  }
  if (cell.status != "ok") cell.stderr_tail = tail_lines(e.err, 8);
  return cell;
}

}  // namespace arenalab::matrix
