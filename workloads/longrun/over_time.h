// SPDX-License-Identifier: Apache-2.0
// What the long-running workloads report about memory over time: the sampler's series (RSS,
// the bytes the program holds, the allocator's books), RSS per quarter of the run and the
// ratio of RSS to the bytes held at the start and the end. Header-only, workloads/longrun only.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "arenalab/core/quantile.h"
#include "arenalab/core/sizes.h"
#include "arenalab/workload/harness.h"
#include "arenalab/workload/sampler.h"

namespace arenalab::workload::longrun {

inline std::string fixed(double v, int decimals = 2) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

// Measures samples, rss_q1..q4_bytes (median RSS of each quarter of the run), held_q1..q4_bytes,
// rss_to_held_first / _last (RSS above the start per byte held, first and last quarter) and
// rss_growth_q2_to_q4_bytes; rows for the terminal. The growth verdict itself is the matrix's (the
// classifier on the cell's timeline).
inline void report_over_time(Harness& h, const std::vector<Sample>& series, std::uint64_t rss0) {
  nlohmann::json js = nlohmann::json::array();
  for (const auto& s : series) {
    nlohmann::json o = {{"t_ms", s.t_ms}, {"rss", s.rss}, {"held", s.gauge}};
    if (s.allocated) o["allocated"] = *s.allocated;
    if (s.mapped) o["mapped"] = *s.mapped;
    js.push_back(o);
  }
  h.measure("samples", js);
  h.measure("rss_start_bytes", rss0);
  if (series.size() < 4) return;
  const double t_end = series.back().t_ms;
  double rss_q[4] = {}, held_q[4] = {};
  for (int q = 0; q < 4; ++q) {
    std::vector<double> rss, held;
    for (const auto& s : series)
      if (s.t_ms >= t_end * q / 4 && (s.t_ms < t_end * (q + 1) / 4 || q == 3)) {
        rss.push_back(static_cast<double>(s.rss));
        held.push_back(static_cast<double>(s.gauge));
      }
    rss_q[q] = rss.empty() ? 0 : median_of(std::move(rss));
    held_q[q] = held.empty() ? 0 : median_of(std::move(held));
    h.measure("rss_q" + std::to_string(q + 1) + "_bytes", rss_q[q]);
    h.measure("held_q" + std::to_string(q + 1) + "_bytes", held_q[q]);
  }
  // RSS above the start (the program's own code and stacks out) per byte held.
  const double base = static_cast<double>(rss0);
  const double first = std::max(rss_q[0] - base, 0.0) / std::max(held_q[0], 4096.0);
  const double last = std::max(rss_q[3] - base, 0.0) / std::max(held_q[3], 4096.0);
  h.measure("rss_to_held_first", first);
  h.measure("rss_to_held_last", last);
  h.measure("rss_growth_q2_to_q4_bytes", rss_q[3] - rss_q[1]);
  h.row("RSS by quarter of the run", format_bytes(rss_q[0]) + ", " + format_bytes(rss_q[1]) + ", " +
                                         format_bytes(rss_q[2]) + ", " + format_bytes(rss_q[3]));
  h.row("bytes held by quarter", format_bytes(held_q[0]) + ", " + format_bytes(held_q[1]) + ", " +
                                     format_bytes(held_q[2]) + ", " + format_bytes(held_q[3]));
  h.row("RSS above start / held, first and last quarter", fixed(first) + " -> " + fixed(last));
}

}  // namespace arenalab::workload::longrun
