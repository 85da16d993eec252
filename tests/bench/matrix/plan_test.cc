// SPDX-License-Identifier: Apache-2.0
// The cluster engine's pure parts: planning into plan.json (order, groups, round trip, the
// reader's checks), one group run as the local engine runs cells (a canned executor), the merge
// of partial, duplicate and foreign records with failed tasks, and what Slurm prints.
#include "arenalab/matrix/plan.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "arenalab/core/files.h"
#include "arenalab/matrix/slurm.h"
#include "temp_dir.h"

namespace arenalab::matrix {
namespace {

namespace fs = std::filesystem;

using testing_support::TempDir;

// Two configurations (no library needed) in a file of their own.
std::string write_configurations(const std::string& dir, const std::string& arena = "2") {
  const std::string path = dir + "/allocators.json";
  std::ofstream(path) << R"({"schema": "arenalab.allocators/1", "configurations": [
    {"name": "glibc", "backend": "glibc", "preload": "", "env": {}},
    {"name": "glibc-arena2", "backend": "glibc", "preload": "", "env": {"MALLOC_ARENA_MAX": ")"
                      << arena << R"("}}]})";
  return path;
}

MatrixOptions options(const std::string& dir) {
  MatrixOptions o;
  o.out_dir = dir + "/m";
  o.allocators_file = write_configurations(dir);
  auto configs = load_configurations(o.allocators_file);
  EXPECT_TRUE(configs) << configs.error().message;
  o.configurations = *configs;
  o.workloads = {{"a", "stress", "", "/bin/true", true}, {"b", "stress", "", "/bin/true", false}};
  o.plan.workloads = {"a", "b"};
  o.plan.configurations = {"glibc", "glibc-arena2"};
  o.plan.threads = {1, 2};
  o.plan.repeats = 2;
  o.plan.smoke = true;
  o.identify = "harness";  // no preflight
  Environment env;
  env.hostname = "planner";
  env.cpu_model = "test cpu";
  o.environment = env;
  return o;
}

TEST(Plan, CellsInLocalOrderGroupedByWorkloadThreadsRepeat) {
  TempDir d("matrix_plan");
  auto p = plan_matrix(options(d.path));
  ASSERT_TRUE(p) << p.error().message;
  // a runs at threads 1 and 2, b (no --threads) once: 3 groups per repeat, 2 cells each.
  ASSERT_EQ(p->groups, 6u);
  ASSERT_EQ(p->cells.size(), 12u);
  EXPECT_EQ(p->plan.identification, CellIdentification::kHarness);
  EXPECT_TRUE(fs::path(p->out_dir).is_absolute());
  const auto& c = p->cells;
  // Configurations interleave inside a group; a group is one workload x threads x repeat.
  EXPECT_EQ(c[0].key(), "a|glibc|1|0");
  EXPECT_EQ(c[1].key(), "a|glibc-arena2|1|0");
  EXPECT_EQ(c[2].key(), "a|glibc|2|0");
  EXPECT_EQ(c[4].key(), "b|glibc|0|0");
  EXPECT_EQ(c[6].key(), "a|glibc|1|1");
  for (std::size_t i = 0; i < c.size(); ++i) {
    EXPECT_EQ(c[i].sequence, static_cast<int>(i));
    EXPECT_EQ(c[i].group, i / 2);
  }
  EXPECT_EQ(c[2].command,
            (std::vector<std::string>{"/bin/true", "--json", "--smoke", "--threads", "2"}));
  EXPECT_EQ(c[1].environment,
            (std::vector<std::pair<std::string, std::string>>{{"MALLOC_ARENA_MAX", "2"}}));
}

