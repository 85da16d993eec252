// SPDX-License-Identifier: Apache-2.0
// arenalab diff A B: what grew between two heap dumps (files, or the last dump of two profile
// or run directories), by call site, largest first, with a growth flame graph (--out).
#include <fmt/format.h>

#include <iostream>
#include <memory>
#include <regex>

#include "arenalab/core/files.h"
#include "arenalab/profilers/diff.h"
#include "arenalab/profilers/flamegraph.h"
#include "command.h"

namespace arenalab::cli {
namespace {

struct Flags {
  std::string before, after;
  int top = 10;
  std::string out_dir;  // diff.folded + diff.svg
  std::vector<std::string> skip;
};

int run(const Flags& flags) {
  if (flags.top < 1) {
    print_error("diff", "--top must be at least 1");
    return kExitUsage;
  }
  profilers::SiteFilter filter;
  for (const auto& pattern : flags.skip) {
    try {
      filter.skip.emplace_back(pattern);
    } catch (const std::regex_error& e) {
      print_error("diff", "--skip: '" + pattern + "' is not a regular expression: " + e.what());
      return kExitUsage;
    }
  }
  auto diff = profilers::diff_dumps(flags.before, flags.after, filter);
  if (!diff) {
    print_error("diff", diff.error().message);
    return kExitError;
  }
  std::cout << profilers::diff_text(*diff, flags.top);
  if (!flags.out_dir.empty()) {
    const std::string folded = profilers::folded_stacks(diff->sites, 0, 1);
    std::vector<std::string> hot;
    if (!diff->sites.empty() && diff->sites.front().site_frame() != nullptr &&
        diff->sites.front().live_bytes[1] > diff->sites.front().live_bytes[0])
      hot.push_back(profilers::folded_frame_name(*diff->sites.front().site_frame()));
    // A link or another user's directory is refused (OutputDir).
    Status st = Ok{};
    auto d = OutputDir::open(flags.out_dir, ExistingDir::kAccept);
    if (!d) st = d.error();
    if (st) st = d->write_file("diff.folded", folded);
    if (st)
      st = d->write_file("diff.svg",
                         profilers::flamegraph_svg(
                             folded, "Growth from " + diff->before + " to " + diff->after, hot));
    if (!st) {
      print_error("diff", st.error().message);
      return kExitError;
    }
    std::cout << fmt::format(
        "\ngrowth flame graph: {0}/diff.svg (folded stacks: {0}/diff.folded)\n", flags.out_dir);
  }
  return kExitOk;
}

void setup(CLI::App& root, int& exit_code) {
  auto flags = std::make_shared<Flags>();
  auto* cmd = root.add_subcommand(
      "diff",
      "What grew between two heap dumps (files, or profile/run directories: their last dump), "
      "by call site, largest growth first");
  cmd->add_option("before", flags->before, "A: the earlier dump or directory")->required();
  cmd->add_option("after", flags->after, "B: the later dump or directory")->required();
  cmd->add_option("--top", flags->top, "Call sites to list (default 10)");
  cmd->add_option("--out", flags->out_dir, "Write diff.folded and diff.svg (growth flame graph)");
  cmd->add_option("--skip", flags->skip,
                  "REGEX of functions that are not the call site (beyond the built-in wrappers)");
  cmd->callback([flags, &exit_code] { exit_code = run(*flags); });
}

}  // namespace

ARENALAB_COMMAND(46, "diff", setup);

}  // namespace arenalab::cli
