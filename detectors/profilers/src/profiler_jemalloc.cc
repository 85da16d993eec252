// SPDX-License-Identifier: Apache-2.0
// jemalloc adapter: the jemalloc configuration with prof:true, under arenalab's runner, whose
// sampler calls mallctl("prof.dump") every interval; jeprof reads the dumps afterwards.
#include <fmt/format.h>

#include "profilers_internal.h"

namespace arenalab::profilers::detail {

Status run_jemalloc(ProfileRun& run) {
  const ProfileOptions& o = run.options;
  ProfileReport& report = run.report;
  auto config = configuration(o, "jemalloc");
  if (!config) return config.error();
  // Time cadence: the interposer's sampler calls mallctl("prof.dump") every interval, writing
  // DIR/jeprof.<seq>.heap; prof_final adds DIR/jeprof.<pid>.<n>.f.heap at exit.
  const std::string conf = fmt::format(
      "prof:true,prof_active:true,lg_prof_sample:{},prof_final:true,prof_prefix:{}/jeprof",
      o.lg_sample, report.out_dir);
  runner::RunOptions ro;
  ro.allocator = "jemalloc";
  ro.mode = preload::protocol::Mode::kStats;
  ro.interval_ms = run.interval_s * 1000.0;
  ro.jemalloc_prof_dump_every = 1;
  ro.extra_env = {{"MALLOC_CONF", conf}};  // appended to the configuration's
  DumpThinner thinner(report.out_dir, {"jeprof."}, realtime_ns() - kMtimeSlackNs, run.adaptive);
  run.thinner = &thinner;
  auto result = run_with_runner(run, ro);
  if (run.adaptive) thinner.poll();  // what came after the last tick
  report.cadence =
      fmt::format("jemalloc prof.dump {} (arenalab sampler) + prof_final; lg_prof_sample:{}",
                  cadence_text(run), o.lg_sample);
  run.thinner = nullptr;
  if (!result) return result.error();
  const long long since = run.since_ns - kMtimeSlackNs;
  report.dumps = dump_files(report.out_dir, "jeprof.", ".heap", since, true);
  // At exit jemalloc's prof_final writes jeprof.<pid>.<n>.f.heap and the sampler one more
  // jeprof.<seq>.heap, both after the program's teardown: the .f.heap stands for that state.
  if (const auto finals = dump_files(report.out_dir, "jeprof.", ".f.heap", since);
      !finals.empty() && !report.dumps.empty())
    report.dumps.back() = finals.back();
  if (auto st = add_dump_callsites(run, report.dumps, SiteSource::kHeap); !st) return st;
  if (!report.dumps.empty() && report.dumps.back().ends_with(".f.heap"))
    split_exit_dump(run, report.dumps.back());
  if (o.run_tools) pprof_tools(report, run.out, "jeprof", run.binary, report.dumps);
  return Ok{};
}

}  // namespace arenalab::profilers::detail
