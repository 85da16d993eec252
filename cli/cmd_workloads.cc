// SPDX-License-Identifier: Apache-2.0
// arenalab workloads [--json]: every workload with its category and one line.
#include <fmt/format.h>

#include <iostream>
#include <map>

#include "arenalab/core/files.h"
#include "arenalab/formats/json.h"
#include "arenalab/formats/workloads.h"
#include "command.h"

namespace arenalab::cli {
namespace {

int run(bool json) {
  const std::string path = share_dir() + "/workloads.json";
  auto entries = workloads_file::read_workloads(path);
  if (!entries) {
    print_error("workloads", entries.error().message);
    return kExitError;
  }
  if (json) {  // the index as its reader read it, through its writer
    std::cout << formats::document_text(workloads_file::to_json(*entries));
    return kExitOk;
  }
  std::map<std::string, std::vector<const workloads_file::Entry*>> by_category;
  for (const auto& w : *entries) by_category[w.category.value_or("misc")].push_back(&w);
  for (const auto& [category, list] : by_category) {
    std::cout << category << ":\n";
    for (const auto* w : list) std::cout << fmt::format("  {:<22} {}\n", w->name, w->description);
  }
  return kExitOk;
}

void setup(CLI::App& root, int& exit_code) {
  auto json = std::make_shared<bool>(false);
  auto* cmd = root.add_subcommand("workloads", "List the workloads, grouped by category");
  cmd->add_flag("--json", *json, "Print the workload index as JSON");
  cmd->callback([json, &exit_code] { exit_code = run(*json); });
}

}  // namespace

ARENALAB_COMMAND(20, "workloads", setup);

}  // namespace arenalab::cli
