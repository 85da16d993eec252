// SPDX-License-Identifier: Apache-2.0
// A target that holds steady: 16 MiB touched once, then churn of 64 KiB blocks it frees again,
// one numbered line on stdout every 100 ms. With "sawtooth" after the log it also maps 1 MiB
// more every 100 ms for 1.5 s and unmaps it all, every 2 s: RSS saws by 16 MiB, no trend.
// Every catchable signal it receives is appended to the file named by argv[1], so a test can
// tell that an attach never signalled it.
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
  const struct timespec tick = {0, 100 * 1000 * 1000};
  for (unsigned long i = 0;; ++i) {
    for (int k = 0; k < 16; ++k) {
      char* p = malloc(64 << 10);
      memset(p, (int)i, 64 << 10);
      free(p);
    }
    if (sawtooth) {  // a 2 s cycle of 20 ticks: 15 rising, 5 low
      const unsigned long phase = i % 20;
      if (phase < kTeeth) {
        teeth[phase] =
            mmap(NULL, kTooth, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (teeth[phase] != MAP_FAILED) memset(teeth[phase], 1, kTooth);
      } else if (phase == kTeeth) {
        for (int t = 0; t < kTeeth; ++t)
          if (teeth[t] && teeth[t] != MAP_FAILED) munmap(teeth[t], kTooth);
      }
    }
    printf("%lu %d\n", i, base[i % held]);
    fflush(stdout);
    nanosleep(&tick, NULL);
  }
}
