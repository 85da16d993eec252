// SPDX-License-Identifier: Apache-2.0
// Reader for heaptrack's interpreted trace (the text inside heaptrack.<app>.<pid>.zst, written by
// heaptrack_interpret, file format version 3): string, instruction-pointer, trace-node and
// allocation-info tables plus '+'/'-' events and 'c' timestamps. Replaying the events yields the
// live bytes of every allocation stack over time, already symbolized by heaptrack.
#pragma once

#include <cstdint>
#include <istream>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "arenalab/core/result.h"

namespace arenalab::profilers {

struct HeaptrackFrame {
  std::uint64_t address = 0;
  std::string function;  // "" when heaptrack could not name it
  std::string file;
  int line = 0;
  std::string module;
};

// Live bytes per stack at one moment. Keys are heaptrack's trace indices.
struct HeaptrackSnapshot {
  double t_ms = 0;  // since the target started
  std::map<std::uint32_t, std::int64_t> live_bytes;
};

struct HeaptrackTrace {
  std::string command;
  std::vector<HeaptrackSnapshot> snapshots;  // one per interval, plus the last state
  // Frames of each trace index that appears in a snapshot, innermost first (inlined callees
  // before the function they were inlined into).
  std::map<std::uint32_t, std::vector<HeaptrackFrame>> stacks;
  std::uint64_t allocations = 0;
  std::uint64_t frees = 0;
  // Stretches with no timestamp in the trace (ms, from .. to): heaptrack's timer writes one
  // every 10 ms, so a longer silence means the program and its recorder were held up (under
  // load, heaptrack_interpret symbolizing a large binary fills the pipe and blocks the target).
  // What happened inside is not observed: no snapshot is taken there.
  struct Stall {
    double from_ms = 0;
    double to_ms = 0;
  };
  std::vector<Stall> stalls;
};

// A gap between two timestamps longer than this is a stall (ten of heaptrack's 10 ms ticks).
inline constexpr double kHeaptrackStallMs = 100;

// Streaming parser: feed the decompressed text line by line.
class HeaptrackTraceParser {
 public:
  // `source` names the input in errors; a snapshot is taken every `interval_ms` of trace time.
  // `end_ms`, when known (heaptrack_trace_span_ms), is the trace's last timestamp: the state
  // there is the last state, which finish() takes (after the program's teardown), so no regular
  // snapshot is taken at it (none within half an interval of it, so that a grid of `end_ms / N`
  // gives N - 1 regular snapshots whatever the rounding).
  HeaptrackTraceParser(std::string source, double interval_ms, double end_ms = -1);
  // `line` without its '\n'. Errors: "<source>:<line>: expected <what>, got '<text>'".
  Status feed(std::string_view line);
  // Ends the input; `complete` is false when the last line had no '\n' (truncated input).
  Result<HeaptrackTrace> finish(bool complete = true);

 private:
  struct Ip {
    std::uint64_t address = 0;
    std::uint32_t module = 0;
    std::vector<std::uint32_t> frames;  // (function, file, line) triples: string indices + line
  };
  struct Node {
    std::uint32_t ip = 0;
    std::uint32_t parent = 0;
  };
  struct AllocInfo {
    std::uint64_t size = 0;
    std::uint32_t trace = 0;
  };
  void snapshot(double t_ms);
  std::vector<HeaptrackFrame> frames_of(std::uint32_t trace) const;

  bool regular_at(double t_ms) const { return end_ms_ < 0 || t_ms < end_ms_ - interval_ms_ / 2; }

  std::string source_;
  double interval_ms_;
  double end_ms_;
  int line_ = 0;
  int version_ = -1;
  std::vector<std::string> strings_;  // index 1.. (0 is "none")
  std::vector<Ip> ips_;               // index 1..
  std::vector<Node> nodes_;           // index 1..
  std::vector<AllocInfo> allocs_;     // index 0..
  std::map<std::uint32_t, std::int64_t> live_;
  double now_ms_ = 0;
  double next_snapshot_ms_ = 0;
  HeaptrackTrace out_;
};

// Parses a whole decompressed trace; `end_ms` as for HeaptrackTraceParser.
Result<HeaptrackTrace> parse_heaptrack_trace(std::string_view text, const std::string& source,
                                             double interval_ms, double end_ms = -1);
// Decompresses `path` (.zst with zstd, .gz with gzip, else plain) through a pipe and parses it;
// `end_ms` as for HeaptrackTraceParser.
Result<HeaptrackTrace> read_heaptrack_trace(const std::string& path, double interval_ms,
                                            double end_ms = -1);
// The trace's last timestamp (ms since the target started): how long the traced program ran,
// on its own clock. heaptrack's launcher lives longer (its start-up, and the interpreter and
// compressor finishing after the target), by seconds on a loaded machine, so a grid spread
// over the launcher's wall time puts a part of its snapshots after the trace's end. 0 when the
// trace has no timestamp. One pass over the decompressed text.
Result<double> heaptrack_trace_span_ms(const std::string& path);

}  // namespace arenalab::profilers
