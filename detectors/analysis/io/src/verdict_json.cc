// SPDX-License-Identifier: Apache-2.0
// timeline -> Signals, Classification -> verdict.json.
#include "arenalab/analysis/verdict_json.h"

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
json trend_json(const Trend& t) {
  return {{"t0_ms", t.t0_ms},
          {"t1_ms", t.t1_ms},
          {"blocks", t.blocks},
          {"block_ms", t.block_ms},
          {"slope_bytes_per_s", t.slope},
          {"slope_interval_bytes_per_s", {t.slope_lo, t.slope_hi}},
          {"p_median", t.p_median},
          {"p_min", t.p_min},
          {"growth_pct", t.growth_pct},
          {"rising", t.rising}};
}
}  // namespace

json to_json(const SeriesVerdict& v) {
  json j = {{"verdict", verdict_name(v.verdict)},
            {"reason", v.reason},
            {"confidence", v.confidence},
            {"samples", v.samples}};
  if (v.samples == 0) return j;
  j["duration_ms"] = v.duration_ms;
  j["start_level_bytes"] = v.start_level;
  j["level_bytes"] = v.level;
  j["growth_pct"] = v.growth_pct;
  j["oscillation_pct"] = v.oscillation_pct;
  if (v.period_ms > 0) j["period_ms"] = v.period_ms;
  if (v.whole.blocks > 0) {
    j["trend"] = trend_json(v.whole);
    json k = {{"found", v.knee.found},
              {"t_ms", v.knee.t_ms},
              {"slope_before_bytes_per_s", v.knee.slope_before},
              {"slope_after_bytes_per_s", v.knee.slope_after},
              {"tail_fraction", v.knee.tail_fraction},
              {"sse_ratio", v.knee.sse_ratio}};
    j["knee"] = k;
  }
  if (v.tail) j["after_knee"] = trend_json(*v.tail);
  if (v.time_to_limit_s) j["time_to_limit_s"] = *v.time_to_limit_s;
  return j;
}

json to_json(const Classification& c, const Options& o, const std::string& source) {
  json j = {{"schema", "arenalab.verdict/1"}, {"verdict", verdict_name(c.verdict)},
            {"confidence", c.confidence},     {"reason", c.reason},
            {"held_signal", c.held_signal},   {"rss_signal", c.rss_signal}};
  if (!source.empty()) j["source"] = source;
  if (o.limit_bytes) j["limit_bytes"] = *o.limit_bytes;
  if (c.time_to_limit_s) j["time_to_limit_s"] = *c.time_to_limit_s;
  if (c.retention) {
    const RetentionDetail& r = *c.retention;
    json k = {{"kind", retention_kind_name(r.kind)},
              {"kept_bytes", r.kept_bytes},
              {"why", r.why},
              {"fix", r.fix}};
    if (r.fragmented_bytes) k["fragmented_bytes"] = *r.fragmented_bytes;
    if (r.purgeable_bytes) k["purgeable_bytes"] = *r.purgeable_bytes;
    if (r.purge_returned_bytes) k["purge_returned_bytes"] = *r.purge_returned_bytes;
    j["retention"] = k;
  }
  json sig = json::object();
  for (const auto& e : c.evidence) sig[e.signal] = to_json(e.v);
  j["signals"] = sig;
  return j;
}

}  // namespace arenalab::analysis
