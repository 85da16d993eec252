// SPDX-License-Identifier: Apache-2.0
// arenalab.matrix/1: summaries, JSON round trip and CSV.
#include "arenalab/matrix/results.h"
#include "arenalab/core/text.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>
#include <tuple>

#include "arenalab/core/files.h"

namespace arenalab::matrix {

using nlohmann::json;

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
  return std::nullopt;
}

std::vector<Summary> summarize(const std::vector<Cell>& cells, const Plan& plan) {
  // Group key: (workload, threads, configuration) -> repeat -> cell.
  using Group = std::tuple<std::string, int, std::string>;
  std::map<Group, std::map<int, const Cell*>> ok;
  std::map<Group, std::size_t> excluded;
  std::vector<Group> order;
  for (const auto& c : cells) {
    const Group g{c.workload, c.threads, c.configuration};
    if (!ok.count(g) && !excluded.count(g)) order.push_back(g);
    if (c.status == "ok")
      ok[g][c.repeat] = &c;
    else
      ++excluded[g];
  }
  std::vector<Summary> out;
  for (const auto& g : order) {
    const auto it = ok.find(g);
    if (it == ok.end()) continue;
    const auto& [workload, threads, config] = g;
    const auto base_it = ok.find(Group{workload, threads, plan.baseline});
    for (const auto& m : kMetrics) {
      std::vector<double> sample;
      std::vector<std::optional<double>> values, base;
      std::string unit;
      for (const auto& [repeat, cell] : it->second) {
        const auto v = cell->metric(m);
        if (v) sample.push_back(*v);
        if (m == "throughput" && unit.empty()) unit = cell->throughput_unit;
        values.push_back(v);
        std::optional<double> b;
        if (base_it != ok.end()) {
          const auto bc = base_it->second.find(repeat);
          if (bc != base_it->second.end()) b = bc->second->metric(m);
        }
        base.push_back(b);
      }
      if (sample.empty()) continue;  // never measured: absent, not 0
      Summary s;
      s.workload = workload;
      s.threads = threads;
      s.configuration = config;
      s.metric = m;
      s.unit = m == "throughput" ? unit
                                 : (m.ends_with("_bytes") ? "bytes"
                                    : m.ends_with("_ms")  ? "ms"
                                                          : "count");
      s.value = median_interval(sample, plan.confidence);
      if (base_it != ok.end()) s.ratio = paired_ratio(values, base, plan.confidence);
      const auto ex = excluded.find(g);
      s.excluded = ex == excluded.end() ? 0 : ex->second;
      out.push_back(std::move(s));
    }
  }
  return out;
}

namespace {

template <typename T>
void put(json& j, const char* key, const std::optional<T>& v) {
  if (v) j[key] = *v;
}
void put_str(json& j, const char* key, const std::string& v) {
  if (!v.empty()) j[key] = v;
}

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

MedianInterval interval_from(const json& j) {
  MedianInterval m;
  m.n = j.at("n").get<std::size_t>();
  m.median = j.at("median").get<double>();
  m.min = j.at("min").get<double>();
  m.max = j.at("max").get<double>();
  m.lo = j.at("ci_low").get<double>();
  m.hi = j.at("ci_high").get<double>();
  m.level = j.at("ci_level").get<double>();
  m.lo_rank = j.at("ci_low_rank").get<std::size_t>();
  m.reached = j.at("ci_reached").get<bool>();
  return m;
}

template <typename T>
std::optional<T> get_opt(const json& j, const char* key) {
  if (!j.contains(key) || j[key].is_null()) return std::nullopt;
  return j[key].get<T>();
}
std::string get_str(const json& j, const char* key) {
  return j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : std::string();
}

}  // namespace

