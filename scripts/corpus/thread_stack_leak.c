// SPDX-License-Identifier: Apache-2.0
// Recorded corpus: a thread-stack leak, outside malloc. Starts RATE threads a second that each
// touch 64 KiB of their stack and then wait forever, never joined or detached: their stacks
// (glibc maps them itself) stay. usage: thread_stack_leak RATE SECONDS
#include <pthread.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static void* parked(void* arg) {
  (void)arg;
  volatile char frame[64 * 1024];
  for (size_t i = 0; i < sizeof frame; i += 1024) frame[i] = 1;  // its stack pages resident
  for (;;) pause();
  return NULL;
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char** argv) {
  if (argc != 3) return 2;
  const double rate = atof(argv[1]), seconds = atof(argv[2]);
  const double t0 = now();
  long started = 0;
  for (double t; (t = now() - t0) < seconds; usleep(20000)) {
    while (started < (long)(rate * t)) {
      pthread_t th;
      if (pthread_create(&th, NULL, parked, NULL) != 0) return 1;
      ++started;
    }
  }
  return 0;
}
