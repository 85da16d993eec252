// SPDX-License-Identifier: Apache-2.0
// Retention's kind (issue 19 class 7): is the memory the allocator keeps free pages a purge
// returns (decay, arenas, caches), or pages still holding scattered live blocks (fragmentation)?
// Decided from the purge probe when one ran, else from the allocator's active vs allocated
// figures (jemalloc); README "Retention's kind" gives the rules and the fixes.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>

#include "arenalab/analysis/analysis.h"

namespace arenalab::analysis {

using formats::Backend;

namespace {

// A share of what is kept that decides the kind: a purge returning at least half of it makes
// it purgeable; active pages holding at least half of it above what is allocated make it
// fragmentation. Figures explaining less than a quarter of it explain nothing.
constexpr double kDecisiveShare = 0.5;
constexpr double kExplainsShare = 0.25;
// The end of the run the figures are taken over: the last 30 % of the window (as classify's
// baselines, Options::min_tail_fraction).
constexpr double kRecentShare = 0.3;

std::string mib(double bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f MiB", bytes / (1024.0 * 1024.0));
  return buf;
}

// Quantile q of the values over the last `share` of the window (default: the median).
std::optional<double> recent(const Series& s, double share, double q = 0.5) {
  if (s.value.empty() || s.t_ms.size() != s.value.size()) return std::nullopt;
  const double t_end = s.t_ms.back();
  const double from = t_end - share * (t_end - s.t_ms.front());
  std::vector<double> v;
  for (std::size_t i = 0; i < s.value.size(); ++i)
    if (s.t_ms[i] >= from && std::isfinite(s.value[i])) v.push_back(s.value[i]);
  if (v.empty()) return std::nullopt;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(q * static_cast<double>(v.size())))];
}

// The probe runs at exit: the sample after the purge against the retained level (RSS's median
// over the recent stretch). What came back is free pages - the probe's purge, or a purge or
// decay of the program's own at exit (wl_arena_retention purges itself) - except what the
// program freed itself at exit before the probe (an interpreter's finalization, destructors):
// those bytes may have come back with their pages. *freed_at_exit: what it rested at over the
// recent stretch (its lower quartile: a program bursting between rests is judged by what it
// keeps between bursts) minus its final sample; the caller bounds the probe by it.
std::optional<double> returned_by_exit(const Signals& sig, double* freed_at_exit) {
  const Series& held = sig.live_bytes.empty() ? sig.allocated : sig.live_bytes;
  const auto held_rest = recent(held, kRecentShare, 0.25);
  *freed_at_exit = held_rest && !held.value.empty() && std::isfinite(held.value.back())
                       ? std::max(0.0, *held_rest - held.value.back())
                       : 0.0;
  const auto rss_recent = recent(sig.rss, kRecentShare);
  const double level = std::max(rss_recent.value_or(0), *sig.purge->rss_before);
  return std::max(0.0, level - *sig.purge->rss_after);
}

std::string purgeable_fix(Backend backend) {
  if (backend == Backend::kJemalloc)
    return "shorter decay returns it sooner (MALLOC_CONF=dirty_decay_ms:1000,muzzy_decay_ms:0, "
           "or background_thread:true), or mallctl(\"arena.4096.purge\") after a burst";
  if (backend == Backend::kGlibc)
    return "fewer arenas keep less (MALLOC_ARENA_MAX=2), or malloc_trim(0) after a burst "
           "(a lower MALLOC_TRIM_THRESHOLD_ trims the heap top sooner)";
  if (backend == Backend::kMimalloc)
    return "MIMALLOC_PURGE_DELAY=0 purges freed pages at once, or mi_collect(true) after a burst";
  if (backend == Backend::kTcmalloc)
    return "a higher TCMALLOC_RELEASE_RATE returns free spans sooner, or "
           "MallocExtension_ReleaseFreeMemory() after a burst";
  return "the allocator's purge or decay settings return it";
}

std::string fragmentation_fix(Backend backend, const std::string& program) {
  std::string fix =
      "no purge or decay setting returns pages that still hold live blocks: free long-lived and "
      "short-lived objects from separate arenas or pools, or copy the survivors and free the "
      "old ones";
  if (program.rfind("redis-server", 0) == 0)
    fix =
        "redis: activedefrag yes (CONFIG SET activedefrag yes; jemalloc builds) moves the "
        "surviving keys together and returns the pages; " +
        fix;
  else if (backend == Backend::kGlibc)
    fix += " (MALLOC_ARENA_MAX=2 limits how many arenas the survivors pin)";
  return fix;
}

}  // namespace