TEST(Plan, FileRoundTripsAndTheReaderNamesWhatItRejects) {
  TempDir d("matrix_plan_io");
  auto p = plan_matrix(options(d.path));
  ASSERT_TRUE(p);
  const std::string file = d.path + "/plan.json";
  ASSERT_TRUE(write_cell_plan(file, *p));
  auto back = read_cell_plan(file);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, *p);

  auto bad = cell_plan_to_json(*p);
  bad["cells"][3]["sequence"] = 7;
  auto r = cell_plan_from_json(bad, "plan.json");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("cells[3].sequence: expected 3"), std::string::npos)
      << r.error().message;
  bad = cell_plan_to_json(*p);
  bad["cells"][2]["group"] = 3;  // skips group 1
  r = cell_plan_from_json(bad, "plan.json");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("cells[2].group"), std::string::npos) << r.error().message;
  bad = cell_plan_to_json(*p);
  bad["cells"][0]["configuration"] = "tcmalloc";
  r = cell_plan_from_json(bad, "plan.json");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("not among plan.configurations"), std::string::npos);
  bad = cell_plan_to_json(*p);
  bad["schema"] = "arenalab.matrix-plan/9";
  EXPECT_FALSE(cell_plan_from_json(bad, "plan.json"));
}

// A canned cell, as execute_cell returns one, counting its calls.
struct Canned {
  std::vector<CellRequest> requests;
  Cell operator()(const CellRequest& req) {
    requests.push_back(req);
    Cell c;
    c.status = req.configuration.name == "glibc-arena2" && req.threads == 2 ? CellStatus::kFailed
                                                                            : CellStatus::kOk;
    c.exit_code = c.status == CellStatus::kOk ? 0 : 3;
    c.verified = true;
    c.wall_ms = 10.0 + static_cast<double>(requests.size());
    c.command = {req.workload.program};
    return c;
  }
};

TEST(Plan, AGroupRunsItsCellsAsTheLocalEngineAndRecordsEachOnce) {
  TempDir d("matrix_plan_group");
  auto p = plan_matrix(options(d.path));
  ASSERT_TRUE(p);
  Canned canned;
  auto exec = [&](const CellRequest& r) { return canned(r); };
  const NodeInfo node{"node7", "cpu x", "Linux 6", "12_1"};
  auto run = run_plan_group(*p, 1, exec, node);
  ASSERT_TRUE(run) << run.error().message;
  EXPECT_EQ(run->ran, 2u);
  EXPECT_EQ(run->not_ok, 1u);
  ASSERT_EQ(canned.requests.size(), 2u);
  EXPECT_EQ(canned.requests[0].configuration.name, "glibc");
  EXPECT_EQ(canned.requests[1].configuration.name, "glibc-arena2");
  EXPECT_EQ(canned.requests[0].threads, 2);
  EXPECT_TRUE(canned.requests[0].smoke);
  EXPECT_FALSE(canned.requests[0].use_runner);  // identification "harness" in the plan
  auto rec = read_cell(cell_directory(p->out_dir, "a", "glibc-arena2", 2, 0) + "/cell.json");
  ASSERT_TRUE(rec) << rec.error().message;
  EXPECT_EQ(rec->sequence, 3);
  EXPECT_EQ(rec->status, CellStatus::kFailed);
  EXPECT_EQ(rec->node_host, "node7");
  EXPECT_EQ(rec->node_task, "12_1");
  EXPECT_EQ(rec->node_cpu_model, "cpu x");

  // A requeued task skips what is recorded.
  auto again = run_plan_group(*p, 1, exec, node);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->ran, 0u);
  EXPECT_EQ(again->skipped, 2u);
  EXPECT_EQ(canned.requests.size(), 2u);

  EXPECT_FALSE(run_plan_group(*p, 6, exec, node));
  // The configurations file changed since planning: the task refuses before any cell.
  write_configurations(d.path, "4");
  auto changed = run_plan_group(*p, 0, exec, node);
  ASSERT_FALSE(changed);
  EXPECT_NE(changed.error().message.find("not the one planned"), std::string::npos);
  EXPECT_EQ(canned.requests.size(), 2u);
}

