// SPDX-License-Identifier: Apache-2.0
// arenalab report DIR... [--out DIR] [--title T]: one self-contained report.html (gnuplot SVG
// plots inline) and a summary.md from any mix of run, watch, matrix, profile and budget results.
#include <ctime>
#include <iostream>

#include "arenalab/core/process.h"
#include "arenalab/reports/report.h"
#include "command.h"

namespace arenalab::cli {
namespace {

struct Options {
  std::vector<std::string> dirs;
  std::string out;
  std::string title = "arenalab report";
};

int run(const Options& opt) {
  std::string out = opt.out;
  if (out.empty()) {
    const std::time_t t = std::time(nullptr);
    char stamp[32];
    std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", std::localtime(&t));
    out = std::string("reports/out/") + stamp;
  }
  // Ctrl-C / SIGTERM / SIGHUP / SIGQUIT are recorded while the report is made: write_report
  // stops at the next plot and removes what it made so far, and arenalab ends by the signal.
  Result<reports::ReportFiles> files = make_error("no report");
  {
    TerminationSignals signals;
    files = reports::write_report({opt.dirs, out, opt.title});
  }
  if (const int sig = TerminationSignals::first()) {
    print_error("report",
                files ? "interrupted by " + signal_name(sig) + " after the report was written"
                      : files.error().message);
    return exit_by_signal(sig);
  }
  if (!files) {
    print_error("report", files.error().message);
    return kExitError;
  }
  for (const auto& w : files->warnings) std::cerr << "arenalab report: warning: " << w << "\n";
  std::cout << files->html << "\n" << files->markdown << "\n";
  std::cerr << "arenalab report: " << files->plots << " plot(s) in " << files->plots_dir << "\n";
  return kExitOk;
}

void setup(CLI::App& root, int& exit_code) {
  auto opt = std::make_shared<Options>();
  auto* cmd = root.add_subcommand(
      "report",
      "Write report.html (self-contained, gnuplot plots inline) and summary.md from "
      "result directories");
  cmd->add_option("dirs", opt->dirs, "Result directories: run, watch, matrix, profile, budget")
      ->required();
  cmd->add_option("--out", opt->out, "Output directory (default reports/out/<timestamp>)");
  cmd->add_option("--title", opt->title, "Report title");
  cmd->callback([opt, &exit_code] { exit_code = run(*opt); });
}

}  // namespace

ARENALAB_COMMAND(90, "report", setup);

}  // namespace arenalab::cli
