// SPDX-License-Identifier: Apache-2.0
// Parsers for jemalloc heap_v2 dumps (written by prof_dump in jemalloc's src/prof_data.c) and
// gperftools heap profiles (HeapProfileTable::FillOrderedProfile). Both are line-oriented text:
// a header, one record per allocation stack, then "MAPPED_LIBRARIES:" and /proc/<pid>/maps.
#include "arenalab/profilers/heap_profile.h"

#include <cmath>

#include "arenalab/core/files.h"
#include "text_lines.h"

namespace arenalab::profilers {

using detail::LineCursor;
using detail::parse_error;
using detail::take;
using detail::take_token;
using detail::take_uint;

const char* format_name(DumpFormat format) {
  return format == DumpFormat::kJemallocHeapV2 ? "jemalloc heap_v2" : "gperftools heap profile";
}

const Mapping* find_mapping(const std::vector<Mapping>& mappings, std::uint64_t address) {
  for (const auto& m : mappings)
    if (address >= m.start && address < m.end) return &m;
  return nullptr;
}

double estimated_live_bytes(const StackRecord& record, std::uint64_t period) {
  if (period == 0 || record.live_objects == 0) return static_cast<double>(record.live_bytes);
  const double mean_size =
      static_cast<double>(record.live_bytes) / static_cast<double>(record.live_objects);
  const double kept = 1.0 - std::exp(-mean_size / static_cast<double>(period));
  if (kept <= 0) return static_cast<double>(record.live_bytes);
  return static_cast<double>(record.live_bytes) / kept;
}

namespace {

// A record whose unsampled estimate is more bytes than a 64-bit address space holds is damage:
// counts or a sample period no allocator wrote (before: figures of 1e8 TiB, or inf).
bool estimate_fits(const StackRecord& record, std::uint64_t period) {
  return estimated_live_bytes(record, period) <= 0x1p64;
}

std::string estimate_what(std::uint64_t period) {
  return "counts whose unsampled estimate (sample period " + std::to_string(period) +
         ") is at most 2^64 bytes";
}

// "N: B [N: B]" as printed by both formats (jemalloc after "t*:", gperftools at line start).
bool take_counts(std::string_view& s, StackRecord& r) {
  return take_uint(s, r.live_objects) && take(s, ":") && take_uint(s, r.live_bytes) &&
         take(s, "[") && take_uint(s, r.total_objects) && take(s, ":") &&
         take_uint(s, r.total_bytes) && take(s, "]");
}

// "@ 0x1 0x2 ..." (the '@' already consumed): at least one hexadecimal address.
bool take_addresses(std::string_view& s, std::vector<std::uint64_t>& out) {
  while (true) {
    detail::skip_spaces(s);
    if (s.empty()) break;
    std::uint64_t a = 0;
    if (!take_uint(s, a, 16)) return false;
    if (!s.empty() && s.front() != ' ' && s.front() != '\t') return false;
    out.push_back(a);
  }
  return !out.empty();
}

// One /proc/<pid>/maps line: "start-end perms offset dev inode [path]".
bool parse_mapping(std::string_view s, Mapping& m) {
  std::uint64_t inode = 0;
  if (!take_uint(s, m.start, 16) || !take(s, "-") || !take_uint(s, m.end, 16)) return false;
  if (m.end < m.start) return false;
  std::string_view perms = take_token(s);
  if (perms.size() != 4) return false;
  m.perms = std::string(perms);
  if (!take_uint(s, m.offset, 16)) return false;
  std::string_view dev = take_token(s);
  if (dev.find(':') == std::string_view::npos) return false;
  if (!take_uint(s, inode)) return false;
  detail::skip_spaces(s);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  m.path = std::string(s);
  return true;
}

// Reads the MAPPED_LIBRARIES section up to the end of the text.
Status parse_mappings(LineCursor& cursor, HeapDump& dump) {
  std::string_view line;
  while (cursor.next(line)) {
    if (!cursor.terminated())
      return parse_error(dump.source, cursor.number(), "a complete line (dump truncated?)", line);
    if (line.empty()) continue;
    Mapping m;
    if (!parse_mapping(line, m))
      return parse_error(dump.source, cursor.number(),
                         "a mapping 'start-end perms offset dev inode path'", line);
    dump.mappings.push_back(std::move(m));
  }
  // Both libraries copy /proc/<pid>/maps, which always has the program's own mappings.
  if (dump.mappings.empty())
    return parse_error(dump.source, cursor.number() + 1,
                       "at least one mapping after MAPPED_LIBRARIES: (dump truncated?)",
                       "<end of file>");
  return Ok{};
}

Error truncated(const HeapDump& dump, const LineCursor& cursor) {
  return parse_error(dump.source, cursor.number() + 1,
                     "a MAPPED_LIBRARIES section (dump truncated?)", "<end of file>");
}

}  // namespace

Result<HeapDump> parse_jemalloc_heap(std::string_view text, const std::string& source) {
  HeapDump dump;
  dump.format = DumpFormat::kJemallocHeapV2;
  dump.source = source;
  LineCursor cursor(text);
  std::string_view line;
  if (!cursor.next(line)) return parse_error(source, 1, "'heap_v2/<sample period>'", "");
  {
    std::string_view s = line;
    if (!take(s, "heap_v2/") || !take_uint(s, dump.sample_period) || !s.empty())
      return parse_error(source, cursor.number(), "'heap_v2/<sample period>'", line);
  }
  // Per-thread totals of the header, then one record per stack:
  //   @ <addresses>
  //     t*: <live objects>: <live bytes> [<total objects>: <total bytes>]
  //     t<thread>: ... (one line per thread that holds some of it)
  bool seen_total = false;
  StackRecord* current = nullptr;
  bool expect_total = false;  // just after "@": the "t*:" line must follow
  while (cursor.next(line)) {
    if (!cursor.terminated())
      return parse_error(source, cursor.number(), "a complete line (dump truncated?)", line);
    std::string_view s = line;
    detail::skip_spaces(s);
    if (s.empty()) {
      if (expect_total) return parse_error(source, cursor.number(), "'t*: <counts>'", line);
      continue;
    }
    if (s == "MAPPED_LIBRARIES:") {
      if (expect_total) return parse_error(source, cursor.number(), "'t*: <counts>'", line);
      if (!seen_total) return parse_error(source, cursor.number(), "the header's 't*:' line", line);
      auto st = parse_mappings(cursor, dump);
      if (!st) return st.error();
      return dump;
    }
    if (s.front() == '@') {
      if (expect_total) return parse_error(source, cursor.number(), "'t*: <counts>'", line);
      if (!seen_total) return parse_error(source, cursor.number(), "the header's 't*:' line", line);
      s.remove_prefix(1);
      dump.stacks.emplace_back();
      current = &dump.stacks.back();
      if (!take_addresses(s, current->addresses))
        return parse_error(source, cursor.number(), "'@ <hex addresses>'", line);
      expect_total = true;
      continue;
    }
    if (s.front() == 't') {
      s.remove_prefix(1);
      const bool total = !s.empty() && s.front() == '*';
      std::uint64_t thread = 0;
      if (total) {
        s.remove_prefix(1);
      } else if (!take_uint(s, thread)) {
        return parse_error(source, cursor.number(), "'t*:' or 't<thread>:'", line);
      }
      StackRecord counts;
      if (!take(s, ":") || !take_counts(s, counts) || !s.empty())
        return parse_error(source, cursor.number(),
                           "'t<thread>: <objects>: <bytes> [<objects>: <bytes>]'", line);
      if (expect_total && !total)
        return parse_error(source, cursor.number(), "'t*: <counts>'", line);
      if (total) {
        if (current == nullptr) {
          if (seen_total)
            return parse_error(source, cursor.number(), "one header 't*:' line", line);
          dump.header_live_objects = counts.live_objects;
          dump.header_live_bytes = counts.live_bytes;
          seen_total = true;
        } else {
          if (!expect_total)
            return parse_error(source, cursor.number(), "one 't*:' line per stack", line);
          if (!estimate_fits(counts, dump.sample_period))
            return parse_error(source, cursor.number(), estimate_what(dump.sample_period), line);
          counts.addresses = std::move(current->addresses);
          *current = std::move(counts);
        }
      } else if (!seen_total) {
        return parse_error(source, cursor.number(), "the header's 't*:' line", line);
      }
      expect_total = false;
      continue;
    }
    return parse_error(source, cursor.number(),
                       "'@ <addresses>', 't<thread>: <counts>' or "
                       "'MAPPED_LIBRARIES:'",
                       line);
  }
  if (!cursor.terminated())
    return parse_error(source, cursor.number(), "a complete line (dump truncated?)", line);
  return truncated(dump, cursor);
}

Result<HeapDump> parse_gperftools_heap(std::string_view text, const std::string& source) {
  HeapDump dump;
  dump.format = DumpFormat::kGperftoolsHeap;
  dump.source = source;
  LineCursor cursor(text);
  std::string_view line;
  const char* header_what =
      "'heap profile: <objects>: <bytes> [<objects>: <bytes>] @ heapprofile|heap_v2/<period>'";
  if (!cursor.next(line)) return parse_error(source, 1, header_what, "");
  {
    std::string_view s = line;
    StackRecord totals;
    if (!take(s, "heap profile:") || !take_counts(s, totals) || !take(s, "@"))
      return parse_error(source, cursor.number(), header_what, line);
    dump.header_live_objects = totals.live_objects;
    dump.header_live_bytes = totals.live_bytes;
    detail::skip_spaces(s);
    if (s == "heapprofile") {
      dump.sample_period = 0;  // HeapProfileTable records every allocation
    } else if (take(s, "heap_v2/")) {
      if (!take_uint(s, dump.sample_period) || !s.empty())
        return parse_error(source, cursor.number(), header_what, line);
    } else {
      return parse_error(source, cursor.number(), header_what, line);
    }
  }
  // One record per bucket: "<objects>: <bytes> [<objects>: <bytes>] @ <addresses>".
  while (cursor.next(line)) {
    if (!cursor.terminated())
      return parse_error(source, cursor.number(), "a complete line (dump truncated?)", line);
    std::string_view s = line;
    detail::skip_spaces(s);
    if (s.empty()) continue;
    if (s == "MAPPED_LIBRARIES:") {
      auto st = parse_mappings(cursor, dump);
      if (!st) return st.error();
      return dump;
    }
    StackRecord record;
    if (!take_counts(s, record) || !take(s, "@") || !take_addresses(s, record.addresses))
      return parse_error(source, cursor.number(),
                         "'<objects>: <bytes> [<objects>: <bytes>] @ <addresses>' or "
                         "'MAPPED_LIBRARIES:'",
                         line);
    if (!estimate_fits(record, dump.sample_period))
      return parse_error(source, cursor.number(), estimate_what(dump.sample_period), line);
    dump.stacks.push_back(std::move(record));
  }
  if (!cursor.terminated())
    return parse_error(source, cursor.number(), "a complete line (dump truncated?)", line);
  return truncated(dump, cursor);
}

Result<HeapDump> parse_heap_dump(std::string_view text, const std::string& source) {
  if (text.substr(0, 8) == "heap_v2/") return parse_jemalloc_heap(text, source);
  if (text.substr(0, 13) == "heap profile:") return parse_gperftools_heap(text, source);
  std::string_view first = text.substr(0, text.find('\n'));
  return detail::parse_error(source, 1,
                             "a heap profile ('heap_v2/<period>' for jemalloc or 'heap profile:' "
                             "for gperftools)",
                             first);
}

Result<HeapDump> read_heap_dump(const std::string& path) {
  auto text = read_file(path);
  if (!text) return text.error();
  return parse_heap_dump(*text, path);
}

}  // namespace arenalab::profilers
