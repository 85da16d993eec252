// SPDX-License-Identifier: Apache-2.0
// Cell records and their merger: every finished cell recorded once on its own; the merge of
// partial, duplicate and corrupt records; results.json merged on a timer, not after every
// cell; --resume rebuilt from the records alone.
#include "arenalab/matrix/record.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "arenalab/core/files.h"
#include "arenalab/matrix/matrix.h"
#include "temp_dir.h"

namespace arenalab::matrix {
namespace {

namespace fs = std::filesystem;

using testing_support::TempDir;

Cell make_cell(const std::string& config, int repeat, int sequence, double wall) {
  Cell c;
  c.workload = "w";
  c.configuration = config;
  c.repeat = repeat;
  c.sequence = sequence;
  c.status = CellStatus::kOk;
  c.verified = true;
  c.exit_code = 0;
  c.wall_ms = wall;
  return c;
}

// Records `c` in its directory under the matrix directory `out` (record_cell).
Status record_in(const std::string& out, const Cell& c) {
  auto dir = OutputDir::open(out, ExistingDir::kAccept);
  if (!dir) return dir.error();
  return record_cell(*dir, c);
}

std::string record_path(const std::string& out, const Cell& c) {
  return cell_directory(out, c.workload, c.configuration, c.threads, c.repeat) + "/" +
         kCellRecordName;
}

TEST(CellRecord, WrittenAtomicallyAndReadBack) {
  TempDir d("matrix_record");
  const Cell c = make_cell("glibc", 1, 4, 12.5);
  const std::string dir = cell_directory(d.path, "w", "glibc", 0, 1);
  ASSERT_TRUE(record_in(d.path, c));
  auto back = read_cell(dir + "/cell.json");
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, c);
  // No temp file left behind, and the record is found by the scan.
  std::size_t files = 0;
  for (const auto& e : fs::directory_iterator(dir)) files += e.is_regular_file();
  EXPECT_EQ(files, 1u);
  EXPECT_EQ(find_cell_records(d.path), std::vector<std::string>{dir + "/cell.json"});
}

// The cell directories are made by record_cell, relative to the matrix directory's fd: a link
// planted for one of them (here cells/w, pointing at another user's directory) is refused,
// never written through; nothing lands where it points.
TEST(CellRecord, RefusesALinkPlantedForACellDirectory) {
  TempDir d("matrix_record_link");
  const std::string out = d.path + "/m", victim = d.path + "/victim";
  fs::create_directories(out + "/cells");
  fs::create_directories(victim);
  fs::create_directory_symlink(victim, out + "/cells/w");
  auto st = record_in(out, make_cell("glibc", 0, 0, 1));
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message.find(out + "/cells/w is a symbolic link"), std::string::npos)
      << st.error().message;
  EXPECT_TRUE(fs::is_empty(victim));
}

TEST(Merge, PartialRecordsGiveTheCellsThatExistInSequenceOrder) {
  TempDir d("matrix_merge_partial");
  // Recorded out of order on disk (paths sort other than sequences): merged by sequence.
  for (const Cell& c : {make_cell("b", 0, 1, 2), make_cell("a", 1, 2, 3), make_cell("a", 0, 0, 1)})
    ASSERT_TRUE(record_in(d.path, c));
  const Merged m = merge_cell_records(d.path);
  EXPECT_TRUE(m.notes.empty());
  ASSERT_EQ(m.cells.size(), 3u);
  EXPECT_EQ(m.records, 3u);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(m.cells[i].sequence, i);
  EXPECT_EQ(m.cells[1].configuration, "b");
}

