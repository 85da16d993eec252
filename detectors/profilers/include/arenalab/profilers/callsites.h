// SPDX-License-Identifier: Apache-2.0
// Per-call-site live-bytes series built from a sequence of heap dumps (or a heaptrack trace),
// and their classification: which allocation sites keep growing.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "arenalab/analysis/analysis.h"
#include "arenalab/formats/profile.h"
#include "arenalab/profilers/heap_profile.h"
#include "arenalab/profilers/heaptrack_trace.h"
#include "arenalab/profilers/symbolize.h"

namespace arenalab::profilers {

// A dump and when it was written (ms since the target started).
struct TimedDump {
  double t_ms = 0;
  HeapDump dump;
};

// What the slope analysis says about one series.
struct SeriesVerdict {
  // Only kLeak, kBounded, kStable or kUnresolved (analysis::classify_series' set).
  analysis::Verdict verdict = analysis::Verdict::kUnresolved;
  double slope_bytes_per_s = 0;  // trend of the series (valid unless unresolved)
  std::string method;            // which classifier produced it
  std::string reason;            // one line: why
  bool is_leak() const { return verdict == analysis::Verdict::kLeak; }
  // The slope when it means something: not unresolved, and finite.
  bool has_slope() const;
};

// What a call site's bytes are: malloc/new from a heap profile, or anonymous mmap(2) the
// program made itself (the interposer's mmap.<seq>.heap dumps).
// profile.json's closed set (formats/profile.h).
using SiteSource = profile_file::SiteSource;
using profile_file::source_name;  // "heap", "mmap"

// One call site: the part of the allocation stack above the allocator (innermost first), and
// its live bytes at every dump time (0 where the dump had no live object from it).
struct CallsiteSeries {
  std::vector<Frame> frames;  // the whole stack as recorded, symbolized
  std::size_t site = 0;       // index in `frames` of the first non-allocator frame
  std::vector<double> t_ms;
  std::vector<double> live_bytes;  // sampling undone (estimated_live_bytes)
  SeriesVerdict verdict;
  SiteSource source = SiteSource::kHeap;
  // Live bytes in the dump taken at exit, after teardown (not part of the series).
  std::optional<double> bytes_at_exit;
  // Sampled dumps (jemalloc prof, the interposer's sample mode): the live objects each dump
  // recorded for this site (before undoing the sampling, one per live_bytes entry) and the
  // mean bytes between samples. Few samples make the series move in steps. Empty / 0 when the
  // profiler records every allocation.
  std::vector<std::uint64_t> samples;
  std::uint64_t sample_period = 0;

  const Frame* site_frame() const { return site < frames.size() ? &frames[site] : nullptr; }
  double bytes_now() const { return live_bytes.empty() ? 0 : live_bytes.back(); }
  std::uint64_t samples_now() const { return samples.empty() ? 0 : samples.back(); }
};

// Groups the stacks of all dumps by call site (the stack with the allocator frames removed,
// so stacks that differ only inside the allocator are one site) and builds one series each.
// The site is the first frame that is neither allocator machinery nor skipped by `filter`
// (allocation wrappers such as zmalloc, --skip).
std::vector<CallsiteSeries> callsites_from_dumps(const std::vector<TimedDump>& dumps,
                                                 Symbolizer& symbolizer,
                                                 const SiteFilter& filter = {});

// The same from a heaptrack trace; its stacks arrive symbolized by heaptrack.
std::vector<CallsiteSeries> callsites_from_heaptrack(const HeaptrackTrace& trace,
                                                     const SiteFilter& filter = {});

// Classifies one series with the suite's slope analysis (analysis::classify_series); `method`
// in the result names it.
SeriesVerdict classify_series(const std::vector<double>& t_ms, const std::vector<double>& bytes);

// Classifies every series and orders them: leaks first, then by slope, then by bytes now.
void classify_and_rank(std::vector<CallsiteSeries>& sites);

}  // namespace arenalab::profilers
