// SPDX-License-Identifier: Apache-2.0
// arenalab workloads [--json]: every workload with its category and one line.
#include <fmt/format.h>

#include <iostream>
#include <map>
#include <nlohmann/json.hpp>

#include "arenalab/core/files.h"
#include "arenalab/core/text.h"
#include "command.h"

namespace arenalab::cli {
namespace {

int run(bool json) {
  const std::string path = share_dir() + "/workloads.json";
  auto parsed = read_json_file(path);
  if (!parsed) {
    print_error("workloads", parsed.error().message);
    return kExitError;
  }
  const nlohmann::json& doc = *parsed;
  if (json) {
    std::cout << doc.dump(2) << "\n";
    return kExitOk;
  }
  std::map<std::string, std::vector<nlohmann::json>> by_category;
  for (const auto& w : doc["workloads"]) by_category[w["category"].get<std::string>()].push_back(w);
  for (const auto& [category, list] : by_category) {
    std::cout << category << ":\n";
    for (const auto& w : list)
      std::cout << fmt::format("  {:<22} {}\n", w["name"].get<std::string>(),
                               w["description"].get<std::string>());
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

ARENALAB_COMMAND(20, setup);

}  // namespace arenalab::cli
