// SPDX-License-Identifier: Apache-2.0
// arenalab.matrix/1 round trip (JSON -> Results -> JSON is identical, absent figures stay
// absent), malformed input is an error, and --resume runs only the cells not yet recorded.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "arenalab/core/files.h"
#include "arenalab/matrix/matrix.h"
#include "arenalab/matrix/results.h"

namespace arenalab::matrix {
namespace {

Results sample() {
  Results r;
  r.plan.workloads = {"larson"};
  r.plan.configurations = {"glibc", "jemalloc"};
  r.plan.threads = {2};
  r.plan.smoke = true;
  r.environment.cpu_model = "Test CPU";
  r.environment.allocator_versions = {{"jemalloc", "5.3.0"}};
  Cell a;
  a.workload = "larson";
  a.configuration = "glibc";
  a.threads = 2;
  a.status = CellStatus::kOk;
  a.verified = true;
  a.exit_code = 0;
  a.wall_ms = 12.5;
  a.user_ms = 20;
  a.sys_ms = 1;
  a.peak_rss_bytes = 4096;
  a.rss_after_free_bytes = 2048;
  a.minor_faults = 10;
  a.major_faults = 0;
  a.throughput = 1e6;
  a.throughput_unit = "ops/s";
  a.identified_backend = formats::Backend::kGlibc;
  a.identification_method = IdentificationMethod::kHarness;
  a.measurements = {{"operations", 5}};
  Cell b = a;
  b.configuration = "jemalloc";
  b.status = CellStatus::kCrashed;
  b.exit_code.reset();
  b.signal = 11;
  b.throughput.reset();  // absent must stay absent
  b.throughput_unit.clear();
  b.rss_after_free_bytes.reset();
  b.stderr_tail = "Segmentation fault";
  r.cells = {a, b};
  r.summaries = summarize(r.cells, r.plan);
  return r;
}

TEST(ResultsJson, RoundTripIsIdentical) {
  const Results r = sample();
  const auto doc = to_json(r);
  EXPECT_EQ(doc["schema"], "arenalab.matrix/1");
  auto back = results_from_json(doc, "results.json");
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(to_json(*back), doc);
  EXPECT_EQ(*back, r);
  ASSERT_EQ(back->cells.size(), 2u);
  EXPECT_FALSE(back->cells[1].throughput);
  EXPECT_FALSE(back->cells[1].rss_after_free_bytes);
  EXPECT_EQ(back->cells[1].signal, 11);
  EXPECT_EQ(back->cells[1].stderr_tail, "Segmentation fault");
  EXPECT_FALSE(back->summaries.empty());
}

TEST(ResultsJson, StreamedFilesEqualTheDocument) {
  const Results r = sample();
  EXPECT_EQ(nlohmann::json::parse(results_json_text(r)), to_json(r));
  Results empty = r;
  empty.cells.clear();
  empty.summaries.clear();
  EXPECT_EQ(nlohmann::json::parse(results_json_text(empty)), to_json(empty));
  const std::string dir =
      std::filesystem::temp_directory_path() / ("matrix_stream_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  ASSERT_TRUE(write_results(dir, r));
  EXPECT_EQ(read_file(dir + "/results.json").value(), results_json_text(r));
  EXPECT_EQ(read_file(dir + "/results.csv").value(), cells_csv(r));
  EXPECT_EQ(read_file(dir + "/summary.csv").value(), summaries_csv(r));
  auto back = read_results(dir + "/results.json");
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, r);
  std::filesystem::remove_all(dir);
}

// results.json, results.csv and summary.csv are written relative to the directory opened: a
// link planted at the temporary names they once had (results.json.tmp.<pid>, guessable) is not
// written through, and the directory's path made to lead elsewhere after it was opened (the
// matrix checked it, then wrote by path) does not redirect them.
TEST(ResultsJson, WrittenIntoTheDirectoryOpenedThroughNoLink) {
  const Results r = sample();
  const std::filesystem::path root =
      std::filesystem::temp_directory_path() / ("matrix_links_" + std::to_string(::getpid()));
  std::filesystem::remove_all(root);
  std::filesystem::create_directories(root / "elsewhere");
  std::filesystem::permissions(root, std::filesystem::perms::owner_all);
  const std::filesystem::path out = root / "out";
  auto dir = OutputDir::open(out.string(), ExistingDir::kAccept);
  ASSERT_TRUE(dir.ok()) << dir.error().message;
  const std::filesystem::path victim = root / "victim";
  std::ofstream(victim) << "precious";
  for (const char* n : {"results.json", "results.csv", "summary.csv"})
    std::filesystem::create_symlink(victim,
                                    out / (std::string(n) + ".tmp." + std::to_string(::getpid())));
  std::filesystem::rename(out, root / "moved");
  std::filesystem::create_directory_symlink(root / "elsewhere", out);
  ASSERT_TRUE(write_results(*dir, r));
  EXPECT_TRUE(std::filesystem::is_empty(root / "elsewhere"));
  EXPECT_EQ(read_file(victim.string()).value(), "precious");
  EXPECT_EQ(read_file((root / "moved" / "results.json").string()).value(), results_json_text(r));
  EXPECT_EQ(read_file((root / "moved" / "summary.csv").string()).value(), summaries_csv(r));
  std::size_t entries = 0;  // the three results and the three planted links: no temporary left
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(root / "moved"))
    ++entries;
  EXPECT_EQ(entries, 6u);
  std::filesystem::remove_all(root);
}

TEST(ResultsJson, RejectsOtherSchemasAndMissingFields) {
  auto doc = to_json(sample());
  doc["schema"] = "arenalab.run/1";
  EXPECT_FALSE(results_from_json(doc, "results.json"));
  doc = to_json(sample());
  doc["cells"][0].erase("status");
  auto r = results_from_json(doc, "results.json");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("status"), std::string::npos);
}

