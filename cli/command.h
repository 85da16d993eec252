// SPDX-License-Identifier: Apache-2.0
// Subcommand registration: each cli/cmd_<name>.cc registers itself with ARENALAB_COMMAND, so
// adding a subcommand touches no other file. A subcommand parses flags, calls a library and
// prints; it reports its exit code through the `int&` it is given.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <string>
#include <vector>

namespace arenalab::cli {

// Exit codes (docs/architecture.md, contract).
inline constexpr int kExitOk = 0;
inline constexpr int kExitError = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitLeak = 3;
inline constexpr int kExitUnresolved = 4;

using CommandSetup = std::function<void(CLI::App& root, int& exit_code)>;

struct CommandEntry {
  int order;         // position in `arenalab --help`
  const char* name;  // the subcommand `setup` adds
  CommandSetup setup;
};

std::vector<CommandEntry>& command_registry();

struct CommandRegistrar {
  CommandRegistrar(int order, const char* name, CommandSetup setup) {
    command_registry().push_back({order, name, std::move(setup)});
  }
};

// Prints "arenalab <cmd>: <message>" on stderr: the one clear line for a failure.
void print_error(const std::string& command, const std::string& message);

}  // namespace arenalab::cli

#define ARENALAB_CONCAT_INNER(a, b) a##b
#define ARENALAB_CONCAT(a, b) ARENALAB_CONCAT_INNER(a, b)
#define ARENALAB_COMMAND(order, name, fn)                                                      \
  static ::arenalab::cli::CommandRegistrar ARENALAB_CONCAT(arenalab_command_, __LINE__)(order, \
                                                                                        name, fn)
