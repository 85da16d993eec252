// SPDX-License-Identifier: Apache-2.0
// Shared by classify and watch: the human verdict with its evidence table, the growth rate and
// its projection to a limit (--limit, else the cgroup's memory.max, else MemTotal), and the exit
// code of a verdict (0 no leak, 3 leak or non-heap-growth, 4 unresolved).
#pragma once

#include <fmt/format.h>

#include <cmath>
#include <fstream>
#include <optional>
#include <string>

#include "arenalab/analysis/analysis.h"
#include "arenalab/analysis/live.h"
#include "arenalab/core/live_pace.h"
#include "arenalab/core/sizes.h"
#include "arenalab/formats/verdict.h"
#include "arenalab/procfs/procfs.h"
#include "command.h"

namespace arenalab::cli {

inline int verdict_exit_code(analysis::Verdict v) {
  switch (v) {
    case analysis::Verdict::kLeak:
    case analysis::Verdict::kNonHeapGrowth:
      return kExitLeak;
    case analysis::Verdict::kUnresolved:
      return kExitUnresolved;
    default:
      return kExitOk;
  }
}

inline std::string rate(double bytes_per_s) {
  return (bytes_per_s < 0 ? "-" : "") + format_bytes(std::fabs(bytes_per_s)) + "/s";
}

inline std::string duration(double s) {
  if (s < 120) return fmt::format("{:.0f} s", s);
  if (s < 7200) return fmt::format("{:.1f} min", s / 60);
  if (s < 3 * 86400) return fmt::format("{:.1f} h", s / 3600);
  return fmt::format("{:.1f} days", s / 86400);
}

// The limit a growth is projected to: --limit when given, else this process's cgroup v2
// memory.max (when not "max"), else MemTotal. Bytes and where it came from.
struct Limit {
  double bytes = 0;
  std::string source;  // "--limit", "cgroup memory.max", "MemTotal"
};

inline std::optional<Limit> projection_limit(const analysis::Options& o) {
  if (o.limit_bytes) return Limit{*o.limit_bytes, "--limit"};
  std::ifstream cg("/proc/self/cgroup");
  std::string line;
  while (std::getline(cg, line)) {
    if (line.rfind("0::", 0) != 0) continue;
    std::ifstream max("/sys/fs/cgroup" + line.substr(3) + "/memory.max");
    std::string v;
    if (max >> v && v != "max") {
      try {
        return Limit{std::stod(v), "cgroup memory.max"};
      } catch (...) {
      }
    }
  }
  if (auto m = procfs::mem_total()) return Limit{static_cast<double>(*m), "MemTotal"};
  return std::nullopt;
}

// The growth of a leak or non-heap-growth: per second, hour and day, and the time until RSS
// (else what the program holds) reaches the limit at that rate. nullopt when nothing grows.
struct Projection {
  double rate = 0;  // bytes/s
  std::optional<Limit> limit;
  std::optional<double> time_to_limit_s;
  // RSS's own rate when RSS leaks on its own test: the limit is on resident memory, reached at
  // the rate RSS grows (growth outside malloc, threads never joined: their stacks, adds to the
  // heap's), as the classifier projects --limit.
  std::optional<double> rss_rate;
};

inline std::optional<Projection> projection(const analysis::Classification& c,
                                            const analysis::Options& o) {
  if (c.rate <= 0) return std::nullopt;
  Projection p;
  p.rate = c.rate;
  p.limit = projection_limit(o);
  if (!p.limit) return p;
  double level = -1;
  for (const auto& e : c.evidence) {
    if (e.signal == c.rss_signal || (level < 0 && e.signal == c.held_signal)) level = e.v.level;
    if (e.signal == c.rss_signal && e.v.verdict == analysis::Verdict::kLeak && e.v.rate > 0)
      p.rss_rate = e.v.rate;
  }
  if (o.limit_bytes && c.time_to_limit_s) {
    p.time_to_limit_s = c.time_to_limit_s;  // the classifier's, at the rate of the series it chose
    p.rss_rate.reset();                     // so no note naming RSS's
    return p;
  }
  if (level >= 0)
    p.time_to_limit_s = std::max(0.0, (p.limit->bytes - level) / p.rss_rate.value_or(p.rate));
  return p;
}

// The projection's fields of verdict.json: the rate per second, hour and day, and when the
// limit is reached.
inline void add_projection(verdict_file::Verdict& v, const analysis::Classification& c,
                           const analysis::Options& o) {
  const auto p = projection(c, o);
  if (!p) return;
  v.rate_bytes_per_s = p->rate;
  v.rate_bytes_per_hour = p->rate * 3600;
  v.rate_bytes_per_day = p->rate * 86400;
  if (p->limit && p->time_to_limit_s)
    v.projection = verdict_file::Projection{p->limit->bytes, p->limit->source, *p->time_to_limit_s};
}

// The live line's verdict (analysis/live.h): settled, and a growth claimed only once it has
// outlasted the warm-ups the line waits out.
using analysis::LiveVerdict;

inline std::string human_verdict(const analysis::Classification& c, const analysis::Options& o) {
  // Retention names its kind in the headline (issue 19 class 7): purgeable | fragmentation.
  const std::string kind =
      c.retention ? std::string(analysis::retention_kind_name(c.retention->kind)) + ", " : "";
  std::string out = fmt::format("verdict: {} ({}confidence {:.2f})\n  {}\n",
                                analysis::verdict_name(c.verdict), kind, c.confidence, c.reason);
  if (const auto p = projection(c, o)) {
    out += fmt::format("  grows {} = {} per hour = {} per day", rate(p->rate),
                       format_bytes(p->rate * 3600), format_bytes(p->rate * 86400));
    if (p->limit && p->time_to_limit_s && *p->time_to_limit_s <= 0)
      out += fmt::format("; already at or above {} ({})", format_bytes(p->limit->bytes),
                         p->limit->source);
    else if (p->limit && p->time_to_limit_s)
      out += fmt::format("; reaches {} ({}) in {}{}", format_bytes(p->limit->bytes),
                         p->limit->source, duration(*p->time_to_limit_s),
                         p->rss_rate && std::abs(*p->rss_rate - p->rate) > 0.05 * p->rate
                             ? fmt::format(" (at {}'s {})", c.rss_signal, rate(*p->rss_rate))
                             : std::string());
    out += "\n";
  } else if (o.limit_bytes) {  // no upward trend to project (issue 20 item 6): say so
    out += fmt::format("  {}: not reached at the current rate\n", format_bytes(*o.limit_bytes));
  }
  out +=
      fmt::format("\n{:<11} {:<15} {:>10} {:>8} {:>30} {:>8} {:>8} {:>13}\n", "signal", "verdict",
                  "level", "growth", "Theil-Sen slope [CI]", "p(med)", "p(min)", "knee");
  std::string unjudged;  // the footnote naming what the unjudged rows are
  for (const auto& e : c.evidence) {
    const auto& v = e.v;
    // Retained address space and the derived gap get no verdict of their own (issue 22 item 8).
    const std::string_view what = verdict_file::unjudged_what(e.signal);
    const std::string verdict = what.empty() ? analysis::verdict_name(v.verdict) : "(not judged)";
    if (!what.empty())
      unjudged += fmt::format("{}{}: {}", unjudged.empty() ? "" : "; ", e.signal, what);
    if (v.whole.blocks == 0) {
      out += fmt::format("{:<11} {:<15} {}\n", e.signal, verdict, v.reason);
      continue;
    }
    const analysis::Trend& t = v.tail ? *v.tail : v.whole;
    const std::string knee = v.knee.found ? fmt::format("{:.1f} s ({:.0f}%)", v.knee.t_ms / 1000,
                                                        100 * v.knee.tail_fraction)
                                          : "-";
    out +=
        fmt::format("{:<11} {:<15} {:>10} {:>7.1f}% {:>30} {:>8.2g} {:>8.2g} {:>13}\n", e.signal,
                    verdict, format_bytes(v.level), v.growth_pct,
                    fmt::format("{} [{}, {}]", rate(t.slope), rate(t.slope_lo), rate(t.slope_hi)),
                    t.p_median, t.p_min, knee);
  }
  out +=
      "(slope and p on the stretch after the knee when there is one; knee: time and share of "
      "the window after it)\n";
  if (!unjudged.empty()) out += "(not judged, described only: " + unjudged + ")\n";
  return out;
}

}  // namespace arenalab::cli
