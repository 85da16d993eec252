// SPDX-License-Identifier: Apache-2.0
// arenalab.matrix/1: one reader and one writer for results.json and the cell document, the CSV
// files, and the Group view (matrix.h).
#include "arenalab/formats/matrix.h"

#include <algorithm>
#include <cstdio>
#include <functional>
#include <limits>
#include <set>
#include <string_view>
#include <tuple>

#include "arenalab/core/files.h"
#include "arenalab/core/quantile.h"

namespace arenalab::matrix {

using formats::FormatError;
using formats::json;
using formats::Obj;
using formats::put;

namespace {
constexpr std::int64_t kMaxInt = std::numeric_limits<int>::max();

struct StatusName {
  CellStatus status;
  const char* name;
};
constexpr StatusName kStatusNames[] = {
    {CellStatus::kOk, "ok"},           {CellStatus::kUnverified, "unverified"},
    {CellStatus::kFailed, "failed"},   {CellStatus::kCrashed, "crashed"},
    {CellStatus::kTimeout, "timeout"}, {CellStatus::kError, "error"},
};
constexpr formats::Named<CellIdentification> kIdentifications[] = {
    {CellIdentification::kRunner, "runner"}, {CellIdentification::kHarness, "harness"}};
constexpr formats::Named<PeakRssSource> kPeakRssSources[] = {
    {PeakRssSource::kRusage, "rusage"}, {PeakRssSource::kWorkload, "workload"}};
constexpr formats::Named<IdentificationMethod> kIdentificationMethods[] = {
    {IdentificationMethod::kHarness, "harness"},
    {IdentificationMethod::kLdDebug, "ld-debug"},
    {IdentificationMethod::kRunner, "runner"}};
}  // namespace

const char* identification_name(CellIdentification i) {
  return formats::name_of(i, kIdentifications);
}
const char* peak_rss_source_name(PeakRssSource s) { return formats::name_of(s, kPeakRssSources); }
const char* identification_method_name(IdentificationMethod m) {
  return formats::name_of(m, kIdentificationMethods);
}

const char* status_name(CellStatus s) {
  for (const auto& n : kStatusNames)
    if (n.status == s) return n.name;
  return "?";
}

std::optional<CellStatus> status_from_name(const std::string& name) {
  for (const auto& n : kStatusNames)
    if (name == n.name) return n.status;
  return std::nullopt;
}

bool did_not_run(CellStatus s) {
  return s == CellStatus::kFailed || s == CellStatus::kCrashed || s == CellStatus::kTimeout ||
         s == CellStatus::kError;
}

const char* group_status_name(GroupStatus s) {
  switch (s) {
    case GroupStatus::kOk:
      return "ok";
    case GroupStatus::kPartial:
      return "partial";
    case GroupStatus::kUnverified:
      return "unverified";
    case GroupStatus::kFailed:
      return "failed";
  }
  return "?";
}

const char* across_growth_name(AcrossGrowth) { return "allocator-growth"; }

std::string Cell::key() const {
  return workload + "|" + configuration + "|" + std::to_string(threads) + "|" +
         std::to_string(repeat);
}

std::optional<double> Cell::metric(const std::string& m) const {
  if (m == "wall_ms") return wall_ms;
  if (m == "user_ms") return user_ms;
  if (m == "sys_ms") return sys_ms;
  if (m == "peak_rss_bytes") return peak_rss_bytes;
  if (m == "rss_after_free_bytes") return rss_after_free_bytes;
  if (m == "page_faults") {
    if (!minor_faults || !major_faults) return std::nullopt;
    return *minor_faults + *major_faults;
  }
  if (m == "throughput") return throughput;
  if (m == "plateau_rss_bytes" && memory) return memory->plateau_rss_bytes;
  if (m == "final_rss_bytes") {
    if (memory) return memory->final_rss_bytes;
    // A command cell recorded before memory over time: its last sample, teardown included.
    const auto it = measurements.find(m);
    if (it != measurements.end() && it->is_number()) return it->get<double>();
  }
  // Latency figures (formats/workload.h kLatencyOps x kLatencyFigures) live in the workload's
  // own measurements.
  if (m.ends_with("_ns") || m.rfind("request_", 0) == 0) {
    const auto it = measurements.find(m);
    if (it != measurements.end() && it->is_number()) return it->get<double>();
  }
  return std::nullopt;
}

// --- writing ---

namespace {

json interval_json(const MedianInterval& m) {
  return {{"n", m.n},
          {"median", m.median},
          {"min", m.min},
          {"max", m.max},
          {"ci_low", m.lo},
          {"ci_high", m.hi},
          {"ci_level", m.level},
          {"ci_low_rank", m.lo_rank},
          {"ci_reached", m.reached}};
}

json cell_object(const Cell& c) {
  json j = {{"workload", c.workload},        {"configuration", c.configuration},
            {"threads", c.threads},          {"repeat", c.repeat},
            {"sequence", c.sequence},        {"status", status_name(c.status)},
            {"verified", c.verified},        {"command", c.command},
            {"measurements", c.measurements}};
  put(j, "exit_code", c.exit_code);
  put(j, "signal", c.signal);
  put(j, "wall_ms", c.wall_ms);
  put(j, "user_ms", c.user_ms);
  put(j, "sys_ms", c.sys_ms);
  put(j, "peak_rss_bytes", c.peak_rss_bytes);
  if (c.peak_rss_source) j["peak_rss_source"] = peak_rss_source_name(*c.peak_rss_source);
  put(j, "rss_after_free_bytes", c.rss_after_free_bytes);
  put(j, "minor_faults", c.minor_faults);
  put(j, "major_faults", c.major_faults);
  if (c.throughput) j["throughput"] = {{"value", *c.throughput}, {"unit", c.throughput_unit}};
  json id = json::object();
  if (c.identified_backend) id["backend"] = formats::backend_name(*c.identified_backend);
  put(id, "library", c.identified_library);
  put(id, "version", c.identified_version);
  if (c.identification_method) id["method"] = identification_method_name(*c.identification_method);
  j["identified"] = id;
  put(j, "mismatch", c.mismatch);
  put(j, "message", c.message);
  put(j, "stderr_tail", c.stderr_tail);
  put(j, "timeline", c.timeline_path);
  if (const auto& m = c.memory) {
    json growth = {{"verdict", formats::verdict_name(m->growth)}};
    put(growth, "reason", m->growth_reason);
    if (formats::creeping(m->growth)) growth["rate_bytes_per_s"] = m->growth_rate;
    j["memory"] = {{"peak_rss_bytes", m->peak_rss_bytes},
                   {"final_rss_bytes", m->final_rss_bytes},
                   {"plateau_rss_bytes", m->plateau_rss_bytes},
                   {"growth", std::move(growth)},
                   {"samples", m->samples},
                   {"duration_ms", m->duration_ms}};
    if (!m->held_signal.empty() && m->held_growth)
      j["memory"]["held"] = {{"signal", m->held_signal},
                             {"verdict", formats::verdict_name(*m->held_growth)}};
    if (m->across_growth) {
      json across = {{"verdict", across_growth_name(*m->across_growth)}};
      put(across, "reason", m->across_reason);
      j["memory"]["across_configurations"] = std::move(across);
    }
  }
  if (!c.node_host.empty()) {
    json node = {{"host", c.node_host}};
    put(node, "cpu_model", c.node_cpu_model);
    put(node, "kernel", c.node_kernel);
    put(node, "task", c.node_task);
    j["node"] = std::move(node);
  }
  return j;
}

json summary_object(const Summary& s) {
  json j = {{"workload", s.workload}, {"threads", s.threads}, {"configuration", s.configuration},
            {"metric", s.metric},     {"unit", s.unit},       {"excluded_cells", s.excluded}};
  j["value"] = interval_json(s.value);
  if (s.ratio) j["ratio_to_baseline"] = interval_json(*s.ratio);
  return j;
}

}  // namespace

json plan_to_json(const Plan& p) {
  json j = {{"workloads", p.workloads},  {"configurations", p.configurations},
            {"threads", p.threads},      {"repeats", p.repeats},
            {"warmup", p.warmup},        {"baseline", p.baseline},
            {"smoke", p.smoke},          {"timeline", p.timeline},
            {"confidence", p.confidence}};
  if (p.identification) j["identification"] = identification_name(*p.identification);
  put(j, "identification_note", p.identification_note);
  if (p.duration_s > 0) j["duration_s"] = p.duration_s;
  return j;
}

json environment_to_json(const Environment& e) {
  return {{"cpu_model", e.cpu_model},
          {"cpus", e.cpus},
          {"kernel", e.kernel},
          {"glibc", e.glibc},
          {"thp_enabled", e.thp_enabled},
          {"thp_defrag", e.thp_defrag},
          {"hostname", e.hostname},
          {"started_at", e.started_at},
          {"arenalab_version", e.arenalab_version},
          {"allocator_versions", e.allocator_versions},
          {"allocator_libraries", e.allocator_libraries}};
}

namespace {

json standing_json(const Standing& s) {
  json j = {{"configuration", s.configuration}, {"figures", s.figures}};
  put(j, "dominated_by", s.dominated_by);
  if (!s.indistinguishable_from.empty()) j["indistinguishable_from"] = s.indistinguishable_from;
  if (!s.best_on.empty()) j["best_on"] = s.best_on;
  return j;
}

json advice_json(const Advice& a) {
  json j = {{"workload", a.workload},
            {"threads", a.threads},
            {"axes", a.axes},
            {"ci_level", a.level},
            {"answer", a.answer}};
  for (auto [key, list] : {std::pair{"front", &a.front}, std::pair{"dominated", &a.dominated}}) {
    json arr = json::array();
    for (const Standing& s : *list) arr.push_back(standing_json(s));
    j[key] = std::move(arr);
  }
  json ex = json::array();
  for (const Excluded& e : a.excluded)
    ex.push_back({{"configuration", e.configuration}, {"reason", e.reason}});
  j["excluded"] = std::move(ex);
  if (!a.notes.empty()) j["notes"] = a.notes;
  return j;
}

}  // namespace

json recommendation_to_json(const Recommendation& r) {
  json j = {{"method", r.method}};
  json ws = json::array();
  for (const Advice& a : r.workloads) ws.push_back(advice_json(a));
  j["workloads"] = std::move(ws);
  if (r.overall) j["overall"] = advice_json(*r.overall);
  return j;
}

json to_json(const Results& r) {
  json doc;
  doc["schema"] = kSchema;
  doc["complete"] = r.complete;
  doc["plan"] = plan_to_json(r.plan);
  doc["environment"] = environment_to_json(r.environment);
  json cells = json::array();
  for (const auto& c : r.cells) cells.push_back(cell_object(c));
  doc["cells"] = std::move(cells);
  json sums = json::array();
  for (const auto& s : r.summaries) sums.push_back(summary_object(s));
  doc["summaries"] = std::move(sums);
  if (r.recommendation) doc["recommendation"] = recommendation_to_json(*r.recommendation);
  return doc;
}

json cell_to_json(const Cell& cell) {
  json j = cell_object(cell);
  j["schema"] = kCellSchema;
  return j;
}

// --- reading ---

namespace {

MedianInterval interval_from(const Obj& o) {
  MedianInterval m;
  m.n = static_cast<std::size_t>(o.integer("n", 1, kMaxInt));
  m.median = o.num("median");
  m.min = o.num("min");
  m.max = o.num("max");
  m.lo = o.num("ci_low");
  m.hi = o.num("ci_high");
  m.level = o.num("ci_level", 0, 1);
  m.lo_rank = static_cast<std::size_t>(o.integer("ci_low_rank", 0, kMaxInt));
  m.reached = o.boolean("ci_reached");
  auto order = [&](const char* a, double x, const char* b, double y) {
    if (x > y)
      throw FormatError(o.path() + ": expected " + a + " <= " + b + ", found " +
                        formats::number_text(x) + " > " + formats::number_text(y));
  };
  order("min", m.min, "max", m.max);
  order("ci_low", m.lo, "ci_high", m.hi);
  order("min", m.min, "median", m.median);
  order("median", m.median, "max", m.max);
  return m;
}

Cell cell_from(const Obj& j) {
  Cell c;
  c.workload = j.str("workload");
  c.configuration = j.str("configuration");
  c.threads = static_cast<int>(j.integer("threads", 0, kMaxInt));
  c.repeat = static_cast<int>(j.integer("repeat", 0, kMaxInt));
  c.sequence = static_cast<int>(j.opt_integer("sequence", 0, kMaxInt).value_or(0));
  const std::string status = j.str("status");
  const auto st = status_from_name(status);
  if (!st)
    throw FormatError(j.path_of("status") +
                      ": expected ok, unverified, failed, crashed, timeout or error, found \"" +
                      status + "\"");
  c.status = *st;
  c.verified = j.bool_or("verified", false);
  c.command = j.strings("command");
  if (j.has("measurements")) c.measurements = j.obj("measurements").raw();
  if (auto v = j.opt_integer("exit_code", -kMaxInt, kMaxInt)) c.exit_code = static_cast<int>(*v);
  if (auto v = j.opt_integer("signal", 1, 128)) c.signal = static_cast<int>(*v);
  c.wall_ms = j.opt_num("wall_ms", 0);
  c.user_ms = j.opt_num("user_ms", 0);
  c.sys_ms = j.opt_num("sys_ms", 0);
  c.peak_rss_bytes = j.opt_num("peak_rss_bytes", 0);
  c.peak_rss_source = formats::opt_enum_field(j, "peak_rss_source", kPeakRssSources);
  c.rss_after_free_bytes = j.opt_num("rss_after_free_bytes", 0);
  c.minor_faults = j.opt_num("minor_faults", 0);
  c.major_faults = j.opt_num("major_faults", 0);
  if (auto t = j.opt_obj("throughput")) {
    c.throughput = t->num("value", 0);
    c.throughput_unit = t->str_or("unit");
  }
  if (auto id = j.opt_obj("identified")) {
    if (id->has("backend")) c.identified_backend = formats::backend_field(*id, "backend");
    c.identified_library = id->str_or("library");
    c.identified_version = id->str_or("version");
    c.identification_method = formats::opt_enum_field(*id, "method", kIdentificationMethods);
  }
  c.mismatch = j.str_or("mismatch");
  c.message = j.str_or("message");
  c.stderr_tail = j.str_or("stderr_tail");
  c.timeline_path = j.str_or("timeline");
  if (auto m = j.opt_obj("memory")) {
    MemoryOverTime mem;
    mem.peak_rss_bytes = m->num("peak_rss_bytes", 0);
    mem.final_rss_bytes = m->num("final_rss_bytes", 0, mem.peak_rss_bytes);
    mem.plateau_rss_bytes = m->num("plateau_rss_bytes", 0, mem.peak_rss_bytes);
    const Obj g = m->obj("growth");
    mem.growth = formats::growth_verdict(g, "verdict");
    mem.growth_reason = g.str_or("reason");
    mem.growth_rate = g.opt_num("rate_bytes_per_s").value_or(0);
    mem.samples = static_cast<std::size_t>(m->integer("samples", 0, kMaxInt));
    mem.duration_ms = m->num("duration_ms", 0);
    if (auto held = m->opt_obj("held")) {
      mem.held_signal = held->str("signal");
      mem.held_growth = formats::growth_verdict(*held, "verdict");
    }
    if (auto across = m->opt_obj("across_configurations")) {
      const std::string name = across->str("verdict");
      if (name != across_growth_name(AcrossGrowth::kAllocatorGrowth))
        throw FormatError(across->path_of("verdict") + ": expected " +
                          across_growth_name(AcrossGrowth::kAllocatorGrowth) + ", found " +
                          formats::describe_type(across->raw().at("verdict")));
      mem.across_growth = AcrossGrowth::kAllocatorGrowth;
      mem.across_reason = across->str_or("reason");
    }
    c.memory = std::move(mem);
  }
  if (auto node = j.opt_obj("node")) {
    c.node_host = node->str("host");
    c.node_cpu_model = node->str_or("cpu_model");
    c.node_kernel = node->str_or("kernel");
    c.node_task = node->str_or("task");
  }
  return c;
}

}  // namespace

Plan plan_from_json(const Obj& p) {
  Plan plan;
  plan.workloads = p.strings("workloads");
  plan.configurations = p.strings("configurations");
  for (std::size_t i = 0; i < p.array("threads").size(); ++i) {
    const json& t = p.array("threads")[i];
    if (!t.is_number_integer() || t.get<std::int64_t>() < 0)
      throw FormatError(p.path_of("threads") + "[" + std::to_string(i) +
                        "]: expected an integer >= 0, found " + formats::describe_type(t));
    plan.threads.push_back(t.get<int>());
  }
  plan.repeats = static_cast<int>(p.integer("repeats", 0, kMaxInt));
  plan.warmup = p.boolean("warmup");
  plan.baseline = p.str("baseline");
  plan.smoke = p.boolean("smoke");
  plan.timeline = p.boolean("timeline");
  plan.duration_s = p.opt_num("duration_s", 0).value_or(0);
  plan.confidence = p.num("confidence", 0, 1);
  plan.identification = formats::opt_enum_field(p, "identification", kIdentifications);
  plan.identification_note = p.str_or("identification_note");
  return plan;
}

Environment environment_from_json(const Obj& e) {
  Environment v;
  v.cpu_model = e.str_or("cpu_model");
  v.cpus = static_cast<int>(e.opt_integer("cpus", 0, kMaxInt).value_or(0));
  v.kernel = e.str_or("kernel");
  v.glibc = e.str_or("glibc");
  v.thp_enabled = e.str_or("thp_enabled");
  v.thp_defrag = e.str_or("thp_defrag");
  v.hostname = e.str_or("hostname");
  v.started_at = e.str_or("started_at");
  v.arenalab_version = e.str_or("arenalab_version");
  v.allocator_versions = e.string_map("allocator_versions");
  v.allocator_libraries = e.string_map("allocator_libraries");
  return v;
}

namespace {

Standing standing_from(const Obj& o) {
  Standing s;
  s.configuration = o.str("configuration");
  s.figures = o.number_map("figures");
  s.dominated_by = o.str_or("dominated_by");
  s.indistinguishable_from = o.strings("indistinguishable_from");
  s.best_on = o.strings("best_on");
  return s;
}

Advice advice_from(const Obj& o) {
  Advice a;
  a.workload = o.str("workload");
  a.threads = static_cast<int>(o.integer("threads", 0, kMaxInt));
  a.axes = o.strings("axes");
  a.level = o.num("ci_level", 0, 1);
  a.answer = o.str("answer");
  for (std::size_t i = 0; i < o.array("front").size(); ++i)
    a.front.push_back(standing_from(o.element("front", i)));
  for (std::size_t i = 0; i < o.array("dominated").size(); ++i) {
    a.dominated.push_back(standing_from(o.element("dominated", i)));
    if (a.dominated.back().dominated_by.empty())
      throw FormatError(o.element("dominated", i).path() +
                        ": expected \"dominated_by\" naming a configuration");
  }
  for (std::size_t i = 0; i < o.array("excluded").size(); ++i) {
    const Obj e = o.element("excluded", i);
    a.excluded.push_back({e.str("configuration"), e.str("reason")});
  }
  a.notes = o.strings("notes");
  return a;
}

}  // namespace

Recommendation recommendation_from_json(const Obj& o) {
  Recommendation r;
  r.method = o.str_or("method");
  for (std::size_t i = 0; i < o.array("workloads").size(); ++i)
    r.workloads.push_back(advice_from(o.element("workloads", i)));
  if (auto ov = o.opt_obj("overall")) r.overall = advice_from(*ov);
  return r;
}

namespace {

Results parse_results(const json& doc) {
  formats::schema_version(doc, "arenalab.matrix", 1, 1);
  const Obj o(doc, "");
  Results r;
  r.complete = o.bool_or("complete", false);
  r.plan = plan_from_json(o.obj("plan"));
  if (auto e = o.opt_obj("environment")) r.environment = environment_from_json(*e);
  const std::size_t n_cells = o.array("cells").size();
  for (std::size_t i = 0; i < n_cells; ++i) r.cells.push_back(cell_from(o.element("cells", i)));
  if (const json* sums = o.opt_array("summaries")) {
    for (std::size_t i = 0; i < sums->size(); ++i) {
      const Obj j = o.element("summaries", i);
      Summary s;
      s.workload = j.str("workload");
      s.threads = static_cast<int>(j.integer("threads", 0, kMaxInt));
      s.configuration = j.str("configuration");
      s.metric = j.str("metric");
      s.unit = j.str_or("unit");
      s.excluded =
          static_cast<std::size_t>(j.opt_integer("excluded_cells", 0, kMaxInt).value_or(0));
      s.value = interval_from(j.obj("value"));
      if (auto ratio = j.opt_obj("ratio_to_baseline")) s.ratio = interval_from(*ratio);
      r.summaries.push_back(std::move(s));
    }
  }
  if (auto rec = o.opt_obj("recommendation")) r.recommendation = recommendation_from_json(*rec);
  return r;
}

Cell parse_cell(const json& doc) {
  formats::schema_version(doc, "arenalab.matrix-cell", 1, 1);
  return cell_from(Obj(doc, ""));
}

}  // namespace

Result<Results> results_from_json(const json& doc, const std::string& file) {
  return formats::parse_document<Results>(doc, file, parse_results);
}

Result<Results> read_results(const std::string& path) {
  return formats::read_document<Results>(path, parse_results);
}

Result<Cell> cell_from_json(const json& doc, const std::string& file) {
  return formats::parse_document<Cell>(doc, file, parse_cell);
}

Result<Cell> read_cell(const std::string& path) {
  return formats::read_document<Cell>(path, parse_cell);
}

// Durable (ReplacedFile: fsync of the file, rename, fsync of the directory): after a return a
// crash of the process or of the machine leaves either the old record or the whole new one,
// never a part; a link or a file planted in the directory is never written through.
Status write_cell(const OutputDir& dir, const std::string& name, const Cell& cell) {
  return dir.write_file(name, cell_to_json(cell).dump(1) + "\n", {.durable = true});
}

namespace {

using Emit = std::function<void(std::string_view)>;

// results.json piece by piece: the document without cells and summaries, with the cells and
// then the summaries streamed into their slots, one compact object per line. A matrix of
// 100,000 cells never holds its whole JSON tree (about 2 KB per cell as nlohmann::json nodes)
// nor, written to a file, its whole text.
void emit_results_json(const Results& results, const Emit& emit) {
  Results head;
  head.plan = results.plan;
  head.environment = results.environment;
  head.complete = results.complete;
  head.recommendation = results.recommendation;
  const std::string text = to_json(head).dump(1);
  const std::string cells_slot = "\"cells\": []", sums_slot = "\"summaries\": []";
  // Keys are sorted: "cells" comes before "summaries"; strings are escaped, so neither slot
  // can be found inside a value.
  const auto c = text.find(cells_slot), s = text.find(sums_slot);
  auto stream = [&emit](const char* key, std::size_t n, auto&& object_of) {
    emit(std::string("\"") + key + "\": [");
    for (std::size_t i = 0; i < n; ++i) {
      emit(i ? ",\n  " : "\n  ");
      emit(object_of(i).dump());
    }
    emit(n ? "\n ]" : "]");
  };
  emit(std::string_view(text).substr(0, c));
  stream("cells", results.cells.size(),
         [&](std::size_t i) { return cell_object(results.cells[i]); });
  emit(std::string_view(text).substr(c + cells_slot.size(), s - c - cells_slot.size()));
  stream("summaries", results.summaries.size(),
         [&](std::size_t i) { return summary_object(results.summaries[i]); });
  emit(std::string_view(text).substr(s + sums_slot.size()));
  emit("\n");
}

void emit_cells_csv(const Results& r, const Emit& emit);
void emit_summaries_csv(const Results& r, const Emit& emit);

// A file written piece by piece through a 1 MiB buffer into a temporary of the directory,
// renamed over `name` at the end (OutputDir::replace: a reader sees the old file or the whole
// new one; never through a link planted in the directory). Not fsync'd: these files are merged
// from the cell records, which are.
Status write_streamed(const OutputDir& dir, const std::string& name, const Results& r,
                      void (*emit_all)(const Results&, const Emit&)) {
  constexpr std::size_t kBuffer = 1 << 20;
  auto file = dir.replace(name);
  if (!file) return file.error();
  std::string buffer;
  buffer.reserve(kBuffer);
  emit_all(r, [&](std::string_view piece) {
    buffer.append(piece);
    if (buffer.size() >= kBuffer) {
      file->write(buffer);
      buffer.clear();
    }
  });
  file->write(buffer);
  return file->commit();
}

}  // namespace

std::string results_json_text(const Results& results) {
  std::string out;
  emit_results_json(results, [&out](std::string_view piece) { out.append(piece); });
  return out;
}

Status write_results(const OutputDir& dir, const Results& results) {
  if (auto s = write_streamed(dir, "results.json", results, emit_results_json); !s) return s;
  if (auto s = write_streamed(dir, "results.csv", results, emit_cells_csv); !s) return s;
  return write_streamed(dir, "summary.csv", results, emit_summaries_csv);
}

Status write_results(const std::string& dir, const Results& results) {
  auto d = OutputDir::open(dir, ExistingDir::kAccept);
  if (!d) return d.error();
  return write_results(*d, results);
}

// --- CSV ---

namespace {

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c == '\n' ? ' ' : c;
  }
  return out + "\"";
}

