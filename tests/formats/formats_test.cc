// SPDX-License-Identifier: Apache-2.0
// Every format the formats library owns: write -> read -> equal; the previous version's names
// still read (one version back); and damaged documents rejected with one line naming the file
// and the field (wrong types, 1e400, hi < lo, null for an object, steps back in time).
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "arenalab/core/files.h"
#include "arenalab/formats/attach.h"
#include "arenalab/formats/baseline.h"
#include "arenalab/formats/budget.h"
#include "arenalab/formats/matrix.h"
#include "arenalab/formats/run.h"
#include "arenalab/formats/workload.h"

namespace arenalab {
namespace {
using nlohmann::json;

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/arenalab-formats-XXXXXX";
    path_ = ::mkdtemp(tmpl);
  }
  ~TempDir() { std::system(("rm -rf '" + path_ + "'").c_str()); }
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  std::string write(const std::string& name, const std::string& text) const {
    std::ofstream(file(name)) << text;
    return file(name);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// The error of a Result, for EXPECT_THAT-free matching.
template <typename T>
std::string error_of(const Result<T>& r) {
  return r ? std::string("(no error)") : r.error().message;
}

// --- attach.json ---

attach_file::Record sample_attach() {
  attach_file::Record r;
  r.cannot_tell = "level rss cannot tell a leak from retention";
  r.pid = 4242;
  r.comm = "redis-server";
  r.command = {"redis-server", "/tmp/x/redis.conf"};
  r.exe = "/usr/bin/redis-server";
  r.uid = 0;
  r.target_running_s_at_attach = 12.5;
  r.interval_ms = 100;
  r.attached_ms = 8000.25;
  r.samples = 81;
  r.ended = attach_file::Ended::kVanished;
  r.allocator_backend = formats::Backend::kJemalloc;
  r.allocator_library = "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2";
  r.warnings = {"no cgroup figures: not mounted"};
  r.duration_s = 10;
  r.vanished_after_s = 8.1;
  r.vanished_utc = "2026-12-03T10:00:00Z";
  r.cgroup_note = "not mounted";
  return r;
}

TEST(AttachJson, RoundTrip) {
  TempDir d;
  const auto r = sample_attach();
  ASSERT_TRUE(attach_file::write_attach(d.file("attach.json"), r));
  auto back = attach_file::read_attach(d.file("attach.json"));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, r);
  // An interrupted run in a cgroup: the signal and the group come back, the note stays empty.
  auto s = r;
  s.level = attach_file::Level::kCount;  // every level reads back (count was once refused)
  s.ended = attach_file::Ended::kInterrupted;
  s.signal = 15;
  s.vanished_after_s.reset();
  s.vanished_utc.clear();
  s.cgroup_dir = "/sys/fs/cgroup/system.slice/redis.service";
  s.cgroup_version = "v2";
  s.cgroup_note.clear();
  s.injection = attach_file::Injection{
      "/x/libarenalab_attach_agent.so", 4243, 7, -514, 2696, 2696, 3.25, 1, true, 120.5};
  auto again = attach_file::parse_attach(attach_file::to_json(s), "x/attach.json");
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(*again, s);
}

TEST(AttachJson, RejectsWrongValuesNamingFileAndField) {
  const json good = attach_file::to_json(sample_attach());
  auto with = [&](const char* key, json v) {
    json j = good;
    j[key] = std::move(v);
    return error_of(attach_file::parse_attach(j, "d/attach.json"));
  };
  EXPECT_EQ(with("samples", -1).rfind("d/attach.json: samples: expected", 0), 0u)
      << with("samples", -1);
  EXPECT_NE(with("ended", "later").find("ended: expected"), std::string::npos);
  EXPECT_NE(with("level", "full").find("level: expected \"rss\", \"stats\" or \"count\""),
            std::string::npos);
  EXPECT_NE(with("pid", "x").find("pid: expected"), std::string::npos);
  EXPECT_NE(with("schema", "arenalab.attach/2").find("arenalab.attach/1"), std::string::npos);
  EXPECT_EQ(with("allocator_mapped", {{"backend", "Jemalloc"}, {"library", ""}}),
            "d/attach.json: allocator_mapped.backend: expected glibc, jemalloc, mimalloc, "
            "tcmalloc, tbbmalloc or unknown, found the string \"Jemalloc\"");
  EXPECT_EQ(with("injection", {{"agent", "a"}}),
            "d/attach.json: injection.thread: missing (required)");
}

// --- run.json ---

runner::RunRecord sample_run() {
  runner::RunRecord r;
  r.command = {"/x/bin/wl_leak", "--smoke"};
  r.mode = formats::RunMode::kSample;
  r.interval_ms = 50;
  r.sample_bytes = 524288;
  r.configuration = "jemalloc";
  r.configured_backend = formats::Backend::kJemalloc;
  r.identified_backend = formats::Backend::kGlibc;
  r.library = "/lib/libc.so.6";
  r.version = "2.36";
  r.verified = false;
  r.mismatch = "malloc served by glibc";
  r.exit = {"killed by SIGKILL", 137, std::nullopt, 9, false};
  r.wall_ms = 1234.5;
  r.user_ms = 100;
  r.sys_ms = 20.25;
  r.peak_rss_bytes = 73400320;
  r.minor_faults = 5000;
  r.major_faults = 1;
  r.timeline_samples = 24;
  r.files = {"run.json", "timeline.jsonl"};
  r.warnings = {"a warning"};
  return r;
}

TEST(RunJson, RoundTripWithStop) {
  TempDir d;
  auto r = sample_run();
  r.stop = runner::StopRecord{5012.5, true, "SIGTERM", std::nullopt, "SIGTERM"};
  ASSERT_TRUE(runner::write_run_json(d.file("run.json"), r));
  auto back = runner::read_run_json(d.file("run.json"));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, r);
  EXPECT_FALSE(runner::run_to_json(sample_run()).contains("stop"));  // absent, not empty
}

