// SPDX-License-Identifier: Apache-2.0
// Loading result directories (run, watch, matrix, profile, budget) into one model the report
// renders. Kinds are recognised by the files a directory holds (docs/architecture.md, contract):
// results.json (matrix), verdict.json (watch), budget.json (budget), run.json + timeline.jsonl
// (run), profile output (profile.json and/or *.svg call graphs). Every file is read through its
// one reader in formats/.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include <map>
#include "arenalab/core/result.h"
#include "arenalab/formats/budget.h"

#include "arenalab/formats/matrix.h"
#include "arenalab/formats/profile.h"
#include "arenalab/formats/run.h"
#include "arenalab/formats/timeline.h"
#include "arenalab/formats/verdict.h"
#include "arenalab/formats/workload.h"

namespace arenalab::reports {

using Opt = std::optional<double>;

// The whole latency distribution of one workload (and thread count) and operation per
// configuration: each configuration's ok cells' histograms (<op>_latency_histogram) merged,
// buckets by upper bound. What the report's CDF plots draw (issue 24).
struct LatencyCdf {
  std::string workload, op;  // op: malloc or free
  int threads = 0;           // as the cells (0: the workload's default)
  struct Series {
    std::string configuration;
    std::vector<workload::LatencyBucket> buckets;  // increasing upper_ns
    double samples = 0;                            // the counts' sum
    int cells = 0;                                 // ok cells merged
  };
  std::vector<Series> series;  // configurations in first-seen order
};

// Merges the ok cells' histograms per workload x threads x op x configuration (first-seen
// order); a workload x op no ok cell timed has no entry.
std::vector<LatencyCdf> latency_cdfs(const std::vector<matrix::Cell>& cells);

// A matrix: its groups (workload x configuration x threads over the repeats), read through
// formats/matrix.h, the one model of a matrix that the matrix, the report and check share.
struct MatrixInput {
  std::string dir, file;  // the directory and its results.json
  std::string baseline;   // baseline configuration name, "" if unknown
  std::vector<matrix::Group> rows;
  // The matrix's answer to "which allocator?" (absent in results.json from before it existed).
  std::optional<matrix::Recommendation> recommendation;
  std::vector<LatencyCdf> cdfs;  // latency_cdfs(cells)
  // Cluster matrices whose cells ran on more than one node type (CPU model): the groups again
  // per type, so no figure mixes machines. Empty for one type or a local matrix.
  struct NodeType {
    std::string cpu_model;
    std::map<std::string, int> hosts;  // host -> cells
    std::vector<matrix::Group> rows;
  };
  std::vector<NodeType> node_types;
};

// What a run directory is: a plain run, a watch (with verdict.json) or a budget (with
// budget.json); matrix cells recorded with --timeline also become RunInputs.
enum class RunKind { kRun, kWatch, kBudget, kMatrixCell };
const char* run_kind_name(RunKind k);  // "run", "watch", "budget", "matrix-cell" (as shown)

// A single run of one of those kinds.
struct RunInput {
  std::string dir;
  RunKind kind = RunKind::kRun;
  std::string workload, configuration;
  // What the report calls the allocator: the configuration when run.json says the interposer
  // verified it (or says nothing), else what was identified, marked: "jemalloc (NOT verified;
  // asked for glibc)". A process that brought its own allocator is never shown under the
  // configuration asked for.
  std::string allocator;
  std::string allocator_short;  // for legends: "jemalloc (NOT verified)"
  std::string command;          // the run's command line, shell-quoted ("" when no file records it)
  std::optional<timeline::Timeline> timeline;
  std::optional<runner::RunRecord> run;          // run.json
  std::optional<verdict_file::Verdict> verdict;  // verdict.json
  std::optional<budget::BudgetRecord> budget;    // budget.json
};

// One call site of a profile: its growth over the profiled interval.
struct Callsite {
  std::string site;  // symbolised frames, innermost first, joined with " < "; "[mmap] " first
                     // for the interposer's mmap call sites (arenalab.profile/1 "source")
  Opt growth_bytes, start_bytes, end_bytes;
  Opt slope_bytes_per_s;
  // The call site's own verdict when the profiler classified it (growth_verdict.h).
  std::optional<formats::GrowthVerdict> verdict;
};

// A flame graph of arenalab's own (<stem>.folded beside <stem>.svg: growth, live, live-at, peak,
// diff), redrawn from its folded stacks so that the page embeds it inline, interactive
// (hover, click to zoom), with no markup taken from the input directory.
struct FlameGraph {
  std::string name;  // "growth.svg"
  std::string svg;   // flamegraph_svg's output
};

struct ProfileInput {
  std::string dir, profiler;
  std::vector<Callsite> callsites;  // sorted by growth, largest first
  std::vector<std::string> svgs;    // call-graph SVG files (jeprof / pprof --svg)
  std::vector<FlameGraph> flamegraphs;
  // arenalab.profile/1 "outside_heap".explanation when memory grows outside the profile's books
  // (a heap dump does not reveal it), and the report's notes.
  std::string outside;
  std::vector<std::string> notes;
};

struct Inputs {
  std::vector<MatrixInput> matrices;
  std::vector<RunInput> runs;
  std::vector<ProfileInput> profiles;
  std::vector<std::string> warnings;  // one line each: what was skipped and why
};

// Loads every directory (a results.json file path is accepted for a matrix). A directory with
// none of the recognised files is an error naming it; a malformed file is an error naming it.
Result<Inputs> load_inputs(const std::vector<std::string>& paths);

// Matrix groups from a parsed results.json document (exposed for tests).
Result<MatrixInput> parse_matrix(const nlohmann::json& doc, const std::string& file);

// The call sites of a profile.json (formats/profile.h), largest growth first (exposed for
// tests).
std::vector<Callsite> profile_callsites(const profile_file::Profile& profile);

}  // namespace arenalab::reports