TEST(Plan, MergeListsFailedTasksKeepsPartialAndReportsDuplicates) {
  TempDir d("matrix_plan_merge");
  auto p = plan_matrix(options(d.path));
  ASSERT_TRUE(p);
  Canned canned;
  auto exec = [&](const CellRequest& r) { return canned(r); };
  const NodeInfo node{"node1", "cpu", "Linux", ""};
  ASSERT_TRUE(run_plan_group(*p, 0, exec, node));
  ASSERT_TRUE(run_plan_group(*p, 2, exec, node));
  // Groups 0 and 2 recorded; group 1's task was cancelled; 3 still pending; 4, 5 unknown.
  TaskStates states;
  states[1] = {"12_1", "CANCELLED", "0:15", "None", "scontrol"};
  states[3] = {"12_3", "PENDING", "0:0", "JobArrayTaskLimit", "scontrol"};
  PlanMerge m = merge_plan(*p, states);
  EXPECT_EQ(m.records, 4u);
  EXPECT_EQ(m.failed_tasks, 2u);
  EXPECT_EQ(m.missing, 6u);
  EXPECT_FALSE(m.results.complete);
  ASSERT_EQ(m.results.cells.size(), 6u);
  // In plan order; the cancelled group's cells are failed with Slurm's word for it.
  EXPECT_EQ(m.results.cells[2].key(), "a|glibc|2|0");
  EXPECT_EQ(m.results.cells[2].status, CellStatus::kFailed);
  EXPECT_EQ(m.results.cells[2].message,
            "slurm task 12_1 CANCELLED (ExitCode 0:15); no record written (from scontrol)");
  EXPECT_EQ(m.results.cells[4].key(), "b|glibc|0|0");
  EXPECT_EQ(m.results.cells[4].status, CellStatus::kOk);
  EXPECT_EQ(m.results.environment.hostname, "planner");

  // A duplicate (the same cell recorded in a second file, later) and a record the plan does
  // not hold: the later duplicate wins and both are named.
  Cell dup = *read_cell(cell_directory(p->out_dir, "a", "glibc", 1, 0) + "/cell.json");
  dup.sequence = 100;
  dup.wall_ms = 999;
  {
    auto dir = OutputDir::open(p->out_dir + "/cells/zz-copy", ExistingDir::kAccept);
    ASSERT_TRUE(dir);
    ASSERT_TRUE(write_cell(*dir, kCellRecordName, dup));
  }
  Cell foreign = dup;
  foreign.workload = "other";
  {
    auto dir = OutputDir::open(p->out_dir + "/cells/zz-foreign", ExistingDir::kAccept);
    ASSERT_TRUE(dir);
    ASSERT_TRUE(write_cell(*dir, kCellRecordName, foreign));
  }
  m = merge_plan(*p, states);
  EXPECT_EQ(m.duplicates, 1u);
  ASSERT_EQ(m.notes.size(), 2u);
  EXPECT_NE(m.notes[0].find("recorded twice"), std::string::npos) << m.notes[0];
  EXPECT_NE(m.notes[1].find("other|glibc|1|0 has a record but is not in"), std::string::npos)
      << m.notes[1];
  EXPECT_EQ(m.results.cells.size(), 6u);
  EXPECT_EQ(*m.results.cells.back().wall_ms, 999);  // the later record, ordered by sequence

  // Every task ended: complete, with every planned cell listed.
  for (std::size_t g = 0; g < p->groups; ++g)
    if (!states.count(g) || g == 3)
      states[g] = {"12_x", "FAILED", "1:0", "NonZeroExitCode", "exit record"};
  m = merge_plan(*p, states);
  EXPECT_TRUE(m.results.complete);
  EXPECT_EQ(m.results.cells.size(), 12u);
  ASSERT_TRUE(write_plan_merge(*p, m));
  auto written = read_results(p->out_dir + "/results.json");
  ASSERT_TRUE(written) << written.error().message;
  EXPECT_EQ(written->cells.size(), 12u);
  EXPECT_FALSE(written->summaries.empty());

  EXPECT_EQ(groups_to_run(*p), (std::vector<std::size_t>{1, 3, 4, 5}));
}

