// SPDX-License-Identifier: Apache-2.0
// arenalab.matrix-plan/1 and arenalab.matrix-slurm/1: readers and writers (matrix_plan.h).
#include "arenalab/formats/matrix_plan.h"

#include <limits>
#include <set>

namespace arenalab::matrix {

using formats::FormatError;
using formats::json;
using formats::Obj;

namespace {
constexpr std::int64_t kMaxInt = std::numeric_limits<int>::max();
}  // namespace

std::string PlannedCell::key() const {
  return workload + "|" + configuration + "|" + std::to_string(threads) + "|" +
         std::to_string(repeat);
}

json cell_plan_to_json(const CellPlan& p) {
  json doc;
  doc["schema"] = kPlanSchema;
  doc["plan"] = plan_to_json(p.plan);
  doc["environment"] = environment_to_json(p.environment);
  doc["out_dir"] = p.out_dir;
  doc["allocators_file"] = p.allocators_file;
  doc["timeout_s"] = p.timeout_s;
  doc["groups"] = p.groups;
  json ws = json::array();
  for (const auto& w : p.workloads) {
    json jw = {
        {"name", w.name},       {"category", w.category},         {"description", w.description},
        {"program", w.program}, {"threads_flag", w.threads_flag}, {"command", w.command}};
    if (w.takes_duration) jw["takes_duration"] = true;
    if (!w.driver.empty()) {
      jw["driver"] = w.driver;
      jw["ready"] = w.ready;
    }
    ws.push_back(std::move(jw));
  }
  doc["workloads"] = std::move(ws);
  json cells = json::array();
  for (const auto& c : p.cells) {
    json env = json::array();
    for (const auto& [k, v] : c.environment) env.push_back({k, v});
    cells.push_back({{"group", c.group},
                     {"workload", c.workload},
                     {"configuration", c.configuration},
                     {"threads", c.threads},
                     {"repeat", c.repeat},
                     {"sequence", c.sequence},
                     {"command", c.command},
                     {"environment", std::move(env)}});
  }
  doc["cells"] = std::move(cells);
  return doc;
}

namespace {

CellPlan parse_plan(const json& doc) {
  formats::schema_version(doc, "arenalab.matrix-plan", 1, 1);
  const Obj o(doc, "");
  CellPlan p;
  p.plan = plan_from_json(o.obj("plan"));
  if (auto e = o.opt_obj("environment")) p.environment = environment_from_json(*e);
  p.out_dir = o.str("out_dir");
  p.allocators_file = o.str("allocators_file");
  p.timeout_s = o.num("timeout_s", 0);
  p.groups = static_cast<std::size_t>(o.integer("groups", 0, kMaxInt));
  std::set<std::string> workloads;
  for (std::size_t i = 0; i < o.array("workloads").size(); ++i) {
    const Obj w = o.element("workloads", i);
    PlannedWorkload pw;
    pw.name = w.str("name");
    pw.category = w.str_or("category");
    pw.description = w.str_or("description");
    pw.program = w.str("program");
    pw.threads_flag = w.bool_or("threads_flag", false);
    pw.takes_duration = w.bool_or("takes_duration", false);
    pw.command = w.strings("command");
    pw.driver = w.strings("driver");
    pw.ready = w.str_or("ready");
    workloads.insert(pw.name);
    p.workloads.push_back(std::move(pw));
  }
  const std::set<std::string> configurations(p.plan.configurations.begin(),
                                             p.plan.configurations.end());
  std::size_t next_group = 0;
  for (std::size_t i = 0; i < o.array("cells").size(); ++i) {
    const Obj c = o.element("cells", i);
    PlannedCell pc;
    pc.group = static_cast<std::size_t>(c.integer("group", 0, kMaxInt));
    pc.workload = c.str("workload");
    pc.configuration = c.str("configuration");
    pc.threads = static_cast<int>(c.integer("threads", 0, kMaxInt));
    pc.repeat = static_cast<int>(c.integer("repeat", 0, kMaxInt));
    pc.sequence = static_cast<int>(c.integer("sequence", 0, kMaxInt));
    pc.command = c.strings("command");
    for (const auto& kv : c.array("environment")) {
      if (!kv.is_array() || kv.size() != 2 || !kv[0].is_string() || !kv[1].is_string())
        throw FormatError(c.path_of("environment") + ": expected [name, value] pairs, found " +
                          formats::describe_type(kv));
      pc.environment.emplace_back(kv[0].get<std::string>(), kv[1].get<std::string>());
    }
    if (pc.sequence != static_cast<int>(i))
      throw FormatError(c.path_of("sequence") + ": expected " + std::to_string(i) +
                        " (cells in run order), found " + std::to_string(pc.sequence));
    // Groups are numbered in order and their cells are contiguous.
    if (pc.group != next_group && pc.group + 1 != next_group)
      throw FormatError(c.path_of("group") + ": expected " + std::to_string(next_group) +
                        (next_group ? " or " + std::to_string(next_group - 1) : std::string()) +
                        ", found " + std::to_string(pc.group));
    if (pc.group == next_group) ++next_group;
    if (!workloads.count(pc.workload))
      throw FormatError(c.path_of("workload") + ": \"" + pc.workload +
                        "\" is not among the planned workloads");
    if (!configurations.count(pc.configuration))
      throw FormatError(c.path_of("configuration") + ": \"" + pc.configuration +
                        "\" is not among plan.configurations");
    p.cells.push_back(std::move(pc));
  }
  if (next_group != p.groups)
    throw FormatError("groups: expected " + std::to_string(next_group) +
                      " (the groups the cells name), found " + std::to_string(p.groups));
  return p;
}

SlurmJobs parse_jobs(const json& doc) {
  formats::schema_version(doc, "arenalab.matrix-slurm", 1, 1);
  const Obj o(doc, "");
  SlurmJobs jobs;
  for (std::size_t i = 0; i < o.array("submissions").size(); ++i) {
    const Obj s = o.element("submissions", i);
    SlurmSubmission sub;
    sub.array_job = s.str("array_job");
    sub.merge_job = s.str_or("merge_job");
    for (const auto& g : s.array("groups")) {
      if (!g.is_number_unsigned())
        throw FormatError(s.path_of("groups") + ": expected integers >= 0, found " +
                          formats::describe_type(g));
      sub.groups.push_back(g.get<std::size_t>());
    }
    sub.sbatch = s.strings("sbatch");
    sub.submitted_at = s.str_or("submitted_at");
    jobs.submissions.push_back(std::move(sub));
  }
  return jobs;
}

}  // namespace

Result<CellPlan> cell_plan_from_json(const json& doc, const std::string& file) {
  return formats::parse_document<CellPlan>(doc, file, parse_plan);
}

Result<CellPlan> read_cell_plan(const std::string& path) {
  return formats::read_document<CellPlan>(path, parse_plan);
}

Status write_cell_plan(const std::string& path, const CellPlan& plan) {
  return formats::write_document(path, cell_plan_to_json(plan));
}

json slurm_jobs_to_json(const SlurmJobs& jobs) {
  json subs = json::array();
  for (const auto& s : jobs.submissions) {
    json j = {{"array_job", s.array_job},
              {"groups", s.groups},
              {"sbatch", s.sbatch},
              {"submitted_at", s.submitted_at}};
    formats::put(j, "merge_job", s.merge_job);
    subs.push_back(std::move(j));
  }
  return {{"schema", kSlurmJobsSchema}, {"submissions", std::move(subs)}};
}

Result<SlurmJobs> read_slurm_jobs(const std::string& path) {
  return formats::read_document<SlurmJobs>(path, parse_jobs);
}

Status write_slurm_jobs(const std::string& path, const SlurmJobs& jobs) {
  return formats::write_document(path, slurm_jobs_to_json(jobs));
}

}  // namespace arenalab::matrix
