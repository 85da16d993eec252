// SPDX-License-Identifier: Apache-2.0
// The recommendation: Pareto fronts per workload scope and overall, decided with repeat-paired
// ratio intervals (method in recommend.h).
#include "arenalab/matrix/recommend.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <set>

#include "arenalab/matrix/stats.h"

namespace arenalab::matrix {
namespace {

using Series = std::map<int, double>;  // repeat -> value
using Block = std::pair<std::string, int>;

// One comparison of A with B on one axis: -1 A clearly better (lower), +1 clearly worse, 0
// indistinguishable; `level` the coverage of the interval that decided (0: one pair, no
// interval).
struct Order {
  int sign = 0;
  double level = 0;
};

Order from_ratio(const MedianInterval& r) {
  Order o;
  o.level = r.n >= 2 ? r.level : 0;
  if (r.hi < 1) o.sign = -1;
  if (r.lo > 1) o.sign = +1;
  return o;
}

// Per workload scope: paired ratios, else the two median intervals.
Order compare_series(const Series& a, const Series& b, double confidence) {
  std::vector<std::optional<double>> va, vb;
  for (const auto& [rep, v] : a) {
    const auto it = b.find(rep);
    if (it == b.end()) continue;
    va.push_back(v);
    vb.push_back(it->second);
  }
  if (auto r = paired_ratio(va, vb, confidence)) return from_ratio(*r);
  std::vector<double> sa, sb;
  for (const auto& [rep, v] : a) sa.push_back(v);
  for (const auto& [rep, v] : b) sb.push_back(v);
  if (sa.empty() || sb.empty()) return {};
  const MedianInterval ia = median_interval(sa, confidence), ib = median_interval(sb, confidence);
  Order o;
  o.level = std::min(ia.n >= 2 ? ia.level : 0, ib.n >= 2 ? ib.level : 0);
  if (ia.hi < ib.lo) o.sign = -1;
  if (ia.lo > ib.hi) o.sign = +1;
  return o;
}

double median_of_series(const Series& s) {
  std::vector<double> v;
  for (const auto& [rep, x] : s) v.push_back(x);
  return median_interval(v).median;
}

std::string axis_word(const std::string& axis) {
  if (axis == "wall_ms") return "fastest";
  if (axis == "time_per_op_ns") return "highest throughput";
  if (axis == kMixedTimeAxis) return "fastest";
  if (axis == "peak_rss_bytes") return "smallest";
  if (axis == "malloc_p99_ns") return "lowest p99";
  if (axis == "request_p99_ms") return "lowest request p99";
  return "best " + axis;
}

// A cell given --duration: its wall time is that duration, so it ranks on throughput instead.
bool ran_for_a_duration(const Cell& c) {
  return std::find(c.command.begin(), c.command.end(), "--duration") != c.command.end();
}

// The cell's figure on one axis: wall_ms only without --duration, time_per_op_ns (ns per
// operation, 1e9 / throughput in ops/s) only with it.
std::optional<double> axis_value(const Cell& c, const std::string& axis, bool timed) {
  if (axis == "wall_ms") return timed ? std::nullopt : c.metric(axis);
  if (axis == "time_per_op_ns") {
    const auto t = timed ? c.throughput : std::nullopt;
    if (t && *t > 0) return 1e9 / *t;
    return std::nullopt;
  }
  return c.metric(axis);
}

// The Pareto front of `configs` under `compare(a, b, axis)`; fills everything but the figures,
// scope and excluded.
Advice decide(const std::vector<std::string>& configs, const std::vector<std::string>& axes,
              const std::function<Order(const std::string&, const std::string&,
                                        const std::string&)>& compare) {
  Advice out;
  out.axes = axes;
  const std::size_t n = configs.size();
  // sign[i][j][k]: configs[i] vs configs[j] on axes[k].
  std::vector<std::vector<std::vector<int>>> sign(
      n, std::vector<std::vector<int>>(n, std::vector<int>(axes.size(), 0)));
  double level = 1;
  bool any = false;
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = i + 1; j < n; ++j)
      for (std::size_t k = 0; k < axes.size(); ++k) {
        const Order o = compare(configs[i], configs[j], axes[k]);
        sign[i][j][k] = o.sign;
        sign[j][i][k] = -o.sign;
        level = std::min(level, o.level);
        any = true;
      }
  out.level = any ? level : 0;
  auto dominates = [&](std::size_t i, std::size_t j) {
    bool better = false;
    for (std::size_t k = 0; k < axes.size(); ++k) {
      if (sign[i][j][k] > 0) return false;
      better |= sign[i][j][k] < 0;
    }
    return better;
  };
  std::vector<bool> on_front(n, true);
  for (std::size_t j = 0; j < n; ++j)
    for (std::size_t i = 0; i < n; ++i)
      if (i != j && dominates(i, j)) on_front[j] = false;
  // Ties are not transitive, so dominance can in principle cycle and leave nothing undominated;
  // then nothing is ranked.
  if (std::none_of(on_front.begin(), on_front.end(), [](bool b) { return b; }))
    on_front.assign(n, true);
  for (std::size_t i = 0; i < n; ++i) {
    Standing s;
    s.configuration = configs[i];
    for (std::size_t k = 0; k < axes.size(); ++k) {
      bool beaten = false;
      for (std::size_t j = 0; j < n; ++j) beaten |= j != i && sign[j][i][k] < 0;
      if (!beaten) s.best_on.push_back(axes[k]);
    }
    if (on_front[i]) {
      for (std::size_t j = 0; j < n; ++j) {
        if (j == i || !on_front[j]) continue;
        if (std::all_of(sign[i][j].begin(), sign[i][j].end(), [](int x) { return x == 0; }))
          s.indistinguishable_from.push_back(configs[j]);
      }
      out.front.push_back(std::move(s));
    } else {
      for (std::size_t j = 0; j < n && s.dominated_by.empty(); ++j)
        if (on_front[j] && dominates(j, i)) s.dominated_by = configs[j];
      for (std::size_t j = 0; j < n && s.dominated_by.empty(); ++j)
        if (j != i && dominates(j, i)) s.dominated_by = configs[j];
      out.dominated.push_back(std::move(s));
    }
  }
  return out;
}

// Front members in classes of mutually indistinguishable ones, each with what it is best on.
std::string answer_of(const Advice& a) {
  if (a.front.empty()) return "no configuration ran ok";
  std::set<std::string> placed;
  std::vector<std::string> parts;
  for (const Standing& s : a.front) {
    if (placed.count(s.configuration)) continue;
    std::vector<std::string> names = {s.configuration};
    std::set<std::string> best(s.best_on.begin(), s.best_on.end());
    placed.insert(s.configuration);
    for (const Standing& t : a.front) {
      if (placed.count(t.configuration) ||
          std::find(s.indistinguishable_from.begin(), s.indistinguishable_from.end(),
                    t.configuration) == s.indistinguishable_from.end())
        continue;
      names.push_back(t.configuration);
      best.insert(t.best_on.begin(), t.best_on.end());
      placed.insert(t.configuration);
    }
    std::string words;
    for (const auto& axis : a.axes)
      if (best.count(axis)) words += (words.empty() ? "" : ", ") + axis_word(axis);
    std::string p = fmt::format("{}", fmt::join(names, " ~ "));
    if (!words.empty()) p += " (" + words + ")";
    parts.push_back(p);
  }
  std::string out = fmt::format("{}", fmt::join(parts, "; "));
  if (parts.size() > 1) out += ": a trade-off";
  return out;
}

void order_front(Advice& a) {
  if (a.axes.empty()) return;
  const std::string& first = a.axes.front();
  std::stable_sort(a.front.begin(), a.front.end(), [&](const Standing& x, const Standing& y) {
    const auto fx = x.figures.find(first), fy = y.figures.find(first);
    const double vx = fx == x.figures.end() ? std::numeric_limits<double>::infinity() : fx->second;
    const double vy = fy == y.figures.end() ? std::numeric_limits<double>::infinity() : fy->second;
    return vx < vy;
  });
}

}  // namespace

