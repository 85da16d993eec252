// SPDX-License-Identifier: Apache-2.0
// Reader of the Prometheus HTTP API's range-query response, and the counter-reset correction
// (the same rule as rate(): a counter that falls has restarted from 0).
#include "arenalab/formats/prometheus.h"

#include "arenalab/core/text.h"

#include <charconv>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

namespace arenalab::prometheus {
namespace {

using nlohmann::json;

// Values travel as strings formatted by Go's strconv.FormatFloat(v, 'f', -1, 64): a decimal
// number, or "NaN", "+Inf", "-Inf". Anything else (empty, trailing text, hex) is malformed.
bool parse_value(const std::string& s, double& out) {
  if (s == "NaN") {
    out = std::numeric_limits<double>::quiet_NaN();
    return true;
  }
  if (s == "+Inf" || s == "Inf") {
    out = std::numeric_limits<double>::infinity();
    return true;
  }
  if (s == "-Inf") {
    out = -std::numeric_limits<double>::infinity();
    return true;
  }
  if (s.empty()) return false;
  const char* b = s.data();
  const char* e = b + s.size();
  if (*b == '+') ++b;  // Go never writes it, other exporters behind a proxy might
  auto r = std::from_chars(b, e, out, std::chars_format::general);
  return r.ec == std::errc() && r.ptr == e && std::isfinite(out);
}

Error bad(const std::string& origin, const std::string& what) {
  return make_error(printable(origin + ": not a Prometheus range-query response: " + what));
}

}  // namespace

Result<RangeResult> parse_range_response(std::string_view body, const std::string& origin) {
  const json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return bad(origin, "the body is not JSON");
  if (!j.is_object()) return bad(origin, "the body is not a JSON object");
  auto status = j.find("status");
  if (status == j.end() || !status->is_string()) return bad(origin, "no \"status\" string");
  if (*status == "error") {
    std::string type = "error", text = "(no message)";
    if (auto t = j.find("errorType"); t != j.end() && t->is_string()) type = *t;
    if (auto t = j.find("error"); t != j.end() && t->is_string()) text = *t;
    return make_error(printable(origin + ": Prometheus answered " + type + ": " + text));
  }
  if (*status != "success")
    return bad(origin, "\"status\" is \"" + status->get<std::string>() + "\"");
  RangeResult out;
  if (auto w = j.find("warnings"); w != j.end() && w->is_array())
    for (const auto& x : *w)
      if (x.is_string()) out.warnings.push_back(x.get<std::string>());
  auto data = j.find("data");
  if (data == j.end() || !data->is_object()) return bad(origin, "no \"data\" object");
  auto type = data->find("resultType");
  if (type == data->end() || !type->is_string()) return bad(origin, "no \"data.resultType\"");
  if (*type != "matrix")
    return bad(origin, "resultType is \"" + type->get<std::string>() +
                           "\", expected \"matrix\" (a range query)");
  auto result = data->find("result");
  if (result == data->end() || !result->is_array()) return bad(origin, "no \"data.result\" array");
  for (std::size_t i = 0; i < result->size(); ++i) {
    const json& s = (*result)[i];
    const std::string where = "series " + std::to_string(i);
    if (!s.is_object()) return bad(origin, where + " is not an object");
    RangeSeries rs;
    auto metric = s.find("metric");
    if (metric == s.end() || !metric->is_object()) return bad(origin, where + " has no \"metric\"");
    for (auto it = metric->begin(); it != metric->end(); ++it) {
      if (!it.value().is_string())
        return bad(origin, where + ": label " + it.key() + " is not a string");
      rs.labels[it.key()] = it.value().get<std::string>();
    }
    auto values = s.find("values");
    if (values == s.end()) {
      if (s.contains("histograms"))
        return bad(origin, where + " is a native histogram; query a gauge or counter");
      return bad(origin, where + " has no \"values\"");
    }
    if (!values->is_array()) return bad(origin, where + ": \"values\" is not an array");
    rs.t_s.reserve(values->size());
    rs.value.reserve(values->size());
    for (std::size_t k = 0; k < values->size(); ++k) {
      const json& p = (*values)[k];
      const std::string at = where + " sample " + std::to_string(k);
      if (!p.is_array() || p.size() != 2 || !p[0].is_number() || !p[1].is_string())
        return bad(origin, at + " is not [time, \"value\"]");
      const double t = p[0].get<double>();
      if (!std::isfinite(t)) return bad(origin, at + ": the time is not finite");
      if (!rs.t_s.empty() && !(t > rs.t_s.back()))
        return bad(origin, at + ": times do not increase");
      double v = 0;
      if (!parse_value(p[1].get<std::string>(), v))
        return bad(origin, at + ": \"" + p[1].get<std::string>() + "\" is not a number");
      if (!std::isfinite(v)) ++rs.non_finite;
      rs.t_s.push_back(t);
      rs.value.push_back(v);
    }
    out.series.push_back(std::move(rs));
  }
  return out;
}

std::size_t missing_points(const RangeSeries& s, double step_s) {
  if (!(step_s > 0) || s.t_s.size() < 2) return 0;
  double missing = 0;
  for (std::size_t i = 1; i < s.t_s.size(); ++i) {
    const double steps = (s.t_s[i] - s.t_s[i - 1]) / step_s;
    if (steps >= 1.5) missing += std::round(steps) - 1;
  }
  // Clamp: a hostile response could claim a gap of 1e300 steps.
  return missing >= 1e15 ? static_cast<std::size_t>(1e15) : static_cast<std::size_t>(missing);
}

std::vector<std::size_t> counter_resets(const RangeSeries& s) {
  std::vector<std::size_t> out;
  double prev = std::numeric_limits<double>::quiet_NaN();
  for (std::size_t i = 0; i < s.value.size(); ++i) {
    const double v = s.value[i];
    if (!std::isfinite(v)) continue;
    if (std::isfinite(prev) && v < prev) out.push_back(i);
    prev = v;
  }
  return out;
}

RangeSeries without_counter_resets(const RangeSeries& s) {
  RangeSeries out = s;
  double offset = 0;
  double prev = std::numeric_limits<double>::quiet_NaN();
  for (std::size_t i = 0; i < s.value.size(); ++i) {
    const double v = s.value[i];
    if (!std::isfinite(v)) continue;
    if (std::isfinite(prev) && v < prev) offset += prev;
    prev = v;
    out.value[i] = v + offset;
  }
  return out;
}

}  // namespace arenalab::prometheus
