// SPDX-License-Identifier: Apache-2.0
// `arenalab diff A B`: what grew between two heap dumps (as jeprof --base and heaptrack -d do),
// by call site, largest growth first. A and B are dump files or profile directories; sites are
// matched by their symbolized stacks, so two runs of a program (other load addresses) compare.
#pragma once

#include <string>
#include <vector>

#include "arenalab/core/result.h"
#include "arenalab/profilers/callsites.h"

namespace arenalab::profilers {

struct DumpDiff {
  std::string before, after;  // the dump files compared
  // Two-point series (before, after) per call site, largest growth first.
  std::vector<CallsiteSeries> sites;
};

// The dump a path stands for: a heap dump file (jemalloc heap_v2 or gperftools) as is; a
// directory of `arenalab profile` its profile.json's last dump of the series; another
// directory (arenalab run, a profiler's output) its newest heap.<n>.heap, jeprof.<n>.heap or
// gperftools.<n>.heap. Errors name the path and what was expected.
Result<std::string> resolve_dump(const std::string& path);

Result<DumpDiff> diff_dumps(const std::string& a, const std::string& b,
                            const SiteFilter& filter = {});

// The table: growth, bytes before and after, the site; `top` rows.
std::string diff_text(const DumpDiff& diff, int top);

}  // namespace arenalab::profilers
