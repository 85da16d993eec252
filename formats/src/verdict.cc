// SPDX-License-Identifier: Apache-2.0
// verdict.json (arenalab.verdict/1) reading through the Obj view: every field typed and checked,
// errors naming the file and the field's path. The writer is analysis::to_json.
#include "arenalab/formats/verdict.h"

#include <limits>

namespace arenalab::verdict_file {
using formats::FormatError;
using formats::Obj;
using nlohmann::json;

namespace {

constexpr std::int64_t kMaxCount = std::numeric_limits<std::int64_t>::max();

Trend read_trend(const Obj& o) {
  Trend t;
  t.t0_ms = o.opt_num("t0_ms");
  t.t1_ms = o.opt_num("t1_ms");
  t.blocks = o.opt_integer("blocks", 0, kMaxCount).value_or(0);
  t.block_ms = o.opt_num("block_ms", 0);
  t.slope_bytes_per_s = o.opt_num("slope_bytes_per_s");
  // [lo, hi]; either end null when the interval could not be computed.
  if (const json* iv = o.opt_array("slope_interval_bytes_per_s")) {
    if (iv->size() != 2)
      throw FormatError(o.path_of("slope_interval_bytes_per_s") +
                        ": expected [lo, hi], found an array of " + std::to_string(iv->size()));
    for (std::size_t i = 0; i < 2; ++i) {
      const json& e = (*iv)[i];
      if (e.is_null()) continue;
      if (!e.is_number())
        throw FormatError(o.path_of("slope_interval_bytes_per_s") + "[" + std::to_string(i) +
                          "]: expected a number, found " + formats::describe_type(e));
      (i == 0 ? t.slope_lo : t.slope_hi) = e.get<double>();
    }
  }
  t.p_median = o.opt_num("p_median", 0, 1);
  t.p_min = o.opt_num("p_min", 0, 1);
  t.growth_pct = o.opt_num("growth_pct");
  t.rising = o.bool_or("rising", false);
  return t;
}

Knee read_knee(const Obj& o) {
  Knee k;
  k.found = o.boolean("found");
  k.t_ms = o.opt_num("t_ms");
  k.slope_before_bytes_per_s = o.opt_num("slope_before_bytes_per_s");
  k.slope_after_bytes_per_s = o.opt_num("slope_after_bytes_per_s");
  k.tail_fraction = o.opt_num("tail_fraction");
  k.sse_ratio = o.opt_num("sse_ratio");
  return k;
}

SignalEvidence read_signal(const Obj& o) {
  SignalEvidence s;
  s.verdict = o.str("verdict");
  s.reason = o.str_or("reason");
  s.confidence = o.opt_num("confidence", 0, 1);
  s.samples = o.integer("samples", 0, kMaxCount);
  s.duration_ms = o.opt_num("duration_ms", 0);
  s.start_level_bytes = o.opt_num("start_level_bytes");
  s.level_bytes = o.opt_num("level_bytes");
  s.growth_pct = o.opt_num("growth_pct");
  s.oscillation_pct = o.opt_num("oscillation_pct");
  s.period_ms = o.opt_num("period_ms", 0);
  if (auto t = o.opt_obj("trend")) s.trend = read_trend(*t);
  if (auto k = o.opt_obj("knee")) s.knee = read_knee(*k);
  if (auto t = o.opt_obj("after_knee")) s.after_knee = read_trend(*t);
  s.time_to_limit_s = o.opt_num("time_to_limit_s");
  return s;
}

Verdict read(const json& doc) {
  formats::schema_version(doc, "arenalab.verdict", 1, 1);
  const Obj o(doc, "");
  Verdict v;
  v.verdict = o.str("verdict");
  v.confidence = o.num("confidence", 0, 1);
  v.reason = o.str_or("reason");
  v.held_signal = o.str_or("held_signal");
  v.rss_signal = o.str_or("rss_signal");
  v.source = o.str_or("source");
  v.limit_bytes = o.opt_num("limit_bytes", 0);
  v.time_to_limit_s = o.opt_num("time_to_limit_s");
  v.rate_bytes_per_s = o.opt_num("rate_bytes_per_s");
  v.rate_bytes_per_hour = o.opt_num("rate_bytes_per_hour");
  v.rate_bytes_per_day = o.opt_num("rate_bytes_per_day");
  if (auto p = o.opt_obj("projection")) {
    Projection pr;
    pr.limit_bytes = p->num("limit_bytes", 0);
    pr.limit_source = p->str_or("limit_source");
    pr.time_to_limit_s = p->num("time_to_limit_s");
    v.projection = pr;
  }
  if (auto r = o.opt_obj("retention")) {
    Retention re;
    re.kind = r->str("kind");
    if (re.kind != "purgeable" && re.kind != "fragmentation" && re.kind != "unknown")
      throw FormatError(r->path_of("kind") +
                        ": expected purgeable, fragmentation or unknown, found \"" + re.kind +
                        "\"");
    re.kept_bytes = r->num("kept_bytes", 0);
    re.why = r->str_or("why");
    re.fix = r->str_or("fix");
    re.fragmented_bytes = r->opt_num("fragmented_bytes", 0);
    re.purgeable_bytes = r->opt_num("purgeable_bytes", 0);
    re.purge_returned_bytes = r->opt_num("purge_returned_bytes", 0);
    v.retention = re;
  }
  const Obj sigs = o.obj("signals");
  for (const auto& [name, ev] : sigs.raw().items())
    v.signals[name] = read_signal(Obj(ev, sigs.path_of(name)));
  return v;
}

}  // namespace

const SignalEvidence* Verdict::rss_evidence() const {
  for (const std::string& name : {rss_signal, std::string("rss")})
    if (auto it = signals.find(name); !name.empty() && it != signals.end()) return &it->second;
  return nullptr;
}

std::optional<double> Verdict::knee_ms() const {
  const SignalEvidence* s = rss_evidence();
  if (!s || !s->knee || !s->knee->found) return std::nullopt;
  return s->knee->t_ms;
}

Result<Verdict> parse_verdict(const json& doc, const std::string& file) {
  return formats::parse_document<Verdict>(doc, file, read);
}

Result<Verdict> read_verdict(const std::string& path) {
  return formats::read_document<Verdict>(path, read);
}

}  // namespace arenalab::verdict_file
