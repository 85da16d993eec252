// SPDX-License-Identifier: Apache-2.0
// Replays heaptrack's interpreted trace (version 3, all numbers hexadecimal) into per-stack
// live bytes over time. Line kinds (the first character): v version, X command, s string,
// i instruction pointer, t trace node, a allocation info, + allocation, - free, c time (ms);
// others (I, R, A, S, #, ...) carry nothing we need and are skipped.
#include "arenalab/profilers/heaptrack_trace.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>

#include "arenalab/core/files.h"
#include "arenalab/core/lines.h"
#include "arenalab/core/text.h"
#include "text_lines.h"

namespace arenalab::profilers {

using detail::parse_error;
using detail::take_uint;

HeaptrackTraceParser::HeaptrackTraceParser(std::string source, double interval_ms, double end_ms)
    : source_(std::move(source)),
      interval_ms_(interval_ms > 0 ? interval_ms : 1000),
      end_ms_(end_ms) {
  strings_.emplace_back();  // index 0: none
  ips_.emplace_back();
  nodes_.emplace_back();
  next_snapshot_ms_ = interval_ms_;
}

void HeaptrackTraceParser::snapshot(double t_ms) {
  HeaptrackSnapshot snap;
  snap.t_ms = t_ms;
  for (const auto& [trace, bytes] : live_)
    if (bytes != 0) snap.live_bytes.emplace(trace, bytes);
  out_.snapshots.push_back(std::move(snap));
}

Status HeaptrackTraceParser::feed(std::string_view line) {
  ++line_;
  if (line.empty()) return Ok{};
  const char kind = line.front();
  std::string_view s = line.substr(1);
  if (!s.empty() && s.front() != ' ') {
    return parse_error(source_, line_, "'<kind> <fields>'", line);
  }
  auto bad = [&](std::string_view what) { return parse_error(source_, line_, what, line); };
  auto index = [&](std::uint64_t& v) { return take_uint(s, v, 16) && v < (1ULL << 32); };
  if (version_ < 0 && kind != 'v' && kind != '#')
    return bad("the version line 'v <heaptrack version> <file version>' first");
  switch (kind) {
    case 'v': {
      std::uint64_t tool = 0, file = 0;
      if (!take_uint(s, tool, 16) || !take_uint(s, file, 16))
        return bad("'v <heaptrack version> <file version>'");
      if (file != 3) return bad("file format version 3 (heaptrack 1.2 or later)");
      version_ = static_cast<int>(file);
      return Ok{};
    }
    case 'X':
      detail::skip_spaces(s);
      out_.command = std::string(s);
      return Ok{};
    case 's': {
      std::uint64_t len = 0;
      if (!take_uint(s, len, 16) || s.empty() || s.front() != ' ' || s.size() - 1 != len)
        return bad("'s <hex length> <string of that length>'");
      strings_.emplace_back(s.substr(1));
      return Ok{};
    }
    case 'i': {
      Ip ip;
      std::uint64_t module = 0;
      if (!take_uint(s, ip.address, 16) || !index(module) || module >= strings_.size())
        return bad("'i <address> <module string>' with a known module");
      ip.module = static_cast<std::uint32_t>(module);
      // Then either nothing, a function alone (no debug info), or (function file line)
      // triples: the frame at the address first, then those it was inlined into.
      std::vector<std::uint32_t> fields;
      while (true) {
        detail::skip_spaces(s);
        if (s.empty()) break;
        std::uint64_t v = 0;
        if (!index(v)) return bad("hexadecimal string indices and lines after the module");
        fields.push_back(static_cast<std::uint32_t>(v));
      }
      if (fields.size() == 1) fields.insert(fields.end(), {0, 0});
      if (fields.size() % 3 != 0)
        return bad("a function, or '<function> <file> <line>' triples, after the module");
      for (std::size_t k = 0; k < fields.size(); k += 3)
        if (fields[k] >= strings_.size() || fields[k + 1] >= strings_.size())
          return bad("function and file indices of strings defined earlier");
      ip.frames = std::move(fields);
      ips_.push_back(std::move(ip));
      return Ok{};
    }
    case 't': {
      std::uint64_t ip = 0, parent = 0;
      if (!index(ip) || !index(parent) || ip >= ips_.size() || parent >= nodes_.size() ||
          !s.empty())
        return bad("'t <ip index> <parent trace index>' with known indices");
      nodes_.push_back({static_cast<std::uint32_t>(ip), static_cast<std::uint32_t>(parent)});
      return Ok{};
    }
    case 'a': {
      std::uint64_t size = 0, trace = 0;
      if (!take_uint(s, size, 16) || !index(trace) || trace >= nodes_.size() || !s.empty())
        return bad("'a <size> <trace index>' with a known trace");
      allocs_.push_back({size, static_cast<std::uint32_t>(trace)});
      return Ok{};
    }
    case '+':
    case '-': {
      std::uint64_t idx = 0;
      if (!index(idx) || idx >= allocs_.size() || !s.empty())
        return bad("'+|- <allocation info index>' with a known index");
      const AllocInfo& info = allocs_[idx];
      const auto delta = static_cast<std::int64_t>(info.size);
      if (kind == '+') {
        live_[info.trace] += delta;
        ++out_.allocations;
      } else {
        live_[info.trace] -= delta;
        ++out_.frees;
      }
      return Ok{};
    }
    case 'c': {
      std::uint64_t t = 0;
      if (!take_uint(s, t, 16) || !s.empty()) return bad("'c <milliseconds>'");
      // Times are counted in doubles: beyond 2^53 ms (285,000 years) they are no longer exact.
      if (t > (std::uint64_t{1} << 53)) return bad("'c <milliseconds>' of at most 2^53");
      const double prev_ms = now_ms_;
      now_ms_ = static_cast<double>(t);
      // Snapshots hold the state before this timestamp's events: the state at now_ms_, and
      // at an interval boundary within one of heaptrack's ticks before it. After a stall the
      // events before this line happened somewhere in (prev_ms, now_ms_]: the boundaries
      // inside are not observed (filling them with the state before or after would draw a
      // flat stretch or a step that never happened), so one snapshot is taken at now_ms_.
      if (now_ms_ - prev_ms > kHeaptrackStallMs && next_snapshot_ms_ <= now_ms_) {
        out_.stalls.push_back({prev_ms, now_ms_});
        if (regular_at(now_ms_)) snapshot(now_ms_);
        // The first boundary after now_ms_, computed: a jump of years is not walked in steps.
        next_snapshot_ms_ = (std::floor(now_ms_ / interval_ms_) + 1) * interval_ms_;
        while (next_snapshot_ms_ <= now_ms_) next_snapshot_ms_ += interval_ms_;  // rounding
        return Ok{};
      }
      if (now_ms_ - prev_ms > kHeaptrackStallMs) out_.stalls.push_back({prev_ms, now_ms_});
      while (now_ms_ >= next_snapshot_ms_) {
        if (regular_at(next_snapshot_ms_)) snapshot(next_snapshot_ms_);
        next_snapshot_ms_ += interval_ms_;
      }
      return Ok{};
    }
    default:
      return Ok{};
  }
}

std::vector<HeaptrackFrame> HeaptrackTraceParser::frames_of(std::uint32_t trace) const {
  std::vector<HeaptrackFrame> frames;
  // Walk to the root; the guard bounds a (malformed) cycle.
  for (std::size_t guard = 0; trace != 0 && trace < nodes_.size() && guard < 256; ++guard) {
    const Node& node = nodes_[trace];
    const Ip& ip = ips_[node.ip];
    const std::string& module = strings_[ip.module];
    if (ip.frames.empty()) {
      frames.push_back({ip.address, "", "", 0, module});
    } else {
      for (std::size_t k = 0; k + 2 < ip.frames.size(); k += 3) {
        frames.push_back({ip.address, strings_[ip.frames[k]], strings_[ip.frames[k + 1]],
                          static_cast<int>(ip.frames[k + 2]), module});
      }
    }
    trace = node.parent;
  }
  return frames;
}

Result<HeaptrackTrace> HeaptrackTraceParser::finish(bool complete) {
  if (!complete) return parse_error(source_, line_, "a complete last line (trace truncated?)", "");
  if (version_ < 0)
    return parse_error(source_, line_ + 1, "the version line 'v <heaptrack version> 3'",
                       "<end of file>");
  snapshot(now_ms_);
  for (const auto& snap : out_.snapshots)
    for (const auto& [trace, bytes] : snap.live_bytes)
      if (!out_.stacks.count(trace)) out_.stacks.emplace(trace, frames_of(trace));
  return std::move(out_);
}

Result<HeaptrackTrace> parse_heaptrack_trace(std::string_view text, const std::string& source,
                                             double interval_ms, double end_ms) {
  HeaptrackTraceParser parser(source, interval_ms, end_ms);
  detail::LineCursor cursor(text);
  std::string_view line;
  while (cursor.next(line)) {
    if (!cursor.terminated()) return parser.finish(false);
    auto st = parser.feed(line);
    if (!st) return st.error();
  }
  return parser.finish(true);
}

namespace {

// Decompresses `path` (.zst with zstd, .gz with gzip, else plain) through a pipe and calls
// `on_line(line)` for each line without its '\n'; a non-Ok status from it stops the reading and
// is returned. `complete` is false when the last line had no '\n'.
template <typename OnLine>
Status for_each_trace_line(const std::string& path, bool& complete, OnLine on_line) {
  // The file is opened here (a FIFO, device or directory refused, never waited on) and the
  // decompressor reads that open file (/dev/fd/N of the inherited fd), not the path again.
  auto fd = open_input_file(path);
  if (!fd) return fd.error();
  const int in = ::fcntl(*fd, F_DUPFD, 10);  // without FD_CLOEXEC: the shell inherits it
  ::close(*fd);
  if (in < 0) return make_error("cannot read " + printable(path) + ": " + std::strerror(errno));
  std::string tool = "cat";
  if (path.size() > 4 && path.compare(path.size() - 4, 4, ".zst") == 0)
    tool = "zstd -dc";
  else if (path.size() > 3 && path.compare(path.size() - 3, 3, ".gz") == 0)
    tool = "gzip -dc";
  const std::string command = tool + " </dev/fd/" + std::to_string(in) + " 2>/dev/null";
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(command.c_str(), "r"), pclose);
  ::close(in);
  if (!pipe) return make_error(printable(path) + ": cannot start '" + tool + "'");
  std::string line;
  std::size_t number = 1;
  char buf[1 << 16];
  complete = true;
  while (std::fgets(buf, sizeof buf, pipe.get()) != nullptr) {
    line += buf;
    if (line.empty() || line.back() != '\n') {  // a longer line: keep reading, to a bound
      if (line.size() > kMaxLineBytes)
        return make_error(printable(path) + ":" + std::to_string(number) +
                          ": expected a line of at most " + std::to_string(kMaxLineBytes) +
                          " bytes (decompressed), found a longer one (stopped reading there)");
      continue;
    }
    line.pop_back();
    auto st = on_line(std::string_view(line));
    if (!st) return st;
    line.clear();
    ++number;
  }
  if (!line.empty()) complete = false;
  const int status = pclose(pipe.release());
  if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
    return make_error(printable(path) + ": cannot decompress it: '" + tool.substr(0, 4) +
                      "' not found (install it)");
  if (status != 0)
    return make_error(printable(path) + ": decompression failed ('" + tool +
                      "' exited non-zero: the trace is truncated or corrupt)");
  return Ok{};
}

}  // namespace

Result<HeaptrackTrace> read_heaptrack_trace(const std::string& path, double interval_ms,
                                            double end_ms) {
  HeaptrackTraceParser parser(path, interval_ms, end_ms);
  bool complete = true;
  auto st =
      for_each_trace_line(path, complete, [&](std::string_view line) { return parser.feed(line); });
  if (!st) return st.error();
  return parser.finish(complete);
}

Result<double> heaptrack_trace_span_ms(const std::string& path) {
  double last = 0;
  bool complete = true;
  auto st = for_each_trace_line(path, complete, [&](std::string_view line) -> Status {
    if (line.size() < 3 || line[0] != 'c' || line[1] != ' ') return Ok{};
    std::string_view s = line.substr(1);
    std::uint64_t t = 0;
    if (!take_uint(s, t, 16) || !s.empty())
      return make_error(path + ": expected 'c <milliseconds>', got '" + std::string(line) + "'");
    last = static_cast<double>(t);
    return Ok{};
  });
  if (!st) return st.error();
  if (!complete) return make_error(path + ": expected a complete last line (trace truncated?)");
  return last;
}

}  // namespace arenalab::profilers
