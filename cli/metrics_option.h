// SPDX-License-Identifier: Apache-2.0
// --metrics ADDR:PORT of run and watch: starts the exporter (detectors/fleet/exporter.h) in
// arenalab's process and chains it into the runner's tick, so /metrics follows the timeline.
#pragma once

#include <filesystem>
#include <iostream>
#include <memory>
#include <string>

#include "arenalab/fleet/exporter.h"
#include "arenalab/runner/runner.h"
#include "command.h"

namespace arenalab::cli {

// Serves /metrics on `addr` while `run` runs: each tick reads what the timeline gained, classifies
// and sets the gauges, then calls the tick that was there before. classify_every_ms > 0: the
// verdict is made at most that often (Exporter::classify_every; watch's live line shows it).
// Returns nullptr (after one line on stderr) when the address cannot be served.
inline std::shared_ptr<fleet::Exporter> serve_metrics(const std::string& cmd,
                                                      runner::RunOptions& run,
                                                      const std::string& addr,
                                                      const analysis::Options& o,
                                                      double classify_every_ms = 0) {
  const std::string program =
      run.command.empty() ? "" : std::filesystem::path(run.command.front()).filename().string();
  auto e = fleet::Exporter::start(addr, program, run.allocator);
  if (!e) {
    print_error(cmd, e.error().message);
    return nullptr;
  }
  std::shared_ptr<fleet::Exporter> exporter = std::move(*e);
  if (classify_every_ms > 0) exporter->classify_every(classify_every_ms);
  std::cerr << "arenalab " << cmd << ": serving /metrics on " << addr << "\n";
  auto previous = run.on_tick;
  run.on_tick = [exporter, previous, o](const runner::RunProgress& p) {
    exporter->update_from(p.pid, p.timeline_path, o);
    if (previous) previous(p);
  };
  return exporter;
}

}  // namespace arenalab::cli
