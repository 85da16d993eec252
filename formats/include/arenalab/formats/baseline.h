// SPDX-License-Identifier: Apache-2.0
// The check baseline (arenalab.baseline/2), written by `arenalab check --update-baseline` and
// committed: one entry per compared cell (a matrix workload x configuration x threads, or a
// watch run) with its status, verdict and metrics (bytes, with the interval they were recorded
// with). Version 2 named the metrics after their quantity: peak_rss -> peak_rss_bytes,
// rss_after_frees -> rss_after_free_bytes, plateau_rss -> plateau_rss_bytes; the reader accepts
// version 1 and gives its metrics the new names.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "arenalab/core/result.h"
#include "arenalab/formats/json.h"

namespace arenalab::check {

inline constexpr const char* kBaselineSchema = "arenalab.baseline";
inline constexpr int kBaselineVersion = 2;

// Metric names (bytes): steady-state RSS, RSS after the workload's frees, peak RSS.
inline constexpr const char* kPlateauRss = "plateau_rss_bytes";
inline constexpr const char* kRssAfterFrees = "rss_after_free_bytes";
inline constexpr const char* kPeakRss = "peak_rss_bytes";

using Opt = std::optional<double>;

struct Metric {
  double value = 0;  // bytes
  Opt lo, hi;        // the recorded interval (absent: the point itself)
  bool operator==(const Metric&) const = default;
};

enum class Kind { kMatrix, kWatch };
const char* kind_name(Kind k);  // "matrix", "watch"

enum class Status {
  kOk,          // ran, verified: its figures are compared
  kFailed,      // did not run (every repeat failed)
  kUnverified,  // ran under another allocator than the configuration names
};
const char* status_name(Status s);  // "ok", "failed", "unverified"

struct Cell {
  Kind kind = Kind::kMatrix;
  std::string workload, configuration;
  int threads = 1;
  Status status = Status::kOk;
  std::string status_detail;
  std::optional<formats::GrowthVerdict> verdict;  // absent when the cell was not classified
  std::map<std::string, Metric> metrics;
  std::string source;  // file it came from

  // "cache/glibc", "cache/glibc x4", with " [watch]" for watch runs.
  std::string key() const;
  bool operator==(const Cell&) const = default;
};

struct CellSet {
  std::vector<Cell> cells;
  std::vector<std::string> sources;
  bool operator==(const CellSet&) const = default;
};

// The baseline document. The reader checks the schema, each cell's fields (known kind, status
// and verdict, metric values >= 0 and lo <= hi) and rejects a cell that appears twice.
nlohmann::json baseline_json(const CellSet& set);
Result<CellSet> parse_baseline(const nlohmann::json& doc, const std::string& file);
Result<CellSet> read_baseline(const std::string& path);
// Written via a temporary file and rename.
arenalab::Status write_baseline(const std::string& path, const CellSet& set);

}  // namespace arenalab::check
