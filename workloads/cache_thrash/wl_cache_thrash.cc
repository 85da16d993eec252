// SPDX-License-Identifier: Apache-2.0
// wl_cache_thrash: active false sharing (cache-thrash-like). Workers loop allocate / write /
// free small objects concurrently; an allocator that serves several threads from one cache
// line makes them thrash it. Fixed work.
#include "arenalab/workload/false_sharing.h"

int main(int argc, char** argv) {
  return run_false_sharing(
      argc, argv,
      {"cache_thrash",
       "active false sharing: threads allocate small objects concurrently and write them "
       "(cache-thrash-like)",
       50000, false});
}
