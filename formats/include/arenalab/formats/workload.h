// SPDX-License-Identifier: Apache-2.0
// A workload's result (arenalab.workload/2): the one JSON object a workload prints with
// --json (the C++ harness, the real-program drivers), read by the matrix for every cell. Its
// measurements are the workload's own figures, units in the names; the ones the matrix reads
// have one name each: peak_rss_bytes, rss_after_free_bytes, throughput {value, unit}.
// Version 2 renamed rss_peak_bytes and rss_after_frees_bytes; the reader accepts version 1 and
// gives its measurements the new names.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "arenalab/core/result.h"
#include "arenalab/formats/json.h"

namespace arenalab::workload {

inline constexpr const char* kWorkloadSchema = "arenalab.workload";
inline constexpr int kWorkloadVersion = 2;

// Per-operation latency a stress workload measured (sampled, 1 in latency_sample_period calls
// timed into a log-bucketed histogram, workloads/harness latency.h): for op in malloc, free the
// measurements <op>_p50_ns, <op>_p99_ns, <op>_p999_ns, <op>_max_ns (nanoseconds, each
// percentile an upper bound at most 12.5 % above the true value) and <op>_latency_samples.
// The reader checks p50 <= p99 <= p99.9 <= max.
inline const std::vector<std::string> kLatencyOps = {"malloc", "free"};
inline const std::vector<std::string> kLatencyFigures = {"p50_ns", "p99_ns", "p999_ns", "max_ns"};

// <op>_latency_histogram: the merged histogram behind those percentiles, one [upper_ns, count]
// pair per non-empty bucket, upper bounds increasing (upper_ns: the largest value the bucket
// holds), so a reader can draw the whole distribution. The reader checks the shape and order.
struct LatencyBucket {
  double upper_ns = 0;
  double count = 0;
  bool operator==(const LatencyBucket&) const = default;
};
// The histogram of `op` in a workload's (or a matrix cell's) measurements; empty when absent or
// not of that shape (what workload_from_json rejects).
std::vector<LatencyBucket> latency_histogram(const nlohmann::json& measurements,
                                             const std::string& op);

struct CheckResult {
  std::string name;
  bool pass = false;
  std::string detail;
  bool operator==(const CheckResult&) const = default;
};

struct SkippedCheck {
  std::string name, reason;
  bool operator==(const SkippedCheck&) const = default;
};

// What identified the allocator inside a workload (the allocator block's "method"): the harness
// in-process (the field absent) or a driver's dynamic-linker log ("ld-debug").
enum class Method { kInProcess, kLdDebug };

struct WorkloadReport {
  std::string workload;
  // The allocator the process really called, identified inside it ("unknown": none of the
  // five, or not identified).
  formats::Backend backend = formats::Backend::kUnknown;
  std::string library, version;
  Method method = Method::kInProcess;
  nlohmann::json params = nlohmann::json::object();
  nlohmann::json measurements = nlohmann::json::object();
  std::vector<CheckResult> checks;
  bool pass = true;
  std::vector<SkippedCheck> skipped_checks;
  std::vector<std::string> notes;

  // The figures the matrix reads, from `measurements` (absent: not reported).
  std::optional<double> peak_rss_bytes() const;
  std::optional<double> rss_after_free_bytes() const;
  std::optional<double> throughput() const;
  std::string throughput_unit() const;
  // "<op>_<figure>" -> nanoseconds, for the latency figures present (empty: not measured).
  std::map<std::string, double> latency_ns() const;
  bool operator==(const WorkloadReport&) const = default;
};

// Records the throughput figure in a workload's measurements ({value, unit}): the one spelling
// of the figure the matrix reads, for the harness and the real-program drivers.
void set_throughput(nlohmann::json& measurements, double value, const std::string& unit);

// The document a workload prints.
nlohmann::json workload_to_json(const WorkloadReport& r);
// The line it prints on stdout with --json: that document on one line (invalid UTF-8 replaced),
// with its newline; what find_workload_report finds.
std::string workload_line(const WorkloadReport& r);
// The reader validates the schema, the allocator block, checks and the figures above (numbers
// >= 0; throughput an object with a numeric value). `source` names the output in messages.
Result<WorkloadReport> workload_from_json(const nlohmann::json& doc, const std::string& source);

// The result in a program's stdout: the last line that is an arenalab.workload object (a
// program may print other JSON lines, progress events, before it). Absent: none found.
// A line with the workload schema that does not validate is an error naming it.
Result<std::optional<WorkloadReport>> find_workload_report(const std::string& stdout_text,
                                                           const std::string& source);

}  // namespace arenalab::workload
