// SPDX-License-Identifier: Apache-2.0
// timeline.jsonl (contract, docs/architecture.md): a header line, then one sample per interval.
// Reading tolerates a truncated last line (a killed target leaves a valid prefix). Missing
// figures stay empty: never 0 for "not measured".
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "arenalab/core/result.h"
#include "arenalab/formats/allocator_backend.h"

namespace arenalab::timeline {

struct AllocatorInfo {
  std::string name;                                       // configuration name
  formats::Backend backend = formats::Backend::kUnknown;  // identified backend
  std::string library;
  std::string version;
  bool verified = false;
};

// A rolled timeline (timeline_roll.h) starts with a thinned history: of the samples before
// until_ms, the first ones and, of each time block [k block_ms, (k+1) block_ms), the rows that
// hold its order statistics; from until_ms on, every sample line as written. Absent: the file
// holds every sample (every timeline that was never rolled).
struct History {
  double until_ms = 0;
  double block_ms = 0;
  std::uint64_t samples = 0;  // sample lines the history stands for (what the run wrote there)
  std::uint64_t rolls = 0;    // how many rolls made it
};

struct Header {
  std::string schema;  // "arenalab.timeline/1"
  std::int64_t pid = 0;
  std::vector<std::string> command;
  AllocatorInfo allocator;
  std::string mode;  // stats | count | sample | full
  double interval_ms = 0;
  std::optional<History> history;  // "history": set by a roll, never by the interposer
};

using Opt = std::optional<double>;

struct Sample {
  double t_ms = 0;  // since the target started
  Opt rss;          // bytes
  Opt rss_anon;
  // RSS's file-backed and shared-memory parts (/proc status RssFile, RssShmem; rss = rss_anon +
  // rss_file + rss_shmem). Absent in timelines written before they were recorded.
  Opt rss_file;
  Opt rss_shmem;
  // The process's mapped size (/proc status VmSize): every mapping, resident or not. Absent in
  // timelines written before it was recorded.
  Opt vm_size;
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

// Streams a timeline.jsonl in constant memory: the header, then every sample line in file order
// (the purge probe's sample too, with after_purge set). The same checks and messages as
// read_timeline, which is built on it. true: the last line was cut (a killed target).
Result<bool> scan_timeline(const std::string& path, const std::function<void(Header&&)>& on_header,
                           const std::function<void(Sample&&)>& on_sample);

// Follows a timeline.jsonl that a running target appends to (watch's live line): each poll()
// reads only what was written since the last one and passes on the complete sample lines; a
// line still being written waits for its newline. Lines that do not parse are skipped (the
// final verdict reads the file whole, with read_timeline's checks). A file replaced under the
// same path (the target exec'd and its new image started the timeline again) is followed from
// its start: on_replaced is called first, and header() is the new file's.
class TimelineTail {
 public:
  explicit TimelineTail(std::string path) : path_(std::move(path)) {}
  TimelineTail(const TimelineTail&) = delete;
  TimelineTail& operator=(const TimelineTail&) = delete;
  ~TimelineTail();
  // The samples appended since the last call, in order; how many. A file not there yet: 0.
  std::size_t poll(const std::function<void(Sample&&)>& on_sample,
                   const std::function<void()>& on_replaced = {});
  const std::optional<Header>& header() const { return header_; }
  std::uint64_t bytes_read() const { return offset_; }

 private:
  std::string path_;
  int fd_ = -1;
  std::uint64_t dev_ = 0, ino_ = 0;  // the file fd_ reads
  std::uint64_t offset_ = 0;         // bytes of the file consumed
  std::string partial_;              // the start of a line whose newline has not been written yet
  std::optional<Header> header_;
};

// Parses the header line (the first), with read_timeline's checks.
Result<Header> parse_header(const std::string& line);

// Parses one sample line (exposed for tests and for live tailing).
Result<Sample> parse_sample(const std::string& line);

// Serializes (for writers outside the preload library: budget, tests, synthetic data).
std::string header_line(const Header& h);
std::string sample_line(const Sample& s);

// The series of one named signal ("rss", "rss_anon", "rss_file", "rss_shmem", "vm_size",
// "live_bytes", "live_allocs", "mmap_bytes", "mmap_reserved_bytes", "allocated", "active",
// "resident", "mapped", "retained", "gauge:<name>") as (t_ms, value) pairs, skipping samples where
// it is absent.
struct Series {
  std::vector<double> t_ms;
  std::vector<double> value;
  bool empty() const { return value.empty(); }
};
Series series(const Timeline& tl, const std::string& signal);

}  // namespace arenalab::timeline
