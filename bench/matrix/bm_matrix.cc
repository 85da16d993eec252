// SPDX-License-Identifier: Apache-2.0
// bm_matrix: arenalab's own cost per matrix cell. Drives run_matrix with an executor that
// returns a canned cell at once, so everything measured is the engine's bookkeeping (plan,
// cell records, periodic and final merges, statistics), for 1,000, 10,000 and 100,000 cells;
// then the merge of 10,000 recorded cells and `arenalab report` / `arenalab check` on them.
// Prints a table (median of --runs runs); figures, not assertions: the goals are in the
// header of the table and in docs/matrix.md.
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "arenalab/core/files.h"
#include "arenalab/core/process.h"
#include "arenalab/core/quantile.h"
#include "arenalab/matrix/matrix.h"
#include "arenalab/matrix/memory.h"
#include "arenalab/matrix/record.h"
#include "arenalab/matrix/results.h"

namespace {

using namespace arenalab;
using namespace arenalab::matrix;

constexpr int kConfigurations = 5;
constexpr int kRepeats = 20;  // cells / (configurations x repeats) workloads

// What one measured child reports through its pipe.
struct Sample {
  double cpu_ms = 0;          // user + sys of the measuring process itself
  double peak_bytes = 0;      // VmHWM at the end
  double baseline_bytes = 0;  // VmHWM before the measured work
  double wall_ms = 0;
  int ok = 0;
};

double cpu_ms_self() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) * 1e3 +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e3;
}

// VmHWM of this process, bytes.
double hwm_bytes() {
  auto status = read_file("/proc/self/status");
  if (!status) return 0;
  const auto at = status->find("VmHWM:");
  if (at == std::string::npos) return 0;
  return std::strtod(status->c_str() + at + 6, nullptr) * 1024;
}

// Runs `work` in a fresh child (its high-water mark is its own) and returns what it measured.
template <typename F>
Sample in_child(F work) {
  int fds[2];
  if (::pipe(fds) != 0) return {};
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[0]);
    Sample s;
    s.baseline_bytes = hwm_bytes();
    const double c0 = cpu_ms_self(), w0 = monotonic_ms();
    s.ok = work() ? 1 : 0;
    s.cpu_ms = cpu_ms_self() - c0;
    s.wall_ms = monotonic_ms() - w0;
    s.peak_bytes = hwm_bytes();
    (void)!::write(fds[1], &s, sizeof s);
    ::_exit(0);
  }
  ::close(fds[1]);
  Sample s;
  const bool got = ::read(fds[0], &s, sizeof s) == static_cast<ssize_t>(sizeof s);
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (!got) s.ok = 0;
  return s;
}

// A plan of `cells` cells: cells / 100 workloads x 5 configurations x 20 repeats.
MatrixOptions canned_options(std::size_t cells, const std::string& out) {
  MatrixOptions opt;
  const int workloads =
      static_cast<int>(std::max<std::size_t>(1, cells / (kConfigurations * kRepeats)));
  for (int w = 0; w < workloads; ++w) {
    const std::string name = "wl" + std::to_string(w);
    opt.plan.workloads.push_back(name);
    opt.workloads.push_back(WorkloadInfo{name, "stress", "", "/bin/true", false});
  }
  for (int c = 0; c < kConfigurations; ++c) {
    Configuration cfg;
    cfg.name = c == 0 ? "glibc" : "config" + std::to_string(c);
    cfg.backend = Backend::kGlibc;
    opt.plan.configurations.push_back(cfg.name);
    opt.configurations.push_back(cfg);
  }
  opt.plan.repeats = kRepeats;
  opt.plan.smoke = true;
  opt.out_dir = out;
  opt.progress = false;
  opt.identify = "harness";
  Environment env;
  env.cpu_model = "canned";
  env.kernel = "canned";
  opt.environment = env;
  // What a real cell carries: figures, identification, the command, the workload's own block.
  opt.executor = [n = 0u](const CellRequest& req) mutable {
    ++n;
    const double jitter = static_cast<double>((n * 2654435761u) % 1000) / 1000;  // 0..1
    Cell c;
    c.status = CellStatus::kOk;
    c.verified = true;
    c.exit_code = 0;
    c.wall_ms = 50 + 5 * jitter;
    c.user_ms = 45 + 4 * jitter;
    c.sys_ms = 3 + jitter;
    c.peak_rss_bytes = 40e6 + 1e6 * jitter;
    c.peak_rss_source = matrix::PeakRssSource::kRusage;
    c.rss_after_free_bytes = 2e6 + 1e5 * jitter;
    c.minor_faults = 10000;
    c.major_faults = 0;
    c.throughput = 1e6 * (1 + jitter);
    c.throughput_unit = "ops/s";
    c.identified_backend = arenalab::formats::Backend::kGlibc;
    c.identified_library = "/lib/x86_64-linux-gnu/libc.so.6";
    c.identified_version = "2.36";
    c.identification_method = matrix::IdentificationMethod::kHarness;
    c.command = {req.workload.program, "--json", "--smoke"};
    c.measurements = {{"operations", 100000}, {"bytes_allocated", 67108864}};
    return c;
  };
  return opt;
}

