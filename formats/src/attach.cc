// SPDX-License-Identifier: Apache-2.0
// attach.json: one writer and one reader (attach.h).
#include "arenalab/formats/attach.h"

#include <limits>

namespace arenalab::attach_file {
using formats::FormatError;
using formats::json;
using formats::Obj;
using formats::put;

const char* level_name(Level level) {
  switch (level) {
    case Level::kRss:
      return "rss";
    case Level::kStats:
      return "stats";
    case Level::kCount:
      return "count";
    case Level::kSample:
      return "sample";
  }
  return "rss";
}

std::optional<Level> parse_level(std::string_view name) {
  for (const Level l : {Level::kRss, Level::kStats, Level::kCount, Level::kSample})
    if (name == level_name(l)) return l;
  return std::nullopt;
}

const char* ended_name(Ended ended) {
  switch (ended) {
    case Ended::kDuration:
      return "duration";
    case Ended::kInterrupted:
      return "interrupted";
    case Ended::kVanished:
      return "vanished";
  }
  return "duration";
}

std::optional<Ended> parse_ended(std::string_view name) {
  for (const Ended e : {Ended::kDuration, Ended::kInterrupted, Ended::kVanished})
    if (name == ended_name(e)) return e;
  return std::nullopt;
}

Level read_level(const Obj& o) {
  const std::string level = o.str("level");
  const auto parsed = parse_level(level);
  if (!parsed)
    throw FormatError(o.path_of("level") + ": expected \"rss\", \"stats\" or \"count\", found \"" +
                      level + "\"");
  return *parsed;
}

Ended read_ended(const Obj& o) {
  const std::string ended = o.str("ended");
  const auto parsed = parse_ended(ended);
  if (!parsed)
    throw FormatError(o.path_of("ended") +
                      ": expected \"duration\", \"interrupted\" or \"vanished\", found \"" + ended +
                      "\"");
  return *parsed;
}

namespace {

constexpr std::int64_t kMaxInt = std::numeric_limits<std::int64_t>::max();

Record parse(const json& doc) {
  formats::schema_version(doc, "arenalab.attach", 1, 1);
  const Obj o(doc, "");
  Record r;
  r.level = read_level(o);
  r.cannot_tell = o.str_or("cannot_tell");
  r.pid = o.integer("pid", 1, kMaxInt);
  r.comm = o.str_or("comm");
  r.command = o.strings("command");
  r.exe = o.str_or("exe");
  r.uid = o.integer("uid", 0, kMaxInt);
  r.target_running_s_at_attach = o.num("target_running_s_at_attach", 0);
  r.interval_ms = o.num("interval_ms", 0);
  r.attached_ms = o.num("attached_ms", 0);
  r.samples = o.integer("samples", 0, kMaxInt);
  r.ended = read_ended(o);
  r.target_signalled = o.boolean("target_signalled");
  if (auto a = o.opt_obj("allocator_mapped")) {
    r.allocator_backend = formats::backend_field(*a, "backend");
    r.allocator_library = a->str_or("library");
  }
  if (auto f = o.opt_obj("files")) r.timeline_file = f->str_or("timeline", r.timeline_file);
  r.warnings = o.strings("warnings");
  r.duration_s = o.opt_num("duration_s", 0);
  r.signal = o.opt_integer("signal", 1, 64);
  r.vanished_after_s = o.opt_num("vanished_after_s", 0);
  r.vanished_utc = o.str_or("vanished_utc");
  if (auto c = o.opt_obj("cgroup")) {
    if (c->has("dir")) {
      r.cgroup_dir = c->str("dir");
      r.cgroup_version = c->str("version");
    } else {
      r.cgroup_note = c->str_or("note");
    }
  }
  if (auto i = o.opt_obj("injection")) {
    constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
    Injection in;
    in.agent = i->str("agent");
    in.thread = i->integer("thread", 0, kMax);
    in.syscall = i->integer("syscall", -1, kMax);
    in.syscall_rax = i->integer("syscall_rax", std::numeric_limits<std::int64_t>::min(), kMax);
    in.xstate_bytes = i->integer("xstate_bytes", 0, kMax);
    in.cpuid_xsave_max = i->integer("cpuid_xsave_max", 0, kMax);
    in.stopped_ms = i->num("stopped_ms", 0);
    in.threads_tried = i->integer("threads_tried", 0, kMax);
    in.final_sample = i->boolean("final_sample");
    in.detach_ms = i->num("detach_ms", 0);
    r.injection = std::move(in);
  }
  return r;
}

}  // namespace

json to_json(const Record& r) {
  json j = {
      {"schema", std::string(kSchema)},
      {"level", level_name(r.level)},
      {"cannot_tell", r.cannot_tell},
      {"pid", r.pid},
      {"comm", r.comm},
      {"command", r.command},
      {"exe", r.exe},
      {"uid", r.uid},
      {"target_running_s_at_attach", r.target_running_s_at_attach},
      {"interval_ms", r.interval_ms},
      {"attached_ms", r.attached_ms},
      {"samples", r.samples},
      {"ended", ended_name(r.ended)},
      {"target_signalled", r.target_signalled},
      {"allocator_mapped",
       {{"backend", formats::backend_name(r.allocator_backend)}, {"library", r.allocator_library}}},
      {"files", {{"timeline", r.timeline_file}}},
      {"warnings", r.warnings},
  };
  put(j, "duration_s", r.duration_s);
  put(j, "signal", r.signal);
  put(j, "vanished_after_s", r.vanished_after_s);
  put(j, "vanished_utc", r.vanished_utc);
  if (r.cgroup_dir)
    j["cgroup"] = {{"dir", *r.cgroup_dir}, {"version", r.cgroup_version}};
  else
    j["cgroup"] = {{"note", r.cgroup_note}};
  if (const auto& i = r.injection)
    j["injection"] = {{"agent", i->agent},
                      {"thread", i->thread},
                      {"syscall", i->syscall},
                      {"syscall_rax", i->syscall_rax},
                      {"xstate_bytes", i->xstate_bytes},
                      {"cpuid_xsave_max", i->cpuid_xsave_max},
                      {"stopped_ms", i->stopped_ms},
                      {"threads_tried", i->threads_tried},
                      {"final_sample", i->final_sample},
                      {"detach_ms", i->detach_ms}};
  return j;
}

Result<Record> parse_attach(const json& doc, const std::string& file) {
  return formats::parse_document<Record>(doc, file, parse);
}

Result<Record> read_attach(const std::string& path) {
  return formats::read_document<Record>(path, parse);
}

Status write_attach(const std::string& path, const Record& r) {
  return formats::write_document(path, to_json(r));
}

}  // namespace arenalab::attach_file
