// SPDX-License-Identifier: Apache-2.0
// arenalab.baseline: one reader and one writer (baseline.h).
#include "arenalab/formats/baseline.h"

#include <limits>

namespace arenalab::check {
using formats::FormatError;
using formats::json;
using formats::Obj;

const char* kind_name(Kind k) { return k == Kind::kWatch ? "watch" : "matrix"; }

const char* status_name(Status s) {
  switch (s) {
    case Status::kOk:
      return "ok";
    case Status::kFailed:
      return "failed";
    case Status::kUnverified:
      return "unverified";
  }
  return "?";
}

std::string Cell::key() const {
  std::string k = workload + "/" + configuration;
  if (threads > 1) k += " x" + std::to_string(threads);
  if (kind == Kind::kWatch) k += " [watch]";
  return k;
}

namespace {

// Version 1 metric names -> their names from version 2 on.
std::string metric_name(const std::string& name, int version) {
  if (version >= 2) return name;
  if (name == "peak_rss") return kPeakRss;
  if (name == "rss_after_frees") return kRssAfterFrees;
  if (name == "plateau_rss") return kPlateauRss;
  return name;
}

CellSet parse(const json& doc, const std::string& file) {
  const int version = formats::schema_version(doc, kBaselineSchema, 1, kBaselineVersion);
  const Obj o(doc, "");
  CellSet set;
  set.sources.push_back(file);
  const std::size_t n = o.array("cells").size();
  for (std::size_t i = 0; i < n; ++i) {
    const Obj c = o.element("cells", i);
    Cell cell;
    const std::string kind = c.str_or("kind", "matrix");
    if (kind != "matrix" && kind != "watch")
      throw FormatError(c.path_of("kind") + ": expected \"matrix\" or \"watch\", found \"" + kind +
                        "\"");
    cell.kind = kind == "watch" ? Kind::kWatch : Kind::kMatrix;
    cell.workload = c.str("workload");
    cell.configuration = c.str("configuration");
    cell.threads =
        static_cast<int>(c.opt_integer("threads", 0, std::numeric_limits<int>::max()).value_or(1));
    const std::string status = c.str_or("status", "ok");
    if (status == "ok")
      cell.status = Status::kOk;
    else if (status == "failed")
      cell.status = Status::kFailed;
    else if (status == "unverified")
      cell.status = Status::kUnverified;
    else
      throw FormatError(c.path_of("status") + ": expected ok, failed or unverified, found \"" +
                        status + "\"");
    cell.status_detail = c.str_or("status_detail");
    cell.verdict = formats::opt_growth_verdict(c, "verdict");
    cell.source = c.str_or("source", file);
    if (auto metrics = c.opt_obj("metrics"))
      for (const auto& [name, m] : metrics->raw().items()) {
        const Obj mo = metrics->obj(name.c_str());
        Metric metric{mo.num("value", 0), mo.opt_num("lo", 0), mo.opt_num("hi", 0)};
        if (metric.lo && metric.hi && *metric.lo > *metric.hi)
          throw FormatError(mo.path() + ": expected lo <= hi, found " +
                            formats::number_text(*metric.lo) + " > " +
                            formats::number_text(*metric.hi));
        cell.metrics[metric_name(name, version)] = metric;
      }
    for (const Cell& have : set.cells)
      if (have.key() == cell.key())
        throw FormatError(c.path() + ": " + cell.key() + " appears twice");
    set.cells.push_back(std::move(cell));
  }
  return set;
}

}  // namespace

json baseline_json(const CellSet& set) {
  json cells = json::array();
  for (const Cell& c : set.cells) {
    json j = {{"kind", kind_name(c.kind)},        {"workload", c.workload},
              {"configuration", c.configuration}, {"threads", c.threads},
              {"status", status_name(c.status)},  {"source", c.source}};
    formats::put(j, "status_detail", c.status_detail);
    if (c.verdict) j["verdict"] = formats::verdict_name(*c.verdict);
    json metrics = json::object();
    for (const auto& [name, m] : c.metrics) {
      json mj = {{"value", m.value}, {"unit", "bytes"}};
      formats::put(mj, "lo", m.lo);
      formats::put(mj, "hi", m.hi);
      metrics[name] = mj;
    }
    j["metrics"] = metrics;
    cells.push_back(j);
  }
  return {{"schema", std::string(kBaselineSchema) + "/" + std::to_string(kBaselineVersion)},
          {"sources", set.sources},
          {"cells", cells}};
}

Result<CellSet> parse_baseline(const json& doc, const std::string& file) {
  return formats::parse_document<CellSet>(doc, file, [&](const json& d) { return parse(d, file); });
}

Result<CellSet> read_baseline(const std::string& path) {
  return formats::read_document<CellSet>(path, [&](const json& d) { return parse(d, path); });
}

arenalab::Status write_baseline(const std::string& path, const CellSet& set) {
  return formats::write_document(path, baseline_json(set));
}

}  // namespace arenalab::check
