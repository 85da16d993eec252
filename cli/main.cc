// SPDX-License-Identifier: Apache-2.0
// arenalab: the command-line front end. Each subcommand lives in its own cmd_<name>.cc.
#include <algorithm>
#include <cctype>
#include <cstdio>
#include <iostream>

#include "arenalab/core/text.h"
#include "command.h"

namespace arenalab::cli {

std::vector<CommandEntry>& command_registry() {
  static std::vector<CommandEntry> registry;
  return registry;
}

void print_error(const std::string& command, const std::string& message) {
  // The net under every reader: an error line never echoes raw bytes or control characters.
  std::fprintf(stderr, "arenalab %s: %s\n", command.c_str(), printable(message).c_str());
}

namespace {

// CLI11 reports an option a subcommand does not know as "The following argument was not
// expected: <the first word of the target command>". Name the option instead.
std::string unknown_option(CLI::App& app, int argc, char** argv) {
  CLI::App* sub = nullptr;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--") return "";
    if (!sub) {
      for (auto* s : app.get_subcommands([](CLI::App*) { return true; }))
        if (s->check_name(a)) sub = s;
      continue;
    }
    // An option is -x or --name; "-1" is a value (--interval -1).
    if (a.size() < 2 || a[0] != '-' ||
        !(std::isalpha(static_cast<unsigned char>(a[1])) || (a[1] == '-' && a.size() > 2)))
      continue;
    const std::string name = a.substr(0, a.find('='));
    if (name == "-h" || name == "--help") continue;
    const CLI::Option* opt = sub->get_option_no_throw(name);
    if (!opt)
      return "arenalab " + sub->get_name() + ": unknown option '" + name + "' (see arenalab " +
             sub->get_name() + " --help)";
    // Its value is the next word unless given with '='.
    if (opt->get_items_expected_min() > 0 && name.size() == a.size()) ++i;
  }
  return "";
}

}  // namespace

}  // namespace arenalab::cli

int main(int argc, char** argv) {
  using namespace arenalab::cli;
  CLI::App app{
      "arenalab: compare memory allocators and tell a native leak from allocator retention.\n"
      "Exit codes: 0 fine, 1 error, 2 usage, 3 leak found, 4 unresolved.",
      "arenalab"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "arenalab 0.1.0");
  int exit_code = kExitOk;
  auto& registry = command_registry();
  std::stable_sort(registry.begin(), registry.end(),
                   [](const CommandEntry& a, const CommandEntry& b) { return a.order < b.order; });
  for (auto& entry : registry) entry.setup(app, exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // One line naming what was wrong, and where to look.
    if (const auto unknown = unknown_option(app, argc, argv); !unknown.empty()) {
      std::fprintf(stderr, "%s\n", unknown.c_str());
      return kExitUsage;
    }
    std::string what = e.what();
    std::fprintf(stderr, "arenalab: %s (see arenalab --help)\n", what.c_str());
    return kExitUsage;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "arenalab: %s\n", arenalab::printable(e.what()).c_str());
    return kExitError;
  }
  return exit_code;
}
