// SPDX-License-Identifier: Apache-2.0
// profile.json (arenalab.profile/1) writing and reading with nlohmann::json. The reader checks
// every field it knows and names the file and the JSON path of what is wrong.
#include "arenalab/formats/profile.h"

#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "arenalab/core/files.h"
#include "arenalab/core/text.h"
#include "arenalab/formats/named.h"

namespace arenalab::profile_file {
using nlohmann::json;

namespace {

std::string hex(std::uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%" PRIx64, v);
  return buf;
}

std::string indexed(const char* key, std::size_t i) {
  return std::string(key) + "[" + std::to_string(i) + "].";
}

constexpr formats::Named<SiteSource> kSources[] = {{SiteSource::kHeap, "heap"},
                                                   {SiteSource::kMmap, "mmap"}};

void put_slope(json& obj, const std::optional<double>& slope) {
  if (slope && std::isfinite(*slope)) obj["slope_bytes_per_s"] = *slope;
}

json callsite_json(const Callsite& s) {
  json c;
  c["source"] = source_name(s.source);
  c["verdict"] = formats::verdict_name(s.verdict);
  put_slope(c, s.slope_bytes_per_s);
  c["bytes_now"] = s.bytes_now;
  c["method"] = s.method;
  c["reason"] = s.reason;
  if (s.site)
    c["site"] = {{"function", s.site->function},
                 {"file", s.site->file},
                 {"line", s.site->line},
                 {"module", s.site->module},
                 {"address", hex(s.site->address)}};
  c["stack"] = s.stack;
  c["t_ms"] = s.t_ms;
  c["live_bytes"] = s.live_bytes;
  if (s.bytes_at_exit) c["bytes_at_exit"] = *s.bytes_at_exit;
  return c;
}

// Reading: every accessor names the file and the JSON path of the field it checks, and throws
// a BadField that parse_profile turns into the one-line error.
struct BadField {
  std::string message;
};

class Reader {
 public:
  explicit Reader(std::string source) : source_(std::move(source)) {}

  [[noreturn]] void fail(const std::string& path, const std::string& what) const {
    throw BadField{source_ + ": " + path + ": expected " + what};
  }
  const json& member(const json& obj, const std::string& path, const char* key) const {
    auto it = obj.find(key);
    if (it == obj.end()) fail(path + key, "a value (missing)");
    return *it;
  }
  std::string string(const json& obj, const std::string& path, const char* key) const {
    const json& v = member(obj, path, key);
    if (!v.is_string()) fail(path + key, "a string");
    return v.get<std::string>();
  }
  formats::GrowthVerdict verdict(const json& obj, const std::string& path, const char* key) const {
    const std::string name = string(obj, path, key);
    const auto v = formats::parse_verdict(name);
    if (!v)
      fail(path + key, "leak, retention, bounded, non-heap-growth, stable or unresolved, got '" +
                           printable(name) + "'");
    return *v;
  }
  SiteSource source(const json& obj, const std::string& path, const char* key) const {
    const std::string name = string(obj, path, key);
    SiteSource s = SiteSource::kHeap;
    if (!formats::value_of(name.c_str(), kSources, &s))
      fail(path + key, "heap or mmap, got '" + printable(name) + "'");
    return s;
  }
  std::string string_or(const json& obj, const std::string& path, const char* key) const {
    return obj.contains(key) ? string(obj, path, key) : std::string();
  }
  double number(const json& obj, const std::string& path, const char* key) const {
    const json& v = member(obj, path, key);
    if (!v.is_number()) fail(path + key, "a number");
    return v.get<double>();
  }
  std::optional<double> number_opt(const json& obj, const std::string& path,
                                   const char* key) const {
    if (!obj.contains(key)) return std::nullopt;
    return number(obj, path, key);
  }
  std::uint64_t unsigned_number(const json& obj, const std::string& path, const char* key) const {
    const json& v = member(obj, path, key);
    if (!v.is_number_unsigned() && !(v.is_number_integer() && v.get<std::int64_t>() >= 0))
      fail(path + key, "a non-negative integer");
    return v.get<std::uint64_t>();
  }
  bool boolean(const json& obj, const std::string& path, const char* key) const {
    const json& v = member(obj, path, key);
    if (!v.is_boolean()) fail(path + key, "true or false");
    return v.get<bool>();
  }
  const json& object(const json& obj, const std::string& path, const char* key) const {
    const json& v = member(obj, path, key);
    if (!v.is_object()) fail(path + key, "an object");
    return v;
  }
  std::vector<std::string> strings(const json& obj, const std::string& path,
                                   const char* key) const {
    const json& v = member(obj, path, key);
    std::vector<std::string> out;
    if (!v.is_array()) fail(path + key, "an array of strings");
    for (const auto& e : v) {
      if (!e.is_string()) fail(path + key, "an array of strings");
      out.push_back(e.get<std::string>());
    }
    return out;
  }
  std::vector<std::string> strings_or(const json& obj, const std::string& path,
                                      const char* key) const {
    return obj.contains(key) ? strings(obj, path, key) : std::vector<std::string>{};
  }
  std::vector<double> numbers(const json& obj, const std::string& path, const char* key) const {
    const json& v = member(obj, path, key);
    std::vector<double> out;
    if (!v.is_array()) fail(path + key, "an array of numbers");
    for (const auto& e : v) {
      if (!e.is_number()) fail(path + key, "an array of numbers");
      out.push_back(e.get<double>());
    }
    return out;
  }

