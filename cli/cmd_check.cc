// SPDX-License-Identifier: Apache-2.0
// arenalab check --baseline FILE RESULTS... [--tolerance PCT] [--latency-tolerance PCT]
// [--junit FILE] [--markdown FILE] [--update-baseline] [--strict]: fails (exit 3) on a memory
// regression against the baseline.
#include <filesystem>
#include <iostream>

#include "arenalab/check/check.h"
#include "arenalab/core/files.h"
#include "command.h"

namespace arenalab::cli {
namespace {

// Writes a file, creating its directory first (a baseline under a fresh ci/ folder).
Status make_parent(const std::string& path) {
  const auto dir = std::filesystem::path(path).parent_path();
  if (!dir.empty()) return make_directories(dir.string());
  return Ok{};
}

Status write_output(const std::string& path, const std::string& content) {
  if (auto st = make_parent(path); !st) return st;
  return write_file_atomic(path, content);
}

// The baseline through its one writer (formats/baseline.h), its directory made first.
Status save_baseline(const std::string& path, const check::CellSet& set) {
  if (auto st = make_parent(path); !st) return st;
  return check::write_baseline(path, set);
}

struct Options {
  std::string baseline;
  std::vector<std::string> results;
  double tolerance = 10.0;
  double latency_tolerance = check::CheckOptions{}.latency_tolerance_pct;
  std::string junit, markdown;
  bool update = false;
  bool strict = false;
};

int run(const Options& opt) {
  auto results = check::load_cells(opt.results);
  if (!results) {
    print_error("check", results.error().message);
    return kExitError;
  }
  const bool have_baseline = std::filesystem::exists(opt.baseline);
  if (opt.update && !have_baseline) {
    auto st = save_baseline(opt.baseline, *results);
    if (!st) {
      print_error("check", st.error().message);
      return kExitError;
    }
    std::cout << "arenalab check: wrote baseline " << opt.baseline << " (" << results->cells.size()
              << " cells)\n";
    return kExitOk;
  }
  auto baseline = check::load_cells(opt.baseline);
  if (!baseline) {
    print_error("check", baseline.error().message);
    return kExitError;
  }
  const auto report = check::compare(*baseline, *results,
                                     {.tolerance_pct = opt.tolerance,
                                      .strict = opt.strict,
                                      .latency_tolerance_pct = opt.latency_tolerance});
  std::cout << check::terminal_table(report);
  if (!opt.junit.empty())
    if (auto st = write_output(opt.junit, check::junit_xml(report)); !st) {
      print_error("check", st.error().message);
      return kExitError;
    }
  if (!opt.markdown.empty())
    if (auto st = write_output(opt.markdown, check::markdown(report)); !st) {
      print_error("check", st.error().message);
      return kExitError;
    }
  if (opt.update) {
    auto st = save_baseline(opt.baseline, *results);
    if (!st) {
      print_error("check", st.error().message);
      return kExitError;
    }
    std::cout << "arenalab check: updated baseline " << opt.baseline << " ("
              << results->cells.size() << " cells); the comparison above is informational\n";
    return kExitOk;
  }
  return report.failed() ? kExitLeak : kExitOk;
}

void setup(CLI::App& root, int& exit_code) {
  auto opt = std::make_shared<Options>();
  auto* cmd = root.add_subcommand(
      "check",
      "Compare results with a committed baseline; exit 3 on a memory regression "
      "(verdict turned leak/non-heap-growth, or plateau/after-frees/peak RSS up beyond "
      "the tolerance and outside both intervals)");
  cmd->add_option("--baseline", opt->baseline,
                  "Baseline file (arenalab.baseline/2 written by --update-baseline, or a "
                  "results.json / verdict.json)")
      ->required();
  cmd->add_option("results", opt->results,
                  "Matrix results.json (or its directory) and/or watch directories")
      ->required();
  cmd->add_option("--tolerance", opt->tolerance, "Allowed growth in percent (default 10)")
      ->check(CLI::Range(0.0, 1000.0));
  cmd->add_option("--latency-tolerance", opt->latency_tolerance,
                  "Allowed rise of a latency figure (malloc/free/request p99) in percent "
                  "(default 100: a p99 must more than double; docs/ci.md \"Latency\")")
      ->check(CLI::Range(0.0, 10000.0));
  cmd->add_option("--junit", opt->junit, "Write JUnit XML (one test case per cell x metric)");
  cmd->add_option("--markdown", opt->markdown, "Write Markdown (for a CI job summary)");
  cmd->add_flag("--update-baseline", opt->update,
                "Write the baseline from RESULTS (after showing the comparison if one exists)");
  cmd->add_flag("--strict", opt->strict, "Missing cells or metrics fail too");
  cmd->callback([opt, &exit_code] { exit_code = run(*opt); });
}

}  // namespace

ARENALAB_COMMAND(95, "check", setup);

}  // namespace arenalab::cli
