// SPDX-License-Identifier: Apache-2.0
// The fleet view, exporting side: arenalab run|watch --metrics ADDR:PORT serves the target's
// figures on /metrics (Prometheus text exposition, prometheus-cpp) from arenalab's own process,
// never from inside the target. Names and labels: docs/fleet.md.
#pragma once

#include <sys/types.h>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "arenalab/analysis/analysis.h"
#include "arenalab/core/result.h"
#include "arenalab/formats/timeline.h"

namespace arenalab::fleet {

class Exporter {
 public:
  // Listens on ADDR:PORT ("127.0.0.1:9464", "[::1]:9464", ":0" is refused: name the address;
  // port 0 picks a free one). Error: not ADDR:PORT, or the address cannot be bound.
  // `command` and `allocator` become the labels of every series, with the pid once known.
  static Result<std::unique_ptr<Exporter>> start(const std::string& addr_port, std::string command,
                                                 std::string allocator);
  ~Exporter();
  Exporter(const Exporter&) = delete;
  Exporter& operator=(const Exporter&) = delete;

  int port() const;  // the port it listens on

  // Sets every gauge from the timeline's last sample (a figure the timeline lacks is not
  // exported) and the verdict from `c`. Thread-safe against concurrent scrapes.
  void update(pid_t pid, const timeline::Timeline& tl, const analysis::Classification& c);

  // Follows the timeline at `path` (a valid prefix while the target runs): reads the lines
  // appended since the last call (analysis::LiveSignals; a timeline replaced under the same path
  // is read from its start), classifies the rows kept so far and sets the gauges as update does.
  // A timeline not there yet, or without samples, is skipped (nothing to say).
  void update_from(pid_t pid, const std::string& timeline_path, const analysis::Options& o = {});

  // update_from classifies at every call unless the last classification's CPU asks for a pause
  // (LivePace, 0.5 % of a core); given a period, no more often than once per `every_ms` either
  // (watch --metrics: once per live line, which shows this verdict). The samples' gauges still
  // follow every call.
  void classify_every(double every_ms);

  // What update_from last set: the verdict /metrics shows (made at its pace), the timeline's
  // last sample and its count of samples; none before the first sample. watch --metrics shows
  // it on its live line instead of classifying the same rows a second time.
  struct Latest {
    analysis::Classification verdict;
    timeline::Sample last;
    std::size_t samples = 0;
    // Which classification `verdict` is (1 for the first): the same number at two calls means
    // the exporter deferred a new one (its CPU share) and served the last again.
    std::uint64_t classification = 0;
  };
  std::optional<Latest> latest() const;

 private:
  struct Impl;
  explicit Exporter(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace arenalab::fleet