TEST(RunJson, RoundTrip) {
  TempDir d;
  const auto r = sample_run();
  ASSERT_TRUE(runner::write_run_json(d.file("run.json"), r));
  auto back = runner::read_run_json(d.file("run.json"));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, r);
  const json doc = runner::run_to_json(r);
  EXPECT_EQ(doc["schema"], "arenalab.run/2");
  EXPECT_EQ(doc["peak_rss_bytes"], 73400320.0);
  EXPECT_FALSE(doc.contains("peak_rss"));
}

TEST(RunJson, VersionOneNamesThePeakPeakRss) {
  json doc = runner::run_to_json(sample_run());
  doc["schema"] = "arenalab.run/1";
  doc["peak_rss"] = doc["peak_rss_bytes"];
  doc.erase("peak_rss_bytes");
  auto r = runner::run_from_json(doc, "old/run.json");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_DOUBLE_EQ(r->peak_rss_bytes, 73400320);
  // ... and version 2 does not: the old name is not guessed at.
  doc["schema"] = "arenalab.run/2";
  EXPECT_EQ(error_of(runner::run_from_json(doc, "new/run.json")),
            "new/run.json: peak_rss_bytes: missing (required)");
}

TEST(RunJson, RejectsWrongTypesAndRangesNamingFileAndField) {
  const json good = runner::run_to_json(sample_run());
  json doc = good;
  doc["wall_ms"] = "12";
  EXPECT_EQ(error_of(runner::run_from_json(doc, "d/run.json")),
            "d/run.json: wall_ms: expected a number >= 0, found the string \"12\"");
  doc = good;
  doc["wall_ms"] = -1.0;
  EXPECT_EQ(error_of(runner::run_from_json(doc, "d/run.json")),
            "d/run.json: wall_ms: expected a number >= 0, found -1");
  doc = good;
  doc["allocator"] = nullptr;
  EXPECT_EQ(error_of(runner::run_from_json(doc, "d/run.json")),
            "d/run.json: allocator: expected an object, found null");
  doc = good;
  doc["schema"] = "arenalab.run/9";
  EXPECT_EQ(
      error_of(runner::run_from_json(doc, "d/run.json")),
      "d/run.json: expected \"schema\": \"arenalab.run/2\" (or /1), found \"arenalab.run/9\"");
  doc = good;
  doc["exit"]["signal"] = 300;
  EXPECT_EQ(error_of(runner::run_from_json(doc, "d/run.json")),
            "d/run.json: exit.signal: expected an integer in [1, 128], found 300");
  // The mode is a closed set (formats/run_mode.h).
  doc = good;
  doc["mode"] = "counting";
  EXPECT_EQ(error_of(runner::run_from_json(doc, "d/run.json")),
            "d/run.json: mode: expected stats, count, sample or full, found the string "
            "\"counting\"");
  doc.erase("mode");
  EXPECT_EQ(error_of(runner::run_from_json(doc, "d/run.json")),
            "d/run.json: mode: expected stats, count, sample or full, found nothing (required)");
  // The backends are a closed set (formats/allocator_backend.h): "unknown" reads, other text not.
  doc = good;
  doc["allocator"]["identified_backend"] = "unknown";
  auto unknown = runner::run_from_json(doc, "d/run.json");
  ASSERT_TRUE(unknown) << unknown.error().message;
  EXPECT_EQ(unknown->identified_backend, formats::Backend::kUnknown);
  doc["allocator"]["backend"] = "ptmalloc2";
  EXPECT_EQ(error_of(runner::run_from_json(doc, "d/run.json")),
            "d/run.json: allocator.backend: expected glibc, jemalloc, mimalloc, tcmalloc, "
            "tbbmalloc or unknown, found the string \"ptmalloc2\"");
}

