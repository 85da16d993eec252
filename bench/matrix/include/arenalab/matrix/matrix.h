// SPDX-License-Identifier: Apache-2.0
// The matrix runner: workloads x allocator configurations x thread counts x repeats, every cell
// its own process under the configuration's environment, configurations interleaved within a
// repeat, results written atomically after every cell so --resume can pick up where it stopped.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "arenalab/allocators/registry.h"
#include "arenalab/core/files.h"
#include "arenalab/core/result.h"
#include "arenalab/matrix/results.h"

namespace arenalab::matrix {

struct WorkloadInfo {
  std::string name, category, description;
  std::string program;        // absolute path (wl_<name> in bin_dir(), or a real-program driver)
  bool threads_flag = false;  // the program accepts --threads (read from its --help)
  // A command workload (--command NAME='CMD ARGS', or a "command" entry of the workload file):
  // any program, run exactly as given (nothing appended: no --json, --smoke or --threads),
  // measured from outside, adding the figures it prints (docs/matrix.md, "Your own programs").
  // command[0] as given; `program` is where it was found. Empty for the project's workloads.
  std::vector<std::string> command;
  // A server (a command with a driver; docs/matrix.md, "Servers"): the command is started under
  // the configuration, the driver (run without the configuration, e.g. a load generator) once
  // `ready` answers, and the server is stopped with SIGTERM when the driver exits. driver[0]
  // as given until select_workloads finds it in PATH. ready: "tcp:HOST:PORT" (a connect
  // succeeds) or "unix:PATH" (the socket accepts).
  std::vector<std::string> driver;
  std::string ready;
  // The program runs for `--duration SECONDS` ("takes_duration": true in the workload index):
  // `arenalab matrix --duration S` passes it on to these workloads only.
  bool takes_duration = false;
};

// --driver NAME='CMD ARGS' and --ready NAME=tcp:HOST:PORT|unix:PATH: make the --command NAME
// among `workloads` a server. Errors: no such command, a malformed spec or ready address.
Status add_server_part(std::vector<WorkloadInfo>& workloads, const std::string& spec,
                       bool is_driver);
// "tcp:HOST:PORT" or "unix:PATH"; errors say what was expected.
Status check_ready(const std::string& ready);

// Splits CMD ARGS into words as a shell would quote them ('single', "double" with \" \\ \$
// \` escapes, a backslash outside quotes), without running a shell: no variables, globs,
// pipes or redirections. Errors: an unterminated quote, or no word at all.
Result<std::vector<std::string>> split_command(const std::string& text);

// --command NAME='CMD ARGS': a command workload of category "command". NAME is letters,
// digits, '_', '-' and '.' (it names the cells' directories). The program is looked up in PATH
// when the workloads are selected.
Result<WorkloadInfo> parse_command_workload(const std::string& spec);

// Reads the workload index (build/share/arenalab/workloads.json unless `path` is given). An
// entry names a program (the wl_* convention: it prints an arenalab.workload object with
// --json) or a command (a string, quoted as split_command reads it, or an array of words).
Result<std::vector<WorkloadInfo>> load_workloads(const std::string& path = "");

// Resolves a comma list: names, category names (stress, seed, real, ...) or "all" (every
// workload of the stress, seed and real categories). Errors name the unknown entry and list
// what exists. Every selected workload's program must be executable (a command's is looked up
// in PATH); a project workload's --help is read for --threads, a command is never run here.
Result<std::vector<WorkloadInfo>> select_workloads(const std::vector<WorkloadInfo>& known,
                                                   const std::vector<std::string>& wanted);

// Resolves a comma list of configuration names or "all". Unavailable configurations (library
// missing) are an error naming the library.
Result<std::vector<Configuration>> select_configurations(const std::vector<Configuration>& known,
                                                         const std::vector<std::string>& wanted);

// Splits "a,b,c" (empty items dropped).
std::vector<std::string> split_list(const std::string& text);

// Everything one cell needs.
struct CellRequest {
  WorkloadInfo workload;
  Configuration configuration;
  int threads = 0;  // 0: the workload's default
  bool smoke = false;
  bool timeline = false;
  double duration_s = 0;  // > 0: `--duration S` for a workload that takes_duration
  std::string cell_dir;   // where the cell writes (timeline.jsonl, run.json)
  // The cell's directory as the matrix made or checked and opened it (not owned; null: the cell
  // opens cell_dir itself). What the cell does not keep is removed through it, entries only: the
  // directory stays, opened, for the record the matrix writes into it after the cell.
  const OutputDir* dir = nullptr;
  std::string allocators_file;  // empty: default_configurations_path()
  double timeout_s = 600;
  bool use_runner = true;  // false: plain child, identification from the workload's JSON
};

// Runs one cell in its own process and returns it with figures, identification and status.
// This is the one seam to the process layer: it never throws and never aborts the matrix.
//
// Identification: workloads built here run under arenalab::runner in stats mode; the
// interposer reads, inside the process, which object defines the malloc it calls (timeline
// header), and with --timeline its samples (RSS and the allocator's books) are kept. Real
// programs (category "real") run through their driver as a plain child, since the interposer
// would identify the driver rather than the server it starts; the driver reports what the
// dynamic linker bound its target's malloc to (LD_DEBUG=bindings).
Cell execute_cell(const CellRequest& request);

// A signal stopped the matrix (MatrixOptions::interrupted_by): a guard records the termination
// signals and one came. The running cell is killed and not waited for; run_matrix drops it.
bool matrix_stopped();

struct MatrixOptions {
  Plan plan;
  std::vector<WorkloadInfo> workloads;        // resolved, in plan order
  std::vector<Configuration> configurations;  // resolved, in plan order
  std::string out_dir;
  std::string allocators_file;  // passed to every cell (empty: the default file)
  // How built workloads are identified: "runner" (the interposer, stats mode), "harness" (the
  // workload's own in-process dladdr lookup, printed in its --json allocator block), or "auto":
  // the runner unless a preflight (the first workload's --help under the baseline through the
  // runner) fails, then the harness for the whole matrix, with the reason in the results.
  std::string identify = "auto";
  bool resume = false;
  bool progress = true;  // progress bar with ETA on stderr
  double timeout_s = 600;
  // Replaces execute_cell (tests, benchmarks); empty: execute_cell.
  std::function<Cell(const CellRequest&)> executor;
  // The machine as recorded (tests, benchmarks); absent: capture_environment probes it.
  std::optional<Environment> environment;
  // results.json, results.csv and summary.csv are merged at most this often while the matrix
  // runs (and once at the end); never after every cell. Seconds.
  double merge_interval_s = 5;
  // Problems the resume merge found (unreadable or duplicate cell records), one line each,
  // also printed on stderr. May be null.
  std::vector<std::string>* merge_notes = nullptr;
  // Given (the CLI): SIGINT, SIGTERM, SIGHUP and SIGQUIT stop the matrix rather than end the
  // process: the running cell is stopped and not recorded (a cell cut short is no measurement),
  // the cells done are merged into results.json (complete: false), and the signal is stored
  // here for the caller to end by, after it said where the results are (0: none came).
  int* interrupted_by = nullptr;
};

// Runs the plan: for each repeat, for each workload and thread count, every configuration in
// turn (A B C A B C ...), after an optional unrecorded warm-up round.
//
// Bookkeeping, linear in the cells: each finished cell is recorded once, on its own, durably
// (record.h: cells/<w>/<c>/t<n>/r<k>/cell.json, temp + fsync + rename), so a SIGKILL at any
// moment loses at most the running cell. out_dir/results.json (with the plan and the
// environment, written before the first cell), results.csv and summary.csv are merged from the
// cells in memory at most every merge_interval_s seconds — and never more often than every
// 4x the last merge's own duration, so merging stays a bounded share of the run however large
// the matrix grows — and once at the end. --resume rebuilds the finished cells from
// results.json and the cell records (merge_cell_records; a record wins over results.json).
// Errors: out_dir unusable, or results.json present without --resume, or a resumed file from
// an incompatible plan (other smoke setting), or a record that cannot be written.
Result<Results> run_matrix(const MatrixOptions& options);

// How cells identify their allocator (plan.identification): --identify runner|harness as
// given; `auto` runs the first built workload's --help under the baseline through the runner
// (in a directory of its own, cells/preflight.<random>, made through `out`'s fd and removed through
// it afterwards; never a --command workload) and falls back to the harness, with the reason in
// plan.identification_note, when that fails. The local engine and the cluster planner both call
// it.
void resolve_identification(const MatrixOptions& options, Plan& plan, const OutputDir& out);

// CPU model, kernel, glibc, THP settings, and every configuration's allocator version (from a
// probe process under it).
Environment capture_environment(const std::vector<Configuration>& configurations);

}  // namespace arenalab::matrix
