// SPDX-License-Identifier: Apache-2.0
// verdict.json (arenalab.verdict/1): the writer, and the reader through the Obj view (every
// field typed and checked, errors naming the file and the field's path).
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
  t.onset_ms = o.opt_num("onset_ms");
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

// `name`: the signal's; an unjudged signal's verdict and confidence are not read (an older
// file may carry them: they were never meaningful).
SignalEvidence read_signal(const Obj& o, const std::string& name) {
  SignalEvidence s;
  const bool judged = unjudged_what(name).empty();
  if (judged) {
    s.verdict = formats::growth_verdict(o, "verdict");
    s.confidence = o.opt_num("confidence", 0, 1);
  }
  s.reason = o.str_or("reason");
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

std::vector<std::string> command_of(const Obj& o) { return o.strings("command"); }

RunPart read_run(const Obj& o) {
  RunPart r;
  r.command = command_of(o);
  r.allocator = o.str_or("allocator");
  r.backend = formats::backend_field(o, "backend");
  r.verified = o.bool_or("verified", false);
  r.exit = o.str_or("exit");
  r.samples = o.integer("samples", 0, kMaxCount);
  r.out_dir = o.str_or("out_dir");
  r.stop = o.str_or("stop");
  r.name = o.str_or("name");
  return r;
}

AttachPart read_attach(const Obj& o) {
  AttachPart a;
  a.pid = o.integer("pid", 1, kMaxCount);
  a.command = command_of(o);
  a.level = attach_file::read_level(o);
  a.samples = o.integer("samples", 0, kMaxCount);
  a.ended = attach_file::read_ended(o);
  a.attached_ms = o.num("attached_ms", 0);
  a.out_dir = o.str_or("out_dir");
  return a;
}

TreePart read_tree(const Obj& o) {
  TreePart t;
  t.verdict = formats::growth_verdict(o, "verdict");
  t.confidence = o.num("confidence", 0, 1);
  t.pid = o.integer("pid", 1, kMaxCount);
  const json& procs = o.array("processes");
  for (std::size_t i = 0; i < procs.size(); ++i) {
    const Obj p = o.element("processes", i);
    TreeProcess tp;
    tp.pid = p.integer("pid", 1, kMaxCount);
    tp.command = command_of(p);
    tp.samples = p.integer("samples", 0, kMaxCount);
    tp.verdict = formats::growth_verdict(p, "verdict");
    tp.confidence = p.num("confidence", 0, 1);
    tp.reason = p.str_or("reason");
    t.processes.push_back(std::move(tp));
  }
  t.short_lived = o.opt_integer("short_lived", 0, kMaxCount).value_or(0);
  if (const json* sr = o.opt_array("still_running")) {
    for (std::size_t i = 0; i < sr->size(); ++i) {
      const json& e = (*sr)[i];
      if (!e.is_number_integer() || e.get<std::int64_t>() < 1)
        throw FormatError(o.path_of("still_running") + "[" + std::to_string(i) +
                          "]: expected a pid, found " + formats::describe_type(e));
      t.still_running.push_back(e.get<std::int64_t>());
    }
  }
  t.unreadable = o.opt_integer("unreadable", 0, kMaxCount).value_or(0);
  return t;
}

FleetPart read_fleet(const Obj& o) {
  FleetPart f;
  f.labels = o.string_map("labels");
  const std::string shown = o.str("shown");
  const auto s = parse_shown(shown);
  if (!s)
    throw FormatError(o.path_of("shown") +
                      ": expected leak, retention, bounded, non-heap-growth, stable, unresolved, "
                      "growth or plateau, found " +
                      formats::describe_type(o.raw().at("shown")));
  f.shown = *s;
  f.rss_only = o.bool_or("rss_only", false);
  f.points = o.integer("points", 0, kMaxCount);
  f.missing_points = o.opt_integer("missing_points", 0, kMaxCount).value_or(0);
  f.non_finite = o.opt_integer("non_finite", 0, kMaxCount).value_or(0);
  f.counter_resets = o.opt_integer("counter_resets", 0, kMaxCount).value_or(0);
  f.rate_bytes_per_day = o.opt_num("rate_bytes_per_day");
  return f;
}

Verdict read(const json& doc) {
  formats::schema_version(doc, "arenalab.verdict", 1, 1);
  const Obj o(doc, "");
  Verdict v;
  v.verdict = formats::growth_verdict(o, "verdict");
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
    const std::string kind = r->str("kind");
    const auto parsed = formats::parse_retention_kind(kind);
    if (!parsed)
      throw FormatError(r->path_of("kind") +
                        ": expected purgeable, fragmentation or unknown, found \"" + kind + "\"");
    re.kind = *parsed;
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
    v.signals[name] = read_signal(Obj(ev, sigs.path_of(name)), name);
  if (auto r = o.opt_obj("run")) v.run = read_run(*r);
  if (auto a = o.opt_obj("attach")) v.attach = read_attach(*a);
  if (auto t = o.opt_obj("tree")) v.tree = read_tree(*t);
  if (auto f = o.opt_obj("fleet")) v.fleet = read_fleet(*f);
  return v;
}

// --- writing: absent figures are left out ---

json trend_json(const Trend& t) {
  json j = json::object();
  formats::put(j, "t0_ms", t.t0_ms);
  formats::put(j, "t1_ms", t.t1_ms);
  j["blocks"] = t.blocks;
  formats::put(j, "block_ms", t.block_ms);
  formats::put(j, "slope_bytes_per_s", t.slope_bytes_per_s);
  if (t.slope_lo || t.slope_hi)
    j["slope_interval_bytes_per_s"] = {t.slope_lo ? json(*t.slope_lo) : json(nullptr),
                                       t.slope_hi ? json(*t.slope_hi) : json(nullptr)};
  formats::put(j, "p_median", t.p_median);
  formats::put(j, "p_min", t.p_min);
  formats::put(j, "growth_pct", t.growth_pct);
  j["rising"] = t.rising;
  formats::put(j, "onset_ms", t.onset_ms);
  return j;
}

// `name`: the signal's; an unjudged one gets "judged": false and "what" in place of a verdict.
json signal_json(const std::string& name, const SignalEvidence& s) {
  json j = {{"reason", s.reason}, {"samples", s.samples}};
  if (const std::string_view what = unjudged_what(name); !what.empty()) {
    j["judged"] = false;
    j["what"] = std::string(what);
  } else {
    if (s.verdict) j["verdict"] = formats::verdict_name(*s.verdict);
    formats::put(j, "confidence", s.confidence);
  }
  formats::put(j, "duration_ms", s.duration_ms);
  formats::put(j, "start_level_bytes", s.start_level_bytes);
  formats::put(j, "level_bytes", s.level_bytes);
  formats::put(j, "growth_pct", s.growth_pct);
  formats::put(j, "oscillation_pct", s.oscillation_pct);
  formats::put(j, "period_ms", s.period_ms);
  if (s.trend) j["trend"] = trend_json(*s.trend);
  if (s.knee) {
    json k = {{"found", s.knee->found}};
    formats::put(k, "t_ms", s.knee->t_ms);
    formats::put(k, "slope_before_bytes_per_s", s.knee->slope_before_bytes_per_s);
    formats::put(k, "slope_after_bytes_per_s", s.knee->slope_after_bytes_per_s);
    formats::put(k, "tail_fraction", s.knee->tail_fraction);
    formats::put(k, "sse_ratio", s.knee->sse_ratio);
    j["knee"] = k;
  }
  if (s.after_knee) j["after_knee"] = trend_json(*s.after_knee);
  formats::put(j, "time_to_limit_s", s.time_to_limit_s);
  return j;
}

json run_json(const RunPart& r) {
  json j = {{"command", r.command},
            {"allocator", r.allocator},
            {"backend", formats::backend_name(r.backend)},
            {"verified", r.verified},
            {"exit", r.exit},
            {"samples", r.samples},
            {"out_dir", r.out_dir}};
  formats::put(j, "stop", r.stop);
  formats::put(j, "name", r.name);
  return j;
}

json tree_json(const TreePart& t) {
  json procs = json::array();
  for (const auto& p : t.processes)
    procs.push_back({{"pid", p.pid},
                     {"command", p.command},
                     {"samples", p.samples},
                     {"verdict", formats::verdict_name(p.verdict)},
                     {"confidence", p.confidence},
                     {"reason", p.reason}});
  json j = {{"verdict", formats::verdict_name(t.verdict)},
            {"confidence", t.confidence},
            {"pid", t.pid},
            {"processes", procs},
            {"short_lived", t.short_lived},
            {"unreadable", t.unreadable}};
  if (!t.still_running.empty()) j["still_running"] = t.still_running;
  return j;
}

json fleet_json(const FleetPart& f) {
  json j = {{"labels", f.labels},
            {"shown", shown_name(f.shown)},
            {"rss_only", f.rss_only},
            {"points", f.points},
            {"missing_points", f.missing_points},
            {"non_finite", f.non_finite},
            {"counter_resets", f.counter_resets}};
  formats::put(j, "rate_bytes_per_day", f.rate_bytes_per_day);
  return j;
}

}  // namespace