TEST(RunJson, OverflowingNumberIsOneLineNamingTheFile) {
  TempDir d;
  std::string text = runner::run_to_json(sample_run()).dump();
  const auto at = text.find("\"wall_ms\":1234.5");
  ASSERT_NE(at, std::string::npos);
  text.replace(at, 16, "\"wall_ms\":1e400");
  const std::string path = d.write("run.json", text);
  const std::string e = error_of(runner::read_run_json(path));
  EXPECT_EQ(e.rfind(path + ": ", 0), 0u) << e;
  EXPECT_NE(e.find("1e400"), std::string::npos) << e;
  EXPECT_EQ(e.find('\n'), std::string::npos) << e;
}

TEST(RunJson, WorkloadNameOfACommand) {
  EXPECT_EQ(runner::workload_name({"/x/build/bin/wl_cache-jemalloc", "--smoke"}), "cache");
  EXPECT_EQ(runner::workload_name({"wl_deferred_release"}), "deferred_release");
  EXPECT_EQ(runner::workload_name({"/usr/bin/redis-server"}), "redis-server");
  EXPECT_EQ(runner::workload_name({}), "unknown");
}

// --- budget.json ---

budget::BudgetRecord sample_budget() {
  budget::BudgetRecord b;
  b.command = {"wl_service", "--heap-cap", "64M"};
  b.limit_bytes = 268435456;
  b.effective_limit_bytes = 268435456;
  b.cgroup_version = "v2";
  b.cgroup_dir = "/sys/fs/cgroup/arenalab-1";
  b.cgroup_removed = true;
  b.pid = 4242;
  b.exit = {"killed by SIGKILL", 137, std::nullopt, 9, false};
  b.signal_name = "SIGKILL";
  b.before_exec = false;
  b.wall_ms = 2708.1;
  b.user_ms = 29.1;
  b.sys_ms = 123.9;
  b.exit_peak_rss_bytes = 271192064;
  b.oom_killed = true;
  b.group = {69632, 268435456, 1, std::nullopt, 0};
  b.peak_rss_bytes = 271306752;
  b.interval_ms = 100;
  b.rss_timeline = {{0, 1e6, 5e5, 1.2e6}, {100, 2e6, std::nullopt, std::nullopt}};
  b.allocator_at_last_sample = budget::AllocatorView{
      100, 1e6, std::nullopt, 2e6, 3e6, std::nullopt, -512, {{"store_bytes", 7}}};
  b.allocator_note = "from the runner";
  b.kernel_log = {"Out of memory: Killed process 4242"};
  b.interrupted_by = "SIGINT";
  b.runner =
      budget::RunnerInfo{"jemalloc", formats::Backend::kJemalloc, formats::RunMode::kStats, true};
  b.timeline_file = "o/timeline.jsonl";
  b.budget_file = "o/budget.json";
  b.cgroup_timeline_file = "o/cgroup.jsonl";
  b.run_file = "o/run.json";
  b.warnings = {"w"};
  return b;
}

TEST(BudgetJson, RoundTrip) {
  TempDir d;
  const auto b = sample_budget();
  ASSERT_TRUE(budget::write_budget_json(d.file("budget.json"), b));
  auto back = budget::read_budget_json(d.file("budget.json"));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, b);
  const json doc = budget::budget_to_json(b);
  EXPECT_EQ(doc["schema"], "arenalab.budget/2");
  EXPECT_EQ(doc["exit"]["peak_rss_bytes"], 271192064.0);
  EXPECT_FALSE(doc["exit"].contains("max_rss_bytes"));
  EXPECT_EQ(doc["exit"]["before_exec"], false);
}

// exit.before_exec: written as measured (true: the program never ran), read back; absent in a
// file written before it was recorded, read as unknown, never as false.
TEST(BudgetJson, BeforeExecIsWrittenAndAbsentIsUnknown) {
  auto b = sample_budget();
  b.before_exec = true;
  json doc = budget::budget_to_json(b);
  EXPECT_EQ(doc["exit"]["before_exec"], true);
  auto back = budget::budget_from_json(doc, "budget.json");
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->before_exec, std::optional<bool>(true));
  doc["exit"].erase("before_exec");
  back = budget::budget_from_json(doc, "budget.json");
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_FALSE(back->before_exec.has_value());
  doc["exit"]["before_exec"] = "yes";
  EXPECT_NE(error_of(budget::budget_from_json(doc, "b/budget.json")).find("exit.before_exec"),
            std::string::npos);
}