Recommendation recommend(const Results& results) {
  const Plan& plan = results.plan;
  // block -> configuration -> axis -> series over ok cells; and the other cells' statuses.
  std::map<Block, std::map<std::string, std::map<std::string, Series>>> ok;
  std::map<Block, std::map<std::string, std::map<std::string, int>>> not_ok;
  std::vector<Block> blocks;
  std::set<Block> seen;
  for (const Cell& c : results.cells) {
    const Block b{c.workload, c.threads};
    if (seen.insert(b).second) blocks.push_back(b);
    if (c.status != CellStatus::kOk) {
      ++not_ok[b][c.configuration][status_name(c.status)];
      continue;
    }
    auto& axes = ok[b][c.configuration];
    const bool timed = ran_for_a_duration(c);
    for (const auto& axis : kRecommendAxes)
      if (auto v = axis_value(c, axis, timed))
        axes[axis][c.repeat] = *v;
      else
        axes.try_emplace("");  // the configuration ran ok here
  }
  // Configurations in plan order, then any the plan does not name.
  std::vector<std::string> order = plan.configurations;
  for (const Cell& c : results.cells)
    if (std::find(order.begin(), order.end(), c.configuration) == order.end())
      order.push_back(c.configuration);

  auto why_excluded = [&](const Block& b, const std::string& cfg) {
    std::string what;
    const auto it = not_ok[b].find(cfg);
    if (it != not_ok[b].end())
      for (const auto& [st, n] : it->second)
        what += fmt::format("{}{} {}", what.empty() ? "" : ", ", n, st);
    return "no ok cell" + (what.empty() ? std::string() : " (" + what + ")");
  };
  auto axes_for = [&](const Block& b, const std::vector<std::string>& configs) {
    std::vector<std::string> axes;
    for (const auto& axis : kRecommendAxes) {
      bool all = !configs.empty();
      for (const auto& cfg : configs) {
        const auto& m = ok[b][cfg];
        all &= m.count(axis) && !m.at(axis).empty();
      }
      if (all) axes.push_back(axis);
    }
    return axes;
  };

  Recommendation rec;
  rec.method = fmt::format(
      "Pareto front of {} (all lower is better). A configuration is clearly better than another "
      "on an axis when the {:.0f} % order-statistic interval of their repeat-paired ratios lies "
      "wholly below 1 (medians' intervals when no repeat pairs); overlapping intervals read "
      "indistinguishable. It is dominated when another is clearly better on one axis and clearly "
      "worse on none. Overall: the ratio of repeat i is the geometric mean over the workloads. "
      "A cell run with --duration ranks time_per_op_ns (1e9 / throughput) instead of wall_ms, "
      "which is only the duration it was given; overall, a matrix mixing such workloads with "
      "fixed-work ones ranks on '{}', each workload's own time axis (both are the time the same "
      "work took, so their ratios average alike). An axis a workload lacks is left out of the "
      "overall, and its notes say where.",
      fmt::join(kRecommendAxes, ", "), 100 * plan.confidence, kMixedTimeAxis);

  std::set<std::string> ran;  // configurations with at least one cell anywhere
  for (const Cell& c : results.cells) ran.insert(c.configuration);
  std::vector<std::string> everywhere = order;  // eligible in every block
  std::map<std::string, std::string> first_missing;
  for (const Block& b : blocks) {
    std::vector<std::string> eligible;
    Advice excluded_only;
    for (const auto& cfg : order) {
      if (ok[b].count(cfg)) {
        eligible.push_back(cfg);
      } else if (not_ok[b].count(cfg)) {
        excluded_only.excluded.push_back({cfg, why_excluded(b, cfg)});
        first_missing.try_emplace(cfg, b.first);
      }
    }
    for (const auto& cfg : order)
      if (!ok[b].count(cfg)) {
        everywhere.erase(std::remove(everywhere.begin(), everywhere.end(), cfg), everywhere.end());
        if (ran.count(cfg)) first_missing.try_emplace(cfg, b.first);
      }
    const auto axes = axes_for(b, eligible);
    Advice a = decide(eligible, axes,
                      [&](const std::string& x, const std::string& y, const std::string& axis) {
                        return compare_series(ok[b][x][axis], ok[b][y][axis], plan.confidence);
                      });
    a.workload = b.first;
    a.threads = b.second;
    a.excluded = std::move(excluded_only.excluded);
    for (auto* list : {&a.front, &a.dominated})
      for (Standing& s : *list)
        for (const auto& axis : axes)
          s.figures[axis] = median_of_series(ok[b][s.configuration][axis]);
    order_front(a);
    a.answer = answer_of(a);
    rec.workloads.push_back(std::move(a));
  }

  if (blocks.size() >= 2) {
    // Axes measured in every block by every configuration eligible everywhere. Time is the
    // exception: a block ranks it on wall_ms (a fixed amount of work) or on time_per_op_ns (a
    // cell run for --duration), never both; when the blocks differ, the overall compares
    // each block's own time axis under the name kMixedTimeAxis. Both are the time the same work
    // took, so the ratio A/B means the same on either, and the geometric mean over the blocks
    // is of like with like. An axis some block lacks is left out, and the notes say where.
    std::map<Block, std::vector<std::string>> block_axes;
    for (const Block& b : blocks) block_axes[b] = axes_for(b, everywhere);
    auto has = [&](const Block& b, const std::string& axis) {
      const auto& a = block_axes[b];
      return std::find(a.begin(), a.end(), axis) != a.end();
    };
    std::map<Block, std::string> time_of;  // the block's time axis, where it has one
    std::map<std::string, std::vector<std::string>> by_time;  // time axis -> workloads
    std::vector<std::string> timeless;                        // workloads with neither
    for (const Block& b : blocks) {
      for (const char* t : {"wall_ms", "time_per_op_ns"})
        if (has(b, t)) time_of[b] = t;
      auto& list = time_of.count(b) ? by_time[time_of[b]] : timeless;
      if (std::find(list.begin(), list.end(), b.first) == list.end()) list.push_back(b.first);
    }
    const bool mixed_time = by_time.size() > 1 && timeless.empty();
    std::vector<std::string> axes, notes;
    if (mixed_time) {
      axes.push_back(kMixedTimeAxis);
      notes.push_back(fmt::format(
          "{}: each workload's own time axis, as a ratio between configurations: wall_ms where "
          "the work is fixed ({}), time_per_op_ns where it ran for --duration ({}); both are "
          "the time the same work took, so the geometric mean ranks the mix on one time axis",
          kMixedTimeAxis, fmt::join(by_time["wall_ms"], ", "),
          fmt::join(by_time["time_per_op_ns"], ", ")));
    }
    for (const auto& axis : kRecommendAxes) {
      const bool time_axis = axis == "wall_ms" || axis == "time_per_op_ns";
      if (mixed_time && time_axis) continue;
      std::vector<std::string> lacking;
      bool some = false;
      for (const Block& b : blocks) {
        some |= has(b, axis);
        if (!has(b, axis) && std::find(lacking.begin(), lacking.end(), b.first) == lacking.end())
          lacking.push_back(b.first);
      }
      if (some && lacking.empty())
        axes.push_back(axis);
      else if (some && !time_axis)  // time: said once, below
        notes.push_back(
            fmt::format("{} left out: not measured in {}", axis, fmt::join(lacking, ", ")));
    }
    if (!mixed_time && by_time.size() + !timeless.empty() > 1)
      notes.push_back(fmt::format(
          "no time axis: {} measured neither wall_ms nor time_per_op_ns (a --duration cell "
          "that reported no throughput)",
          fmt::join(timeless, ", ")));
    // The block's own axis for an overall axis.
    auto axis_in = [&](const Block& b, const std::string& axis) -> const std::string& {
      return axis == kMixedTimeAxis ? time_of[b] : axis;
    };
    auto compare = [&](const std::string& x, const std::string& y, const std::string& axis) {
      // Repeats every block has for both: ratio_i = exp(mean_b log(x_i / y_i)).
      std::set<int> repeats;
      for (const auto& [rep, v] : ok[blocks.front()][x][axis_in(blocks.front(), axis)])
        repeats.insert(rep);
      std::vector<double> ratios;
      for (int rep : repeats) {
        double sum = 0;
        bool all = true;
        for (const Block& b : blocks) {
          const Series& sx = ok[b][x][axis_in(b, axis)];
          const Series& sy = ok[b][y][axis_in(b, axis)];
          const auto ix = sx.find(rep), iy = sy.find(rep);
          if (ix == sx.end() || iy == sy.end() || ix->second <= 0 || iy->second <= 0) {
            all = false;
            break;
          }
          sum += std::log(ix->second / iy->second);
        }
        if (all) ratios.push_back(std::exp(sum / static_cast<double>(blocks.size())));
      }
      if (ratios.empty()) return Order{};  // no repeat ran everywhere: not decided
      return from_ratio(median_interval(ratios, plan.confidence));
    };
    Advice a = decide(everywhere, axes, compare);
    a.notes = std::move(notes);
    for (const auto& cfg : order)
      if (std::find(everywhere.begin(), everywhere.end(), cfg) == everywhere.end() &&
          first_missing.count(cfg))
        a.excluded.push_back({cfg, "no ok cell in " + first_missing[cfg]});
    // Figures: geometric mean over the blocks of the median ratio to the baseline.
    const bool base_everywhere =
        std::find(everywhere.begin(), everywhere.end(), plan.baseline) != everywhere.end();
    if (base_everywhere)
      for (auto* list : {&a.front, &a.dominated})
        for (Standing& s : *list)
          for (const auto& axis : axes) {
            double sum = 0;
            for (const Block& b : blocks)
              sum += std::log(median_of_series(ok[b][s.configuration][axis_in(b, axis)]) /
                              median_of_series(ok[b][plan.baseline][axis_in(b, axis)]));
            s.figures[axis] = std::exp(sum / static_cast<double>(blocks.size()));
          }
    order_front(a);
    a.answer = answer_of(a);
    rec.overall = std::move(a);
  }
  return rec;
}

