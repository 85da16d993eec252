// SPDX-License-Identifier: Apache-2.0
// arenalab classify --prometheus URL ...: the fleet view's reading side (docs/fleet.md). The
// options are added to the classify subcommand; cmd_classify.cc calls run when --prometheus is set.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

namespace arenalab::cli {

struct PrometheusArgs {
  std::string url;  // the server's base URL; empty: classify a run directory instead
  std::string held, rss, resident, restarts, preset, selector;
  std::string range = "6h", step = "15s";
  std::vector<std::string> by;
  std::string json_file, out_dir, limit;
  bool json = false;  // classify's --json: the arenalab.fleet/1 document on stdout, no table
  double timeout_s = 30;
};

void add_prometheus_options(CLI::App* cmd, PrometheusArgs& a);

// Exit: 0 no target leaks, 3 one leaks or grows, 4 one is unresolved (none leaks), 1 error
// (bad URL, unreachable, query error, empty result), 2 usage.
int run_classify_prometheus(const PrometheusArgs& a);

}  // namespace arenalab::cli
