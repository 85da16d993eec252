// SPDX-License-Identifier: Apache-2.0
// One matched target's series -> the pure classifier's Signals -> a row of the fleet table, and
// the order of the table (the worst first).
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>

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

// The points of `s` at times in [from_s, to_s).
prometheus::RangeSeries slice(const prometheus::RangeSeries& s, double from_s, double to_s) {
  prometheus::RangeSeries out;
  out.labels = s.labels;
  for (std::size_t i = 0; i < s.t_s.size(); ++i)
    if (s.t_s[i] >= from_s && s.t_s[i] < to_s) {
      out.t_s.push_back(s.t_s[i]);
      out.value.push_back(s.value[i]);
    }
  return out;
}

std::optional<prometheus::RangeSeries> slice(const std::optional<prometheus::RangeSeries>& s,
                                             double from_s, double to_s) {
  if (!s) return std::nullopt;
  auto out = slice(*s, from_s, to_s);
  if (out.t_s.empty()) return std::nullopt;
  return out;
}

double median_of(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// One window's classification, with no restarts considered.
Row classify_life(const Target& t, const analysis::Options& o, double step_s);

}  // namespace

std::vector<double> restart_times(const prometheus::RangeSeries& marker) {
  std::vector<double> out;
  if (is_counter(marker)) {
    for (std::size_t i : prometheus::counter_resets(marker)) out.push_back(marker.t_s[i]);
    return out;
  }
  // A start time. A new process started after the old one was last seen alive, so its start
  // lies nearer to that point than to the old start: new > (old + t_prev) / 2. A start time
  // derived from the uptime (redis_exporter's now - uptime_in_seconds) moves by a second either
  // way between scrapes of one process, which is never that far (unless the process is younger
  // than two such seconds). Non-finite points are skipped.
  double last = NAN, last_t = NAN;
  for (std::size_t i = 0; i < marker.t_s.size(); ++i) {
    const double v = marker.value[i];
    if (!std::isfinite(v)) continue;
    if (std::isfinite(last) && v > last && v > (last + last_t) / 2) out.push_back(marker.t_s[i]);
    last = v;
    last_t = marker.t_s[i];
  }
  return out;
}

Row classify_target(const Target& t, const analysis::Options& o, double step_s) {
  Row whole = classify_life(t, o, step_s);
  if (!t.restarts) return whole;
  // Restarts after the first point of the target's series: each one begins a life.
  double first = INFINITY, last = -INFINITY;
  for (const auto* s : {&t.held, &t.rss, &t.resident})
    if (*s && !(*s)->t_s.empty()) {
      first = std::min(first, (*s)->t_s.front());
      last = std::max(last, (*s)->t_s.back());
    }
  std::vector<double> cuts;
  for (double at : restart_times(*t.restarts))
    if (at > first && at <= last) cuts.push_back(at);
  if (cuts.empty()) return whole;

  std::vector<double> bounds{first};
  bounds.insert(bounds.end(), cuts.begin(), cuts.end());
  bounds.push_back(INFINITY);
  std::vector<Row> lives;
  for (std::size_t i = 0; i + 1 < bounds.size(); ++i) {
    Target life;
    life.key = t.key;
    life.held = slice(t.held, bounds[i], bounds[i + 1]);
    life.rss = slice(t.rss, bounds[i], bounds[i + 1]);
    life.resident = slice(t.resident, bounds[i], bounds[i + 1]);
    if (!life.held && !life.rss) continue;
    lives.push_back(classify_life(life, o, step_s));
  }
  // What the lives read, unresolved ones apart: they contradict nothing. `told`: those read.
  std::map<analysis::Verdict, std::vector<const Row*>> read;
  std::size_t told = 0;
  for (const auto& l : lives)
    if (l.c.verdict != analysis::Verdict::kUnresolved) {
      read[l.c.verdict].push_back(&l);
      ++told;
    }

  std::vector<double> gaps;
  for (std::size_t i = 1; i < cuts.size(); ++i) gaps.push_back(cuts[i] - cuts[i - 1]);
  const std::optional<double> every =
      gaps.empty() ? std::nullopt : std::optional<double>(median_of(gaps));
  const std::string restarted =
      every ? fmt::format("restarted {} times in the window, every {:.0f} s (median)", cuts.size(),
                          *every)
            : fmt::format("restarted once in the window, {:.0f} s into it", cuts.front() - first);
  const std::string whole_reads = fmt::format("the whole window, restarts and all, reads {}",
                                              verdict_file::shown_name(whole.shown));

  Row r;
  if (read.size() == 1) {
    // The lives that can be told agree: the median one by rate stands for them, its rate too
    // (with an even count the upper of the two middle lives: the row's rate and its reason are
    // one life's).
    // Lives without a rate stand for none when some have one (a growth row keeps a rate).
    std::vector<const Row*> by_rate;
    for (const Row* l : read.begin()->second)
      if (l->rate_bytes_per_day) by_rate.push_back(l);
    if (by_rate.empty()) by_rate = read.begin()->second;
    std::stable_sort(by_rate.begin(), by_rate.end(), [](const Row* a, const Row* b) {
      return a->rate_bytes_per_day.value_or(0) < b->rate_bytes_per_day.value_or(0);
    });
    const Row* pick = by_rate[by_rate.size() / 2];
    r = *pick;
    const bool growth = pick->c.verdict == analysis::Verdict::kLeak ||
                        pick->c.verdict == analysis::Verdict::kNonHeapGrowth;
    const std::string lives_text =
        told == lives.size() ? fmt::format("each of its {} lives", lives.size())
                             : fmt::format("{} of its {} lives (the other {} too short to tell)",
                                           told, lives.size(), lives.size() - told);
    r.c.reason =
        growth ? fmt::format("{} in {}: {}, and the restarts hide it ({}); the median life: {}",
                             verdict_file::shown_name(pick->shown), lives_text, restarted,
                             whole_reads, pick->c.reason)
               : fmt::format("{} in {} ({}); the median life: {}",
                             verdict_file::shown_name(pick->shown), lives_text, restarted,
                             pick->c.reason);
  } else {
    // No life long enough to tell, or lives that disagree: never a guess.
    r = lives.empty() ? whole : lives.back();
    r.c.verdict = analysis::Verdict::kUnresolved;
    r.shown = verdict_file::shown_of(r.c.verdict, r.rss_only);
    r.rate_bytes_per_day = std::nullopt;
    std::string each;
    for (const auto& [v, ls] : read)
      each += fmt::format("{}{} {}", each.empty() ? "" : ", ", ls.size(),
                          verdict_file::shown_name(verdict_file::shown_of(v, whole.rss_only)));
    if (told < lives.size())
      each += fmt::format("{}{} too short to tell", each.empty() ? "" : ", ", lives.size() - told);
    r.c.reason = read.empty() ? fmt::format(
                                    "{}: none of its {} lives is long enough to tell a leak from a "
                                    "plateau ({}); give --range more lives, or --step finer",
                                    restarted, lives.size(), whole_reads)
                              : fmt::format("{}: its {} lives disagree ({}); {}", restarted,
                                            lives.size(), each, whole_reads);
  }
  // The whole window's counts, and the restarts.
  r.key = whole.key;
  r.name = whole.name;
  r.samples = whole.samples;
  r.missing = whole.missing;
  r.non_finite = whole.non_finite;
  r.resets = whole.resets;
  r.restarts = cuts.size();
  r.restart_every_s = every;
  return r;
}

namespace {

Row classify_life(const Target& t, const analysis::Options& o, double step_s) {
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

}  // namespace

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
