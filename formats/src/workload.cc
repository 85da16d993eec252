// SPDX-License-Identifier: Apache-2.0
// arenalab.workload: one reader and one writer (workload.h).
#include "arenalab/formats/workload.h"

namespace arenalab::workload {
using formats::FormatError;
using formats::json;
using formats::Obj;

namespace {

// Version 1 names -> the one name each quantity has from version 2 on.
constexpr std::pair<const char*, const char*> kRenamedInV2[] = {
    {"rss_peak_bytes", "peak_rss_bytes"},
    {"rss_after_frees_bytes", "rss_after_free_bytes"},
};

// Written only for a driver: the harness's in-process identification leaves the field out.
constexpr formats::Named<Method> kMethods[] = {{Method::kLdDebug, "ld-debug"}};

std::optional<double> number(const json& m, const char* key) {
  auto it = m.find(key);
  if (it == m.end() || !it->is_number()) return std::nullopt;
  return it->get<double>();
}

// The buckets of `h` if it is an array of [upper >= 0, count >= 0] pairs with increasing
// uppers; else the message saying what is wrong.
std::string read_histogram(const json& h, std::vector<LatencyBucket>* out) {
  if (!h.is_array()) return ": expected an array of [upper_ns, count] pairs";
  for (std::size_t i = 0; i < h.size(); ++i) {
    const json& b = h[i];
    if (!b.is_array() || b.size() != 2 || !b[0].is_number() || !b[1].is_number() ||
        b[0].get<double>() < 0 || b[1].get<double>() < 0)
      return "[" + std::to_string(i) + "]: expected [upper_ns >= 0, count >= 0]";
    const LatencyBucket lb{b[0].get<double>(), b[1].get<double>()};
    if (!out->empty() && lb.upper_ns <= out->back().upper_ns)
      return "[" + std::to_string(i) + "]: expected upper_ns above the previous bucket's (" +
             formats::number_text(out->back().upper_ns) + "), found " +
             formats::number_text(lb.upper_ns);
    out->push_back(lb);
  }
  return {};
}

WorkloadReport parse(const json& doc) {
  const int version = formats::schema_version(doc, kWorkloadSchema, 1, kWorkloadVersion);
  const Obj o(doc, "");
  WorkloadReport r;
  r.workload = o.str_or("workload");
  if (auto a = o.opt_obj("allocator")) {
    r.backend = formats::backend_field(*a, "backend");
    r.library = a->str_or("library");
    r.version = a->str_or("version");
    r.method = formats::opt_enum_field(*a, "method", kMethods).value_or(Method::kInProcess);
  }
  if (o.has("params")) r.params = o.obj("params").raw();
  if (o.has("measurements")) r.measurements = o.obj("measurements").raw();
  if (version < 2)
    for (const auto& [old_name, name] : kRenamedInV2)
      if (r.measurements.contains(old_name) && !r.measurements.contains(name)) {
        r.measurements[name] = r.measurements[old_name];
        r.measurements.erase(old_name);
      }
  // The figures the matrix reads must be what their names say.
  const Obj m(r.measurements, "measurements");
  m.opt_num("peak_rss_bytes", 0);
  m.opt_num("rss_after_free_bytes", 0);
  if (auto t = m.opt_obj("throughput")) {
    t->num("value", 0);
    t->str_or("unit");
  }
  for (const auto& op : kLatencyOps) {
    std::optional<double> below;
    std::string below_name;
    for (const auto& f : kLatencyFigures) {
      const std::string name = op + "_" + f;
      const auto v = m.opt_num(name.c_str(), 0);
      if (!v) continue;
      if (below && *below > *v)
        throw FormatError(m.path_of(name) + ": expected >= " + below_name + " (" +
                          formats::number_text(*below) + "), found " + formats::number_text(*v));
      below = v;
      below_name = name;
    }
    const std::string hist = op + "_latency_histogram";
    if (auto it = r.measurements.find(hist); it != r.measurements.end()) {
      std::vector<LatencyBucket> buckets;
      if (const std::string bad = read_histogram(*it, &buckets); !bad.empty())
        throw FormatError(m.path_of(hist) + bad);
    }
  }
  if (const json* checks = o.opt_array("checks"))
    for (std::size_t i = 0; i < checks->size(); ++i) {
      const Obj c = o.element("checks", i);
      r.checks.push_back({c.str("name"), c.boolean("pass"), c.str_or("detail")});
    }
  r.pass = o.bool_or("pass", true);
  if (const json* skipped = o.opt_array("skipped_checks"))
    for (std::size_t i = 0; i < skipped->size(); ++i) {
      const Obj c = o.element("skipped_checks", i);
      r.skipped_checks.push_back({c.str("name"), c.str_or("reason")});
    }
  r.notes = o.strings("notes");
  return r;
}

}  // namespace

std::optional<double> WorkloadReport::peak_rss_bytes() const {
  return number(measurements, "peak_rss_bytes");
}
std::optional<double> WorkloadReport::rss_after_free_bytes() const {
  return number(measurements, "rss_after_free_bytes");
}
void set_throughput(nlohmann::json& measurements, double value, const std::string& unit) {
  measurements["throughput"] = {{"value", value}, {"unit", unit}};
}

std::optional<double> WorkloadReport::throughput() const {
  auto it = measurements.find("throughput");
  if (it == measurements.end() || !it->is_object()) return std::nullopt;
  return number(*it, "value");
}
std::string WorkloadReport::throughput_unit() const {
  auto it = measurements.find("throughput");
  if (it == measurements.end() || !it->is_object()) return {};
  auto u = it->find("unit");
  return u != it->end() && u->is_string() ? u->get<std::string>() : std::string();
}

std::map<std::string, double> WorkloadReport::latency_ns() const {
  std::map<std::string, double> out;
  for (const auto& op : kLatencyOps)
    for (const auto& f : kLatencyFigures)
      if (auto v = number(measurements, (op + "_" + f).c_str())) out[op + "_" + f] = *v;
  return out;
}

std::vector<LatencyBucket> latency_histogram(const json& measurements, const std::string& op) {
  std::vector<LatencyBucket> out;
  auto it = measurements.find(op + "_latency_histogram");
  if (it == measurements.end() || !read_histogram(*it, &out).empty()) return {};
  return out;
}

std::string workload_line(const WorkloadReport& r) {
  return workload_to_json(r).dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

json workload_to_json(const WorkloadReport& r) {
  json alloc = {{"backend", formats::backend_name(r.backend)},
                {"library", r.library},
                {"version", r.version}};
  if (r.method != Method::kInProcess) alloc["method"] = formats::name_of(r.method, kMethods);
  json checks = json::array();
  for (const auto& c : r.checks)
    checks.push_back({{"name", c.name}, {"pass", c.pass}, {"detail", c.detail}});
  json doc = {{"schema", std::string(kWorkloadSchema) + "/" + std::to_string(kWorkloadVersion)},
              {"workload", r.workload},
              {"allocator", alloc},
              {"params", r.params},
              {"measurements", r.measurements},
              {"checks", checks},
              {"pass", r.pass}};
  if (!r.skipped_checks.empty()) {
    json skipped = json::array();
    for (const auto& s : r.skipped_checks)
      skipped.push_back({{"name", s.name}, {"reason", s.reason}});
    doc["skipped_checks"] = skipped;
  }
  if (!r.notes.empty()) doc["notes"] = r.notes;
  return doc;
}

Result<WorkloadReport> workload_from_json(const json& doc, const std::string& source) {
  return formats::parse_document<WorkloadReport>(doc, source, parse);
}

Result<std::optional<WorkloadReport>> find_workload_report(const std::string& out,
                                                           const std::string& source) {
  const std::string prefix = std::string("\"") + kWorkloadSchema + "/";
  std::size_t end = out.size();
  while (end > 0) {
    std::size_t start = out.rfind('\n', end - 1);
    start = start == std::string::npos ? 0 : start + 1;
    const std::string line = out.substr(start, end - start);
    if (!line.empty() && line[0] == '{' && line.find(prefix) != std::string::npos) {
      json j = json::parse(line, nullptr, /*allow_exceptions=*/false);
      if (j.is_object() && j.contains("schema") && j["schema"].is_string() &&
          j["schema"].get<std::string>().rfind(kWorkloadSchema, 0) == 0) {
        auto r = workload_from_json(j, source);
        if (!r) return r.error();
        return std::optional<WorkloadReport>(std::move(*r));
      }
    }
    if (start == 0) break;
    end = start - 1;
  }
  return std::optional<WorkloadReport>();
}

}  // namespace arenalab::workload
