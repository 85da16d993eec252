// SPDX-License-Identifier: Apache-2.0
// Interposer adapter: arenalab's own sample mode under its runner, which writes heap_v2 dumps
// (heap.<seq>.heap) and, beside them, the call stacks of the program's own anonymous mmap
// (mmap.<seq>.heap); jeprof reads both afterwards.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "arenalab/core/sizes.h"
#include "profilers_internal.h"

namespace arenalab::profilers::detail {

Status run_interposer(ProfileRun& run) {
  const ProfileOptions& o = run.options;
  ProfileReport& report = run.report;
  runner::RunOptions ro;
  // Sample mode: a heap_v2 dump every heap_dump_every samples; the sampler ticks at most every
  // 100 ms so the timeline stays fine-grained, and the tick divides the dump interval exactly
  // (0.15 s = 2 ticks of 75 ms), so dumps come every --interval, not a rounding of it.
  ro.mode = "sample";
  const double dump_ms = o.interval_s * 1000.0;
  ro.heap_dump_every = std::max(1, static_cast<int>(std::ceil(dump_ms / 100.0)));
  ro.interval_ms = dump_ms / ro.heap_dump_every;
  ro.sample_bytes = std::uint64_t{1} << o.lg_sample;
  report.cadence = fmt::format(
      "arenalab interposer, sample mode (mean {} between samples), a heap_v2 dump every {} s",
      format_bytes(static_cast<double>(ro.sample_bytes)),
      ro.heap_dump_every * ro.interval_ms / 1000.0);
  auto result = run_with_runner(run, ro);
  if (!result) return result.error();
  const long long since = run.since_ns - kMtimeSlackNs;
  report.dumps = dump_files(report.out_dir, "heap.", ".heap", since, true);
  if (auto st = add_dump_callsites(run, report.dumps, SiteSource::kHeap); !st) return st;
  // The call stacks of the program's own anonymous mmap, dumped beside the heap profile.
  report.mmap_dumps = dump_files(report.out_dir, "mmap.", ".heap", since, true);
  if (auto st = add_dump_callsites(run, report.mmap_dumps, SiteSource::kMmap); !st) return st;
  if (o.run_tools) {
    pprof_tools(report, "jeprof", run.binary, report.dumps);
    pprof_tools(report, "jeprof", run.binary, report.mmap_dumps, SiteSource::kMmap);
  }
  return Ok{};
}

}  // namespace arenalab::profilers::detail
