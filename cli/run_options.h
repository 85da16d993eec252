// SPDX-License-Identifier: Apache-2.0
// The options run, watch and budget share (one table, so each accepts what applies to it),
// their validation (a bad value is one line naming the option, exit 2), and the exit-status
// convention of a subcommand that runs a target (README "Exit status").
#pragma once

#include <fmt/format.h>

#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "arenalab/core/process.h"
#include "arenalab/core/sizes.h"
#include "arenalab/runner/runner.h"
#include "command.h"

namespace arenalab::cli {

// Options of the run itself: where the target runs, for how long, how it is stopped, where
// the files go. Kept as text where the parser's own messages would be unclear (--interval
// nan, --duration 5m).
struct TargetFlags {
  std::string allocator = "glibc";
  std::string allocators_file;
  std::string interval = "100";  // ms
  std::string out;
  bool force = false;
  std::string duration;  // seconds; s/m/h suffixes
  std::string stop_signal = "INT";
  std::string grace = "10";  // seconds
};

// Options of the interposer inside the target (run and watch; budget runs it in stats mode).
struct InterposerFlags {
  std::string mode;  // default set by the subcommand
  std::string sample_bytes = "512K";
  int heap_dump_every = 10;
  int jemalloc_prof_dump_every = 0;
  bool trace_children = false;
  bool purge_at_end = false;
  std::string max_output;  // SIZE; empty: no cap
};

inline void add_target_flags(CLI::App* cmd, TargetFlags& f, const std::string& default_out) {
  cmd->add_option("--allocator", f.allocator, "Allocator configuration (default glibc)");
  cmd->add_option("--allocators-file", f.allocators_file, "Configurations file");
  cmd->add_option("--interval", f.interval, "Sampling interval in ms, 1..3600000 (default 100)");
  cmd->add_option("--out", f.out,
                  "Output directory (default ./" + default_out +
                      "-<pid>); made 0700; an existing one must be yours, not group/world-"
                      "writable, and empty");
  cmd->add_flag("--force", f.force, "Empty an existing, non-empty --out first");
  cmd->add_option("--duration", f.duration,
                  "Stop the target after this long (seconds, or 90s, 5m, 2h): --stop-signal, "
                  "then --grace, then SIGKILL");
  cmd->add_option("--stop-signal", f.stop_signal,
                  "Signal that ends --duration (INT, TERM, HUP, QUIT, USR1, USR2, KILL; default "
                  "INT)");
  cmd->add_option("--grace", f.grace,
                  "Seconds the target has to end after a stop signal, then SIGKILL (default 10)");
}

inline void add_interposer_flags(CLI::App* cmd, InterposerFlags& f,
                                 const std::string& default_mode) {
  f.mode = default_mode;
  cmd->add_option("--mode", f.mode, "stats | count | sample | full (default " + default_mode + ")")
      ->check(CLI::IsMember({"stats", "count", "sample", "full"}));
  cmd->add_option("--sample-bytes", f.sample_bytes,
                  "sample mode: mean bytes between samples (default 512K)");
  cmd->add_option("--heap-dump-every", f.heap_dump_every,
                  "sample mode: heap profile every N intervals (default 10; 0: only at exit)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--jemalloc-prof-dump-every", f.jemalloc_prof_dump_every,
                  "With jemalloc prof:true: mallctl prof.dump every N samples")
      ->check(CLI::NonNegativeNumber);
  cmd->add_flag("--trace-children", f.trace_children,
                "Forked children write their own timeline.<pid>.jsonl");
  cmd->add_flag("--purge-at-end", f.purge_at_end,
                "At the target's normal exit, ask its allocator to purge and sample once more: "
                "tells retention a purge returns from fragmentation");
  cmd->add_option("--max-output", f.max_output,
                  "Cap on the bytes the interposer writes per traced process (e.g. 100M): past "
                  "it the full log and heap/mmap dumps stop and the timeline thins out, with a "
                  "warning; the target is untouched");
}

// "300", "300s", "5m", "2h" -> seconds; nullopt for anything else, zero or negative.
inline std::optional<double> parse_seconds(const std::string& text) {
  if (text.empty()) return std::nullopt;
  double scale = 1;
  std::string num = text;
  switch (num.back()) {
    case 's':
      num.pop_back();
      break;
    case 'm':
      scale = 60;
      num.pop_back();
      break;
    case 'h':
      scale = 3600;
      num.pop_back();
      break;
    default:
      break;
  }
  if (num.empty()) return std::nullopt;
  std::size_t used = 0;
  double v = 0;
  try {
    v = std::stod(num, &used);
  } catch (...) {
    return std::nullopt;
  }
  if (used != num.size() || !std::isfinite(v)) return std::nullopt;
  return v * scale;
}

// TargetFlags into RunOptions; the error is the one usage line (without the command name).
inline std::optional<std::string> apply_target_flags(const TargetFlags& f,
                                                     runner::RunOptions& run) {
  run.allocator = f.allocator;
  run.allocators_file = f.allocators_file;
  run.out_dir = f.out;
  run.out_existing = f.force ? ExistingDir::kEmpty : ExistingDir::kRefuseNonEmpty;
  {
    std::size_t used = 0;
    double v = NAN;
    try {
      v = std::stod(f.interval, &used);
    } catch (...) {
    }
    if (used != f.interval.size() || !(v >= runner::kMinIntervalMs && v <= runner::kMaxIntervalMs))
      return "--interval " + f.interval + ": expected milliseconds between 1 and 3600000";
    run.interval_ms = v;
  }
  if (!f.duration.empty()) {
    const auto s = parse_seconds(f.duration);
    if (!s || *s <= 0 || *s > 1e9)
      return "--duration " + f.duration + ": expected a time > 0 (seconds, or 90s, 5m, 2h)";
    run.stop.duration_ms = *s * 1000;
  }
  run.stop.stop_signal = parse_signal(f.stop_signal);
  if (run.stop.stop_signal == 0)
    return "--stop-signal " + f.stop_signal +
           ": expected INT, TERM, HUP, QUIT, USR1, USR2 or KILL (or its number)";
  const auto grace = parse_seconds(f.grace);
  if (!grace || *grace < 0 || *grace > 1e9) return "--grace " + f.grace + ": expected seconds >= 0";
  run.stop.grace_ms = *grace * 1000;
  run.stop.forward_signals = true;
  return std::nullopt;
}

inline std::optional<std::string> apply_interposer_flags(const InterposerFlags& f,
                                                         runner::RunOptions& run) {
  auto bytes = parse_size(f.sample_bytes);
  if (!bytes || *bytes == 0)
    return "--sample-bytes: " + (bytes ? std::string("must be > 0") : bytes.error().message);
  // CLI11 checked the name (IsMember above).
  preload::protocol::parse_mode(f.mode.c_str(), &run.mode);
  run.sample_bytes = *bytes;
  run.heap_dump_every = f.heap_dump_every;
  run.jemalloc_prof_dump_every = f.jemalloc_prof_dump_every;
  run.trace_children = f.trace_children;
  run.purge_at_end = f.purge_at_end;
  if (!f.max_output.empty()) {
    auto cap = parse_size(f.max_output);
    if (!cap || *cap == 0)
      return "--max-output " + f.max_output + ": expected a size > 0 (e.g. 4096, 64K, 100M, 2G)";
    run.max_output = *cap;
  }
  return std::nullopt;
}

// --json FILE is written after the target ran: a file that cannot be written there (its
// directory missing or not writable, or FILE a directory) is said before it runs, in one line,
// rather than after the whole run. "" and "-" (stdout) are fine.
inline std::optional<std::string> json_file_problem(const std::string& path) {
  if (path.empty() || path == "-") return std::nullopt;
  std::error_code ec;
  const std::filesystem::path p(path);
  if (std::filesystem::is_directory(p, ec))
    return "--json " + path + ": is a directory (give a file name)";
  const std::filesystem::path dir = p.has_parent_path() ? p.parent_path() : ".";
  if (!std::filesystem::is_directory(dir, ec))
    return "--json " + path + ": no directory " + dir.string();
  if (::access(dir.c_str(), W_OK) != 0)
    return "--json " + path + ": cannot write into " + dir.string() + ": " + std::strerror(errno);
  return std::nullopt;
}

// The exit-status convention of run, watch and budget (issue 20): the target's own status
// (128+N when a signal ended it). A target that ended on the stop signal --duration sent it
// (killed by it, or a wrapper exiting 128+N) finished as asked: 0. Whether arenalab itself
// was stopped by a signal is the caller's to handle first (exit_by_signal).
inline int target_status(const ExitInfo& e, const StopPolicy& stop) {
  if (e.stop.duration_reached && !e.stop.received_signal && !e.stop.killed_after_grace) {
    if (e.signal && *e.signal == stop.stop_signal) return kExitOk;
    if (e.exit_code && *e.exit_code == 128 + stop.stop_signal) return kExitOk;
  }
  return e.shell_status();
}

// One line on how the target was stopped, or "" when it ended by itself.
inline std::string stop_line(const ExitInfo& e, const StopPolicy& stop) {
  const auto& s = e.stop;
  if (!s.stop_ms) return "";
  std::string why = s.received_signal
                        ? "arenalab got " + signal_name(*s.received_signal)
                        : fmt::format("--duration {:g} s reached", stop.duration_ms / 1000);
  std::string how = s.sent_signal ? signal_name(*s.sent_signal) + " to the target" : "";
  if (s.killed_after_grace)
    how += fmt::format(", still running after the {:g} s grace: SIGKILL", stop.grace_ms / 1000);
  return fmt::format("stopped at {:.1f} s: {}; {}", *s.stop_ms / 1000, why, how);
}

}  // namespace arenalab::cli
