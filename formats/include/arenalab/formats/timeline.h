// SPDX-License-Identifier: Apache-2.0
// timeline.jsonl (contract, docs/architecture.md): a header line, then one sample per interval.
// Reading tolerates a truncated last line (a killed target leaves a valid prefix). Missing
// figures stay empty: never 0 for "not measured".
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "arenalab/core/result.h"

namespace arenalab::timeline {

struct AllocatorInfo {
  std::string name;     // configuration name
  std::string backend;  // identified backend
  std::string library;
  std::string version;
  bool verified = false;
};

struct Header {
  std::string schema;  // "arenalab.timeline/1"
  std::int64_t pid = 0;
  std::vector<std::string> command;
  AllocatorInfo allocator;
  std::string mode;  // stats | count | sample | full
  double interval_ms = 0;
};

using Opt = std::optional<double>;

struct Sample {
  double t_ms = 0;  // since the target started
  Opt rss;          // bytes
  Opt rss_anon;
  Opt live_bytes;  // malloc family, count mode and above
  Opt live_allocs;
  Opt mmap_bytes;           // anonymous mmap the program made itself, accessible (not PROT_NONE)
  Opt mmap_reserved_bytes;  // the same mappings' PROT_NONE part (reservations); optional
  Opt allocated, active, resident, mapped, retained;  // the allocator's books ("alloc")
  std::map<std::string, double> gauges;               // published by the program
  bool after_purge = false;  // "after_purge": true: written right after the purge probe
};

struct Timeline {
  Header header;
  std::vector<Sample> samples;
  bool truncated = false;  // the last line was cut (the target was killed mid-write)
  // The purge probe (run/watch --purge-at-end): the sample written at exit right after the
  // allocator was asked to purge, compared with samples.back() (the final one). Not part of
  // `samples`: it is a measurement of the allocator, not of the program's time series.
  std::optional<Sample> after_purge;
};

// Reads a timeline.jsonl. Errors name the file, the line and what was expected.
Result<Timeline> read_timeline(const std::string& path);

// Parses one sample line (exposed for tests and for live tailing).
Result<Sample> parse_sample(const std::string& line);

// Serializes (for writers outside the preload library: budget, tests, synthetic data).
std::string header_line(const Header& h);
std::string sample_line(const Sample& s);

// The series of one named signal ("rss", "rss_anon", "live_bytes", "live_allocs", "mmap_bytes",
// "mmap_reserved_bytes", "allocated", "active", "resident", "mapped", "retained", "gauge:<name>")
// as (t_ms, value) pairs, skipping samples where it is absent.
struct Series {
  std::vector<double> t_ms;
  std::vector<double> value;
  bool empty() const { return value.empty(); }
};
Series series(const Timeline& tl, const std::string& signal);

}  // namespace arenalab::timeline
