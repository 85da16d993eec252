// SPDX-License-Identifier: Apache-2.0
// heap-sites.jsonl reading: every line checked (schema, types, ranges, order, stacks defined
// before use); errors are "<file>:<line>: what was expected".
#include "arenalab/formats/heap_sites.h"

#include <charconv>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

#include "arenalab/core/lines.h"
#include "arenalab/core/text.h"
#include "arenalab/formats/json.h"

namespace arenalab::heap_sites {

namespace {

using formats::FormatError;
using formats::json;
using formats::Obj;

constexpr std::int64_t kMaxCount = std::numeric_limits<std::int64_t>::max() / 2;

std::uint64_t frame_address(const json& v, const std::string& path) {
  if (v.is_string()) {
    const std::string& s = v.get_ref<const std::string&>();
    std::uint64_t a = 0;
    if (s.size() > 2 && s.size() <= 18 && s[0] == '0' && s[1] == 'x') {
      auto [p, ec] = std::from_chars(s.data() + 2, s.data() + s.size(), a, 16);
      if (ec == std::errc() && p == s.data() + s.size()) return a;
    }
  }
  throw FormatError(path + ": expected an address \"0x<hex>\", found " + formats::describe_type(v));
}

Header parse_header(const json& j) {
  formats::schema_version(j, "arenalab.heap_sites", 1, 1);
  Obj o(j, "header");
  Header h;
  h.pid = o.integer("pid", 1, std::numeric_limits<std::int32_t>::max());
  h.sample_bytes = o.integer("sample_bytes", 1, kMaxCount);
  h.top = o.integer("top", 1, 1 << 20);
  return h;
}

}  // namespace

Result<HeapSites> read_heap_sites(const std::string& path) {
  const std::string file = printable(path);
  auto in = LineReader::open(path);
  if (!in) return in.error();
  HeapSites out;
  std::string line, next;
  auto got = in->next(line);
  if (!got) return got.error();
  if (!*got || line.empty()) return make_error(file + ": empty, expected a header line");
  bool have = true, first = true;
  while (have) {
    const std::size_t n = in->line_number();
    auto more = in->next(next);
    if (!more) return more.error();
    const std::string where = file + ":" + std::to_string(n) + ": ";
    json j;
    try {
      j = json::parse(line);
    } catch (const json::exception&) {
      // Only the very last line may be cut short by a kill (then it is not JSON at all).
      if (!*more && !first) {
        out.truncated = true;
        break;
      }
      return make_error(where + "expected one JSON object, found text that is not valid JSON");
    }
    try {
      if (first) {
        out.header = parse_header(j);
        first = false;
      } else {
        Obj o(j, "line");
        if (o.has("stack")) {
          const auto id = static_cast<std::uint32_t>(
              o.integer("stack", 0, std::numeric_limits<std::uint32_t>::max()));
          const json& frames = o.array("frames");
          std::vector<std::uint64_t> f;
          for (std::size_t i = 0; i < frames.size(); ++i)
            f.push_back(frame_address(frames[i], "frames[" + std::to_string(i) + "]"));
          if (!out.stacks.emplace(id, std::move(f)).second)
            throw FormatError("stack: " + std::to_string(id) + " is described twice");
        } else {
          Point p;
          p.seq = o.integer("seq", 0, kMaxCount);
          p.t_ms = o.num("t_ms", 0);
          const std::int64_t want = out.points.empty() ? 0 : out.points.back().seq + 1;
          if (p.seq != want)
            throw FormatError("seq: expected " + std::to_string(want) + ", found " +
                              std::to_string(p.seq));
          if (!out.points.empty() && p.t_ms < out.points.back().t_ms)
            throw FormatError(
                "t_ms: expected a time >= " + formats::number_text(out.points.back().t_ms) +
                " ms (the previous point's), found " + formats::number_text(p.t_ms));
          const json& sites = o.array("sites");
          if (static_cast<std::int64_t>(sites.size()) > out.header.top)
            throw FormatError("sites: expected at most " + std::to_string(out.header.top) +
                              " (the header's top), found " + std::to_string(sites.size()));
          for (std::size_t i = 0; i < sites.size(); ++i) {
            const json& s = sites[i];
            const std::string sp = "sites[" + std::to_string(i) + "]";
            auto count = [&](std::size_t k, std::int64_t max) -> std::int64_t {
              const json& v = s[k];
              if (!v.is_number_integer() && !v.is_number_unsigned())
                throw FormatError(sp + "[" + std::to_string(k) + "]: expected an integer, found " +
                                  formats::describe_type(v));
              const auto x = v.get<std::int64_t>();
              if (x < 0 || x > max ||
                  (v.is_number_unsigned() &&
                   v.get<std::uint64_t>() > static_cast<std::uint64_t>(max)))
                throw FormatError(sp + "[" + std::to_string(k) + "]: expected 0.." +
                                  std::to_string(max) + ", found " + formats::describe_type(v));
              return x;
            };
            if (!s.is_array() || s.size() != 3)
              throw FormatError(sp + ": expected [stack, objs, bytes], found " +
                                formats::describe_type(s));
            Site site;
            site.stack =
                static_cast<std::uint32_t>(count(0, std::numeric_limits<std::uint32_t>::max()));
            site.objs = count(1, kMaxCount);
            site.bytes = count(2, kMaxCount);
            if (!out.stacks.count(site.stack))
              throw FormatError(sp + ": stack " + std::to_string(site.stack) +
                                " is used before a line describes it");
            if (!p.sites.empty() && site.bytes > p.sites.back().bytes)
              throw FormatError(sp + ": expected sites largest first, found " +
                                std::to_string(site.bytes) + " bytes after " +
                                std::to_string(p.sites.back().bytes));
            p.sites.push_back(site);
          }
          out.points.push_back(std::move(p));
        }
      }
    } catch (const FormatError& e) {
      return make_error(where + printable(e.what()));
    } catch (const json::exception& e) {
      return make_error(where + printable(e.what()));
    }
    line.swap(next);
    have = *more;
  }
  return out;
}

double sampled_estimate(const Site& s, std::int64_t sample_bytes) {
  if (s.objs <= 0 || s.bytes <= 0 || sample_bytes <= 0) return 0;
  const double avg = static_cast<double>(s.bytes) / static_cast<double>(s.objs);
  const double p = 1.0 - std::exp(-avg / static_cast<double>(sample_bytes));
  return p > 0 ? static_cast<double>(s.bytes) / p : static_cast<double>(s.bytes);
}

std::vector<SeriesPoint> site_series(const HeapSites& f, std::uint32_t stack) {
  std::vector<SeriesPoint> out;
  for (const Point& p : f.points)
    for (const Site& s : p.sites)
      if (s.stack == stack) out.push_back({p.t_ms, sampled_estimate(s, f.header.sample_bytes)});
  return out;
}

}  // namespace arenalab::heap_sites
