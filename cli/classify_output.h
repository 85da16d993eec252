// SPDX-License-Identifier: Apache-2.0
// Shared by classify and watch: the human verdict with its evidence table, and the exit code
// of a verdict (0 no leak, 3 leak or non-heap-growth, 4 unresolved).
#pragma once

#include <fmt/format.h>

#include <cmath>

#include <string>

#include "arenalab/analysis/analysis.h"
#include "arenalab/core/sizes.h"
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
  return fmt::format("{:.1f} h", s / 3600);
}

inline std::string human_verdict(const analysis::Classification& c, const analysis::Options& o) {
  std::string out = fmt::format("verdict: {} (confidence {:.2f})\n  {}\n",
                                analysis::verdict_name(c.verdict), c.confidence, c.reason);
  if (c.time_to_limit_s && o.limit_bytes && *c.time_to_limit_s <= 0)
    out += fmt::format("  already at or above {}\n", format_bytes(*o.limit_bytes));
  else if (c.time_to_limit_s && o.limit_bytes)
    out += fmt::format("  projected to reach {} in {}\n", format_bytes(*o.limit_bytes),
                       duration(*c.time_to_limit_s));
  else if (o.limit_bytes)  // no upward trend to project (issue 20 item 6): say so
    out += fmt::format("  {}: not reached at the current rate\n", format_bytes(*o.limit_bytes));
  out +=
      fmt::format("\n{:<11} {:<15} {:>10} {:>8} {:>30} {:>8} {:>8} {:>13}\n", "signal", "verdict",
                  "level", "growth", "Theil-Sen slope [CI]", "p(med)", "p(min)", "knee");
  for (const auto& e : c.evidence) {
    const auto& v = e.v;
    if (v.whole.blocks == 0) {
      out +=
          fmt::format("{:<11} {:<15} {}\n", e.signal, analysis::verdict_name(v.verdict), v.reason);
      continue;
    }
    const analysis::Trend& t = v.tail ? *v.tail : v.whole;
    const std::string knee = v.knee.found ? fmt::format("{:.1f} s ({:.0f}%)", v.knee.t_ms / 1000,
                                                        100 * v.knee.tail_fraction)
                                          : "-";
    out +=
        fmt::format("{:<11} {:<15} {:>10} {:>7.1f}% {:>30} {:>8.2g} {:>8.2g} {:>13}\n", e.signal,
                    analysis::verdict_name(v.verdict), format_bytes(v.level), v.growth_pct,
                    fmt::format("{} [{}, {}]", rate(t.slope), rate(t.slope_lo), rate(t.slope_hi)),
                    t.p_median, t.p_min, knee);
  }
  out +=
      "(slope and p on the stretch after the knee when there is one; knee: time and share of "
      "the window after it)\n";
  return out;
}

}  // namespace arenalab::cli
