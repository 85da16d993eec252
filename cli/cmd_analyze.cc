// SPDX-License-Identifier: Apache-2.0
// arenalab analyze DIR: the views of a full-mode run (arenalab run --mode full): live bytes by
// call site at the peak (with a flame graph, DIR/peak.svg), temporary allocations, and
// allocation counts per call site.
#include <fmt/format.h>

#include <iostream>
#include <memory>
#include <optional>

#include "arenalab/core/files.h"
#include "arenalab/profilers/full_log.h"
#include "command.h"

namespace arenalab::cli {
namespace {

struct Flags {
  std::string dir;
  int top = 10;
  double temporary_ms = 10;
  std::optional<double> at_s;  // --at: live bytes by site at that time too
};

int run(const Flags& flags) {
  if (flags.top < 1 || !(flags.temporary_ms >= 0)) {
    print_error("analyze", "--top must be at least 1 and --temporary-ms at least 0");
    return kExitUsage;
  }
  std::optional<double> at_ms;
  if (flags.at_s) at_ms = *flags.at_s * 1000;
  auto views = profilers::analyze_full_log(flags.dir, flags.temporary_ms, {}, at_ms);
  if (!views) {
    print_error("analyze", views.error().message);
    return kExitError;
  }
  std::cout << profilers::full_log_text(*views, flags.top);
  // The graphs go beside the log, relative to the directory opened and checked here (a link or
  // another user's directory is refused: OutputDir).
  auto dir = OutputDir::open(flags.dir, ExistingDir::kAccept);
  Result<std::string> graphs =
      dir ? profilers::write_full_log_graphs(*views, *dir) : Result<std::string>(dir.error());
  if (!graphs) {
    print_error("analyze", graphs.error().message);
    return kExitError;
  }
  std::cout << "\n" << *graphs;
  return kExitOk;
}

void setup(CLI::App& root, int& exit_code) {
  auto flags = std::make_shared<Flags>();
  auto* cmd = root.add_subcommand(
      "analyze",
      "Views of a full-mode run's allocs.bin: live bytes by call site at the peak (flame graph), "
      "temporary allocations, allocation counts");
  cmd->add_option("dir", flags->dir, "DIR of `arenalab run --mode full`")->required();
  cmd->add_option("--top", flags->top, "Rows per view (default 10)");
  cmd->add_option("--temporary-ms", flags->temporary_ms,
                  "An allocation freed within this many ms is temporary (default 10)");
  cmd->add_option("--at", flags->at_s,
                  "Also the live bytes by call site at SECONDS after the first record (a table "
                  "and DIR/live-at.svg)")
      ->check(CLI::NonNegativeNumber);
  cmd->callback([flags, &exit_code] { exit_code = run(*flags); });
}

}  // namespace

ARENALAB_COMMAND(47, "analyze", setup);

}  // namespace arenalab::cli
