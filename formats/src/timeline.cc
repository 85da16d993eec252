// SPDX-License-Identifier: Apache-2.0
// timeline.jsonl reading and writing with nlohmann::json.
#include "arenalab/formats/timeline.h"

#include <limits>
#include <nlohmann/json.hpp>

#include "arenalab/core/lines.h"
#include "arenalab/core/text.h"
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

// Byte figures are counts of bytes: >= 0 and at most 2^64 (what a 64-bit counter can hold).
constexpr double kMaxBytes = 18446744073709551616.0;
// Times: up to 1e15 ms (31,000 years) since the target started.
constexpr double kMaxTimeMs = 1e15;
// The smallest step between two sample times that means anything: 1 ns, the resolution of the
// clocks the samplers read (the interposer writes whole microseconds). Smaller non-zero steps
// are not measurements, and make every rate per second overflow (issue 21: t_ms = i x 1e-300).
constexpr double kMinStepMs = 1e-6;

Opt opt_bytes(const json& obj, const char* key, const char* where) {
  Opt v = opt_number(obj, key, where);
  if (v && !(*v >= 0 && *v <= kMaxBytes))
    throw formats::FormatError(std::string(where) + key +
                               ": expected a byte count in [0, 2^64], found " +
                               formats::number_text(*v));
  return v;
}

}  // namespace

Result<Sample> parse_sample(const std::string& line) {
  json j;
  try {
    j = json::parse(line);
  } catch (const json::exception& e) {
    return make_error(std::string("not valid JSON: ") + printable(e.what()));
  }
  if (!j.is_object() || !j.contains("t_ms") || !j["t_ms"].is_number())
    return make_error("expected a sample object with a numeric \"t_ms\"");
  const double t = j["t_ms"].get<double>();
  if (!(t >= 0 && t <= kMaxTimeMs))
    return make_error("t_ms: expected a time in [0, 1e15] ms, found " + formats::number_text(t));
  Sample s;
  s.t_ms = t;
  try {
    s.rss = opt_bytes(j, "rss", "");
    s.rss_anon = opt_bytes(j, "rss_anon", "");
    s.live_bytes = opt_bytes(j, "live_bytes", "");
    s.live_allocs = opt_bytes(j, "live_allocs", "");
    s.mmap_bytes = opt_bytes(j, "mmap_bytes", "");
    s.mmap_reserved_bytes = opt_bytes(j, "mmap_reserved_bytes", "");
    if (j.contains("alloc") && !j["alloc"].is_null()) {
      const json& a = j["alloc"];
      if (!a.is_object())
        return make_error("alloc: expected an object, found " + formats::describe_type(a));
      s.allocated = opt_bytes(a, "allocated", "alloc.");
      s.active = opt_bytes(a, "active", "alloc.");
      s.resident = opt_bytes(a, "resident", "alloc.");
      s.mapped = opt_bytes(a, "mapped", "alloc.");
      s.retained = opt_bytes(a, "retained", "alloc.");
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
    return make_error(printable(e.what()));
  }
  return s;
}

namespace {

// The header line, checked field by field (a wrong type names the field, never a bare
// json exception).
Result<Header> parse_header(const std::string& line) {
  json h;
  try {
    h = json::parse(line);
  } catch (const json::exception& e) {
    return make_error("header is not valid JSON: " + printable(e.what()));
  }
  if (!h.is_object() || !h.contains("schema") || h["schema"] != "arenalab.timeline/1")
    return make_error("expected a header with \"schema\": \"arenalab.timeline/1\"");
  Header out;
  try {
    const formats::Obj o(h, "");
    out.schema = o.str("schema");
    out.pid = o.opt_integer("pid", 0, std::numeric_limits<std::int64_t>::max()).value_or(0);
    out.command = o.strings("command");
    if (const auto a = o.opt_obj("allocator")) {
      out.allocator.name = a->str_or("name");
      out.allocator.backend = a->str_or("backend");
      out.allocator.library = a->str_or("library");
      out.allocator.version = a->str_or("version");
      out.allocator.verified = a->bool_or("verified", false);
    }
    out.mode = o.str_or("mode");
    out.interval_ms = o.opt_num("interval_ms", 0).value_or(0);
  } catch (const formats::FormatError& e) {
    return make_error(printable(e.what()));
  }
  return out;
}

}  // namespace

Result<Timeline> read_timeline(const std::string& path) {
  const std::string file = printable(path);
  auto in = LineReader::open(path);
  if (!in) return make_error("cannot read timeline " + file);
  std::string line;
  Timeline tl;
  auto got = in->next(line);
  if (!got) return got.error();
  if (!*got || line.empty()) return make_error(file + ": empty, expected a header line");
  auto header = parse_header(line);
  if (!header) return make_error(file + ":1: " + header.error().message);
  tl.header = std::move(*header);
  // One line of look-ahead: only the very last line may be cut short by a kill.
  std::string next;
  got = in->next(line);
  if (!got) return got.error();
  bool have = *got;
  while (have) {
    const std::size_t this_line = in->line_number();
    auto more = in->next(next);
    if (!more) return more.error();
    if (!line.empty()) {
      auto s = parse_sample(line);
      if (!s) {
        // Only the very last line may be cut short by a kill (then it is not JSON at all).
        if (!*more && s.error().message.rfind("not valid JSON", 0) == 0) {
          tl.truncated = true;
          break;
        }
        return make_error(file + ":" + std::to_string(this_line) + ": " + s.error().message);
      }
      if (!tl.samples.empty()) {
        const double prev = tl.samples.back().t_ms;
        // One sampler writes the samples in time order: a step back is a damaged file.
        if (s->t_ms < prev)
          return make_error(file + ":" + std::to_string(this_line) +
                            ": t_ms: expected a time >= " + formats::number_text(prev) +
                            " ms (the previous sample's), found " + formats::number_text(s->t_ms));
        if (s->t_ms > prev && s->t_ms - prev < kMinStepMs)
          return make_error(file + ":" + std::to_string(this_line) + ": t_ms: expected " +
                            formats::number_text(prev) +
                            " ms (the previous sample's) or at least " +
                            "1e-06 ms (1 ns) later, found " + formats::number_text(s->t_ms) +
                            ": a window this short gives no rate");
      }
      if (s->after_purge)
        tl.after_purge = std::move(*s);
      else
        tl.samples.push_back(std::move(*s));
    }
    line.swap(next);
    have = *more;
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