TEST(BudgetJson, VersionOneNamesTheRusagePeakMaxRssBytes) {
  json doc = budget::budget_to_json(sample_budget());
  doc["schema"] = "arenalab.budget/1";
  doc["exit"]["max_rss_bytes"] = doc["exit"]["peak_rss_bytes"];
  doc["exit"].erase("peak_rss_bytes");
  auto b = budget::budget_from_json(doc, "budget.json");
  ASSERT_TRUE(b) << b.error().message;
  EXPECT_DOUBLE_EQ(b->exit_peak_rss_bytes, 271192064);
}

TEST(BudgetJson, RejectsTimeGoingBackwardsAndNegativeBytes) {
  json doc = budget::budget_to_json(sample_budget());
  doc["rss_timeline"][1]["t_ms"] = -0.0 + 50.0;
  doc["rss_timeline"][0]["t_ms"] = 80.0;
  EXPECT_EQ(error_of(budget::budget_from_json(doc, "b/budget.json")),
            "b/budget.json: rss_timeline[1].t_ms: expected a time >= the previous point's (80 "
            "ms), found 50");
  doc = budget::budget_to_json(sample_budget());
  doc["runner"]["mode"] = "statistics";
  EXPECT_EQ(error_of(budget::budget_from_json(doc, "b/budget.json")),
            "b/budget.json: runner.mode: expected stats, count, sample or full, found the string "
            "\"statistics\"");
  doc = budget::budget_to_json(sample_budget());
  doc["rss_timeline"][0]["rss"] = -5;
  EXPECT_EQ(error_of(budget::budget_from_json(doc, "b/budget.json")),
            "b/budget.json: rss_timeline[0].rss: expected a number >= 0, found -5");
  doc = budget::budget_to_json(sample_budget());
  doc["limit_bytes"] = 1.5;
  EXPECT_EQ(error_of(budget::budget_from_json(doc, "b/budget.json")),
            "b/budget.json: limit_bytes: expected an integer >= 1, found 1.5");
}

// --- results.json, results.csv, summary.csv and the cell document ---

matrix::Cell sample_cell(const std::string& config, int repeat, double wall, double peak) {
  matrix::Cell c;
  c.workload = "touch";
  c.configuration = config;
  c.threads = 0;
  c.repeat = repeat;
  c.sequence = repeat * 2 + (config == "glibc" ? 0 : 1);
  c.status = matrix::CellStatus::kOk;
  c.exit_code = 0;
  c.wall_ms = wall;
  c.user_ms = wall / 2;
  c.sys_ms = 1.5;
  c.peak_rss_bytes = peak;
  c.peak_rss_source = matrix::PeakRssSource::kRusage;
  c.rss_after_free_bytes = peak / 10;
  c.minor_faults = 1000;
  c.major_faults = 0;
  c.throughput = 1e6;
  c.throughput_unit = "ops/s";
  c.identified_backend = formats::backend_from_name(config);
  c.identified_library = "/lib/" + config + ".so";
  c.identified_version = "1.0";
  c.identification_method = matrix::IdentificationMethod::kRunner;
  c.verified = true;
  c.command = {"/x/wl_touch", "--json", "--smoke"};
  c.measurements = {{"elapsed_ms", wall}, {"rss_after_free_bytes", peak / 10}};
  return c;
}

matrix::Results sample_results() {
  matrix::Results r;
  r.plan.workloads = {"touch"};
  r.plan.configurations = {"glibc", "jemalloc"};
  r.plan.threads = {0};
  r.plan.repeats = 3;
  r.plan.identification = matrix::CellIdentification::kRunner;
  r.environment.cpu_model = "cpu";
  r.environment.cpus = 2;
  r.environment.allocator_versions = {{"glibc", "2.36"}, {"jemalloc", "5.3.0"}};
  for (int i = 0; i < 3; ++i) {
    r.cells.push_back(sample_cell("glibc", i, 100 + i, 70e6 + i));
    r.cells.push_back(sample_cell("jemalloc", i, 80 + i, 72e6 + i));
  }
  r.cells.back().status = matrix::CellStatus::kCrashed;
  r.cells.back().signal = 11;
  r.cells.back().exit_code.reset();
  r.cells.back().message = "killed by SIGSEGV";
  r.cells.back().stderr_tail = "Segmentation fault";
  matrix::Summary s;
  s.workload = "touch";
  s.configuration = "jemalloc";
  s.metric = "wall_ms";
  s.unit = "ms";
  s.value = {2, 80.5, 80, 81, 80, 81, 1, 0.5, false};
  s.ratio = matrix::MedianInterval{2, 0.8, 0.79, 0.81, 0.79, 0.81, 1, 0.5, false};
  s.excluded = 1;
  r.summaries.push_back(s);
  r.complete = true;
  return r;
}

