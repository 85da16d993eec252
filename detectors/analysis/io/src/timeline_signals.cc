// SPDX-License-Identifier: Apache-2.0
// timeline.jsonl -> the classifier's signals in one pass and bounded memory (timeline_signals.h).
#include "arenalab/analysis/timeline_signals.h"

#include <cmath>
#include <string>
#include <utility>

namespace arenalab::analysis {

namespace {

// What signals_from_timeline adds beside the series: the backend, the program, the purge probe.
void add_context(Signals& sig, const timeline::Header& h,
                 const std::optional<timeline::Sample>& last,
                 const std::optional<timeline::Sample>& after_purge) {
  sig.backend = h.allocator.backend;
  if (!h.command.empty()) {
    const std::string& argv0 = h.command.front();
    sig.program = argv0.substr(argv0.find_last_of('/') + 1);  // npos + 1 = 0: the whole name
  }
  if (after_purge && last)
    sig.purge = PurgeProbe{last->rss, after_purge->rss, last->resident, after_purge->resident};
}

}  // namespace

SignalRow signal_row(const timeline::Sample& s) {
  SignalRow r;
  r.t_ms = s.t_ms;
  auto put = [&](SignalIndex i, const timeline::Opt& v) {
    if (v) r.v[i] = *v;
  };
  put(kRssIdx, s.rss);
  put(kRssAnonIdx, s.rss_anon);
  put(kLiveBytesIdx, s.live_bytes);
  put(kAllocatedIdx, s.allocated);
  put(kActiveIdx, s.active);
  put(kResidentIdx, s.resident);
  put(kMappedIdx, s.mapped);
  put(kRetainedIdx, s.retained);
  put(kMmapBytesIdx, s.mmap_bytes);
  put(kRssFileIdx, s.rss_file);
  put(kRssShmemIdx, s.rss_shmem);
  put(kVmSizeIdx, s.vm_size);
  // attach's level rss wrote them as gauges before they had fields of their own
  auto gauge = [&](SignalIndex i, const char* name) {
    if (std::isfinite(r.v[i])) return;
    if (auto it = s.gauges.find(name); it != s.gauges.end()) r.v[i] = it->second;
  };
  gauge(kRssFileIdx, "rss_file");
  gauge(kRssShmemIdx, "rss_shmem");
  return r;
}

Result<TimelineSignals> read_signals(const std::string& path, std::size_t max_rows) {
  TimelineSignals out;
  SignalThinner thin(max_rows);
  std::optional<timeline::Sample> after_purge;
  std::size_t history_lines = 0;  // lines of a rolled file's history
  auto cut = timeline::scan_timeline(
      path, [&](timeline::Header&& h) { out.header = std::move(h); },
      [&](timeline::Sample&& s) {
        if (s.after_purge) {
          after_purge = std::move(s);
          return;
        }
        if (out.header.history && s.t_ms < out.header.history->until_ms) ++history_lines;
        if (s.allocated || s.active || s.resident || s.mapped || s.retained) ++out.books_lines;
        if (s.rss || s.rss_anon) ++out.rss_lines;
        thin.add(signal_row(s));
        out.last = std::move(s);
      });
  if (!cut) return cut.error();
  out.truncated = *cut;
  out.lines = thin.rows_seen();
  out.samples = out.lines;
  if (out.header.history)
    out.samples = out.lines - history_lines + static_cast<std::size_t>(out.header.history->samples);
  out.kept = thin.rows_kept();
  out.signals = thin.signals();
  add_context(out.signals, out.header, out.last, after_purge);
  return out;
}

std::optional<std::string> account_for_sparse_books(const TimelineSignals& tl, Classification& c,
                                                    const Options& o) {
  auto find = [&](const std::string& name) -> const SeriesVerdict* {
    for (const auto& e : c.evidence)
      if (e.signal == name) return &e.v;
    return nullptr;
  };
  const SeriesVerdict* held = c.held_signal == "allocated" ? find("allocated") : nullptr;
  const SeriesVerdict* rss = c.rss_signal.empty() ? nullptr : find(c.rss_signal);
  // Too few blocks to judge (whole.blocks 0) is the books' count, not their values: only then,
  // and only where RSS, sampled on the same ticks, had enough.
  if (!held || held->whole.blocks != 0 || !rss || rss->whole.blocks == 0 || tl.books_lines == 0 ||
      tl.books_lines >= tl.rss_lines)
    return std::nullopt;
  std::string note = "the allocator's books were read in " + std::to_string(tl.books_lines) +
                     " of the " + std::to_string(tl.rss_lines) +
                     " samples that have RSS: arenalab paces them to their CPU cost" +
                     (tl.header.allocator.backend == formats::Backend::kGlibc
                          ? " (glibc's mallinfo2 walks every free chunk under each arena's lock)"
                          : "") +
                     ", so " + c.held_signal + " had too few to judge";
  if (c.verdict != Verdict::kUnresolved) return note;
  // What level rss would say: the same classifier on the same timeline without the books.
  Signals rss_only = tl.signals;
  for (Series* s : {&rss_only.allocated, &rss_only.active, &rss_only.resident, &rss_only.mapped,
                    &rss_only.retained})
    *s = Series{};
  Classification r = classify(rss_only, o);
  if (r.verdict == Verdict::kUnresolved) return note;
  // classify says itself what RSS alone cannot separate (heap from non-heap)
  r.reason = note + "; judged on RSS alone, as level rss does: " + r.reason;
  r.evidence = std::move(c.evidence);  // the books' rows stay in the table, saying too little
  c = std::move(r);
  return note;
}

Result<timeline::RollResult> roll_timeline(const std::string& path,
                                           const timeline::RollOptions& o) {
  return timeline::roll_timeline(path, o, [](const std::vector<timeline::Sample>& block) {
    std::vector<SignalRow> rows;
    rows.reserve(block.size());
    for (const auto& s : block) rows.push_back(signal_row(s));
    return pick_rows(rows);
  });
}

std::size_t LiveSignals::poll() {
  return tail_.poll(
      [&](timeline::Sample&& s) {
        if (s.after_purge) return;  // the probe is written at exit: the final verdict reads it
        thin_.add(signal_row(s));
        last_ = std::move(s);
      },
      [&] {  // the target exec'd: its series starts again, as the final verdict reads it
        thin_ = SignalThinner(max_rows_);
        last_.reset();
      });
}

Signals LiveSignals::signals() const {
  Signals sig = thin_.signals();
  if (tail_.header()) add_context(sig, *tail_.header(), last_, std::nullopt);
  return sig;
}

Result<std::vector<LiveLine>> replay_live(const std::string& path, double every_ms,
                                          const Options& o, double warmup_ms,
                                          std::size_t max_rows) {
  std::vector<LiveLine> out;
  SignalThinner thin(max_rows);
  timeline::Header header;
  std::optional<timeline::Sample> last;
  LiveVerdict live(warmup_ms);
  Options live_o = o;  // as the line sees it: the program running, no release final
  live_o.running = true;
  double next = every_ms;
  auto line = [&](double t_ms) {
    Signals sig = thin.signals();
    add_context(sig, header, last, std::nullopt);
    const Classification c = classify(sig, live_o);
    LiveLine l;
    l.t_ms = t_ms;
    l.verdict = c.verdict;
    l.growth_span_ms = growth_span_ms(c, t_ms);
    l.shown = live.show(c, t_ms, 250);
    l.claims_growth = live.claims_growth();
    l.reason = c.reason;
    out.push_back(std::move(l));
  };
  auto cut = timeline::scan_timeline(
      path, [&](timeline::Header&& h) { header = std::move(h); },
      [&](timeline::Sample&& s) {
        if (s.after_purge) return;  // written at exit: the final verdict reads it
        for (; s.t_ms > next; next += every_ms)
          if (last) line(next);
        thin.add(signal_row(s));
        last = std::move(s);
      });
  if (!cut) return cut.error();
  return out;
}

}  // namespace arenalab::analysis
