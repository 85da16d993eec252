// SPDX-License-Identifier: Apache-2.0
// The matrix's results (arenalab.matrix/1): the plan, the machine, every cell with its figures
// and exit status, and per workload x configuration summaries; results.csv (one row per cell),
// summary.csv (one row per summary) and a standalone cell document (arenalab.matrix-cell/1, one
// cell's result on its own). The matrix writes them; reports and check read them, and see a
// matrix through one view: Group, a workload x configuration x threads over its repeats.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "arenalab/core/files.h"
#include "arenalab/core/result.h"
#include "arenalab/formats/growth_verdict.h"
#include "arenalab/formats/json.h"

namespace arenalab::matrix {

inline constexpr const char* kSchema = "arenalab.matrix/1";
inline constexpr const char* kCellSchema = "arenalab.matrix-cell/1";

// How built workloads' cells identified their allocator (plan.identification): "runner" (the
// interposer's stats mode, through the runner) or "harness" (the workload's own in-process
// identification).
enum class CellIdentification { kRunner, kHarness };
const char* identification_name(CellIdentification i);

// Where a cell's peak RSS came from (peak_rss_source): "rusage" (ru_maxrss of the cell
// process) or "workload" (the figure the workload reported for its measured process).
enum class PeakRssSource { kRusage, kWorkload };
const char* peak_rss_source_name(PeakRssSource s);

// What identified the allocator inside a cell (identified.method): "harness" (in-process
// dladdr), "ld-debug" (a real-program driver's dynamic-linker log), "runner" (the interposer).
enum class IdentificationMethod { kHarness, kLdDebug, kRunner };
const char* identification_method_name(IdentificationMethod m);

struct Plan {
  std::vector<std::string> workloads;
  std::vector<std::string> configurations;
  std::vector<int> threads;  // 0: the workload's default
  int repeats = 3;
  bool warmup = false;
  std::string baseline = "glibc";
  bool smoke = false;
  bool timeline = false;
  // `--duration S` given to the workloads that take it (0: none given; each its own default).
  double duration_s = 0;
  double confidence = 0.95;
  std::optional<CellIdentification> identification;  // what the cells used (absent: not said)
  std::string identification_note;                   // why the harness was used, not the runner
  bool operator==(const Plan&) const = default;
};

struct Environment {
  std::string cpu_model, kernel, glibc, thp_enabled, thp_defrag, hostname, started_at;
  int cpus = 0;
  std::string arenalab_version;
  // configuration name -> version identified inside a probe process under it ("" if the
  // allocator exposes none), and the library that probe found (or why the probe failed).
  std::map<std::string, std::string> allocator_versions;
  std::map<std::string, std::string> allocator_libraries;
  bool operator==(const Environment&) const = default;
};

// A cell's status. Only kOk cells (exit 0, verified) enter the summaries.
enum class CellStatus {
  kOk,          // exit 0 and the identification inside the process matched the configuration
  kUnverified,  // ran, but malloc was served by another allocator (or could not be identified)
  kFailed,      // exited non-zero (a workload check failed, a bad flag, ...)
  kCrashed,     // killed by a signal
  kTimeout,     // killed by the matrix after the cell timeout
  kError,       // could not be started (missing program), or printed no result
};
const char* status_name(CellStatus s);  // "ok", "unverified", "failed", ...
std::optional<CellStatus> status_from_name(const std::string& name);
// failed, crashed, timeout, error: the cell has no figures worth reading.
bool did_not_run(CellStatus s);

// The judgement across the configurations that ran the same workload (bench/matrix
// judge_across_configurations), a closed set of one: RSS growth the allocator's, not the
// program's (warm-up or retention); never creeping. Written "allocator-growth".
enum class AcrossGrowth { kAllocatorGrowth };
const char* across_growth_name(AcrossGrowth a);  // "allocator-growth"

// A cell's memory over time, read from its timeline (issue 24, part 3): bytes. The teardown
// sample the interposer writes at exit is left out of final and plateau
// (formats/timeline_levels.h, the same levels check reports for a watch run).
struct MemoryOverTime {
  double peak_rss_bytes = 0;     // the highest RSS sample
  double final_rss_bytes = 0;    // the last sample before the exit teardown
  double plateau_rss_bytes = 0;  // median after the knee, else over the second half
  // The classifier's verdict on the run (detectors/analysis): leak, retention, bounded,
  // non-heap-growth, stable or unresolved (too short to tell); leak and non-heap-growth are
  // RSS that keeps creeping.
  formats::GrowthVerdict growth = formats::GrowthVerdict::kUnresolved;
  std::string growth_reason;  // one sentence, the classifier's
  double growth_rate = 0;     // bytes/s, leak and non-heap-growth (else 0)
  std::size_t samples = 0;    // RSS samples
  double duration_ms = 0;     // first to last sample
  // The books the classifier weighed (Classification::held_signal: "held", "live_bytes" or
  // "allocated") and that signal's own verdict; both empty when the timeline has none.
  std::string held_signal;
  std::optional<formats::GrowthVerdict> held_growth;
  // The judgement across the configurations that ran the same workload (bench/matrix
  // judge_across_configurations): kAllocatorGrowth when RSS alone carried a creeping verdict
  // and the same workload's cells with books show the program's held bytes flat; the reason
  // names those configurations. Absent: the classifier's verdict stands.
  std::optional<AcrossGrowth> across_growth;
  std::string across_reason;
  // The verdict the matrix shows (groups, text), by name: the judgement if any, else the
  // classifier's.
  std::string verdict() const {
    return across_growth ? across_growth_name(*across_growth) : formats::verdict_name(growth);
  }
  // RSS that keeps growing under the run: the classifier's leak or non-heap-growth, unless the
  // judgement across configurations took it back.
  bool creeping() const { return !across_growth && formats::creeping(growth); }
  bool operator==(const MemoryOverTime&) const = default;
};
inline const std::vector<std::string> kGrowthVerdicts = [] {
  std::vector<std::string> names;
  for (formats::GrowthVerdict v : formats::kAllGrowthVerdicts)
    names.emplace_back(formats::verdict_name(v));
  return names;
}();

struct Cell {
  std::string workload, configuration;
  int threads = 0;   // 0: the workload's default
  int repeat = 0;    // 0-based
  int sequence = 0;  // position in the run order
  CellStatus status = CellStatus::kError;
  std::optional<int> exit_code, signal;
  std::optional<double> wall_ms, user_ms, sys_ms;
  std::optional<double> peak_rss_bytes, rss_after_free_bytes;
  std::optional<PeakRssSource> peak_rss_source;  // absent with peak_rss_bytes
  std::optional<double> minor_faults, major_faults;
  std::optional<double> throughput;
  std::string throughput_unit;
  // What identified the allocator inside the cell (absent: nothing did).
  std::optional<formats::Backend> identified_backend;
  std::string identified_library, identified_version;
  std::optional<IdentificationMethod> identification_method;  // absent: nothing identified
  bool verified = false;
  std::string mismatch;
  std::string message;      // why the cell failed, one line
  std::string stderr_tail;  // last lines of the cell's stderr when it failed
  std::string timeline_path;
  std::optional<MemoryOverTime> memory;  // JSON "memory"; absent without a timeline
  std::vector<std::string> command;
  nlohmann::json measurements = nlohmann::json::object();  // the workload's own figures
  // Where the cell ran, when a cluster task ran it (empty for the local engine, whose machine
  // is results.json's environment): host name, CPU model, kernel, and the scheduler's task
  // ("<array job>_<index>" under Slurm). JSON "node" {host, cpu_model, kernel, task}.
  std::string node_host, node_cpu_model, node_kernel, node_task;

