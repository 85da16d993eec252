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
  report.cadence = fmt::format(
      "jemalloc prof.dump every {} s (arenalab sampler) + prof_final; lg_prof_sample:{}",
      o.interval_s, o.lg_sample);
  runner::RunOptions ro;
  ro.allocator = "jemalloc";
  ro.mode = "stats";
  ro.interval_ms = o.interval_s * 1000.0;
  ro.jemalloc_prof_dump_every = 1;
  ro.extra_env = {{"MALLOC_CONF", conf}};  // appended to the configuration's
  auto result = run_with_runner(run, ro);
  if (!result) return result.error();
  report.dumps = dump_files(report.out_dir, "jeprof.", ".heap", run.since_ns - kMtimeSlackNs);
  if (auto st = add_dump_callsites(run, report.dumps, SiteSource::kHeap); !st) return st;
  if (o.run_tools) pprof_tools(report, "jeprof", run.binary, report.dumps);
  return Ok{};
}

}  // namespace arenalab::profilers::detail