TEST(Merge, DuplicateKeepsTheLaterAndSaysSo) {
  std::vector<std::pair<std::string, Result<Cell>>> records;
  records.emplace_back("x/cell.json", make_cell("a", 0, 7, 70));  // the later, read first
  records.emplace_back("y/cell.json", make_cell("a", 0, 3, 30));
  records.emplace_back("z/cell.json", make_cell("b", 0, 4, 40));
  const Merged m = merge_records(std::move(records));
  ASSERT_EQ(m.cells.size(), 2u);
  EXPECT_EQ(m.duplicates, 1u);
  EXPECT_EQ(m.cells[0].configuration, "b");
  EXPECT_EQ(m.cells[1].wall_ms, 70);
  ASSERT_EQ(m.notes.size(), 1u);
  EXPECT_NE(m.notes[0].find("w|a|0|0 recorded twice"), std::string::npos) << m.notes[0];
  EXPECT_NE(m.notes[0].find("keeping the later, x/cell.json"), std::string::npos) << m.notes[0];

  // Equal sequences: the later in the input wins.
  std::vector<std::pair<std::string, Result<Cell>>> tie;
  tie.emplace_back("p/cell.json", make_cell("a", 0, 1, 10));
  tie.emplace_back("q/cell.json", make_cell("a", 0, 1, 11));
  const Merged t = merge_records(std::move(tie));
  ASSERT_EQ(t.cells.size(), 1u);
  EXPECT_EQ(t.cells[0].wall_ms, 11);
  EXPECT_NE(t.notes.at(0).find("keeping the later, q/cell.json"), std::string::npos);
}

TEST(Merge, CorruptRecordIsReportedWithFileAndLineAndTheRestKept) {
  TempDir d("matrix_merge_corrupt");
  const Cell good = make_cell("a", 0, 0, 1), cut = make_cell("a", 1, 1, 2);
  const Cell bad_field = make_cell("a", 2, 2, 3);
  for (const Cell& c : {good, cut, bad_field}) ASSERT_TRUE(record_in(d.path, c));
  // Truncated in the middle of the file (a disk or a copy that lost its end).
  const std::string cut_path = record_path(d.path, cut);
  auto text = read_file(cut_path);
  ASSERT_TRUE(text);
  ASSERT_TRUE(write_file_atomic(cut_path, text->substr(0, text->size() / 2)));
  // A field of the wrong type.
  const std::string bad_path = record_path(d.path, bad_field);
  auto doc = cell_to_json(bad_field);
  doc["wall_ms"] = "fast";
  ASSERT_TRUE(write_file_atomic(bad_path, doc.dump(1)));

  const Merged m = merge_cell_records(d.path);
  ASSERT_EQ(m.cells.size(), 1u);
  EXPECT_EQ(m.cells[0], good);
  EXPECT_EQ(m.corrupt, 2u);
  ASSERT_EQ(m.notes.size(), 2u);
  std::string cut_note, bad_note;
  for (const auto& n : m.notes) (n.find(cut_path) != std::string::npos ? cut_note : bad_note) = n;
  EXPECT_NE(cut_note.find("line"), std::string::npos) << cut_note;
  EXPECT_NE(bad_note.find(bad_path), std::string::npos) << bad_note;
  EXPECT_NE(bad_note.find("wall_ms"), std::string::npos) << bad_note;
}

// A matrix of one workload x two configurations x `repeats` with a canned executor.
MatrixOptions canned_matrix(const std::string& out, int repeats, int* calls) {
  MatrixOptions opt;
  opt.plan.workloads = {"w"};
  opt.plan.configurations = {"glibc", "other"};
  opt.plan.repeats = repeats;
  opt.workloads = {WorkloadInfo{"w", "stress", "", "/bin/true", false}};
  Configuration g;
  g.name = "glibc";
  g.backend = Backend::kGlibc;
  Configuration o = g;
  o.name = "other";
  opt.configurations = {g, o};
  opt.out_dir = out;
  opt.progress = false;
  opt.identify = "harness";
  Environment env;
  env.cpu_model = "Test CPU";
  opt.environment = env;
  opt.executor = [calls](const CellRequest&) {
    ++*calls;
    Cell c;
    c.status = CellStatus::kOk;
    c.verified = true;
    c.wall_ms = 10.0 + *calls;
    return c;
  };
  return opt;
}

// The runner writes into the cell's directory by path: the matrix makes (or checks) every level
// of it through --out's fd first, so a link planted for one (cells/w -> elsewhere) stops the
// matrix with one message before the cell runs, and nothing lands where it points.
TEST(RunMatrix, ALinkPlantedForACellDirectoryIsRefusedBeforeTheCellRuns) {
  TempDir d("matrix_cell_link");
  const std::string out = d.path + "/m", victim = d.path + "/victim";
  fs::create_directories(out + "/cells");
  fs::create_directories(victim);
  fs::create_directory_symlink(victim, out + "/cells/w");
  int calls = 0;
  MatrixOptions opt = canned_matrix(out, 1, &calls);
  auto inner = opt.executor;
  opt.executor = [&](const CellRequest& req) {  // as the runner: its files in the cell directory
    fs::create_directories(req.cell_dir);
    std::ofstream(req.cell_dir + "/run.json") << "{}";
    return inner(req);
  };
  auto r = run_matrix(opt);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find(out + "/cells/w is a symbolic link"), std::string::npos)
      << r.error().message;
  EXPECT_EQ(calls, 0);
  EXPECT_TRUE(fs::is_empty(victim));
}