TEST(MatrixResults, RoundTripJsonAndCsv) {
  TempDir d;
  const auto r = sample_results();
  ASSERT_TRUE(matrix::write_results(d.path(), r));
  auto back = matrix::read_results(d.file("results.json"));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, r);
  auto csv = read_file(d.file("results.csv"));
  ASSERT_TRUE(csv);
  EXPECT_EQ(*csv, matrix::cells_csv(r));
  EXPECT_NE(csv->find("arenalab.matrix/1,touch,jemalloc,0,2,5,crashed,,11,82,41,1.5,72000002,"),
            std::string::npos)
      << *csv;
  auto sums = read_file(d.file("summary.csv"));
  ASSERT_TRUE(sums);
  EXPECT_NE(sums->find("touch,0,jemalloc,wall_ms,ms,2,80.5,80,81,80,81,0.5,0.8,0.79,0.81,0.5,1"),
            std::string::npos)
      << *sums;
}

TEST(MatrixCell, RoundTripOnItsOwn) {
  TempDir d;
  const auto c = sample_results().cells.back();
  auto dir = OutputDir::open(d.file("c"), ExistingDir::kAccept);
  ASSERT_TRUE(dir) << dir.error().message;
  ASSERT_TRUE(matrix::write_cell(*dir, "cell.json", c));
  auto back = matrix::read_cell(d.file("c/cell.json"));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, c);
  EXPECT_EQ(matrix::cell_to_json(c)["schema"], "arenalab.matrix-cell/1");
  EXPECT_EQ(dir->entries(), std::vector<std::string>{"cell.json"});  // no temporary left
}

