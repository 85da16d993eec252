// SPDX-License-Identifier: Apache-2.0
// A target that holds steady: 16 MiB touched once, then churn of 64 KiB blocks it frees again,
// one numbered line on stdout every 100 ms. With "sawtooth" after the log it also maps 1 MiB
// more every 100 ms for 1.5 s and unmaps it all, every 2 s: RSS saws by 16 MiB, no trend.
// Ticks are on the monotonic clock (tick i at start + i x 100 ms, an absolute sleep to the next),
// so the period stays 2 s on a loaded machine: with a relative 100 ms sleep each late wake-up
// added to the period (2.3-2.8 s at load 12-26), and a fixed watch window saw fewer cycles.
// Every catchable signal it receives is appended to the file named by argv[1], so a test can
// tell that an attach never signalled it.
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static const char* g_log;

static void on_signal(int sig) {
  char line[32];
  const int n = snprintf(line, sizeof line, "signal %d\n", sig);
  FILE* f = fopen(g_log, "a");  // not async-signal-safe, but the test wants none to come
  if (f) {
    fwrite(line, 1, (size_t)n, f);
    fclose(f);
  }
  if (sig == SIGTERM || sig == SIGINT) _exit(0);
}

int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: steady SIGNAL-LOG [sawtooth]\n");
    return 2;
  }
  const int sawtooth = argc > 2 && strcmp(argv[2], "sawtooth") == 0;
  enum { kTeeth = 15, kTooth = 1 << 20 };
  char* teeth[kTeeth] = {0};
  g_log = argv[1];
  for (int s = 1; s < 32; ++s)
    if (s != SIGKILL && s != SIGSTOP && s != SIGCHLD) signal(s, on_signal);
  const size_t held = 16u << 20;
  char* base = malloc(held);
  memset(base, 1, held);
  const long long kTickNs = 100 * 1000 * 1000;
  struct timespec start;
  clock_gettime(CLOCK_MONOTONIC, &start);
  const long long start_ns = start.tv_sec * 1000000000LL + start.tv_nsec;
  unsigned long cycle = (unsigned long)-1;  // the cycle whose teeth are mapped
  unsigned long line = 0;
  for (unsigned long i = 0;;) {
    for (int k = 0; k < 16; ++k) {
      char* p = malloc(64 << 10);
      memset(p, (int)i, 64 << 10);
      free(p);
    }
    if (sawtooth) {  // a 2 s cycle of 20 ticks: 15 rising, 5 low
      // A tick the scheduler made us miss is made up at the next (every tooth up to the clock's
      // phase is mapped), so each cycle keeps the clock's period and its full height.
      const unsigned long phase = i % 20;
      if (phase < kTeeth && i / 20 != cycle) {  // a new cycle, its low phase perhaps missed
        for (int t = 0; t < kTeeth; ++t)
          if (teeth[t]) munmap(teeth[t], kTooth), teeth[t] = NULL;
        cycle = i / 20;
      }
      if (phase < kTeeth) {
        for (unsigned long t = 0; t <= phase; ++t) {
          if (teeth[t]) continue;
          teeth[t] = mmap(NULL, kTooth, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
          if (teeth[t] == MAP_FAILED)
            teeth[t] = NULL;
          else
            memset(teeth[t], 1, kTooth);
        }
      } else {
        for (int t = 0; t < kTeeth; ++t)
          if (teeth[t]) munmap(teeth[t], kTooth), teeth[t] = NULL;
      }
    }
    printf("%lu %d\n", line, base[line % held]);  // numbered lines, without a gap
    ++line;
    fflush(stdout);
    // Sleep to the next tick on the clock; after a stall, the tick the clock is in now.
    const long long next_ns = start_ns + (long long)(i + 1) * kTickNs;
    const struct timespec next = {(time_t)(next_ns / 1000000000LL), (long)(next_ns % 1000000000LL)};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL) == EINTR) {
    }
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    const unsigned long at =
        (unsigned long)((now.tv_sec * 1000000000LL + now.tv_nsec - start_ns) / kTickNs);
    i = at > i ? at : i + 1;
  }
}
