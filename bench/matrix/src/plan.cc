// SPDX-License-Identifier: Apache-2.0
// Planning a matrix into plan.json, running one group of it, and merging its records (plan.h).
#include "arenalab/matrix/plan.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <optional>
#include <set>
#include <unordered_map>

#include "arenalab/core/files.h"
#include "arenalab/core/process.h"
#include "arenalab/matrix/matrix.h"
#include "arenalab/matrix/memory.h"
#include "arenalab/matrix/recommend.h"
#include "arenalab/matrix/record.h"
#include "arenalab/matrix/results.h"
#include "arenalab/runner/runner.h"

namespace arenalab::matrix {
namespace {

std::string absolute(const std::string& path) {
  std::error_code ec;
  auto p = std::filesystem::absolute(path, ec);
  return ec ? path : p.lexically_normal().string();
}

}  // namespace

Result<CellPlan> plan_matrix(const MatrixOptions& opt) {
  CellPlan p;
  p.out_dir = absolute(opt.out_dir);
  // A link or another user's directory is refused (OutputDir); the tasks write their records
  // relative to it (record_cell).
  auto out = OutputDir::open(p.out_dir, ExistingDir::kAccept);
  if (!out) return out.error();
  p.plan = opt.plan;
  resolve_identification(opt, p.plan, *out);
  p.environment = opt.environment ? *opt.environment : capture_environment(opt.configurations);
  p.allocators_file =
      absolute(opt.allocators_file.empty() ? default_configurations_path() : opt.allocators_file);
  p.timeout_s = opt.timeout_s;
  for (const auto& w : opt.workloads)
    p.workloads.push_back({w.name, w.category, w.description, absolute(w.program), w.threads_flag,
                           w.command, w.driver, w.ready, w.takes_duration});
  // The local engine's order (run_matrix): repeat, workload, threads, configuration; a workload
  // without --threads runs once, at its default.
  const std::vector<int> threads =
      opt.plan.threads.empty() ? std::vector<int>{0} : opt.plan.threads;
  for (int r = 0; r < opt.plan.repeats; ++r)
    for (const auto& w : opt.workloads)
      for (int t : threads) {
        if (t > 0 && !w.threads_flag && t != threads.front()) continue;
        const int th = w.threads_flag ? t : 0;
        for (const auto& c : opt.configurations) {
          PlannedCell pc;
          pc.group = p.groups;
          pc.workload = w.name;
          pc.configuration = c.name;
          pc.threads = th;
          pc.repeat = r;
          pc.sequence = static_cast<int>(p.cells.size());
          // The command execute_cell runs (informational: the node rebuilds it the same way).
          pc.command = w.command.empty() ? std::vector<std::string>{absolute(w.program), "--json"}
                                         : w.command;
          if (opt.plan.smoke && w.command.empty()) pc.command.push_back("--smoke");
          if (opt.plan.duration_s > 0 && w.takes_duration && w.command.empty()) {
            pc.command.push_back("--duration");
            pc.command.push_back(fmt::format("{}", opt.plan.duration_s));
          }
          if (th > 0) {
            pc.command.push_back("--threads");
            pc.command.push_back(std::to_string(th));
          }
          pc.environment = configuration_environment(c);
          p.cells.push_back(std::move(pc));
        }
        ++p.groups;
      }
  return p;
}

NodeInfo this_node() {
  const Environment env = capture_environment({});
  NodeInfo n{env.hostname, env.cpu_model, env.kernel, ""};
  const char* job = std::getenv("SLURM_ARRAY_JOB_ID");
  const char* task = std::getenv("SLURM_ARRAY_TASK_ID");
  if (job && task) n.task = std::string(job) + "_" + task;
  return n;
}

namespace {

bool has_record(const std::string& dir) {
  return static_cast<bool>(read_cell(dir + "/" + kCellRecordName));
}

}  // namespace

Result<GroupRun> run_plan_group(const CellPlan& plan, std::size_t group,
                                const std::function<Cell(const CellRequest&)>& executor_in,
                                const NodeInfo& node) {
  if (group >= plan.groups)
    return make_error(fmt::format("group {} is not in the plan (it has groups 0..{})", group,
                                  plan.groups == 0 ? 0 : plan.groups - 1));
  auto configs = load_configurations(plan.allocators_file);
  if (!configs) return configs.error();
  // The records are written relative to this directory (a link or another user's is refused).
  auto out_dir = OutputDir::open(plan.out_dir, ExistingDir::kAccept);
  if (!out_dir) return out_dir.error();
  std::unordered_map<std::string, const PlannedWorkload*> workloads;
  for (const auto& w : plan.workloads) workloads[w.name] = &w;
  const auto executor = executor_in ? executor_in : execute_cell;

  std::vector<const PlannedCell*> cells;
  for (const auto& c : plan.cells)
    if (c.group == group) cells.push_back(&c);
  // Resolve every configuration before the first cell: a changed file fails the task at once.
  std::vector<Configuration> resolved;
  for (const auto* c : cells) {
    auto conf = find_configuration(*configs, c->configuration);
    if (!conf) return conf.error();
    if (configuration_environment(*conf) != c->environment)
      return make_error("configuration '" + c->configuration + "' in " + plan.allocators_file +
                        " is not the one planned (its environment changed since planning)");
    resolved.push_back(*conf);
  }
  auto request = [&](const PlannedCell& c, const Configuration& conf, const std::string& dir) {
    const PlannedWorkload& pw = *workloads.at(c.workload);
    CellRequest req;
    req.workload = {pw.name,    pw.category, pw.description, pw.program,       pw.threads_flag,
                    pw.command, pw.driver,   pw.ready,       pw.takes_duration};
    req.configuration = conf;
    req.threads = c.threads;
    req.smoke = plan.plan.smoke;
    req.duration_s = plan.plan.duration_s;
    req.timeline = plan.plan.timeline;
    req.cell_dir = dir;
    req.timeout_s = plan.timeout_s;
    req.allocators_file = plan.allocators_file;
    req.use_runner = plan.plan.identification == CellIdentification::kRunner;
    return req;
  };
  GroupRun out;
  // cells/ opened once, made 0700 through OUT's fd (a link planted for it is refused).
  auto cells_dir = out_dir->open_subdir("cells");
  if (!cells_dir) return cells_dir.error();
  if (plan.plan.warmup && !cells.empty() && cells.front()->repeat == 0) {
    // A directory of its own, made here and removed after the warm-ups through cells/' fd. A
    // termination signal meanwhile (the scheduler's SIGTERM at a cancel or a time limit) stops
    // the warm-up running (matrix_stopped), and once the directory is removed the process ends
    // by it as it would have.
    std::optional<TerminationSignals> guard;
    if (!TerminationSignals::active()) guard.emplace();
    remove_stale_scratch(*cells_dir);
    auto warm = cells_dir->make_fresh_subdir(fmt::format("warmup-{}", group));
    if (!warm) return warm.error();
    for (std::size_t i = 0; i < cells.size() && !matrix_stopped(); ++i) {
      auto req = request(*cells[i], resolved[i], warm->path());
      req.dir = &*warm;
      req.timeline = false;
      (void)executor(req);
    }
    if (auto s = cells_dir->remove_subdir(std::filesystem::path(warm->path()).filename().string());
        !s)
      return s.error();
    if (const int sig = TerminationSignals::first(); matrix_stopped()) {
      guard.reset();
      exit_by_signal(sig);
      return make_error("stopped by " + signal_name(sig) + " during the warm-up");
    }
  }
  for (std::size_t i = 0; i < cells.size(); ++i) {
    const PlannedCell& c = *cells[i];
    const std::string dir =
        cell_directory(plan.out_dir, c.workload, c.configuration, c.threads, c.repeat);
    if (has_record(dir)) {
      ++out.skipped;
      continue;
    }
    // Its directory made (or checked) through cells/' fd before it runs, kept open for its record.
    auto cell_dir =
        open_cell_directory(*cells_dir, c.workload, c.configuration, c.threads, c.repeat);
    if (!cell_dir) return cell_dir.error();
    auto req = request(c, resolved[i], dir);
    req.dir = &*cell_dir;
    Cell cell = executor(req);
    cell.workload = c.workload;
    cell.configuration = c.configuration;
    cell.threads = c.threads;
    cell.repeat = c.repeat;
    cell.sequence = c.sequence;
    cell.node_host = node.host;
    cell.node_cpu_model = node.cpu_model;
    cell.node_kernel = node.kernel;
    cell.node_task = node.task;
    if (cell.status != CellStatus::kOk) ++out.not_ok;
    if (auto s = record_cell_in(*cell_dir, cell); !s) return s.error();
    ++out.ran;
  }
  return out;
}

bool TaskState::ended() const {
  static const std::set<std::string> kRunning = {
      "PENDING",  "RUNNING",      "REQUEUED",    "SUSPENDED", "CONFIGURING", "COMPLETING",
      "RESIZING", "REQUEUE_HOLD", "REQUEUE_FED", "SIGNALING", "STAGE_OUT",   "RESV_DEL_HOLD"};
  if (state.empty()) return false;
  // sacct prints "CANCELLED by 0": the first word is the state.
  return !kRunning.count(state.substr(0, state.find(' ')));
}

PlanMerge merge_plan(const CellPlan& plan, const TaskStates& states) {
  PlanMerge m;
  std::set<std::string> planned_records;  // relative to OUT/cells, as cell_directory lays them out
  for (const auto& pc : plan.cells)
    planned_records.insert(fmt::format("{}/{}/t{}/r{}/{}", pc.workload, pc.configuration,
                                       pc.threads, pc.repeat, kCellRecordName));
  Merged merged = merge_cell_records(
      plan.out_dir, [&](const std::string& rel) { return planned_records.count(rel) > 0; });
  m.notes = std::move(merged.notes);
  m.records = merged.records;
  m.duplicates = merged.duplicates;
  m.corrupt = merged.corrupt;
  std::unordered_map<std::string, Cell*> by_key;
  for (auto& c : merged.cells) by_key[c.key()] = &c;
  std::set<std::string> planned;
  for (const auto& pc : plan.cells) planned.insert(pc.key());
  for (const auto& c : merged.cells)
    if (!planned.count(c.key()))
      m.notes.push_back("cell " + c.key() + " has a record but is not in " + plan.out_dir +
                        "/plan.json: left out");
  Results& r = m.results;
  r.plan = plan.plan;
  r.environment = plan.environment;
  for (const auto& pc : plan.cells) {
    if (auto it = by_key.find(pc.key()); it != by_key.end()) {
      r.cells.push_back(std::move(*it->second));
      continue;
    }
    auto st = states.find(pc.group);
    if (st == states.end() || !st->second.ended()) {
      ++m.missing;
      continue;
    }
    // The task ended without recording this cell: failed, preempted, cancelled, killed. The
    // cell stays in the results, failed, with what the scheduler says.
    const TaskState& t = st->second;
    Cell cell;
    cell.workload = pc.workload;
    cell.configuration = pc.configuration;
    cell.threads = pc.threads;
    cell.repeat = pc.repeat;
    cell.sequence = pc.sequence;
    cell.command = pc.command;
    cell.status = t.state == "TIMEOUT" ? CellStatus::kTimeout : CellStatus::kFailed;
    cell.node_task = t.task;
    cell.message = fmt::format("slurm task {} {}", t.task, t.state);
    if (!t.exit_code.empty()) cell.message += " (ExitCode " + t.exit_code + ")";
    if (!t.reason.empty() && t.reason != "None") cell.message += ", reason " + t.reason;
    cell.message += "; no record written (from " + t.source + ")";
    ++m.failed_tasks;
    r.cells.push_back(std::move(cell));
  }
  std::stable_sort(r.cells.begin(), r.cells.end(),
                   [](const Cell& a, const Cell& b) { return a.sequence < b.sequence; });
  r.complete = m.missing == 0;
  return m;
}

Status write_plan_merge(const CellPlan& plan, PlanMerge& merge) {
  judge_across_configurations(merge.results.cells);
  merge.results.summaries = summarize(merge.results.cells, merge.results.plan);
  merge.results.recommendation = recommend(merge.results);
  // Relative to the directory opened and checked here (a link or another user's is refused).
  auto dir = OutputDir::open(plan.out_dir, ExistingDir::kAccept);
  if (!dir) return dir.error();
  return write_results(*dir, merge.results);
}

std::vector<NodeType> node_types(const Results& results) {
  std::map<std::string, NodeType> by_cpu;
  for (const auto& c : results.cells) {
    if (c.node_host.empty()) continue;
    NodeType& t = by_cpu[c.node_cpu_model];
    t.cpu_model = c.node_cpu_model;
    t.results.plan = results.plan;
    t.results.environment = results.environment;
    ++t.hosts[c.node_host];
    t.results.cells.push_back(c);
  }
  std::vector<NodeType> out;
  for (auto& [cpu, t] : by_cpu) {
    judge_across_configurations(t.results.cells);  // within a node type: same machines
    t.results.summaries = summarize(t.results.cells, t.results.plan);
    t.results.recommendation = recommend(t.results);
    out.push_back(std::move(t));
  }
  return out;
}

std::vector<std::size_t> groups_to_run(const CellPlan& plan) {
  std::vector<std::size_t> out;
  for (const auto& c : plan.cells) {
    if (!out.empty() && out.back() == c.group) continue;
    if (!has_record(cell_directory(plan.out_dir, c.workload, c.configuration, c.threads, c.repeat)))
      out.push_back(c.group);
  }
  return out;
}

}  // namespace arenalab::matrix
