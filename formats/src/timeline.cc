// SPDX-License-Identifier: Apache-2.0
// timeline.jsonl reading and writing with nlohmann::json.
#include "arenalab/formats/timeline.h"

#include <fstream>
#include <nlohmann/json.hpp>

#include "arenalab/formats/json.h"

namespace arenalab::timeline {
using formats::put;
using nlohmann::json;

namespace {

// A figure that is present must be a finite number; absent (or null) stays empty.
Opt opt_number(const json& obj, const char* key, const char* where) {
  if (!obj.is_object()) return std::nullopt;
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return std::nullopt;
  if (!it->is_number())
    throw formats::FormatError(std::string(where) + key + ": expected a number, found " +
                               formats::describe_type(*it));
  return it->get<double>();
}

}  // namespace

Result<Sample> parse_sample(const std::string& line) {
  json j;
  try {
    j = json::parse(line);
  } catch (const json::exception& e) {
    return make_error(std::string("not valid JSON: ") + e.what());
  }
  if (!j.is_object() || !j.contains("t_ms") || !j["t_ms"].is_number())
    return make_error("expected a sample object with a numeric \"t_ms\"");
  if (j["t_ms"].get<double>() < 0)
    return make_error("t_ms: expected a time >= 0 ms, found " + j["t_ms"].dump());
  Sample s;
  s.t_ms = j["t_ms"].get<double>();
  try {
    s.rss = opt_number(j, "rss", "");
    s.rss_anon = opt_number(j, "rss_anon", "");
    s.live_bytes = opt_number(j, "live_bytes", "");
    s.live_allocs = opt_number(j, "live_allocs", "");
    s.mmap_bytes = opt_number(j, "mmap_bytes", "");
    s.mmap_reserved_bytes = opt_number(j, "mmap_reserved_bytes", "");
    if (j.contains("alloc") && !j["alloc"].is_null()) {
      const json& a = j["alloc"];
      if (!a.is_object())
        return make_error("alloc: expected an object, found " + formats::describe_type(a));
      s.allocated = opt_number(a, "allocated", "alloc.");
      s.active = opt_number(a, "active", "alloc.");
      s.resident = opt_number(a, "resident", "alloc.");
      s.mapped = opt_number(a, "mapped", "alloc.");
      s.retained = opt_number(a, "retained", "alloc.");
    }
    if (j.contains("gauges") && j["gauges"].is_object())
      for (const auto& [k, v] : j["gauges"].items())
        if (auto g = opt_number(j["gauges"], k.c_str(), "gauges.")) s.gauges[k] = *g;
    if (j.contains("after_purge")) {
      if (!j["after_purge"].is_boolean())
        return make_error("after_purge: expected true or false, found " +
                          formats::describe_type(j["after_purge"]));
      s.after_purge = j["after_purge"].get<bool>();
    }
  } catch (const formats::FormatError& e) {
    return make_error(e.what());
  }
  return s;
}

Result<Timeline> read_timeline(const std::string& path) {
  std::ifstream in(path);
  if (!in) return make_error("cannot read timeline " + path);
  std::string line;
  Timeline tl;
  if (!std::getline(in, line) || line.empty())
    return make_error(path + ": empty, expected a header line");
  json h;
  try {
    h = json::parse(line);
  } catch (const json::exception& e) {
    return make_error(path + ":1: header is not valid JSON: " + e.what());
  }
  if (!h.is_object() || h.value("schema", "") != "arenalab.timeline/1")
    return make_error(path + ":1: expected a header with \"schema\": \"arenalab.timeline/1\"");
  tl.header.schema = h["schema"];
  tl.header.pid = h.value("pid", 0);
  if (h.contains("command") && h["command"].is_array())
    for (const auto& a : h["command"])
      if (a.is_string()) tl.header.command.push_back(a);
  if (h.contains("allocator") && h["allocator"].is_object()) {
    const json& a = h["allocator"];
    tl.header.allocator.name = a.value("name", "");
    tl.header.allocator.backend = a.value("backend", "");
    tl.header.allocator.library = a.value("library", "");
    tl.header.allocator.version = a.value("version", "");
    tl.header.allocator.verified = a.value("verified", false);
  }
  tl.header.mode = h.value("mode", "");
  tl.header.interval_ms = h.value("interval_ms", 0.0);
  std::size_t lineno = 1;
  std::string next;
  bool have = static_cast<bool>(std::getline(in, line));
  while (have) {
    ++lineno;
    const bool more = static_cast<bool>(std::getline(in, next));
    if (!line.empty()) {
      auto s = parse_sample(line);
      if (!s) {
        // Only the very last line may be cut short by a kill (then it is not JSON at all).
        if (!more && s.error().message.rfind("not valid JSON", 0) == 0) {
          tl.truncated = true;
          break;
        }
        return make_error(path + ":" + std::to_string(lineno) + ": " + s.error().message);
      }
      // One sampler writes the samples in time order: a step back is a damaged file.
      if (!tl.samples.empty() && s->t_ms < tl.samples.back().t_ms)
        return make_error(path + ":" + std::to_string(lineno) + ": t_ms: expected a time >= " +
                          formats::number_text(tl.samples.back().t_ms) +
                          " ms (the previous sample's), found " + formats::number_text(s->t_ms));
      if (s->after_purge)
        tl.after_purge = std::move(*s);
      else
        tl.samples.push_back(std::move(*s));
    }
    line = next;
    have = more;
  }
  return tl;
}

std::string header_line(const Header& h) {
  json j = {{"schema", "arenalab.timeline/1"},
            {"pid", h.pid},
            {"command", h.command},
            {"allocator",
             {{"name", h.allocator.name},
              {"backend", h.allocator.backend},
              {"library", h.allocator.library},
              {"version", h.allocator.version},
              {"verified", h.allocator.verified}}},
            {"mode", h.mode},
            {"interval_ms", h.interval_ms}};
  return j.dump();
}

std::string sample_line(const Sample& s) {
  json j = {{"t_ms", s.t_ms}};
  put(j, "rss", s.rss);
  put(j, "rss_anon", s.rss_anon);
  put(j, "live_bytes", s.live_bytes);
  put(j, "live_allocs", s.live_allocs);
  put(j, "mmap_bytes", s.mmap_bytes);
  put(j, "mmap_reserved_bytes", s.mmap_reserved_bytes);
  json a = json::object();
  put(a, "allocated", s.allocated);
  put(a, "active", s.active);
  put(a, "resident", s.resident);
  put(a, "mapped", s.mapped);
  put(a, "retained", s.retained);
  if (!a.empty()) j["alloc"] = a;
  if (!s.gauges.empty()) j["gauges"] = s.gauges;
  if (s.after_purge) j["after_purge"] = true;
  return j.dump();
}

Series series(const Timeline& tl, const std::string& signal) {
  Series out;
  const bool gauge = signal.rfind("gauge:", 0) == 0;
  const std::string gauge_name = gauge ? signal.substr(6) : "";
  for (const auto& s : tl.samples) {
    Opt v;
    if (gauge) {
      auto it = s.gauges.find(gauge_name);
      if (it != s.gauges.end()) v = it->second;
    } else if (signal == "rss") {
      v = s.rss;
    } else if (signal == "rss_anon") {
      v = s.rss_anon;
    } else if (signal == "live_bytes") {
      v = s.live_bytes;
    } else if (signal == "live_allocs") {
      v = s.live_allocs;
    } else if (signal == "mmap_bytes") {
      v = s.mmap_bytes;
    } else if (signal == "mmap_reserved_bytes") {
      v = s.mmap_reserved_bytes;
    } else if (signal == "allocated") {
      v = s.allocated;
    } else if (signal == "active") {
      v = s.active;
    } else if (signal == "resident") {
      v = s.resident;
    } else if (signal == "mapped") {
      v = s.mapped;
    } else if (signal == "retained") {
      v = s.retained;
    }
    if (v) {
      out.t_ms.push_back(s.t_ms);
      out.value.push_back(*v);
    }
  }
  return out;
}

}  // namespace arenalab::timeline