const char* shown_name(Shown s) {
  switch (s) {
    case Shown::kLeak:
      return formats::verdict_name(formats::GrowthVerdict::kLeak);
    case Shown::kRetention:
      return formats::verdict_name(formats::GrowthVerdict::kRetention);
    case Shown::kBounded:
      return formats::verdict_name(formats::GrowthVerdict::kBounded);
    case Shown::kNonHeapGrowth:
      return formats::verdict_name(formats::GrowthVerdict::kNonHeapGrowth);
    case Shown::kStable:
      return formats::verdict_name(formats::GrowthVerdict::kStable);
    case Shown::kUnresolved:
      return formats::verdict_name(formats::GrowthVerdict::kUnresolved);
    case Shown::kGrowth:
      return "growth";
    case Shown::kPlateau:
      return "plateau";
  }
  return "unresolved";
}

std::optional<Shown> parse_shown(std::string_view name) {
  for (Shown s : {Shown::kLeak, Shown::kRetention, Shown::kBounded, Shown::kNonHeapGrowth,
                  Shown::kStable, Shown::kUnresolved, Shown::kGrowth, Shown::kPlateau})
    if (name == shown_name(s)) return s;
  return std::nullopt;
}

Shown shown_of(formats::GrowthVerdict v, bool rss_only) {
  using formats::GrowthVerdict;
  switch (v) {
    case GrowthVerdict::kLeak:
      return rss_only ? Shown::kGrowth : Shown::kLeak;
    case GrowthVerdict::kBounded:
      return rss_only ? Shown::kPlateau : Shown::kBounded;
    case GrowthVerdict::kRetention:
      return Shown::kRetention;
    case GrowthVerdict::kNonHeapGrowth:
      return Shown::kNonHeapGrowth;
    case GrowthVerdict::kStable:
      return Shown::kStable;
    case GrowthVerdict::kUnresolved:
      break;
  }
  return Shown::kUnresolved;
}