json to_json(const Results& r) {
  json doc;
  doc["schema"] = kSchema;
  doc["complete"] = r.complete;
  const auto& p = r.plan;
  doc["plan"] = {{"workloads", p.workloads},   {"configurations", p.configurations},
                 {"threads", p.threads},       {"repeats", p.repeats},
                 {"warmup", p.warmup},         {"baseline", p.baseline},
                 {"smoke", p.smoke},           {"timeline", p.timeline},
                 {"confidence", p.confidence}, {"identification", p.identification}};
  if (!p.identification_note.empty()) doc["plan"]["identification_note"] = p.identification_note;
  const auto& e = r.environment;
  doc["environment"] = {{"cpu_model", e.cpu_model},
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
  json cells = json::array();
  for (const auto& c : r.cells) {
    json j = {{"workload", c.workload},        {"configuration", c.configuration},
              {"threads", c.threads},          {"repeat", c.repeat},
              {"sequence", c.sequence},        {"status", c.status},
              {"verified", c.verified},        {"command", c.command},
              {"measurements", c.measurements}};
    put(j, "exit_code", c.exit_code);
    put(j, "signal", c.signal);
    put(j, "wall_ms", c.wall_ms);
    put(j, "user_ms", c.user_ms);
    put(j, "sys_ms", c.sys_ms);
    put(j, "peak_rss_bytes", c.peak_rss_bytes);
    put_str(j, "peak_rss_source", c.peak_rss_source);
    put(j, "rss_after_free_bytes", c.rss_after_free_bytes);
    put(j, "minor_faults", c.minor_faults);
    put(j, "major_faults", c.major_faults);
    if (c.throughput) j["throughput"] = {{"value", *c.throughput}, {"unit", c.throughput_unit}};
    json id = json::object();
    put_str(id, "backend", c.identified_backend);
    put_str(id, "library", c.identified_library);
    put_str(id, "version", c.identified_version);
    put_str(id, "method", c.identification_method);
    j["identified"] = id;
    put_str(j, "mismatch", c.mismatch);
    put_str(j, "message", c.message);
    put_str(j, "stderr_tail", c.stderr_tail);
    put_str(j, "timeline", c.timeline_path);
    cells.push_back(std::move(j));
  }
  doc["cells"] = std::move(cells);
  json sums = json::array();
  for (const auto& s : r.summaries) {
    json j = {{"workload", s.workload}, {"threads", s.threads}, {"configuration", s.configuration},
              {"metric", s.metric},     {"unit", s.unit},       {"excluded_cells", s.excluded}};
    j["value"] = interval_json(s.value);
    if (s.ratio) j["ratio_to_baseline"] = interval_json(*s.ratio);
    sums.push_back(std::move(j));
  }
  doc["summaries"] = std::move(sums);
  return doc;
}

Result<Results> results_from_json(const json& doc) {
  try {
    if (get_str(doc, "schema") != kSchema)
      return make_error(std::string("schema is '") + get_str(doc, "schema") + "', expected " +
                        kSchema);
    Results r;
    r.complete = doc.value("complete", false);
    const auto& p = doc.at("plan");
    r.plan.workloads = p.at("workloads").get<std::vector<std::string>>();
    r.plan.configurations = p.at("configurations").get<std::vector<std::string>>();
    r.plan.threads = p.at("threads").get<std::vector<int>>();
    r.plan.repeats = p.at("repeats").get<int>();
    r.plan.warmup = p.at("warmup").get<bool>();
    r.plan.baseline = p.at("baseline").get<std::string>();
    r.plan.smoke = p.at("smoke").get<bool>();
    r.plan.timeline = p.at("timeline").get<bool>();
    r.plan.confidence = p.at("confidence").get<double>();
    r.plan.identification = get_str(p, "identification");
    r.plan.identification_note = get_str(p, "identification_note");
    if (doc.contains("environment")) {
      const auto& e = doc["environment"];
      auto& o = r.environment;
      o.cpu_model = get_str(e, "cpu_model");
      o.cpus = e.value("cpus", 0);
      o.kernel = get_str(e, "kernel");
      o.glibc = get_str(e, "glibc");
      o.thp_enabled = get_str(e, "thp_enabled");
      o.thp_defrag = get_str(e, "thp_defrag");
      o.hostname = get_str(e, "hostname");
      o.started_at = get_str(e, "started_at");
      o.arenalab_version = get_str(e, "arenalab_version");
      if (e.contains("allocator_versions"))
        o.allocator_versions = e["allocator_versions"].get<std::map<std::string, std::string>>();
      if (e.contains("allocator_libraries"))
        o.allocator_libraries = e["allocator_libraries"].get<std::map<std::string, std::string>>();
    }
    for (const auto& j : doc.at("cells")) {
      Cell c;
      c.workload = j.at("workload").get<std::string>();
      c.configuration = j.at("configuration").get<std::string>();
      c.threads = j.at("threads").get<int>();
      c.repeat = j.at("repeat").get<int>();
      c.sequence = j.value("sequence", 0);
      c.status = j.at("status").get<std::string>();
      c.verified = j.value("verified", false);
      if (j.contains("command")) c.command = j["command"].get<std::vector<std::string>>();
      if (j.contains("measurements")) c.measurements = j["measurements"];
      c.exit_code = get_opt<int>(j, "exit_code");
      c.signal = get_opt<int>(j, "signal");
      c.wall_ms = get_opt<double>(j, "wall_ms");
      c.user_ms = get_opt<double>(j, "user_ms");
      c.sys_ms = get_opt<double>(j, "sys_ms");
      c.peak_rss_bytes = get_opt<double>(j, "peak_rss_bytes");
      c.peak_rss_source = get_str(j, "peak_rss_source");
      c.rss_after_free_bytes = get_opt<double>(j, "rss_after_free_bytes");
      c.minor_faults = get_opt<double>(j, "minor_faults");
      c.major_faults = get_opt<double>(j, "major_faults");
      if (j.contains("throughput")) {
        c.throughput = j["throughput"].at("value").get<double>();
        c.throughput_unit = get_str(j["throughput"], "unit");
      }
      if (j.contains("identified")) {
        const auto& id = j["identified"];
        c.identified_backend = get_str(id, "backend");
        c.identified_library = get_str(id, "library");
        c.identified_version = get_str(id, "version");
        c.identification_method = get_str(id, "method");
      }
      c.mismatch = get_str(j, "mismatch");
      c.message = get_str(j, "message");
      c.stderr_tail = get_str(j, "stderr_tail");
      c.timeline_path = get_str(j, "timeline");
      r.cells.push_back(std::move(c));
    }
    for (const auto& j : doc.value("summaries", json::array())) {
      Summary s;
      s.workload = j.at("workload").get<std::string>();
      s.threads = j.at("threads").get<int>();
      s.configuration = j.at("configuration").get<std::string>();
      s.metric = j.at("metric").get<std::string>();
      s.unit = get_str(j, "unit");
      s.excluded = j.value("excluded_cells", std::size_t{0});
      s.value = interval_from(j.at("value"));
      if (j.contains("ratio_to_baseline")) s.ratio = interval_from(j["ratio_to_baseline"]);
      r.summaries.push_back(std::move(s));
    }
    return r;
  } catch (const json::exception& e) {
    return make_error(std::string("not a valid ") + kSchema + " document: " + e.what());
  }
}

Result<Results> read_results(const std::string& path) {
  auto doc = read_json_file(path);
  if (!doc) return doc.error();
  auto r = results_from_json(*doc);
  if (!r) return make_error(path + ": " + r.error().message);
  return r;
}

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
template <typename T>
std::string csv_num(const std::optional<T>& v) {
  return v ? fmt::format("{}", *v) : std::string();
}
}  // namespace

