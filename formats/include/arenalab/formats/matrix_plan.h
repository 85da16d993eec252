// SPDX-License-Identifier: Apache-2.0
// A matrix planned once into a file (arenalab.matrix-plan/1, OUT/plan.json): every cell with its
// workload, configuration, threads, repeat, run-order sequence, command and environment, grouped
// into units a cluster task runs on one node; and the record of a matrix's Slurm submissions
// (arenalab.matrix-slurm/1, OUT/slurm/jobs.json). The cluster engine writes both; `arenalab
// matrix --cell`, `--merge` and `--status` read them.
#pragma once

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "arenalab/core/result.h"
#include "arenalab/formats/json.h"
#include "arenalab/formats/matrix.h"

namespace arenalab::matrix {

inline constexpr const char* kPlanSchema = "arenalab.matrix-plan/1";
inline constexpr const char* kSlurmJobsSchema = "arenalab.matrix-slurm/1";

// A workload as the cell runner needs it on a node (no --help probe there).
struct PlannedWorkload {
  std::string name, category, description;
  std::string program;  // absolute path, on storage every node sees
  bool threads_flag = false;
  std::vector<std::string> command;  // a --command workload's words, run as given (else empty)
  std::vector<std::string> driver;   // a server's driver (absolute program), else empty
  std::string ready;                 // a server's ready address (tcp:HOST:PORT, unix:PATH)
  bool takes_duration = false;       // given the plan's --duration (plan.duration_s > 0)
  bool operator==(const PlannedWorkload&) const = default;
};

// One cell. Its sequence is its position in the local engine's run order (repeat, workload,
// threads, configuration), so a merged cluster matrix orders its cells as a local one would.
struct PlannedCell {
  std::size_t group = 0;  // the unit one cluster task runs: one workload x threads x repeat
  std::string workload, configuration;
  int threads = 0, repeat = 0, sequence = 0;
  std::vector<std::string> command;                              // what the cell runs
  std::vector<std::pair<std::string, std::string>> environment;  // the configuration's variables
  std::string key() const;  // as Cell::key(): "workload|configuration|threads|repeat"
  bool operator==(const PlannedCell&) const = default;
};

struct CellPlan {
  Plan plan;                    // as results.json's plan (identification resolved at planning)
  Environment environment;      // the planning host's (results.json's); every cell records its node
  std::string out_dir;          // absolute: where the cell records go
  std::string allocators_file;  // absolute configurations file the cells resolve names in
  double timeout_s = 600;       // per cell
  std::vector<PlannedWorkload> workloads;
  std::vector<PlannedCell> cells;  // in sequence order; a group's cells are contiguous
  std::size_t groups = 0;          // groups are 0..groups-1
  bool operator==(const CellPlan&) const = default;
};

// The reader checks the schema, that sequences are 0..n-1 in order, that groups are 0..groups-1
// with contiguous cells, and that every cell names a planned workload and configuration; it
// names the field it rejects.
nlohmann::json cell_plan_to_json(const CellPlan& plan);
Result<CellPlan> cell_plan_from_json(const nlohmann::json& doc, const std::string& file);
Result<CellPlan> read_cell_plan(const std::string& path);
Status write_cell_plan(const std::string& path, const CellPlan& plan);  // temp + rename

// One sbatch submission of a matrix: the array job over some groups and its dependent merge.
struct SlurmSubmission {
  std::string array_job;            // Slurm job id of the array
  std::string merge_job;            // the dependent merge job ("" if it could not be submitted)
  std::vector<std::size_t> groups;  // array indices submitted (= plan groups)
  std::vector<std::string> sbatch;  // the array's sbatch command line
  std::string submitted_at;         // UTC, ISO 8601
  bool operator==(const SlurmSubmission&) const = default;
};

struct SlurmJobs {
  std::vector<SlurmSubmission> submissions;  // oldest first; --resume appends
  bool operator==(const SlurmJobs&) const = default;
};

nlohmann::json slurm_jobs_to_json(const SlurmJobs& jobs);
Result<SlurmJobs> read_slurm_jobs(const std::string& path);
Status write_slurm_jobs(const std::string& path, const SlurmJobs& jobs);  // temp + rename

}  // namespace arenalab::matrix