std::string_view unjudged_what(std::string_view signal) {
  if (signal == "retained") return "unmapped address space (not memory)";
  if (signal == "gap") return "derived: RSS minus what is held";
  return {};
}

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

json to_json(const Verdict& v) {
  json j = {{"schema", std::string(kSchema)}, {"verdict", formats::verdict_name(v.verdict)},
            {"confidence", v.confidence},     {"reason", v.reason},
            {"held_signal", v.held_signal},   {"rss_signal", v.rss_signal}};
  formats::put(j, "source", v.source);
  formats::put(j, "limit_bytes", v.limit_bytes);
  formats::put(j, "time_to_limit_s", v.time_to_limit_s);
  formats::put(j, "rate_bytes_per_s", v.rate_bytes_per_s);
  formats::put(j, "rate_bytes_per_hour", v.rate_bytes_per_hour);
  formats::put(j, "rate_bytes_per_day", v.rate_bytes_per_day);
  if (v.projection)
    j["projection"] = {{"limit_bytes", v.projection->limit_bytes},
                       {"limit_source", v.projection->limit_source},
                       {"time_to_limit_s", v.projection->time_to_limit_s}};
  if (v.retention) {
    json k = {{"kind", formats::retention_kind_name(v.retention->kind)},
              {"kept_bytes", v.retention->kept_bytes},
              {"why", v.retention->why},
              {"fix", v.retention->fix}};
    formats::put(k, "fragmented_bytes", v.retention->fragmented_bytes);
    formats::put(k, "purgeable_bytes", v.retention->purgeable_bytes);
    formats::put(k, "purge_returned_bytes", v.retention->purge_returned_bytes);
    j["retention"] = k;
  }
  json sig = json::object();
  for (const auto& [name, s] : v.signals) sig[name] = signal_json(name, s);
  j["signals"] = sig;
  if (v.run) j["run"] = run_json(*v.run);
  if (v.attach)
    j["attach"] = {{"pid", v.attach->pid},
                   {"command", v.attach->command},
                   {"level", attach_file::level_name(v.attach->level)},
                   {"samples", v.attach->samples},
                   {"ended", attach_file::ended_name(v.attach->ended)},
                   {"attached_ms", v.attach->attached_ms},
                   {"out_dir", v.attach->out_dir}};
  if (v.tree) j["tree"] = tree_json(*v.tree);
  if (v.fleet) j["fleet"] = fleet_json(*v.fleet);
  return j;
}

Status write_verdict(const std::string& path, const Verdict& v) {
  return formats::write_document(path, to_json(v));
}

Result<Verdict> parse_verdict(const json& doc, const std::string& file) {
  return formats::parse_document<Verdict>(doc, file, read);
}

Result<Verdict> read_verdict(const std::string& path) {
  return formats::read_document<Verdict>(path, read);
}

}  // namespace arenalab::verdict_file
