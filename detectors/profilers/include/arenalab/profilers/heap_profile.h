// SPDX-License-Identifier: Apache-2.0
// One heap profile dump in memory (live objects and bytes per allocation stack, plus the
// process's mappings) and the parsers for the two text formats that carry it: jemalloc's
// heap_v2 (prof.dump, jeprof) and gperftools' heap profile (HEAPPROFILE, pprof).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "arenalab/core/result.h"

namespace arenalab::profilers {

// One line of the dump's MAPPED_LIBRARIES section (a copy of /proc/<pid>/maps).
struct Mapping {
  std::uint64_t start = 0;   // first address
  std::uint64_t end = 0;     // one past the last address
  std::uint64_t offset = 0;  // file offset mapped at `start`
  std::string perms;         // "r-xp"
  std::string path;          // "/usr/lib/x86_64-linux-gnu/libc.so.6", "[heap]" or ""
};

// The mapping that contains `address`, or nullptr.
const Mapping* find_mapping(const std::vector<Mapping>& mappings, std::uint64_t address);

// One allocation stack of a dump. Counts are what the file says (sampled when the dump's
// sample_period > 0); estimated_*() undo the sampling.
struct StackRecord {
  std::vector<std::uint64_t> addresses;  // innermost first; return addresses
  std::uint64_t live_objects = 0;
  std::uint64_t live_bytes = 0;
  std::uint64_t total_objects = 0;  // allocated since start (0 unless the profiler accumulates)
  std::uint64_t total_bytes = 0;
};

enum class DumpFormat { kJemallocHeapV2, kGperftoolsHeap };
const char* format_name(DumpFormat format);

struct HeapDump {
  DumpFormat format = DumpFormat::kJemallocHeapV2;
  std::string source;               // file name (for messages)
  std::uint64_t sample_period = 0;  // mean bytes between samples; 0: every allocation
  std::uint64_t header_live_objects = 0;
  std::uint64_t header_live_bytes = 0;
  std::vector<StackRecord> stacks;
  std::vector<Mapping> mappings;
};

// Live bytes of `record` with the sampling undone the way jeprof and pprof do for heap_v2
// (AdjustSamples, "remote-heap version 2"): allocations are sampled by a Poisson process with
// mean `period` bytes, so one of mean size s is kept with probability 1 - exp(-s/period) and
// each sampled count stands for 1 / (1 - exp(-s/period)) real ones.
double estimated_live_bytes(const StackRecord& record, std::uint64_t period);

// Parsers. `source` names the input in error messages, which read
// "<source>:<line>: expected <what>, got '<text>'". A dump without its MAPPED_LIBRARIES section
// or whose last line is cut short is rejected as truncated.
Result<HeapDump> parse_jemalloc_heap(std::string_view text, const std::string& source);
Result<HeapDump> parse_gperftools_heap(std::string_view text, const std::string& source);
// Picks the parser from the first line ("heap_v2/" or "heap profile:").
Result<HeapDump> parse_heap_dump(std::string_view text, const std::string& source);
Result<HeapDump> read_heap_dump(const std::string& path);

}  // namespace arenalab::profilers
