// SPDX-License-Identifier: Apache-2.0
// budget.json: one reader and one writer (budget.h).
#include "arenalab/formats/budget.h"

#include <limits>

namespace arenalab::budget {
using formats::FormatError;
using formats::json;
using formats::Obj;
using formats::put;

namespace {

constexpr std::int64_t kMaxInt = std::numeric_limits<std::int64_t>::max();

OptU opt_u(const Obj& o, const char* key) {
  if (auto v = o.opt_integer(key, 0, kMaxInt)) return static_cast<std::uint64_t>(*v);
  return std::nullopt;
}

BudgetRecord parse(const json& doc) {
  const int version = formats::schema_version(doc, kBudgetSchema, 1, kBudgetVersion);
  const Obj o(doc, "");
  BudgetRecord r;
  r.command = o.strings("command");
  r.limit_bytes = static_cast<std::uint64_t>(o.integer("limit_bytes", 1, kMaxInt));
  r.effective_limit_bytes = opt_u(o, "effective_limit_bytes");
  const Obj cg = o.obj("cgroup");
  r.cgroup_version = cg.str("version");
  r.cgroup_dir = cg.str("dir");
  r.cgroup_removed = cg.boolean("removed");
  r.pid = o.integer("pid", 0, kMaxInt);
  const Obj e = o.obj("exit");
  r.exit = runner::exit_from_json(e);
  r.signal_name = e.str_or("signal_name");
  if (e.has("before_exec")) r.before_exec = e.boolean("before_exec");
  r.wall_ms = e.num("wall_ms", 0);
  r.user_ms = e.num("user_ms", 0);
  r.sys_ms = e.num("sys_ms", 0);
  // Version 1 called the rusage peak "max_rss_bytes".
  r.exit_peak_rss_bytes = e.num(version >= 2 ? "peak_rss_bytes" : "max_rss_bytes", 0);
  r.oom_killed = o.boolean("oom_killed");
  const Obj g = o.obj("group");
  r.group.usage_at_end_bytes = opt_u(g, "usage_at_end_bytes");
  r.group.peak_usage_bytes = opt_u(g, "peak_usage_bytes");
  r.group.oom_kill = opt_u(g, "oom_kill");
  r.group.oom = opt_u(g, "oom");
  r.group.failcnt = opt_u(g, "failcnt");
  r.peak_rss_bytes = o.opt_num("peak_rss_bytes", 0);
  r.interval_ms = o.num("interval_ms", 0);
  const json& series = o.array("rss_timeline");
  for (std::size_t i = 0; i < series.size(); ++i) {
    const Obj p = o.element("rss_timeline", i);
    RssPoint pt;
    pt.t_ms = p.num("t_ms", 0);
    if (!r.rss_timeline.empty() && pt.t_ms < r.rss_timeline.back().t_ms)
      throw FormatError(p.path_of("t_ms") + ": expected a time >= the previous point's (" +
                        formats::number_text(r.rss_timeline.back().t_ms) + " ms), found " +
                        formats::number_text(pt.t_ms));
    pt.rss = p.opt_num("rss", 0);
    pt.rss_anon = p.opt_num("rss_anon", 0);
    pt.cgroup_usage = p.opt_num("cgroup_usage", 0);
    r.rss_timeline.push_back(pt);
  }
  if (auto a = o.opt_obj("allocator_at_last_sample")) {
    AllocatorView v;
    v.t_ms = a->num("t_ms", 0);
    v.allocated = a->opt_num("allocated", 0);
    v.active = a->opt_num("active", 0);
    v.resident = a->opt_num("resident", 0);
    v.mapped = a->opt_num("mapped", 0);
    v.retained = a->opt_num("retained", 0);
    v.live_bytes = a->opt_num("live_bytes");  // a signed balance of frees vs allocations
    v.gauges = a->number_map("gauges");
    r.allocator_at_last_sample = std::move(v);
  }
  r.allocator_note = o.str_or("allocator_note");
  r.kernel_log = o.strings("kernel_log");
  if (o.has("kernel_log_error")) r.kernel_log_error = o.str("kernel_log_error");
  r.interrupted_by = o.str_or("interrupted_by");
  if (auto rn = o.opt_obj("runner")) {
    RunnerInfo ri;
    ri.allocator = rn->str("allocator");
    ri.backend = formats::backend_field(*rn, "backend");
    ri.verified = rn->boolean("verified");
    ri.mode = formats::opt_enum_field(*rn, "mode", formats::kRunModeNames)
                  .value_or(formats::RunMode::kStats);
    r.runner = std::move(ri);
  }
  const Obj f = o.obj("files");
  r.timeline_file = f.str_or("timeline");
  r.budget_file = f.str_or("budget");
  r.cgroup_timeline_file = f.str_or("cgroup_timeline");
  r.run_file = f.str_or("run");
  r.warnings = o.strings("warnings");
  return r;
}

}  // namespace

json budget_to_json(const BudgetRecord& r) {
  json j = {{"schema", std::string(kBudgetSchema) + "/" + std::to_string(kBudgetVersion)},
            {"command", r.command},
            {"limit_bytes", r.limit_bytes}};
  put(j, "effective_limit_bytes", r.effective_limit_bytes);
  j["cgroup"] = {
      {"version", r.cgroup_version}, {"dir", r.cgroup_dir}, {"removed", r.cgroup_removed}};
  j["pid"] = r.pid;
  json e = runner::exit_to_json(r.exit);
  e["wall_ms"] = r.wall_ms;
  e["user_ms"] = r.user_ms;
  e["sys_ms"] = r.sys_ms;
  e["peak_rss_bytes"] = r.exit_peak_rss_bytes;
  put(e, "signal_name", r.signal_name);
  put(e, "before_exec", r.before_exec);
  j["exit"] = e;
  j["oom_killed"] = r.oom_killed;
  json g = json::object();
  put(g, "usage_at_end_bytes", r.group.usage_at_end_bytes);
  put(g, "peak_usage_bytes", r.group.peak_usage_bytes);
  put(g, "oom_kill", r.group.oom_kill);
  put(g, "oom", r.group.oom);
  put(g, "failcnt", r.group.failcnt);
  j["group"] = g;
  // The group's high-water mark again at the top, beside the target's own sampled peak.
  put(j, "peak_usage_bytes", r.group.peak_usage_bytes);
  put(j, "peak_rss_bytes", r.peak_rss_bytes);
  j["interval_ms"] = r.interval_ms;
  json series = json::array();
  for (const auto& s : r.rss_timeline) {
    json p = {{"t_ms", s.t_ms}};
    put(p, "rss", s.rss);
    put(p, "rss_anon", s.rss_anon);
    put(p, "cgroup_usage", s.cgroup_usage);
    series.push_back(p);
  }
  j["rss_timeline"] = series;
  if (const auto& a = r.allocator_at_last_sample) {
    json v = {{"t_ms", a->t_ms}};
    put(v, "allocated", a->allocated);
    put(v, "active", a->active);
    put(v, "resident", a->resident);
    put(v, "mapped", a->mapped);
    put(v, "retained", a->retained);
    put(v, "live_bytes", a->live_bytes);
    if (!a->gauges.empty()) v["gauges"] = a->gauges;
    j["allocator_at_last_sample"] = v;
  }
  j["allocator_note"] = r.allocator_note;
  if (!r.kernel_log.empty()) j["kernel_log"] = r.kernel_log;
  put(j, "kernel_log_error", r.kernel_log_error);
  put(j, "interrupted_by", r.interrupted_by);
  if (r.runner)
    j["runner"] = {{"allocator", r.runner->allocator},
                   {"backend", formats::backend_name(r.runner->backend)},
                   {"verified", r.runner->verified},
                   {"mode", formats::run_mode_name(r.runner->mode)}};
  json f = {{"budget", r.budget_file}};
  put(f, "timeline", r.timeline_file);  // absent when none was written
  put(f, "cgroup_timeline", r.cgroup_timeline_file);
  put(f, "run", r.run_file);
  j["files"] = f;
  j["warnings"] = r.warnings;
  return j;
}

Result<BudgetRecord> budget_from_json(const json& doc, const std::string& file) {
  return formats::parse_document<BudgetRecord>(doc, file, parse);
}

Result<BudgetRecord> read_budget_json(const std::string& path) {
  return formats::read_document<BudgetRecord>(path, parse);
}

Status write_budget_json(const std::string& path, const BudgetRecord& r) {
  return formats::write_document(path, budget_to_json(r));
}

}  // namespace arenalab::budget
