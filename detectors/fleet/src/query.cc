// SPDX-License-Identifier: Apache-2.0
// Range queries, durations, the exporter presets, and matching the series of several queries
// by their labels (Prometheus' one-to-one vector matching: querying/operators/#vector-matching).
#include <fmt/format.h>

#include <cctype>
#include <map>

#include "arenalab/fleet/fleet.h"

namespace arenalab::fleet {
namespace {

std::string escape(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~')
      out += static_cast<char>(c);
    else
      out += fmt::format("%{:02X}", c);
  }
  return out;
}

// PromQL matchers without braces: "{job="x"}" -> "job="x"".
std::string inner(std::string_view selector) {
  std::string s(selector);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.erase(0, 1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  if (s.size() >= 2 && s.front() == '{' && s.back() == '}') s = s.substr(1, s.size() - 2);
  return s;
}

// metric{base,selector}
std::string sel(const std::string& metric, const std::string& matchers,
                const std::string& base = "") {
  std::string m = base;
  if (!matchers.empty()) m += (m.empty() ? "" : ",") + matchers;
  return m.empty() ? metric : metric + "{" + m + "}";
}

}  // namespace

Result<double> parse_duration(std::string_view text) {
  // [0-9]+(ms|s|m|h|d|w|y), repeated, largest unit first (Prometheus' model.ParseDuration).
  static const std::map<std::string, double> kUnit = {{"ms", 0.001},  {"s", 1},     {"m", 60},
                                                      {"h", 3600},    {"d", 86400}, {"w", 604800},
                                                      {"y", 31536000}};
  double total = 0;
  std::size_t i = 0;
  if (text.empty()) return make_error("empty duration (expected e.g. 15s, 6h, 1h30m)");
  while (i < text.size()) {
    std::size_t j = i;
    double n = 0;
    while (j < text.size() && std::isdigit(static_cast<unsigned char>(text[j]))) {
      n = n * 10 + (text[j] - '0');
      ++j;
    }
    std::size_t k = j;
    while (k < text.size() && std::isalpha(static_cast<unsigned char>(text[k]))) ++k;
    auto u = kUnit.find(std::string(text.substr(j, k - j)));
    if (j == i || u == kUnit.end())
      return make_error("\"" + std::string(text) +
                        "\" is not a duration (expected e.g. 15s, 6h, 1h30m)");
    total += n * u->second;
    i = k;
  }
  if (!(total > 0)) return make_error("\"" + std::string(text) + "\": a duration must be > 0");
  return total;
}

std::vector<std::string> preset_names() {
  return {"redis", "jvm", "go", "process", "cadvisor", "arenalab"};
}

Result<Queries> preset(std::string_view name, std::string_view selector) {
  const std::string m = inner(selector);
  Queries q;
  if (name == "redis") {
    // redis_exporter: used_memory (zmalloc's books), used_memory_rss, allocator_resident.
    q.held = sel("redis_memory_used_bytes", m);
    q.rss = sel("redis_memory_used_rss_bytes", m);
    q.resident = sel("redis_allocator_resident_bytes", m);
    q.restarts = sel("redis_start_time_seconds", m);
  } else if (name == "jvm") {
    // Java client / Micrometer: the used bytes of every memory area (heap and non-heap), summed
    // per process, against the process' RSS.
    q.held = "sum without(area, id) (" + sel("jvm_memory_used_bytes", m) + ")";
    q.rss = sel("process_resident_memory_bytes", m);
    q.restarts = sel("process_start_time_seconds", m);
  } else if (name == "go") {
    // client_golang: bytes of allocated heap objects vs the heap spans in use vs RSS.
    q.held = sel("go_memstats_heap_alloc_bytes", m);
    q.resident = sel("go_memstats_heap_inuse_bytes", m);
    q.rss = sel("process_resident_memory_bytes", m);
    q.restarts = sel("process_start_time_seconds", m);
  } else if (name == "process") {
    q.rss = sel("process_resident_memory_bytes", m);  // RSS only: growth vs plateau
    q.restarts = sel("process_start_time_seconds", m);
  } else if (name == "cadvisor") {
    // The container's working set (what the OOM killer weighs), per container (not the pod sum).
    q.rss = sel("container_memory_working_set_bytes", m, "container!=\"\"");
    q.restarts = sel("container_start_time_seconds", m, "container!=\"\"");
  } else if (name == "arenalab") {
    // arenalab run|watch --metrics: the interposer's live bytes against the target's RSS.
    q.held = sel("arenalab_live_bytes", m);
    q.rss = sel("arenalab_rss_bytes", m);
    q.resident = sel("arenalab_allocator_resident_bytes", m);
  } else {
    std::string names;
    for (const auto& n : preset_names()) names += (names.empty() ? "" : ", ") + n;
    return make_error("unknown preset \"" + std::string(name) + "\" (known: " + names + ")");
  }
  return q;
}

Result<prometheus::RangeResult> query_range(const std::string& base_url, const std::string& promql,
                                            const Window& w, double timeout_s) {
  std::string base = base_url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  const std::string url =
      base + "/api/v1/query_range?query=" + escape(promql) +
      fmt::format("&start={:.3f}&end={:.3f}&step={:g}", w.start_s, w.end_s, w.step_s);
  const std::string origin = base + ", query " + promql;
  auto r = http_get(url, timeout_s);
  if (!r) {
    // Name the server and the query rather than the whole encoded URL.
    std::string m = r.error().message;
    if (m.rfind(url, 0) == 0) m = origin + m.substr(url.size());
    return make_error(m);
  }
  auto parsed = prometheus::parse_range_response(r->body, origin);
  if (!parsed) return parsed.error();
  if (r->status != 200) return make_error(origin + ": HTTP " + std::to_string(r->status));
  return parsed;
}

Result<std::vector<Target>> match(const std::vector<prometheus::RangeSeries>& held,
                                  const std::vector<prometheus::RangeSeries>& rss,
                                  const std::vector<prometheus::RangeSeries>& resident,
                                  const std::vector<std::string>& by,
                                  const std::vector<prometheus::RangeSeries>& restarts) {
  auto key_of = [&](const prometheus::Labels& l) {
    prometheus::Labels k;
    if (by.empty()) {
      k = l;
      k.erase("__name__");
    } else {
      for (const auto& name : by) {
        auto it = l.find(name);
        k[name] = it == l.end() ? "" : it->second;  // absent label: the empty value, as on()
      }
    }
    return k;
  };
  std::map<prometheus::Labels, Target> targets;
  using Slot = std::optional<prometheus::RangeSeries> Target::*;
  auto add = [&](const std::vector<prometheus::RangeSeries>& v, Slot slot,
                 const char* what) -> Status {
    for (const auto& s : v) {
      auto k = key_of(s.labels);
      Target& t = targets[k];
      t.key = k;
      if (t.*slot)
        return make_error(fmt::format(
            "the {} query returns more than one series for {}; aggregate it (sum by (...)) or "
            "name more labels in --by",
            what, label_text(k)));
      t.*slot = s;
    }
    return Ok{};
  };
  if (auto s = add(held, &Target::held, "held"); !s) return s.error();
  if (auto s = add(rss, &Target::rss, "RSS"); !s) return s.error();
  if (auto s = add(resident, &Target::resident, "resident"); !s) return s.error();
  if (auto s = add(restarts, &Target::restarts, "restart marker"); !s) return s.error();
  std::vector<Target> out;
  for (auto& [k, t] : targets)
    if (t.held || t.rss) out.push_back(std::move(t));  // a resident series alone says nothing
  return out;
}

std::string label_text(const prometheus::Labels& l) {
  std::string out = "{";
  for (const auto& [k, v] : l) {
    if (k == "__name__") continue;
    out += (out.size() > 1 ? ", " : "") + k + "=\"" + v + "\"";
  }
  return out + "}";
}

}  // namespace arenalab::fleet
