// SPDX-License-Identifier: Apache-2.0
// wl_cache_scratch: passive false sharing (cache-scratch-like). The main thread allocates one
// small object per worker, adjacent in memory; each worker frees its object and then loops
// allocate / write / free. An allocator that hands a freed neighbour's memory back to the
// worker makes the workers write to one cache line. Fixed work.
#include "arenalab/workload/false_sharing.h"

int main(int argc, char** argv) {
  return run_false_sharing(
      argc, argv,
      {"cache_scratch",
       "passive false sharing: each thread frees a small object the main thread allocated next "
       "to the others', then allocates, writes and frees its own (cache-scratch-like)",
       30000, true});
}
