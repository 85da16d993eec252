// SPDX-License-Identifier: Apache-2.0
// arenalab-workload-report (workloads/real/workload_report.cc): the real-program drivers hand
// it their figures as words and it prints their arenalab.workload/2 line through the format's
// one writer. Its line reads back with the reader as the report the words describe; a word it
// does not know, or a figure the reader would refuse, is one line on stderr, exit 2, and
// nothing on stdout. A real driver (wl_sqlite --smoke --json) prints a line the reader reads.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "arenalab/core/process.h"
#include "arenalab/formats/workload.h"

namespace arenalab {
namespace {

ExitInfo run(std::vector<std::string> argv) {
  SpawnSpec spec;
  spec.argv = std::move(argv);
  spec.capture_stdout = true;
  spec.capture_stderr = true;
  spec.stdin_null = true;
  auto e = run_process(spec);
  EXPECT_TRUE(e) << e.error().message;
  return e ? *e : ExitInfo{};
}

TEST(WorkloadReportTool, PrintsWhatTheReaderReadsAsTheWordsSay) {
  const ExitInfo e = run({ARENALAB_REPORT_TOOL,
                          "workload=sqlite",
                          "backend=jemalloc",
                          "library=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2",
                          "version=5.3.0",
                          "method=ld-debug",
                          "param=rows=10000",
                          "param=smoke=true",
                          "measurement=elapsed_ms=812.5",
                          "measurement=peak_rss_bytes=41943040",
                          "measurement=tests={\"SET\":91000.5}",
                          "measurement=mem_allocator=\"jemalloc-5.3.0\"",
                          "throughput=14230.25",
                          "throughput_unit=statements/s",
                          "--check",
                          "name=sqlite_ok",
                          "pass=true",
                          "detail=sqlite3 exit 0",
                          "--check",
                          "name=rows_left",
                          "pass=false",
                          "detail=6665 rows left = x"});
  ASSERT_EQ(e.exit_code, 0) << e.err;
  EXPECT_EQ(e.err, "");
  auto found = workload::find_workload_report(e.out, "the tool's output");
  ASSERT_TRUE(found) << found.error().message;
  ASSERT_TRUE(found->has_value()) << e.out;
  const workload::WorkloadReport& r = **found;
  EXPECT_EQ(r.workload, "sqlite");
  EXPECT_EQ(r.backend, formats::Backend::kJemalloc);
  EXPECT_EQ(r.library, "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2");
  EXPECT_EQ(r.version, "5.3.0");
  EXPECT_EQ(r.method, workload::Method::kLdDebug);
  EXPECT_EQ(r.params, (nlohmann::json{{"rows", 10000}, {"smoke", true}}));
  EXPECT_EQ(r.peak_rss_bytes(), 41943040.0);
  EXPECT_EQ(r.throughput(), 14230.25);
  EXPECT_EQ(r.throughput_unit(), "statements/s");
  EXPECT_EQ(r.measurements["tests"]["SET"], 91000.5);
  EXPECT_EQ(r.measurements["mem_allocator"], "jemalloc-5.3.0");
  ASSERT_EQ(r.checks.size(), 2u);
  EXPECT_EQ(r.checks[1].detail, "6665 rows left = x");  // '=' in a value is kept
  EXPECT_FALSE(r.pass);                                 // one check failed
  // The line is the writer's: the same report written again is the same text.
  EXPECT_EQ(workload::workload_line(r), e.out);
}

TEST(WorkloadReportTool, RefusesBadWordsInOneLineAndPrintsNothing) {
  struct Case {
    std::vector<std::string> words;
    std::string message;
  };
  const Case cases[] = {
      {{"workload=x", "colour=red"}, "unknown word 'colour=red'"},
      {{"workload=x", "backend=ptmalloc9"}, "unknown backend 'ptmalloc9'"},
      {{"workload=x", "measurement=peak_rss_bytes=-1"}, "measurements.peak_rss_bytes"},
      {{"workload=x", "measurement=elapsed_ms=12ms"}, "the value is not a JSON value"},
      {{"workload=x", "--check", "pass=maybe"}, "unknown check word 'pass=maybe'"},
      {{"workload=x", "method=dladdr"}, "method: expected ld-debug or nothing"},
      {{"backend=glibc"}, "missing workload=NAME"},
  };
  for (const auto& c : cases) {
    std::vector<std::string> argv = {ARENALAB_REPORT_TOOL};
    argv.insert(argv.end(), c.words.begin(), c.words.end());
    const ExitInfo e = run(argv);
    SCOPED_TRACE(c.words.back());
    EXPECT_EQ(e.exit_code, 2);
    EXPECT_EQ(e.out, "");
    EXPECT_EQ(e.err.rfind("arenalab-workload-report: ", 0), 0u) << e.err;
    EXPECT_NE(e.err.find(c.message), std::string::npos) << e.err;
    EXPECT_EQ(e.err.find('\n'), e.err.size() - 1) << e.err;  // one line
  }
}

// The real thing: Debian's sqlite3 driven by wl_sqlite, its result through the tool.
TEST(WorkloadReportTool, TheSqliteDriversLineReadsBack) {
  if (find_program("sqlite3").empty())
    GTEST_SKIP() << "sqlite3 not installed (apt-get install sqlite3)";
  const ExitInfo e = run({ARENALAB_WL_SQLITE, "--smoke", "--json"});
  ASSERT_EQ(e.exit_code, 0) << e.err << e.out;
  auto found = workload::find_workload_report(e.out, "wl_sqlite --json");
  ASSERT_TRUE(found) << found.error().message;
  ASSERT_TRUE(found->has_value()) << e.out;
  const workload::WorkloadReport& r = **found;
  EXPECT_EQ(r.workload, "sqlite");
  EXPECT_EQ(r.method, workload::Method::kLdDebug);
  EXPECT_EQ(r.backend, formats::Backend::kGlibc) << r.library;
  EXPECT_TRUE(r.pass);
  EXPECT_TRUE(r.peak_rss_bytes());
  EXPECT_TRUE(r.throughput());
  EXPECT_EQ(r.throughput_unit(), "statements/s");
  EXPECT_EQ(r.params["smoke"], true);
  EXPECT_EQ(r.checks.size(), 2u);
}

}  // namespace
}  // namespace arenalab
