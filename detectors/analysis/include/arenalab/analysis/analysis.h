// SPDX-License-Identifier: Apache-2.0
// The slope-analysis classifier (pure: series in, verdict out; no I/O). Tells an unbounded
// leak from allocator retention, a bounded cache, growth outside malloc, or a stable program,
// with the evidence per signal. Method and references: detectors/analysis/README.md.
#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "arenalab/formats/allocator_backend.h"
#include "arenalab/formats/growth_verdict.h"
#include "arenalab/formats/retention_kind.h"

namespace arenalab::analysis {

// One memory signal: times in milliseconds (any origin, need not be evenly spaced), values in
// bytes. Non-finite values are ignored (a missing sample).
struct Series {
  std::vector<double> t_ms;
  std::vector<double> value;
  bool empty() const { return value.empty(); }
};

// The verdict set is owned by the formats layer (formats/growth_verdict.h), which writes and
// reads it: kLeak, kRetention, kBounded, kNonHeapGrowth, kStable, kUnresolved; verdict_name
// gives "leak", "retention", ... "non-heap-growth", parse_verdict the inverse.
using Verdict = formats::GrowthVerdict;
using formats::parse_verdict;
using formats::verdict_name;

// Every decision constant of the classifier, named; README.md gives each its reason. Sizes are
// bytes, rates bytes/s, times seconds, shares of the window 0..1.
struct Options {
  // Significance and materiality (README "Materiality"). A significant trend is material when
  // it adds min_drift_pct of the level over its stretch (min_growth_pct when the series
  // oscillates), or - whatever the level - when even
  // the low end of its rate interval is min_leak_rate or more, or when it would reach
  // limit_bytes within material_horizon_s at that low end - provided its growth stands
  // min_growth_spread times above the raw spread about the trend.
  double alpha = 0.01;                 // Mann-Kendall significance level (two-sided)
  double min_drift_pct = 1.0;          // relative: growth over the stretch, % of level
  double min_growth_pct = 2.0;         // ... on an oscillating series; rises, knees, tails
  double min_leak_rate = 16.0 * 1024;  // absolute: bytes/s (16 KiB/s = 1.3 GiB a day)
  double material_horizon_s = 86400;   // with a limit: reaching it within a day
  double min_growth_spread = 3;        // absolute path: growth >= this x the spread about it
  double cycle_alias_intervals = 2;    // deseasonalized, one point per cycle: growth >= this x
                                       // a cycle's swing x sampling interval / period
  int cycle_levels = 8;                // quantiles of each whole cycle (seasonal Kendall)
  std::optional<double> limit_bytes;   // project the time until a signal reaches this
  // Data and windows.
  double min_tail_fraction = 0.30;  // a plateau is claimed only with this much window after it
  double startup_fraction = 0.15;   // a rise levelled off this early is start-up, not a trend
  int min_samples = 12;             // fewer samples: unresolved
  int min_blocks = 8;               // fewer blocks after aggregation: unresolved
  int max_blocks = 40;              // block aggregation target (blocks of >= 3 samples)
  // Shapes (README "Per series").
  double period_min_acf = 0.3;           // autocorrelation peak that makes a period
  double deseason_min_cycles = 3;        // cycles in the window needed to deseasonalize
  double few_cycles = 10;                // below this many cycles, a leak must raise the troughs
  double trough_min_cycles = 3;          // fewer whole cycles than this: cannot tell, unresolved
  double profile_min_cycles = 3;         // a periodic profile and a drift: whole registered cycles
  int profile_segments = 8;              // the profile's linear pieces over a cycle (at most)
  double cycle_min_drop = 0.5;           // a cycle falls back >= this x what it climbs at the trend
  double knee_sse_ratio = 0.5;           // a knot must leave at most this share of the residual
  double knee_slope_ratio = 0.5;         // slowing: after < ratio x before; onset: the inverse
  double tail_keep_rate = 0.5;           // a leak keeps this share of its rate in the latest half
  double tail_keep_p = 0.05;             // ... significantly (Mann-Kendall p on that half)
  double recent_min_rate = 0.25;         // no knee: the latest stretch keeps this share of the rate
  double moving_iqr_pct = 6.0;           // interquartile range (% of level) that counts as moving
  double saturation_headroom_pct = 5.0;  // fitted bound this close (% of it): saturated
  double saturation_time_constants = 3;  // ... once the approach ran this many time constants
  // The decision (README "Decision").
  double held_rate_ratio = 0.5;       // held grows at this share of RSS's rate: same growth
  double footprint_rate_ratio = 0.5;  // the allocator's footprint grows this share of RSS's rate
  double footprint_slack = 1.05;      // RSS within this factor of the footprint: inside it
  double min_rise_pct = 4.0;          // a material rise of a level (retention, knees, releases), %
  double min_retention_bytes = 1024.0 * 1024;  // ... and in bytes: tens of KiB are never kept
  double held_back_median = 0.25;      // held's median rise <= this x RSS's rise: back at baseline
  double held_back_rest = 1.0 / 16;    // or its lower quartile within this x RSS's rise
  double release_max_fraction = 0.10;  // a trailing fall this share of the samples at most: a
                                       // release at the end of the run (README), set aside
  bool final_release_cut = false;      // internal: set when judging the part before a final release
  // The program is still running (the live line: watch, attach, the --metrics exporter): no
  // release is final, so a fall at the window's end is judged as data, never cut away as the
  // exit's teardown (README "The live line", rule 3).
  bool running = false;
};

// A two-segment (hinge) fit against one line on the block medians.
struct Knee {
  bool found = false;
  double t_ms = 0;           // where the slope changes
  double from_ms = 0;        // where the segment before it starts (the window's first block,
                             // or the first knot of a two-knot fit)
  double slope_before = 0;   // bytes/s
  double slope_after = 0;    // bytes/s
  double tail_fraction = 0;  // share of the window after the knee
  double sse_ratio = 1;      // residual of the hinge / residual of one line (small: a knee)
};

// Trend evidence on one stretch of a series (the whole window, or the part after a knee).
struct Trend {
  double t0_ms = 0, t1_ms = 0;        // the stretch
  std::size_t blocks = 0;             // block-aggregated points the tests ran on
  double block_ms = 0;                // block length
  double slope = 0;                   // Theil-Sen slope of the block medians, bytes/s (Sen 1968)
  double slope_lo = 0, slope_hi = 0;  // its confidence interval (1 - alpha), bytes/s
  double p_median = 1;                // Mann-Kendall p on block medians, Hamed-Rao corrected
  double p_min = 1;                   // the same on block minima (robust to sawtooth and spikes)
  double growth_pct = 0;              // slope x stretch length, as % of level
  bool rising = false;                // significant on both, interval above 0, material
  // A drift with an onset of its own beneath the registered cycles decided (README "A drift with
  // an onset beneath the cycles"): the onset, ms. slope, interval and growth_pct are then the
  // rate after it and the growth from it to the stretch's end.
  std::optional<double> onset_ms;
  // A deseasonalized trend that the regression on the cycle means decided (README
  // "Materiality") shows that test's slope, interval and p (in p_median and p_min both), and its
  // growth over the samples the cycle means were made of.
};

struct SeriesVerdict {
  Verdict verdict = Verdict::kUnresolved;  // only kLeak, kBounded, kStable, kUnresolved
  std::string reason;                      // one sentence: why
  std::size_t samples = 0;
  double duration_ms = 0;
  double start_level = 0;      // median of the first blocks, bytes
  double level = 0;            // median of the last blocks, bytes
  double growth_pct = 0;       // (level - start_level) / level x 100
  double period_ms = 0;        // detected oscillation period (0: none); blocks span whole cycles
  double oscillation_pct = 0;  // interquartile range of the values as % of level
  Trend whole;                 // the whole window
  Knee knee;
  std::optional<Trend> tail;              // the part after the knee, when there is one
  std::optional<double> time_to_limit_s;  // at the trending slope, when a limit was given
  double confidence = 0;                  // 0..1, see README.md
  double rate = 0;                        // leak: the trending slope, bytes/s (else 0)
  std::optional<double> asymptote;        // saturating: the fitted bound of the approach, bytes
  double cycles = 0;                      // whole window / period (0: no period)
  std::optional<double> trough_rise;      // few cycles: the troughs' rise first to last, bytes
  // "Rose, then levelled off" whose stretch after the knee cannot exclude a material leak
  // (README "Levelled off must exclude a leak"): the rate its interval reaches (the upper end
  // of Sen's interval, or of the drift beside an approach from the knee), and the line.
  struct LeakNotExcluded {
    double rate = 0;  // bytes/s
    double line = 0;  // bytes/s: min_drift_pct of the level over the stretch
    bool beside_approach = false;
  };
  std::optional<LeakNotExcluded> leak_not_excluded;
};

// Classifies one series (the single-series API: also used on each call stack's live bytes).
SeriesVerdict classify_series(const Series& s, const Options& options = {});

// The purge probe (run/watch --purge-at-end): the final sample, and the one written right after
// the allocator was asked to purge. Bytes; a figure not measured is empty.
struct PurgeProbe {
  std::optional<double> rss_before, rss_after;
  std::optional<double> resident_before, resident_after;  // the allocator's own books
};

// All signals of one run; any may be empty (not measured).
struct Signals {
  Series rss, rss_anon;               // resident set (total, anonymous)
  Series rss_file, rss_shmem;         // RSS's file-backed and shared-memory (memfd, shm) parts
  Series vm_size;                     // the process's mapped size (VmSize), resident or not
  Series live_bytes;                  // what the program holds, counted by the interposer
  Series allocated;                   // the allocator's books: allocated bytes
  Series active;                      // ... bytes in pages with live blocks (jemalloc)
  Series resident, mapped, retained;  // allocator footprint
  Series mmap_bytes;                  // anonymous mmap the program made itself (it holds it)
  // What only explains retention (retention_kind.cc): the identified backend (kUnknown when
  // not identified), the program's file name (argv[0]'s base), the purge probe when one ran.
  formats::Backend backend = formats::Backend::kUnknown;
  std::string program;
  std::optional<PurgeProbe> purge;
};

// The signals that get a verdict each, in the order the evidence table lists them. One table,
// read by the window check and by the classifier, so a new signal cannot get one but not the
// other.
struct NamedSignal {
  const char* name;
  const Series* series;
};
inline std::array<NamedSignal, 11> named_signals(const Signals& sig) {
  return {{{"rss", &sig.rss},
           {"rss_anon", &sig.rss_anon},
           {"rss_file", &sig.rss_file},
           {"rss_shmem", &sig.rss_shmem},
           {"vm_size", &sig.vm_size},
           {"live_bytes", &sig.live_bytes},
           {"allocated", &sig.allocated},
           {"resident", &sig.resident},
           {"mapped", &sig.mapped},
           {"retained", &sig.retained},
           {"mmap_bytes", &sig.mmap_bytes}}};
}

// Why the allocator keeps memory (issue 19 class 7; README "Retention's kind"): the closed set
// verdict.json carries, owned by formats/retention_kind.h.
using RetentionKind = formats::RetentionKind;
using formats::retention_kind_name;  // "purgeable" | "fragmentation" | "unknown"

struct RetentionDetail {
  RetentionKind kind = RetentionKind::kUnknown;
  double kept_bytes = 0;                       // RSS's rise the program no longer holds
  std::optional<double> fragmented_bytes;      // active - allocated at the end (jemalloc)
  std::optional<double> purgeable_bytes;       // resident - active at the end (jemalloc)
  std::optional<double> purge_returned_bytes;  // RSS before - after the purge probe
  std::string why;                             // the figures that decided, one clause
  std::string fix;                             // what to change, one clause
};

struct SignalEvidence {
  std::string signal;  // "rss", "rss_anon", "live_bytes", "allocated", ..., "gap"
  SeriesVerdict v;
};

struct Classification {
  Verdict verdict = Verdict::kUnresolved;
  double confidence = 0;
  std::string reason;       // one or two sentences naming the decisive comparison
  std::string held_signal;  // "held" (live_bytes or allocated + the program's own mmap_bytes),
                            // "live_bytes" | "allocated" (no own mmap) | "" (none measured)
  std::string rss_signal;   // "rss_anon" | "rss" | ""
  std::vector<SignalEvidence> evidence;   // every signal present, plus "gap" (RSS - held)
  std::optional<double> time_to_limit_s;  // RSS (else held) reaching options.limit_bytes
  double rate = 0;  // leak or non-heap-growth: the growth rate that decided it, bytes/s
  std::optional<RetentionDetail> retention;  // retention only: its kind and fix
};

// The decisive comparison: what the program holds (live bytes, else allocated) against RSS.
Classification classify(const Signals& signals, const Options& options = {});

// Retention's kind and fix from the allocator's active vs allocated figures and the purge probe
// (retention_kind.cc); kept_bytes is RSS's rise the program no longer holds.
RetentionDetail explain_retention(const Signals& signals, double kept_bytes);

// The knee selection's parametric bootstrap p (README "The knee's selection") for series s and
// an observed p, its replicates simulated on at most grid_max of the series' sample times (0:
// the classifier's own cap, 2048), the replicates' stretches judged against the window's level
// (the classifier passes the observed stretch's own reference); nullopt where the classifier
// would not run it (a period, persistence it cannot tell, too little data). Exposed for tests.
std::optional<double> onset_null_p(const Series& s, double p_obs, std::size_t grid_max = 0,
                                   const Options& options = {});

// Building blocks, exposed for tests and the README's worked examples.
namespace stats {
double median(std::vector<double> v);
struct TheilSen {
  double slope = 0, intercept = 0, lo = 0, hi = 0;
};
// Sen (1968) slope of y on x with its (1 - alpha) interval; var_s is Var(S) of the Mann-Kendall
// statistic used for the interval (pass the autocorrelation-corrected one).
TheilSen theil_sen(const std::vector<double>& x, const std::vector<double>& y, double alpha,
                   double var_s);
struct MannKendall {
  double s = 0, var_s = 0, var_s_corrected = 0, z = 0, p = 1;
  double correction = 1;  // n/n* of Hamed & Rao (1998), >= 1
};
// Mann-Kendall trend test with tie correction; the variance is corrected for autocorrelation
// with Hamed & Rao (1998): lags of the ranks of the Sen-detrended series significant at 5 %.
MannKendall mann_kendall(const std::vector<double>& x, const std::vector<double>& y);
double normal_sf(double z);  // P(Z > z)
}  // namespace stats

}  // namespace arenalab::analysis
