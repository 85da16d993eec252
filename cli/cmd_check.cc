// SPDX-License-Identifier: Apache-2.0
// arenalab check --baseline FILE RESULTS... [--tolerance PCT] [--latency-tolerance PCT]
// [--junit FILE] [--markdown FILE] [--update-baseline] [--strict]: fails (exit 3) on a memory
// regression against the baseline.
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "arenalab/check/check.h"
#include "arenalab/core/files.h"
#include "arenalab/formats/json.h"
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

// The files `path` stands for when it is read (a directory: the files load_cells reads in it; a
// verdict.json: its watch directory's files too), as existing paths.
std::vector<std::filesystem::path> files_read(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path p(path);
  std::vector<fs::path> out;
  auto watch_dir = [&](const fs::path& dir) {
    for (const char* name : {"results.json", "verdict.json", "run.json", "timeline.jsonl"})
      if (fs::exists(dir / name, ec)) out.push_back(dir / name);
  };
  if (fs::is_directory(p, ec))
    watch_dir(p);
  else if (fs::exists(p, ec)) {
    out.push_back(p);
    if (p.filename() == "verdict.json") watch_dir(p.parent_path().empty() ? "." : p.parent_path());
  }
  return out;
}

// check writes over none of what it reads (a --junit or --markdown path that names the baseline
// or a results file), and --update-baseline replaces a baseline only: a results.json or
// verdict.json given as --baseline (which check accepts for a comparison) is its own data, and
// writing the baseline over it destroyed the run it came from. One line naming the clash.
std::optional<std::string> output_problem(const std::string& baseline,
                                          const std::vector<std::string>& results,
                                          const std::string& junit, const std::string& markdown,
                                          bool update) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (update && fs::exists(baseline, ec)) {
    if (fs::is_directory(baseline, ec))
      return "--update-baseline: " + baseline +
             " is a directory; give the baseline file's path (e.g. ci/memory-baseline.json)";
    auto doc = formats::read_json_document(baseline);
    const std::string schema = doc ? formats::schema_of(*doc) : "";
    if (schema.rfind(std::string(check::kBaselineSchema) + "/", 0) != 0)
      return "--update-baseline would replace " + baseline + ", which is not a baseline (" +
             (doc ? schema.empty() ? std::string("no schema") : "schema \"" + schema + "\""
                  : doc.error().message) +
             "): give the path of a baseline file, or a new one";
  }
  std::vector<std::pair<std::string, fs::path>> inputs;  // (option, file)
  for (const auto& f : files_read(baseline))
    if (!update) inputs.push_back({"--baseline", f});
  for (const auto& r : results)
    for (const auto& f : files_read(r)) inputs.push_back({"results", f});
  std::vector<std::pair<std::string, std::string>> outputs = {{"--junit", junit},
                                                              {"--markdown", markdown}};
  if (update) outputs.push_back({"--update-baseline", baseline});
  for (const auto& [option, out] : outputs) {
    if (out.empty() || !fs::exists(out, ec)) continue;
    // Found before the comparison, not when the rename over it fails at the end.
    if (option != "--update-baseline" && fs::is_directory(out, ec))
      return option + " " + out + " is a directory: give the path of the file to write (e.g. " +
             (fs::path(out) / (option == "--junit" ? "junit.xml" : "check.md")).string() + ")";
    for (const auto& [from, in] : inputs)
      if (fs::equivalent(out, in, ec))
        return option + " " + out + " is " + in.string() + ", which check reads (" + from +
               "): writing it would destroy that input; give another path";
  }
  if (!junit.empty() && junit == markdown)
    return "--junit and --markdown name the same file " + junit;
  return std::nullopt;
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
  if (const auto bad =
          output_problem(opt.baseline, opt.results, opt.junit, opt.markdown, opt.update)) {
    print_error("check", *bad);
    return kExitError;
  }
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
