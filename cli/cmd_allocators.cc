// SPDX-License-Identifier: Apache-2.0
// arenalab allocators [--json] [--allocators-file F] [NAME...]: every configuration with its
// backend, library, version, availability and verification (a probe really run under it).
#include <fmt/format.h>

#include <iostream>

#include "arenalab/allocators/registry.h"
#include "arenalab/formats/configurations.h"
#include "command.h"

namespace arenalab::cli {
namespace {

struct Options {
  bool json = false;
  std::string file;
  std::vector<std::string> names;
};

int run(const Options& opt) {
  const std::string path = opt.file.empty() ? default_configurations_path() : opt.file;
  auto configs = load_configurations(path);
  if (!configs) {
    print_error("allocators", configs.error().message);
    return kExitError;
  }
  std::vector<Configuration> selected;
  if (opt.names.empty()) {
    selected = *configs;
  } else {
    for (const auto& n : opt.names) {
      auto c = find_configuration(*configs, n);
      if (!c) {
        print_error("allocators", c.error().message);
        return kExitError;
      }
      selected.push_back(*c);
    }
  }
  std::vector<configurations_file::Listed> out;
  std::vector<std::string> failures;
  if (!opt.json)
    std::cout << fmt::format("{:<22} {:<10} {:<9} {:<9} {:<16} {}\n", "configuration", "backend",
                             "available", "verified", "version", "library / env");
  for (const auto& c : selected) {
    // The entry, and what was found out about it.
    configurations_file::Listed row{c, c.preload_path()};
    const std::string why = c.unavailable_reason();
    row.available = why.empty();
    bool verified = false;
    std::string version, found_library, problem = why;
    if (why.empty()) {
      auto probe = probe_configuration(c);
      if (!probe) {
        problem = probe.error().message;
      } else {
        verified = probe->verified;
        version = probe->id.version;
        found_library = probe->id.library;
        if (!verified) problem = probe->mismatch;
        row.probed = true;
        row.identified_backend = probe->id.backend;
        row.identified_library = probe->id.library;
      }
    }
    row.verified = verified;
    row.version = version;
    row.problem = problem;
    if (!problem.empty()) failures.push_back(c.name + ": " + problem);
    out.push_back(std::move(row));
    if (!opt.json) {
      std::string detail = found_library.empty() ? c.preload : found_library;
      for (const auto& [k, v] : c.env) detail += " " + k + "=" + v;
      // jemalloc's version carries its git describe suffix: the table shows the release.
      const std::string short_version = version.substr(0, version.find("-0-g"));
      std::cout << fmt::format("{:<22} {:<10} {:<9} {:<9} {:<16} {}\n", c.name,
                               backend_name(c.backend), why.empty() ? "yes" : "NO",
                               verified ? "yes" : "NO", short_version,
                               problem.empty() ? detail : problem);
    }
  }
  if (opt.json) {
    std::cout << formats::document_text(configurations_file::listing_to_json(path, out));
  }
  // Named configurations must be usable: one line per problem, exit 1.
  if (!opt.names.empty() && !failures.empty()) {
    for (const auto& f : failures) print_error("allocators", f);
    return kExitError;
  }
  return kExitOk;
}

void setup(CLI::App& root, int& exit_code) {
  auto opt = std::make_shared<Options>();
  auto* cmd = root.add_subcommand(
      "allocators", "List allocator configurations; each is verified by running a probe under it");
  cmd->add_flag("--json", opt->json, "Print JSON (schema arenalab.allocators/1)");
  cmd->add_option("--allocators-file", opt->file,
                  "Configurations file (default: the shipped allocators.json)");
  cmd->add_option("names", opt->names,
                  "Only these configurations; exit 1 if any is unavailable or fails verification");
  cmd->callback([opt, &exit_code] { exit_code = run(*opt); });
}

}  // namespace

ARENALAB_COMMAND(10, "allocators", setup);

}  // namespace arenalab::cli
