// SPDX-License-Identifier: Apache-2.0
// heap-sites.jsonl (sample mode): the per-call-site series in one appended file. Thinning keeps
// a geometric spread of heap dumps (dumps.cc); the live bytes of the top sites at every dump,
// thinned away or not, stay here. The writer is shared with the attach agent
// (arenalab/preload/heap_sites_file.h); format: formats/include/arenalab/formats/heap_sites.h.
#include <unistd.h>

#include <cstdint>

#include "arenalab/preload/format.h"
#include "arenalab/preload/heap_sites_file.h"
#include "profile.h"
#include "session.h"
#include "state.h"

namespace arenalab::preload {

static_assert(kMaxStacks <= kHeapSitesStacks, "every stack id must fit the file's bitmap");

namespace {

HeapSitesFile g_file;
bool g_named = false;

bool stack_record(std::uint32_t i, HeapRecord* r) { return fill_heap_record(g_stacks[i], r); }

bool cap_allows(std::size_t n) { return output_cap_allows(Output::kDumps, n); }

}  // namespace

void heap_sites_traced_child() {
  char name[64];
  Buf b(name, sizeof name - 1);
  b.str("heap-sites.").u64(static_cast<std::uint64_t>(getpid())).str(".jsonl");
  name[b.size()] = 0;
  heap_sites_reset(g_file, name);  // a traced fork child writes heap-sites.<pid>.jsonl
  g_named = true;
}

bool heap_sites_write(int seq, std::uint64_t t_ms) {
  if (!g_stacks || !(g_session.mode_flags & kSample)) return true;
  if (!g_named) {
    heap_sites_reset(g_file, "heap-sites.jsonl");
    g_named = true;
  }
  return heap_sites_append(g_file, g_session.out_dir, getpid(), g_sample_bytes,
                           g_stack_count.load(std::memory_order_acquire), stack_record, seq, t_ms,
                           cap_allows);
}

}  // namespace arenalab::preload