RetentionDetail explain_retention(const Signals& sig, double kept_bytes) {
  RetentionDetail d;
  d.kept_bytes = std::max(kept_bytes, 0.0);
  const double kept = std::max(d.kept_bytes, 1.0);
  // The books over the recent stretch the retention was judged on (medians: a release at exit
  // in the last samples does not move them).
  const auto allocated = recent(sig.allocated, kRecentShare);
  const auto active = recent(sig.active, kRecentShare);
  const auto resident = recent(sig.resident, kRecentShare);
  if (allocated && active) d.fragmented_bytes = std::max(0.0, *active - *allocated);
  if (active && resident) d.purgeable_bytes = std::max(0.0, *resident - *active);
  std::string unusable;
  double freed = 0;  // bytes the program freed itself at exit before the probe
  if (sig.purge && sig.purge->rss_before && sig.purge->rss_after)
    d.purge_returned_bytes = returned_by_exit(sig, &freed);
  // The program's own frees at exit bound what the probe can claim (an interval, not a
  // guess): R - freed came back whatever those frees did, so R - freed >= half of what is kept
  // is purgeable; R under half came back even counting them, so the rest is held by live
  // blocks. In between, frees of a material size (min_retention_bytes) could account for the
  // difference and the probe cannot tell. Under load a bursting program's lower quartile lands
  // inside its bursts, so it frees a few MiB at exit; against 100 MiB kept that decides nothing.
  if (d.purge_returned_bytes && freed >= Options{}.min_retention_bytes) {
    const double r = *d.purge_returned_bytes;
    if (r - freed < kDecisiveShare * kept && r >= kDecisiveShare * kept) {
      unusable = "the program freed " + mib(freed) + " at exit before the purge probe ran, " +
                 "which could account for the " + mib(r) + " RSS gave back";
      d.purge_returned_bytes.reset();
    }
  }
  // Survivors the program frees at exit unpin every page they held: a few MiB freed then can
  // make a purge return hundreds that fragmentation kept while it ran. When the books, read
  // over the recent stretch while the program still held its survivors, say fragmentation
  // (active - allocated at least half of what is kept) and the program freed a material amount
  // at exit, the probe measured a state the run never had: the books decide.
  // retention__py-fragment__jemalloc (one 600-byte survivor in KEEP on every page, python's
  // finalization freeing them) read purgeable from the probe while active - allocated was
  // 178.1 MiB of the 185.5 MiB kept.
  if (d.purge_returned_bytes && freed >= Options{}.min_retention_bytes && d.fragmented_bytes &&
      *d.fragmented_bytes >= kDecisiveShare * kept) {
    unusable = "the program freed " + mib(freed) + " at exit before the purge probe ran, " +
               "unpinning the pages its survivors held: the books read while it ran decide";
    d.purge_returned_bytes.reset();
  }

  const std::string books =
      d.fragmented_bytes
          ? "active pages hold " + mib(*d.fragmented_bytes) + " more than is allocated" +
                (d.purgeable_bytes ? ", free resident pages " + mib(*d.purgeable_bytes) : "")
          : std::string();
  if (d.purge_returned_bytes) {
    // The probe measures it directly: what a purge gave back is purgeable; what stayed is held
    // by live blocks.
    const std::string probe =
        "by exit, the purge probe included, RSS gave back " + mib(*d.purge_returned_bytes) +
        " of the " + mib(kept) + " kept (the probe's purge alone " +
        mib(std::max(0.0, *sig.purge->rss_before - *sig.purge->rss_after)) + ")";
    if (*d.purge_returned_bytes - freed >= kDecisiveShare * kept) {
      d.kind = RetentionKind::kPurgeable;
      d.why =
          probe + (freed >= Options{}.min_retention_bytes
                       ? ", " + mib(freed) + " of it at most from what the program freed at exit"
                       : std::string());
    } else {
      d.kind = RetentionKind::kFragmentation;
      d.why = probe + (books.empty() ? "" : " (" + books + ")");
    }
  } else if (d.fragmented_bytes) {
    // jemalloc's books: active - allocated is partly used pages (no purge returns them),
    // resident - active is free pages awaiting decay (a purge returns them).
    const double frag = *d.fragmented_bytes;
    const double free_pages = d.purgeable_bytes.value_or(0);
    if (frag >= kDecisiveShare * kept || (frag >= kExplainsShare * kept && frag > free_pages)) {
      d.kind = RetentionKind::kFragmentation;
      d.why = books + " (of " + mib(kept) + " kept)";
    } else if (free_pages >= kExplainsShare * kept) {
      d.kind = RetentionKind::kPurgeable;
      d.why = books + " (of " + mib(kept) + " kept)";
    } else {
      d.why = books + ": neither explains the " + mib(kept) + " kept";
    }
  } else {
    d.why = "the allocator's books do not separate free pages from partly used ones";
  }
  if (!unusable.empty()) d.why += " (" + unusable + ")";
  switch (d.kind) {
    case RetentionKind::kPurgeable:
      d.fix = purgeable_fix(sig.backend);
      break;
    case RetentionKind::kFragmentation:
      d.fix = fragmentation_fix(sig.backend, sig.program);
      break;
    case RetentionKind::kUnknown:
      d.fix = "run again with --purge-at-end to tell memory a purge returns from fragmentation";
      break;
  }
  return d;
}

}  // namespace arenalab::analysis
