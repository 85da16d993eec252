// SPDX-License-Identifier: Apache-2.0
// allocs.bin replayed: per-site counts, temporary allocations and the live bytes at the peak.
// The records come in time order from runner::for_each_full_log_record_in_time_order (layouts:
// docs/interposer.md).
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

// What one stack's allocations came to. `live` is its live bytes now; `peak` its live bytes when
// the program's total last peaked, taken lazily: before `live` first changes after a new peak
// (epoch < the peak's), it still holds the value it had then.
struct StackTally {
  std::uint64_t allocs = 0, allocated_bytes = 0, temporary = 0;
  std::uint64_t live = 0, peak = 0, at = 0;
  std::uint64_t epoch = 0;
};

}  // namespace

Result<FullLogViews> analyze_full_log(const std::string& dir, double temporary_ms,
                                      const SiteFilter& filter, std::optional<double> at_ms) {
  FullLogViews v;
  v.log_path = dir + "/allocs.bin";
  v.temporary_ms = temporary_ms;
  // One replay in time order (threads' buffers interleave in the file: the reader orders them),
  // tallied by stack id as it goes: memory is the live blocks and the stacks, not the events.
  std::map<std::uint32_t, std::vector<std::uint64_t>> stacks;
  std::unordered_map<std::uint32_t, StackTally> tally;  // any id, recorded or not
  struct Live {
    std::uint64_t size, ns;
    StackTally* stack;  // unordered_map nodes stay put
  };
  std::unordered_map<std::uint64_t, Live> live;
  std::uint64_t total = 0, peak_epoch = 0, first_ns = 0, peak_ns = 0, at_ns = 0;
  bool any = false, at_taken = false;
  const std::uint64_t window_ns = static_cast<std::uint64_t>(temporary_ms * 1e6);
  auto touch = [&](StackTally& t) {  // before t.live changes: keep its value at the peak
    if (t.epoch < peak_epoch) {
      t.peak = t.live;
      t.epoch = peak_epoch;
    }
  };
  auto take_at = [&] {  // the state after the last event at or before the chosen time
    for (auto& [id, t] : tally) t.at = t.live;
    v.at_total_bytes = total;
    at_taken = true;
  };
  Status st = runner::for_each_full_log_record_in_time_order(
      v.log_path, [&](const runner::FullLogRecord& r) {
        if (r.tag == 'S') {
          stacks[r.stack] = r.frames;
          return;
        }
        if (r.tag != 'A' && r.tag != 'F') return;
        if (!any) {
          any = true;
          first_ns = peak_ns = r.ns;
          at_ns = first_ns + static_cast<std::uint64_t>(std::max(0.0, at_ms.value_or(0)) * 1e6);
        }
        if (at_ms && !at_taken && r.ns > at_ns) take_at();
        if (r.tag == 'A') {
          StackTally& t = tally[r.stack];
          ++v.allocs;
          ++t.allocs;
          t.allocated_bytes += r.size;
          auto [it, fresh] = live.try_emplace(r.ptr, Live{r.size, r.ns, &t});
          if (!fresh) {  // an address allocated again without a free: the old block is gone
            touch(*it->second.stack);
            it->second.stack->live -= it->second.size;
            total -= it->second.size;
            it->second = Live{r.size, r.ns, &t};
          }
          touch(t);
          t.live += r.size;
          total += r.size;
          if (total > v.peak_bytes) {
            v.peak_bytes = total;
            peak_ns = r.ns;
            ++peak_epoch;
          }
        } else if (auto it = live.find(r.ptr); it != live.end()) {
          StackTally& t = *it->second.stack;
          ++v.frees;
          if (r.ns - it->second.ns <= window_ns) {
            ++v.temporary;
            ++t.temporary;
          }
          touch(t);
          t.live -= it->second.size;
          total -= it->second.size;
          live.erase(it);
        }
      });
  if (!st) return st.error();
  std::unordered_map<std::uint64_t, Live>().swap(live);
  if (any) {
    v.peak_t_ms = static_cast<double>(peak_ns - first_ns) / 1e6;
    if (at_ms) {
      if (!at_taken) take_at();  // a time past the end: the state at the end
      v.at_t_ms = *at_ms;
    }
  }

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
  for (const auto& [id, t] : tally) {
    auto s = site_of_stack.find(id);
    FullLogSite& site = v.sites[s != site_of_stack.end() ? s->second : unknown];
    site.allocs += t.allocs;
    site.allocated_bytes += t.allocated_bytes;
    site.temporary += t.temporary;
    site.peak_bytes += t.epoch < peak_epoch ? t.live : t.peak;
    site.end_bytes += t.live;
    site.at_bytes += t.at;
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
  // Only the sites with live bytes then: the others draw nothing in a flame graph (folded_stacks
  // keeps 1 byte and more), and copying every site's symbolized stack doubled analyze's peak
  // memory (docs/interposer.md).
  std::vector<CallsiteSeries> out;
  for (const auto& s : v.sites) {
    if (s.*member == 0) continue;
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
  // One graph at a time: its series (copies of the stacks) are freed before the next is made.
  struct Graph {
    std::string stem, title;
    std::vector<CallsiteSeries> (*series)(const FullLogViews&);
  };
  std::vector<Graph> graphs = {
      {"peak", fmt::format("Live bytes at the peak ({:.1f} s)", v.peak_t_ms / 1000), &peak_series}};
  if (v.at_t_ms)
    graphs.push_back(
        {"live-at", fmt::format("Live bytes at {:.1f} s", *v.at_t_ms / 1000), &at_series});
  std::string out;
  for (const auto& g : graphs) {
    const std::string folded = folded_stacks(g.series(v), std::nullopt, std::nullopt);
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
