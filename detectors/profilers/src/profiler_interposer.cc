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
  ro.mode = preload::protocol::Mode::kSample;
  const double dump_ms = run.interval_s * 1000.0;
  ro.heap_dump_every = std::max(1, static_cast<int>(std::ceil(dump_ms / 100.0)));
  ro.interval_ms = dump_ms / ro.heap_dump_every;
  ro.sample_bytes = std::uint64_t{1} << o.lg_sample;
  // The interposer never thins a profile's dumps: the per-site slopes need the series evenly
  // spaced, and a geometric spread of the older dumps leaves too few blocks for the trend test
  // (profilers.profile.interposer: 26 dumps, 7 blocks). DumpThinner thins evenly instead, with
  // a fixed --interval as with the adaptive cadence, so the dumps stay bounded either way.
  ro.thin_dumps = false;
  ro.max_output = o.max_output;
  DumpThinner thinner(report.out_dir, {"heap.", "mmap."}, realtime_ns() - kMtimeSlackNs,
                      /*thin=*/true);
  run.thinner = &thinner;
  auto result = run_with_runner(run, ro);
  // What came after the last tick (the exit dump among them). The interposer's dumps are
  // thinned with a fixed --interval too, so this poll is what bounds them either way.
  thinner.poll();
  report.cadence =
      fmt::format("arenalab interposer, sample mode (mean {} between samples), a heap_v2 dump {}",
                  format_bytes(static_cast<double>(ro.sample_bytes)), cadence_text(run));
  run.thinner = nullptr;
  if (!result) return result.error();
  const long long since = run.since_ns - kMtimeSlackNs;
  report.dumps = dump_files(report.out_dir, "heap.", ".heap", since, true);
  if (auto st = add_dump_callsites(run, report.dumps, SiteSource::kHeap); !st) return st;
  // The call stacks of the program's own anonymous mmap, dumped beside the heap profile.
  report.mmap_dumps = dump_files(report.out_dir, "mmap.", ".heap", since, true);
  if (auto st = add_dump_callsites(run, report.mmap_dumps, SiteSource::kMmap); !st) return st;
  // An ordinary exit runs the interposer's destructor after the program's teardown, which
  // writes one more heap.<seq>.heap and mmap.<seq>.heap: the state at exit. (A program ending
  // in _exit skips it, and its last regular dump is taken for the exit state.)
  if (report.exit.exit_code && !report.dumps.empty()) {
    auto seq = [](const std::string& path) {
      const std::string name = path.substr(path.rfind('/') + 1);
      return name.substr(name.find('.') + 1);  // "<seq>.heap"
    };
    const bool mmap_at_exit =
        !report.mmap_dumps.empty() && seq(report.mmap_dumps.back()) == seq(report.dumps.back());
    split_exit_dump(run, report.dumps.back(), mmap_at_exit);
  }
  if (o.run_tools) {
    pprof_tools(report, run.out, "jeprof", run.binary, report.dumps);
    pprof_tools(report, run.out, "jeprof", run.binary, report.mmap_dumps, SiteSource::kMmap);
  }
  return Ok{};
}

}  // namespace arenalab::profilers::detail