// A link planted in the record's directory, under any name a writer could pick (the
// temporary's or the record's own), is never written through: the record replaces the link.
TEST(MatrixCell, NeverWritesThroughAPlantedLink) {
  TempDir d;
  const auto c = sample_results().cells.back();
  auto dir = OutputDir::open(d.file("c"), ExistingDir::kAccept);
  ASSERT_TRUE(dir) << dir.error().message;
  const std::string victim = d.file("victim");
  ASSERT_TRUE(write_file_atomic(victim, "precious\n"));
  for (const std::string& name :
       {std::string("cell.json"), "cell.json.tmp." + std::to_string(::getpid())})
    ASSERT_EQ(::symlink(victim.c_str(), d.file("c/" + name).c_str()), 0);
  ASSERT_TRUE(matrix::write_cell(*dir, "cell.json", c));
  EXPECT_EQ(*read_file(victim), "precious\n");
  struct stat st {};
  ASSERT_EQ(::lstat(d.file("c/cell.json").c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_TRUE(matrix::read_cell(d.file("c/cell.json")));
}

TEST(MatrixCell, RoundTripAfterOverwrite) {
  TempDir d;
  const auto c = sample_results().cells.back();
  auto dir = OutputDir::open(d.file("c"), ExistingDir::kAccept);
  ASSERT_TRUE(dir);
  auto first = c;
  first.wall_ms = 1;
  ASSERT_TRUE(matrix::write_cell(*dir, "cell.json", first));
  ASSERT_TRUE(matrix::write_cell(*dir, "cell.json", c));  // renamed over the first
  auto back = matrix::read_cell(d.file("c/cell.json"));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, c);
  EXPECT_EQ(dir->entries(), std::vector<std::string>{"cell.json"});
}

TEST(MatrixResults, RejectsDamagedDocumentsNamingTheField) {
  const json good = matrix::to_json(sample_results());
  json doc = good;
  doc["cells"][2]["status"] = "fine";
  EXPECT_EQ(error_of(matrix::results_from_json(doc, "m/results.json")),
            "m/results.json: cells[2].status: expected ok, unverified, failed, crashed, timeout "
            "or error, found \"fine\"");
  doc = good;
  doc["cells"][0]["peak_rss_bytes"] = "70 MB";
  EXPECT_EQ(error_of(matrix::results_from_json(doc, "m/results.json")),
            "m/results.json: cells[0].peak_rss_bytes: expected a number >= 0, found the string "
            "\"70 MB\"");
  doc = good;
  doc["summaries"][0]["value"]["ci_high"] = 79.0;  // below ci_low 80
  EXPECT_EQ(error_of(matrix::results_from_json(doc, "m/results.json")),
            "m/results.json: summaries[0].value: expected ci_low <= ci_high, found 80 > 79");
  doc = good;
  doc["plan"] = nullptr;
  EXPECT_EQ(error_of(matrix::results_from_json(doc, "m/results.json")),
            "m/results.json: plan: expected an object, found null");
  doc = good;
  doc["cells"][1] = nullptr;
  EXPECT_EQ(error_of(matrix::results_from_json(doc, "m/results.json")),
            "m/results.json: cells[1]: expected an object, found null");
  doc = good;
  doc["schema"] = "arenalab.matrix/2";
  EXPECT_EQ(error_of(matrix::results_from_json(doc, "m/results.json")),
            "m/results.json: expected \"schema\": \"arenalab.matrix/1\", found "
            "\"arenalab.matrix/2\"");
  // The closed sets kept by name: any other text is refused naming the field and the names.
  doc = good;
  doc["plan"]["identification"] = "interposer";
  EXPECT_EQ(error_of(matrix::results_from_json(doc, "m/results.json")),
            "m/results.json: plan.identification: expected runner or harness, found the string "
            "\"interposer\"");
  doc = good;
  doc["cells"][0]["peak_rss_source"] = "ru_maxrss";
  EXPECT_EQ(error_of(matrix::results_from_json(doc, "m/results.json")),
            "m/results.json: cells[0].peak_rss_source: expected rusage or workload, found the "
            "string \"ru_maxrss\"");
  doc = good;
  doc["cells"][0]["identified"]["method"] = 3;
  EXPECT_EQ(error_of(matrix::results_from_json(doc, "m/results.json")),
            "m/results.json: cells[0].identified.method: expected harness, ld-debug or runner, "
            "found 3");
  // Absent stays absent.
  doc = good;
  doc["plan"].erase("identification");
  doc["cells"][0].erase("peak_rss_source");
  doc["cells"][0]["identified"].erase("method");
  auto back = matrix::results_from_json(doc, "m/results.json");
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_FALSE(back->plan.identification);
  EXPECT_FALSE(back->cells[0].peak_rss_source);
  EXPECT_FALSE(back->cells[0].identification_method);
}

TEST(MatrixGroups, RecordedSummariesWinAndFailedRepeatsCount) {
  const auto gs = matrix::groups(sample_results());
  ASSERT_EQ(gs.size(), 2u);
  const auto& glibc = gs[0];
  EXPECT_EQ(glibc.configuration, "glibc");
  EXPECT_EQ(glibc.status, matrix::GroupStatus::kOk);
  EXPECT_DOUBLE_EQ(*glibc.wall_ms.value, 101);  // no summary: median of the cells, min..max
  EXPECT_DOUBLE_EQ(*glibc.wall_ms.lo, 100);
  EXPECT_DOUBLE_EQ(*glibc.wall_ms.hi, 102);
  EXPECT_DOUBLE_EQ(*glibc.wall_ms.ratio, 1.0);
  const auto& je = gs[1];
  EXPECT_EQ(je.status, matrix::GroupStatus::kPartial);
  EXPECT_EQ(je.repeats, 3);
  EXPECT_EQ(je.failed_repeats, 1);
  EXPECT_EQ(je.status_detail, "killed by SIGSEGV");
  EXPECT_DOUBLE_EQ(*je.wall_ms.value, 80.5);  // the recorded summary
  EXPECT_DOUBLE_EQ(*je.wall_ms.ratio, 0.8);
  EXPECT_NEAR(*je.peak_rss_bytes.ratio, 72000000.5 / 70000001.0, 1e-12);  // of medians
}

// --- the workloads' --json result ---

TEST(WorkloadReport, RoundTripAndTheFiguresTheMatrixReads) {
  workload::WorkloadReport r;
  r.workload = "deferred_release";
  r.backend = formats::Backend::kJemalloc;
  r.library = "/lib/libjemalloc.so.2";
  r.version = "5.3.0";
  r.params = {{"mib", 64}};
  r.measurements = {{"peak_rss_bytes", 9e7},
                    {"rss_after_free_bytes", 1e7},
                    {"throughput", {{"value", 5e5}, {"unit", "ops/s"}}}};
  r.checks = {{"released", false, "held 60 MiB"}};
  r.pass = false;
  r.skipped_checks = {{"purge", "no purge call"}};
  r.notes = {"a note"};
  const std::string line = workload::workload_line(r);
  EXPECT_EQ(line.find('\n'), line.size() - 1);  // one line
  const std::string out = "progress\n{\"event\": 1}\n" + line + "{\"event\": 2}\n";
  auto found = workload::find_workload_report(out, "wl_x --json");
  ASSERT_TRUE(found) << found.error().message;
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ(**found, r);
  EXPECT_DOUBLE_EQ(*(*found)->peak_rss_bytes(), 9e7);
  EXPECT_DOUBLE_EQ(*(*found)->rss_after_free_bytes(), 1e7);
  EXPECT_DOUBLE_EQ(*(*found)->throughput(), 5e5);
  EXPECT_EQ((*found)->throughput_unit(), "ops/s");
  auto none = workload::find_workload_report("{\"a\": 1}\nplain\n", "wl_x --json");
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->has_value());
}

