// SPDX-License-Identifier: Apache-2.0
// Calls every allocation entry point whose size the interposer computes with (calloc,
// reallocarray, the aligned ones, pvalloc, valloc, posix_memalign) at the edge values where a
// size computation overflows, and prints one line per call: whether it returned a block, and
// errno or the return code. overflow_test.py compares the lines bare and under the interposer.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char* err_name(int e) {
  switch (e) {
    case 0:
      return "0";
    case ENOMEM:
      return "ENOMEM";
    case EINVAL:
      return "EINVAL";
    default:
      return "other";
  }
}

// A block or null with errno. Blocks are never freed: bare under an allocator that lacks
// pvalloc or reallocarray (jemalloc 5.3), glibc's serves them and the allocator's free would
// crash on them (the interposer rebuilds those entry points on the allocator's own).
static void report(const char* call, void* p, int err) {
  if (p) {
    printf("%s -> block\n", call);
  } else {
    printf("%s -> null errno=%s\n", call, err_name(err));
  }
}

#define PROBE(expr)           \
  do {                        \
    errno = 0;                \
    void* p_ = (expr);        \
    report(#expr, p_, errno); \
  } while (0)

#define PROBE_RC(align, n)                                                   \
  do {                                                                       \
    void* p_ = NULL;                                                         \
    int rc_ = posix_memalign(&p_, (align), (n));                             \
    printf("posix_memalign(%s, %s) -> rc=%s%s\n", #align, #n, err_name(rc_), \
           rc_ == 0 ? (p_ ? " block" : " null") : "");                       \
  } while (0)

// Under the interposer in count or full mode: a reallocarray that overflows fails and leaves
// its block live, so the exact counters must not move (on stderr: the output is compared).
static void check_counters(size_t k_max, size_t k_half) {
  typedef int (*CountersFn)(long long*);
  CountersFn fn = (CountersFn)dlsym(RTLD_DEFAULT, "arenalab_preload_counters");
  long long before[3], after[3];
  if (!fn || fn(before) < 0 || !(fn(before) & 1)) return;  // not traced, or no count bit
  void* p = malloc(64);
  fn(before);
  void* q1 = reallocarray(p, k_half, 2);
  void* q2 = reallocarray(p, k_max, k_max);
  void* q3 = reallocarray(p, 2, k_half);
  fn(after);
  const int same = !q1 && !q2 && !q3 && before[0] == after[0] && before[1] == after[1];
  fprintf(stderr, "counters: %s (live allocs %lld -> %lld, bytes %lld -> %lld)\n",
          same ? "balanced" : "DRIFT", before[1], after[1], before[0], after[0]);
  free(p);
}

int main(void) {
  const size_t page = 4096;
  const size_t kMax = SIZE_MAX, kHalf = SIZE_MAX / 2 + 1;
  (void)page;
  PROBE(pvalloc(kMax));
  PROBE(pvalloc(kMax - 100));
  PROBE(pvalloc(kMax - page + 1));
  PROBE(pvalloc(kMax - page));
  PROBE(pvalloc(kHalf));
  PROBE(pvalloc(0));
  PROBE(pvalloc(1));
  PROBE(valloc(kMax));
  PROBE(valloc(kMax - 100));
  PROBE(valloc(kHalf));
  PROBE(valloc(1));
  PROBE(memalign(16, kMax));
  PROBE(memalign(4096, kMax));
  PROBE(memalign(4096, kMax - 100));
  PROBE(memalign(kHalf, 16));
  PROBE(memalign(64, 16));
  PROBE(aligned_alloc(16, kMax));
  PROBE(aligned_alloc(4096, kMax - 100));
  PROBE(aligned_alloc(kHalf, kHalf));
  PROBE(aligned_alloc(64, 64));
  PROBE(calloc(kMax, 2));
  PROBE(calloc(2, kMax));
  PROBE(calloc(kHalf, 2));
  PROBE(calloc(2, kHalf));
  PROBE(calloc(kMax, 1));
  PROBE(calloc(1, kMax));
  PROBE(calloc(0, kMax));
  PROBE(calloc(4, 4));
  PROBE(reallocarray(NULL, kMax, 2));
  PROBE(reallocarray(NULL, 2, kMax));
  PROBE(reallocarray(NULL, kHalf, 2));
  PROBE(reallocarray(NULL, kMax, 1));
  PROBE(reallocarray(NULL, 4, 4));
  PROBE(realloc(NULL, kMax));
  PROBE(realloc(NULL, kMax - 100));
  PROBE(malloc(kMax));
  PROBE(malloc(kMax - 100));
  PROBE_RC(16, kMax);
  PROBE_RC(4096, kMax - 100);
  PROBE_RC(kHalf, 16);
  PROBE_RC(3, 16);
  PROBE_RC(0, 16);
  PROBE_RC(64, 64);
  // A success leaves errno alone: sample mode's weight of a block 800 sample periods long
  // (400 MiB at the default 512 KiB, always sampled) once called exp(-800), which underflows
  // and set ERANGE in the target. Never touched, so never resident.
  {
    errno = 0;
    void* big = malloc((size_t)400 << 20);
    printf("malloc(400 MiB) -> %s errno=%s\n", big ? "block" : "null", err_name(errno));
    free(big);
  }
  check_counters(kMax, kHalf);
  return 0;
}
