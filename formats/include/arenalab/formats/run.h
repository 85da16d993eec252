// SPDX-License-Identifier: Apache-2.0
// run.json (arenalab.run/2), written by the runner beside timeline.jsonl: the command, the
// configuration and what the interposer identified inside the target, how it ended, rusage.
// Version 2 renamed "peak_rss" to "peak_rss_bytes"; the reader accepts version 1 too.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "arenalab/core/process.h"
#include "arenalab/core/result.h"
#include "arenalab/formats/json.h"
#include "arenalab/formats/run_mode.h"

namespace arenalab::runner {

inline constexpr const char* kRunSchema = "arenalab.run";
inline constexpr int kRunVersion = 2;

// How a process ended, as run.json and budget.json record it ("exit").
struct ExitRecord {
  std::string describe;  // "exit 0", "killed by SIGKILL"
  int status = 0;        // the shell's $?: code, or 128 + signal
  std::optional<int> code, signal;
  bool core_dumped = false;  // meaningful with a signal

  bool operator==(const ExitRecord&) const = default;
};
ExitRecord exit_record(const ExitInfo& e);
nlohmann::json exit_to_json(const ExitRecord& e);
ExitRecord exit_from_json(const formats::Obj& o);  // throws FormatError

// How arenalab stopped the target, when it did (a signal it received and passed on, or
// --duration): run.json's "stop". Absent when the target ended by itself.
struct StopRecord {
  double at_ms = 0;                     // when arenalab began stopping it, ms since the start
  bool killed_after_grace = false;      // SIGKILL after the grace period
  std::optional<std::string> received;  // the signal arenalab received ("SIGTERM")
  std::optional<double> duration_ms;    // --duration reached
  std::optional<std::string> signal;    // the signal sent to the target
  bool operator==(const StopRecord&) const = default;
};

struct RunRecord {
  std::vector<std::string> command;
  formats::RunMode mode = formats::RunMode::kStats;  // run_mode.h
  double interval_ms = 0;
  std::optional<std::uint64_t> sample_bytes;  // sample mode only
  // The configuration asked for and what the interposer identified inside the target.
  std::string configuration;
  formats::Backend configured_backend = formats::Backend::kUnknown;
  formats::Backend identified_backend = formats::Backend::kUnknown;  // "unknown": none of the five
  std::string library, version;
  bool verified = false;
  std::string mismatch;  // when not verified
  ExitRecord exit;
  double wall_ms = 0, user_ms = 0, sys_ms = 0;  // ms
  double peak_rss_bytes = 0;                    // ru_maxrss of the target, bytes
  double minor_faults = 0, major_faults = 0;
  std::size_t timeline_samples = 0;
  std::vector<std::string> files;     // names in the output directory
  std::vector<std::string> warnings;  // one line each
  std::optional<StopRecord> stop;

  bool operator==(const RunRecord&) const = default;
};

nlohmann::json run_to_json(const RunRecord& r);
Result<RunRecord> run_from_json(const nlohmann::json& doc, const std::string& file);
Result<RunRecord> read_run_json(const std::string& path);
Status write_run_json(const std::string& path, const RunRecord& r);

// The workload a run's command names: the program's file name, without the "wl_" of the
// project's workloads and without a link variant's "-<backend>" suffix
// ("/x/build/bin/wl_cache-jemalloc --smoke" -> "cache"; "/usr/bin/redis-server" ->
// "redis-server"; no command -> "unknown").
std::string workload_name(const std::vector<std::string>& command);

}  // namespace arenalab::runner
