// SPDX-License-Identifier: Apache-2.0
// arenalab matrix on a cluster: the plan file, the Slurm submission, one group per task
// (--cell), the merge (--merge) and progress (--status). See docs/matrix.md, "On a cluster".
#include <fmt/format.h>
#include <unistd.h>

#include <climits>
#include <filesystem>
#include <iostream>
#include <map>

#include "arenalab/core/files.h"
#include "arenalab/matrix/plan.h"
#include "arenalab/matrix/recommend.h"
#include "arenalab/matrix/results.h"
#include "arenalab/matrix/slurm.h"
#include "command.h"
#include "matrix_cluster.h"

namespace arenalab::cli {
namespace {

using namespace arenalab::matrix;

std::string self_path() {
  char buf[PATH_MAX];
  const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : "arenalab";
}

Result<SlurmOptions> slurm_options(const ClusterArgs& a) {
  SlurmOptions o;
  o.arenalab = self_path();
  o.partition = a.partition;
  o.max_parallel = a.max_parallel;
  o.exclusive = !a.no_exclusive;
  auto words = split_words(a.slurm_opt);
  if (!words) return make_error("--slurm-opt: " + words.error().message);
  o.extra = *words;
  return o;
}

Result<SlurmJobs> jobs_of(const std::string& dir) {
  const std::string path = dir + "/slurm/jobs.json";
  if (!std::filesystem::exists(path)) return SlurmJobs{};
  return read_slurm_jobs(path);
}

// The merge of a matrix directory with what Slurm says about its tasks.
struct Look {
  CellPlan plan;
  SlurmJobs jobs;
  TaskQuery query;
  PlanMerge merge;
};

Result<Look> look(const std::string& dir) {
  Look l;
  auto plan = read_cell_plan(dir + "/" + kPlanName);
  if (!plan) return plan.error();
  l.plan = std::move(*plan);
  // The plan names its directory as planned; a directory moved since (or reached through
  // another mount point) is read where it is now.
  l.plan.out_dir = dir;
  auto jobs = jobs_of(dir);
  if (!jobs) return jobs.error();
  l.jobs = std::move(*jobs);
  if (!l.jobs.submissions.empty()) l.query = query_slurm_tasks(dir, l.jobs);
  l.merge = merge_plan(l.plan, l.query.states);
  return l;
}

void print_slurm_line(const Look& l) {
  if (l.jobs.submissions.empty()) return;
  const auto& last = l.jobs.submissions.back();
  std::size_t pending = 0, running = 0;
  for (const auto& [g, st] : l.query.states) {
    if (st.state.rfind("PENDING", 0) == 0) ++pending;
    if (st.state.rfind("RUNNING", 0) == 0) ++running;
  }
  std::cout << fmt::format(
      "slurm: {} submission{}, last array job {} ({} tasks), merge job {}; tasks pending {}, "
      "running {}; states from {}\n",
      l.jobs.submissions.size(), l.jobs.submissions.size() == 1 ? "" : "s", last.array_job,
      last.groups.size(), last.merge_job.empty() ? "-" : last.merge_job, pending, running,
      l.query.source.empty() ? "nothing (no task known yet)" : l.query.source);
  for (const auto& n : l.query.notes) std::cout << "  (" << n << ")\n";
}

// Which nodes the cells ran on, and, when they are of more than one type (CPU model), the
// table again per type (node_types).
void print_nodes(const Results& results) {
  const auto types = node_types(results);
  auto name = [](const NodeType& t) {
    return t.cpu_model.empty() ? std::string("(unknown CPU)") : t.cpu_model;
  };
  for (const auto& t : types) {
    std::string list;
    for (const auto& [host, n] : t.hosts)
      list += fmt::format("{}{} ({} cells)", list.empty() ? "" : ", ", host, n);
    std::cout << fmt::format("node type {}: {}\n", name(t), list);
  }
  if (types.size() < 2) return;
  for (const auto& t : types)
    std::cout << fmt::format("\n== on {} ==\n", name(t)) << render_table(t.results);
}

}  // namespace

int matrix_plan_and_submit(const MatrixOptions& opt, const ClusterArgs& a) {
  const std::string plan_file = opt.out_dir + "/" + kPlanName;
  if (std::filesystem::exists(plan_file) ||
      std::filesystem::exists(opt.out_dir + "/results.json")) {
    print_error("matrix", opt.out_dir + " already holds a matrix (" + plan_file +
                              " or results.json): pass --resume to continue it, or another --out");
    return kExitError;
  }
  if (const auto stale = find_cell_records(opt.out_dir); !stale.empty()) {
    print_error("matrix", opt.out_dir + "/cells holds " + std::to_string(stale.size()) +
                              " cell records of an earlier matrix: use another --out");
    return kExitError;
  }
  std::optional<SlurmOptions> so;
  if (a.engine == "slurm") {
    auto o = slurm_options(a);
    if (!o) {
      print_error("matrix", o.error().message);
      return kExitUsage;
    }
    so = std::move(*o);
  }
  auto plan = plan_matrix(opt);
  if (!plan) {
    print_error("matrix", plan.error().message);
    return kExitError;
  }
  if (!plan->plan.identification_note.empty())
    std::fprintf(stderr, "matrix: %s\n", plan->plan.identification_note.c_str());
  // Relative to the directory opened and checked here (plan_matrix made it): never by a path
  // looked up again, nor through a link.
  Status s = Ok{};
  auto dir = OutputDir::open(plan->out_dir, ExistingDir::kAccept);
  if (!dir) s = dir.error();
  if (s) s = dir->write_file(kPlanName, formats::document_text(cell_plan_to_json(*plan)));
  if (!s) {
    print_error("matrix", s.error().message);
    return kExitError;
  }
  std::cout << fmt::format("planned {} cells in {} groups: {}/{}\n", plan->cells.size(),
                           plan->groups, plan->out_dir, kPlanName);
  if (!so) return kExitOk;
  std::vector<std::size_t> groups(plan->groups);
  for (std::size_t g = 0; g < groups.size(); ++g) groups[g] = g;
  auto sub = submit_slurm(*plan, groups, *so);
  if (!sub) {
    print_error("matrix", sub.error().message + " (the plan is written: once sbatch works, " +
                              "arenalab matrix --resume --engine slurm --out " + opt.out_dir +
                              " submits it)");
    return kExitError;
  }
  std::cout << fmt::format(
      "submitted array job {} ({} tasks, --array={}) and merge job {}; progress: arenalab "
      "matrix --status {}\n",
      sub->array_job, groups.size(), array_spec(groups, so->max_parallel), sub->merge_job,
      plan->out_dir);
  return kExitOk;
}

int matrix_slurm_resume(const std::string& out_dir, const ClusterArgs& a) {
  auto so = slurm_options(a);
  if (!so) {
    print_error("matrix", so.error().message);
    return kExitUsage;
  }
  auto l = look(out_dir);
  if (!l) {
    print_error("matrix", l.error().message);
    return kExitError;
  }
  // A group whose task has not ended would run twice.
  for (const auto& [g, st] : l->query.states)
    if (!st.ended()) {
      print_error("matrix", fmt::format("task {} is still {}: wait for the array to end (or "
                                        "scancel it) before --resume",
                                        st.task, st.state));
      return kExitError;
    }
  l->plan.out_dir = std::filesystem::absolute(out_dir).lexically_normal().string();
  const auto groups = groups_to_run(l->plan);
  if (groups.empty()) {
    std::cout << fmt::format(
        "every cell of {} is recorded: nothing to resubmit (arenalab "
        "matrix --merge {})\n",
        out_dir, out_dir);
    return kExitOk;
  }
  auto sub = submit_slurm(l->plan, groups, *so);
  if (!sub) {
    print_error("matrix", sub.error().message);
    return kExitError;
  }
  std::cout << fmt::format(
      "resubmitted {} of {} groups (those with cells not recorded) as array job {} "
      "(--array={}), merge job {}\n",
      groups.size(), l->plan.groups, sub->array_job, array_spec(groups, so->max_parallel),
      sub->merge_job);
  return kExitOk;
}

int matrix_cell(const std::string& plan_path, const std::string& index) {
  char* end = nullptr;
  const unsigned long g = std::strtoul(index.c_str(), &end, 10);
  if (index.empty() || *end != '\0' || index[0] == '-') {
    print_error("matrix", "--cell: '" + index + "' is not a group index (0, 1, ...)");
    return kExitUsage;
  }
  auto plan = read_cell_plan(plan_path);
  if (!plan) {
    print_error("matrix", plan.error().message);
    return kExitError;
  }
  const NodeInfo node = this_node();
  auto run = run_plan_group(*plan, g, {}, node);
  if (!run) {
    print_error("matrix", run.error().message);
    return kExitError;
  }
  std::fprintf(stderr,
               "matrix: group %lu on %s: %zu cells run (%zu not ok), %zu already recorded\n", g,
               node.host.c_str(), run->ran, run->not_ok, run->skipped);
  return kExitOk;
}

int matrix_merge(const std::string& dir) {
  auto l = look(dir);
  if (!l) {
    print_error("matrix", l.error().message);
    return kExitError;
  }
  for (const auto& n : l->merge.notes) std::fprintf(stderr, "matrix: %s\n", n.c_str());
  if (auto s = write_plan_merge(l->plan, l->merge); !s) {
    print_error("matrix", s.error().message);
    return kExitError;
  }
  const auto& m = l->merge;
  if (m.results.recommendation)
    std::cout << render_recommendation(*m.results.recommendation, m.results.plan.baseline);
  std::cout << render_memory(m.results);
  std::cout << render_table(m.results);
  std::size_t not_ok = 0;
  for (const auto& c : m.results.cells) not_ok += c.status != CellStatus::kOk;
  std::cout << fmt::format(
      "merged {} of {} cells ({} not ok, {} of them failed tasks without a record), {} "
      "missing; {} records, {} duplicate, {} corrupt; results in {}/\n",
      m.results.cells.size(), l->plan.cells.size(), not_ok, m.failed_tasks, m.missing, m.records,
      m.duplicates, m.corrupt, dir);
  print_nodes(m.results);
  print_slurm_line(*l);
  return kExitOk;
}

int matrix_status(const std::string& dir) {
  auto l = look(dir);
  if (!l) {
    print_error("matrix", l.error().message);
    return kExitError;
  }
  const auto& m = l->merge;
  // Recorded cells are the merged ones less those listed failed for want of a record.
  const std::size_t done = m.results.cells.size() - m.failed_tasks;
  std::size_t ok = 0;
  for (const auto& c : m.results.cells) ok += c.status == CellStatus::kOk;
  std::cout << fmt::format("matrix {}: {} cells in {} groups\n", dir, l->plan.cells.size(),
                           l->plan.groups);
  std::cout << fmt::format("  done     {:6}  (ok {}, not ok {})\n", done, ok, done - ok);
  std::cout << fmt::format("  failed   {:6}  (task ended without recording them)\n",
                           m.failed_tasks);
  std::cout << fmt::format("  missing  {:6}  (not run yet, or their task is unknown)\n", m.missing);
  for (const auto& c : m.results.cells)
    if (c.message.starts_with("slurm task"))
      std::cout << fmt::format("  failed: {} x {} r{}: {}\n", c.workload, c.configuration,
                               c.repeat + 1, c.message);
  for (const auto& n : m.notes) std::cout << "  note: " << n << "\n";
  print_slurm_line(*l);
  return kExitOk;
}

}  // namespace arenalab::cli
