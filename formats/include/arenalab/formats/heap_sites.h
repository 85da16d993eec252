// SPDX-License-Identifier: Apache-2.0
// heap-sites.jsonl (sample mode): the top call sites' sampled live bytes at every heap dump, in
// one appended file, so the per-site series survives the thinning of the heap dumps.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "arenalab/core/result.h"

namespace arenalab::heap_sites {

// The format (written by the interposer, detectors/preload/src/heap_sites.cc), one JSON object
// a line, appended at every heap dump (--heap-dump-every intervals and at exit):
//   header  {"schema":"arenalab.heap_sites/1","pid":P,"sample_bytes":N,"top":K}   line 1
//   stack   {"stack":ID,"frames":["0x...",...]}   the stack's return addresses, innermost
//           first (as a heap_v2 record's), written once, before the first point listing ID
//   point   {"seq":S,"t_ms":T,"sites":[[ID,OBJS,BYTES],...]}   dump S (heap.S.heap, kept or
//           thinned away) at T ms since the target started: the K sites with the most sampled
//           live bytes, largest first; OBJS and BYTES are sampled counts, as in heap_v2 with
//           period N (sampled_estimate unbiases them as jeprof does). A site not listed was not
//           among the K largest then, so held at most the last listed site's bytes.
// seq rises by one from 0 at every point, t_ms never goes back. A killed target may leave the
// last line cut: it is ignored. Symbolise the frames with the MAPPED_LIBRARIES of a kept heap
// dump of the same process (the last one holds every library loaded by then).
struct Header {
  std::int64_t pid = 0;
  std::int64_t sample_bytes = 0;  // mean sampling period, bytes
  std::int64_t top = 0;           // sites per point at most
};

struct Site {
  std::uint32_t stack = 0;
  std::int64_t objs = 0;   // sampled live blocks
  std::int64_t bytes = 0;  // their bytes
};

struct Point {
  std::int64_t seq = 0;
  double t_ms = 0;
  std::vector<Site> sites;  // largest first
};

struct HeapSites {
  Header header;
  std::map<std::uint32_t, std::vector<std::uint64_t>> stacks;  // id -> frames
  std::vector<Point> points;
  bool truncated = false;  // the last line was cut (the target was killed mid-write)
};

// Reads a heap-sites.jsonl. Errors name the file, the line and what was expected.
Result<HeapSites> read_heap_sites(const std::string& path);

// A site's live bytes unbiased as jeprof does for a heap_v2 record (period `sample_bytes`):
// bytes / (1 - exp(-(bytes / objs) / sample_bytes)); 0 for no objects.
double sampled_estimate(const Site& s, std::int64_t sample_bytes);

// One site's series: (t_ms, unbiased bytes) at each point that lists it.
struct SeriesPoint {
  double t_ms = 0;
  double bytes = 0;
};
std::vector<SeriesPoint> site_series(const HeapSites& f, std::uint32_t stack);

}  // namespace arenalab::heap_sites
