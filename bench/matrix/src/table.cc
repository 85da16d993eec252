// SPDX-License-Identifier: Apache-2.0
// The terminal table: per workload (and thread count) a row per configuration with the median,
// its interval and the repeat-paired ratio to the baseline for time, memory and throughput.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <tuple>

#include "arenalab/core/sizes.h"
#include "arenalab/matrix/results.h"

namespace arenalab::matrix {
namespace {

// 3 significant digits with k/M/G suffixes (throughput, counts).
std::string si(double v) {
  const char* suffix[] = {"", "k", "M", "G", "T"};
  int i = 0;
  while (std::fabs(v) >= 1000 && i < 4) {
    v /= 1000;
    ++i;
  }
  const int decimals = std::fabs(v) >= 100 ? 0 : std::fabs(v) >= 10 ? 1 : 2;
  return fmt::format("{:.{}f}{}", v, decimals, suffix[i]);
}
std::string mib(double bytes) { return fmt::format("{:.1f}", bytes / (1 << 20)); }
std::string ms(double v) { return v >= 100 ? fmt::format("{:.0f}", v) : fmt::format("{:.1f}", v); }

std::string with_ci(const MedianInterval& m, std::string (*f)(double)) {
  if (m.n < 2) return f(m.median);
  return fmt::format("{} [{},{}]", f(m.median), f(m.lo), f(m.hi));
}
std::string ratio_text(const std::optional<MedianInterval>& r) {
  if (!r) return "-";
  if (r->n < 2) return fmt::format("{:.2f}", r->median);
  return fmt::format("{:.2f} [{:.2f},{:.2f}]", r->median, r->lo, r->hi);
}

}  // namespace

std::string render_table(const Results& results) {
  const auto& plan = results.plan;
  std::map<std::tuple<std::string, int, std::string, std::string>, const Summary*> by;
  for (const auto& s : results.summaries)
    by[{s.workload, s.threads, s.configuration, s.metric}] = &s;
  // Cell counts per group, to show what was left out and why.
  std::map<std::tuple<std::string, int, std::string>, std::map<CellStatus, int>> statuses;
  std::map<std::tuple<std::string, int, std::string>, std::string> why;
  std::vector<std::pair<std::string, int>> blocks;
  std::set<std::pair<std::string, int>> seen_blocks;  // blocks, for a lookup in log time
  for (const auto& c : results.cells) {
    const auto g = std::make_tuple(c.workload, c.threads, c.configuration);
    ++statuses[g][c.status];
    if (c.status != CellStatus::kOk && !why.count(g))
      why[g] = !c.mismatch.empty() ? c.mismatch : c.message;
    if (seen_blocks.emplace(c.workload, c.threads).second)
      blocks.emplace_back(c.workload, c.threads);
  }
  std::map<std::tuple<std::string, int, std::string>, std::string> growth;
  for (const Group& g : groups(results))
    growth[{g.workload, g.threads, g.configuration}] = g.growth;
  std::string out;
  double min_level = 1;
  bool any_interval = false;
  const std::string base = plan.baseline;
  for (const auto& [workload, threads] : blocks) {
    std::string unit;
    for (const auto& cfg : plan.configurations)
      if (auto it = by.find({workload, threads, cfg, "throughput"}); it != by.end())
        unit = it->second->unit;
    out += fmt::format("\n{}{}\n", workload,
                       threads > 0 ? fmt::format("  (threads {})", threads) : std::string());
    out += fmt::format(
        "  {:<22} {:>5}  {:<20} {:<18} {:<16} {:<18} {:>10}  {:<22} {:<18} {:>9} {:>9}  {}\n",
        "configuration", "ok", "wall ms", "x " + base, "peak RSS MiB", "x " + base, "after-free",
        "throughput " + unit, "x " + base, "final MiB", "plateau", "growth");
    for (const auto& cfg : plan.configurations) {
      const auto g = std::make_tuple(workload, threads, cfg);
      const auto st = statuses.find(g);
      if (st == statuses.end()) continue;
      int total = 0, ok = 0;
      for (const auto& [s, n] : st->second) {
        total += n;
        if (s == CellStatus::kOk) ok = n;
      }
      const auto find = [&](const char* m) -> const Summary* {
        auto it = by.find({workload, threads, cfg, m});
        return it == by.end() ? nullptr : it->second;
      };
      const Summary* wall = find("wall_ms");
      const std::string okcol = fmt::format("{}/{}", ok, total);
      if (!wall) {
        std::string what;
        for (const auto& [s, n] : st->second)
          what += fmt::format("{}{} {}", what.empty() ? "" : ", ", n, status_name(s));
        const auto w = why.find(g);
        out += fmt::format("  {:<22} {:>5}  {}{}\n", cfg, okcol, what,
                           w != why.end() && !w->second.empty() ? ": " + w->second : "");
        continue;
      }
      const Summary* rss = find("peak_rss_bytes");
      const Summary* after = find("rss_after_free_bytes");
      const Summary* tp = find("throughput");
      for (const Summary* s : {wall, rss, tp}) {
        if (s && s->value.n >= 2) {
          any_interval = true;
          min_level = std::min(min_level, s->value.level);
        }
      }
      const Summary* final = find("final_rss_bytes");
      const Summary* plateau = find("plateau_rss_bytes");
      const std::string& grows = growth[g];
      out += fmt::format(
          "  {:<22} {:>5}  {:<20} {:<18} {:<16} {:<18} {:>10}  {:<22} {:<18} {:>9} {:>9}  {}\n",
          cfg, okcol, with_ci(wall->value, ms), ratio_text(wall->ratio),
          rss ? with_ci(rss->value, mib) : "-", rss ? ratio_text(rss->ratio) : "-",
          after ? mib(after->value.median) : "-", tp ? with_ci(tp->value, si) : "-",
          tp ? ratio_text(tp->ratio) : "-", final ? mib(final->value.median) : "-",
          plateau ? mib(plateau->value.median) : "-", grows.empty() ? "-" : grows);
    }
  }
  out += fmt::format(
      "\nmedians over ok cells (exit 0, allocator verified inside the process); [a,b] is the "
      "order-statistic interval of the median{}; x {} is the median of repeat-paired ratios "
      "with its interval; after-free is the RSS the workload measured after freeing (MiB); final "
      "and plateau are medians of the cells' RSS timelines (the last sample before the exit "
      "teardown; the median after the knee, else over the second half); growth is the "
      "classifier's verdict per repeat.\n",
      !any_interval ? std::string()
      : min_level >= plan.confidence
          ? fmt::format(" (coverage >= {:.1f} %)", 100 * min_level)
          : fmt::format(" (coverage {:.1f} % with these repeats; {:.0f} % needs >= 6)",
                        100 * min_level, 100 * plan.confidence),
      base);
  return out;
}

std::string render_memory(const Results& results) {
  std::map<std::string, int> verdicts;  // over every ok or unverified cell with a timeline
  int classified = 0;
  for (const auto& c : results.cells)
    if (c.memory && !did_not_run(c.status)) {
      ++verdicts[c.memory->verdict()];
      ++classified;
    }
  if (classified == 0) return "";
  std::string out =
      "\nmemory over time (each cell's RSS timeline; growth: the classifier's verdict, or the "
      "judgement across configurations)\n";
  const auto label = [](const Cell& c) {
    return c.workload + (c.threads ? fmt::format(" (threads {})", c.threads) : "");
  };
  std::map<std::pair<std::string, std::string>, std::pair<double, int>> rates;  // max rate, cells
  for (const auto& c : results.cells)
    if (c.memory && !did_not_run(c.status) && c.memory->creeping()) {
      auto& r = rates[{label(c), c.configuration}];
      r.first = std::max(r.first, c.memory->growth_rate);
      ++r.second;
    }
  for (const Group& g : groups(results)) {
    if (!g.creeping) continue;
    const auto key = std::make_pair(
        g.workload + (g.threads ? fmt::format(" (threads {})", g.threads) : ""), g.configuration);
    out += fmt::format("  RSS keeps growing: {} x {}: {}; up to {}/s\n", key.first, key.second,
                       g.growth, format_bytes(rates[key].first));
  }
  // Cells the judgement across configurations took off the growing list, with why (the same
  // reason for every cell of a workload: the siblings' books) and the rate RSS alone showed.
  std::map<std::pair<std::string, std::string>, std::tuple<int, double, std::string>> judged;
  std::vector<std::pair<std::string, std::string>> judged_order;
  for (const auto& c : results.cells)
    if (c.memory && !did_not_run(c.status) && c.memory->across_growth) {
      const auto key = std::make_pair(label(c), c.configuration);
      auto [it, fresh] = judged.try_emplace(key, 0, 0.0, c.memory->across_reason);
      if (fresh) judged_order.push_back(key);
      ++std::get<0>(it->second);
      std::get<1>(it->second) = std::max(std::get<1>(it->second), c.memory->growth_rate);
    }
  for (const auto& key : judged_order) {
    const auto& [n, rate, why] = judged[key];
    out +=
        fmt::format("  not a leak: {} x {}: {} {} RSS alone read as growth (up to {}/s); {}\n",
                    key.first, key.second, n, n == 1 ? "cell" : "cells", format_bytes(rate), why);
  }
  std::string counts;
  std::vector<std::string> names = kGrowthVerdicts;
  names.push_back(across_growth_name(AcrossGrowth::kAllocatorGrowth));
  for (const auto& name : names)
    if (auto it = verdicts.find(name); it != verdicts.end())
      counts += fmt::format("{}{} {}", counts.empty() ? "" : ", ", name, it->second);
  out +=
      fmt::format("  {}{} cells classified ({})\n",
                  rates.empty() ? "no configuration's RSS kept growing: " : "", classified, counts);
  return out;
}

}  // namespace arenalab::matrix