  // "workload|configuration|threads|repeat": what --resume matches on.
  std::string key() const;
  // The figure named `metric` (see kMetrics), if measured.
  std::optional<double> metric(const std::string& metric) const;
  bool operator==(const Cell&) const = default;
};

// Metrics summarized per workload x configuration, in table order.
// The latency figures (nanoseconds) come from the workload's measurements, where it timed
// its malloc and free calls (formats/workload.h); summarized only where measured.
// Request latency (request_pNN_ms, request_max_ms) is a program's own figure (its JSON or
// name=value output, or a load generator's CSV table: docs/matrix.md, "Servers").
// final_rss_bytes and plateau_rss_bytes come from the cell's memory over time (a command
// cell's older measurements.final_rss_bytes where there is none).
inline const std::vector<std::string> kMetrics = {"wall_ms",
                                                  "user_ms",
                                                  "sys_ms",
                                                  "peak_rss_bytes",
                                                  "rss_after_free_bytes",
                                                  "final_rss_bytes",
                                                  "plateau_rss_bytes",
                                                  "page_faults",
                                                  "throughput",
                                                  "malloc_p50_ns",
                                                  "malloc_p99_ns",
                                                  "malloc_p999_ns",
                                                  "malloc_max_ns",
                                                  "free_p50_ns",
                                                  "free_p99_ns",
                                                  "free_p999_ns",
                                                  "free_max_ns",
                                                  "request_p50_ms",
                                                  "request_p99_ms",
                                                  "request_p999_ms",
                                                  "request_max_ms"};

// The median of a sample with its order-statistic interval (bench/matrix stats.h computes it).
struct MedianInterval {
  std::size_t n = 0;
  double median = 0;  // the middle value, or the mean of the two middle values for even n
  double min = 0, max = 0;
  double lo = 0, hi = 0;    // the interval's bounds
  std::size_t lo_rank = 0;  // 1-based rank l of lo (hi is rank n + 1 - l)
  double level = 0;         // the coverage the interval really has
  bool reached = false;     // level >= the requested confidence
  bool operator==(const MedianInterval&) const = default;
};

struct Summary {
  std::string workload, configuration, metric;
  int threads = 0;
  std::string unit;  // for throughput: the workload's unit
  MedianInterval value;
  std::optional<MedianInterval> ratio;  // to the baseline configuration, repeat-paired
  std::size_t excluded = 0;             // cells of this group left out (not ok)
  bool operator==(const Summary&) const = default;
};

// --- The recommendation: which configurations to run (bench/matrix recommend.h computes it) ---

// A configuration in one scope of the recommendation, with the figures the decision used: per
// workload the medians in the axis's unit, overall the geometric mean over the workloads of the
// median ratio to the baseline (absent when the baseline has no ok cell somewhere).
struct Standing {
  std::string configuration;
  std::map<std::string, double> figures;            // axis -> value
  std::string dominated_by;                         // empty: on the Pareto front
  std::vector<std::string> indistinguishable_from;  // other front members tied on every axis
  std::vector<std::string> best_on;                 // axes where no configuration is clearly better
  bool operator==(const Standing&) const = default;
};

struct Excluded {
  std::string configuration, reason;
  bool operator==(const Excluded&) const = default;
};

// One scope: a workload at a thread count, or the whole matrix (workload "").
struct Advice {
  std::string workload;  // "": overall
  int threads = 0;
  std::vector<std::string> axes;  // metrics compared, all lower-is-better ("wall_ms", ...)
  // The lowest coverage among the intervals that decided (0: single repeats, no interval).
  double level = 0;
  std::vector<Standing> front;      // not dominated, ordered by the first axis
  std::vector<Standing> dominated;  // each with the front configuration that dominates it
  std::vector<Excluded> excluded;   // no ok cell (failed, unverified) in this scope
  std::string answer;               // one line
  // How this scope was ranked where the method alone does not say: the overall of a matrix
  // whose workloads rank time on different axes, an axis left out because a workload lacks it.
  std::vector<std::string> notes;
  bool operator==(const Advice&) const = default;
};

struct Recommendation {
  std::string method;  // how the front was decided, one paragraph
  std::vector<Advice> workloads;
  std::optional<Advice> overall;  // absent: fewer than two workload scopes
  bool operator==(const Recommendation&) const = default;
};

struct Results {
  Plan plan;
  Environment environment;
  std::vector<Cell> cells;
  std::vector<Summary> summaries;
  std::optional<Recommendation> recommendation;  // absent in files from before it existed
  bool complete = false;                         // every planned cell has run
  bool operator==(const Results&) const = default;
};

// The plan and environment objects of results.json (also embedded in a cell plan file,
// formats/matrix_plan.h). The readers throw formats::FormatError naming the field.
nlohmann::json plan_to_json(const Plan& plan);
Plan plan_from_json(const formats::Obj& o);
nlohmann::json environment_to_json(const Environment& environment);
Environment environment_from_json(const formats::Obj& o);

// The recommendation object of results.json ("recommendation"). The reader throws
// formats::FormatError naming the field.
nlohmann::json recommendation_to_json(const Recommendation& r);
Recommendation recommendation_from_json(const formats::Obj& o);

// results.json. The reader checks the schema, every field's type and range (times, bytes and
// counts >= 0, ci_low <= median <= ci_high, known statuses) and names the field it rejects.
nlohmann::json to_json(const Results& results);
Result<Results> results_from_json(const nlohmann::json& doc, const std::string& file);
Result<Results> read_results(const std::string& path);
// results.json, results.csv and summary.csv in `dir`, each atomically, relative to the
// directory's fd (never through a link planted in it). The path form opens `dir` as an
// OutputDir first (a link or another user's directory is refused).
Status write_results(const OutputDir& dir, const Results& results);
Status write_results(const std::string& dir, const Results& results);
// The text of results.json (the same document as to_json, one cell per line), built without
// holding the whole JSON tree in memory.
std::string results_json_text(const Results& results);

// One cell on its own (arenalab.matrix-cell/1): the cell object of results.json with a schema.
nlohmann::json cell_to_json(const Cell& cell);
Result<Cell> cell_from_json(const nlohmann::json& doc, const std::string& file);
Result<Cell> read_cell(const std::string& path);
// As `name` in `dir`, atomically and durably: a new temporary relative to the directory's fd
// (O_EXCL|O_NOFOLLOW, unpredictable name), fsync, rename, fsync of the directory. A crash at
// any moment leaves the previous file or the whole new one; a planted link is never followed.
Status write_cell(const OutputDir& dir, const std::string& name, const Cell& cell);

std::string cells_csv(const Results& results);
std::string summaries_csv(const Results& results);

// --- The view reports and check read a matrix through ---

// A figure of a group: the recorded summary (median and its interval) when the matrix wrote
// one, else the median of the cells that ran with their min..max. Absent: never measured.
struct Figure {
  std::optional<double> value, lo, hi;
  std::optional<double> ratio;  // to the baseline configuration (recorded, else of medians)
};

enum class GroupStatus {
  kOk,          // every repeat ran and was verified
  kPartial,     // some repeats did not run; the others are ok
  kUnverified,  // at least one repeat ran under another allocator
  kFailed,      // no repeat ran
};
const char* group_status_name(GroupStatus s);  // "ok", "partial", "unverified", "failed"

struct Group {
  std::string workload, configuration;
  int threads = 0;
  GroupStatus status = GroupStatus::kOk;
  std::string status_detail;  // why, in one line
  int repeats = 0, failed_repeats = 0;
  Figure wall_ms, peak_rss_bytes, rss_after_free_bytes;
  Figure final_rss_bytes, plateau_rss_bytes;  // memory over time (absent without timelines)
  // The verdicts over the repeats that ran (MemoryOverTime::verdict: the classifier's, or the
  // judgement across configurations), most frequent first, with counts ("stable 2/3, leak
  // 1/3"); empty without timelines. creeping: some repeat's RSS kept growing (leak or
  // non-heap-growth).
  std::string growth;
  bool creeping = false;
  // Latency percentiles as the matrix summarized them over the ok repeats (median and its
  // interval): metric -> figure (malloc_p50_ns ... free_max_ns in ns, request_p50_ms ... in
  // ms). Empty: not timed.
  std::map<std::string, Figure> latency;
  bool usable() const { return status == GroupStatus::kOk || status == GroupStatus::kPartial; }
};

// The groups of a results document, in the order their first cell appears.
std::vector<Group> groups(const Results& results);

}  // namespace arenalab::matrix