// Numbers in their shortest round-trip form, integers without a trailing ".0".
std::string num(double v) { return formats::number_text(v); }
std::string num(std::size_t v) { return std::to_string(v); }
std::string num(int v) { return std::to_string(v); }
template <typename T>
std::string num(const std::optional<T>& v) {
  return v ? num(*v) : std::string();
}

std::string join(const std::vector<std::string>& fields) {
  std::string out;
  for (std::size_t i = 0; i < fields.size(); ++i) out += (i ? "," : "") + fields[i];
  return out + "\n";
}

}  // namespace

namespace {

void emit_cells_csv(const Results& r, const Emit& emit) {
  emit(
      "schema,workload,configuration,threads,repeat,sequence,status,exit_code,signal,wall_ms,"
      "user_ms,sys_ms,peak_rss_bytes,rss_after_free_bytes,minor_faults,major_faults,throughput,"
      "throughput_unit,identified_backend,identified_version,verified,message,"
      "timeline_peak_rss_bytes,final_rss_bytes,plateau_rss_bytes,growth\n");
  for (const auto& c : r.cells)
    emit(join({kSchema,
               csv_field(c.workload),
               csv_field(c.configuration),
               num(c.threads),
               num(c.repeat),
               num(c.sequence),
               status_name(c.status),
               num(c.exit_code),
               num(c.signal),
               num(c.wall_ms),
               num(c.user_ms),
               num(c.sys_ms),
               num(c.peak_rss_bytes),
               num(c.rss_after_free_bytes),
               num(c.minor_faults),
               num(c.major_faults),
               num(c.throughput),
               csv_field(c.throughput_unit),
               c.identified_backend ? formats::backend_name(*c.identified_backend) : "",
               csv_field(c.identified_version),
               c.verified ? "true" : "false",
               csv_field(c.message.empty() ? c.mismatch : c.message),
               c.memory ? num(c.memory->peak_rss_bytes) : "",
               c.memory ? num(c.memory->final_rss_bytes) : "",
               c.memory ? num(c.memory->plateau_rss_bytes) : "",
               c.memory ? formats::verdict_name(c.memory->growth) : ""}));
}

void emit_summaries_csv(const Results& r, const Emit& emit) {
  emit(
      "schema,workload,threads,configuration,metric,unit,n,median,min,max,ci_low,ci_high,ci_level,"
      "ratio_median,ratio_ci_low,ratio_ci_high,ratio_ci_level,excluded_cells\n");
  for (const auto& s : r.summaries) {
    const auto& v = s.value;
    std::vector<std::string> f = {kSchema,        csv_field(s.workload),
                                  num(s.threads), csv_field(s.configuration),
                                  s.metric,       csv_field(s.unit),
                                  num(v.n),       num(v.median),
                                  num(v.min),     num(v.max),
                                  num(v.lo),      num(v.hi),
                                  num(v.level)};
    if (s.ratio) {
      for (double x : {s.ratio->median, s.ratio->lo, s.ratio->hi, s.ratio->level})
        f.push_back(num(x));
    } else {
      f.insert(f.end(), 4, "");
    }
    f.push_back(num(s.excluded));
    emit(join(f));
  }
}

}  // namespace

