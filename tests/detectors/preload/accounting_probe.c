// SPDX-License-Identifier: Apache-2.0
// Issue 21 items 5 and 7: a program whose true figures are known. `reserve`: reserves 1 GiB
// PROT_NONE and commits parts of it as the JVM does (mprotect, mmap MAP_FIXED), printing the
// interposer's exact mmap counter after each step; `leak COUNT SIZE`: leaks COUNT blocks of SIZE
// bytes (the sample-mode estimate must find COUNT * SIZE); `neighbours COUNT SIZE`: COUNT blocks
// made in a row, two in three freed (the estimate must find the third left); `realloc-leak COUNT
// SIZE`: the same leak made through realloc alone (each block made by realloc(NULL), then grown),
// beside as many blocks made, grown and freed through realloc (which must not count); `stacks
// LEVELS`: one allocation (freed at once) from each of 2^LEVELS distinct call stacks;
// `realloc-steady MS`: one block grown by realloc in 16 KiB steps up to 112 KiB, then made anew,
// for MS ms (a guard block kept after it, so that it moves; a new block made before the one it
// replaces is freed) while a second thread reads the interposer's live counters as fast as it can,
// printing the fewest and most live blocks it saw against the count before the loop: a realloc
// never changes how many blocks are live, the rest only add one or two for a moment.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#define MIB (1024L * 1024L)

// The interposer's exact mmap counter (accessible bytes); -1 without it.
static long long mmap_counter(void) {
  int (*counters)(long long*) =
      (int (*)(long long*))dlsym(RTLD_DEFAULT, "arenalab_preload_counters");
  long long out[3] = {0, 0, -1};
  if (!counters || counters(out) < 0) return -1;  // < 0: not traced
  return out[2];
}

static void step(const char* name) { printf("%s %lld\n", name, mmap_counter()); }

static void pause_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