TEST(Plan, NodeTypesSplitTheCellsByCpuModel) {
  Results r;
  r.plan.configurations = {"glibc"};
  r.plan.baseline = "glibc";
  auto cell = [](const std::string& host, const std::string& cpu, int repeat) {
    Cell c;
    c.workload = "w";
    c.configuration = "glibc";
    c.repeat = repeat;
    c.status = CellStatus::kOk;
    c.verified = true;
    c.wall_ms = 10.0 * (repeat + 1);
    c.node_host = host;
    c.node_cpu_model = cpu;
    return c;
  };
  r.cells = {cell("x1", "x86", 0), cell("a1", "arm", 1), cell("x2", "x86", 2), cell("", "", 3)};
  const auto types = node_types(r);
  ASSERT_EQ(types.size(), 2u);
  EXPECT_EQ(types[0].cpu_model, "arm");
  EXPECT_EQ(types[1].cpu_model, "x86");
  EXPECT_EQ(types[1].hosts, (std::map<std::string, std::size_t>{{"x1", 1}, {"x2", 1}}));
  ASSERT_EQ(types[1].results.cells.size(), 2u);
  // The x86 medians are over its own two cells only (10 and 30 ms).
  bool found = false;
  for (const auto& s : types[1].results.summaries)
    if (s.metric == "wall_ms") {
      EXPECT_EQ(s.value.n, 2u);
      EXPECT_DOUBLE_EQ(s.value.median, 20.0);
      found = true;
    }
  EXPECT_TRUE(found);
}

TEST(Slurm, ArraySpecAndWords) {
  EXPECT_EQ(array_spec({0, 1, 2, 5, 7, 8}, 2), "0-2,5,7-8%2");
  EXPECT_EQ(array_spec({3}, 0), "3");
  auto w = split_words("--time=10 --comment 'a b' \"c d\"");
  ASSERT_TRUE(w);
  EXPECT_EQ(*w, (std::vector<std::string>{"--time=10", "--comment", "a b", "c d"}));
  EXPECT_FALSE(split_words("--comment 'open"));
}

TEST(Slurm, TaskStatesFromSacctAndScontrol) {
  auto s = parse_sacct(
      "12_0|COMPLETED|0:0|None\n12_1|CANCELLED by 0|0:15|None\n12_[3-4%2]|PENDING|0:0|"
      "JobArrayTaskLimit\n13|COMPLETED|0:0|None\n",
      "12");
  ASSERT_EQ(s.size(), 4u);
  EXPECT_TRUE(s[0].ended());
  EXPECT_TRUE(s[1].ended());
  EXPECT_EQ(s[1].state, "CANCELLED by 0");
  EXPECT_FALSE(s[4].ended());
  EXPECT_EQ(s[4].reason, "JobArrayTaskLimit");
  EXPECT_EQ(s[3].task, "12_3");

  auto c = parse_scontrol(
      "JobId=14 ArrayJobId=12 ArrayTaskId=2 JobName=arenalab-matrix JobState=FAILED "
      "Reason=NonZeroExitCode Dependency=(null) ExitCode=137:0\n"
      "JobId=12 ArrayJobId=12 ArrayTaskId=5-6 ArrayTaskThrottle=1 JobState=PENDING "
      "Reason=JobArrayTaskLimit ExitCode=0:0\n"
      "JobId=20 JobName=arenalab-merge JobState=PENDING Reason=Dependency ExitCode=0:0\n",
      "12");
  ASSERT_EQ(c.size(), 3u);
  EXPECT_EQ(c[2].state, "FAILED");
  EXPECT_EQ(c[2].exit_code, "137:0");
  EXPECT_EQ(c[2].reason, "NonZeroExitCode");
  EXPECT_EQ(c[2].source, "scontrol");
  EXPECT_EQ(c[6].state, "PENDING");
  EXPECT_FALSE(c[6].ended());
}

}  // namespace
}  // namespace arenalab::matrix