std::string cells_csv(const Results& r) {
  std::string out;
  emit_cells_csv(r, [&out](std::string_view piece) { out.append(piece); });
  return out;
}

std::string summaries_csv(const Results& r) {
  std::string out;
  emit_summaries_csv(r, [&out](std::string_view piece) { out.append(piece); });
  return out;
}

// --- the Group view ---

std::vector<Group> groups(const Results& results) {
  using Key = std::tuple<std::string, std::string, int>;
  std::vector<Key> order;
  std::map<Key, Group> by;
  auto group_for = [&](const std::string& w, const std::string& c, int t) -> Group& {
    const Key k{w, c, t};
    auto [it, fresh] = by.try_emplace(k);
    if (fresh) {
      order.push_back(k);
      it->second.workload = w;
      it->second.configuration = c;
      it->second.threads = t;
    }
    return it->second;
  };
  // Cells that ran (ok or unverified) give the fallback figures: median, min..max.
  struct Values {
    std::vector<double> wall, peak, after, final, plateau;
    std::map<std::string, int> growth;  // verdict -> repeats
    int classified = 0;
  };
  std::map<Key, Values> values;
  for (const Cell& c : results.cells) {
    Group& g = group_for(c.workload, c.configuration, c.threads);
    ++g.repeats;
    if (did_not_run(c.status)) {
      ++g.failed_repeats;
      g.status_detail = c.message.empty() ? status_name(c.status) : c.message;
      continue;
    }
    if (c.status == CellStatus::kUnverified) {
      g.status = GroupStatus::kUnverified;
      g.status_detail = c.mismatch.empty() ? "allocator not verified" : c.mismatch;
    }
    Values& v = values[Key{c.workload, c.configuration, c.threads}];
    if (c.wall_ms) v.wall.push_back(*c.wall_ms);
    if (c.peak_rss_bytes) v.peak.push_back(*c.peak_rss_bytes);
    if (c.rss_after_free_bytes) v.after.push_back(*c.rss_after_free_bytes);
    if (c.memory) {
      v.final.push_back(c.memory->final_rss_bytes);
      v.plateau.push_back(c.memory->plateau_rss_bytes);
      ++v.growth[c.memory->verdict()];
      ++v.classified;
      if (c.memory->creeping()) g.creeping = true;
    }
  }
  for (auto& [k, g] : by) {
    if (g.failed_repeats == g.repeats)
      g.status = GroupStatus::kFailed;
    else if (g.failed_repeats > 0 && g.status == GroupStatus::kOk)
      g.status = GroupStatus::kPartial;
    const Values& v = values[k];
    for (auto [sample, fig] :
         {std::pair{&v.wall, &g.wall_ms}, std::pair{&v.peak, &g.peak_rss_bytes},
          std::pair{&v.after, &g.rss_after_free_bytes}, std::pair{&v.final, &g.final_rss_bytes},
          std::pair{&v.plateau, &g.plateau_rss_bytes}}) {
      if (sample->empty()) continue;
      fig->value = median_of(*sample);
      fig->lo = *std::min_element(sample->begin(), sample->end());
      fig->hi = *std::max_element(sample->begin(), sample->end());
    }
    // "stable 2/3, leak 1/3": most frequent first, then in kGrowthVerdicts order.
    std::vector<std::pair<std::string, int>> counts;
    for (const auto& name : kGrowthVerdicts)
      if (auto it = v.growth.find(name); it != v.growth.end())
        counts.emplace_back(name, it->second);
    const std::string across = across_growth_name(AcrossGrowth::kAllocatorGrowth);
    if (auto it = v.growth.find(across); it != v.growth.end())
      counts.emplace_back(across, it->second);
    std::stable_sort(counts.begin(), counts.end(),
                     [](const auto& a, const auto& b) { return a.second > b.second; });
    for (const auto& [name, n] : counts)
      g.growth += (g.growth.empty() ? "" : ", ") + name + " " + std::to_string(n) + "/" +
                  std::to_string(v.classified);
  }
  // Recorded summaries win: their interval is the one the matrix computed.
  for (const Summary& s : results.summaries) {
    Figure* fig = nullptr;
    Group& g = group_for(s.workload, s.configuration, s.threads);
    if (s.metric == "wall_ms") fig = &g.wall_ms;
    if (s.metric == "peak_rss_bytes") fig = &g.peak_rss_bytes;
    if (s.metric == "rss_after_free_bytes") fig = &g.rss_after_free_bytes;
    if (s.metric == "final_rss_bytes") fig = &g.final_rss_bytes;
    if (s.metric == "plateau_rss_bytes") fig = &g.plateau_rss_bytes;
    if (s.metric.ends_with("_ns") || s.metric.rfind("request_", 0) == 0)
      g.latency[s.metric] = Figure{s.value.median, s.value.lo, s.value.hi,
                                   s.ratio ? std::optional<double>(s.ratio->median) : std::nullopt};
    if (!fig) continue;
    fig->value = s.value.median;
    fig->lo = s.value.lo;
    fig->hi = s.value.hi;
    if (s.ratio) fig->ratio = s.ratio->median;
  }
  // Ratios not recorded: the median over the baseline's median, same workload and threads,
  // when both groups ran.
  const std::string& base = results.plan.baseline;
  for (auto& [k, g] : by) {
    auto b = by.find(Key{std::get<0>(k), base, std::get<2>(k)});
    if (base.empty() || b == by.end() || b->second.status == GroupStatus::kFailed ||
        g.status == GroupStatus::kFailed)
      continue;
    for (auto [fig, bfig] : {std::pair{&g.wall_ms, &b->second.wall_ms},
                             std::pair{&g.peak_rss_bytes, &b->second.peak_rss_bytes}})
      if (!fig->ratio && fig->value && bfig->value.value_or(0) > 0)
        fig->ratio = *fig->value / *bfig->value;
  }
  std::vector<Group> out;
  for (const Key& k : order) out.push_back(by[k]);
  return out;
}

}  // namespace arenalab::matrix