TEST(ResultsCsv, OneRowPerCellWithEmptyAbsentFields) {
  const auto csv = cells_csv(sample());
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 3);
  EXPECT_NE(csv.find("arenalab.matrix/1,larson,jemalloc,2,0,0,crashed,,11"), std::string::npos);
}

TEST(Resume, SkipsFinishedCells) {
  const std::string dir =
      std::filesystem::temp_directory_path() / ("matrix_resume_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  MatrixOptions opt;
  opt.plan.workloads = {"w"};
  opt.plan.configurations = {"glibc", "other"};
  opt.plan.repeats = 1;
  opt.workloads = {WorkloadInfo{"w", "stress", "", "/bin/true", false}};
  Configuration g;
  g.name = "glibc";
  g.backend = Backend::kGlibc;
  Configuration o = g;
  o.name = "other";
  opt.configurations = {g, o};
  opt.out_dir = dir;
  opt.progress = false;
  int calls = 0;
  opt.executor = [&calls](const CellRequest& req) {
    ++calls;
    Cell c;
    c.status = CellStatus::kOk;
    c.verified = true;
    c.wall_ms = 10.0 + calls;
    return c;
  };
  auto first = run_matrix(opt);
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_EQ(calls, 2);
  // Same directory without --resume: refused, nothing overwritten.
  EXPECT_FALSE(run_matrix(opt));
  // Two more repeats with --resume: only the four new cells run.
  opt.plan.repeats = 3;
  opt.resume = true;
  auto second = run_matrix(opt);
  ASSERT_TRUE(second) << second.error().message;
  EXPECT_EQ(calls, 6);
  EXPECT_EQ(second->cells.size(), 6u);
  EXPECT_TRUE(second->complete);
  auto on_disk = read_results(dir + "/results.json");
  ASSERT_TRUE(on_disk) << on_disk.error().message;
  EXPECT_EQ(on_disk->cells.size(), 6u);
  // Interleaved: within a repeat the configurations alternate.
  EXPECT_EQ(on_disk->cells[2].configuration, "glibc");
  EXPECT_EQ(on_disk->cells[3].configuration, "other");
  EXPECT_EQ(on_disk->cells[3].repeat, 1);
  // A resumed plan with another --smoke setting is refused.
  opt.plan.smoke = true;
  EXPECT_FALSE(run_matrix(opt));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace arenalab::matrix