static int reserve(void) {
  char* base =
      mmap(NULL, 1024 * MIB, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (base == MAP_FAILED) return perror("mmap"), 1;
  step("reserved");
  if (mprotect(base + 64 * MIB, 16 * MIB, PROT_READ | PROT_WRITE) != 0)
    return perror("mprotect"), 1;
  memset(base + 64 * MIB, 1, 16 * MIB);
  step("committed");
  pause_ms(400);  // the timeline samples this state: 16 MiB accessible, 1008 MiB reserved
  // The JVM's commit: mmap MAP_FIXED read/write over part of the reservation.
  if (mmap(base + 512 * MIB, 8 * MIB, PROT_READ | PROT_WRITE,
           MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED)
    return perror("mmap fixed"), 1;
  step("fixed");
  // Given back in the middle of the first commit: the range splits in three.
  if (mprotect(base + 68 * MIB, 4 * MIB, PROT_NONE) != 0) return perror("mprotect"), 1;
  step("uncommitted");
  if (munmap(base, 1024 * MIB) != 0) return perror("munmap"), 1;
  step("unmapped");
  pause_ms(300);
  return 0;
}

static int leak(long count, long size) {
  for (long i = 0; i < count; ++i) {
    volatile char* p = malloc((size_t)size);
    if (!p) return perror("malloc"), 1;
    p[0] = 1;
  }
  pause_ms(300);
  printf("leaked %ld\n", count * size);
  return 0;
}

// COUNT blocks of SIZE bytes made in a row (several start in each 1 KiB granule of the sample
// filter), then two of every three freed, last first; the third are left live.
static int neighbours(long count, long size) {
  void** blocks = calloc((size_t)count, sizeof *blocks);
  if (!blocks) return perror("calloc"), 1;
  for (long i = 0; i < count; ++i) {
    blocks[i] = malloc((size_t)size);
    if (!blocks[i]) return perror("malloc"), 1;
    ((volatile char*)blocks[i])[0] = 1;
  }
  for (long i = count - 1; i >= 0; --i)
    if (i % 3 != 0) free(blocks[i]);
  free(blocks);
  pause_ms(300);
  return 0;
}

static int realloc_leak(long count, long size) {
  for (long i = 0; i < count; ++i) {
    volatile char* p = realloc(NULL, (size_t)size / 2);
    if (!p) return perror("realloc"), 1;
    p[0] = 1;
    p = realloc((void*)p, (size_t)size);
    if (!p) return perror("realloc"), 1;
    char* t = realloc(NULL, (size_t)size);
    if (!t) return perror("realloc"), 1;
    t[0] = 1;
    t = realloc(t, (size_t)size * 2);
    if (!t) return perror("realloc"), 1;
    free(realloc(t, 0));  // glibc frees it and returns NULL; others may return a small block
  }
  pause_ms(300);
  printf("leaked %ld\n", count * size);
  return 0;
}

// Each level calls on through one of two call sites, so each of the 2^level paths down is a
// call stack of its own. The empty asm after each call keeps it from being a tail call.
static void walk(int level, unsigned long bits);
__attribute__((noinline)) static void left(int level, unsigned long bits) {
  walk(level, bits);
  __asm__ volatile("");
}
__attribute__((noinline)) static void right(int level, unsigned long bits) {
  walk(level, bits);
  __asm__ volatile("");
}
__attribute__((noinline)) static void walk(int level, unsigned long bits) {
  if (level == 0) {
    free(malloc(16));
    return;
  }
  if (bits & 1)
    left(level - 1, bits >> 1);
  else
    right(level - 1, bits >> 1);
  __asm__ volatile("");
}

static int stacks(int levels) {
  for (unsigned long path = 0; path < (1UL << levels); ++path) walk(levels, path);
  printf("stacks %lu\n", 1UL << levels);
  return 0;
}

typedef int (*CountersFn)(long long*);
static atomic_int g_steady_run;  // 0: wait, 1: read, 2: stop
static long long g_steady_min = -1, g_steady_max = -1, g_steady_reads;
static void* steady_watch(void* a) {
  CountersFn counters = (CountersFn)a;
  long long out[3];
  while (atomic_load(&g_steady_run) == 0) {
  }
  while (atomic_load(&g_steady_run) == 1) {
    if (counters(out) < 0) continue;
    if (g_steady_reads == 0 || out[1] < g_steady_min) g_steady_min = out[1];
    if (g_steady_reads == 0 || out[1] > g_steady_max) g_steady_max = out[1];
    ++g_steady_reads;
  }
  return NULL;
}
static int realloc_steady(long ms) {
  CountersFn counters = (CountersFn)dlsym(RTLD_DEFAULT, "arenalab_preload_counters");
  long long out[3] = {0, 0, 0};
  if (!counters || counters(out) < 0) return puts("not traced"), 1;
  pthread_t t;  // made first: its own allocations come before the count the loop starts from
  if (pthread_create(&t, NULL, steady_watch, (void*)counters) != 0) return 1;
  size_t size = 16 * 1024;
  char* p = malloc(size);
  char* guard = malloc(64);
  p[0] = guard[0] = 1;
  counters(out);
  const long long base = out[1];
  atomic_store(&g_steady_run, 1);
  struct timespec t0, now;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  long moves = 0, i = 0;
  do {
    ++i;
    if (size >= 112 * 1024) {  // start again small (below the mmap threshold), never fewer blocks
      char* q = malloc(16 * 1024);
      char* g = malloc(64);
      q[0] = g[0] = 1;
      free(p);
      free(guard);
      p = q, guard = g, size = 16 * 1024;
      continue;
    }
    size += 16 * 1024;
    char* q = realloc(p, size);
    if (!q) return 1;
    q[size - 1] = (char)i;
    if (q != p) {  // a guard after its new place: the next growth moves it again
      ++moves;
      char* g = malloc(64);
      g[0] = 1;
      free(guard);
      guard = g;
    }
    p = q;
    clock_gettime(CLOCK_MONOTONIC, &now);
  } while ((now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000 < ms);
  atomic_store(&g_steady_run, 2);
  pthread_join(t, NULL);
  printf("base %lld min %lld max %lld reads %lld reallocs %ld moved %ld\n", base, g_steady_min,
         g_steady_max, g_steady_reads, i, moves);
  free(p);
  free(guard);
  return 0;
}

int main(int argc, char** argv) {
  if (argc >= 2 && strcmp(argv[1], "reserve") == 0) return reserve();
  if (argc >= 4 && strcmp(argv[1], "leak") == 0) return leak(atol(argv[2]), atol(argv[3]));
  if (argc >= 4 && strcmp(argv[1], "neighbours") == 0)
    return neighbours(atol(argv[2]), atol(argv[3]));
  if (argc >= 4 && strcmp(argv[1], "realloc-leak") == 0)
    return realloc_leak(atol(argv[2]), atol(argv[3]));
  if (argc >= 3 && strcmp(argv[1], "stacks") == 0) return stacks(atoi(argv[2]));
  if (argc >= 3 && strcmp(argv[1], "realloc-steady") == 0) return realloc_steady(atol(argv[2]));
  fprintf(stderr,
          "usage: %s reserve | leak COUNT SIZE | neighbours COUNT SIZE | realloc-leak COUNT SIZE "
          "| stacks LEVELS\n",
          argv[0]);
  return 2;
}
