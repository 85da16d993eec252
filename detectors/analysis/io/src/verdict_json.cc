// SPDX-License-Identifier: Apache-2.0
// timeline -> Signals, Classification -> verdict.json (its writer is formats/verdict.h).
#include "arenalab/analysis/verdict_json.h"

#include <cmath>

namespace arenalab::analysis {
using nlohmann::json;

Signals signals_from_timeline(const timeline::Timeline& tl) {
  auto get = [&](const char* name) {
    const auto s = timeline::series(tl, name);
    return Series{s.t_ms, s.value};
  };
  Signals sig;
  sig.rss = get("rss");
  sig.rss_anon = get("rss_anon");
  sig.rss_file = get("rss_file");
  sig.rss_shmem = get("rss_shmem");
  sig.vm_size = get("vm_size");
  // attach's level rss wrote them as gauges before they had fields of their own
  if (sig.rss_file.empty()) sig.rss_file = get("gauge:rss_file");
  if (sig.rss_shmem.empty()) sig.rss_shmem = get("gauge:rss_shmem");
  sig.live_bytes = get("live_bytes");
  sig.allocated = get("allocated");
  sig.resident = get("resident");
  sig.mapped = get("mapped");
  sig.retained = get("retained");
  sig.mmap_bytes = get("mmap_bytes");
  sig.active = get("active");
  sig.backend = tl.header.allocator.backend;
  if (!tl.header.command.empty()) {
    const std::string& argv0 = tl.header.command.front();
    sig.program = argv0.substr(argv0.find_last_of('/') + 1);  // npos + 1 = 0: the whole name
  }
  if (tl.after_purge && !tl.samples.empty()) {
    const timeline::Sample& before = tl.samples.back();  // the final sample
    sig.purge =
        PurgeProbe{before.rss, tl.after_purge->rss, before.resident, tl.after_purge->resident};
  }
  return sig;
}

namespace {

std::optional<double> finite(double v) {
  return std::isfinite(v) ? std::optional<double>(v) : std::nullopt;
}

verdict_file::Trend trend_of(const Trend& t) {
  verdict_file::Trend f;
  f.t0_ms = finite(t.t0_ms);
  f.t1_ms = finite(t.t1_ms);
  f.blocks = static_cast<std::int64_t>(t.blocks);
  f.block_ms = finite(t.block_ms);
  f.slope_bytes_per_s = finite(t.slope);
  f.slope_lo = finite(t.slope_lo);
  f.slope_hi = finite(t.slope_hi);
  f.p_median = finite(t.p_median);
  f.p_min = finite(t.p_min);
  f.growth_pct = finite(t.growth_pct);
  f.rising = t.rising;
  if (t.onset_ms) f.onset_ms = finite(*t.onset_ms);
  return f;
}

}  // namespace

verdict_file::SignalEvidence to_evidence(const SeriesVerdict& v) {
  verdict_file::SignalEvidence e;
  e.verdict = v.verdict;
  e.reason = v.reason;
  e.confidence = finite(v.confidence);
  e.samples = static_cast<std::int64_t>(v.samples);
  if (v.samples == 0) return e;
  e.duration_ms = finite(v.duration_ms);
  e.start_level_bytes = finite(v.start_level);
  e.level_bytes = finite(v.level);
  e.growth_pct = finite(v.growth_pct);
  e.oscillation_pct = finite(v.oscillation_pct);
  if (v.period_ms > 0) e.period_ms = finite(v.period_ms);
  if (v.whole.blocks > 0) {
    e.trend = trend_of(v.whole);
    verdict_file::Knee k;
    k.found = v.knee.found;
    k.t_ms = finite(v.knee.t_ms);
    k.slope_before_bytes_per_s = finite(v.knee.slope_before);
    k.slope_after_bytes_per_s = finite(v.knee.slope_after);
    k.tail_fraction = finite(v.knee.tail_fraction);
    k.sse_ratio = finite(v.knee.sse_ratio);
    e.knee = k;
  }
  if (v.tail) e.after_knee = trend_of(*v.tail);
  if (v.time_to_limit_s) e.time_to_limit_s = finite(*v.time_to_limit_s);
  return e;
}

verdict_file::Verdict to_verdict(const Classification& c, const Options& o,
                                 const std::string& source) {
  verdict_file::Verdict v;
  v.verdict = c.verdict;
  v.confidence = std::isfinite(c.confidence) ? c.confidence : 0;
  v.reason = c.reason;
  v.held_signal = c.held_signal;
  v.rss_signal = c.rss_signal;
  v.source = source;
  v.limit_bytes = o.limit_bytes;
  if (c.time_to_limit_s) v.time_to_limit_s = finite(*c.time_to_limit_s);
  if (c.retention) {
    const RetentionDetail& r = *c.retention;
    v.retention = verdict_file::Retention{r.kind,
                                          r.kept_bytes,
                                          r.why,
                                          r.fix,
                                          r.fragmented_bytes,
                                          r.purgeable_bytes,
                                          r.purge_returned_bytes};
  }
  for (const auto& e : c.evidence) {
    verdict_file::SignalEvidence& s = v.signals[e.signal] = to_evidence(e.v);
    // Retained address space and the derived gap are described, never judged (verdict.h).
    if (!verdict_file::unjudged_what(e.signal).empty()) {
      s.verdict.reset();
      s.confidence.reset();
    }
  }
  return v;
}

json to_json(const Classification& c, const Options& o, const std::string& source) {
  return verdict_file::to_json(to_verdict(c, o, source));
}

json to_json(const SeriesVerdict& v) {
  verdict_file::Verdict one;
  one.signals["x"] = to_evidence(v);
  return verdict_file::to_json(one)["signals"]["x"];
}

}  // namespace arenalab::analysis
