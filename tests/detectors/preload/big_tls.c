// SPDX-License-Identifier: Apache-2.0
// A program with 1 MiB of static TLS (__thread data of the executable), which glibc places in
// every thread's stack: usage big_tls SECONDS. It touches its TLS and sleeps.
#include <stdlib.h>
#include <string.h>
#include <time.h>

static __thread char g_tls[1 << 20];

int main(int argc, char** argv) {
  const double s = argc > 1 ? atof(argv[1]) : 1.0;
  memset(g_tls, 1, sizeof g_tls);
  struct timespec t = {(time_t)s, (long)((s - (time_t)s) * 1e9)};
  nanosleep(&t, 0);
  return g_tls[12345] == 1 ? 0 : 1;
}