TEST(WorkloadReport, VersionOneNamesAreRenamed) {
  const json v1 = {{"schema", "arenalab.workload/1"},
                   {"workload", "deferred_release"},
                   {"measurements", {{"rss_peak_bytes", 9e7}, {"rss_after_frees_bytes", 1e7}}}};
  auto r = workload::workload_from_json(v1, "wl_deferred_release --json output");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_DOUBLE_EQ(*r->peak_rss_bytes(), 9e7);
  EXPECT_DOUBLE_EQ(*r->rss_after_free_bytes(), 1e7);
  EXPECT_FALSE(r->measurements.contains("rss_peak_bytes"));
  json v2 = v1;
  v2["schema"] = "arenalab.workload/2";
  auto r2 = workload::workload_from_json(v2, "x");
  ASSERT_TRUE(r2);
  EXPECT_FALSE(r2->peak_rss_bytes());  // version 2 means what it says: no old names
}

TEST(WorkloadReport, RejectsAFigureOfTheWrongType) {
  const json doc = {{"schema", "arenalab.workload/2"},
                    {"measurements", {{"peak_rss_bytes", "big"}}}};
  EXPECT_EQ(error_of(workload::workload_from_json(doc, "wl_x --json output")),
            "wl_x --json output: measurements.peak_rss_bytes: expected a number >= 0, found the "
            "string \"big\"");
  const std::string line = doc.dump() + "\n";
  EXPECT_EQ(error_of(workload::find_workload_report(line, "wl_x --json output")),
            "wl_x --json output: measurements.peak_rss_bytes: expected a number >= 0, found the "
            "string \"big\"");
  // What identified the allocator is a closed set: absent (the harness) or ld-debug.
  const json method = {{"schema", "arenalab.workload/2"},
                       {"allocator", {{"backend", "glibc"}, {"method", "dladdr"}}}};
  EXPECT_EQ(error_of(workload::workload_from_json(method, "wl_x --json output")),
            "wl_x --json output: allocator.method: expected ld-debug, found the string "
            "\"dladdr\"");
}

// --- the check baseline ---

check::CellSet sample_baseline() {
  check::CellSet set;
  set.sources = {"build/ci-guard/matrix/results.json"};
  check::Cell a;
  a.workload = "touch";
  a.configuration = "glibc";
  a.threads = 0;
  a.source = set.sources[0];
  a.metrics[check::kPeakRss] = {71155712, 71024640, 71155712};
  a.metrics[check::kRssAfterFrees] = {3788800, std::nullopt, std::nullopt};
  check::Cell b;
  b.kind = check::Kind::kWatch;
  b.workload = "leak";
  b.configuration = "glibc";
  b.status = check::Status::kUnverified;
  b.status_detail = "allocator identified as jemalloc";
  b.verdict = formats::GrowthVerdict::kLeak;
  b.source = "w";
  b.metrics[check::kPlateauRss] = {5e7, 4e7, 6e7};
  set.cells = {a, b};
  return set;
}

TEST(Baseline, RoundTrip) {
  TempDir d;
  const auto set = sample_baseline();
  const std::string path = d.write("base.json", check::baseline_json(set).dump(2));
  auto back = check::read_baseline(path);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->cells, set.cells);
  EXPECT_EQ(check::baseline_json(set)["schema"], "arenalab.baseline/2");
}

TEST(Baseline, VersionOneMetricNamesAreRenamed) {
  json doc = check::baseline_json(sample_baseline());
  doc["schema"] = "arenalab.baseline/1";
  auto& m = doc["cells"][0]["metrics"];
  m["peak_rss"] = m["peak_rss_bytes"];
  m["rss_after_frees"] = m["rss_after_free_bytes"];
  m.erase("peak_rss_bytes");
  m.erase("rss_after_free_bytes");
  doc["cells"][1]["metrics"]["plateau_rss"] = doc["cells"][1]["metrics"]["plateau_rss_bytes"];
  doc["cells"][1]["metrics"].erase("plateau_rss_bytes");
  auto set = check::parse_baseline(doc, "base.json");
  ASSERT_TRUE(set) << set.error().message;
  EXPECT_EQ(set->cells, sample_baseline().cells);
}

