// SPDX-License-Identifier: Apache-2.0
// Writing the report: plots rendered by gnuplot (SVG), one self-contained report.html (styles,
// script and images inline as data: URIs, so it opens without network) and a summary.md fit
// for a CI job summary.
#pragma once

#include <string>
#include <vector>

#include "arenalab/core/result.h"
#include "arenalab/reports/inputs.h"

namespace arenalab {
class OutputDir;
}

namespace arenalab::reports {

// One gnuplot plot: a script body (without terminal/output lines) and its data files.
struct PlotSpec {
  std::string name;   // file stem: plots/<name>.svg
  std::string title;  // says what to look for
  int width = 900, height = 420;
  std::string script;  // gnuplot commands; data files are referenced as '<stem>.dat'
  std::vector<std::pair<std::string, std::string>> data;  // file name, content
};

// Runs gnuplot on a spec in the directory `work` (its data and script written, the SVG read
// back, through work's fd; gnuplot runs with work.path() as its cwd) and returns the SVG text.
// Errors carry gnuplot's last stderr line.
Result<std::string> render_svg(const PlotSpec& spec, const OutputDir& work);

// Whether gnuplot can be run (found in PATH).
bool gnuplot_available();

struct ReportOptions {
  std::vector<std::string> inputs;  // result directories
  std::string out_dir;              // created; report.html, summary.md, plots/
  std::string title = "arenalab report";
};

struct ReportFiles {
  std::string html, markdown, plots_dir;
  int plots = 0;
  std::vector<std::string> warnings;
};

Result<ReportFiles> write_report(const ReportOptions& options);

// The HTML and Markdown texts from loaded inputs and rendered plots (exposed for tests).
struct RenderedPlot {
  std::string section;  // "matrix" | "over-time" | "watch" | "budget"
  std::string key;      // workload or run dir the plot belongs to
  std::string title;
  std::string svg;  // empty: not rendered, see `problem`
  std::string problem;
};
std::string render_html(const std::string& title, const Inputs& in,
                        const std::vector<RenderedPlot>& plots);
std::string render_markdown(const std::string& title, const Inputs& in);

// Minimal HTML escaping.
std::string html_escape(const std::string& s);

}  // namespace arenalab::reports
