// SPDX-License-Identifier: Apache-2.0
// Issue 21 items 5 and 7: a program whose true figures are known. `reserve`: reserves 1 GiB
// PROT_NONE and commits parts of it as the JVM does (mprotect, mmap MAP_FIXED), printing the
// interposer's exact mmap counter after each step; `leak COUNT SIZE`: leaks COUNT blocks of SIZE
// bytes (the sample-mode estimate must find COUNT * SIZE); `realloc-leak COUNT SIZE`: the same
// leak made through realloc alone (each block made by realloc(NULL), then grown), beside as many
// blocks made, grown and freed through realloc (which must not count); `stacks LEVELS`: one
// allocation (freed at once) from each of 2^LEVELS distinct call stacks.
#define _GNU_SOURCE
#include <dlfcn.h>
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

int main(int argc, char** argv) {
  if (argc >= 2 && strcmp(argv[1], "reserve") == 0) return reserve();
  if (argc >= 4 && strcmp(argv[1], "leak") == 0) return leak(atol(argv[2]), atol(argv[3]));
  if (argc >= 4 && strcmp(argv[1], "realloc-leak") == 0)
    return realloc_leak(atol(argv[2]), atol(argv[3]));
  if (argc >= 3 && strcmp(argv[1], "stacks") == 0) return stacks(atoi(argv[2]));
  fprintf(stderr, "usage: %s reserve | leak COUNT SIZE | realloc-leak COUNT SIZE | stacks LEVELS\n",
          argv[0]);
  return 2;
}