std::string render_recommendation(const Recommendation& rec, const std::string& baseline) {
  std::string out;
  const Advice* any = rec.overall             ? &*rec.overall
                      : rec.workloads.empty() ? nullptr
                                              : &rec.workloads[0];
  if (!any) return "no recommendation: no cell ran\n";
  // The lowest coverage among the decisions that had intervals; a decision on single values
  // (a configuration with one ok run) is said apart, not allowed to hide the others' level.
  double level = 1;
  bool intervals = false, single = false;
  auto weigh = [&](const Advice& a) {
    if (a.level > 0) {
      level = std::min(level, a.level);
      intervals = true;
    } else {
      single = true;
    }
  };
  for (const Advice& a : rec.workloads) weigh(a);
  if (rec.overall) weigh(*rec.overall);
  std::string how = "; single repeats: no interval, ranked by single values";
  if (intervals)
    how = fmt::format(
        "; intervals cover >= {:.1f} %{}", 100 * level,
        single ? " (where a configuration has a single ok run: ranked by its value)" : "");
  out += fmt::format(
      "Which allocator? The Pareto front of {} per workload; \"~\" joins configurations whose "
      "intervals overlap (indistinguishable){}.\n",
      fmt::join(any->axes, ", "), how);
  const auto per_op = [](const Advice& a) {
    return std::find(a.axes.begin(), a.axes.end(), "time_per_op_ns") != a.axes.end();
  };
  if (std::any_of(rec.workloads.begin(), rec.workloads.end(), per_op))
    out +=
        "  (--duration: a long-running workload's wall time is the duration it was given; it is "
        "ranked on time_per_op_ns = 1e9 / throughput and peak RSS instead)\n";
  auto scope = [](const Advice& a) {
    return a.threads > 0 ? fmt::format("{} (threads {})", a.workload, a.threads) : a.workload;
  };
  auto tail = [](const Advice& a) {
    std::string t;
    if (!a.dominated.empty()) t += fmt::format("{} dominated", a.dominated.size());
    if (!a.excluded.empty())
      t += fmt::format("{}{} excluded ({})", t.empty() ? "" : ", ", a.excluded.size(),
                       a.excluded.front().reason);
    return t.empty() ? t : "   [" + t + "]";
  };
  if (rec.overall) {
    const Advice& o = *rec.overall;
    out +=
        fmt::format("  {:<26} {}{}\n", fmt::format("overall ({} workloads)", rec.workloads.size()),
                    o.answer, tail(o));
    for (const Standing& s : o.front) {
      if (s.figures.empty()) continue;
      std::string figs;
      for (const auto& axis : o.axes)
        if (auto it = s.figures.find(axis); it != s.figures.end())
          figs += fmt::format("{}{} {:.2f}x", figs.empty() ? "" : ", ", axis, it->second);
      out += fmt::format("  {:<26}   {}: {} {} (geometric mean)\n", "", s.configuration, figs,
                         baseline);
    }
    for (const auto& note : o.notes) out += fmt::format("  {:<26}   ({})\n", "", note);
  }
  for (const Advice& a : rec.workloads)
    out += fmt::format("  {:<26} {}{}\n", scope(a), a.answer, tail(a));
  return out;
}

}  // namespace arenalab::matrix
