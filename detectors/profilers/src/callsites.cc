// SPDX-License-Identifier: Apache-2.0
// Building per-call-site series from dumps and classifying them.
#include "arenalab/profilers/callsites.h"

#include <algorithm>
#include <cmath>
#include <map>

#if __has_include("arenalab/analysis/analysis.h")
#include "arenalab/analysis/analysis.h"
#define ARENALAB_PROFILERS_HAVE_ANALYSIS 1
#endif

namespace arenalab::profilers {

namespace {

// Series key: the addresses above the allocator (a call site seen from the program's side).
using SiteKey = std::vector<std::uint64_t>;

struct Accumulating {
  std::vector<Frame> frames;
  std::size_t site = 0;
  std::vector<double> live;  // one per dump
};

}  // namespace

std::vector<CallsiteSeries> callsites_from_dumps(const std::vector<TimedDump>& dumps,
                                                 Symbolizer& symbolizer) {
  std::map<SiteKey, Accumulating> sites;
  for (std::size_t d = 0; d < dumps.size(); ++d) {
    const HeapDump& dump = dumps[d].dump;
    for (const auto& record : dump.stacks) {
      // Inlined functions expand into frames of their own; the key keeps one address per
      // frame so that stacks differing only inside the allocator share a site.
      std::vector<Frame> frames;
      for (auto a : record.addresses) {
        auto inlined = symbolizer.resolve_inlined(a, dump.mappings);
        frames.insert(frames.end(), inlined.begin(), inlined.end());
      }
      const std::size_t site = first_user_frame(frames);
      SiteKey key;
      for (std::size_t i = site; i < frames.size(); ++i) key.push_back(frames[i].address);
      auto [it, inserted] = sites.try_emplace(key);
      Accumulating& acc = it->second;
      if (inserted) {
        acc.frames = std::move(frames);
        acc.site = site;
        acc.live.assign(dumps.size(), 0.0);
      }
      acc.live[d] += estimated_live_bytes(record, dump.sample_period);
    }
  }
  std::vector<CallsiteSeries> out;
  out.reserve(sites.size());
  for (auto& [key, acc] : sites) {
    CallsiteSeries s;
    s.frames = std::move(acc.frames);
    s.site = acc.site;
    for (const auto& d : dumps) s.t_ms.push_back(d.t_ms);
    s.live_bytes = std::move(acc.live);
    out.push_back(std::move(s));
  }
  return out;
}

std::vector<CallsiteSeries> callsites_from_heaptrack(const HeaptrackTrace& trace) {
  // Group heaptrack traces by the frames above the allocator (function, file, line, module).
  std::map<std::vector<std::string>, Accumulating> sites;
  const std::size_t n = trace.snapshots.size();
  std::map<std::uint32_t, Accumulating*> by_trace;
  for (const auto& [index, hframes] : trace.stacks) {
    std::vector<Frame> frames;
    for (const auto& h : hframes)
      frames.push_back({h.address, h.function, h.file, h.line, h.module});
    const std::size_t site = first_user_frame(frames);
    std::vector<std::string> key;
    for (std::size_t i = site; i < frames.size(); ++i)
      key.push_back(frames[i].function + "|" + frames[i].file + "|" +
                    std::to_string(frames[i].line) + "|" + frames[i].module);
    auto [it, inserted] = sites.try_emplace(key);
    if (inserted) {
      it->second.frames = std::move(frames);
      it->second.site = site;
      it->second.live.assign(n, 0.0);
    }
    by_trace[index] = &it->second;
  }
  for (std::size_t k = 0; k < n; ++k)
    for (const auto& [index, bytes] : trace.snapshots[k].live_bytes)
      if (auto it = by_trace.find(index); it != by_trace.end())
        it->second->live[k] += static_cast<double>(bytes);
  std::vector<CallsiteSeries> out;
  for (auto& [key, acc] : sites) {
    CallsiteSeries s;
    s.frames = std::move(acc.frames);
    s.site = acc.site;
    for (const auto& snap : trace.snapshots) s.t_ms.push_back(snap.t_ms);
    s.live_bytes = std::move(acc.live);
    out.push_back(std::move(s));
  }
  return out;
}

namespace {

struct Fit {
  double slope = 0;    // per ms
  double stderr_ = 0;  // of the slope
};

// Ordinary least squares of y on t over [begin, end).
Fit ols(const std::vector<double>& t, const std::vector<double>& y, std::size_t begin,
        std::size_t end) {
  Fit fit;
  const double n = static_cast<double>(end - begin);
  if (end - begin < 2) return fit;
  double mt = 0, my = 0;
  for (std::size_t i = begin; i < end; ++i) {
    mt += t[i];
    my += y[i];
  }
  mt /= n;
  my /= n;
  double stt = 0, sty = 0;
  for (std::size_t i = begin; i < end; ++i) {
    stt += (t[i] - mt) * (t[i] - mt);
    sty += (t[i] - mt) * (y[i] - my);
  }
  if (stt <= 0) return fit;
  fit.slope = sty / stt;
  double sse = 0;
  for (std::size_t i = begin; i < end; ++i) {
    const double r = y[i] - (my + fit.slope * (t[i] - mt));
    sse += r * r;
  }
  fit.stderr_ = end - begin > 2 ? std::sqrt(sse / (n - 2) / stt) : 0;
  return fit;
}

}  // namespace

// Interim classifier, until arenalab_analysis (the suite's slope analysis) is merged here:
// ordinary least squares over the whole series and over each half. A leak has a positive
// slope that is significant (t > 3) and is still growing in the second half (slope there at
// least half the overall one); that tells a plateau (bounded) from steady growth.
SeriesVerdict classify_series_interim(const std::vector<double>& t_ms,
                                      const std::vector<double>& bytes) {
  SeriesVerdict v;
  v.method = "interim OLS with a half-split (arenalab_profilers)";
  const std::size_t n = std::min(t_ms.size(), bytes.size());
  if (n < 4 || t_ms[n - 1] - t_ms[0] <= 0) {
    v.reason = "fewer than 4 dumps over time";
    return v;
  }
  const Fit all = ols(t_ms, bytes, 0, n);
  const Fit late = ols(t_ms, bytes, n / 2, n);
  v.slope_bytes_per_s = all.slope * 1000.0;
  const double hi = *std::max_element(bytes.begin(), bytes.begin() + n);
  const double lo = *std::min_element(bytes.begin(), bytes.begin() + n);
  const double tstat = all.stderr_ > 0 ? all.slope / all.stderr_ : (all.slope > 0 ? 1e9 : 0);
  const bool growing = all.slope > 0 && tstat > 3.0 && bytes[n - 1] > bytes[0];
  if (growing && late.slope >= 0.5 * all.slope) {
    v.verdict = "leak";
    v.reason = "live bytes grow steadily (t = " + std::to_string(tstat).substr(0, 6) +
               ") and still grow in the second half";
  } else if (hi <= 0 || (hi - lo) <= 0.1 * hi) {
    v.verdict = "stable";
    v.reason = "live bytes stay within 10% of their maximum";
  } else {
    v.verdict = "bounded";
    v.reason = growing ? "grew, then levelled off" : "varies without a lasting trend";
  }
  return v;
}

#ifdef ARENALAB_PROFILERS_HAVE_ANALYSIS
// The suite's slope analysis (detectors/analysis: block medians, Theil-Sen slope, Mann-Kendall
// with the Hamed-Rao correction, hinge fit for a knee), on one call site's live bytes.
SeriesVerdict classify_series(const std::vector<double>& t_ms, const std::vector<double>& bytes) {
  analysis::Series series{t_ms, bytes};
  const analysis::SeriesVerdict a = analysis::classify_series(series);
  SeriesVerdict v;
  v.verdict = analysis::verdict_name(a.verdict);
  // The trend that decided: after the knee when there is one, else the whole window.
  v.slope_bytes_per_s = a.tail ? a.tail->slope : a.whole.slope;
  v.method = "arenalab_analysis (Theil-Sen slope, Mann-Kendall trend, knee fit)";
  v.reason = a.reason;
  return v;
}
#else
SeriesVerdict classify_series(const std::vector<double>& t_ms, const std::vector<double>& bytes) {
  return classify_series_interim(t_ms, bytes);
}
#endif

void classify_and_rank(std::vector<CallsiteSeries>& sites) {
  for (auto& s : sites) s.verdict = classify_series(s.t_ms, s.live_bytes);
  auto rank = [](const std::string& v) { return v == "leak" ? 0 : v == "unresolved" ? 2 : 1; };
  std::stable_sort(sites.begin(), sites.end(), [&](const auto& a, const auto& b) {
    if (rank(a.verdict.verdict) != rank(b.verdict.verdict))
      return rank(a.verdict.verdict) < rank(b.verdict.verdict);
    if (a.verdict.slope_bytes_per_s != b.verdict.slope_bytes_per_s)
      return a.verdict.slope_bytes_per_s > b.verdict.slope_bytes_per_s;
    return a.bytes_now() > b.bytes_now();
  });
}

}  // namespace arenalab::profilers
