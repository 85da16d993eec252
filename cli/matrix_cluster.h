// SPDX-License-Identifier: Apache-2.0
// arenalab matrix on a cluster (cmd_matrix_cluster.cc): plan, submit to Slurm, run one group
// (--cell), merge (--merge), progress (--status). cmd_matrix.cc parses the flags.
#pragma once

#include <string>

#include "arenalab/matrix/matrix.h"

namespace arenalab::cli {

struct ClusterArgs {
  std::string engine = "local";  // local | slurm
  std::string partition, slurm_opt;
  int max_parallel = 0;
  bool plan_only = false;
  bool no_exclusive = false;  // array tasks may share nodes (development only)
};

// Plans opt into opt.out_dir/plan.json; with engine slurm submits it. Exit code.
int matrix_plan_and_submit(const matrix::MatrixOptions& opt, const ClusterArgs& args);
// --engine slurm --resume: resubmits the groups of out_dir's plan with cells not recorded.
int matrix_slurm_resume(const std::string& out_dir, const ClusterArgs& args);
int matrix_cell(const std::string& plan_path, const std::string& index);
int matrix_merge(const std::string& dir);
int matrix_status(const std::string& dir);

}  // namespace arenalab::cli