// Each cell's directory is opened once, before the cell runs, and its record written into that
// directory: a cell directory moved away while the cell ran (and another made at its path) still
// gets its record, and the directory now at the path gets nothing. Before, the record was written
// by opening every level a second time, into whatever the path then named.
TEST(RunMatrix, TheRecordLandsInTheDirectoryOpenedBeforeTheCell) {
  TempDir d("matrix_cell_once");
  const std::string out = d.path + "/m";
  int calls = 0;
  MatrixOptions opt = canned_matrix(out, 1, &calls);
  opt.plan.configurations = {"glibc"};
  opt.configurations.resize(1);
  auto inner = opt.executor;
  opt.executor = [&](const CellRequest& req) {
    EXPECT_NE(req.dir, nullptr);
    if (req.dir) {
      EXPECT_EQ(req.dir->path(), req.cell_dir);
    }
    fs::rename(req.cell_dir, d.path + "/moved");
    fs::create_directory(req.cell_dir);
    fs::permissions(req.cell_dir, fs::perms::owner_all);
    return inner(req);
  };
  auto r = run_matrix(opt);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(calls, 1);
  EXPECT_TRUE(fs::exists(d.path + "/moved/cell.json"));
  EXPECT_TRUE(fs::is_empty(cell_directory(out, "w", "glibc", 0, 0)));
}

// The warm-up runs in a directory of its own, made through cells/' fd and removed after: a
// cells/warmup that was there (not made by this matrix) is neither used nor removed, nor what is
// in it; the preflight likewise (cells/preflight.<random>, not cells/preflight).
TEST(RunMatrix, WarmUpRunsInADirectoryItMadeNeverOneThatWasThere) {
  TempDir d("matrix_warmup_own");
  const std::string out = d.path + "/m";
  fs::create_directories(out + "/cells/warmup");
  fs::permissions(out, fs::perms::owner_all);
  fs::permissions(out + "/cells", fs::perms::owner_all);
  fs::permissions(out + "/cells/warmup", fs::perms::owner_all);
  std::ofstream(out + "/cells/warmup/keep") << "the user's";
  int calls = 0;
  MatrixOptions opt = canned_matrix(out, 1, &calls);
  opt.plan.warmup = true;
  std::vector<std::string> warm_dirs;
  auto inner = opt.executor;
  opt.executor = [&](const CellRequest& req) {
    if (req.cell_dir.find("/cells/w/") == std::string::npos) {  // a warm-up
      warm_dirs.push_back(req.cell_dir);
      EXPECT_TRUE(fs::is_directory(req.cell_dir));
      EXPECT_TRUE(req.dir != nullptr && req.dir->created());
      std::ofstream(req.cell_dir + "/run.json") << "{}";  // as the runner would
      return Cell{};
    }
    return inner(req);
  };
  auto r = run_matrix(opt);
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(warm_dirs.size(), 2u);  // one per configuration
  EXPECT_EQ(warm_dirs[0], warm_dirs[1]);
  EXPECT_EQ(fs::path(warm_dirs[0]).parent_path(), fs::path(out + "/cells"));
  EXPECT_NE(warm_dirs[0], out + "/cells/warmup");
  EXPECT_FALSE(fs::exists(warm_dirs[0]));  // removed after the warm-ups
  std::ifstream keep(out + "/cells/warmup/keep");
  std::string text;
  std::getline(keep, text);
  EXPECT_EQ(text, "the user's");
}

