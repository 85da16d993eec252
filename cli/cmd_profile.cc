// SPDX-License-Identifier: Apache-2.0
// arenalab profile --profiler jemalloc|tcmalloc|heaptrack|interposer [...] -- CMD: the call
// sites whose live bytes keep growing, from time-based heap dumps, with the profiler's own
// follow-up commands. Exits 3 when a call site leaks (as watch does).
#include <fmt/format.h>

#include <iostream>
#include <memory>
#include <regex>

#include "arenalab/core/files.h"
#include "arenalab/core/process.h"
#include "arenalab/core/sizes.h"
#include "arenalab/formats/profile.h"
#include "arenalab/profilers/profile_run.h"
#include "command.h"

namespace arenalab::cli {
namespace {

struct Flags {
  profilers::ProfileOptions options;
  std::string profiler;  // one of profilers::kAllProfilers' names (checked by the parser)
  int top = 10;
  int frames = 1;  // frames of each stack in the text, from the site outward
  bool json = false;
  bool quiet = false;
  double progress_every_s = 3;  // a progress line on stderr this often while the target runs
  bool full = false;            // --full: the interposer's full mode, then analyze's views
  double temporary_ms = 10;     // --full: freed within this many ms is temporary
  std::string max_output;       // --max-output SIZE (the interposer's outputs)
};

int run(const Flags& flags) {
  if (flags.top < 1) {
    print_error("profile", "--top must be at least 1");
    return kExitUsage;
  }
  if (flags.frames < 1) {
    print_error("profile", "--frames must be at least 1");
    return kExitUsage;
  }
  for (const auto& pattern : flags.options.skip) {
    try {
      std::regex re(pattern);
    } catch (const std::regex_error& e) {
      print_error("profile", "--skip: '" + pattern + "' is not a regular expression: " + e.what());
      return kExitUsage;
    }
  }
  profilers::ProfileOptions options = flags.options;
  options.profiler = *profilers::parse_profiler(flags.profiler);
  if (flags.full && (options.profiler != profilers::Profiler::kInterposer || flags.json ||
                     options.interval_s > 0)) {
    print_error("profile",
                "--full is the interposer's full mode (--profiler interposer): it records every "
                "event, so --interval does not apply, and it has no --json output");
    return kExitUsage;
  }
  if (!flags.max_output.empty()) {
    auto cap = parse_size(flags.max_output);
    if (options.profiler != profilers::Profiler::kInterposer || !cap || *cap == 0) {
      print_error("profile", "--max-output " + flags.max_output +
                                 ": expected a size > 0 (e.g. 64K, 100M), with --profiler "
                                 "interposer only");
      return kExitUsage;
    }
    options.max_output = *cap;
  }
  options.target_stdout_to_stderr = flags.json;
  // Progress on stderr while it runs: the profile itself comes at the end.
  double next_ms = flags.progress_every_s * 1000;
  if (!flags.quiet && flags.progress_every_s > 0)
    options.on_progress = [&](const profilers::ProfileProgress& p) {
      if (p.elapsed_ms < next_ms) return;
      next_ms += flags.progress_every_s * 1000;
      std::cerr << fmt::format(
          "arenalab profile: {:6.1f} s  {}{}\n", p.elapsed_ms / 1000,
          options.profiler == profilers::Profiler::kHeaptrack
              ? std::string("heaptrack recording")
              : fmt::format("{} dumps kept (every {} s)", p.dumps, p.interval_s),
          p.rss > 0 ? "  RSS " + format_bytes(static_cast<double>(p.rss)) : std::string());
    };
  if (flags.full) {
    // Full mode, then the same views as `arenalab analyze DIR` (no series: no verdict, exit 0).
    auto full = profilers::run_full_profile(options, flags.temporary_ms);
    if (!full) {
      print_error("profile", full.error().message);
      return kExitError;
    }
    std::cout << profilers::full_profile_text(*full, flags.top);
    // Stopped by a signal (Ctrl-C, timeout): the views are out, then arenalab ends by it.
    if (const auto sig = full->exit.stop.received_signal) return exit_by_signal(*sig);
    return kExitOk;
  }
  auto report = profilers::run_profile(options);
  if (!report) {
    print_error("profile", report.error().message);
    return kExitError;
  }
  const profile_file::Profile file = profilers::to_profile_file(*report, flags.top);
  // The JSON is always kept beside the dumps; --json prints it instead of the table.
  // Relative to the directory opened and checked here again (run_profile made it): a link
  // swapped in since is refused by this opening, and nothing is written by path after it.
  Status st = Ok{};
  auto dir = OutputDir::open(report->out_dir, ExistingDir::kAccept);
  if (!dir) st = dir.error();
  if (st) st = dir->write_file("profile.json", profile_file::to_json(file));
  if (!st) {
    print_error("profile", st.error().message);
    return kExitError;
  }
  std::cout << (flags.json ? profile_file::to_json(file)
                           : profilers::report_text(*report, flags.top, flags.frames));
  // As watch: 3 when something leaks (a call site classified leak); otherwise the target's own
  // status (128+N when signal N ended it), so a target that crashed never reads as exit 0.
  // Stopped by a signal (Ctrl-C, timeout): the report is out, then arenalab ends by that
  // signal, as run and watch do.
  if (const auto sig = report->exit.stop.received_signal) return exit_by_signal(*sig);
  if (file.growing_callsites > 0) return kExitLeak;
  return report->exit.shell_status();
}

void setup(CLI::App& root, int& exit_code) {
  auto flags = std::make_shared<Flags>();
  auto* cmd = root.add_subcommand(
      "profile",
      "Run CMD under a heap profiler with time-based dumps and name the call sites that keep "
      "growing");
  std::vector<std::string> names;
  for (profilers::Profiler p : profilers::kAllProfilers)
    names.push_back(profilers::profiler_name(p));
  cmd->add_option("--profiler", flags->profiler,
                  "jemalloc (prof + jeprof), tcmalloc (gperftools heap profiler + pprof), "
                  "heaptrack, or interposer (arenalab's sample mode)")
      ->required()
      ->check(CLI::IsMember(names));
  cmd->add_option("--interval", flags->options.interval_s,
                  "Seconds between dumps (default: adaptive, every 0.1 s thinned as the run goes "
                  "to keep 32..64 evenly spaced dumps; the slope analysis needs 24+)")
      ->check(CLI::Validator(
          [](std::string& text) -> std::string {
            try {
              if (std::stod(text) > 0) return "";
            } catch (const std::exception&) {
            }
            return "expected seconds > 0, got '" + text + "'";
          },
          "SECONDS"));
  cmd->add_option("--at", flags->options.at_s,
                  "Also a flame graph of the live bytes at the dump nearest to SECONDS after the "
                  "start (DIR/live-at.svg)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--top", flags->top, "Call sites to list (default 10)");
  cmd->add_option("--out", flags->options.out_dir,
                  "Directory for dumps, tool output and profile.json "
                  "(default ./arenalab-profile-<pid>)");
  cmd->add_option("--skip", flags->options.skip,
                  "REGEX of functions that are not the call site (allocation wrappers beyond the "
                  "built-in zmalloc, PyObject_Malloc, g_malloc, xmalloc, ... lists); repeatable");
  cmd->add_option("--frames", flags->frames,
                  "Frames of each stack to show, from the call site outward (default 1)");
  cmd->add_flag("--full", flags->full,
                "With --profiler interposer: record every allocation and free with its stack "
                "(full mode, DIR/allocs.bin), then show what `arenalab analyze DIR` shows: live "
                "bytes by site at the peak (peak.svg), temporaries, allocation counts");
  cmd->add_option("--max-output", flags->max_output,
                  "With --profiler interposer: cap on the bytes its dumps and full log take "
                  "(e.g. 100M): past it they stop, with a warning; the target is untouched");
  cmd->add_option("--temporary-ms", flags->temporary_ms,
                  "--full: an allocation freed within this many ms is temporary (default 10)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_flag("--quiet,-q", flags->quiet, "No progress lines on stderr while it runs");
  cmd->add_option("--progress-every", flags->progress_every_s,
                  "Seconds between progress lines on stderr (default 3; 0: none)");
  cmd->add_flag("--json", flags->json, "Print the report as JSON (schema arenalab.profile/1)");
  cmd->add_option(
         "--lg-sample", flags->options.lg_sample,
         "Sampling of jemalloc (lg_prof_sample) and the interposer: mean 2^N bytes between "
         "samples (default 19)")
      ->check(CLI::Range(0, 40));
  cmd->add_option("--allocators-file", flags->options.allocators_file,
                  "Configurations file (default: the shipped one)");
  cmd->add_flag("!--no-tools", flags->options.run_tools,
                "Do not run jeprof / google-pprof / heaptrack_print afterwards");
  cmd->add_option("command", flags->options.command, "CMD ARGS... (after --)")->required();
  cmd->callback([flags, &exit_code] { exit_code = run(*flags); });
}

}  // namespace

ARENALAB_COMMAND(45, "profile", setup);

}  // namespace arenalab::cli