double median(std::vector<double> v) { return v.empty() ? 0 : arenalab::median_of(std::move(v)); }

struct Row {
  std::string what;
  std::size_t cells = 0;
  std::vector<double> cpu_ms, peak, per_cell_state, wall_ms;
  bool ok = true;
};

void print_row(const Row& r) {
  const double cpu = median(r.cpu_ms), peak = median(r.peak);
  const std::string per_cell =
      r.per_cell_state.empty() ? "-" : std::to_string(static_cast<long>(median(r.per_cell_state)));
  std::printf("%-26s %9zu %10.1f %12.4f %9.2f %12.1f %10s\n", r.what.c_str(), r.cells,
              median(r.wall_ms) / 1e3, cpu / static_cast<double>(r.cells), cpu / 1e3,
              peak / 1048576, per_cell.c_str());
  if (!r.ok) std::printf("  (%s: a run failed; figures above are not valid)\n", r.what.c_str());
}

// `arenalab ARGS...` as a child; its own CPU and peak (ru_maxrss, from this small process).
Sample run_arenalab(const std::vector<std::string>& args) {
  SpawnSpec spec;
  spec.argv = {bin_dir() + "/arenalab"};
  spec.argv.insert(spec.argv.end(), args.begin(), args.end());
  spec.capture_stdout = true;
  spec.capture_stderr = true;
  spec.stdin_null = true;
  Sample s;
  auto r = run_process(spec);
  if (!r) return s;
  s.ok = r->shell_status() == 0 || r->shell_status() == 3;  // check: 3 is a regression verdict
  if (!s.ok)
    std::fprintf(stderr, "bm_matrix: arenalab %s: %s\n%s", args.front().c_str(),
                 r->describe().c_str(), r->err.c_str());
  s.cpu_ms = r->user_ms + r->sys_ms;
  s.wall_ms = r->wall_ms;
  s.peak_bytes = static_cast<double>(r->max_rss_bytes);
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::size_t> sizes = {1000, 10000, 100000};
  int runs = 3;
  std::string base = std::filesystem::temp_directory_path().string();
  std::size_t tools_cells = 10000;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--smoke") {
      sizes = {200, 1000};
      runs = 1;
      tools_cells = 1000;
    } else if (a == "--runs" && i + 1 < argc) {
      runs = std::max(1, std::atoi(argv[++i]));
    } else if (a == "--dir" && i + 1 < argc) {
      base = argv[++i];
    } else if (a == "--sizes" && i + 1 < argc) {
      sizes.clear();
      for (const auto& s : split_list(argv[++i])) sizes.push_back(std::stoul(s));
    } else {
      std::fprintf(stderr,
                   "usage: bm_matrix [--smoke] [--runs N] [--sizes 1000,10000,...] [--dir DIR]\n");
      return 2;
    }
  }
  const std::string root = base + "/bm_matrix." + std::to_string(::getpid());
  std::printf(
      "bm_matrix: canned cells (%d configurations x %d repeats x cells/%d workloads), "
      "records under %s, median of %d run%s\n",
      kConfigurations, kRepeats, kConfigurations * kRepeats, base.c_str(), runs,
      runs > 1 ? "s" : "");
  std::printf(
      "goals: <= 0.5 ms CPU per cell at 100,000 cells; per-cell CPU at 100,000 within "
      "1.5x of 1,000; memory proportional\n\n");
  std::printf("%-26s %9s %10s %12s %9s %12s %10s\n", "", "cells", "wall s", "CPU ms/cell", "CPU s",
              "peak MiB", "B/cell");
  int failures = 0;
  for (const std::size_t n : sizes) {
    Row row{"matrix (engine)", n};
    for (int r = 0; r < runs; ++r) {
      const std::string dir = root + "/m" + std::to_string(n);
      std::filesystem::remove_all(dir);
      const Sample s =
          in_child([&] { return static_cast<bool>(run_matrix(canned_options(n, dir))); });
      row.ok = row.ok && s.ok;
      row.cpu_ms.push_back(s.cpu_ms);
      row.wall_ms.push_back(s.wall_ms);
      row.peak.push_back(s.peak_bytes);
      row.per_cell_state.push_back((s.peak_bytes - s.baseline_bytes) / static_cast<double>(n));
      if (!(n == tools_cells && r == runs - 1)) std::filesystem::remove_all(dir);
    }
    failures += !row.ok;
    print_row(row);
  }
  // The tools on the kept matrix of tools_cells cells (run it if the sizes left it out).
  const std::string kept = root + "/m" + std::to_string(tools_cells);
  if (!std::filesystem::exists(kept + "/results.json"))
    (void)in_child(
        [&] { return static_cast<bool>(run_matrix(canned_options(tools_cells, kept))); });
  Row merge{"merge (records -> results)", tools_cells}, report{"arenalab report", tools_cells},
      check{"arenalab check", tools_cells};
  for (int r = 0; r < runs; ++r) {
    // What --resume and a cluster's merge job do: read every record, summarize, write.
    const Sample m = in_child([&] {
      auto prev = read_results(kept + "/results.json");
      if (!prev) return false;
      Results out = *prev;
      out.cells = merge_cell_records(kept).cells;
      judge_across_configurations(out.cells);
      out.summaries = summarize(out.cells, out.plan);
      return out.cells.size() == tools_cells && static_cast<bool>(write_results(kept, out));
    });
    merge.ok = merge.ok && m.ok;
    merge.cpu_ms.push_back(m.cpu_ms);
    merge.wall_ms.push_back(m.wall_ms);
    merge.peak.push_back(m.peak_bytes);
    const Sample rep = run_arenalab({"report", kept, "--out", root + "/report"});
    report.ok = report.ok && rep.ok;
    report.cpu_ms.push_back(rep.cpu_ms);
    report.wall_ms.push_back(rep.wall_ms);
    report.peak.push_back(rep.peak_bytes);
    const Sample chk =
        run_arenalab({"check", "--baseline", kept + "/results.json", kept + "/results.json"});
    check.ok = check.ok && chk.ok;
    check.cpu_ms.push_back(chk.cpu_ms);
    check.wall_ms.push_back(chk.wall_ms);
    check.peak.push_back(chk.peak_bytes);
  }
  for (const Row* r : {&merge, &report, &check}) {
    failures += !r->ok;
    print_row(*r);
  }
  std::error_code ec;
  std::uintmax_t html = 0;
  for (auto it = std::filesystem::recursive_directory_iterator(root + "/report", ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec))
    if (it->path().extension() == ".html") html = std::max(html, it->file_size(ec));
  std::printf("\nresults.json of %zu cells: %.1f MiB; largest report page: %.1f MiB\n", tools_cells,
              static_cast<double>(std::filesystem::file_size(kept + "/results.json", ec)) / 1048576,
              static_cast<double>(html) / 1048576);
  std::filesystem::remove_all(root, ec);
  return failures ? 1 : 0;
}