 private:
  std::string source_;
};

Frame read_frame(const Reader& r, const json& f, const std::string& path) {
  Frame out;
  out.function = r.string(f, path, "function");
  out.file = r.string(f, path, "file");
  out.line = static_cast<int>(r.number(f, path, "line"));
  out.module = r.string(f, path, "module");
  const std::string address = r.string(f, path, "address");
  std::size_t used = 0;
  try {
    out.address = std::stoull(address, &used, 16);
  } catch (const std::exception&) {
    used = 0;
  }
  if (address.rfind("0x", 0) != 0 || used != address.size())
    r.fail(path + "address", "a hex address \"0x...\", got '" + address + "'");
  return out;
}

Callsite read_callsite(const Reader& r, const json& c, const std::string& path) {
  if (!c.is_object()) r.fail(path.substr(0, path.size() - 1), "an object");
  Callsite s;
  s.source = r.source(c, path, "source");
  s.verdict = r.verdict(c, path, "verdict");
  s.slope_bytes_per_s = r.number_opt(c, path, "slope_bytes_per_s");
  s.bytes_now = r.number(c, path, "bytes_now");
  s.method = r.string(c, path, "method");
  s.reason = r.string(c, path, "reason");
  if (c.contains("site")) s.site = read_frame(r, r.object(c, path, "site"), path + "site.");
  s.stack = r.strings(c, path, "stack");
  s.t_ms = r.numbers(c, path, "t_ms");
  s.live_bytes = r.numbers(c, path, "live_bytes");
  s.bytes_at_exit = r.number_opt(c, path, "bytes_at_exit");
  if (s.t_ms.size() != s.live_bytes.size())
    r.fail(path + "live_bytes", "one value per t_ms (" + std::to_string(s.t_ms.size()) + "), got " +
                                    std::to_string(s.live_bytes.size()));
  return s;
}

Profile read(const Reader& r, const json& j) {
  if (!j.is_object()) r.fail("(top level)", "an object");
  const std::string schema = r.string(j, "", "schema");
  if (schema != kSchema) r.fail("schema", std::string(kSchema) + ", got '" + schema + "'");
  Profile p;
  p.profiler = r.string(j, "", "profiler");
  p.command = r.strings(j, "", "command");
  p.out_dir = r.string(j, "", "out_dir");
  p.cadence = r.string(j, "", "cadence");
  p.exit = r.string(j, "", "exit");
  p.dumps = r.strings(j, "", "dumps");
  p.dump_t_ms = r.numbers(j, "", "dump_t_ms");
  p.mmap_dumps = r.strings_or(j, "", "mmap_dumps");
  p.exit_dump = r.string_or(j, "", "exit_dump");
  p.growing_callsites = static_cast<int>(r.unsigned_number(j, "", "growing_callsites"));
  const json& callsites = r.member(j, "", "callsites");
  if (!callsites.is_array()) r.fail("callsites", "an array");
  for (std::size_t i = 0; i < callsites.size(); ++i)
    p.callsites.push_back(read_callsite(r, callsites[i], indexed("callsites", i)));
  const json& tools = r.member(j, "", "tools");
  if (!tools.is_array()) r.fail("tools", "an array");
  for (std::size_t i = 0; i < tools.size(); ++i) {
    const std::string path = indexed("tools", i);
    if (!tools[i].is_object()) r.fail(path.substr(0, path.size() - 1), "an object");
    Tool t;
    t.purpose = r.string(tools[i], path, "purpose");
    t.command = r.string(tools[i], path, "command");
    t.ran = r.boolean(tools[i], path, "ran");
    if (auto st = r.number_opt(tools[i], path, "status")) t.status = static_cast<int>(*st);
    t.output = r.string_or(tools[i], path, "output");
    t.error = r.string_or(tools[i], path, "error");
    p.tools.push_back(std::move(t));
  }
  if (j.contains("mmap")) {
    const json& m = r.object(j, "", "mmap");
    p.mmap =
        MmapSummary{r.verdict(m, "mmap.", "verdict"), r.number_opt(m, "mmap.", "slope_bytes_per_s"),
                    r.number(m, "mmap.", "bytes_now"), r.string(m, "mmap.", "reason")};
  }
  if (j.contains("rss_first")) p.rss_first = r.unsigned_number(j, "", "rss_first");
  if (j.contains("rss_last")) p.rss_last = r.unsigned_number(j, "", "rss_last");
  if (j.contains("outside_heap")) {
    const json& o = r.object(j, "", "outside_heap");
    const std::string path = "outside_heap.";
    OutsideHeap g;
    g.signal = r.string(o, path, "signal");
    g.verdict = r.verdict(o, path, "verdict");
    g.slope_bytes_per_s = r.number_opt(o, path, "slope_bytes_per_s");
    g.grew_bytes = r.number(o, path, "grew_bytes");
    g.accounted_grew_bytes = r.number(o, path, "accounted_grew_bytes");
    g.outside = r.boolean(o, path, "outside");
    g.explanation = r.string_or(o, path, "explanation");
    p.outside_heap = std::move(g);
  }
  p.notes = r.strings(j, "", "notes");
  return p;
}

}  // namespace

std::string to_json(const Profile& p) {
  json j;
  j["schema"] = kSchema;
  j["profiler"] = p.profiler;
  j["command"] = p.command;
  j["out_dir"] = p.out_dir;
  j["cadence"] = p.cadence;
  j["exit"] = p.exit;
  j["dumps"] = p.dumps;
  j["dump_t_ms"] = p.dump_t_ms;
  if (!p.mmap_dumps.empty()) j["mmap_dumps"] = p.mmap_dumps;
  if (!p.exit_dump.empty()) j["exit_dump"] = p.exit_dump;
  j["growing_callsites"] = p.growing_callsites;
  j["callsites"] = json::array();
  for (const auto& s : p.callsites) j["callsites"].push_back(callsite_json(s));
  j["tools"] = json::array();
  for (const auto& t : p.tools) {
    json c = {{"purpose", t.purpose}, {"command", t.command}, {"ran", t.ran}};
    if (t.status) c["status"] = *t.status;
    if (!t.output.empty()) c["output"] = t.output;
    if (!t.error.empty()) c["error"] = t.error;
    j["tools"].push_back(std::move(c));
  }
  if (p.mmap) {
    j["mmap"] = {{"verdict", formats::verdict_name(p.mmap->verdict)},
                 {"bytes_now", p.mmap->bytes_now},
                 {"reason", p.mmap->reason}};
    put_slope(j["mmap"], p.mmap->slope_bytes_per_s);
  }
  if (p.rss_first) j["rss_first"] = *p.rss_first;
  if (p.rss_last) j["rss_last"] = *p.rss_last;
  if (p.outside_heap) {
    const auto& g = *p.outside_heap;
    json o = {{"signal", g.signal},
              {"verdict", formats::verdict_name(g.verdict)},
              {"grew_bytes", g.grew_bytes},
              {"accounted_grew_bytes", g.accounted_grew_bytes},
              {"outside", g.outside}};
    put_slope(o, g.slope_bytes_per_s);
    if (g.outside) o["explanation"] = g.explanation;
    j["outside_heap"] = std::move(o);
  }
  j["notes"] = p.notes;
  return j.dump(2) + "\n";
}

Status write_profile(const std::string& path, const Profile& profile) {
  return write_file_atomic(path, to_json(profile));
}

const char* source_name(SiteSource source) { return formats::name_of(source, kSources); }

Result<Profile> parse_profile(std::string_view text, const std::string& source) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {  // parse_error, and out_of_range for a number too large
    return make_error(printable(source) + ": not valid JSON: " + printable(e.what()));
  }
  try {
    return read(Reader(source), j);
  } catch (const BadField& e) {
    return make_error(e.message);
  }
}

Result<Profile> read_profile(const std::string& path) {
  auto text = read_file(path);
  if (!text) return text.error();
  return parse_profile(*text, path);
}

}  // namespace arenalab::profile_file
