// SPDX-License-Identifier: Apache-2.0
// Building per-call-site series from dumps and classifying them.
#include "arenalab/profilers/callsites.h"

#include <algorithm>
#include <cmath>
#include <map>

namespace arenalab::profilers {

namespace {

// Series key: the addresses above the allocator (a call site seen from the program's side).
using SiteKey = std::vector<std::uint64_t>;

struct Accumulating {
  std::vector<Frame> frames;
  std::size_t site = 0;
  std::vector<double> live;            // one per dump
  std::vector<std::uint64_t> samples;  // live objects as recorded, one per dump
};

}  // namespace

std::vector<CallsiteSeries> callsites_from_dumps(const std::vector<TimedDump>& dumps,
                                                 Symbolizer& symbolizer, const SiteFilter& filter) {
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
      const std::size_t site = first_user_frame(frames, filter);
      SiteKey key;
      for (std::size_t i = site; i < frames.size(); ++i) key.push_back(frames[i].address);
      auto [it, inserted] = sites.try_emplace(key);
      Accumulating& acc = it->second;
      if (inserted) {
        acc.frames = std::move(frames);
        acc.site = site;
        acc.live.assign(dumps.size(), 0.0);
        acc.samples.assign(dumps.size(), 0);
      }
      acc.live[d] += estimated_live_bytes(record, dump.sample_period);
      acc.samples[d] += record.live_objects;
    }
  }
  const std::uint64_t period = dumps.empty() ? 0 : dumps.back().dump.sample_period;
  std::vector<CallsiteSeries> out;
  out.reserve(sites.size());
  for (auto& [key, acc] : sites) {
    CallsiteSeries s;
    s.frames = std::move(acc.frames);
    s.site = acc.site;
    for (const auto& d : dumps) s.t_ms.push_back(d.t_ms);
    s.live_bytes = std::move(acc.live);
    if (period > 0) {
      s.samples = std::move(acc.samples);
      s.sample_period = period;
    }
    out.push_back(std::move(s));
  }
  return out;
}

std::vector<CallsiteSeries> callsites_from_heaptrack(const HeaptrackTrace& trace,
                                                     const SiteFilter& filter) {
  // Group heaptrack traces by the frames above the allocator (function, file, line, module).
  std::map<std::vector<std::string>, Accumulating> sites;
  const std::size_t n = trace.snapshots.size();
  std::map<std::uint32_t, Accumulating*> by_trace;
  for (const auto& [index, hframes] : trace.stacks) {
    std::vector<Frame> frames;
    for (const auto& h : hframes)
      frames.push_back({h.address, h.function, h.file, h.line, h.module});
    const std::size_t site = first_user_frame(frames, filter);
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

bool SeriesVerdict::has_slope() const {
  return verdict != analysis::Verdict::kUnresolved && std::isfinite(slope_bytes_per_s);
}

// The suite's slope analysis (detectors/analysis: block medians, Theil-Sen slope, Mann-Kendall
// with the Hamed-Rao correction, hinge fit for a knee), on one call site's live bytes.
SeriesVerdict classify_series(const std::vector<double>& t_ms, const std::vector<double>& bytes) {
  const analysis::SeriesVerdict a = analysis::classify_series(analysis::Series{t_ms, bytes});
  SeriesVerdict v;
  v.verdict = a.verdict;
  // The trend that decided: after the knee when there is one, else the whole window.
  v.slope_bytes_per_s = a.tail ? a.tail->slope : a.whole.slope;
  v.method = "arenalab_analysis (Theil-Sen slope, Mann-Kendall trend, knee fit)";
  v.reason = a.reason;
  return v;
}

// The order a user reads "what keeps growing" in: leaks by slope; then the sites that cannot be
// told yet but grew over the window, by that growth (a 90 MiB site still undecided is not
// ranked below a stable 24-byte one); then the rest by slope, then by what they hold. An
// undecided site has no slope, so the growth from the first to the last point stands in for it.
void classify_and_rank(std::vector<CallsiteSeries>& sites) {
  for (auto& s : sites) s.verdict = classify_series(s.t_ms, s.live_bytes);
  auto growth = [](const CallsiteSeries& s) {
    return s.live_bytes.size() < 2 ? 0.0 : s.live_bytes.back() - s.live_bytes.front();
  };
  auto rank = [&](const CallsiteSeries& s) {
    if (s.verdict.is_leak()) return 0;
    return s.verdict.verdict == analysis::Verdict::kUnresolved && growth(s) > 0 ? 1 : 2;
  };
  auto key = [&](const CallsiteSeries& s) {
    if (rank(s) == 1) return growth(s);
    return s.verdict.has_slope() ? s.verdict.slope_bytes_per_s : 0.0;
  };
  std::stable_sort(sites.begin(), sites.end(), [&](const auto& a, const auto& b) {
    if (rank(a) != rank(b)) return rank(a) < rank(b);
    if (key(a) != key(b)) return key(a) > key(b);
    return a.bytes_now() > b.bytes_now();
  });
}

}  // namespace arenalab::profilers
