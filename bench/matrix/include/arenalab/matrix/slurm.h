// SPDX-License-Identifier: Apache-2.0
// The Slurm engine: one job array over a plan's groups (`sbatch --array`), each task running
// `arenalab matrix --cell PLAN INDEX`, and a dependent job (`--dependency=afterany`) that merges;
// and what Slurm says about the tasks afterwards (sacct, else scontrol, else the task's own
// exit record), so a cell whose task failed is listed with Slurm's reason.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "arenalab/core/result.h"
#include "arenalab/formats/matrix_plan.h"
#include "arenalab/matrix/plan.h"

namespace arenalab::matrix {

struct SlurmOptions {
  std::string arenalab;            // absolute path of the arenalab the tasks run
  std::string partition;           // --partition (empty: the cluster's default)
  std::vector<std::string> extra;  // --slurm-opt, split into words, given to both jobs
  int max_parallel = 0;            // %K of --array (0: no limit)
  bool exclusive = true;           // --exclusive for the array's tasks
  std::string sbatch = "sbatch";   // the program (tests point it elsewhere)
};

// "a b 'c d'" -> {a, b, c d}: words split on blanks, single or double quotes keep blanks.
Result<std::vector<std::string>> split_words(const std::string& text);

// The --array value for these (sorted, distinct) indices: ranges, then "%K" when K > 0:
// {0,1,2,5,7,8} and 2 -> "0-2,5,7-8%2".
std::string array_spec(const std::vector<std::size_t>& indices, int max_parallel);

// Writes OUT/slurm/task.sh and merge.sh and submits the array over `groups` and the merge job
// after it; appends the submission to OUT/slurm/jobs.json and returns it. Errors: sbatch
// missing or refusing (its message), a script that cannot be written.
Result<SlurmSubmission> submit_slurm(const CellPlan& plan, const std::vector<std::size_t>& groups,
                                     const SlurmOptions& options);

// Parses `sacct -X -n -P -o JobID,State,ExitCode,Reason` lines of array job `job`
// ("12_3|FAILED|137:0|None", "12_[4-6%2]|PENDING|0:0|JobArrayTaskLimit").
TaskStates parse_sacct(const std::string& text, const std::string& job);
// Parses `scontrol -o show job JOB` (one record per line: JobId=13 ArrayJobId=12
// ArrayTaskId=1 JobState=FAILED Reason=NonZeroExitCode ... ExitCode=137:0; pending tasks
// share one record, ArrayTaskId=4-6).
TaskStates parse_scontrol(const std::string& text, const std::string& job);

struct TaskQuery {
  TaskStates states;               // by group, the latest submission of each group winning
  std::string source;              // what answered: "sacct", "scontrol", "exit records" (or a mix)
  std::vector<std::string> notes;  // why a source was not used
};

// What Slurm says about the tasks of a matrix's submissions (OUT/slurm/jobs.json). Order:
// sacct (needs accounting storage: with AccountingStorageType=none it fails and says so);
// else scontrol (slurmctld's memory: a finished job stays there MinJobAge, 300 s by default,
// which covers the dependent merge job that starts right after the array); else the exit
// record each task's script writes (OUT/slurm/exit/<job>_<index>: "exit N", or "signal TERM"
// when Slurm signalled it). A group none of them knows is absent.
TaskQuery query_slurm_tasks(const std::string& out_dir, const SlurmJobs& jobs);

}  // namespace arenalab::matrix