TEST(Baseline, RejectsHiBelowLoUnknownStatusAndDuplicates) {
  const json good = check::baseline_json(sample_baseline());
  json doc = good;
  doc["cells"][0]["metrics"]["peak_rss_bytes"]["hi"] = 1.0;
  EXPECT_EQ(error_of(check::parse_baseline(doc, "b.json")),
            "b.json: cells[0].metrics.peak_rss_bytes: expected lo <= hi, found 71024640 > 1");
  doc = good;
  doc["cells"][1]["status"] = "leaking";
  EXPECT_EQ(error_of(check::parse_baseline(doc, "b.json")),
            "b.json: cells[1].status: expected ok, failed or unverified, found \"leaking\"");
  doc = good;
  doc["cells"].push_back(doc["cells"][0]);
  EXPECT_EQ(error_of(check::parse_baseline(doc, "b.json")),
            "b.json: cells[2]: touch/glibc appears twice");
  doc = good;
  doc["cells"][0]["workload"] = 1;
  EXPECT_EQ(error_of(check::parse_baseline(doc, "b.json")),
            "b.json: cells[0].workload: expected a string, found 1");
}

}  // namespace
}  // namespace arenalab

namespace arenalab {
namespace {

// Latency figures: read in order (p50 <= p99 <= p99.9 <= max), carried into a matrix cell's
// metrics from its measurements.
TEST(WorkloadReport, LatencyFiguresAreOrderedAndReachTheMatrix) {
  json doc = {{"schema", "arenalab.workload/2"},
              {"measurements",
               {{"malloc_p50_ns", 27},
                {"malloc_p99_ns", 319},
                {"malloc_p999_ns", 4095},
                {"malloc_max_ns", 22659},
                {"free_p50_ns", 30}}}};
  auto r = workload::workload_from_json(doc, "wl_larson --json output");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->latency_ns().at("malloc_p99_ns"), 319);
  EXPECT_EQ(r->latency_ns().size(), 5u);
  matrix::Cell cell;
  cell.measurements = r->measurements;
  EXPECT_EQ(cell.metric("malloc_p999_ns"), 4095);
  EXPECT_FALSE(cell.metric("free_p99_ns"));
  doc["measurements"]["malloc_p99_ns"] = 20;
  EXPECT_EQ(error_of(workload::workload_from_json(doc, "x")),
            "x: measurements.malloc_p99_ns: expected >= malloc_p50_ns (27), found 20");
}

// The full histogram behind the percentiles (a report's CDF): pairs with increasing upper
// bounds are read back; a wrong shape or order is one error naming the bucket.
TEST(WorkloadReport, LatencyHistogramIsReadInOrderAndRejectedOutOfIt) {
  json doc = {
      {"schema", "arenalab.workload/2"},
      {"measurements", {{"malloc_latency_histogram", json::array({{7, 3}, {9, 40}, {4095, 1}})}}}};
  auto r = workload::workload_from_json(doc, "x");
  ASSERT_TRUE(r) << r.error().message;
  const auto h = workload::latency_histogram(r->measurements, "malloc");
  ASSERT_EQ(h.size(), 3u);
  EXPECT_EQ(h[1], (workload::LatencyBucket{9, 40}));
  EXPECT_TRUE(workload::latency_histogram(r->measurements, "free").empty());
  doc["measurements"]["malloc_latency_histogram"] = json::array({{9, 3}, {9, 1}});
  EXPECT_EQ(error_of(workload::workload_from_json(doc, "x")),
            "x: measurements.malloc_latency_histogram[1]: expected upper_ns above the previous "
            "bucket's (9), found 9");
  doc["measurements"]["malloc_latency_histogram"] = json::array({{9, -1}});
  EXPECT_EQ(error_of(workload::workload_from_json(doc, "x")),
            "x: measurements.malloc_latency_histogram[0]: expected [upper_ns >= 0, count >= 0]");
  doc["measurements"]["malloc_latency_histogram"] = 5;
  EXPECT_EQ(error_of(workload::workload_from_json(doc, "x")),
            "x: measurements.malloc_latency_histogram: expected an array of [upper_ns, count] "
            "pairs");
  EXPECT_TRUE(workload::latency_histogram(doc["measurements"], "malloc").empty());
}

}  // namespace
}  // namespace arenalab
