// SPDX-License-Identifier: Apache-2.0
// The matrix's results (contract arenalab.matrix/1, docs/architecture.md): the plan, the machine,
// every cell with its figures and exit status, and per workload x configuration summaries.
// JSON round-trips; CSV is one row per cell (results.csv) or per summary (summary.csv).
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "arenalab/core/result.h"
#include "arenalab/matrix/stats.h"

namespace arenalab::matrix {

inline constexpr const char* kSchema = "arenalab.matrix/1";

struct Plan {
  std::vector<std::string> workloads;
  std::vector<std::string> configurations;
  std::vector<int> threads;  // 0: the workload's default
  int repeats = 3;
  bool warmup = false;
  std::string baseline = "glibc";
  bool smoke = false;
  bool timeline = false;
  double confidence = 0.95;
  std::string identification;       // "runner" or "harness" (what the cells used)
  std::string identification_note;  // why the harness was used instead of the runner
};

struct Environment {
  std::string cpu_model, kernel, glibc, thp_enabled, thp_defrag, hostname, started_at;
  int cpus = 0;
  std::string arenalab_version;
  // configuration name -> version identified inside a probe process under it ("" if the
  // allocator exposes none), and whether that probe was verified.
  std::map<std::string, std::string> allocator_versions;
  std::map<std::string, std::string> allocator_libraries;
};

// A cell's status. Only kOk cells (exit 0, verified) enter the summaries.
//   ok          exit 0 and the identification inside the process matched the configuration
//   unverified  ran, but malloc was served by another allocator (or could not be identified)
//   failed      exited non-zero (a workload check failed, a bad flag, ...)
//   crashed     killed by a signal
//   timeout     killed by the matrix after the cell timeout
//   error       could not be started (missing program), or printed no result
struct Cell {
  std::string workload, configuration;
  int threads = 0;   // 0: the workload's default
  int repeat = 0;    // 0-based
  int sequence = 0;  // position in the run order
  std::string status;
  std::optional<int> exit_code, signal;
  std::optional<double> wall_ms, user_ms, sys_ms;
  std::optional<double> peak_rss_bytes, rss_after_free_bytes;
  std::string peak_rss_source;  // "rusage" (ru_maxrss of the cell process) or "workload"
  std::optional<double> minor_faults, major_faults;
  std::optional<double> throughput;
  std::string throughput_unit;
  std::string identified_backend, identified_library, identified_version;
  std::string identification_method;  // "harness" (in-process dladdr), "ld-debug", "runner"
  bool verified = false;
  std::string mismatch;
  std::string message;      // why the cell failed, one line
  std::string stderr_tail;  // last lines of the cell's stderr when it failed
  std::string timeline_path;
  std::vector<std::string> command;
  nlohmann::json measurements = nlohmann::json::object();  // the workload's own figures

  // "workload|configuration|threads|repeat": what --resume matches on.
  std::string key() const;
  // The figure named `metric` (see kMetrics), if measured.
  std::optional<double> metric(const std::string& metric) const;
};

// Metrics summarized per workload x configuration, in table order.
inline const std::vector<std::string> kMetrics = {
    "wall_ms",     "user_ms",   "sys_ms", "peak_rss_bytes", "rss_after_free_bytes",
    "page_faults", "throughput"};

struct Summary {
  std::string workload, configuration, metric;
  int threads = 0;
  std::string unit;  // for throughput: the workload's unit
  MedianInterval value;
  std::optional<MedianInterval> ratio;  // to the baseline configuration, repeat-paired
  std::size_t excluded = 0;             // cells of this group left out (not ok)
};

struct Results {
  Plan plan;
  Environment environment;
  std::vector<Cell> cells;
  std::vector<Summary> summaries;
  bool complete = false;  // every planned cell has run
};

// Per (workload, threads, configuration, metric) over ok cells; ratios against plan.baseline.
std::vector<Summary> summarize(const std::vector<Cell>& cells, const Plan& plan);

nlohmann::json to_json(const Results& results);
// Errors name the field that is missing or of the wrong type.
Result<Results> results_from_json(const nlohmann::json& doc);
Result<Results> read_results(const std::string& path);

std::string cells_csv(const Results& results);
std::string summaries_csv(const Results& results);

// The terminal table: one block per workload (and thread count), a row per configuration.
std::string render_table(const Results& results);

}  // namespace arenalab::matrix
