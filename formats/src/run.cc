// SPDX-License-Identifier: Apache-2.0
// run.json: one reader and one writer (run.h).
#include "arenalab/formats/run.h"

#include <limits>

namespace arenalab::runner {
using formats::json;
using formats::kInf;
using formats::Obj;

ExitRecord exit_record(const ExitInfo& e) {
  ExitRecord r;
  r.describe = e.describe();
  r.status = e.shell_status();
  r.code = e.exit_code;
  r.signal = e.signal;
  r.core_dumped = e.signal && e.core_dumped;
  return r;
}

json exit_to_json(const ExitRecord& e) {
  json j = {{"describe", e.describe}, {"status", e.status}};
  formats::put(j, "code", e.code);
  if (e.signal) {
    j["signal"] = *e.signal;
    j["core_dumped"] = e.core_dumped;
  }
  return j;
}

ExitRecord exit_from_json(const Obj& o) {
  ExitRecord e;
  e.describe = o.str("describe");
  e.status = static_cast<int>(o.integer("status", 0, 255));
  if (auto c = o.opt_integer("code", 0, 255)) e.code = static_cast<int>(*c);
  if (auto s = o.opt_integer("signal", 1, 128)) e.signal = static_cast<int>(*s);
  e.core_dumped = o.bool_or("core_dumped", false);
  return e;
}

json run_to_json(const RunRecord& r) {
  json alloc = {{"name", r.configuration},
                {"backend", formats::backend_name(r.configured_backend)},
                {"identified_backend", formats::backend_name(r.identified_backend)},
                {"library", r.library},
                {"version", r.version},
                {"verified", r.verified}};
  formats::put(alloc, "mismatch", r.mismatch);
  json doc = {
      {"schema", std::string(kRunSchema) + "/" + std::to_string(kRunVersion)},
      {"command", r.command},
      {"mode", formats::run_mode_name(r.mode)},
      {"interval_ms", r.interval_ms},
      {"allocator", alloc},
      {"exit", exit_to_json(r.exit)},
      {"wall_ms", r.wall_ms},
      {"user_ms", r.user_ms},
      {"sys_ms", r.sys_ms},
      {"peak_rss_bytes", r.peak_rss_bytes},
      {"minor_faults", r.minor_faults},
      {"major_faults", r.major_faults},
      {"timeline_samples", r.timeline_samples},
      {"files", r.files},
      {"warnings", r.warnings},
  };
  formats::put(doc, "sample_bytes", r.sample_bytes);
  if (const auto& s = r.stop) {
    json stop = {{"at_ms", s->at_ms}, {"killed_after_grace", s->killed_after_grace}};
    formats::put(stop, "received", s->received);
    formats::put(stop, "duration_ms", s->duration_ms);
    formats::put(stop, "signal", s->signal);
    doc["stop"] = stop;
  }
  return doc;
}

namespace {

RunRecord parse(const json& doc) {
  const int version = formats::schema_version(doc, kRunSchema, 1, kRunVersion);
  const Obj o(doc, "");
  RunRecord r;
  r.command = o.strings("command");
  if (r.command.empty()) throw formats::FormatError("command: expected a non-empty array");
  r.mode = formats::enum_field(o, "mode", formats::kRunModeNames);
  r.interval_ms = o.num("interval_ms", 0);
  if (auto b = o.opt_integer("sample_bytes", 1, std::numeric_limits<std::int64_t>::max()))
    r.sample_bytes = static_cast<std::uint64_t>(*b);
  const Obj a = o.obj("allocator");
  r.configuration = a.str("name");
  r.configured_backend = formats::backend_field(a, "backend");
  r.identified_backend = formats::backend_field(a, "identified_backend");
  r.library = a.str_or("library");
  r.version = a.str_or("version");
  r.verified = a.boolean("verified");
  r.mismatch = a.str_or("mismatch");
  r.exit = exit_from_json(o.obj("exit"));
  r.wall_ms = o.num("wall_ms", 0);
  r.user_ms = o.num("user_ms", 0);
  r.sys_ms = o.num("sys_ms", 0);
  // Version 1 called the peak "peak_rss" (bytes all the same).
  r.peak_rss_bytes = o.num(version >= 2 ? "peak_rss_bytes" : "peak_rss", 0);
  r.minor_faults = o.num("minor_faults", 0);
  r.major_faults = o.num("major_faults", 0);
  r.timeline_samples =
      static_cast<std::size_t>(o.integer("timeline_samples", 0, std::int64_t{1} << 53));
  r.files = o.strings("files");
  r.warnings = o.strings("warnings");
  if (const auto s = o.opt_obj("stop")) {
    StopRecord stop;
    stop.at_ms = s->num("at_ms", 0);
    stop.killed_after_grace = s->bool_or("killed_after_grace", false);
    if (s->has("received")) stop.received = s->str("received");
    stop.duration_ms = s->opt_num("duration_ms", 0);
    if (s->has("signal")) stop.signal = s->str("signal");
    r.stop = stop;
  }
  return r;
}

}  // namespace

Result<RunRecord> run_from_json(const json& doc, const std::string& file) {
  return formats::parse_document<RunRecord>(doc, file, parse);
}

Result<RunRecord> read_run_json(const std::string& path) {
  return formats::read_document<RunRecord>(path, parse);
}

Status write_run_json(const std::string& path, const RunRecord& r) {
  return formats::write_document(path, run_to_json(r));
}

std::string workload_name(const std::vector<std::string>& command) {
  if (command.empty()) return "unknown";
  std::string name = command[0].substr(command[0].rfind('/') + 1);
  if (name.rfind("wl_", 0) != 0) return name;
  name = name.substr(3);
  // Workload names use '_', never '-': a dash starts the link variant (wl_<name>-<backend>).
  return name.substr(0, name.find('-'));
}

}  // namespace arenalab::runner