TEST(RunMatrix, RecordsEveryCellAndMergesResultsOnATimerNotPerCell) {
  TempDir d("matrix_timer");
  int calls = 0;
  MatrixOptions opt = canned_matrix(d.path, 5, &calls);
  opt.merge_interval_s = 3600;    // no merge while it runs
  std::vector<std::size_t> seen;  // cells in results.json as each cell starts
  auto inner = opt.executor;
  opt.executor = [&](const CellRequest& req) {
    auto r = read_results(d.path + "/results.json");
    EXPECT_TRUE(r) << "results.json (plan, environment) must exist before the first cell";
    if (r) seen.push_back(r->cells.size());
    return inner(req);
  };
  auto results = run_matrix(opt);
  ASSERT_TRUE(results) << results.error().message;
  EXPECT_EQ(calls, 10);
  EXPECT_EQ(seen, std::vector<std::size_t>(10, 0));  // never rewritten after a cell
  EXPECT_EQ(find_cell_records(d.path).size(), 10u);
  auto on_disk = read_results(d.path + "/results.json");
  ASSERT_TRUE(on_disk);
  EXPECT_EQ(on_disk->cells.size(), 10u);
  EXPECT_TRUE(on_disk->complete);
  EXPECT_EQ(on_disk->environment.cpu_model, "Test CPU");
  // The merged results equal the merge of the records.
  EXPECT_EQ(merge_cell_records(d.path).cells, on_disk->cells);
  // Records without results.json: a fresh run is refused rather than mixed with them.
  fs::remove(d.path + "/results.json");
  auto again = run_matrix(opt);
  ASSERT_FALSE(again);
  EXPECT_NE(again.error().message.find("10 cell records"), std::string::npos);

  // With a zero interval the merge runs as often as its own cost allows: progress is seen.
  TempDir d2("matrix_timer_zero");
  calls = 0;
  MatrixOptions fast = canned_matrix(d2.path, 5, &calls);
  fast.merge_interval_s = 0;
  std::size_t last_seen = 0;
  auto inner2 = fast.executor;
  fast.executor = [&](const CellRequest& req) {
    if (auto r = read_results(d2.path + "/results.json")) last_seen = r->cells.size();
    return inner2(req);
  };
  ASSERT_TRUE(run_matrix(fast));
  EXPECT_GT(last_seen, 0u);
}

TEST(RunMatrix, ResumeRebuildsFromRecordsAfterAKill) {
  TempDir d("matrix_resume_records");
  int calls = 0;
  MatrixOptions opt = canned_matrix(d.path, 3, &calls);
  opt.merge_interval_s = 3600;
  ASSERT_TRUE(run_matrix(opt));
  const auto full = read_results(d.path + "/results.json");
  ASSERT_TRUE(full);
  // As a kill after four cells leaves it: results.json from before the first cell (no cells),
  // four records, the fifth cell's temp file half written.
  Results early = *full;
  early.cells.clear();
  early.summaries.clear();
  early.complete = false;
  ASSERT_TRUE(write_results(d.path, early));
  for (std::size_t i = 4; i < full->cells.size(); ++i)
    fs::remove(record_path(d.path, full->cells[i]));
  {
    std::ofstream tmp(record_path(d.path, full->cells[4]) + ".tmp.12345");
    tmp << "{\"schema\": \"arenalab.matrix-cell/1\", \"work";
  }
  calls = 0;
  opt.resume = true;
  std::vector<std::string> notes;
  opt.merge_notes = &notes;
  auto resumed = run_matrix(opt);
  ASSERT_TRUE(resumed) << resumed.error().message;
  EXPECT_TRUE(notes.empty());
  EXPECT_EQ(calls, 2);  // only the two lost cells
  ASSERT_EQ(resumed->cells.size(), full->cells.size());
  for (std::size_t i = 0; i < full->cells.size(); ++i) {
    EXPECT_EQ(resumed->cells[i].key(), full->cells[i].key());
    EXPECT_EQ(resumed->cells[i].sequence, static_cast<int>(i));
  }
  for (std::size_t i = 0; i < 4; ++i) EXPECT_EQ(resumed->cells[i], full->cells[i]);
  EXPECT_TRUE(resumed->complete);

  // A corrupt record on resume: reported, and its cell runs again.
  const std::string victim = record_path(d.path, full->cells[1]);
  ASSERT_TRUE(write_file_atomic(victim, "{\"schema\": \"arenalab.matrix-cell/1\",\n \"work"));
  ASSERT_TRUE(write_results(d.path, early));
  calls = 0;
  auto again = run_matrix(opt);
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(calls, 1);
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_NE(notes[0].find(victim), std::string::npos) << notes[0];
  EXPECT_EQ(again->cells.size(), full->cells.size());
}

}  // namespace
}  // namespace arenalab::matrix
