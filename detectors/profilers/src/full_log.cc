// SPDX-License-Identifier: Apache-2.0
// allocs.bin replayed: per-site counts, temporary allocations and the live bytes at the peak.
// The records are decoded by runner::for_each_full_log_record (layouts: docs/interposer.md).
#include "arenalab/profilers/full_log.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <unordered_map>

#include "arenalab/core/files.h"
#include "arenalab/core/sizes.h"
#include "arenalab/profilers/flamegraph.h"
#include "arenalab/runner/runner.h"
#include "profilers_internal.h"

namespace arenalab::profilers {

namespace {

struct Event {
  std::uint64_t ns, p, size;
  std::uint32_t stack;
  bool alloc;
};

}  // namespace

Result<FullLogViews> analyze_full_log(const std::string& dir, double temporary_ms,
                                      const SiteFilter& filter, std::optional<double> at_ms) {
  FullLogViews v;
  v.log_path = dir + "/allocs.bin";
  v.temporary_ms = temporary_ms;
  std::map<std::uint32_t, std::vector<std::uint64_t>> stacks;
  std::vector<Event> events;
  Status st = runner::for_each_full_log_record(v.log_path, [&](const runner::FullLogRecord& r) {
    if (r.tag == 'S')
      stacks[r.stack] = r.frames;
    else if (r.tag == 'A')
      events.push_back({r.ns, r.ptr, r.size, r.stack, true});
    else if (r.tag == 'F')
      events.push_back({r.ns, r.ptr, 0, 0, false});
  });
  if (!st) return st.error();
  // Threads' buffers interleave by when they were flushed: time order, a thread's own kept.
  std::stable_sort(events.begin(), events.end(),
                   [](const Event& a, const Event& b) { return a.ns < b.ns; });

  // Mappings for symbolization: full mode dumps the program's own mmap beside the log.
  std::vector<std::string> dumps;
  for (const char* prefix : {"mmap.", "heap."})
    for (auto& f : detail::dump_files(dir, prefix, ".heap", 0, true)) dumps.push_back(f);
  std::vector<Mapping> mappings;
  if (!dumps.empty()) {
    v.mappings_from = *std::max_element(dumps.begin(), dumps.end(), [](auto& a, auto& b) {
      return detail::mtime_ns(a) < detail::mtime_ns(b);
    });
    auto dump = read_heap_dump(v.mappings_from);
    if (!dump) return dump.error();
    mappings = std::move(dump->mappings);
  }
  // One site per stack from the first user frame outward (as callsites_from_dumps).
  Symbolizer symbolizer;
  std::map<std::vector<std::uint64_t>, std::size_t> site_of_key;
  std::unordered_map<std::uint32_t, std::size_t> site_of_stack;
  for (const auto& [id, addresses] : stacks) {
    std::vector<Frame> frames;
    for (auto a : addresses) {
      auto inlined = symbolizer.resolve_inlined(a, mappings);
      frames.insert(frames.end(), inlined.begin(), inlined.end());
    }
    const std::size_t site = first_user_frame(frames, filter);
    std::vector<std::uint64_t> key;
    for (std::size_t k = site; k < frames.size(); ++k) key.push_back(frames[k].address);
    auto [it, inserted] = site_of_key.try_emplace(key, v.sites.size());
    if (inserted) v.sites.push_back({std::move(frames), site});
    site_of_stack[id] = it->second;
  }
  const std::size_t unknown = v.sites.size();  // allocations whose stack was not recorded
  v.sites.push_back({{Frame{0, "(stack not recorded)", "", 0, ""}}, 0});

  // Pass 1: counts, temporaries, and when the total peaked.
  struct Live {
    std::uint64_t size, ns;
    std::size_t site;
  };
  std::unordered_map<std::uint64_t, Live> live;
  std::uint64_t total = 0;
  std::size_t peak_index = 0;
  const std::uint64_t window_ns = static_cast<std::uint64_t>(temporary_ms * 1e6);
  for (std::size_t k = 0; k < events.size(); ++k) {
    const Event& e = events[k];
    if (e.alloc) {
      auto s = site_of_stack.find(e.stack);
      const std::size_t site = s != site_of_stack.end() ? s->second : unknown;
      ++v.allocs;
      ++v.sites[site].allocs;
      v.sites[site].allocated_bytes += e.size;
      if (auto old = live.find(e.p); old != live.end()) total -= old->second.size;
      live[e.p] = {e.size, e.ns, site};
      total += e.size;
      if (total > v.peak_bytes) {
        v.peak_bytes = total;
        peak_index = k;
      }
    } else if (auto it = live.find(e.p); it != live.end()) {
      ++v.frees;
      if (e.ns - it->second.ns <= window_ns) {
        ++v.temporary;
        ++v.sites[it->second.site].temporary;
      }
      total -= it->second.size;
      live.erase(it);
    }
  }
  for (const auto& [p, l] : live) v.sites[l.site].end_bytes += l.size;
  // Pass 2: the live bytes of every site at the peak (and at the chosen time): replayed up to
  // and including event `last`.
  auto live_by_site_until = [&](std::size_t last, auto member) {
    live.clear();
    for (std::size_t k = 0; k <= last && k < events.size(); ++k) {
      const Event& e = events[k];
      if (e.alloc) {
        auto s = site_of_stack.find(e.stack);
        live[e.p] = {e.size, e.ns, s != site_of_stack.end() ? s->second : unknown};
      } else {
        live.erase(e.p);
      }
    }
    std::uint64_t sum = 0;
    for (const auto& [p, l] : live) {
      v.sites[l.site].*member += l.size;
      sum += l.size;
    }
    return sum;
  };
  if (!events.empty()) {
    v.peak_t_ms = static_cast<double>(events[peak_index].ns - events.front().ns) / 1e6;
    live_by_site_until(peak_index, &FullLogSite::peak_bytes);
    if (at_ms) {
      // The last event at or before the chosen time (none: the state before the first).
      const auto at_ns =
          events.front().ns + static_cast<std::uint64_t>(std::max(0.0, *at_ms) * 1e6);
      std::size_t n = 0;
      while (n < events.size() && events[n].ns <= at_ns) ++n;
      v.at_t_ms = *at_ms;
      v.at_total_bytes = n == 0 ? 0 : live_by_site_until(n - 1, &FullLogSite::at_bytes);
    }
  }
  v.sites.erase(std::remove_if(v.sites.begin(), v.sites.end(),
                               [](const FullLogSite& s) { return s.allocs == 0; }),
                v.sites.end());
  std::stable_sort(v.sites.begin(), v.sites.end(), [](const auto& a, const auto& b) {
    return a.peak_bytes != b.peak_bytes ? a.peak_bytes > b.peak_bytes : a.allocs > b.allocs;
  });
  return v;
}

namespace {
std::string site_name(const FullLogSite& s) {
  if (const Frame* f = s.site_frame()) return f->display();
  return s.frames.empty() ? "(no frames)" : "(allocator/runtime only) " + s.frames.back().display();
}
}  // namespace

std::string full_log_text(const FullLogViews& v, int top) {
  std::string out = fmt::format(
      "full log: {} ({} allocations, {} frees; stacks symbolized with {})\n", v.log_path, v.allocs,
      v.frees, v.mappings_from.empty() ? "no mappings" : v.mappings_from);
  auto table = [&](const std::string& title, auto key, auto cell) {
    std::vector<const FullLogSite*> rows;
    for (const auto& s : v.sites)
      if (key(s) > 0) rows.push_back(&s);
    std::stable_sort(rows.begin(), rows.end(),
                     [&](const auto* a, const auto* b) { return key(*a) > key(*b); });
    out += "\n" + title + "\n";
    int n = 0;
    for (const auto* s : rows) {
      if (n++ >= top) break;
      out += fmt::format("  {:>22}  {}\n", cell(*s), site_name(*s));
    }
    if (rows.empty()) out += "  (none)\n";
  };
  table(
      fmt::format("live at the peak ({} at {:.1f} s):", format_bytes(v.peak_bytes),
                  v.peak_t_ms / 1000),
      [](const FullLogSite& s) { return s.peak_bytes; },
      [](const FullLogSite& s) { return format_bytes(static_cast<double>(s.peak_bytes)); });
  if (v.at_t_ms)
    table(
        fmt::format("live at {:.1f} s ({}):", *v.at_t_ms / 1000,
                    format_bytes(static_cast<double>(v.at_total_bytes))),
        [](const FullLogSite& s) { return s.at_bytes; },
        [](const FullLogSite& s) { return format_bytes(static_cast<double>(s.at_bytes)); });
  table(
      fmt::format("temporary allocations (freed within {} ms; {} of {}):", v.temporary_ms,
                  v.temporary, v.allocs),
      [](const FullLogSite& s) { return s.temporary; },
      [](const FullLogSite& s) { return fmt::format("{} of {}", s.temporary, s.allocs); });
  table(
      "allocations per call site:", [](const FullLogSite& s) { return s.allocs; },
      [](const FullLogSite& s) {
        return fmt::format("{} ({})", s.allocs,
                           format_bytes(static_cast<double>(s.allocated_bytes)));
      });
  return out;
}

namespace {
std::vector<CallsiteSeries> one_point_series(const FullLogViews& v, double t_ms,
                                             std::uint64_t FullLogSite::*member) {
  std::vector<CallsiteSeries> out;
  for (const auto& s : v.sites) {
    CallsiteSeries c;
    c.frames = s.frames;
    c.site = s.site;
    c.t_ms = {t_ms};
    c.live_bytes = {static_cast<double>(s.*member)};
    out.push_back(std::move(c));
  }
  return out;
}
}  // namespace

std::vector<CallsiteSeries> peak_series(const FullLogViews& v) {
  return one_point_series(v, v.peak_t_ms, &FullLogSite::peak_bytes);
}

std::vector<CallsiteSeries> at_series(const FullLogViews& v) {
  return one_point_series(v, v.at_t_ms.value_or(0), &FullLogSite::at_bytes);
}

Result<std::string> write_full_log_graphs(const FullLogViews& v, const OutputDir& dir) {
  struct Graph {
    std::string stem, title;
    std::vector<CallsiteSeries> series;
  };
  std::vector<Graph> graphs = {
      {"peak", fmt::format("Live bytes at the peak ({:.1f} s)", v.peak_t_ms / 1000),
       peak_series(v)}};
  if (v.at_t_ms)
    graphs.push_back(
        {"live-at", fmt::format("Live bytes at {:.1f} s", *v.at_t_ms / 1000), at_series(v)});
  std::string out;
  for (const auto& g : graphs) {
    const std::string folded = folded_stacks(g.series, std::nullopt, std::nullopt);
    const std::string base = dir.path() + "/" + g.stem;
    Status st = dir.write_file(g.stem + ".folded", folded);
    if (st) st = dir.write_file(g.stem + ".svg", flamegraph_svg(folded, g.title));
    if (!st) return st.error();
    out += fmt::format("{} flame graph: {}.svg (folded stacks: {}.folded)\n",
                       g.stem == "peak" ? "peak" : "live-at", base, base);
  }
  return out;
}

}  // namespace arenalab::profilers
