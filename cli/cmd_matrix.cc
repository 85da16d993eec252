// SPDX-License-Identifier: Apache-2.0
// arenalab matrix: workloads x allocator configurations with medians, intervals and ratios to a
// baseline; results.json / results.csv / summary.csv (arenalab.matrix/1) and a terminal table.
#include <fmt/format.h>

#include <iostream>
#include <memory>

#include "arenalab/allocators/registry.h"
#include "arenalab/core/process.h"
#include "arenalab/matrix/matrix.h"
#include "arenalab/matrix/recommend.h"
#include "arenalab/matrix/results.h"
#include "command.h"
#include "matrix_cluster.h"

namespace arenalab::cli {
namespace {

struct MatrixArgs {
  std::string workloads, allocators = "all", threads, baseline = "glibc", out = "arenalab-matrix";
  std::string allocators_file, workloads_file, identify = "auto";
  std::vector<std::string> commands;          // --command NAME='CMD ARGS', repeatable
  std::vector<std::string> drivers, readies;  // --driver NAME='CMD ARGS', --ready NAME=ADDR
  int repeats = 3;
  double timeout_s = 600;
  double duration_s = 0;  // --duration: seconds, for the workloads that take it (0: not given)
  bool warmup = false, smoke = false, resume = false, quiet = false;
  // Every cell records its RSS over time unless --no-timeline (issue 24: memory over time);
  // --timeline is kept for the command lines that still give it.
  bool timeline = true, no_timeline = false;
  bool verbose = false;           // the per-workload tables after the recommendation
  ClusterArgs cluster;            // --engine and its options (cmd_matrix_cluster.cc)
  std::vector<std::string> cell;  // --cell PLAN INDEX
  std::string merge, status;      // --merge DIR, --status DIR
};

int run(const MatrixArgs& a) {
  using namespace arenalab::matrix;
  if (!a.cell.empty()) return matrix_cell(a.cell[0], a.cell[1]);
  if (!a.merge.empty()) return matrix_merge(a.merge);
  if (!a.status.empty()) return matrix_status(a.status);
  if (a.cluster.engine == "slurm" && a.resume) return matrix_slurm_resume(a.out, a.cluster);
  if (a.workloads.empty() && a.commands.empty()) {
    print_error("matrix",
                "nothing to run: give --workloads or --command NAME='CMD ARGS' (or --cell, "
                "--merge, --status)");
    return kExitUsage;
  }
  const std::string cfg_path =
      a.allocators_file.empty() ? default_configurations_path() : a.allocators_file;
  auto configs = load_configurations(cfg_path);
  if (!configs) {
    print_error("matrix", configs.error().message);
    return kExitError;
  }
  auto selected = select_configurations(*configs, split_list(a.allocators));
  if (!selected) {
    print_error("matrix", selected.error().message);
    return kExitUsage;
  }
  if (std::none_of(selected->begin(), selected->end(),
                   [&](const Configuration& c) { return c.name == a.baseline; })) {
    print_error("matrix", "--baseline '" + a.baseline + "' is not among --allocators");
    return kExitUsage;
  }
  auto known = load_workloads(a.workloads_file);
  if (!known) {
    print_error("matrix", known.error().message);
    return kExitError;
  }
  // --command NAME='CMD ARGS' joins the index under its own name, after --workloads.
  std::vector<std::string> wanted = split_list(a.workloads);
  for (const auto& spec : a.commands) {
    auto w = parse_command_workload(spec);
    if (!w) {
      print_error("matrix", w.error().message);
      return kExitUsage;
    }
    for (const auto& k : *known)
      if (k.name == w->name) {
        print_error("matrix", "--command " + w->name + ": a workload of that name exists");
        return kExitUsage;
      }
    wanted.push_back(w->name);
    known->push_back(std::move(*w));
  }
  // --driver and --ready make a --command a server (docs/matrix.md, "Servers").
  for (const auto* specs : {&a.drivers, &a.readies})
    for (const auto& spec : *specs)
      if (auto st = add_server_part(*known, spec, specs == &a.drivers); !st) {
        print_error("matrix", st.error().message);
        return kExitUsage;
      }
  auto workloads = select_workloads(*known, wanted);
  if (!workloads) {
    print_error("matrix", workloads.error().message);
    return kExitUsage;
  }
  if (a.duration_s > 0) {
    // Only workloads that declare it ("takes_duration" in the index) are given --duration; a
    // matrix where none does would silently ignore the flag.
    if (std::none_of(workloads->begin(), workloads->end(),
                     [](const WorkloadInfo& w) { return w.takes_duration; })) {
      print_error("matrix",
                  "--duration: no selected workload takes it (those that do: `arenalab "
                  "workloads`, category longrun, e.g. --workloads server_mix,drift)");
      return kExitUsage;
    }
    if (a.timeout_s < a.duration_s + 60) {
      print_error("matrix", fmt::format("--duration {} needs a --timeout of at least {} s (a "
                                        "cell is killed after --timeout, now {} s)",
                                        a.duration_s, a.duration_s + 60, a.timeout_s));
      return kExitUsage;
    }
  }
  MatrixOptions opt;
  for (const auto& w : *workloads) opt.plan.workloads.push_back(w.name);
  for (const auto& c : *selected) opt.plan.configurations.push_back(c.name);
  for (const auto& t : split_list(a.threads)) {
    char* end = nullptr;
    const long v = std::strtol(t.c_str(), &end, 10);
    if (*end != '\0' || v < 1 || v > 1024) {
      print_error("matrix", "--threads: '" + t + "' is not a thread count (1..1024)");
      return kExitUsage;
    }
    opt.plan.threads.push_back(static_cast<int>(v));
  }
  if (a.repeats < 1) {
    print_error("matrix", "--repeats must be at least 1");
    return kExitUsage;
  }
  opt.plan.repeats = a.repeats;
  opt.plan.warmup = a.warmup;
  opt.plan.baseline = a.baseline;
  opt.plan.smoke = a.smoke;
  opt.plan.duration_s = a.duration_s;
  opt.plan.timeline = !a.no_timeline;
  opt.workloads = *workloads;
  opt.configurations = *selected;
  opt.out_dir = a.out;
  opt.allocators_file = a.allocators_file;
  opt.identify = a.identify;
  opt.resume = a.resume;
  opt.progress = !a.quiet;
  opt.timeout_s = a.timeout_s;
  if (a.cluster.engine != "local" || a.cluster.plan_only)
    return matrix_plan_and_submit(opt, a.cluster);
  int interrupted_by = 0;
  opt.interrupted_by = &interrupted_by;
  auto results = run_matrix(opt);
  if (!results) {
    print_error("matrix", results.error().message);
    if (interrupted_by) return exit_by_signal(interrupted_by);
    return kExitError;
  }
  if (interrupted_by) {
    // Stopped by Ctrl-C or a SIGTERM: what was measured is kept, and how to go on is said.
    std::size_t total = 0;
    for (const auto& c : results->cells) total += c.status == matrix::CellStatus::kOk;
    std::cerr << fmt::format(
        "arenalab matrix: stopped by {}: {} cell(s) recorded ({} ok) in {}/results.json "
        "(complete: false); the cell that was running is not recorded; continue with the same "
        "command and --resume\n",
        signal_name(interrupted_by), results->cells.size(), total, a.out);
    return exit_by_signal(interrupted_by);
  }
  // The answer leads; the wide per-workload tables follow with --verbose (and are in the
  // report, and in results.json/summary.csv either way).
  if (results->recommendation)
    std::cout << render_recommendation(*results->recommendation, results->plan.baseline);
  std::cout << render_memory(*results);
  if (a.verbose)
    std::cout << render_table(*results);
  else
    std::cout << "(per-workload tables: --verbose, or arenalab report " << a.out << ")\n";
  std::size_t bad = 0;
  for (const auto& c : results->cells) bad += c.status != matrix::CellStatus::kOk;
  std::cout << fmt::format("{} cells, {} not ok (see results.json); results in {}/\n",
                           results->cells.size(), bad, a.out);
  return kExitOk;
}

void setup(CLI::App& root, int& exit_code) {
  auto a = std::make_shared<MatrixArgs>();
  auto* cmd = root.add_subcommand(
      "matrix",
      "Run workloads x allocator configurations: every cell its own verified process; medians, "
      "intervals and ratios to a baseline");
  cmd->add_option("--workloads", a->workloads,
                  "Comma list of workloads, categories (stress, seed, real) or all (required "
                  "unless --command, --cell, --merge or --status)");
  cmd->add_option("--command", a->commands,
                  "NAME='CMD ARGS': any program as a workload, run as given and measured from "
                  "outside (repeatable; docs/matrix.md)")
      ->allow_extra_args(false);
  cmd->add_option("--driver", a->drivers,
                  "NAME='CMD ARGS': the --command NAME is a server: this driver runs (without "
                  "the configuration) once it is ready, then the server is stopped (repeatable)")
      ->allow_extra_args(false);
  cmd->add_option("--ready", a->readies,
                  "NAME=tcp:HOST:PORT or NAME=unix:PATH: when a server is ready for its driver")
      ->allow_extra_args(false);
  cmd->add_option("--allocators", a->allocators, "Comma list of configurations or all")
      ->capture_default_str();
  cmd->add_option("--threads", a->threads,
                  "Comma list of thread counts (default: each workload's)");
  cmd->add_option("--repeats", a->repeats, "Repeats per cell")->capture_default_str();
  cmd->add_flag("--warmup", a->warmup, "One unrecorded run per workload x configuration first");
  cmd->add_option("--baseline", a->baseline, "Configuration the ratios divide by")
      ->capture_default_str();
  auto* timeline = cmd->add_flag(
      "--timeline", a->timeline,
      "Record every cell's RSS over time (timeline.jsonl; peak, final, plateau, growth verdict): "
      "the default");
  cmd->add_flag("--no-timeline", a->no_timeline,
                "Keep no timelines: no memory over time, sampled every 100 ms for identification "
                "only")
      ->excludes(timeline);
  cmd->add_flag("--smoke", a->smoke, "Small sizes (each workload's --smoke)");
  cmd->add_option("--duration", a->duration_s,
                  "Seconds each run of a long-running workload lasts (passed as --duration to the "
                  "workloads that take it: server_mix, drift)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--out", a->out, "Output directory")->capture_default_str();
  cmd->add_flag("--resume", a->resume,
                "Continue the results.json in --out, skipping finished cells");
  cmd->add_option("--allocators-file", a->allocators_file, "Configurations file (JSON)");
  cmd->add_option("--workloads-file", a->workloads_file, "Workload index (JSON)");
  cmd->add_option("--timeout", a->timeout_s, "Seconds before a cell is killed")
      ->capture_default_str();
  cmd->add_option("--identify", a->identify,
                  "How cells are identified: runner (interposer), harness (the workload's own "
                  "report), auto (runner unless its preflight fails)")
      ->check(CLI::IsMember({"auto", "runner", "harness"}))
      ->capture_default_str();
  cmd->add_flag("--quiet", a->quiet, "No progress bar on stderr");
  cmd->add_flag("--verbose", a->verbose,
                "After the recommendation, the per-workload tables (medians, intervals, ratios)");
  cmd->add_option("--engine", a->cluster.engine,
                  "Where cells run: local (here, one after another) or slurm (one job array "
                  "over the plan, a dependent merge job)")
      ->check(CLI::IsMember({"local", "slurm"}))
      ->capture_default_str();
  cmd->add_option("--partition", a->cluster.partition, "Slurm partition (--engine slurm)");
  cmd->add_option("--slurm-opt", a->cluster.slurm_opt,
                  "More sbatch options for both jobs, one string (--engine slurm)");
  cmd->add_option("--max-parallel", a->cluster.max_parallel,
                  "Array tasks running at once, sbatch --array=...%K (0: no limit)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_flag("--no-exclusive", a->cluster.no_exclusive,
                "Let array tasks share nodes (no sbatch --exclusive): timings then depend on "
                "the neighbours; for trying the engine out, not for results");
  cmd->add_flag("--plan-only", a->cluster.plan_only,
                "Write the cell plan (--out/plan.json) and stop");
  cmd->add_option("--cell", a->cell,
                  "PLAN INDEX: run group INDEX of a plan file (one workload's configurations; "
                  "what a Slurm array task runs) and record its cells")
      ->expected(2);
  cmd->add_option("--merge", a->merge,
                  "Merge the cell records of a planned matrix directory into results.json");
  cmd->add_option("--status", a->status, "Progress of a planned matrix directory");
  cmd->callback([a, &exit_code] { exit_code = run(*a); });
}

}  // namespace

ARENALAB_COMMAND(70, "matrix", setup);

}  // namespace arenalab::cli