std::string cells_csv(const Results& r) {
  std::string out =
      "schema,workload,configuration,threads,repeat,sequence,status,exit_code,signal,wall_ms,"
      "user_ms,sys_ms,peak_rss_bytes,rss_after_free_bytes,minor_faults,major_faults,throughput,"
      "throughput_unit,identified_backend,identified_version,verified,message\n";
  for (const auto& c : r.cells) {
    out += fmt::format(
        "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}\n", kSchema,
        csv_field(c.workload), csv_field(c.configuration), c.threads, c.repeat, c.sequence,
        c.status, csv_num(c.exit_code), csv_num(c.signal), csv_num(c.wall_ms), csv_num(c.user_ms),
        csv_num(c.sys_ms), csv_num(c.peak_rss_bytes), csv_num(c.rss_after_free_bytes),
        csv_num(c.minor_faults), csv_num(c.major_faults), csv_num(c.throughput),
        csv_field(c.throughput_unit), c.identified_backend, csv_field(c.identified_version),
        c.verified ? "true" : "false", csv_field(c.message.empty() ? c.mismatch : c.message));
  }
  return out;
}

std::string summaries_csv(const Results& r) {
  std::string out =
      "schema,workload,threads,configuration,metric,unit,n,median,min,max,ci_low,ci_high,ci_level,"
      "ratio_median,ratio_ci_low,ratio_ci_high,ratio_ci_level,excluded_cells\n";
  for (const auto& s : r.summaries) {
    const auto& v = s.value;
    std::string ratio = ",,,";
    if (s.ratio)
      ratio = fmt::format("{},{},{},{}", s.ratio->median, s.ratio->lo, s.ratio->hi, s.ratio->level);
    out += fmt::format("{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}\n", kSchema,
                       csv_field(s.workload), s.threads, csv_field(s.configuration), s.metric,
                       csv_field(s.unit), v.n, v.median, v.min, v.max, v.lo, v.hi, v.level, ratio,
                       s.excluded);
  }
  return out;
}

}  // namespace arenalab::matrix
