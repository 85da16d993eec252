// SPDX-License-Identifier: Apache-2.0
// A cell's peak RSS is its program's alone (issue 29): a program whose true peak is ~2 MB reads
// within 0.5 MB of /usr/bin/time's figure at the first cell and after 10,000 canned cells have
// grown the matrix process by several MB. A plain child is held to /usr/bin/time's figure; a
// cell under the runner carries the interposer (~0.8 MB more), so it is held to the program's
// own VmHWM, which no parent can leak into.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "arenalab/allocators/registry.h"
#include "arenalab/core/files.h"
#include "arenalab/core/process.h"
#include "arenalab/matrix/matrix.h"

namespace arenalab::matrix {
namespace {

constexpr double kMiB = 1024.0 * 1024.0;
constexpr double kTolerance = 0.5 * kMiB;  // the bound
constexpr int kCanned = 10000;

std::string peak_program() { return bin_dir() + "/matrix_peak_program"; }

// This process's resident size now (VmRSS), bytes.
double self_rss_bytes() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stod(line.substr(6)) * 1024;
  return 0;
}

// /usr/bin/time's %M for the program (ru_maxrss as time reads it from its own wait4), bytes;
// the median of three runs, with the arguments a cell gives it.
double time_peak_bytes(const std::string& dir) {
  std::vector<double> runs;
  for (int i = 0; i < 3; ++i) {
    const std::string out = dir + "/time." + std::to_string(i);
    SpawnSpec spec;
    spec.argv = {"/usr/bin/time", "-f", "%M", "-o", out, peak_program(), "--json"};
    spec.capture_stdout = spec.capture_stderr = true;
    auto r = run_process(spec);
    if (!r || r->shell_status() != 0) return -1;
    auto text = read_file(out);
    if (!text) return -1;
    runs.push_back(std::stod(*text) * 1024);
  }
  std::sort(runs.begin(), runs.end());
  return runs[1];
}

// A cell as the canned executors of bm_matrix return it: figures, identification, command.
Cell canned_cell(const CellRequest& req, unsigned n) {
  const double jitter = static_cast<double>((n * 2654435761u) % 1000) / 1000;
  Cell c;
  c.status = CellStatus::kOk;
  c.verified = true;
  c.exit_code = 0;
  c.wall_ms = 50 + 5 * jitter;
  c.user_ms = 45 + 4 * jitter;
  c.peak_rss_bytes = 40e6 + 1e6 * jitter;
  c.peak_rss_source = PeakRssSource::kRusage;
  c.identified_backend = formats::Backend::kGlibc;
  c.identified_library = "/lib/x86_64-linux-gnu/libc.so.6";
  c.identification_method = IdentificationMethod::kHarness;
  c.command = {req.workload.program, "--json"};
  c.measurements = {{"operations", 100000}, {"bytes_allocated", 67108864}};
  return c;
}

struct Measured {
  double peak = 0;      // the cell's peak_rss_bytes
  double own_hwm = 0;   // the program's VmHWM, bytes
  double self_rss = 0;  // the matrix process's VmRSS when the cell started
  std::optional<int> exit_code;
  std::string message;
};

TEST(CellPeak, IsTheProgramsOwnAtTheFirstCellAndAfterTenThousand) {
  if (::access("/usr/bin/time", X_OK) != 0)
    GTEST_SKIP() << "/usr/bin/time is not installed (Debian package time; scripts/bootstrap)";
  ASSERT_EQ(::access(peak_program().c_str(), X_OK), 0) << peak_program();
  auto configs = load_configurations(default_configurations_path());
  ASSERT_TRUE(configs) << configs.error().message;
  auto glibc = find_configuration(*configs, "glibc");
  ASSERT_TRUE(glibc) << glibc.error().message;

  // Cell records are fsync'd: on tmpfs 10,000 of them take seconds, not minutes.
  const std::string base = ::access("/dev/shm", W_OK) == 0 ? "/dev/shm" : testing::TempDir();
  const std::string dir = base + "/arenalab-cell-peak-" + std::to_string(::getpid());
  std::filesystem::remove_all(dir);
  ASSERT_TRUE(make_directories(dir));
  const double reference = time_peak_bytes(dir);
  ASSERT_GT(reference, 0) << "/usr/bin/time did not measure " << peak_program();

  // 101 workloads x 1 configuration x 100 repeats: the real cells are the first two (the
  // runner, then a plain child) and the two after 10,000 canned ones.
  MatrixOptions opt;
  for (int w = 0; w < 101; ++w) {
    const std::string name = "peak" + std::to_string(w);
    opt.plan.workloads.push_back(name);
    opt.workloads.push_back(WorkloadInfo{name, "stress", "", peak_program(), false});
  }
  opt.plan.configurations = {"glibc"};
  opt.configurations = {*glibc};
  opt.plan.repeats = 100;
  opt.out_dir = dir + "/matrix";
  opt.progress = false;
  opt.identify = "runner";
  Environment env;
  env.cpu_model = env.kernel = "canned";
  opt.environment = env;
  const std::string hwm_file = dir + "/hwm";
  ::setenv("MATRIX_PEAK_HWM_FILE", hwm_file.c_str(), 1);  // inherited by every cell
  std::vector<Measured> real;                             // runner, plain, runner, plain
  unsigned n = 0;
  opt.executor = [&](const CellRequest& req) {
    ++n;
    const bool is_real = n <= 2 || (n > 2 + kCanned && n <= 4 + kCanned);
    if (!is_real) return canned_cell(req, n);
    CellRequest r = req;
    r.use_runner = n % 2 == 1;
    r.timeout_s = 120;
    Measured m;
    m.self_rss = self_rss_bytes();
    std::filesystem::remove(hwm_file);
    Cell c = execute_cell(r);
    if (auto text = read_file(hwm_file); text && !text->empty())
      m.own_hwm = std::stod(*text) * 1024;
    m.peak = c.peak_rss_bytes.value_or(0);
    m.exit_code = c.exit_code;
    m.message = c.message;
    real.push_back(m);
    return c;
  };
  auto results = run_matrix(opt);
  ASSERT_TRUE(results) << results.error().message;
  ASSERT_EQ(real.size(), 4u);

  const char* way[] = {"runner", "plain child"};
  for (int i = 0; i < 4; ++i) {
    const Measured& m = real[static_cast<std::size_t>(i)];
    std::printf(
        "cell %s (%s): peak %.2f MiB, own VmHWM %.2f MiB, /usr/bin/time %.2f MiB, matrix RSS "
        "%.2f MiB\n",
        i < 2 ? "1" : "10,001", way[i % 2], m.peak / kMiB, m.own_hwm / kMiB, reference / kMiB,
        m.self_rss / kMiB);
    const std::string which = std::string(way[i % 2]) + " cell " +
                              (i < 2 ? "1" : "after 10,000 canned cells") + " (matrix RSS " +
                              std::to_string(m.self_rss / kMiB) + " MiB)";
    EXPECT_EQ(m.exit_code, 0) << which << ": " << m.message;
    ASSERT_GT(m.own_hwm, 0) << which << ": the program wrote no VmHWM";
    EXPECT_NEAR(m.peak, m.own_hwm, kTolerance) << which << ": not the program's own peak";
    if (i % 2 == 1) {
      EXPECT_NEAR(m.peak, reference, kTolerance) << which << ": not /usr/bin/time's figure";
    }
  }
  // The test could fail: by the late cells the matrix had grown by several MB, more than the
  // tolerance, so a peak that included it would be off.
  const double growth = real[2].self_rss - real[0].self_rss;
  std::printf("matrix RSS grew by %.2f MiB over %d canned cells\n", growth / kMiB, kCanned);
  EXPECT_GT(growth, 4 * kMiB);
  EXPECT_GT(real[2].self_rss, reference + 2 * kTolerance);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace arenalab::matrix
