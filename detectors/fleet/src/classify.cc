// SPDX-License-Identifier: Apache-2.0
// One matched target's series -> the pure classifier's Signals -> a row of the fleet table, and
// the order of the table (the worst first).
#include <algorithm>
#include <cmath>

#include "arenalab/fleet/fleet.h"

namespace arenalab::fleet {
namespace {

bool is_counter(const prometheus::RangeSeries& s) {
  auto it = s.labels.find("__name__");
  return it != s.labels.end() && it->second.size() > 6 &&
         it->second.compare(it->second.size() - 6, 6, "_total") == 0;
}

struct Converted {
  analysis::Series series;
  std::size_t resets = 0;
};

Converted convert(const prometheus::RangeSeries& in, double origin_s) {
  Converted c;
  const prometheus::RangeSeries* s = &in;
  prometheus::RangeSeries fixed;
  if (is_counter(in)) {
    c.resets = prometheus::counter_resets(in).size();
    fixed = prometheus::without_counter_resets(in);
    s = &fixed;
  }
  c.series.t_ms.reserve(s->t_s.size());
  for (double t : s->t_s) c.series.t_ms.push_back((t - origin_s) * 1000);
  c.series.value = s->value;
  return c;
}

const analysis::SeriesVerdict* evidence(const analysis::Classification& c, const std::string& n) {
  for (const auto& e : c.evidence)
    if (e.signal == n) return &e.v;
  return nullptr;
}

}  // namespace

Row classify_target(const Target& t, const analysis::Options& o, double step_s) {
  Row r;
  r.key = t.key;
  r.name = label_text(t.key);
  // A common origin for every signal of the target, so the gap series lines up.
  double origin = INFINITY;
  for (const auto* s : {&t.held, &t.rss, &t.resident})
    if (*s && !(*s)->t_s.empty()) origin = std::min(origin, (*s)->t_s.front());
  if (!std::isfinite(origin)) origin = 0;
  analysis::Signals sig;
  if (t.held) {
    auto c = convert(*t.held, origin);
    // arenalab's own exporter counts live bytes in the interposer; any other exporter reports
    // the allocator's or the runtime's books.
    auto name = t.held->labels.find("__name__");
    const bool live = name != t.held->labels.end() && name->second == "arenalab_live_bytes";
    (live ? sig.live_bytes : sig.allocated) = std::move(c.series);
    r.resets += c.resets;
  }
  if (t.rss) {
    auto c = convert(*t.rss, origin);
    sig.rss = std::move(c.series);
    r.resets += c.resets;
  }
  if (t.resident) {
    auto c = convert(*t.resident, origin);
    sig.resident = std::move(c.series);
    r.resets += c.resets;
  }
  r.c = analysis::classify(sig, o);
  r.rss_only = !t.held && t.rss;
  // RSS alone: the classifier's "leak" is growth whose cause RSS cannot name, "bounded" a
  // plateau that may as well be retention as a cache.
  r.shown = verdict_file::shown_of(r.c.verdict, r.rss_only);
  // The deciding series: held for a leak with the allocator's view, RSS otherwise.
  const prometheus::RangeSeries* deciding = t.held ? &*t.held : t.rss ? &*t.rss : nullptr;
  std::string deciding_name = t.held ? r.c.held_signal : "rss";
  if (r.c.verdict == analysis::Verdict::kNonHeapGrowth && t.rss) {
    deciding = &*t.rss;
    deciding_name = "rss";
  }
  if (deciding) {
    r.samples = deciding->t_s.size();
    r.missing = prometheus::missing_points(*deciding, step_s);
    r.non_finite = deciding->non_finite;
  }
  if (r.c.verdict == analysis::Verdict::kLeak || r.c.verdict == analysis::Verdict::kNonHeapGrowth) {
    if (const auto* v = evidence(r.c, deciding_name)) {
      const analysis::Trend& tr = v->tail ? *v->tail : v->whole;
      r.rate_bytes_per_day = tr.slope * 86400;
    }
  }
  return r;
}

int severity(const Row& r) {
  switch (r.c.verdict) {
    case analysis::Verdict::kLeak:
      return r.rss_only ? 2 : 0;
    case analysis::Verdict::kNonHeapGrowth:
      return 1;
    case analysis::Verdict::kUnresolved:
      return 3;
    case analysis::Verdict::kRetention:
      return 4;
    case analysis::Verdict::kBounded:
      return 5;
    case analysis::Verdict::kStable:
      return 6;
  }
  return 7;
}

void sort_by_severity(std::vector<Row>& rows) {
  std::stable_sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
    if (severity(a) != severity(b)) return severity(a) < severity(b);
    return a.rate_bytes_per_day.value_or(0) > b.rate_bytes_per_day.value_or(0);
  });
}

}  // namespace arenalab::fleet
