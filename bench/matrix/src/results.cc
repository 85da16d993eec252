// SPDX-License-Identifier: Apache-2.0
// Summaries per workload x threads x configuration x metric over the ok cells.
#include "arenalab/matrix/results.h"

#include <map>
#include <tuple>

namespace arenalab::matrix {

std::vector<Summary> summarize(const std::vector<Cell>& cells, const Plan& plan) {
  // Group key: (workload, threads, configuration) -> repeat -> cell.
  using Group = std::tuple<std::string, int, std::string>;
  std::map<Group, std::map<int, const Cell*>> ok;
  std::map<Group, std::size_t> excluded;
  std::vector<Group> order;
  for (const auto& c : cells) {
    const Group g{c.workload, c.threads, c.configuration};
    if (!ok.count(g) && !excluded.count(g)) order.push_back(g);
    if (c.status == CellStatus::kOk)
      ok[g][c.repeat] = &c;
    else
      ++excluded[g];
  }
  std::vector<Summary> out;
  for (const auto& g : order) {
    const auto it = ok.find(g);
    if (it == ok.end()) continue;
    const auto& [workload, threads, config] = g;
    const auto base_it = ok.find(Group{workload, threads, plan.baseline});
    for (const auto& m : kMetrics) {
      std::vector<double> sample;
      std::vector<std::optional<double>> values, base;
      std::string unit;
      for (const auto& [repeat, cell] : it->second) {
        const auto v = cell->metric(m);
        if (v) sample.push_back(*v);
        if (m == "throughput" && unit.empty()) unit = cell->throughput_unit;
        values.push_back(v);
        std::optional<double> b;
        if (base_it != ok.end()) {
          const auto bc = base_it->second.find(repeat);
          if (bc != base_it->second.end()) b = bc->second->metric(m);
        }
        base.push_back(b);
      }
      if (sample.empty()) continue;  // never measured: absent, not 0
      Summary s;
      s.workload = workload;
      s.threads = threads;
      s.configuration = config;
      s.metric = m;
      s.unit = m == "throughput" ? unit
                                 : (m.ends_with("_bytes") ? "bytes"
                                    : m.ends_with("_ms")  ? "ms"
                                    : m.ends_with("_ns")  ? "ns"
                                                          : "count");
      s.value = median_interval(sample, plan.confidence);
      if (base_it != ok.end()) s.ratio = paired_ratio(values, base, plan.confidence);
      const auto ex = excluded.find(g);
      s.excluded = ex == excluded.end() ? 0 : ex->second;
      out.push_back(std::move(s));
    }
  }
  return out;
}

}  // namespace arenalab::matrix
