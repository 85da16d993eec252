// SPDX-License-Identifier: Apache-2.0
// `arenalab budget` end to end with real cgroups and wl_service (seed task 9): a limit equal to
// the heap cap is OOM-killed by the kernel with a healthy heap; heap + off-heap + headroom
// survives (or stops cleanly at the off-heap cap); Ctrl-C/SIGTERM remove the group; no
// permission gives one line and exit 1. Skips with the reason where no group can be created.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "arenalab/budget/cgroup.h"
#include "arenalab/core/files.h"
#include "arenalab/core/process.h"
#include "arenalab/core/sizes.h"
#include "arenalab/formats/budget.h"

namespace arenalab::budget {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const std::string kBin = ARENALAB_BIN_DIR;
constexpr std::uint64_t kMiB = 1ULL << 20;

// The reason budget cannot work here, or empty when it can (a real create + remove).
std::string unavailable_reason() {
  auto parent = discover_memory_parent();
  if (!parent) return parent.error().message;
  std::vector<std::string> warnings;
  auto g = Group::create(*parent, "arenalab-budget-probe-" + std::to_string(::getpid()), 64 * kMiB,
                         &warnings);
  if (!g) return g.error().message;
  if (auto s = g->remove(); !s) return s.error().message;
  return {};
}

// Groups named arenalab-budget-* under our own memory cgroup (left behind = a defect).
std::vector<std::string> leftover_groups() {
  std::vector<std::string> out;
  auto parent = discover_memory_parent();
  if (!parent) return out;
  for (const auto& e : fs::directory_iterator(parent->dir))
    if (e.is_directory() && e.path().filename().string().rfind("arenalab-budget-", 0) == 0)
      out.push_back(e.path().string());
  return out;
}

class Budget : public ::testing::Test {
 protected:
  void SetUp() override {
    if (const std::string why = unavailable_reason(); !why.empty()) GTEST_SKIP() << why;
    out_ = fs::temp_directory_path() /
           ("arenalab-budget-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(out_);
    fs::create_directories(out_);
  }
  void TearDown() override {
    if (!out_.empty()) {
      EXPECT_TRUE(leftover_groups().empty()) << "an arenalab-budget-* cgroup was left behind";
      fs::remove_all(out_);
    }
  }

  ExitInfo run(std::vector<std::string> args) {
    SpawnSpec spec;
    spec.argv = {kBin + "/arenalab"};
    spec.argv.insert(spec.argv.end(), args.begin(), args.end());
    spec.capture_stdout = spec.capture_stderr = true;
    auto r = run_process(spec);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
    return r.ok() ? *r : ExitInfo{};
  }

  // budget.json as written; it must also read back through its one reader (formats/budget.h).
  json budget_json() const {
    const std::string path = (out_ / "budget.json").string();
    auto record = budget::read_budget_json(path);
    EXPECT_TRUE(record.ok()) << (record.ok() ? "" : record.error().message);
    auto text = read_file(path);
    EXPECT_TRUE(text.ok());
    return text.ok() ? json::parse(*text) : json();
  }

  // The service's own heap reports (one JSON object per line).
  std::vector<json> service_reports() const {
    std::vector<json> out;
    std::ifstream in(out_ / "service.jsonl");
    for (std::string line; std::getline(in, line);)
      if (!line.empty()) out.push_back(json::parse(line));
    return out;
  }

  fs::path out_;
};

TEST_F(Budget, LimitEqualToHeapCapIsKilledByTheKernelWithAHealthyHeap) {
  const std::uint64_t heap_cap = 48 * kMiB;
  const ExitInfo e = run({"budget", "--limit", std::to_string(heap_cap), "--out", out_.string(),
                          "--interval", "50", "--", kBin + "/wl_service", "--smoke", "--heap-cap",
                          std::to_string(heap_cap), "--report", (out_ / "service.jsonl").string()});
  // arenalab's status is the target's: 137, as run and watch say it (issue 20).
  ASSERT_EQ(e.shell_status(), 137) << e.err << e.out;
  const json b = budget_json();
  // The kernel ended it: SIGKILL, status 137, the group's oom_kill counter raised.
  ASSERT_TRUE(b["exit"].contains("signal")) << b.dump(2);
  EXPECT_EQ(b["exit"]["signal"], SIGKILL);
  EXPECT_EQ(b["exit"]["status"], 137);
  EXPECT_TRUE(b["oom_killed"].get<bool>());
  ASSERT_TRUE(b["group"].contains("oom_kill")) << "this kernel has no oom_kill counter";
  EXPECT_GE(b["group"]["oom_kill"].get<std::uint64_t>(), 1u);
  EXPECT_TRUE(b["cgroup"]["removed"].get<bool>());
  // It ran: killed while running, never said to be before exec.
  EXPECT_NE(e.out.find("kernel OOM kill    yes, while it ran"), std::string::npos) << e.out;
  EXPECT_EQ(e.out.find("before it could exec"), std::string::npos) << e.out;
  // No error from the program itself (it shares our stderr: nothing of its own there).
  EXPECT_EQ(e.err.find("wl_service:"), std::string::npos) << e.err;
  // The heap was healthy: never above its cap in any report, and the service got far enough
  // to report at least twice.
  const auto reports = service_reports();
  ASSERT_GE(reports.size(), 2u);
  for (const auto& r : reports) {
    EXPECT_LE(r["heap_peak_bytes"].get<std::uint64_t>(), heap_cap) << r.dump();
    EXPECT_NE(r["event"], "refused");
    EXPECT_NE(r["event"], "done");
  }
  // The process was not: the group's peak reached the limit (the kernel rounds to pages).
  ASSERT_TRUE(b.contains("peak_usage_bytes"));
  EXPECT_GE(b["peak_usage_bytes"].get<double>(), 0.95 * static_cast<double>(heap_cap));
  EXPECT_FALSE(b["rss_timeline"].empty());
  // Run through the interposer: the allocator's own view at the last sample is there.
  ASSERT_TRUE(b.contains("allocator_at_last_sample")) << b.dump(2);
  EXPECT_FALSE(b["allocator_at_last_sample"].is_null()) << b.dump(2);
}

TEST_F(Budget, HeapPlusOffHeapPlusHeadroomSurvivesOrStopsCleanly) {
  const std::uint64_t heap_cap = 48 * kMiB, offheap_cap = 32 * kMiB, headroom = 32 * kMiB;
  const ExitInfo e =
      run({"budget", "--limit", std::to_string(heap_cap + offheap_cap + headroom), "--out",
           out_.string(), "--interval", "50", "--", kBin + "/wl_service", "--smoke", "--heap-cap",
           std::to_string(heap_cap), "--offheap-cap", std::to_string(offheap_cap), "--report",
           (out_ / "service.jsonl").string()});
  const json b = budget_json();
  EXPECT_EQ(e.shell_status(), b["exit"]["status"].get<int>()) << e.err << e.out;
  EXPECT_FALSE(b["oom_killed"].get<bool>()) << b.dump(2);
  EXPECT_EQ(b["group"].value("oom_kill", 0u), 0u);
  ASSERT_TRUE(b["exit"].contains("code")) << b.dump(2);
  const int code = b["exit"]["code"];
  EXPECT_TRUE(code == 0 || code == 75) << "exit " << code;
  if (code == 75) {
    EXPECT_NE(e.err.find("off-heap cap reached"), std::string::npos) << e.err;
  }
  const auto reports = service_reports();
  ASSERT_FALSE(reports.empty());
  EXPECT_EQ(reports.back()["event"], code == 75 ? "refused" : "done");
  for (const auto& r : reports) EXPECT_LE(r["heap_peak_bytes"].get<std::uint64_t>(), heap_cap);
  EXPECT_LE(reports.back()["offheap_bytes"].get<std::uint64_t>(), offheap_cap);
  EXPECT_TRUE(b["cgroup"]["removed"].get<bool>());
}

// SIGINT, SIGTERM, SIGHUP, SIGQUIT to arenalab, through the runner and --external: passed on to
// the target, which ends by it; the group removed (the grandchild with it), budget.json still
// written, and arenalab ends by the same signal (a shell sees 128 + N).
class BudgetInterrupted : public Budget,
                          public ::testing::WithParamInterface<std::tuple<int, bool>> {};

TEST_P(BudgetInterrupted, PassesTheSignalOnAndRemovesTheGroup) {
  const auto [sig, external] = GetParam();
  SpawnSpec spec;
  // The target starts a grandchild too: both are inside the group and must go with it.
  // No core file from SIGQUIT.
  spec.argv = {kBin + "/arenalab", "budget", "--limit", "64M", "--out", out_.string()};
  if (external) spec.argv.push_back("--external");
  for (const char* a : {"--", "sh", "-c", "ulimit -c 0; sleep 30 & exec sleep 31"})
    spec.argv.push_back(a);
  spec.capture_stdout = spec.capture_stderr = true;
  auto child = spawn(spec);
  ASSERT_TRUE(child.ok()) << child.error().message;
  auto parent = discover_memory_parent();
  ASSERT_TRUE(parent.ok());
  const std::string group = parent->dir + "/arenalab-budget-" + std::to_string(child->pid());
  // Wait until the target is inside the group (a busy machine may take a while).
  bool inside = false;
  for (int i = 0; i < 500 && !inside; ++i) {
    auto procs = read_file(group + "/cgroup.procs");
    inside = procs.ok() && std::count(procs->begin(), procs->end(), '\n') >= 2;
    if (!inside) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_TRUE(inside) << group << " never held the target";
  ::kill(child->pid(), sig);
  auto e = child->wait();
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->signal.value_or(-1), sig) << e->describe() << ": " << e->err;
  EXPECT_EQ(e->shell_status(), 128 + sig);
  EXPECT_FALSE(fs::exists(group)) << group << " was left behind";
  const json b = budget_json();
  EXPECT_EQ(b["interrupted_by"], signal_name(sig));
  EXPECT_EQ(b["exit"]["signal"], sig) << b.dump(2);  // passed on: the target ended by it
  const pid_t target = b["pid"];
  EXPECT_NE(::kill(target, 0), 0) << "target " << target << " still runs";
  EXPECT_LT(e->wall_ms, 20000) << "the target was not ended early";
}

INSTANTIATE_TEST_SUITE_P(Signals, BudgetInterrupted,
                         ::testing::Combine(::testing::Values(SIGINT, SIGTERM, SIGHUP, SIGQUIT),
                                            ::testing::Bool()),
                         [](const auto& info) {
                           return std::string(sigabbrev_np(std::get<0>(info.param))) +
                                  (std::get<1>(info.param) ? "_external" : "_runner");
                         });

// The target's status is arenalab's; --exit-zero keeps the old "0 once measured".
TEST_F(Budget, ExitStatusIsTheTargetsUnlessExitZero) {
  ExitInfo e =
      run({"budget", "--limit", "64M", "--out", (out_ / "a").string(), "--", "sh", "-c", "exit 5"});
  EXPECT_EQ(e.shell_status(), 5) << e.err;
  e = run({"budget", "--exit-zero", "--limit", "64M", "--out", (out_ / "b").string(), "--", "sh",
           "-c", "exit 5"});
  EXPECT_EQ(e.shell_status(), 0) << e.err;
}

// Through the runner (the default where it is built): the interposer inside the target
// verifies the allocator and the report carries the allocator's books at the last sample.
// awk is a C program that allocates and lives long enough for a few stats intervals.
TEST_F(Budget, ThroughTheRunnerTheReportCarriesTheAllocatorsView) {
  const ExitInfo e =
      run({"budget", "--limit", "64M", "--out", out_.string(), "--interval", "50", "--", "awk",
           "BEGIN { for (i = 0; i < 100000; i++) a[i] = i; system(\"sleep 0.5\") }"});
  ASSERT_EQ(e.exit_code.value_or(-1), 0) << e.err << e.out;
  const json b = budget_json();
  if (!b.contains("runner")) GTEST_SKIP() << "arenalab was built without arenalab_runner";
  EXPECT_EQ(b["exit"].value("code", -1), 0) << b.dump(2);
  EXPECT_TRUE(b["runner"]["verified"].get<bool>()) << b.dump(2);
  ASSERT_TRUE(b.contains("allocator_at_last_sample")) << b.dump(2);
  EXPECT_GT(b["allocator_at_last_sample"].value("allocated", 0.0), 0.0);
  EXPECT_TRUE(fs::exists(out_ / "run.json"));
  EXPECT_TRUE(fs::exists(out_ / "cgroup.jsonl"));
  EXPECT_TRUE(b["cgroup"]["removed"].get<bool>());
}

TEST_F(Budget, CommandThatCannotStartIsOneLineAndLeavesNoFile) {
  const ExitInfo e =
      run({"budget", "--limit", "64M", "--out", out_.string(), "--", "/nonexistent/program"});
  EXPECT_EQ(e.exit_code.value_or(-1), 1);
  EXPECT_EQ(std::count(e.err.begin(), e.err.end(), '\n'), 1) << e.err;
  EXPECT_NE(e.err.find("/nonexistent/program"), std::string::npos) << e.err;
  EXPECT_TRUE(fs::is_empty(out_)) << "files left in " << out_;
}

// A limit below what starting the command takes: the kernel kills the target before it runs,
// no sample is taken, budget.json lists only the files written, and the report of that directory
// still draws the budget's plot (empty, "no samples recorded"). Before, gnuplot failed on the empty
// plot ("all points y value undefined!") and the report carried its error instead of the plot.
TEST_F(Budget, KilledBeforeTheFirstSampleListsNoTimelineAndStillGetsItsPlot) {
  if (const ExitInfo g = run({"report", "--help"}); g.exit_code.value_or(-1) != 0)
    GTEST_SKIP() << "arenalab report is not built";
  SpawnSpec gp;
  gp.argv = {"gnuplot", "--version"};
  gp.capture_stdout = gp.capture_stderr = true;
  if (auto v = run_process(gp); !v || v->exit_code.value_or(-1) != 0)
    GTEST_SKIP() << "gnuplot is not installed (gnuplot-nox)";
  const ExitInfo e = run(
      {"budget", "--limit", "4K", "--external", "--out", (out_ / "b").string(), "--", "/bin/true"});
  ASSERT_EQ(e.shell_status(), 137) << e.err << e.out;
  // What budget.json and the summary list as its files exist (no timeline was written: the
  // kernel killed the target before the first sample).
  auto text = read_file((out_ / "b" / "budget.json").string());
  ASSERT_TRUE(text.ok());
  for (const auto& [what, path] : json::parse(*text)["files"].items())
    EXPECT_TRUE(fs::exists(path.get<std::string>())) << what << " " << path << " was not written";
  EXPECT_EQ(e.out.find("timeline.jsonl"), std::string::npos) << e.out;
  const ExitInfo r = run({"report", (out_ / "b").string(), "--out", (out_ / "r").string()});
  ASSERT_EQ(r.exit_code.value_or(-1), 0) << r.err;
  EXPECT_EQ(r.err.find("gnuplot failed"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("1 plot(s)"), std::string::npos) << r.err;
  auto svg = read_file((out_ / "r" / "plots" / "budget_0.svg").string());
  ASSERT_TRUE(svg.ok()) << "no budget plot written: " << r.err;
  EXPECT_NE(svg->find("no samples recorded"), std::string::npos);
}

// A limit below what exec takes: the kernel kills the child after it joined the group, before
// exec (the kernel log names it by arenalab's own name). Said so, never as an OOM kill of the
// program while it ran: told by the kernel's PF_FORKNOEXEC (core spawn), with and without the
// runner.
TEST_F(Budget, KilledBeforeExecIsSaidSo) {
  for (bool external : {true, false}) {
    std::vector<std::string> args = {"budget", "--limit", "4K"};
    if (external) args.push_back("--external");
    args.insert(args.end(), {"--out", (out_ / (external ? "e" : "r")).string(), "--", "/bin/true"});
    const ExitInfo e = run(args);
    EXPECT_EQ(e.shell_status(), 137) << e.err << e.out;
    EXPECT_NE(e.out.find("killed by SIGKILL before it could exec: the program never ran"),
              std::string::npos)
        << e.out;
    EXPECT_NE(e.out.find("kernel OOM kill    yes, between joining the group and exec"),
              std::string::npos)
        << e.out;
    // budget.json says it too: exit.before_exec.
    auto text = read_file((out_ / (external ? "e" : "r") / "budget.json").string());
    ASSERT_TRUE(text.ok()) << text.error().message;
    const json b = json::parse(*text);
    EXPECT_EQ(b["exit"].value("before_exec", json()), json(true)) << b["exit"].dump();
  }
}

// A target whose children outlive it (`sleep &`, a daemon): the group's removal kills them, and
// budget says so (their pids, in budget.json's warnings and the summary) instead of doing it
// silently; none is left running and the group is gone.
TEST_F(Budget, ChildrenThatOutliveTheTargetAreNamedWhenTheGroupEndsThem) {
  for (const char* how : {"runner", "external"}) {
    const fs::path out = out_ / how;
    std::vector<std::string> args = {"budget", "--limit", "64M", "--out", out.string()};
    if (std::string(how) == "external") args.push_back("--external");
    for (const char* a : {"--", "sh", "-c", "sleep 60 & echo $! > \"$0\"; exit 0", "/dev/null"})
      args.push_back(a);
    args.back() = (out_ / (std::string(how) + ".pid")).string();
    const ExitInfo e = run(args);
    ASSERT_EQ(e.shell_status(), 0) << how << ": " << e.err << e.out;
    auto pid_text = read_file((out_ / (std::string(how) + ".pid")).string());
    ASSERT_TRUE(pid_text.ok()) << how;
    const pid_t child = static_cast<pid_t>(std::stol(*pid_text));
    EXPECT_NE(e.out.find("outlived it (pid " + std::to_string(child) + ")"), std::string::npos)
        << how << ": " << e.out;
    auto text = read_file((out / "budget.json").string());
    ASSERT_TRUE(text.ok()) << how;
    const json b = json::parse(*text);
    bool named = false;
    for (const auto& w : b["warnings"])
      named = named || w.get<std::string>().find(std::to_string(child)) != std::string::npos;
    EXPECT_TRUE(named) << how << ": " << b["warnings"].dump();
    EXPECT_TRUE(b["cgroup"]["removed"].get<bool>()) << how;
    // Killed, and reaped by whoever adopted it: gone, or at most a zombie.
    std::string state = "gone";
    for (int i = 0; i < 100; ++i) {
      auto st = read_file("/proc/" + std::to_string(child) + "/stat");
      state = st.ok() ? st->substr(st->rfind(')') + 2, 1) : "gone";
      if (state == "gone" || state == "Z") break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    EXPECT_TRUE(state == "gone" || state == "Z") << how << ": pid " << child << " runs on";
  }
}

// Usage errors need no cgroup: exit 2 and one line naming the flag.
TEST(BudgetUsage, BadFlagsAreOneLineAndExitTwo) {
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"budget", "--limit", "lots", "--", "true"},
        std::vector<std::string>{"budget", "--limit", "1", "--", "true"},
        std::vector<std::string>{"budget", "--limit", "1e9", "--", "true"},
        std::vector<std::string>{"budget", "--limit", "16777215T", "--", "true"},
        std::vector<std::string>{"budget", "--limit", "64M"},
        std::vector<std::string>{"budget", "--", "true"}}) {
    SpawnSpec spec;
    spec.argv = {kBin + "/arenalab"};
    spec.argv.insert(spec.argv.end(), args.begin(), args.end());
    spec.capture_stdout = spec.capture_stderr = true;
    auto e = run_process(spec);
    ASSERT_TRUE(e.ok());
    EXPECT_EQ(e->exit_code.value_or(-1), 2) << args[2] << ": " << e->err;
    EXPECT_EQ(std::count(e->err.begin(), e->err.end(), '\n'), 1) << e->err;
  }
}

// A number in scientific notation is named whole and said to be no size, not an "unknown unit
// 'E9'"; a limit beyond what the kernel stores names the largest it does.
TEST(BudgetUsage, LimitMessagesNameTheWholeValueAndWhatASizeIs) {
  auto err_of = [](const std::string& limit) {
    SpawnSpec spec;
    spec.argv = {kBin + "/arenalab", "budget", "--limit", limit, "--", "true"};
    spec.capture_stdout = spec.capture_stderr = true;
    auto e = run_process(spec);
    return e.ok() ? e->err : std::string();
  };
  const std::string sci = err_of("1e9");
  EXPECT_NE(sci.find("size '1e9' is not a whole number of bytes"), std::string::npos) << sci;
  EXPECT_EQ(sci.find("unknown unit"), std::string::npos) << sci;
  const std::string huge = err_of("16777215T");
  EXPECT_NE(huge.find("--limit 16777215T is above the largest memory limit the kernel stores"),
            std::string::npos)
      << huge;
}

// A limit above the machine's memory cannot bind: one warning naming the machine's memory and
// what the kernel stored, and the summary shows the limit in force (the kernel's value).
TEST_F(Budget, LimitAboveTheMachinesMemoryIsWarnedOnceWithTheKernelsValue) {
  const ExitInfo e = run({"budget", "--limit", "8388607T", "--external", "--out",
                          (out_ / "a").string(), "--", "true"});
  ASSERT_EQ(e.exit_code.value_or(-1), 0) << e.err << e.out;
  std::size_t warnings = 0;
  for (std::size_t at = 0;
       (at = e.out.find("above this machine's memory", at)) != std::string::npos; ++at)
    ++warnings;
  EXPECT_EQ(warnings, 1u) << e.out;
  out_ /= "a";
  const json b = budget_json();
  out_ = out_.parent_path();
  ASSERT_TRUE(b.contains("effective_limit_bytes")) << b.dump(2);
  const auto stored = b["effective_limit_bytes"].get<std::uint64_t>();
  EXPECT_NE(e.out.find("the kernel stored " + std::to_string(stored) + " bytes"), std::string::npos)
      << e.out;
  // The header's limit is the kernel's (8388607T fits: the same value, said once).
  EXPECT_NE(e.out.find("under a " + format_bytes(static_cast<double>(stored)) + " memory limit"),
            std::string::npos)
      << e.out;
}

TEST_F(Budget, WithoutPermissionOneLineAndExitOne) {
  // An unprivileged user cannot create a cgroup under ours: one line saying why, exit 1.
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to drop to an unprivileged user";
  fs::permissions(out_, fs::perms::all);
  SpawnSpec spec;
  spec.argv = {"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", kBin + "/arenalab",
               "budget",  "--limit",       "64M",           "--out",          (out_ / "x").string(),
               "--",      "true"};
  spec.capture_stdout = spec.capture_stderr = true;
  auto e = run_process(spec);
  if (!e.ok()) GTEST_SKIP() << "setpriv unavailable: " << e.error().message;
  if (e->exit_code == 127 || e->err.find("setpriv:") != std::string::npos)
    GTEST_SKIP() << "cannot run as an unprivileged user here: " << e->err;
  if (e->exit_code == 0) GTEST_SKIP() << "this unprivileged user may create cgroups (delegated)";
  EXPECT_EQ(e->exit_code.value_or(-1), 1) << e->err;
  EXPECT_EQ(std::count(e->err.begin(), e->err.end(), '\n'), 1) << e->err;
  EXPECT_NE(e->err.find("arenalab budget:"), std::string::npos) << e->err;
  EXPECT_TRUE(e->err.find("Permission denied") != std::string::npos ||
              e->err.find("no usable memory cgroup") != std::string::npos ||
              e->err.find("Read-only") != std::string::npos)
      << e->err;
}

}  // namespace
}  // namespace arenalab::budget
