// SPDX-License-Identifier: Apache-2.0
// arenalab: the command-line front end. Each subcommand lives in its own cmd_<name>.cc.
#include <algorithm>
#include <cctype>
#include <cstdio>
#include <iostream>
#include <string>

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

// The subcommand the command line names (its first word that is one), and the index of the
// word after it; null when none comes before "--" or the end. Every usage error of a
// subcommand is reported under that subcommand's name.
CLI::App* named_subcommand(CLI::App& app, int argc, char** argv, int* next = nullptr) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--") return nullptr;
    for (auto* s : app.get_subcommands([](CLI::App*) { return true; }))
      if (s->check_name(a)) {
        if (next) *next = i + 1;
        return s;
      }
  }
  return nullptr;
}

// CLI11 reports an option a subcommand does not know as "The following argument was not
// expected: <the first word of the target command>". Name the option instead.
std::string unknown_option(CLI::App& app, int argc, char** argv) {
  int first = argc;
  CLI::App* sub = named_subcommand(app, argc, argv, &first);
  if (!sub) return "";
  for (int i = first; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--") return "";
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
  // `arenalab <subcommand> ...` sets up that subcommand alone: every subcommand's options
  // together cost 2 M instructions of CLI11 (half a millisecond), a fixed cost of every run
  // (docs/interposer.md, the start-up floor). Anything else (--help, --version, a word that is
  // no subcommand) sets them all up, so help and errors read as before.
  const auto named = std::find_if(registry.begin(), registry.end(), [&](const CommandEntry& e) {
    return argc > 1 && std::string(argv[1]) == e.name;
  });
  for (auto& entry : registry)
    if (named == registry.end() || &entry == &*named) entry.setup(app, exit_code);
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
    // A bad value (--mode bogus) or a missing one names the subcommand, as an unknown option
    // does: "arenalab run: --mode: ... (see arenalab run --help)".
    const std::string what = arenalab::printable(e.what());
    // A first word that is no command (`arenalab attach 123`): name it and list the commands,
    // not CLI11's "A subcommand is required".
    if (argc > 1 && argv[1][0] != '-' && named == registry.end()) {
      std::string names;
      for (const auto& entry : registry)
        names += std::string(names.empty() ? "" : ", ") + entry.name;
      std::fprintf(stderr, "arenalab: unknown command '%s' (commands: %s; see arenalab --help)\n",
                   arenalab::printable(argv[1]).c_str(), names.c_str());
      return kExitUsage;
    }
    if (const CLI::App* sub = named_subcommand(app, argc, argv)) {
      const std::string name = sub->get_name();
      std::fprintf(stderr, "arenalab %s: %s (see arenalab %s --help)\n", name.c_str(), what.c_str(),
                   name.c_str());
    } else {
      std::fprintf(stderr, "arenalab: %s (see arenalab --help)\n", what.c_str());
    }
    return kExitUsage;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "arenalab: %s\n", arenalab::printable(e.what()).c_str());
    return kExitError;
  }
  return exit_code;
}
