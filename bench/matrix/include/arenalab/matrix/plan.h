// SPDX-License-Identifier: Apache-2.0
// The matrix planned once into OUT/plan.json (formats/matrix_plan.h) and the three things a
// cluster does with it: run one group of cells on a node (`arenalab matrix --cell`), merge the
// cell records into results.json (`--merge`), and count progress (`--status`). A group is one
// workload x thread count x repeat over every configuration, run in order on one node, so the
// repeat-paired ratios never compare two machines. Cells run through execute_cell and are
// recorded with record_cell, as in the local engine.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "arenalab/core/result.h"
#include "arenalab/formats/matrix_plan.h"
#include "arenalab/matrix/matrix.h"
#include "arenalab/matrix/record.h"

namespace arenalab::matrix {

inline constexpr const char* kPlanName = "plan.json";

// Plans options.plan over options.workloads x options.configurations: the cells in the local
// engine's run order (repeat, workload, threads, configuration), one group per repeat x
// workload x threads, identification resolved as run_matrix resolves it (`auto`: the runner
// unless the same preflight fails), the environment captured (options.environment if given).
// out_dir and allocators_file become absolute. Errors: out_dir not creatable.
Result<CellPlan> plan_matrix(const MatrixOptions& options);

// Where a cell ran: this host's name, CPU model and kernel, and the scheduler task
// (SLURM_ARRAY_JOB_ID_SLURM_ARRAY_TASK_ID when set).
struct NodeInfo {
  std::string host, cpu_model, kernel, task;
};
NodeInfo this_node();

struct GroupRun {
  std::size_t ran = 0;      // cells run and recorded now
  std::size_t skipped = 0;  // cells that already had a readable record (a requeued task)
  std::size_t not_ok = 0;   // of those run, cells whose status is not ok
};

// Runs group `group` of the plan on this node: every cell of it without a readable record, in
// plan order, each as the local engine runs it (a CellRequest through `executor`, default
// execute_cell; then workload, configuration, threads, repeat and sequence from the plan, and
// the node), each recorded once with record_cell before the next starts. With plan.warmup,
// repeat 0's group first runs each configuration once unrecorded. Errors: group out of range,
// the configurations file unreadable, or a configuration whose environment is no longer the
// one planned (the file changed since planning), or a record that cannot be written.
Result<GroupRun> run_plan_group(const CellPlan& plan, std::size_t group,
                                const std::function<Cell(const CellRequest&)>& executor = {},
                                const NodeInfo& node = this_node());

// What the scheduler says about the task that ran a group.
struct TaskState {
  std::string task;       // "<job>_<index>"
  std::string state;      // Slurm's: PENDING, RUNNING, COMPLETED, FAILED, CANCELLED, TIMEOUT, ...
  std::string exit_code;  // "code:signal" as Slurm prints it ("" when unknown)
  std::string reason;     // Slurm's Reason, or the task's own exit record
  std::string source;     // "sacct", "scontrol" or "exit record"
  bool ended() const;     // a state no task leaves (not pending, running, suspended, ...)
};
using TaskStates = std::map<std::size_t, TaskState>;  // by group

struct PlanMerge {
  Results results;  // plan cells with records, plus failed cells for groups whose task ended
  std::vector<std::string> notes;  // problems with records (merge_cell_records), foreign records
  std::size_t records = 0, duplicates = 0, corrupt = 0;
  std::size_t failed_tasks = 0;  // cells without a record whose task ended: listed as failed
  std::size_t missing = 0;       // cells without a record whose task has not ended (or unknown)
};

// Merges the records under plan.out_dir with the plan. A planned cell without a record whose
// group's task ended is listed as failed (timeout for Slurm's TIMEOUT) with the task's state,
// exit code and reason; one whose task is pending, running or unknown is missing (results are
// then not complete). Records of cells the plan does not hold are left out with a note.
PlanMerge merge_plan(const CellPlan& plan, const TaskStates& states);

// Writes the merge as results.json, results.csv and summary.csv in plan.out_dir.
Status write_plan_merge(const CellPlan& plan, PlanMerge& merge);

// The cells of a cluster matrix by node type (CPU model), each with its hosts and its own
// summaries. A group's cells run on one node, so paired ratios hold within a type; medians over
// several types mix machines, hence the table per type. Cells without a node are left out.
struct NodeType {
  std::string cpu_model;
  std::map<std::string, std::size_t> hosts;  // host -> cells
  Results results;                           // the plan, these cells, their summaries
};
std::vector<NodeType> node_types(const Results& results);

// Groups with at least one planned cell without a readable record (what --resume resubmits).
std::vector<std::size_t> groups_to_run(const CellPlan& plan);

}  // namespace arenalab::matrix
